"""Delivery: claim parts from the outbox, pace them per platform, send them through the
adapters, and decide what each failure means.

The policy is `decide(kind, attempts)`, a pure function of the failure's kind (an
adapter maps its SDK's errors onto `FailureKind`) and of the part's tries: wait out a
429, retry later with a growing pause, give up the part or the chat's parts, deactivate
the chat, or move it. At most `concurrency` sends are in flight, and only a send holds
a slot: a part waiting for its pacer holds none, so one platform's pause never holds up
another's sends. Each platform has its own pacer, under its adapter's `pacing` limits,
and its own claims, sized to what its pacer lets through in one lease; the leases are
renewed while their parts are worked on, and handed back when the drain stops.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, TypeVar

from digest.store import Store

from . import chats as chat_store
from . import outbox
from .adapter import Adapter, FailureKind, PacingLimits, SendFailure
from .chats import Chat
from .errors import ErrorReporter
from .pacing import Pacer

log = logging.getLogger(__name__)
T = TypeVar("T")

DELIVERY_CONCURRENCY = 4  # sends in flight at once, all platforms together
MAX_ATTEMPTS = 12  # with the backoff below, a part is tried for about 6 hours
FIRST_RETRY = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
# while a platform refuses our credentials, one part tries again this often; the rest wait
UNAUTHORIZED_RECHECK = timedelta(minutes=1)
# parts claimed at once, at the most, whatever the platform's pace: a drain waits for a
# claim's slowest chat (its parts a second apart) before it claims again, so a claim must
# hold many chats; a killed process's claim is free again after one lease, whatever its size
MAX_CLAIM = 1000
_SENT, _NEXT, _STOP = "sent", "next", "stop"  # a part's outcome: sent; not sent, the next may go; stop here


class Action(Enum):
    """What delivery does after a failed send."""

    WAIT = "wait"  # pause the platform for `delay`, then send the part again; not a failed try
    SUSPEND = "suspend the platform"  # like WAIT, for a platform that refuses us: chats and parts untouched
    RETRY = "retry"  # send the part again after `delay`; a failed try
    GIVE_UP_PART = "give up the part"  # the platform will never take it; the chat's next parts go on
    GIVE_UP_CHAT = "give up the chat's parts"  # every pending part of the chat
    DEACTIVATE = "deactivate the chat"  # and give up its parts
    MOVE = "move the chat"  # to its new ref, and send the part there at once


@dataclass(frozen=True)
class Decision:
    """An action, and how long to wait before it when it is WAIT or RETRY."""

    action: Action
    delay: timedelta = timedelta(0)


def retry_delay(attempts: int) -> timedelta:
    """How long a part that failed `attempts` times waits: 30 s, 1, 2, 4… minutes, at most an hour."""
    return min(FIRST_RETRY * 2 ** max(0, attempts - 1), MAX_BACKOFF)


def decide(kind: FailureKind, attempts: int, retry_after: float | None = None) -> Decision:
    """What to do when the `attempts`-th try of a part failed with `kind`.

    A 429 waits exactly `retry_after` and is not a failed try: the platform said when it
    will take the part, so counting it would give up healthy chats in a busy fan-out.
    """
    if kind is FailureKind.RATE_LIMITED:
        return Decision(Action.WAIT, FIRST_RETRY if retry_after is None else timedelta(seconds=retry_after))
    if kind is FailureKind.TRANSIENT:
        if attempts >= MAX_ATTEMPTS:
            return Decision(Action.GIVE_UP_CHAT)
        return Decision(Action.RETRY, retry_delay(attempts))
    if kind is FailureKind.UNAUTHORIZED:
        return Decision(Action.SUSPEND, UNAUTHORIZED_RECHECK)
    if kind is FailureKind.CHAT_GONE:
        return Decision(Action.DEACTIVATE)
    if kind is FailureKind.MOVED:
        return Decision(Action.MOVE)
    return Decision(Action.GIVE_UP_PART)  # REJECTED: the same payload would be refused again


def claim_size(limits: PacingLimits, lease: timedelta) -> int:
    """How many parts to claim at once: what the platform's overall limit lets through in
    one lease, between 1 and MAX_CLAIM. A chat's own interval does not enter: a part waiting
    for it holds no send slot, so the other chats' parts go meanwhile."""
    if not limits.overall_per_second:
        return MAX_CLAIM
    return max(1, min(MAX_CLAIM, int(limits.overall_per_second * lease.total_seconds())))


@dataclass
class _Lease:
    """The parts of one claim still ours to send, and the lease they are held until."""

    until: datetime
    held: set[int] = field(default_factory=set)
    renewing: asyncio.Lock = field(default_factory=asyncio.Lock)  # one renewal at a time: each moves `until`


class Delivery:
    """Sends what the outbox holds through `adapters` (by platform), `concurrency` sends at a time."""

    def __init__(self, store: Store, adapters: Mapping[str, Adapter], reporter: ErrorReporter, *,
                 concurrency: int = DELIVERY_CONCURRENCY, lease: timedelta = outbox.LEASE,
                 clock: Callable[[], datetime] | None = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.adapters = adapters
        self.reporter = reporter
        self.concurrency = concurrency
        self.lease = lease
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.pacers = {name: Pacer(adapter.pacing, monotonic) for name, adapter in adapters.items()}
        self._slots = asyncio.Semaphore(concurrency)  # made anew by each drain, on its own event loop
        self._suspended: dict[str, str] = {}  # platform -> why it refuses us, while it does
        # Store work of its own threads: a fan-out queues a thousand chats' reads and writes
        # at once, and commands' replies (the default executor's) must not wait behind them
        self._store_threads = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery")
        self._draining = asyncio.Lock()

    async def drain(self) -> int:
        """Send every part that may go now, platforms side by side, each chat's parts in
        order; returns how many were sent."""
        async with self._draining:
            self._slots = asyncio.Semaphore(self.concurrency)
            return sum(await asyncio.gather(*(self._drain_platform(name) for name in self.adapters)))

    async def _drain_platform(self, platform: str) -> int:
        limit = claim_size(self.adapters[platform].pacing, self.lease)
        sent = 0
        while parts := await self._in_store(outbox.claim, self.store, self.clock(), limit,
                                               platform=platform, lease=self.lease):
            lease = _Lease(parts[0].lease_until, {part.id for part in parts})
            by_chat: defaultdict[int, list[outbox.Part]] = defaultdict(list)
            for part in parts:
                by_chat[part.chat_id].append(part)
            heartbeat = asyncio.create_task(self._heartbeat(platform, lease))
            try:
                results = await asyncio.gather(*(self._send_chat(platform, chat_id, chat_parts, lease)
                                                 for chat_id, chat_parts in by_chat.items()))
            finally:
                heartbeat.cancel()
                # not in a thread: this must run when the drain is cancelled too, so a
                # restarted process finds the untried parts free at once
                outbox.release(self.store, lease.held, lease.until)
            sent += sum(done for done, _ in results)
            if not any(tried for _, tried in results):
                break  # nothing could be tried (the chats are gone): the next drain looks again
        return sent

    async def _in_store(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`work(*args, **kwargs)` on delivery's own threads."""
        call = functools.partial(work, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._store_threads, call)

    async def _heartbeat(self, platform: str, lease: _Lease) -> None:
        # Renews the claim's lease three times per lease, for as long as its parts are worked on.
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            await self._renew(platform, lease)

    async def _renew(self, platform: str, lease: _Lease) -> None:
        """Extend the claim's lease; the parts another claimer took meanwhile leave `held`."""
        async with lease.renewing:
            until, held = self.clock() + self.lease, set(lease.held)
            try:
                kept = await self._in_store(outbox.renew, self.store, held, lease.until, until)
            except Exception as exc:  # the lease then runs out, and the parts are claimed again
                self.reporter.report(f"delivery ({platform}): renewing leases", exc)
                return
            lost = (held - kept) & lease.held  # not renewed, yet not done either
            lease.held -= lost
            lease.until = until
            if lost:
                log.warning("delivery (%s): the lease of %d part(s) ran out before it was renewed; "
                            "another process may send them", platform, len(lost))

    async def _send_chat(self, platform: str, chat_id: int, parts: list[outbox.Part],
                         lease: _Lease) -> tuple[int, bool]:
        """Send a chat's claimed parts in order, until one must wait; returns (sent, tried any)."""
        chat = await self._in_store(chat_store.get_chat, self.store, chat_id)
        if chat is None or not chat.active:
            return 0, False
        sent, tried = 0, False
        try:
            for part in parts:
                if part.id not in lease.held:
                    break  # its lease ran out: another process has the chat's parts now
                tried = True
                chat, outcome = await self._send_part(platform, chat, part, lease)
                sent += outcome == _SENT
                if outcome == _STOP:
                    break
        except Exception as exc:  # one chat's failure must not hold up the others' parts
            self.reporter.report(f"delivery ({platform})", exc, chat=f"{chat.platform}:{chat.chat_ref}")
        return sent, tried

    async def _send_part(self, platform: str, chat: Chat, part: outbox.Part, lease: _Lease) -> tuple[Chat, str]:
        """Send one part, following the decisions on its failures; returns the chat (it may
        have moved) and whether the part was sent, the chat's next part may go, or not."""
        adapter, pacer = self.adapters[platform], self.pacers[platform]
        where = f"chat {chat.platform}:{chat.chat_ref}"
        while True:
            result = await self._try(adapter, pacer, chat, part, lease)
            if result is None:
                return chat, _STOP  # handed back until its platform's pause ends
            if isinstance(result, str):
                if self._suspended.pop(platform, None) is not None:
                    log.warning("delivery (%s): sending again", platform)
                lease.held.discard(part.id)
                await self._in_store(outbox.mark_sent, self.store, part.id, result, self.clock())
                return chat, _SENT
            decision = decide(result.kind, part.attempts, result.retry_after)
            action, reason = decision.action, str(result)
            if action is Action.WAIT:
                log.warning("%s: 429, retry after %g s", where, decision.delay.total_seconds())
                pacer.pause(decision.delay.total_seconds())
                continue
            if action is Action.SUSPEND:
                if platform not in self._suspended:  # one line when it begins, one when it ends
                    log.error("delivery (%s): the platform refuses our credentials (%s); every part waits, "
                              "one is tried every %d s", platform, reason, decision.delay.total_seconds())
                self._suspended[platform] = reason
                pacer.pause(decision.delay.total_seconds())
                continue
            if action is Action.MOVE:
                assert result.new_ref is not None  # SendFailure requires it of a move
                log.info("%s: migrated to %s", where, result.new_ref)
                chat = await self._in_store(chat_store.update_chat, self.store, chat, chat_ref=result.new_ref)
                where = f"chat {chat.platform}:{chat.chat_ref}"
                continue
            lease.held.discard(part.id)
            if action is Action.RETRY:
                log.warning("%s: part %d not sent (attempt %d, retry in %s): %s", where, part.part, part.attempts,
                            decision.delay, reason)
                await self._in_store(outbox.retry_at, self.store, part, self.clock() + decision.delay, reason)
                return chat, _STOP
            if action is Action.GIVE_UP_PART:
                log.error("%s: part %d refused by the platform, given up: %s", where, part.part, reason)
                await self._in_store(outbox.give_up_part, self.store, part.id, reason)
                return chat, _NEXT
            if action is Action.DEACTIVATE:
                log.warning("%s: %s; deactivated", where, reason)
                chat = await self._in_store(chat_store.update_chat, self.store, chat, active=False)
            else:
                log.error("%s: part %d not sent after %d attempts, given up: %s", where, part.part, part.attempts,
                          reason)
            await self._in_store(outbox.give_up, self.store, chat.id, reason)
            return chat, _STOP

    async def _still_ours(self, chat: Chat, part: outbox.Part, lease: _Lease) -> bool:
        """Whether the part's lease still holds: a wait (a 429's, the pacer's, a send slot's)
        may outlive it when renewing failed or came late, and the part may then be another
        claimer's. A lease past its time is renewed here if no one took it meanwhile."""
        if part.id in lease.held and self.clock() >= lease.until:
            await self._renew(chat.platform, lease)
        if part.id in lease.held and self.clock() < lease.until:
            return True
        log.warning("chat %s:%s: part %d not sent here: its lease ran out while it waited, and whoever "
                    "claims it next sends it", chat.platform, chat.chat_ref, part.part)
        lease.held.discard(part.id)
        return False

    async def _try(self, adapter: Adapter, pacer: Pacer, chat: Chat, part: outbox.Part,
                   lease: _Lease) -> str | SendFailure | None:
        """Send the part once its pacer lets it: the message id, the failure, or None when
        the pacer asks for longer than a lease (the part is then held until it may go)."""
        while True:
            wait = pacer.delay(chat.chat_ref, chat.kind)
            if wait > self.lease.total_seconds():  # holding it would hold up the whole claim
                # one line per part only when the cause was not logged already (a suspended platform)
                log.log(logging.DEBUG if adapter.platform in self._suspended else logging.INFO,
                        "chat %s:%s: part %d held %.0f s (its platform asked to wait)", chat.platform,
                        chat.chat_ref, part.part, wait)
                lease.held.discard(part.id)
                await self._in_store(outbox.hold_until, self.store, part.id,
                                        self.clock() + timedelta(seconds=wait))
                return None
            if wait > 0:
                await asyncio.sleep(wait)
                if not await self._still_ours(chat, part, lease):
                    return None  # another claimer may have it now: sending it too would post it twice
                continue
            async with self._slots:
                if not await self._still_ours(chat, part, lease):  # the wait for a slot outlived the lease
                    return None
                if not pacer.take(chat.chat_ref, chat.kind):
                    continue  # another send took this moment while we waited for a slot
                try:
                    return await adapter.send(chat.chat_ref, part.payload)
                except SendFailure as failure:
                    return failure
                except Exception as exc:  # an error the adapter did not map: a bug, reported and retried
                    self.reporter.report(f"delivery ({adapter.platform}): send", exc,
                                         chat=f"{chat.platform}:{chat.chat_ref}")
                    return SendFailure(FailureKind.TRANSIENT, f"{type(exc).__name__}: {exc}")

