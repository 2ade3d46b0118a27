"""The bot's three recurring jobs: poll the sources, queue the digests that are due, and
drain the outbox through the adapters (bot/delivery.py). APScheduler 3 runs them on the bot's event loop,
each from the start on its own interval; `health()` shows when each last ran, how it
went and when it runs next, so a job that stopped is seen.

Each process runs its own scheduler with an in-memory job store (a shared job store
would fire twice); what a job does is decided in the database, so several processes on
one PostgreSQL store do each piece of work once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from digest import leases
from digest.compose import DailyDigest, DigestFilter, Window, compose
from digest.ingest import Ingestor
from digest.store import Store

from . import chats as chat_store
from . import outbox
from .adapter import Adapter
from .chats import Chat, Subscription
from .config import BotConfig
from .delivery import DELIVERY_CONCURRENCY, Delivery
from .errors import ErrorReporter
from .schedule import due_digest

log = logging.getLogger(__name__)

DRAIN_SECONDS = 2
# how often due digests are looked for: one read of the subscribed chats; with the 30 s
# grace (bot/schedule.py) a digest is composed within 50 s of its time, not 90
QUEUE_SECONDS = 20
_FAILING_RUNS = 3  # a job that failed this many times in a row is unhealthy


@dataclass
class JobState:
    """How a recurring job has been going, for /healthz."""

    every: float  # seconds between runs
    runs: int = 0
    failures_in_a_row: int = 0
    last_start: float | None = None  # time.time()
    last_error: str | None = None
    running: bool = False


class Runtime:
    """Owns the scheduler and the jobs; adapters are registered by platform."""

    def __init__(self, store: Store, config: BotConfig, adapters: dict[str, Adapter], *,
                 clock: Callable[[], datetime] | None = None, reporter: ErrorReporter | None = None,
                 delivery_concurrency: int = DELIVERY_CONCURRENCY) -> None:
        self.store = store
        self.config = config
        self.adapters = adapters
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.reporter = reporter or ErrorReporter(config)  # without one, failures are only logged
        # through a lambda: tests move the runtime's clock by replacing it
        self.delivery = Delivery(store, adapters, self.reporter, concurrency=delivery_concurrency,
                                 lease=timedelta(seconds=config.lease_seconds),
                                 clock=lambda: self.clock())
        self.scheduler = AsyncIOScheduler(timezone=timezone.utc)
        self.jobs: dict[str, JobState] = {
            "poll": JobState(self.config.settings.poll_minutes * 60.0),
            "queue_due": JobState(QUEUE_SECONDS),
            "drain": JobState(DRAIN_SECONDS),
        }
        self._tasks: dict[asyncio.Task[Any], str] = {}  # the runs in progress, by job name
        self._stopping = threading.Event()  # read by a poll's thread between sources and articles
        self.holder = leases.holder_id()  # this process, as the store's leases name it
        self._unknown_zones: set[int] = set()  # chats whose zone was reported unknown

    def start(self) -> None:
        """Schedule the jobs and start the scheduler (the caller has started the first poll).

        Every job gets its first run time: APScheduler 3 adds a job whose `next_run_time`
        is None *paused*, and a paused job never runs.
        """
        now = datetime.now(timezone.utc)
        first = {"poll": now + timedelta(seconds=self.jobs["poll"].every), "queue_due": now + timedelta(seconds=1),
                 "drain": now + timedelta(seconds=DRAIN_SECONDS)}
        for name, state in self.jobs.items():
            self.scheduler.add_job(self.run_job, "interval", args=[name], id=name, next_run_time=first[name],
                                   seconds=state.every, max_instances=1, coalesce=True, misfire_grace_time=None)
        self.scheduler.start()

    async def stop(self, grace: float = 30.0) -> None:
        """Stop scheduling and let a running job finish (up to `grace` seconds): the
        scheduler's own shutdown would cancel it mid-way. A poll is not waited for: it
        stores each article in its own transaction, and a slow feed may hold it a minute."""
        self._stopping.set()
        if self.scheduler.running:
            self.scheduler.pause()
        for task, name in list(self._tasks.items()):
            if name == "poll":  # its thread leaves at the next source or article by itself
                task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            if pending:
                log.warning("%d job(s) still running after %g s: cancelled", len(pending), grace)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def run_job(self, name: str) -> None:
        """Run one job once, recording how it went; a failure is reported and the job
        runs again at its next time. Shutdown waits for a run in progress."""
        job: Callable[[], Awaitable[Any]] = getattr(self, name)
        state = self.jobs[name]
        if state.running:  # the first poll, run before the scheduler, may still be going
            log.info("job %s: still running since %s; this run is skipped", name, _iso(state.last_start))
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks[task] = name
        state.running, state.last_start = True, time.time()
        try:
            await job()
        except Exception as exc:
            state.failures_in_a_row += 1
            state.last_error = type(exc).__name__  # /healthz is public: the message, which may name a host, is logged
            self.reporter.report(f"job {name}", exc)
        else:
            state.failures_in_a_row, state.last_error = 0, None
        finally:
            state.runs += 1
            state.running = False
            if task is not None:
                self._tasks.pop(task, None)

    async def poll(self) -> None:
        """Ingest what is new in the configured sources: all of them at the first run (a
        restart reads what arrived while the bot was down), then those whose time has come."""
        ingestor = Ingestor(self.store, poll_minutes=self.config.settings.poll_minutes, workers=1,
                            should_stop=self._stopping.is_set, holder=self.holder, keep_missing=True)
        read = ingestor.poll_due if self.jobs["poll"].runs else ingestor.ingest
        report = await _in_daemon_thread(read, list(self.config.settings.sources))
        log.info("poll: %s", report.line())
        for where, reason in report.errors:
            log.warning("poll: %s: %s", where, reason)

    async def queue_due(self) -> int:
        """Compose and record every digest whose time has come; returns how many chats got one."""
        queued = await asyncio.to_thread(self._queue_due, self.clock())
        if queued:
            await self.drain()
        return queued

    def _queue_due(self, now: datetime) -> int:
        # In a thread: composing reads the store. Chats whose digests cover the same window
        # with the same filter share one composition, unless one already had a story in it.
        queued = 0
        shared: dict[tuple[Any, ...], tuple[DailyDigest, list[dict[str, Any]]]] = {}
        for chat, subscription in chat_store.subscribed_chats(self.store):
            adapter = self.adapters.get(chat.platform)
            if adapter is None:
                continue
            try:
                queued += self._queue_chat(chat, subscription, adapter, now, shared)
            except Exception as exc:  # one chat's failure must not hold up the others' digests
                self.reporter.report("digest", exc, chat=f"{chat.platform}:{chat.chat_ref}")
        return queued

    def _queue_chat(self, chat: Chat, subscription: Subscription, adapter: Adapter, now: datetime,
                    shared: dict[tuple[Any, ...], tuple[DailyDigest, list[dict[str, Any]]]]) -> int:
        zone = chat_store.zone_of(chat, self.config.timezone)
        if chat.timezone and zone.key != chat.timezone and chat.id not in self._unknown_zones:
            self._unknown_zones.add(chat.id)
            log.warning("chat %s:%s: time zone %r is unknown to tzdata; its digest follows %s",
                        chat.platform, chat.chat_ref, chat.timezone, zone.key)
        due = due_digest(now=now, at=chat.digest_time or self.config.digest_time, zone=zone,
                         digested_until=subscription.digested_until,
                         active_since=subscription.active_since or now)
        if due is None:
            return 0
        key = (due.window, subscription.filter, chat.platform, chat.language)
        if key not in shared:
            shared[key] = self._compose(due.window, subscription.filter, adapter, chat.language)
        digest, parts = shared[key]
        had = outbox.already_had(self.store, chat.id, digest.related)
        if had:  # this chat already had some of these stories: its own digest
            digest, parts = self._compose(due.window, subscription.filter, adapter, chat.language, had)
        where = f"chat {chat.platform}:{chat.chat_ref}"
        if outbox.record_digest(self.store, chat.id, digest, parts, now) is None:
            return 0  # another process (or an earlier run) recorded it
        if digest.empty:
            if digest.window_total:
                log.info("%s: nothing new for the digest of %s: none of %d new article(s) matches its filter",
                         where, due.digest_date, digest.window_total)
            else:
                log.info("%s: nothing new for the digest of %s", where, due.digest_date)
            return 0
        log.info("%s: digest of %s queued: %d stories, %d part(s)", where, due.digest_date, digest.considered, len(parts))
        return 1

    def _compose(self, window: Window, wanted: DigestFilter, adapter: Adapter, language: str,
                 had: set[int] | None = None) -> tuple[DailyDigest, list[dict[str, Any]]]:
        digest = compose(self.store, window, digest_filter=wanted, already_had=(lambda _: had) if had else None)
        return digest, ([] if digest.empty else adapter.digest_parts(digest, language))

    async def drain(self) -> int:
        """Send every part of the outbox that may go now (bot/delivery.py); returns how many went."""
        return await self.delivery.drain()

    def health(self) -> dict[str, Any]:
        """The store's, each job's and each adapter's state, for /healthz."""
        try:
            self.store.count_articles()
            store_state: dict[str, Any] = {"ok": True, "dialect": self.store.dialect}
        except Exception as exc:  # the health check reports, never raises
            # the driver's message names the database host (SQLite's, a path): the log has it, not /healthz
            log.warning("health: the store did not answer: %s", str(exc).splitlines()[0] if str(exc) else "")
            store_state = {"ok": False, "error": type(exc).__name__}
        adapters = {name: adapter.health() for name, adapter in self.adapters.items()}
        jobs = {name: self._job_health(name, state) for name, state in self.jobs.items()}
        ok = (store_state["ok"] and self.scheduler.running and all(a.get("ok") for a in adapters.values())
              and all(j["ok"] for j in jobs.values()))
        return {"ok": ok, "store": store_state, "scheduler": self.scheduler.running, "jobs": jobs, "adapters": adapters}

    def _job_health(self, name: str, state: JobState) -> dict[str, Any]:
        # A job is well when it is scheduled, not overdue and not failing run after run.
        job = self.scheduler.get_job(name) if self.scheduler.running else None
        next_run = job.next_run_time if job is not None else None
        now = time.time()
        overdue = next_run is None or next_run.timestamp() < now - max(state.every, 60)
        stuck = state.running and state.last_start is not None and now - state.last_start > max(4 * state.every, 600)
        return {
            "ok": not overdue and not stuck and state.failures_in_a_row < _FAILING_RUNS,
            "last_run": _iso(state.last_start),
            "outcome": "running" if state.running else ("never run" if not state.runs else (
                "ok" if state.last_error is None else f"failed: {state.last_error}")),
            "failures_in_a_row": state.failures_in_a_row,
            "next_run": next_run.astimezone(timezone.utc).isoformat(timespec="seconds") if next_run else None,
        }


async def _in_daemon_thread(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)` in a daemon thread of its own: asyncio's executor threads are
    waited for at exit, so a fetch in one would hold a stopping bot until it ends."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def target() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (function(*args), None)
        except BaseException as exc:  # noqa: B036 (handed to the awaiting task, which raises it)
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop has closed: the bot stopped without waiting for this
            pass

    threading.Thread(target=target, name=f"digestbot-{getattr(function, '__name__', 'job')}", daemon=True).start()
    return await future


def _iso(stamp: float | None) -> str | None:
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds") if stamp is not None else None
