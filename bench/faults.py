"""Delivery under platform faults (issue 11): a day's digest fanned out to N chats through
the real adapter and delivery, against the fake of the tests, first answering well, then
misbehaving at random (seeded).

- Telegram (python-telegram-bot, fake Bot API): 10 % 429 with retry_after 1–3 s, 5 % 500,
  2 % connections dropped unanswered (nothing delivered), 1 % hung 7 s past the client's
  timeout (delivered), and some chats 403.
- Slack (slack-bolt / slack_sdk, fake Slack): 10 % HTTP 429 with Retry-After 1–3 s, 2 %
  chat.postMessage's HTTP 200 `rate_limited` (with Retry-After), 5 % HTTP 500 (an HTML
  page), 2 % posted and then dropped unanswered, 1 % posted and hung 25 s, past the
  adapter's 20 s timeout; some channels gone (not found, archived, left with
  conversations.join refused for want of its scope).

Prints the time of each, the throughput under faults against the no-fault run, and what
was delivered, lost, sent twice and deactivated. The store's clock jumps past every retry's
backoff between drains (an hour-long backoff is not what this measures); the pacer and the
429 waits run on the real clock.

    python -m bench.faults                          # both platforms, 300 chats each
    python -m bench.faults --platform slack --chats 1000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot import chats as chat_store
from bot import outbox
from digest.compose import DigestFilter
from digest.schema import deliveries
from digest.store import Store
from tests.support import fake_slack, fake_telegram
from tests.support.bots import running_bot, running_slack
from tests.support.builders import chat_news
from tests.support.clock import ManualClock
from tests.support.fake_slack import Faults as SlackFaults
from tests.support.fake_telegram import Faults

DUE = datetime(2021, 4, 20, 1, 0, tzinfo=timezone.utc)
STORED = datetime(2021, 4, 19, 22, 0, tzinfo=timezone.utc)
SUBSCRIBED = STORED - timedelta(days=1)
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@dataclass
class Run:
    """One fan-out's outcome: parts recorded, deliverable parts that arrived at least once,
    those that never did, extra copies, chats deactivated, calls the platform took but never
    answered in time (dropped after posting, or hung), and the seconds it took."""

    parts: int
    delivered: int
    lost: int
    twice: int
    deactivated: int
    unanswered: int
    seconds: float


async def fan_out(store: Store, bot_of: Callable[[ManualClock], AbstractAsyncContextManager[Any]]) -> float:
    """Queue the due digests and drain until no part is pending; the seconds it took."""
    clock = ManualClock(DUE)
    async with bot_of(clock) as bot:
        assert bot.runtime is not None
        started = time.monotonic()
        await bot.runtime.queue_due()
        while pending(store):
            await bot.runtime.drain()
            clock.advance(minutes=5)
            await asyncio.sleep(0.05)
        return time.monotonic() - started


def pending(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(deliveries)
                            .where(deliveries.c.status == outbox.PENDING)).scalar_one()


def outcome(store: Store, platform: str, refs: list[str], dead: set[str], got: Counter[tuple[str, str]],
            unanswered: int, seconds: float) -> Run:
    """What the store recorded against what the fake delivered."""
    with store.connect() as conn:
        rows = list(conn.execute(sa.select(deliveries.c.chat_id, deliveries.c.payload)))
    chats = {c.id: c for c in (chat_store.ensure_chat(store, platform, ref) for ref in refs)}
    deliverable = {(chats[cid].chat_ref, str(payload["text"])) for cid, payload in rows
                   if chats[cid].chat_ref not in dead}
    arrived = sum(got[part] > 0 for part in deliverable)
    return Run(len(rows), arrived, len(deliverable) - arrived, sum(n - 1 for n in got.values() if n > 1),
               sum(not c.active for c in chats.values()), unanswered, seconds)


def telegram_run(chats: int, faults: Faults | None) -> Run:
    api = fake_telegram.FakeBotAPI()
    server = fake_telegram.start(api)
    api.misbehave(faults)
    refs = [str(5000 + n) for n in range(chats)]
    try:
        with tempfile.TemporaryDirectory() as folder:
            store = Store.open(f"sqlite:///{Path(folder) / 'store.db'}")
            chat_news(store, Path(folder) / "posts", STORED)
            for ref in refs:
                chat = chat_store.ensure_chat(store, "telegram", ref)
                chat_store.subscribe(store, chat, DigestFilter(), now=SUBSCRIBED)
            seconds = asyncio.run(fan_out(store, lambda clock: running_bot(store, api, clock=clock,
                                                                           with_runtime=True)))
            dead = set(faults.forbidden) if faults is not None else set()
            run = outcome(store, "telegram", refs, dead, Counter(api.delivered), api.hung, seconds)
            store.close()
    finally:
        server.shutdown()
        server.server_close()
    return run


def slack_dead(chats: int) -> dict[str, str]:
    """Every 20th channel is gone, the three ways in turn: channel id -> how."""
    hows = ("channel_not_found", "is_archived", "missing_scope")
    return {f"C{100000 + n}": hows[(n // 20) % 3] for n in range(0, chats, 20)}


def slack_run(chats: int, faults: SlackFaults | None) -> Run:
    refs = [f"C{100000 + n}" for n in range(chats)]
    dead = slack_dead(chats) if faults is not None else {}
    with fake_slack.serve_slack() as slack, tempfile.TemporaryDirectory() as folder:
        for ref, how in dead.items():
            if how == "channel_not_found":
                slack.add_channel(ref, private=True, joined=False)
            elif how == "is_archived":
                slack.add_channel(ref, archived=True)
            else:
                slack.add_channel(ref, joined=False, join_error="missing_scope")
        slack.misbehave(faults)
        store = Store.open(f"sqlite:///{Path(folder) / 'store.db'}")
        chat_news(store, Path(folder) / "posts", STORED)
        chat_store.standing_subscriptions(store, "slack", refs, now=SUBSCRIBED)
        seconds = asyncio.run(fan_out(store, lambda clock: running_slack(store, slack, clock=clock,
                                                                         with_runtime=True)))
        run = outcome(store, "slack", refs, set(dead), Counter(slack.delivered), slack.dropped + slack.hung, seconds)
        store.close()
    return run


def table(title: str, clean: Run, rough: Run) -> None:
    print(f"\n{title}\n")
    print("| run | parts | delivered | lost | sent twice | deactivated | taken, unanswered | time (s) | parts/s "
          "| throughput vs no faults |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, run in (("no faults", clean), ("faults", rough)):
        print(f"| {name} | {run.parts:,} | {run.delivered:,} | {run.lost} | {run.twice} | {run.deactivated} | "
              f"{run.unanswered} | {run.seconds:.1f} | {run.delivered / run.seconds:.1f} | "
              f"{clean.seconds / run.seconds:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--platform", choices=("telegram", "slack", "both"), default="both")
    args = parser.parse_args()
    for name in PROXIES:  # slack-sdk sends even 127.0.0.1 through a proxy it finds
        os.environ.pop(name, None)
    if args.platform in ("telegram", "both"):
        forbidden = frozenset(str(5000 + n) for n in range(0, args.chats, 20))
        faulty = Faults(rate_429=0.10, rate_500=0.05, rate_drop=0.02, rate_hang=0.01, hang_seconds=7,
                        forbidden=forbidden, seed=11)
        print(f"telegram: {args.chats} chats, no faults…", file=sys.stderr, flush=True)
        clean = telegram_run(args.chats, None)
        print(f"telegram: {args.chats} chats, faults…", file=sys.stderr, flush=True)
        rough = telegram_run(args.chats, faulty)
        table(f"A day's digest to {args.chats:,} chats through PTB and delivery: 10 % 429 (1–3 s), 5 % 500, "
              f"2 % dropped, 1 % hung 7 s, {len(forbidden)} chats 403", clean, rough)
    if args.platform in ("slack", "both"):
        slack_faults = SlackFaults(rate_429=0.10, retry_after=(1, 3), rate_limited_200=0.02, rate_500=0.05,
                                   rate_drop=0.02, rate_hang=0.01, hang_seconds=25, seed=11)
        print(f"slack: {args.chats} channels, no faults…", file=sys.stderr, flush=True)
        clean = slack_run(args.chats, None)
        print(f"slack: {args.chats} channels, faults…", file=sys.stderr, flush=True)
        rough = slack_run(args.chats, slack_faults)
        hows = Counter(slack_dead(args.chats).values())
        table(f"A day's digest to {args.chats:,} channels through slack-bolt / slack_sdk and delivery: 10 % 429 "
              f"(Retry-After 1–3 s), 2 % HTTP 200 rate_limited, 5 % 500, 2 % posted then dropped, 1 % posted then "
              f"hung 25 s (timeout 20 s), {sum(hows.values())} channels gone ("
              + ", ".join(f"{n} {how}" for how, n in sorted(hows.items())) + ")", clean, rough)
    return 0


if __name__ == "__main__":
    sys.exit(main())
