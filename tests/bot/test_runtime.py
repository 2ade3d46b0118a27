"""The runtime's jobs as the scheduler runs them, and what /healthz says of them."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta, timezone

from bot.config import BotConfig
from bot.console import ConsoleAdapter
from bot.router import Router
from bot.runtime import Runtime, retry_delay
from digest.compose import DigestFilter
from digest.settings import Settings
from digest.store import Store


def _runtime(store: Store, tmp_path) -> Runtime:  # type: ignore[no-untyped-def]
    config = BotConfig(settings=Settings(sources=(str(tmp_path / "none"),)))
    console = ConsoleAdapter(Router(store, config), stdin=io.StringIO(""), stdout=io.StringIO())
    return Runtime(store, config, {"console": console})


def test_every_job_is_scheduled_from_the_start_and_healthz_shows_a_stopped_one(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        runtime = _runtime(store, tmp_path)
        runtime.start()
        try:
            for name in runtime.jobs:  # APScheduler 3 adds a job with next_run_time=None paused
                assert runtime.scheduler.get_job(name).next_run_time is not None, name
            await asyncio.sleep(2.5)  # the queue and drain jobs run within their first seconds
            jobs = runtime.health()["jobs"]
            assert jobs["queue_due"]["outcome"] == "ok" and jobs["drain"]["outcome"] == "ok"
            assert jobs["poll"]["outcome"] == "never run" and jobs["poll"]["ok"]  # due in 10 minutes
            runtime.scheduler.pause_job("drain")  # a job that stopped
            state = runtime.health()
            assert state["ok"] is False and state["jobs"]["drain"]["ok"] is False
            assert state["jobs"]["drain"]["next_run"] is None
        finally:
            await runtime.stop()

    asyncio.run(scenario())


def test_a_failing_job_is_reported_runs_again_and_turns_unhealthy_when_it_keeps_failing(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        runtime = _runtime(store, tmp_path)
        runtime.start()
        try:
            store.engine.dispose()
            store.close()
            runtime.store = Store.open("sqlite:///" + str(tmp_path / "missing" / "x.db"), migrate=False)  # no tables
            for _ in range(3):
                await runtime.run_job("queue_due")
            job = runtime.health()["jobs"]["queue_due"]
            assert job["failures_in_a_row"] == 3 and job["ok"] is False and job["outcome"].startswith("failed: ")
            runtime.store = Store.open("sqlite:///" + str(tmp_path / "fresh.db"))  # the store heals
            await runtime.run_job("queue_due")
            job = runtime.health()["jobs"]["queue_due"]
            assert job["ok"] and job["outcome"] == "ok" and job["failures_in_a_row"] == 0
        finally:
            await runtime.stop()

    asyncio.run(scenario())


def test_a_failed_send_waits_longer_each_time_up_to_an_hour() -> None:
    waits = [retry_delay(n) for n in range(1, 13)]
    assert waits[0] == timedelta(seconds=30) and waits == sorted(waits)
    assert max(waits) == timedelta(hours=1) and sum(waits, timedelta()) > timedelta(hours=5)


def test_an_empty_digest_is_recorded_and_the_store_keeps_working(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the bug of a new user's first afternoon: recording a digest with nothing in it left a
    # RETURNING unread, every commit on that connection failed, and the bot stopped answering
    from bot import chats as chat_store
    from bot import outbox

    async def scenario() -> None:
        runtime = _runtime(store, tmp_path)
        at = datetime(2021, 4, 19, 20, 0, tzinfo=timezone.utc)
        chat = chat_store.ensure_chat(store, "console", "local")
        chat_store.subscribe(store, chat, DigestFilter(), now=at)
        runtime.clock = lambda: at + timedelta(days=1)
        assert await runtime.queue_due() == 0  # nothing new: recorded, not sent
        assert outbox.held(store, chat.id) == [("2021-04-20", [])]
        assert await runtime.queue_due() == 0 and len(outbox.held(store, chat.id)) == 1  # once
        for ref in map(str, range(5)):  # every pooled connection still commits
            chat_store.ensure_chat(store, "console", ref)

    asyncio.run(scenario())
