"""Delivery: the decision table, one pacer per platform, the bound on sends in flight,
leases renewed while a send takes long and handed back when the drain stops; through
in-memory platforms (real objects implementing the port) and a real store."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from bot import chats as chat_store
from bot import outbox
from bot.adapter import FailureKind, PacingLimits, SendFailure
from bot.chats import Chat
from bot.config import BotConfig
from bot.console import ConsoleAdapter
from bot.delivery import (DELIVERY_CONCURRENCY, MAX_ATTEMPTS, MAX_CLAIM, UNAUTHORIZED_RECHECK, Action, Decision, Delivery, claim_size,
                          decide, retry_delay)
from bot.errors import ErrorReporter
from bot.router import Router
from bot.runtime import Runtime
from bot.slack import SlackAdapter
from bot.telegram import TelegramAdapter
from digest.compose import DailyDigest
from digest.errors import DigestError
from digest.schema import deliveries
from digest.settings import Settings
from digest.store import Store

T0 = datetime(2021, 4, 20, 1, 0, tzinfo=timezone.utc)
S = timedelta(seconds=1)
NO_LIMITS = PacingLimits()
RATE, TRANSIENT, GONE, MOVED, REJECTED = (FailureKind.RATE_LIMITED, FailureKind.TRANSIENT, FailureKind.CHAT_GONE,
                                          FailureKind.MOVED, FailureKind.REJECTED)

# -- the decision: (failure kind, the try that failed, Retry-After) -> what to do -------

TABLE = [
    (RATE, 1, 7.0, Decision(Action.WAIT, 7 * S)),
    (RATE, MAX_ATTEMPTS, 7.0, Decision(Action.WAIT, 7 * S)),  # a 429 is no failed try, even at the last
    (RATE, MAX_ATTEMPTS + 5, 0.5, Decision(Action.WAIT, 0.5 * S)),
    (RATE, 1, None, Decision(Action.WAIT, 30 * S)),  # no Retry-After: the first backoff
    (TRANSIENT, 1, None, Decision(Action.RETRY, 30 * S)),
    (TRANSIENT, 2, None, Decision(Action.RETRY, 60 * S)),
    (TRANSIENT, 7, None, Decision(Action.RETRY, timedelta(minutes=32))),
    (TRANSIENT, 8, None, Decision(Action.RETRY, timedelta(hours=1))),  # 64 minutes, capped
    (TRANSIENT, MAX_ATTEMPTS - 1, None, Decision(Action.RETRY, timedelta(hours=1))),
    (TRANSIENT, MAX_ATTEMPTS, None, Decision(Action.GIVE_UP_CHAT)),
    (TRANSIENT, MAX_ATTEMPTS + 1, None, Decision(Action.GIVE_UP_CHAT)),
    (GONE, 1, None, Decision(Action.DEACTIVATE)),
    (GONE, MAX_ATTEMPTS, None, Decision(Action.DEACTIVATE)),
    (MOVED, 1, None, Decision(Action.MOVE)),
    (MOVED, MAX_ATTEMPTS, None, Decision(Action.MOVE)),
    (REJECTED, 1, None, Decision(Action.GIVE_UP_PART)),  # a 400 is not tried twelve times
    (REJECTED, MAX_ATTEMPTS, None, Decision(Action.GIVE_UP_PART)),
    # a refused token says nothing of the chat: nothing is given up, however long it lasts
    (FailureKind.UNAUTHORIZED, 1, None, Decision(Action.SUSPEND, UNAUTHORIZED_RECHECK)),
    (FailureKind.UNAUTHORIZED, MAX_ATTEMPTS + 5, 3.0, Decision(Action.SUSPEND, UNAUTHORIZED_RECHECK)),
]


@pytest.mark.parametrize(("kind", "attempts", "retry_after", "decision"), TABLE)
def test_the_decision_table(kind: FailureKind, attempts: int, retry_after: float | None, decision: Decision) -> None:
    assert decide(kind, attempts, retry_after) == decision


def test_the_table_covers_every_kind_and_a_failing_part_is_tried_for_about_six_hours() -> None:
    assert {kind for kind, *_ in TABLE} == set(FailureKind)
    waits = [retry_delay(n) for n in range(1, MAX_ATTEMPTS)]  # the pauses between the 12 tries
    assert waits == sorted(waits) and max(waits) == timedelta(hours=1)
    assert timedelta(hours=5) < sum(waits, timedelta()) < timedelta(hours=7)


def test_the_lease_is_configured_and_reaches_delivery(store: Store) -> None:
    config = BotConfig.from_env({"DIGESTBOT_LEASE_SECONDS": "10"})
    assert Runtime(store, config, {}).delivery.lease == timedelta(seconds=10)
    assert BotConfig.from_env({}).lease_seconds == 45
    for bad in ("1", "soon", "9999"):
        with pytest.raises(DigestError, match="^DIGESTBOT_LEASE_SECONDS: not a number of seconds from 3 to 600"):
            BotConfig.from_env({"DIGESTBOT_LEASE_SECONDS": bad})


def test_a_moved_chat_without_its_new_ref_is_no_failure_an_adapter_can_raise() -> None:
    with pytest.raises(ValueError):
        SendFailure(MOVED, "migrated")


def test_a_claim_is_what_the_platforms_overall_limit_lets_through_in_one_lease() -> None:
    lease = timedelta(seconds=45)
    assert claim_size(PacingLimits(per_chat_seconds=1.0, overall_per_second=2), lease) == 90
    assert claim_size(TelegramAdapter.pacing, lease) == MAX_CLAIM  # 25/s for 45 s: more than the cap
    assert claim_size(SlackAdapter.pacing, lease) == MAX_CLAIM  # a chat's interval does not bound the platform
    assert claim_size(ConsoleAdapter.pacing, lease) == MAX_CLAIM  # no limits: capped
    assert claim_size(PacingLimits(overall_per_second=5), timedelta(seconds=0.1)) == 1


# -- delivering, through in-memory platforms -----------------------------------------


class InFlight:
    """Sends in flight, counted across platforms: the most there ever were."""

    def __init__(self) -> None:
        self.now = self.most = 0


class Platform:
    """A chat platform in memory: what it received, by chat and in order; the failures
    queued for a chat's next sends; a gate that holds every send while it is closed."""

    def __init__(self, name: str, pacing: PacingLimits = NO_LIMITS, in_flight: InFlight | None = None) -> None:
        self.platform = name
        self.pacing = pacing
        self.received: list[tuple[str, str]] = []
        self.tries: list[str] = []  # every chat ref a send was tried for
        self.failures: dict[str, list[SendFailure]] = {}
        self.in_flight = in_flight or InFlight()
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, chat_ref: str, payload: dict[str, Any]) -> str:
        self.in_flight.now += 1
        self.in_flight.most = max(self.in_flight.most, self.in_flight.now)
        try:
            self.tries.append(chat_ref)
            await self.gate.wait()
            await asyncio.sleep(0)
            if self.failures.get(chat_ref):
                raise self.failures[chat_ref].pop(0)
            self.received.append((chat_ref, payload["text"]))
            return f"{self.platform}-{len(self.received)}"
        finally:
            self.in_flight.now -= 1

    def texts(self, chat_ref: str) -> list[str]:
        return [text for ref, text in self.received if ref == chat_ref]


class Clock:
    """The store's time, moved by the test, and the pacers' monotonic seconds with it."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - T0).total_seconds() + 1000.0


def _delivery(store: Store, platforms: list[Platform], clock: Clock | None = None, **options: Any) -> Delivery:
    clock = clock or Clock()
    return Delivery(store, {p.platform: p for p in platforms}, ErrorReporter(BotConfig()),  # type: ignore[misc]
                    clock=clock, monotonic=clock.monotonic, **options)


def _queue(store: Store, platform: str, ref: str, parts: int = 1, day: int = 0, kind: str = "private") -> Chat:
    """A chat with a digest of `parts` parts (`<ref> <day>.<part>`) waiting in the outbox."""
    chat = chat_store.ensure_chat(store, platform, ref, kind=kind)
    end = T0 - timedelta(days=10 - day)
    digest = DailyDigest(day=date(2021, 4, 10 + day), timezone="Asia/Shanghai", start=end - timedelta(days=1),
                         end=end, sections=(), considered=0, left_out=0)
    outbox.record_digest(store, chat.id, digest, [{"text": f"{ref} {day}.{i}"} for i in range(parts)], T0)
    return chat


def _rows(store: Store, chat: Chat) -> list[Any]:
    with store.connect() as conn:
        return list(conn.execute(sa.select(deliveries).where(deliveries.c.chat_id == chat.id)
                                 .order_by(deliveries.c.id)))


def _run(coroutine_factory: Callable[[], Any]) -> Any:
    return asyncio.run(coroutine_factory())


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Yield to the drain until `condition` holds; a broken drain fails here, not hangs."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def test_at_most_the_concurrency_bound_of_sends_are_in_flight_across_platforms(store: Store) -> None:
    in_flight = InFlight()
    one, two = Platform("one", in_flight=in_flight), Platform("two", in_flight=in_flight)
    for number in range(8):
        _queue(store, "one", f"a{number}")
        _queue(store, "two", f"b{number}")

    async def scenario() -> int:
        delivery = _delivery(store, [one, two])
        for platform in (one, two):
            platform.gate.clear()
        drain = asyncio.create_task(delivery.drain())
        await _until(lambda: in_flight.now >= DELIVERY_CONCURRENCY, "every slot taken")  # any more would enter now
        for _ in range(20):
            await asyncio.sleep(0)
        for platform in (one, two):
            platform.gate.set()
        return await drain

    assert DELIVERY_CONCURRENCY == 4
    assert _run(scenario) == 16
    assert in_flight.most == DELIVERY_CONCURRENCY and len(one.received) == len(two.received) == 8


def test_the_bound_is_a_parameter_of_delivery_and_of_the_runtime(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    platform = Platform("one")
    for number in range(6):
        _queue(store, "one", f"a{number}")
    assert _run(lambda: _delivery(store, [platform], concurrency=1).drain()) == 6
    assert platform.in_flight.most == 1
    config = BotConfig(settings=Settings(sources=(str(tmp_path / "none"),)))
    console = ConsoleAdapter(Router(store, config), stdin=io.StringIO(""), stdout=io.StringIO())
    assert Runtime(store, config, {"console": console}, delivery_concurrency=2).delivery.concurrency == 2


def test_each_chats_parts_arrive_in_order_across_its_digests(store: Store) -> None:
    platform = Platform("one")
    for ref in ("x", "y", "z"):
        _queue(store, "one", ref, parts=3)
        _queue(store, "one", ref, parts=2, day=1)
    assert _run(lambda: _delivery(store, [platform]).drain()) == 15
    for ref in ("x", "y", "z"):
        assert platform.texts(ref) == [f"{ref} 0.0", f"{ref} 0.1", f"{ref} 0.2", f"{ref} 1.0", f"{ref} 1.1"]


def test_a_transient_failure_holds_the_chats_later_parts_until_its_retry(store: Store) -> None:
    platform, clock = Platform("one"), Clock()
    failing = _queue(store, "one", "x", parts=2)
    _queue(store, "one", "x", parts=1, day=1)
    _queue(store, "one", "y")
    platform.failures["x"] = [SendFailure(TRANSIENT, "500 Internal Server Error")]
    delivery = _delivery(store, [platform], clock)
    assert _run(delivery.drain) == 1 and platform.texts("y") == ["y 0.0"]
    rows = _rows(store, failing)
    assert [r.attempts for r in rows] == [1, 0, 0] and rows[0].lease_until == T0 + 30 * S
    assert rows[0].error == "500 Internal Server Error"
    assert _run(delivery.drain) == 0  # not before its time
    clock.now = T0 + 30 * S
    assert _run(delivery.drain) == 3
    assert platform.texts("x") == ["x 0.0", "x 0.1", "x 1.0"]


def test_a_part_that_keeps_failing_is_given_up_with_the_chats_other_parts(store: Store) -> None:
    platform, clock = Platform("one"), Clock()
    chat = _queue(store, "one", "x", parts=2)
    platform.failures["x"] = [SendFailure(TRANSIENT, "timed out") for _ in range(MAX_ATTEMPTS)]
    delivery = _delivery(store, [platform], clock)
    for _ in range(MAX_ATTEMPTS):
        _run(delivery.drain)
        clock.now += timedelta(hours=1)
    assert platform.tries == ["x"] * MAX_ATTEMPTS and platform.received == []
    assert [r.status for r in _rows(store, chat)] == [outbox.FAILED, outbox.FAILED]
    assert chat_store.get_chat(store, chat.id).active  # type: ignore[union-attr]  # unreachable, not gone


def test_a_rejected_part_is_tried_once_and_the_next_part_goes(store: Store) -> None:
    platform = Platform("one")
    chat = _queue(store, "one", "x", parts=2)
    platform.failures["x"] = [SendFailure(REJECTED, "Bad Request: message is too long")]
    assert _run(lambda: _delivery(store, [platform]).drain()) == 1
    assert platform.tries == ["x", "x"] and platform.texts("x") == ["x 0.1"]
    assert [r.status for r in _rows(store, chat)] == [outbox.FAILED, outbox.SENT]


def test_a_gone_chat_is_deactivated_and_a_moved_one_followed(store: Store) -> None:
    platform = Platform("one")
    gone = _queue(store, "one", "gone", parts=2)
    moved = _queue(store, "one", "old", parts=2, kind="group")
    platform.failures["gone"] = [SendFailure(GONE, "Forbidden: bot was blocked by the user")]
    platform.failures["old"] = [SendFailure(MOVED, "chat migrated to new", new_ref="new")]
    assert _run(lambda: _delivery(store, [platform]).drain()) == 2
    assert not chat_store.get_chat(store, gone.id).active  # type: ignore[union-attr]
    assert [r.status for r in _rows(store, gone)] == [outbox.FAILED, outbox.FAILED]
    assert chat_store.get_chat(store, moved.id).chat_ref == "new"  # type: ignore[union-attr]
    assert platform.texts("new") == ["old 0.0", "old 0.1"]


def test_a_429_pauses_its_own_platform_only_and_is_no_failed_try(store: Store) -> None:
    clock = Clock()
    slow, other = Platform("slow"), Platform("other")  # no pace of their own: the clock stands still
    limited = _queue(store, "slow", "x", parts=2)
    for ref in ("a", "b", "c"):
        _queue(store, "other", ref)
    slow.failures["x"] = [SendFailure(RATE, "retry after 100 s", retry_after=100)]
    delivery = _delivery(store, [slow, other], clock)
    assert _run(delivery.drain) == 3  # the other platform's parts all went, without waiting
    assert sorted(ref for ref, _ in other.received) == ["a", "b", "c"]
    assert delivery.pacers["slow"].delay("y", "private") == 100 and delivery.pacers["other"].delay("a", "private") == 0
    rows = _rows(store, limited)  # held (not waited out in the drain), and no try counted
    assert [r.attempts for r in rows] == [0, 0] and rows[0].lease_until == T0 + 100 * S
    clock.now = T0 + 100 * S
    assert _run(delivery.drain) == 2 and slow.texts("x") == ["x 0.0", "x 0.1"]


def test_refused_credentials_hold_every_part_and_deactivate_nothing(store: Store, caplog) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    down, other = Platform("down"), Platform("other")
    chats = [_queue(store, "down", ref) for ref in ("x", "y", "z")]
    _queue(store, "other", "a")
    for ref in ("x", "y", "z"):  # a revoked token: every send of the platform is refused
        down.failures[ref] = [SendFailure(FailureKind.UNAUTHORIZED, "invalid_auth") for _ in range(10)]
    delivery = _delivery(store, [down, other], clock)
    for step in range(2):  # the first drain, and the one when the platform is tried again
        clock.now = T0 + step * UNAUTHORIZED_RECHECK
        assert _run(delivery.drain) == (1 if step == 0 else 0) and other.texts("a")  # the other platform goes on
        rows = [row for chat in chats for row in _rows(store, chat)]
        assert {(r.status, r.attempts) for r in rows} == {(outbox.PENDING, 0)}  # nothing counted, nothing lost
        assert all(chat_store.get_chat(store, chat.id).active for chat in chats)  # type: ignore[union-attr]
        assert down.tries and len(down.tries) <= 3 * (step + 1) and not down.received
    down.failures.clear()  # the operator fixed the token
    clock.now = T0 + 2 * UNAUTHORIZED_RECHECK
    assert _run(delivery.drain) == 3 and sorted(ref for ref, _ in down.received) == ["x", "y", "z"]
    refused = [r for r in caplog.records if "refuses our credentials" in r.getMessage()]
    assert len(refused) == 1 and any("sending again" in r.getMessage() for r in caplog.records)


def test_a_short_429_is_waited_out_within_the_drain(store: Store) -> None:
    platform = Platform("one")
    chat = _queue(store, "one", "x")
    platform.failures["x"] = [SendFailure(RATE, "retry after 0.05 s", retry_after=0.05)]
    delivery = Delivery(store, {"one": platform}, ErrorReporter(BotConfig()))  # type: ignore[dict-item]
    assert _run(delivery.drain) == 1 and platform.tries == ["x", "x"]
    assert [(r.status, r.attempts) for r in _rows(store, chat)] == [(outbox.SENT, 0)]


def test_a_send_that_raises_what_the_adapter_did_not_map_is_reported_and_retried(store: Store, caplog) -> None:  # type: ignore[no-untyped-def]
    platform = Platform("one")
    chat = _queue(store, "one", "x")
    platform.failures["x"] = [RuntimeError("adapter bug")]  # type: ignore[list-item]
    assert _run(lambda: _delivery(store, [platform]).drain()) == 0
    (row,) = _rows(store, chat)
    assert row.status == outbox.PENDING and row.attempts == 1 and row.lease_until == T0 + 30 * S
    assert any("adapter bug" in r.getMessage() and "one:x" in r.getMessage() for r in caplog.records)


def test_a_long_send_keeps_its_lease_and_a_stopped_drain_hands_its_parts_back(store: Store) -> None:
    platform, clock = Platform("one"), Clock()
    chat = _queue(store, "one", "x", parts=2)
    lease = timedelta(seconds=0.3)  # renewed every 0.1 s of real time, at the store's time

    async def scenario() -> None:
        delivery = _delivery(store, [platform], clock, lease=lease)
        platform.gate.clear()
        drain = asyncio.create_task(delivery.drain())
        await _until(lambda: bool(platform.tries), "the first send")
        clock.now = T0 + timedelta(minutes=10)  # long past the first lease
        await _until(lambda: _rows(store, chat)[0].lease_until == clock.now + lease, "the lease renewed")
        assert outbox.claim(store, clock.now) == []  # another process finds the parts held
        drain.cancel()  # the process stops with part 0 in flight, part 1 untried
        with pytest.raises(asyncio.CancelledError):
            await drain

    _run(scenario)
    # a restarted process finds both free at once (the one in flight may be sent again)
    assert [p.payload["text"] for p in outbox.claim(store, clock.now)] == ["x 0.0", "x 0.1"]
