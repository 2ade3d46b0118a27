"""Platform faults (issue 11): the real python-telegram-bot and delivery against a fake Bot
API that answers 10 % of sends with 429 (retry_after 1–3 s), 5 % with 500, drops 2 % of
connections unanswered, hangs 1 % past the client's timeout, and answers some chats 403.
Every deliverable part arrives, the 403 chats are deactivated, the log names each chat and
failure. The store's clock moves on between drains, so retries come at once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import chats as chat_store
from bot import outbox
from digest.compose import DigestFilter
from digest.schema import deliveries
from digest.store import Store
from tests.support.bots import running_bot, telegram_config
from tests.support.builders import chat_news
from tests.support.clock import ManualClock
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
            assert bot.runtime is not None
            await bot.runtime.queue_due()
            deadline = time.monotonic() + 240
            while any(status == outbox.PENDING for status, _, _ in _rows(news)):
                assert time.monotonic() < deadline, Counter(status for status, _, _ in _rows(news))
                await bot.runtime.drain()
                clock.advance(minutes=5)  # past any retry's backoff
                await asyncio.sleep(0.2)

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
