"""The bot's three recurring jobs: poll the sources, queue the digests that are due, and
drain the outbox through the adapters. APScheduler 3 runs them on the bot's event loop.

Each process runs its own scheduler with an in-memory job store (a shared job store
would fire twice); what a job does is decided in the database, so several processes on
one PostgreSQL store do each piece of work once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from digest.compose import compose_daily
from digest.ingest import Ingestor
from digest.store import Store

from . import chats as chat_store
from . import outbox
from .adapter import Adapter, ChatGone, ChatMigrated, RetryAfter, SendError
from .chats import Chat
from .config import BotConfig
from .pacing import Pacer

log = logging.getLogger(__name__)

DRAIN_SECONDS = 2
MAX_ATTEMPTS = 5


class Runtime:
    """Owns the scheduler and the jobs; adapters are registered by platform."""

    def __init__(self, store: Store, config: BotConfig, adapters: dict[str, Adapter], *,
                 clock: Callable[[], datetime] | None = None, pacer: Pacer | None = None) -> None:
        self.store = store
        self.config = config
        self.adapters = adapters
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.pacer = pacer or Pacer()
        self.scheduler = AsyncIOScheduler(timezone=timezone.utc)
        self._draining = asyncio.Lock()
        self._jobs: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        """Schedule the jobs and start the scheduler (the caller has polled once already)."""
        now = datetime.now(timezone.utc)
        jobs = [
            (self.poll, {"minutes": self.config.settings.poll_minutes}, None),
            (self.queue_due, {"minutes": 1}, now + timedelta(seconds=1)),
            (self.drain, {"seconds": DRAIN_SECONDS}, None),
        ]
        for job, every, first in jobs:
            self.scheduler.add_job(self._guarded, "interval", args=[job], id=job.__name__, next_run_time=first,
                                   max_instances=1, coalesce=True, **every)
        self.scheduler.start()

    async def stop(self, grace: float = 30.0) -> None:
        """Stop scheduling and let a running job finish (up to `grace` seconds): the
        scheduler's own shutdown would cancel it mid-way."""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        if self._jobs:
            _, pending = await asyncio.wait(set(self._jobs), timeout=grace)
            if pending:
                log.warning("%d job(s) still running after %g s: cancelled", len(pending), grace)
        self.scheduler.shutdown(wait=False)

    async def _guarded(self, job: Callable[[], Any]) -> None:
        # one failing run is logged and the job runs again next time; shutdown waits for it
        task = asyncio.current_task()
        if task is not None:
            self._jobs.add(task)
        try:
            await job()
        except Exception:
            log.exception("job %s failed", getattr(job, "__name__", job))
        finally:
            if task is not None:
                self._jobs.discard(task)

    async def poll(self) -> None:
        """Ingest what is new in the configured sources whose backoff has passed."""
        ingestor = Ingestor(self.store, poll_minutes=self.config.settings.poll_minutes, workers=1)
        report = await asyncio.to_thread(ingestor.poll_due, list(self.config.settings.sources))
        log.info("poll: %s", report.line())
        for where, reason in report.errors:
            log.warning("poll: %s: %s", where, reason)

    async def queue_due(self) -> int:
        """Compose and queue every digest whose time has come; returns how many chats got one."""
        now = self.clock()
        queued = 0
        composed: dict[tuple[Any, ...], Any] = {}  # chats with the same day, zone and filter share one
        for chat, subscription in chat_store.subscribed_chats(self.store):
            adapter = self.adapters.get(chat.platform)
            if adapter is None:
                continue
            day = self.due_day(chat, now)
            if day is None or outbox.has_digest(self.store, chat.id, day):
                continue
            zone = ZoneInfo(chat.timezone or self.config.timezone)
            key = (day, zone.key, subscription.filter, chat.platform, chat.language)
            if key not in composed:
                digest = await asyncio.to_thread(compose_daily, self.store, day, zone, digest_filter=subscription.filter)
                composed[key] = [] if digest.empty else adapter.digest_parts(digest, chat.language)
            parts = composed[key]
            if outbox.enqueue(self.store, chat.id, day, parts, now):
                queued += 1
                log.info("chat %s:%s: digest of %s queued, %d part(s)", chat.platform, chat.chat_ref, day, len(parts))
            elif not parts:
                log.info("chat %s:%s: nothing new on %s, no digest", chat.platform, chat.chat_ref, day)
        if queued:
            await self.drain()
        return queued

    def due_day(self, chat: Chat, now: datetime) -> date | None:
        """The chat's local date, when its digest time has passed today."""
        local = now.astimezone(ZoneInfo(chat.timezone or self.config.timezone))
        hour, minute = (int(x) for x in (chat.digest_time or self.config.digest_time).split(":"))
        return local.date() if (local.hour, local.minute) >= (hour, minute) else None

    async def drain(self) -> int:
        """Send every claimable part, chats side by side, each chat's parts in order."""
        async with self._draining:
            sent = 0
            while claimed := outbox.claim(self.store, self.clock()):
                by_chat: defaultdict[int, list[outbox.Delivery]] = defaultdict(list)
                for delivery in claimed:
                    by_chat[delivery.chat_id].append(delivery)
                results = await asyncio.gather(*(self._send_chat(c, d) for c, d in by_chat.items()))
                sent += sum(results)
                if not sum(results):
                    break  # all waiting for a retry time
            return sent

    async def _send_chat(self, chat_id: int, parts: list[outbox.Delivery]) -> int:
        chat = chat_store.get_chat(self.store, chat_id)
        adapter = self.adapters.get(chat.platform) if chat else None
        if chat is None or adapter is None or not chat.active:
            return 0
        sent = 0
        for delivery in parts:
            while True:
                await self.pacer.wait(chat.chat_ref, chat.kind in ("group", "supergroup", "channel"))
                try:
                    message_id = await adapter.send(chat.chat_ref, delivery.payload)
                except RetryAfter as exc:  # wait exactly as long as asked, then try again
                    log.warning("chat %s:%s: 429, retry after %g s", chat.platform, chat.chat_ref, exc.seconds)
                    self.pacer.pause(exc.seconds)
                    continue
                except ChatMigrated as exc:
                    log.info("chat %s:%s: migrated to %s", chat.platform, chat.chat_ref, exc.new_ref)
                    chat = chat_store.update_chat(self.store, chat, chat_ref=exc.new_ref)
                    continue
                except ChatGone as exc:
                    log.warning("chat %s:%s: %s; deactivated", chat.platform, chat.chat_ref, exc)
                    chat_store.update_chat(self.store, chat, active=False)
                    outbox.give_up(self.store, chat.id, str(exc))
                    return sent
                except SendError as exc:
                    log.warning("chat %s:%s: part %d not sent: %s", chat.platform, chat.chat_ref, delivery.part, exc)
                    if delivery.attempts >= MAX_ATTEMPTS:
                        outbox.give_up(self.store, chat.id, str(exc))
                    else:
                        outbox.retry_at(self.store, delivery.id, self.clock() + timedelta(minutes=delivery.attempts), str(exc))
                    return sent
                # in a thread: the commit must not hold up the other chats' sends
                await asyncio.to_thread(outbox.mark_sent, self.store, delivery.id, message_id, self.clock())
                sent += 1
                break
        return sent

    def health(self) -> dict[str, Any]:
        """The store's and each adapter's state, for /healthz."""
        try:
            self.store.count_articles()
            store_state: dict[str, Any] = {"ok": True, "dialect": self.store.dialect}
        except Exception as exc:  # the health check reports, never raises
            store_state = {"ok": False, "error": str(exc).splitlines()[0]}
        adapters = {name: adapter.health() for name, adapter in self.adapters.items()}
        ok = store_state["ok"] and all(a.get("ok") for a in adapters.values())
        return {"ok": ok, "store": store_state, "adapters": adapters, "scheduler": self.scheduler.running}
