"""Delivery under platform faults (issue 11): a day's digest fanned out to N chats through
the real python-telegram-bot and delivery, against the fake Bot API of the tests, first
answering well, then misbehaving at random (seeded): 10 % 429 with retry_after 1–3 s, 5 %
500, 2 % connections dropped unanswered, 1 % hung past the client's timeout, and some
chats 403. Prints the time of each, the throughput under faults against the no-fault run,
and what was lost, sent twice and deactivated. The store's clock jumps past every retry's
backoff between drains (an hour-long backoff is not what this measures); the pacer and
the 429 waits run on the real clock.

    python -m bench.faults                 # 300 chats
    python -m bench.faults --chats 1000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from bot import chats as chat_store
from bot import outbox
from digest.compose import DigestFilter
from digest.schema import deliveries
from digest.store import Store
from tests.support import fake_telegram
from tests.support.bots import running_bot
from tests.support.builders import chat_news
from tests.support.clock import ManualClock
from tests.support.fake_telegram import Faults

DUE = datetime(2021, 4, 20, 1, 0, tzinfo=timezone.utc)
STORED = datetime(2021, 4, 19, 22, 0, tzinfo=timezone.utc)


async def fan_out(store: Store, api: fake_telegram.FakeBotAPI) -> float:
    """Queue the due digests and drain until no part is pending; the seconds it took."""
    clock = ManualClock(DUE)
    async with running_bot(store, api, clock=clock, with_runtime=True) as bot:
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


def one_run(chats: int, faults: Faults | None) -> tuple[float, Counter[tuple[str, str]], int, int, int]:
    """(seconds, what the fake delivered, parts recorded, chats deactivated, hung calls)."""
    api = fake_telegram.FakeBotAPI()
    server = fake_telegram.start(api)
    api.misbehave(faults)
    try:
        with tempfile.TemporaryDirectory() as folder:
            store = Store.open(f"sqlite:///{Path(folder) / 'store.db'}")
            chat_news(store, Path(folder) / "posts", STORED)
            for n in range(chats):
                chat = chat_store.ensure_chat(store, "telegram", str(5000 + n))
                chat_store.subscribe(store, chat, DigestFilter(), now=STORED - timedelta(days=1))
            seconds = asyncio.run(fan_out(store, api))
            with store.connect() as conn:
                parts = conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar_one()
            gone = sum(not c.active for c in (chat_store.get_chat(store, i) for i in range(1, chats + 1)) if c)
            store.close()
    finally:
        server.shutdown()
        server.server_close()
    return seconds, Counter(api.delivered), parts, gone, api.hung


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=300)
    args = parser.parse_args()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(name, None)
    forbidden = frozenset(str(5000 + n) for n in range(0, args.chats, 20))
    faulty = Faults(rate_429=0.10, rate_500=0.05, rate_drop=0.02, rate_hang=0.01, hang_seconds=7,
                    forbidden=forbidden, seed=11)
    print(f"{args.chats} chats, no faults…", file=sys.stderr, flush=True)
    clean = one_run(args.chats, None)
    print(f"{args.chats} chats, faults…", file=sys.stderr, flush=True)
    rough = one_run(args.chats, faulty)
    print(f"\nA day's digest to {args.chats:,} chats through PTB and delivery: 10 % 429 (1–3 s), 5 % 500, "
          f"2 % dropped, 1 % hung 7 s, {len(forbidden)} chats 403\n")
    print("| run | parts | delivered | sent twice | deactivated | hung calls | time (s) | parts/s | throughput vs no faults |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, (seconds, got, parts, gone, hung) in (("no faults", clean), ("faults", rough)):
        twice = sum(n - 1 for n in got.values() if n > 1)
        rate = len(got) / seconds
        print(f"| {name} | {parts:,} | {len(got):,} | {twice} | {gone} | {hung} | {seconds:.1f} | {rate:.1f} | "
              f"{clean[0] / seconds:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
