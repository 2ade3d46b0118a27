"""Platform faults (issue 11): the real python-telegram-bot and delivery against a fake Bot
API that answers 10 % of sends with 429 (retry_after 1–3 s), 5 % with 500, drops 2 % of
connections unanswered, hangs 1 % past the client's timeout, and answers some chats 403;
the same for Slack (slack-bolt / slack_sdk against the fake Slack, below). Every
deliverable part arrives, the dead chats are deactivated, the log names each chat and
failure; a message is posted twice only where the platform took it and its answer never
came, and a rate limit's wait never leads a second claimer to post it too. The store's
clock moves on between drains, so retries come at once."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from slack_sdk.web.async_client import AsyncWebClient

from bot import chats as chat_store
from bot import outbox
from bot.adapter import FailureKind, SendFailure
from bot.delivery import Delivery
from digest.compose import DigestFilter
from digest.schema import deliveries
from digest.store import Store
from tests.support import fake_slack
from tests.support.bots import RunningSlack, running_bot, running_slack, telegram_config
from tests.support.builders import chat_news
from tests.support.clock import ManualClock
from tests.support.fake_slack import FakeSlack
from tests.support.fake_slack import Faults as SlackFaults
from tests.support.fake_telegram import FakeBotAPI, Faults

DUE = datetime(2021, 4, 20, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai: after 08:00
STORED = datetime(2021, 4, 19, 22, 0, tzinfo=timezone.utc)
CHATS = 60
FORBIDDEN = frozenset(str(5000 + n) for n in range(0, CHATS, 15))  # 4 chats blocked the bot


def _rows(store: Store) -> list[sa.Row[tuple[str, int, dict[str, str]]]]:
    with store.connect() as conn:
        return list(conn.execute(sa.select(deliveries.c.status, deliveries.c.chat_id, deliveries.c.payload)))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite only: the faults are the platform's, and delivery's store work is tested on
    both databases elsewhere (test_delivery, test_outbox)."""
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


@pytest.fixture
def news(store: Store, tmp_path: Path) -> Store:
    chat_news(store, tmp_path, STORED)
    for n in range(CHATS):
        chat = chat_store.ensure_chat(store, "telegram", str(5000 + n))
        chat_store.subscribe(store, chat, DigestFilter(), now=STORED - timedelta(days=1))
    return store


async def _drain_until_sent(bot: Any, store: Store, clock: ManualClock, *, seconds: float, pause: float) -> None:
    """Queue the due digests, then drain until no part is pending, the store's clock
    jumping past any retry's backoff between drains; fails after `seconds`."""
    assert bot.runtime is not None
    await bot.runtime.queue_due()
    deadline = time.monotonic() + seconds
    while any(status == outbox.PENDING for status, _, _ in _rows(store)):
        assert time.monotonic() < deadline, Counter(status for status, _, _ in _rows(store))
        await bot.runtime.drain()
        clock.advance(minutes=5)
        await asyncio.sleep(pause)


@pytest.mark.long_running
def test_every_deliverable_part_arrives_through_a_faulty_bot_api(news: Store, api: FakeBotAPI,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    api.misbehave(Faults(rate_429=0.10, rate_500=0.05, rate_drop=0.02, rate_hang=0.01, hang_seconds=7,
                         forbidden=FORBIDDEN, seed=11))
    caplog.set_level(logging.WARNING)

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_bot(news, api, clock=clock, with_runtime=True,
                               config=telegram_config(api)) as bot:
            await _drain_until_sent(bot, news, clock, seconds=240, pause=0.2)

    asyncio.run(scenario())
    rows = _rows(news)
    refs = {chat.id: chat.chat_ref for chat in (chat_store.get_chat(news, cid) for _, cid, _ in rows) if chat}
    deliverable = [(refs[cid], payload["text"]) for status, cid, payload in rows if refs[cid] not in FORBIDDEN]
    delivered = Counter(api.delivered)
    assert all(delivered[part] >= 1 for part in deliverable)  # none lost
    assert {status for status, cid, _ in rows if refs[cid] not in FORBIDDEN} == {outbox.SENT}
    # a part is sent twice only when a hung call outlived the client's timeout, once per hang
    twice = sum(n - 1 for n in delivered.values() if n > 1)
    assert api.hung and twice <= api.hung, (twice, api.hung)
    for ref in FORBIDDEN:  # blocked: deactivated, its parts given up, named in the log
        chat = chat_store.ensure_chat(news, "telegram", ref)
        assert not chat.active
        assert any(f"chat telegram:{ref}" in r.getMessage() and "deactivated" in r.getMessage()
                   for r in caplog.records)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "429, retry after" in logged and "Internal Server Error" in logged


# -- Slack -------------------------------------------------------------------------------
# The real SlackAdapter (slack-bolt, slack_sdk's AsyncWebClient) and delivery against the
# fake Slack misbehaving at random: 10 % HTTP 429 with Retry-After, 2 % chat.postMessage's
# HTTP 200 `rate_limited`, 5 % HTTP 500 (an HTML page), 2 % of calls posted and then
# dropped unanswered, 1 % posted and answered past the client's timeout, and channels that
# are gone: not found, archived, or left with no right to join again.

CHANNELS = [f"C{1000 + n}" for n in range(150)]
NOT_FOUND, ARCHIVED, NO_JOIN = CHANNELS[10:12], CHANNELS[50:52], CHANNELS[90:92]
DEAD = {**{ref: "channel_not_found" for ref in NOT_FOUND}, **{ref: "is_archived" for ref in ARCHIVED},
        **{ref: "missing_scope" for ref in NO_JOIN}}
SLACK_FAULTS = SlackFaults(rate_429=0.10, retry_after=(1, 1), rate_limited_200=0.02, rate_500=0.05,
                           rate_drop=0.02, rate_hang=0.01, hang_seconds=2.5, seed=11)
SEND_TIMEOUT = 1  # the client's, in seconds: a hung call (2.5 s) outlives it


def declare_dead_channels(slack: FakeSlack) -> None:
    """The gone channels, as the fake models them: private and left (Slack hides it:
    channel_not_found), archived, and public but left, with conversations.join refused
    (the app has no channels:join scope)."""
    for ref in NOT_FOUND:
        slack.add_channel(ref, private=True, joined=False)
    for ref in ARCHIVED:
        slack.add_channel(ref, archived=True)
    for ref in NO_JOIN:
        slack.add_channel(ref, joined=False, join_error="missing_scope")


@pytest.fixture
def slack_news(store: Store, tmp_path: Path) -> Store:
    chat_news(store, tmp_path, STORED)
    chat_store.standing_subscriptions(store, "slack", CHANNELS, now=STORED - timedelta(days=1))
    return store


@pytest.mark.long_running
def test_every_deliverable_part_reaches_slack_through_its_faults(slack_news: Store, slack: FakeSlack,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    declare_dead_channels(slack)
    slack.misbehave(SLACK_FAULTS)
    caplog.set_level(logging.DEBUG)  # the SDK's own lines too: none may hold the token

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(slack_news, slack, clock=clock, with_runtime=True,
                                 send_timeout=SEND_TIMEOUT) as bot:
            await _drain_until_sent(bot, slack_news, clock, seconds=90, pause=0.1)
            assert bot.adapter.health()["ok"]  # a refused join is the channel's, not the token's
        await asyncio.sleep(SLACK_FAULTS.hang_seconds)  # the last hung calls answer (to no one)

    asyncio.run(scenario())
    rows = _rows(slack_news)
    refs = {chat.id: chat.chat_ref for chat in (chat_store.get_chat(slack_news, cid) for _, cid, _ in rows) if chat}
    assert len(rows) == len(CHANNELS) and set(refs.values()) == set(CHANNELS)
    deliverable = Counter((refs[cid], payload["text"]) for _, cid, payload in rows if refs[cid] not in DEAD)
    delivered = Counter(slack.delivered)
    assert {status for status, cid, _ in rows if refs[cid] not in DEAD} == {outbox.SENT}
    assert all(delivered[part] >= 1 for part in deliverable)  # none lost
    assert not set(delivered) - set(deliverable)  # nothing went anywhere else
    twice = sum(n - 1 for n in delivered.values())
    # a part goes twice only when Slack took it and the answer never came: each such call
    # is delivery's own retry, once; the SDK resends nothing
    assert slack.dropped + slack.hung > 0 and twice <= slack.dropped + slack.hung, (twice, slack.dropped, slack.hung)
    outcomes = Counter(c.outcome for c in slack.sent("chat.postMessage"))
    assert outcomes["ratelimited"] and outcomes["rate_limited"] and outcomes["internal page"]  # each fault came
    records = [r for r in caplog.records if r.name.startswith("bot")]
    for ref, error in DEAD.items():  # gone: deactivated, its part given up, named in the log with why
        assert not chat_store.ensure_chat(slack_news, "slack", ref).active
        assert any(f"chat slack:{ref}" in r.getMessage() and "deactivated" in r.getMessage()
                   and error in r.getMessage() for r in records), ref
    failures = [r.getMessage() for r in records if r.levelno >= logging.WARNING and "not sent" in r.getMessage()]
    assert failures and all(re.match(r"chat slack:C\d+: part \d+ not sent", line) for line in failures)
    logged = "\n".join(failures + [r.getMessage() for r in records])
    for failure in ("429, retry after 1 s", "HTTP 500", "ServerDisconnectedError", "TimeoutError"):
        assert failure in logged, failure
    assert fake_slack.BOT_TOKEN not in caplog.text and fake_slack.SIGNING_SECRET not in caplog.text


def test_a_dropped_post_is_posted_once_until_deliverys_own_retry(store: Store, slack: FakeSlack,
                                                                 tmp_path: Path) -> None:
    chat_news(store, tmp_path, STORED)
    chat_store.standing_subscriptions(store, "slack", ["C0A"], now=STORED - timedelta(days=1))
    slack.post_then_drop_next("C0A", method="chat.postMessage")

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(store, slack, clock=clock, with_runtime=True) as bot:
            assert bot.runtime is not None
            await bot.runtime.queue_due()  # and drains
            ((status, _, _),) = _rows(store)
            assert [c.outcome for c in slack.sent("chat.postMessage", "C0A")] == ["dropped"]  # no resend
            assert len(slack.delivered) == 1 and status == outbox.PENDING  # Slack has it; we cannot know
            clock.advance(minutes=1)  # past delivery's first backoff (30 s)
            await bot.runtime.drain()
        assert [c.outcome for c in slack.sent("chat.postMessage", "C0A")] == ["dropped", "ok"]
        assert [ref for ref, _ in slack.delivered] == ["C0A", "C0A"]  # the known price of not losing it

    asyncio.run(scenario())


def test_the_sdks_default_retry_would_post_a_dropped_message_twice(slack: FakeSlack) -> None:
    """The peer of the test above: slack_sdk's default client, with its connection-error
    retry handler, resends the dropped call silently, so the same drop posts twice."""
    async def scenario() -> None:
        default = AsyncWebClient(token=fake_slack.BOT_TOKEN, base_url=slack.base_url)
        slack.post_then_drop_next("C0A", method="chat.postMessage")
        answer = await default.chat_postMessage(channel="C0A", text="hello")
        assert answer["ok"]  # the caller never hears of the drop

    asyncio.run(scenario())
    assert [c.outcome for c in slack.sent("chat.postMessage", "C0A")] == ["dropped", "ok"]
    assert slack.delivered == [("C0A", "hello"), ("C0A", "hello")]


def _claimer(store: Store, bot: RunningSlack, clock: ManualClock, lease: timedelta, *,
             paced_by_clock: bool) -> Delivery:
    """Delivery as another process would run it: its own pacer, the same store."""
    assert bot.runtime is not None
    monotonic = (lambda: clock().timestamp()) if paced_by_clock else time.monotonic
    return Delivery(store, {"slack": bot.adapter}, bot.runtime.reporter, clock=clock, lease=lease,
                    monotonic=monotonic)


@pytest.fixture
def either_store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    """The store on SQLite and on PostgreSQL: two claimers meet in its claim."""
    opened = Store.open(store_url)
    chat_news(opened, tmp_path / "posts", STORED)
    yield opened
    opened.close()


def test_a_retry_after_longer_than_the_lease_is_not_sent_early_by_another_claimer(either_store: Store,
                                                                                 slack: FakeSlack) -> None:
    store = either_store
    chat_store.standing_subscriptions(store, "slack", ["C0A"], now=STORED - timedelta(days=1))
    slack.fail_next("C0A", status=429, retry_after=10, method="chat.postMessage")

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(store, slack, clock=clock, with_runtime=True) as bot:
            lease = timedelta(seconds=3)
            first, second = (_claimer(store, bot, clock, lease, paced_by_clock=True) for _ in range(2))
            assert bot.runtime is not None
            bot.runtime.delivery = first
            await bot.runtime.queue_due()  # and drains: 429, Retry-After 10 s, longer than the lease: held
            for seconds in (4, 4):  # the lease ran out long ago; the wait has not
                clock.advance(seconds=seconds)
                assert await second.drain() == 0 and await first.drain() == 0
                assert [c.outcome for c in slack.sent("chat.postMessage", "C0A")] == ["ratelimited"]
            clock.advance(seconds=3)  # 11 s: past Retry-After
            assert await second.drain() + await first.drain() == 1
        assert [c.outcome for c in slack.sent("chat.postMessage", "C0A")] == ["ratelimited", "ok"]
        assert len(slack.delivered) == 1
        ((status, _, _),) = _rows(store)
        assert status == outbox.SENT

    asyncio.run(scenario())


@pytest.fixture
def rate_limited_once(either_store: Store, slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> Store:
    """A store with one Slack channel subscribed, whose first post Slack answers 429 (2 s)."""
    chat_store.standing_subscriptions(either_store, "slack", ["C0A"], now=STORED - timedelta(days=1))
    slack.fail_next("C0A", status=429, retry_after=2, method="chat.postMessage")
    caplog.set_level(logging.WARNING)
    return either_store


def test_a_wait_that_outlives_the_lease_leaves_the_part_to_its_new_claimer(rate_limited_once: Store,
                                                                           slack: FakeSlack,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    """A 429 shorter than the lease is waited out inside the claim; if the lease runs out
    meanwhile (renewing it failed, or came too late) another claimer sends the part, and
    the first must not send it too when its wait ends."""
    store = rate_limited_once

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(store, slack, clock=clock, with_runtime=True) as bot:
            lease = timedelta(seconds=30)  # renewed every 10 s of real time: not within this wait
            first, second = (_claimer(store, bot, clock, lease, paced_by_clock=False) for _ in range(2))
            assert bot.runtime is not None
            bot.runtime.delivery = first
            waiting = asyncio.create_task(bot.runtime.queue_due())  # and drains
            await slack.until("chat.postMessage", channel="C0A", outcome="ratelimited")
            clock.advance(seconds=31)  # the first claimer's lease is over in the store's eyes
            assert await second.drain() == 1
            await asyncio.wait_for(waiting, 20)  # its wait ended; the part is not its own any more
        assert [c.outcome for c in slack.sent("chat.postMessage", "C0A")] == ["ratelimited", "ok"]
        assert len(slack.delivered) == 1
        assert any("chat slack:C0A: part 0 not sent here: its lease ran out" in r.getMessage() for r in caplog.records)

    asyncio.run(scenario())


def test_a_wait_that_outlives_a_lease_no_one_took_renews_it_and_sends(rate_limited_once: Store, slack: FakeSlack,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """The other side of the test above: with no other claimer, the waiter renews its lease
    (nobody took the part) and sends it, at once rather than a lease later."""
    store = rate_limited_once

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(store, slack, clock=clock, with_runtime=True) as bot:
            assert bot.runtime is not None
            bot.runtime.delivery = _claimer(store, bot, clock, timedelta(seconds=30), paced_by_clock=False)
            waiting = asyncio.create_task(bot.runtime.queue_due())  # and drains
            await slack.until("chat.postMessage", channel="C0A", outcome="ratelimited")
            clock.advance(seconds=31)  # its lease is over in the store's eyes, and no one took it
            await asyncio.wait_for(waiting, 20)
        assert [c.outcome for c in slack.sent("chat.postMessage", "C0A")] == ["ratelimited", "ok"]
        ((status, _, _),) = _rows(store)
        assert status == outbox.SENT
        assert not any("not sent here" in r.getMessage() for r in caplog.records)

    asyncio.run(scenario())


def test_slacks_http_200_rate_limited_waits_instead_of_giving_the_part_up(slack_news: Store,
                                                                           slack: FakeSlack) -> None:
    """chat.postMessage's own form, with no Retry-After: waited out (30 s), never a refusal."""
    slack.fail_next("C1000", error="rate_limited", status=200, method="chat.postMessage")

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(slack_news, slack, clock=clock, with_runtime=True) as bot:
            assert bot.runtime is not None
            bot.runtime.delivery = _claimer(slack_news, bot, clock, timedelta(seconds=10), paced_by_clock=True)
            await bot.runtime.queue_due()  # and drains
            assert [c.outcome for c in slack.sent("chat.postMessage", "C1000")] == ["rate_limited"]
            clock.advance(seconds=31)
            await bot.runtime.drain()
        assert [c.outcome for c in slack.sent("chat.postMessage", "C1000")] == ["rate_limited", "ok"]
        with slack_news.connect() as conn:
            rows = list(conn.execute(sa.select(deliveries.c.status, deliveries.c.attempts)))
        assert {(status, attempts) for status, attempts in rows} == {(outbox.SENT, 0)}  # no failed try

    asyncio.run(scenario())


def test_a_join_refused_for_want_of_scope_deactivates_that_channel_only(store: Store, slack: FakeSlack,
                                                                        tmp_path: Path) -> None:
    """Before: missing_scope read as a refused token, which suspended all of Slack's sends."""
    chat_news(store, tmp_path, STORED)
    slack.add_channel("C0LEFT", joined=False, join_error="missing_scope")
    chat_store.standing_subscriptions(store, "slack", ["C0LEFT", "C0A", "C0B"], now=STORED - timedelta(days=1))

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(store, slack, clock=clock, with_runtime=True) as bot:
            assert bot.runtime is not None
            await bot.runtime.queue_due()  # and drains
            assert bot.adapter.health() == {"ok": True, "last_error": None, "mode": "http"}
        assert not chat_store.ensure_chat(store, "slack", "C0LEFT").active
        assert {ref for ref, _ in slack.delivered} == {"C0A", "C0B"}

    asyncio.run(scenario())


def test_a_hung_post_times_out_at_the_adapters_timeout(slack: FakeSlack, store: Store) -> None:
    """Before: the adapter's shared aiohttp session had no timeout, and slack_sdk applies its
    own only to sessions it makes, so a hung call waited aiohttp's 5 minutes, past any lease."""
    slack.hang_next(None, channel="C0A", method="chat.postMessage")  # until released

    async def scenario() -> None:
        async with running_slack(store, slack, send_timeout=1) as bot:
            with pytest.raises(SendFailure) as failed:
                await asyncio.wait_for(bot.adapter.send("C0A", {"text": "hello"}), 15)  # does not hang
            assert failed.value.kind is FailureKind.TRANSIENT and str(failed.value) == "TimeoutError"
            slack.release()

    asyncio.run(scenario())
