"""The slash-command form Telegram and the console share (bot/adapter.py's parse_slash)."""

from __future__ import annotations

import pytest

from bot.adapter import SlashCommand, parse_slash
from bot.console import line_incoming


@pytest.mark.parametrize("text, parsed", [
    ("/search 人工智能", SlashCommand("search", None, "人工智能")),
    ("/Search@Digest_Bot  金融 since:7d ", SlashCommand("search", "Digest_Bot", "金融 since:7d")),
    ("/latest", SlashCommand("latest", None, "")),
    # the full-width slash of a Chinese keyboard is a slash too
    ("／help", SlashCommand("help", None, "")),
    ("／search 港口", SlashCommand("search", None, "港口")),
])
def test_a_command_is_read_with_its_addressee_and_argument(text: str, parsed: SlashCommand) -> None:
    assert parse_slash(text) == parsed


@pytest.mark.parametrize("text", ["search 人工智能", "//help", "/ help", "/搜索 金融", "", "／"])
def test_other_text_is_no_command(text: str) -> None:
    assert parse_slash(text) is None


def test_the_console_reads_a_full_width_slash_as_a_command() -> None:
    incoming = line_incoming("／latest 3")
    assert incoming is not None and (incoming.command, incoming.argument) == ("latest", "3")
