"""Every command's argument, through every platform's parsing (the console's line, a Telegram
update, a Slack slash command, mention and direct message) and then the router (issue 11,
item 4): a reply from the catalogue (or results) that renders on every platform, never an
exception, and every table as it was when the reply changed nothing. The strategies and
the property are tests/support/hostile.py's, which bench/fuzz.py counts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from bot.router import MAX_ARGUMENT
from digest.ingest import Ingestor
from digest.store import Store
from tests.support.builders import write_post
from tests.support.hostile import (PLATFORMS, READ, REFUSED, CommandWorld, command_case, command_lines,
                                   platform_incoming, snapshot)
from tests.support.texts import AI_BODY, BANK_BODY

FUZZ_FACTOR = 20 if os.environ.get("DIGESTBOT_LONG_TESTS") == "1" else 1


@pytest.fixture
def world(store: Store, tmp_path: Path) -> CommandWorld:
    write_post(tmp_path, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅", date="2021-04-20 09:00:00")
    write_post(tmp_path, "bank.md", BANK_BODY, title="多家银行下调存款利率", author="每经网", date="2021-04-20 10:00:00")
    Ingestor(store, workers=1).ingest([str(tmp_path)])
    return CommandWorld(store)


@pytest.mark.parametrize("platform", PLATFORMS)
@settings(max_examples=60 * FUZZ_FACTOR, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=command_lines())
def test_any_command_on_any_platform_is_answered_from_the_catalogue(world: CommandWorld, platform: str,
                                                                     text: str) -> None:
    assert command_case(world, platform, text) in (READ, REFUSED)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_refused_arguments_change_nothing_stored(world: CommandWorld, platform: str) -> None:
    refused = ["/time 25:61", "/tz Mars/Olympus", "/lang xx", "/latest ²", "/digest 0001-01-01",
               "/subscribe since:7d", "/search since:0001-01-01", "/search " + "长" * (MAX_ARGUMENT + 1),
               "/subscribe " + ", ".join(f"词{i}" for i in range(60)), "/nosuch \x00"]
    before = snapshot(world.store)
    for text in refused:
        assert command_case(world, platform, text) == REFUSED, text
    assert snapshot(world.store) == before


def test_the_snapshot_sees_a_change(world: CommandWorld) -> None:
    # the "nothing stored changed" check can fail: a setting that is taken shows in it
    before = snapshot(world.store)
    assert command_case(world, "telegram", "/time 07:30") == READ
    assert snapshot(world.store) != before


def test_each_platform_parses_the_same_command_alike(world: CommandWorld) -> None:
    texts = {"console": "/search 人工智能", "telegram": "/search@digest_bot 人工智能", "slack-command": "search 人工智能",
             "slack-mention": "search 人工智能", "slack-dm": "search 人工智能"}
    for platform, text in texts.items():
        incoming = platform_incoming(platform, text, world.router.commands)
        assert incoming is not None and (incoming.command, incoming.argument) == ("search", "人工智能"), platform
    other = platform_incoming("telegram", "/search@other_bot 人工智能", world.router.commands)
    assert other is not None and not other.addressed_to_me
