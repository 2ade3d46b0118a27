"""Crash safety: `digestbot run` killed with SIGKILL at random moments of a fan-out and
restarted, as a real process on the real clock, against the fake Bot API; and two or three
processes on one PostgreSQL database, the long-polling one killed mid-send. No chat may lose
a part; a part may be sent twice only if it was in flight at a kill (at most the 4 sends
delivery keeps in flight, per kill). The short version always runs; DIGESTBOT_LONG_TESTS=1
runs issue 11's: 1,000 chats, 10 kills."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.delivery import DELIVERY_CONCURRENCY
from tests.support import crash, postgres
from tests.support.fake_telegram import FakeBotAPI

LONG = os.environ.get("DIGESTBOT_LONG_TESTS") == "1"
CHATS, KILLS = (1000, 10) if LONG else (80, 2)


@pytest.mark.long_running
def test_no_digest_is_lost_through_kills_and_restarts(api: FakeBotAPI, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = crash.run(tmp_path, api, url, chats=CHATS, kills=KILLS, seed=11)
    assert result.parts >= CHATS  # every chat had its digest recorded
    assert (result.lost, result.chats_without) == (0, 0), result
    assert result.duplicates <= DELIVERY_CONCURRENCY * KILLS, result
    # the last restart finishes within a minute, however many parts the kills left leased
    assert result.finish_seconds < 60 + crash.LEASE_SECONDS, result


@pytest.mark.long_running
@pytest.mark.skipif(not postgres.BASE_URL, reason="several processes share PostgreSQL: set DIGESTBOT_TEST_POSTGRES_URL")
@pytest.mark.parametrize("processes", [2, 3] if LONG else [2])
def test_several_processes_on_one_postgresql_send_each_digest_once(api: FakeBotAPI, tmp_path: Path,
                                                                    processes: int) -> None:
    url = _empty_postgres()
    chats = 300 if LONG else 90
    result = crash.run_shared(tmp_path, api, url, chats=chats, processes=processes, kill_after=chats // 3)
    assert result.pollers == 1  # one long-polls, the others stand by
    assert (result.lost, result.chats_without) == (0, 0), result
    assert result.duplicates <= DELIVERY_CONCURRENCY, result  # only the killed one's sends in flight
    assert result.conflicts <= 1, result  # no 409 storm: at most the takeover's one
    assert result.finish_seconds < 60, result  # the dead one's parts went to the others within a minute
    assert result.takeover_seconds < 60, result  # and another long-polls within a minute


def _empty_postgres() -> str:
    url = postgres.worker_url()
    assert url is not None
    return postgres.empty(url)  # a fresh schema, as the store fixtures start from
