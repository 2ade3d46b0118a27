"""The delivery outbox: a digest becomes rows keyed (chat, date, part), each claimed with
a lease, sent, and marked sent with the platform's message id.

The key makes enqueueing idempotent (a second process, or a restart, inserts nothing);
the lease makes a crash harmless (an unmarked row is claimed again when it expires);
a row marked sent is never claimed again. On PostgreSQL, rows are claimed with
`FOR UPDATE SKIP LOCKED`, so several bot processes share the work without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from digest.schema import deliveries
from digest.store import Store, insert

PENDING, SENT, FAILED, EMPTY = "pending", "sent", "failed", "empty"
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Delivery:
    """One message part waiting to be sent."""

    id: int
    chat_id: int
    digest_date: str
    part: int
    payload: dict[str, Any]
    attempts: int


def enqueue(store: Store, chat_id: int, day: date, parts: list[dict[str, Any]], now: datetime) -> int:
    """Queue a day's digest for a chat, once; returns how many parts were new. An empty
    list records that the day had nothing to send, so it is not composed again."""
    rows = [
        {"chat_id": chat_id, "digest_date": day.isoformat(), "part": i, "payload": p, "status": PENDING,
         "attempts": 0, "created_at": now}
        for i, p in enumerate(parts)
    ] or [{"chat_id": chat_id, "digest_date": day.isoformat(), "part": 0, "payload": {}, "status": EMPTY,
           "attempts": 0, "created_at": now}]
    with store.begin() as conn:
        statement = insert(conn, deliveries).on_conflict_do_nothing(index_elements=["chat_id", "digest_date", "part"])
        result = conn.execute(statement.returning(deliveries.c.id), rows)
        return len(result.all()) if parts else 0


def has_digest(store: Store, chat_id: int, day: date) -> bool:
    """Whether the chat's digest of `day` has been queued (or found empty)."""
    with store.connect() as conn:
        found = conn.execute(
            sa.select(deliveries.c.id).where(deliveries.c.chat_id == chat_id,
                                             deliveries.c.digest_date == day.isoformat()).limit(1)
        ).first()
    return found is not None


def claim(store: Store, now: datetime, limit: int = 50) -> list[Delivery]:
    """Lease up to `limit` pending rows whose lease is free, oldest first."""
    free = sa.and_(deliveries.c.status == PENDING,
                   sa.or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until <= now))
    with store.begin() as conn:
        query = sa.select(deliveries).where(free).order_by(deliveries.c.id).limit(limit)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = conn.execute(query).all()
        if rows:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_([r.id for r in rows]))
                .values(lease_until=now + LEASE, attempts=deliveries.c.attempts + 1)
            )
    return [Delivery(r.id, r.chat_id, r.digest_date, r.part, dict(r.payload), r.attempts + 1) for r in rows]


def mark_sent(store: Store, delivery_id: int, message_id: str, now: datetime) -> None:
    """The part was delivered: never send it again."""
    with store.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.id == delivery_id)
                     .values(status=SENT, message_id=message_id, sent_at=now, lease_until=None, error=None))


def retry_at(store: Store, delivery_id: int, when: datetime, error: str) -> None:
    """Send the part again, not before `when`."""
    with store.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(lease_until=when, error=error))


def give_up(store: Store, chat_id: int, error: str) -> None:
    """Stop sending anything pending to a chat (it blocked the bot, or is gone)."""
    with store.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.chat_id == chat_id, deliveries.c.status == PENDING)
                     .values(status=FAILED, error=error, lease_until=None))


def sent_parts(store: Store, chat_id: int) -> list[tuple[str, int, str]]:
    """(date, part, message id) of every part sent to a chat, in order."""
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(deliveries.c.digest_date, deliveries.c.part, deliveries.c.message_id)
            .where(deliveries.c.chat_id == chat_id, deliveries.c.status == SENT)
            .order_by(deliveries.c.digest_date, deliveries.c.part)
        )
        return [(r.digest_date, r.part, r.message_id) for r in rows]
