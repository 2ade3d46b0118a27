"""Bot benchmark: /search round trip through the Telegram adapter, and digest fan-out.

- /search: the real python-telegram-bot polls the fake Bot API server of the tests
  (tests/support/fake_telegram.py) on 127.0.0.1; a query is timed from the moment the
  update is queued to the moment the answer's sendMessage reaches the server. The peer
  in the same run is the library's `search()` alone on the same store.
- fan-out: one day's digest queued for N subscribed chats and drained through the
  outbox and the pacer; the floor is what the overall limit we keep (25 messages in
  any second, under Telegram's ~30/s) allows — (messages - 25) / 25 s — and the ratio
  to it is reported.

    python -m bench.bot                        # 10k articles; fan-out to 1,000 and 10,000 chats
    python -m bench.bot --articles 2000 --chats 200
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.store import peoples_daily, percentile, post, queries
from bot import chats as chat_store
from bot.config import BotConfig
from bot.router import Router
from bot.runtime import Runtime
from bot.telegram import TelegramAdapter
from digest.compose import DigestFilter
from digest.ingest import Ingestor
from digest.search import search
from digest.store import Store
from tests.support import fake_telegram


# The archive is stored a month before; the day's news after the chats subscribed, and
# their first digest, a day later, holds that news.
ARCHIVED = datetime(2026, 10, 1, tzinfo=timezone.utc)
SUBSCRIBED = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
TODAY = datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)
DAYS_NEWS = 40
OVERALL_PER_SECOND = TelegramAdapter.pacing.overall_per_second


def build_store(folder: Path, count: int) -> Store:
    base = peoples_daily()
    store = Store.open(f"sqlite:///{folder / 'bot.db'}")
    for name, numbers, stored in (("archive", range(count - DAYS_NEWS), ARCHIVED),
                                  ("today", range(count - DAYS_NEWS, count), TODAY)):
        posts = folder / name
        for number in numbers:
            path = posts / f"{number // 1000:03}" / f"{number:06}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(post(number, base), encoding="utf-8")
        print(f"ingesting {len(numbers)} articles ({name})…", file=sys.stderr, flush=True)
        Ingestor(store, clock=lambda stored=stored: stored).ingest([str(posts)])
    return store


async def search_round_trips(store: Store, texts: list[str]) -> tuple[list[float], list[float]]:
    api = fake_telegram.FakeBotAPI()
    server = fake_telegram.start(api)
    config = BotConfig(telegram_token=fake_telegram.TOKEN, telegram_api_base_url=api.base_url)
    now = datetime(1999, 1, 1, tzinfo=timezone.utc)
    adapter = TelegramAdapter(Router(store, config, clock=lambda: now), config, poll_timeout=1)
    await adapter.start()
    trips, direct = [], []
    try:
        for number, text in enumerate(texts):
            before = len(api.sent(100))
            started = time.perf_counter()
            api.push_message(100, f"/search {text}")
            await api.until("sendMessage", before + 1, chat_id=100)
            trips.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            search(store, text, limit=5, now=now)
            direct.append((time.perf_counter() - started) * 1000)
            if number % 50 == 0:
                print(f"  /search {number}/{len(texts)}", file=sys.stderr, flush=True)
    finally:
        await adapter.stop()
        server.shutdown()
    return trips, direct


async def fan_out(store: Store, chats: int) -> tuple[float, int]:
    api = fake_telegram.FakeBotAPI()
    server = fake_telegram.start(api)
    config = BotConfig(telegram_token=fake_telegram.TOKEN, telegram_api_base_url=api.base_url)
    adapter = TelegramAdapter(Router(store, config), config)
    offset = 10_000_000 * chats  # chat ids of their own, so runs do not share chats
    for number in range(chats):  # subscribed a day before, with the day's news stored since
        chat = chat_store.ensure_chat(store, "telegram", str(offset + number))
        chat_store.subscribe(store, chat, DigestFilter(), now=SUBSCRIBED)
    day = SUBSCRIBED + timedelta(days=1, hours=3)  # noon in Shanghai: every chat's first digest is due
    runtime = Runtime(store, config, {"telegram": adapter}, clock=lambda: day)
    await adapter.application.initialize()
    try:
        started = time.perf_counter()
        await runtime.queue_due()
        await runtime.drain()
        elapsed = time.perf_counter() - started
    finally:
        await adapter.application.shutdown()
        server.shutdown()
    return elapsed, len(api.sent())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--chats", default="1000,10000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="digestbot-botbench-") as folder:
        store = build_store(Path(folder), args.articles)
        texts = queries(peoples_daily(), args.queries)
        trips, direct = asyncio.run(search_round_trips(store, texts))
        rows = []
        for count in (int(c) for c in args.chats.split(",")):
            print(f"fan-out to {count} chats…", file=sys.stderr, flush=True)
            elapsed, sent = asyncio.run(fan_out(store, count))
            # a sliding one-second window lets the first 25 go at once: N take (N - 25) / 25 s
            rows.append((count, sent, elapsed, max(sent - OVERALL_PER_SECOND, 1) / OVERALL_PER_SECOND))
        store.close()
    print(f"\n/search through the Telegram adapter, {args.articles:,} articles, {len(texts)} queries\n")
    print("| path | p50 (ms) | p99 (ms) | mean (ms) |\n|---|---:|---:|---:|")
    print(f"| update queued → answer at the Bot API | {percentile(trips, .5):.1f} | {percentile(trips, .99):.1f} | "
          f"{statistics.mean(trips):.1f} |")
    print(f"| library `search()` alone | {percentile(direct, .5):.2f} | {percentile(direct, .99):.2f} | "
          f"{statistics.mean(direct):.2f} |")
    print("\n| chats | messages sent | time (s) | floor at 25/s (s) | time / floor |\n|---:|---:|---:|---:|---:|")
    for count, sent, elapsed, floor in rows:
        print(f"| {count:,} | {sent:,} | {elapsed:.1f} | {floor:.1f} | {elapsed / floor:.2f} |")


if __name__ == "__main__":
    main()
