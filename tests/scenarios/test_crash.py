"""Crash safety: `digestbot run` killed with SIGKILL at random moments of a fan-out and
restarted, as a real process on the real clock, against the fake Bot API. No chat may lose
a part; a part may be sent twice only if it was in flight at a kill (at most the 4 sends
delivery keeps in flight, per kill). The short version always runs; DIGESTBOT_LONG_TESTS=1
runs issue 11's: 1,000 chats, 10 kills."""

from __future__ import annotations

import os
from pathlib import Path

from bot.delivery import DELIVERY_CONCURRENCY
from tests.support import crash
from tests.support.fake_telegram import FakeBotAPI

LONG = os.environ.get("DIGESTBOT_LONG_TESTS") == "1"
CHATS, KILLS = (1000, 10) if LONG else (120, 3)


def test_no_digest_is_lost_through_kills_and_restarts(api: FakeBotAPI, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = crash.run(tmp_path, api, url, chats=CHATS, kills=KILLS, seed=11)
    assert result.parts >= CHATS  # every chat had its digest recorded
    assert (result.lost, result.chats_without) == (0, 0), result
    assert result.duplicates <= DELIVERY_CONCURRENCY * KILLS, result
    # the last restart finishes within a minute, however many parts the kills left leased
    assert result.finish_seconds < 60 + crash.LEASE_SECONDS, result
