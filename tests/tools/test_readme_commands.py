"""README's command table is the parser's: CI fails here when someone changes one and not the other."""

from __future__ import annotations

import argparse

import pytest

from bot.cli import commands
from tests.support.builders import ROOT
from tools import readme_commands
from tools.readme_commands import END, START, WRITE_COMMAND, command_table, section, with_table


def test_readme_holds_the_table_the_parser_makes() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert section(readme) == command_table(commands()), (
        f"README.md's command table is not the parser's: run `{WRITE_COMMAND}` and commit README.md")


def test_every_command_has_a_row_with_its_description_and_options() -> None:
    rows = command_table(commands()).splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == [f"digestbot {name}" for name in commands()]
    [search] = [row for row in rows if row.startswith("| `digestbot search`")]
    assert "Full-text search over the store." in search
    assert "`[--database URL] [-v] [--limit N] [--page N] [--format {text,json}] QUERY [QUERY ...]`" in search


def test_a_row_escapes_pipes_and_leaves_out_help() -> None:
    parser = argparse.ArgumentParser(prog="tool")
    sub = parser.add_subparsers().add_parser("greet", description="Say hello\n| or wave.")
    sub.add_argument("--to", metavar="NAME")
    sub.add_argument("places", nargs="*", metavar="CITY|TOWN")
    bare = argparse.ArgumentParser(prog="tool bare")
    assert command_table({"greet": sub, "bare": bare}).splitlines() == [
        "| command | what it does | options |",
        "|---|---|---|",
        r"| `tool greet` | Say hello \| or wave. | `[--to NAME] [CITY\|TOWN ...]` |",
        "| `tool bare` |  | — |",
    ]


def test_writing_replaces_only_what_is_between_the_markers() -> None:
    readme = f"# title\n\nbefore\n{START}\n| old | table |\n{END}\n\nafter\n"
    written = with_table(readme, "| new |\n")
    assert written == f"# title\n\nbefore\n{START}\n| new |\n{END}\n\nafter\n"
    assert section(written) == "| new |\n"
    assert with_table(written, "| new |\n") == written


@pytest.mark.parametrize("readme", ["no markers", f"{END}\n{START}\n", f"{START}\n{START}\n{END}\n"])
def test_markers_missing_or_out_of_order_are_an_error(readme: str) -> None:
    with pytest.raises(ValueError, match="commands:start"):
        section(readme)


def test_the_script_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert readme_commands.main([]) == 0
    assert capsys.readouterr().out == command_table(commands())
