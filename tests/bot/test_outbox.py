"""The outbox's leases, on SQLite and on PostgreSQL: a claim holds its parts until the
lease ends, a renewal keeps them (and never takes back what another process claimed),
a sent part is never claimed again, and a chat's parts are claimed in order."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from bot import chats as chat_store
from bot import outbox
from bot.chats import Chat
from digest.compose import DailyDigest
from digest.schema import deliveries
from digest.store import Store

T0 = datetime(2021, 4, 20, 1, 0, tzinfo=timezone.utc)
LEASE = outbox.LEASE


def _queue(store: Store, chat: Chat, parts: int, day: int = 0) -> None:
    """Record a digest of `parts` parts for the chat, its `day`-th (each has its own window)."""
    end = T0 - timedelta(days=10 - day)
    digest = DailyDigest(day=date(2021, 4, 10 + day), timezone="Asia/Shanghai", start=end - timedelta(days=1),
                         end=end, sections=(), considered=0, left_out=0)
    assert outbox.record_digest(store, chat.id, digest, [{"text": f"{chat.chat_ref} {day}.{i}"} for i in range(parts)],
                                T0) is not None


def _texts(parts: list[outbox.Part]) -> list[str]:
    return [part.payload["text"] for part in parts]


def _row(store: Store, part_id: int) -> sa.Row:  # type: ignore[type-arg]
    with store.connect() as conn:
        return conn.execute(sa.select(deliveries).where(deliveries.c.id == part_id)).one()


def test_a_claim_holds_its_parts_until_the_lease_ends_which_is_within_a_minute(store: Store) -> None:
    chat = chat_store.ensure_chat(store, "telegram", "1")
    _queue(store, chat, 2)
    claimed = outbox.claim(store, T0)
    assert _texts(claimed) == ["1 0.0", "1 0.1"]
    assert {p.attempts for p in claimed} == {1} and {p.lease_until for p in claimed} == {T0 + LEASE}
    assert outbox.claim(store, T0 + LEASE - timedelta(seconds=1)) == []  # another process finds nothing
    assert LEASE <= timedelta(minutes=1)
    again = outbox.claim(store, T0 + LEASE)  # the holder died: free again
    assert _texts(again) == ["1 0.0", "1 0.1"] and {p.attempts for p in again} == {1}  # claims count no try


def test_a_renewed_lease_keeps_its_parts_and_a_released_part_is_free_at_once(store: Store) -> None:
    chat = chat_store.ensure_chat(store, "telegram", "1")
    _queue(store, chat, 2)
    first, second = outbox.claim(store, T0)
    later = T0 + timedelta(seconds=30)
    assert outbox.renew(store, {first.id, second.id}, T0 + LEASE, later + LEASE) == {first.id, second.id}
    assert outbox.claim(store, T0 + LEASE) == []  # past the first lease: still held
    outbox.release(store, {first.id, second.id}, T0 + LEASE)  # not the lease they hold now: nothing happens
    assert outbox.claim(store, later) == []
    outbox.release(store, {first.id, second.id}, later + LEASE)
    assert _texts(outbox.claim(store, later)) == ["1 0.0", "1 0.1"]  # a restarted process resumes at once


def test_a_renewal_never_takes_back_a_part_another_process_claimed(store: Store) -> None:
    chat = chat_store.ensure_chat(store, "telegram", "1")
    _queue(store, chat, 1)
    (mine,) = outbox.claim(store, T0)
    taken = T0 + LEASE + timedelta(seconds=5)  # our renewal came too late: another process claimed it
    (theirs,) = outbox.claim(store, taken)
    assert theirs.id == mine.id
    assert outbox.renew(store, {mine.id}, mine.lease_until, taken + timedelta(seconds=10)) == set()
    assert _row(store, mine.id).lease_until == theirs.lease_until


def test_a_sent_part_is_never_claimed_again(store: Store) -> None:
    chat = chat_store.ensure_chat(store, "telegram", "1")
    _queue(store, chat, 2)
    first, second = outbox.claim(store, T0)
    outbox.mark_sent(store, first.id, "m1", T0)
    assert outbox.renew(store, {first.id, second.id}, T0 + LEASE, T0 + 2 * LEASE) == {second.id}
    outbox.mark_sent(store, second.id, "m2", T0)
    assert outbox.claim(store, T0 + timedelta(days=1)) == []
    outbox.release(store, {first.id, second.id}, T0 + 2 * LEASE)
    assert outbox.claim(store, T0 + timedelta(days=1)) == []
    assert [(part, message) for _, part, message in outbox.sent_parts(store, chat.id)] == [(0, "m1"), (1, "m2")]


def test_a_chats_parts_wait_behind_its_part_to_retry_and_a_failed_try_is_counted(store: Store) -> None:
    slow, other = chat_store.ensure_chat(store, "telegram", "1"), chat_store.ensure_chat(store, "telegram", "2")
    _queue(store, slow, 2)
    _queue(store, slow, 1, day=1)  # its next digest waits too
    _queue(store, other, 1)
    claimed = outbox.claim(store, T0)
    assert _texts(claimed) == ["1 0.0", "1 0.1", "1 1.0", "2 0.0"]
    outbox.retry_at(store, claimed[0], T0 + timedelta(seconds=30), "500")
    outbox.release(store, {p.id for p in claimed[1:]}, T0 + LEASE)
    assert _texts(outbox.claim(store, T0 + timedelta(seconds=1))) == ["2 0.0"]
    retried = outbox.claim(store, T0 + timedelta(seconds=30))
    assert _texts(retried) == ["1 0.0", "1 0.1", "1 1.0"]
    assert [p.attempts for p in retried] == [2, 1, 1]  # only the part that failed counts a try
    assert _row(store, retried[0].id).error == "500"


def test_a_claim_is_oldest_first_up_to_its_limit_and_never_skips_ahead_within_a_chat(store: Store) -> None:
    chat = chat_store.ensure_chat(store, "telegram", "1")
    _queue(store, chat, 3)
    assert _texts(outbox.claim(store, T0, limit=2)) == ["1 0.0", "1 0.1"]
    assert outbox.claim(store, T0) == []  # the third waits behind the two still leased
    assert _texts(outbox.claim(store, T0 + LEASE)) == ["1 0.0", "1 0.1", "1 0.2"]


def test_a_claim_takes_one_platforms_active_chats_only(store: Store) -> None:
    telegram, console = chat_store.ensure_chat(store, "telegram", "1"), chat_store.ensure_chat(store, "console", "local")
    gone = chat_store.update_chat(store, chat_store.ensure_chat(store, "telegram", "2"), active=False)
    for chat in (telegram, console, gone):
        _queue(store, chat, 1)
    assert _texts(outbox.claim(store, T0, platform="console")) == ["local 0.0"]
    assert _texts(outbox.claim(store, T0, platform="telegram")) == ["1 0.0"]
    assert outbox.claim(store, T0 + timedelta(days=1), platform="slack") == []


def test_a_held_part_keeps_its_tries_and_a_part_given_up_lets_the_next_go(store: Store) -> None:
    chat = chat_store.ensure_chat(store, "telegram", "1")
    _queue(store, chat, 2)
    first, second = outbox.claim(store, T0)
    outbox.hold_until(store, first.id, T0 + timedelta(seconds=100))  # the platform asked to wait
    outbox.release(store, {second.id}, T0 + LEASE)
    assert outbox.claim(store, T0 + timedelta(seconds=99)) == []
    first, second = outbox.claim(store, T0 + timedelta(seconds=100))
    assert first.attempts == 1
    outbox.give_up_part(store, first.id, "400: message is too long")
    outbox.release(store, {second.id}, second.lease_until)
    assert _texts(outbox.claim(store, T0 + timedelta(seconds=100))) == ["1 0.1"]
    assert _row(store, first.id).status == outbox.FAILED
