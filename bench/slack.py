"""Slack benchmark: slash-command latency through the Slack adapter, alone and during a
digest fan-out, and the fan-out's time against its floors.

Everything runs on 127.0.0.1 in one process: the real SlackAdapter in HTTP mode (Bolt's
AsyncApp behind the bot's HttpFront at /slack/events, on the bot's loop) and the fake
Slack of the tests (tests/support/fake_slack.py, its own thread and loop). Slash commands
come from a "Slack side" thread of their own, signed as Slack signs them, so a command is
sent on time whatever the bot's loop is doing:
- ack: the POST sent → its HTTP response received (Slack wants it within 3 s);
- answer: the POST sent → the `respond()` body arriving at the fake's response URL.
The peer of /news search is the library's `search()` alone on the same store.
Fan-out: a day's digest queued for N subscribed channels (Runtime.queue_due with a clock)
and drained by the real Delivery through the adapter and its 1 message/s per channel pacer.
Its floors: the pacing floor, max over channels of (parts - 1) s, and the latency floor,
messages × median single chat.postMessage round trip (measured in the same run, through
the same client) / DELIVERY_CONCURRENCY. The day's 40 stories make one message per
channel, so a last fan-out sends each digest's messages three times (--repeat-parts),
for the per-channel pacing to have something to pace.

    python -m bench.slack                          # 10k articles, 200 queries, fan-out to 1,000
    python -m bench.slack --chats 1000,3000
    python -m bench.slack --articles 2000 --queries 50 --chats 200 --busy-chats 200
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from bench.bot import SUBSCRIBED, build_store
from bench.store import peoples_daily, percentile, queries
from bot import chats as chat_store
from bot import outbox
from bot.config import BotConfig
from bot.delivery import DELIVERY_CONCURRENCY, claim_size
from bot.http import HttpFront
from bot.router import Router
from bot.runtime import Runtime
from bot.slack import EVENTS_PATH, SlackAdapter
from digest.compose import DailyDigest, DigestFilter
from digest.schema import chats, deliveries
from digest.search import search
from digest.store import Store
from tests.support import fake_slack

PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
SEARCH_NOW = datetime(1999, 1, 1, tzinfo=timezone.utc)  # as bench.bot: `since:` filters stay fixed
DAY = SUBSCRIBED + timedelta(days=1, hours=3)  # noon in Shanghai: every channel's first digest is due
ASKING_CHANNEL = "C0ASK"  # where the slash commands are typed: not one of the fanned-out channels
RTT_CHANNEL = "C0RTT"  # where the single round trips post, kept out of the fan-out's counts
COMMAND_EVERY = 0.1  # seconds between slash commands during the fan-out


@dataclass
class Command:
    """One slash command as the Slack side sent it; times are time.monotonic()."""

    text: str
    response_url: str
    sent: float
    acked: float | None = None
    status: int = 0
    answered: float | None = None

    @property
    def ack_ms(self) -> float:
        assert self.acked is not None
        return (self.acked - self.sent) * 1000

    @property
    def answer_ms(self) -> float:
        assert self.answered is not None
        return (self.answered - self.sent) * 1000


@dataclass
class FanOut:
    """One fan-out: its times (monotonic), what the fake received, and the floors' inputs."""

    channels: int
    repeat: int  # each digest's messages sent this many times (1: the real digest)
    started: float
    first_post: float
    ended: float
    messages: int
    parts_per_channel: dict[str, int]
    complete: bool  # every channel got exactly its parts, once, in order
    problems: list[str] = field(default_factory=list)
    round_trips_ms: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Queueing (composing and recording every digest) and sending, together."""
        return self.ended - self.started

    @property
    def sending_seconds(self) -> float:
        """From the first post reaching the fake to the end."""
        return self.ended - self.first_post

    @property
    def pacing_floor(self) -> float:
        """Each channel's k parts need (k - 1) s at 1 message/s per channel."""
        return float(max(self.parts_per_channel.values()) - 1)

    @property
    def latency_floor(self) -> float:
        """Every message's median round trip, DELIVERY_CONCURRENCY at a time."""
        return self.serial_seconds / DELIVERY_CONCURRENCY

    @property
    def serial_seconds(self) -> float:
        """Every message's median round trip, one after another."""
        return self.messages * statistics.median(self.round_trips_ms) / 1000


class SlackSide:
    """What Slack does to the bot: signed slash commands POSTed to /slack/events, from a
    thread and loop of its own (so the bot's busy loop cannot delay a send)."""

    def __init__(self, fake: fake_slack.FakeSlack, events_url: str) -> None:
        self.fake = fake
        self.events_url = events_url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="slack-side", daemon=True)
        self._thread.start()
        self._session: aiohttp.ClientSession = self._run(self._open()).result(10)

    def command(self, text: str) -> concurrent.futures.Future[Command]:
        """Send `/news search <text>` now; the future is done when its ack arrived."""
        return self._run(self._post(text))

    def every(self, seconds: float, texts: Sequence[str], stop: threading.Event) -> concurrent.futures.Future[
            list[Command]]:
        """Send a command every `seconds` (cycling through `texts`, never waiting for an ack)
        until `stop` is set; the future holds them all once their acks arrived."""
        return self._run(self._tick(seconds, texts, stop))

    def close(self) -> None:
        """Close the session and stop the thread."""
        self._run(self._session.close()).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _run(self, coro: Any) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _open(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(trust_env=False)

    async def _post(self, text: str) -> Command:
        url = self.fake.new_response_url()
        body = fake_slack.slash_command_body("/news", f"search {text}", channel_id=ASKING_CHANNEL, response_url=url)
        headers = {**fake_slack.sign(body), "Content-Type": "application/x-www-form-urlencoded"}
        command = Command(text, url, time.monotonic())
        async with self._session.post(self.events_url, data=body.encode("utf-8"), headers=headers) as response:
            await response.read()
            command.acked, command.status = time.monotonic(), response.status
        return command

    async def _tick(self, seconds: float, texts: Sequence[str], stop: threading.Event) -> list[Command]:
        sending: list[asyncio.Task[Command]] = []
        next_at = time.monotonic()
        while not stop.is_set():
            sending.append(asyncio.ensure_future(self._post(texts[len(sending) % len(texts)])))
            next_at += seconds  # a fixed schedule: a slow ack does not space the next command out
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        return list(await asyncio.gather(*sending))


@dataclass
class RunningBot:
    """A started SlackAdapter in HTTP mode against a started fake Slack."""

    fake: fake_slack.FakeSlack
    config: BotConfig
    adapter: SlackAdapter
    side: SlackSide


class RepeatedParts(SlackAdapter):
    """The Slack adapter, sending each digest's messages `repeat` times (numbered in their
    fallback text): a digest of several messages, which the day's 40 stories do not make."""

    repeat = 1

    def digest_parts(self, digest: DailyDigest, language: str) -> list[dict[str, Any]]:
        """The adapter's messages for the digest, `repeat` times over."""
        parts = super().digest_parts(digest, language)
        if self.repeat == 1:
            return parts
        return [dict(part, text=f"{part['text']} ({copy + 1}/{self.repeat})") for copy in range(self.repeat)
                for part in parts]


@asynccontextmanager
async def slack_bot(store: Store, repeat: int = 1) -> AsyncIterator[RunningBot]:
    """A fresh fake Slack, and the adapter wired as bot.app wires it, served on a free port."""
    fake = fake_slack.FakeSlack()
    fake.start()
    config = BotConfig(slack_bot_token=fake_slack.BOT_TOKEN, slack_signing_secret=fake_slack.SIGNING_SECRET,
                       slack_api_base_url=fake.base_url, http_port=0, webhook_listen="127.0.0.1",
                       start_retry_seconds=5)
    router = Router(store, config, clock=lambda: SEARCH_NOW, command_forms={"slack": f"{config.slack_command} "})
    front = HttpFront("127.0.0.1", 0, lambda: {"ok": True})
    adapter = RepeatedParts(router, config, front=front)
    adapter.repeat = repeat
    await front.start()
    side = None
    try:
        await adapter.start()
        host, port = front.addresses[0]
        side = SlackSide(fake, f"http://{host}:{port}{EVENTS_PATH}")
        yield RunningBot(fake, config, adapter, side)
    finally:
        if side is not None:
            side.close()
        await front.stop()
        await adapter.stop()
        fake.stop()


async def answered(fake: fake_slack.FakeSlack, commands: Sequence[Command]) -> None:
    """Wait for each command's answer at its response URL and note when it arrived."""
    for command in commands:
        (first, *_) = await fake.until_responses(command.response_url, 1, timeout=60)
        command.answered = first.at


async def slash_latency(store: Store, texts: list[str]) -> tuple[list[Command], list[float]]:
    """Each query as a slash command, one at a time; and `search()` alone after each."""
    async with slack_bot(store) as bot:
        warm = await asyncio.wrap_future(bot.side.command(texts[0]))  # Bolt's first dispatch: not timed
        await answered(bot.fake, [warm])
        commands, direct = [], []
        for number, text in enumerate(texts):
            command = await asyncio.wrap_future(bot.side.command(text))
            await answered(bot.fake, [command])
            commands.append(command)
            started = time.perf_counter()
            search(store, text, limit=5, now=SEARCH_NOW)
            direct.append((time.perf_counter() - started) * 1000)
            if number % 50 == 0:
                print(f"  /news search {number}/{len(texts)}", file=sys.stderr, flush=True)
    return commands, direct


def subscribe_channels(store: Store, prefix: str, count: int) -> list[str]:
    """`count` Slack channels subscribed a day before the day's news (as bench.bot's chats)."""
    refs = [f"{prefix}{number:06d}" for number in range(count)]
    for ref in refs:
        chat = chat_store.ensure_chat(store, "slack", ref, kind="channel")
        chat_store.subscribe(store, chat, DigestFilter(), now=SUBSCRIBED)
    return refs


async def fan_out(store: Store, bot: RunningBot, refs: list[str], repeat: int = 1) -> FanOut:
    """Queue the day's digest for every subscribed channel and drain it through the adapter."""
    runtime = Runtime(store, bot.config, {"slack": bot.adapter}, clock=lambda: DAY)
    progress = asyncio.create_task(_progress(bot.fake, len(refs)))
    try:
        started = time.monotonic()
        await runtime.queue_due()
        ended = time.monotonic()
    finally:
        progress.cancel()
    posts = bot.fake.posts()
    first_post = min((call.at for call in posts), default=ended)
    expected = _expected_parts(store, refs)
    problems = _check_posts(expected, posts)
    return FanOut(len(refs), repeat, started, first_post, ended, len(posts), {ref: len(t) for ref, t in expected.items()},
                  not problems, problems)


async def round_trips(bot: RunningBot, payload: dict[str, Any], count: int) -> list[float]:
    """`count` single chat.postMessage calls, one after another, through the adapter's client."""
    trips = []
    for _ in range(count):
        started = time.perf_counter()
        await bot.adapter.send(RTT_CHANNEL, payload)
        trips.append((time.perf_counter() - started) * 1000)
    return trips


def first_payload(store: Store, ref: str) -> dict[str, Any]:
    """The first part the outbox holds for channel `ref`: what one digest post carries."""
    with store.connect() as conn:
        payload = conn.execute(sa.select(deliveries.c.payload).join(chats, chats.c.id == deliveries.c.chat_id)
                               .where(chats.c.platform == "slack", chats.c.chat_ref == ref)
                               .order_by(deliveries.c.part).limit(1)).scalar_one()
    return dict(payload)


def _expected_parts(store: Store, refs: list[str]) -> dict[str, list[str]]:
    """Each channel's parts in the outbox, as their fallback texts in order."""
    wanted = set(refs)
    out: dict[str, list[str]] = {ref: [] for ref in refs}
    with store.connect() as conn:
        rows = conn.execute(sa.select(chats.c.chat_ref, deliveries.c.part, deliveries.c.payload)
                            .join(chats, chats.c.id == deliveries.c.chat_id)
                            .where(chats.c.platform == "slack").order_by(chats.c.chat_ref, deliveries.c.part))
        for row in rows:
            if row.chat_ref in wanted:
                out[row.chat_ref].append(str(row.payload.get("text")))
    return out


def _check_posts(expected: dict[str, list[str]], posts: list[fake_slack.Call]) -> list[str]:
    """Why the posts are not exactly each channel's parts once, in order (empty: they are)."""
    got: defaultdict[str, list[str]] = defaultdict(list)
    for call in posts:
        got[str(call.params.get("channel"))].append(str(call.params.get("text")))
    problems = [f"{ref}: {len(got.get(ref, []))} posts, {len(parts)} parts" for ref, parts in expected.items()
                if got.get(ref, []) != parts]
    problems += [f"{ref}: posted to, but no digest of it" for ref in got if ref not in expected]
    problems += [f"{ref}: no parts to send" for ref, parts in expected.items() if not parts]
    return problems


async def _progress(fake: fake_slack.FakeSlack, channels: int) -> None:
    while True:
        await asyncio.sleep(5)
        print(f"  fan-out to {channels}: {len(fake.posts())} posts so far", file=sys.stderr, flush=True)


async def busy_fan_out(store: Store, texts: list[str], count: int) -> tuple[FanOut, list[Command]]:
    """A fan-out to `count` channels while the Slack side sends a command every COMMAND_EVERY s."""
    async with slack_bot(store) as bot:
        refs = subscribe_channels(store, "CB", count)
        warm = await asyncio.wrap_future(bot.side.command(texts[0]))
        await answered(bot.fake, [warm])
        stop = threading.Event()
        ticking = bot.side.every(COMMAND_EVERY, texts, stop)
        try:
            result = await fan_out(store, bot, refs)
        finally:
            stop.set()
        commands = await asyncio.wrap_future(ticking)
        await answered(bot.fake, commands)
    return result, commands


async def plain_fan_out(store: Store, count: int, run: int, samples: int, repeat: int = 1) -> FanOut:
    """A fan-out to `count` channels with nothing else going on; then `samples` round trips."""
    async with slack_bot(store, repeat) as bot:
        refs = subscribe_channels(store, f"CF{run}", count)
        result = await fan_out(store, bot, refs, repeat)
        result.round_trips_ms = await round_trips(bot, first_payload(store, refs[0]), samples)
    return result


@dataclass
class Results:
    """Everything one run measured."""

    commands: list[Command]  # one at a time, nothing else going on
    direct: list[float]  # ms of `search()` alone, per query
    busy: FanOut  # the fan-out under slash commands
    during: list[Command]  # the commands sent meanwhile
    plain: list[FanOut]  # the fan-outs with nothing else going on


async def run_all(args: argparse.Namespace, store: Store, texts: list[str]) -> Results:
    """The three measurements, in order, on this loop."""
    print(f"slash commands at rest: {len(texts)} queries…", file=sys.stderr, flush=True)
    commands, direct = await slash_latency(store, texts)
    print(f"fan-out to {args.busy_chats} channels with a command every {COMMAND_EVERY * 1000:.0f} ms…",
          file=sys.stderr, flush=True)
    busy, during = await busy_fan_out(store, texts, args.busy_chats)
    plain = []
    for run, count in enumerate(int(c) for c in args.chats.split(",")):
        print(f"fan-out to {count} channels…", file=sys.stderr, flush=True)
        plain.append(await plain_fan_out(store, count, run, args.round_trips))
    if args.repeat_parts > 1:
        count = int(args.chats.split(",")[0])
        print(f"fan-out to {count} channels, each digest's messages sent {args.repeat_parts} times…",
              file=sys.stderr, flush=True)
        plain.append(await plain_fan_out(store, count, len(plain), args.round_trips, args.repeat_parts))
    return Results(commands, direct, busy, during, plain)


def _row(name: str, values: list[float], digits: int = 1) -> str:
    return (f"| {name} | {len(values)} | {percentile(values, .5):.{digits}f} | {percentile(values, .99):.{digits}f} "
            f"| {max(values):.{digits}f} |")


def report(args: argparse.Namespace, results: Results) -> None:
    """The tables, in markdown, on stdout."""
    commands, direct, busy, during, plain = (results.commands, results.direct, results.busy, results.during,
                                             results.plain)
    table = "| path | n | p50 (ms) | p99 (ms) | max (ms) |\n|---|---:|---:|---:|---:|"
    print(f"\n/news search through the Slack adapter (HTTP mode), {args.articles:,} articles, "
          f"{len(commands)} queries one at a time\n")
    print(table)
    print(_row("POST sent → ack received", [c.ack_ms for c in commands]))
    print(_row("POST sent → answer at the response URL", [c.answer_ms for c in commands]))
    print(_row("library `search()` alone", direct, 2))
    refused = sum(c.status != 200 for c in commands + during)
    in_fan_out = [c for c in during if c.acked is not None and busy.started <= c.acked <= busy.ended]
    sending = [c for c in in_fan_out if c.acked is not None and c.acked >= busy.first_post]
    print(f"\nDuring a fan-out to {busy.channels:,} channels ({busy.messages:,} messages, {busy.seconds:.1f} s: "
          f"{busy.first_post - busy.started:.1f} s recording the digests, then {busy.sending_seconds:.1f} s "
          f"sending; every channel got its parts once: {'yes' if busy.complete else 'NO'}), a command every "
          f"{COMMAND_EVERY * 1000:.0f} ms: {len(during)} sent, {len(in_fan_out)} acked during the fan-out "
          f"({len(sending)} while sending); {refused} non-200 acks in all\n")
    print(table)
    for name, chosen in (("ack, during the fan-out", in_fan_out), ("ack, while sending", sending),
                         ("answer, during the fan-out", in_fan_out), ("answer, while sending", sending)):
        if chosen:
            print(_row(name, [c.ack_ms if name.startswith("ack") else c.answer_ms for c in chosen]))
    if in_fan_out:
        p99 = percentile([c.ack_ms for c in in_fan_out], .99)
        print(f"\nAck p99 during the fan-out: {p99:.1f} ms (target < 1,000 ms: {'met' if p99 < 1000 else 'NOT met'})")
    print(f"\nFan-out: DELIVERY_CONCURRENCY {DELIVERY_CONCURRENCY}, claims of "
          f"{claim_size(SlackAdapter.pacing, outbox.LEASE)} parts, 1 message/s per channel\n")
    print("| channels | digest | messages | parts per channel | exactly once | time (s) | recording (s) "
          "| sending (s) | post round trip p50 (ms) | pacing floor (s) | latency floor (s) | time / floor "
          "| sending / floor | messages × round trip (s) |")
    print("|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in plain:
        floor = max(run.pacing_floor, run.latency_floor)
        low, high = min(run.parts_per_channel.values()), max(run.parts_per_channel.values())
        digest = "the day's" if run.repeat == 1 else f"the day's, messages ×{run.repeat}"
        print(f"| {run.channels:,} | {digest} | {run.messages:,} | {low if low == high else f'{low}–{high}'} "
              f"| {'yes' if run.complete else 'NO'} | {run.seconds:.1f} | {run.first_post - run.started:.1f} "
              f"| {run.sending_seconds:.1f} | {statistics.median(run.round_trips_ms):.2f} | {run.pacing_floor:.0f} "
              f"| {run.latency_floor:.2f} | {run.seconds / floor:.1f} | {run.sending_seconds / floor:.1f} "
              f"| {run.serial_seconds:.2f} |")
    for run in (busy, *plain):
        for problem in run.problems[:10]:
            print(f"  not exactly once: {problem}", file=sys.stderr)


def clear_proxies() -> None:
    """slack-sdk sends even 127.0.0.1 through a proxy it finds in the environment (it ignores NO_PROXY)."""
    for name in PROXIES:
        os.environ.pop(name, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--chats", default="1000", help="fan-out sizes, comma-separated (1000,3000)")
    parser.add_argument("--busy-chats", type=int, default=1000, help="channels of the fan-out under commands")
    parser.add_argument("--repeat-parts", type=int, default=3,
                        help="also fan out with each digest's messages sent this many times (1: not)")
    parser.add_argument("--round-trips", type=int, default=200, help="single chat.postMessage calls timed")
    args = parser.parse_args()
    clear_proxies()
    with tempfile.TemporaryDirectory(prefix="digestbot-slackbench-") as folder:
        store = build_store(Path(folder), args.articles)
        texts = queries(peoples_daily(), args.queries)
        try:
            results = asyncio.run(run_all(args, store, texts))
        finally:
            store.close()
    report(args, results)


if __name__ == "__main__":
    main()
