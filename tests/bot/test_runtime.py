"""The runtime's jobs as the scheduler runs them, and what /healthz says of them."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta, timezone

from bot.config import BotConfig
from bot.console import ConsoleAdapter
from bot.router import Router
from bot.runtime import Runtime
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


def test_a_zone_gone_from_tzdata_and_a_filter_matching_nothing_are_logged_and_the_others_get_theirs(
        store: Store, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    from bot import chats as chat_store
    from bot import outbox
    from tests.support.builders import write_post
    from tests.support.texts import BANK_BODY

    at = datetime(2021, 4, 19, 20, 0, tzinfo=timezone.utc)
    write_post(tmp_path / "posts", "bank.md", BANK_BODY, title="多家银行下调存款利率", date="2021-04-20 07:00:00")
    from digest.ingest import Ingestor

    Ingestor(store, workers=1, clock=lambda: at + timedelta(hours=1)).ingest([str(tmp_path / "posts")])
    runtime = _runtime(store, tmp_path)
    gone = chat_store.update_chat(store, chat_store.ensure_chat(store, "console", "gone"), timezone="Mars/Olympus")
    never = chat_store.ensure_chat(store, "console", "never")
    fine = chat_store.ensure_chat(store, "console", "local")
    for chat, wanted in ((gone, DigestFilter()), (never, DigestFilter(keywords=("体育赛事",))), (fine, DigestFilter())):
        chat_store.subscribe(store, chat, wanted, now=at)
    runtime.clock = lambda: at + timedelta(days=1)
    with caplog.at_level(logging.INFO):
        assert asyncio.run(runtime.queue_due()) == 2
        asyncio.run(runtime.queue_due())
    warnings = [r.getMessage() for r in caplog.records if "Mars/Olympus" in r.getMessage()]
    assert warnings == ["chat console:gone: time zone 'Mars/Olympus' is unknown to tzdata; its digest follows Asia/Shanghai"]
    assert any("console:never" in r.getMessage() and "none of 1 new article(s) matches its filter" in r.getMessage()
               for r in caplog.records)
    assert [len(ids) for _, ids in outbox.held(store, gone.id)] == [1]  # on the default zone's 08:00
    assert [len(ids) for _, ids in outbox.held(store, fine.id)] == [1]
    assert outbox.held(store, never.id) == [("2021-04-20", [])]


def test_a_feed_that_republishes_old_items_with_new_dates_sends_nothing_again(
        store: Store, tmp_path, feed_server) -> None:  # type: ignore[no-untyped-def]
    from bot import chats as chat_store
    from bot import outbox
    from digest.ingest import Ingestor
    from tests.support.builders import rss
    from tests.support.feeds import Route

    item = {"title": "多家银行下调存款利率", "link": "https://news.example.com/bank?utm_source=x",
            "description": "多家商业银行近日下调了部分定期存款利率，调整幅度在十到二十个基点之间。"}
    feed_server.routes["/rss"] = Route(rss([item | {"pubDate": "Mon, 19 Apr 2021 21:00:00 GMT"}]))
    at = datetime(2021, 4, 19, 20, 0, tzinfo=timezone.utc)
    chat = chat_store.ensure_chat(store, "console", "local")
    chat_store.subscribe(store, chat, DigestFilter(), now=at)
    runtime = _runtime(store, tmp_path)
    clock = {"now": at + timedelta(hours=2)}
    poll = Ingestor(store, workers=1, clock=lambda: clock["now"])
    assert poll.ingest([feed_server.url("/rss")]).new == 1
    clock["now"] = runtime_now = at + timedelta(days=1)
    runtime.clock = lambda: runtime_now
    asyncio.run(runtime.queue_due())
    # the next day the feed says the same item is new again, with today's date and another tracking tag
    feed_server.routes["/rss"] = Route(rss([item | {"pubDate": "Tue, 20 Apr 2021 21:00:00 GMT",
                                                    "link": "https://news.example.com/bank?utm_source=y"}]))
    clock["now"] = at + timedelta(days=1, hours=5)
    report = poll.ingest([feed_server.url("/rss")])
    assert report.new == 0 and report.unchanged == 1
    runtime_now = at + timedelta(days=2)
    asyncio.run(runtime.queue_due())
    assert [len(ids) for _, ids in outbox.held(store, chat.id)] == [1, 0]  # once, then nothing new


def test_an_article_dated_in_the_future_is_logged_and_in_the_next_digest_once(store: Store, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    from bot import chats as chat_store
    from bot import outbox
    from digest.ingest import Ingestor
    from tests.support.builders import write_post
    from tests.support.texts import BANK_BODY

    at = datetime(2021, 4, 19, 20, 0, tzinfo=timezone.utc)
    chat = chat_store.ensure_chat(store, "console", "local")
    chat_store.subscribe(store, chat, DigestFilter(), now=at)
    write_post(tmp_path / "posts", "bank.md", BANK_BODY, title="多家银行下调存款利率", date="2031-04-20 07:00:00")
    with caplog.at_level(logging.WARNING):
        Ingestor(store, workers=1, clock=lambda: at + timedelta(hours=1)).ingest([str(tmp_path / "posts")])
    assert any("dated 2031-04-20T07:00+08:00, in the future" in r.getMessage() and "bank.md" in r.getMessage()
               for r in caplog.records)
    runtime = _runtime(store, tmp_path)
    for day in (1, 2):
        runtime.clock = lambda day=day: at + timedelta(days=day)
        asyncio.run(runtime.queue_due())
    assert [len(ids) for _, ids in outbox.held(store, chat.id)] == [1, 0]


def test_a_restart_reads_every_source_at_once_then_on_their_schedule(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.support.builders import write_post
    from tests.support.texts import AI_BODY, BANK_BODY, PORT_BODY

    posts = tmp_path / "posts"
    config = BotConfig(settings=Settings(sources=(str(posts),)))
    write_post(posts, "a.md", AI_BODY, title="人工智能助手进驻政务大厅")

    def runtime() -> Runtime:
        console = ConsoleAdapter(Router(store, config), stdin=io.StringIO(""), stdout=io.StringIO())
        return Runtime(store, config, {"console": console})

    first = runtime()
    asyncio.run(first.run_job("poll"))
    write_post(posts, "b.md", BANK_BODY, title="多家银行下调存款利率")
    asyncio.run(first.run_job("poll"))  # its next time (10 minutes on) has not come
    assert store.count_articles() == 1
    restarted = runtime()  # a restart a moment later: what arrived meanwhile is read at once
    asyncio.run(restarted.run_job("poll"))
    assert store.count_articles() == 2
    write_post(posts, "c.md", PORT_BODY, title="长江港口吞吐量回升")
    asyncio.run(restarted.run_job("poll"))
    assert store.count_articles() == 2
