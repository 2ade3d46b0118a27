"""The `digestbot` command line (bot/cli.py): the library's commands and `run` in one parser,
the `.env` of the working folder, the one error line; `python -m digest` without the bot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from digest import cli as library_cli
from tests.support.builders import ROOT, SEEDS

SEED_POST = SEEDS / "000_35a71a7641f4db0d.md"


def _digestbot(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "DIGESTBOT_"))}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd,
                          env=clean | {"PYTHONPATH": str(ROOT)} | env, timeout=120)


LIBRARY_COMMANDS = ["summarize", "ingest", "search", "digest", "sources"]


def _listed(help_text: str) -> list[str]:
    """The commands a `--help` lists, each on a line of its own under "commands:"."""
    return re.findall(r"^    ([\w-]+)(?: |$)", help_text.split("commands:", 1)[1], flags=re.MULTILINE)


def test_digestbot_has_the_librarys_commands_then_the_bots() -> None:
    assert list(cli.commands()) == [*LIBRARY_COMMANDS, "run", "slack-manifest"]
    assert _listed(cli.build_parser().format_help()) == [*LIBRARY_COMMANDS, "run", "slack-manifest"]


def test_python_m_digest_has_the_librarys_commands_and_no_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert _listed(library_cli.build_parser().format_help()) == LIBRARY_COMMANDS
    with pytest.raises(SystemExit) as caught:
        library_cli.main(["run"])
    assert caught.value.code == 2
    assert "invalid choice: 'run'" in capsys.readouterr().err


def test_a_library_error_is_one_line_and_exit_status_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the repository's
    database = f"sqlite:///{tmp_path / 'store.db'}"
    assert cli.main(["sources", "--database", database, "--remove", str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"digestbot: error: no source at {tmp_path / 'nowhere'} (`digestbot sources` lists them)"]


def test_the_env_file_of_the_working_folder_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DIGESTBOT_LOG_LEVEL=loud\n", "utf-8")
    from_file = _digestbot("summarize", str(SEED_POST), cwd=tmp_path)
    assert from_file.returncode == 2
    assert from_file.stderr.splitlines() == [
        "digestbot: error: DIGESTBOT_LOG_LEVEL: not a level (DEBUG, INFO, WARNING, ERROR): 'loud'"]
    from_environment = _digestbot("summarize", str(SEED_POST), cwd=tmp_path, DIGESTBOT_LOG_LEVEL="ERROR")
    assert from_environment.returncode == 0, from_environment.stderr
    assert "金融何以有_温度_" in from_environment.stdout
