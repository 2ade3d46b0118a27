"""README's command table, made from the `digestbot` parser so that the two cannot drift.

`python -m tools.readme_commands` prints the table; with `--write` it rewrites README.md
between the markers below. tests/tools/test_readme_commands.py fails when they differ."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.cli import commands

START = "<!-- commands:start -->"
END = "<!-- commands:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"
WRITE_COMMAND = "python -m tools.readme_commands --write"


def command_table(parsers: Mapping[str, argparse.ArgumentParser]) -> str:
    """A Markdown table of the commands: each one, what it does (its description), its options."""
    rows = ["| command | what it does | options |", "|---|---|---|"]
    for parser in parsers.values():
        rows.append(f"| `{parser.prog}` | {_cell(parser.description or '')} | {_options(parser)} |")
    return "\n".join(rows) + "\n"


def section(readme: str) -> str:
    """What README holds between the markers; ValueError when they are not there once each."""
    _, inside, _ = _split(readme)
    return inside


def with_table(readme: str, table: str) -> str:
    """`readme` with `table` between the markers, and everything else as it was."""
    before, _, after = _split(readme)
    return before + table + after


def _split(readme: str) -> tuple[str, str, str]:
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise ValueError(f"README.md needs one {START} line, then one {END} line")
    head, rest = readme.split(START, 1)
    inside, tail = rest.split(END, 1)
    return head + START + "\n", inside.removeprefix("\n"), END + tail


def _options(parser: argparse.ArgumentParser) -> str:
    # the usage line is the parser's own summary of its options; joined into one line,
    # it reads the same whatever width the terminal gave argparse
    usage = parser.format_usage().removeprefix("usage:").strip().removeprefix(parser.prog)
    synopsis = " ".join(usage.replace("[-h]", "").split())
    return _cell(f"`{synopsis}`") if synopsis else "—"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", r"\|")  # a | would end the cell, even in `code`


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table, or write it into README.md with `--write`."""
    parser = argparse.ArgumentParser(prog="python -m tools.readme_commands", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"rewrite the table in {README.name}")
    args = parser.parse_args(argv)
    table = command_table(commands())
    if not args.write:
        print(table, end="")
        return 0
    readme = README.read_text("utf-8")
    updated = with_table(readme, table)
    if updated != readme:
        README.write_text(updated, "utf-8")
    print(f"{README.name}: command table {'rewritten' if updated != readme else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
