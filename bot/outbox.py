"""The delivery outbox: a digest is recorded with the articles it holds, and becomes rows
keyed (digest, part), each claimed with a lease, sent, and marked sent with the platform's
message id.

Recording a digest, its articles, its parts and the chat's new place is one transaction,
keyed by the moment the digest's window ends: a second process, or a restart, inserts
nothing, and an article recorded for a chat is never in another of its digests. The
lease makes a crash harmless (an unmarked row is claimed again when it expires); a row
marked sent is never claimed again. On PostgreSQL, rows are claimed with
`FOR UPDATE SKIP LOCKED`, so several bot processes share the work without waiting.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from digest.compose import DailyDigest
from digest.schema import deliveries, digest_articles, digests, subscriptions
from digest.store import Store, insert

PENDING, SENT, FAILED = "pending", "sent", "failed"
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Delivery:
    """One message part waiting to be sent."""

    id: int
    digest_id: int
    chat_id: int
    part: int
    payload: dict[str, Any]
    attempts: int


def record_digest(store: Store, chat_id: int, digest: DailyDigest, parts: Sequence[dict[str, Any]],
                  now: datetime) -> int | None:
    """Record a chat's scheduled digest, the articles it holds and its parts to send, and
    move the chat's place to the digest's end; all at once, or nothing when this digest
    was recorded already (by another process, or before a restart). Returns its id."""
    with store.begin() as conn:
        statement = insert(conn, digests).values(
            chat_id=chat_id, digest_date=digest.day.isoformat(),
            window_start=digest.start if digest.kind != "first" else None, window_end=digest.end,
            articles=len(digest.contents), parts=len(parts), created_at=now,
        ).on_conflict_do_nothing(index_elements=["chat_id", "window_end"])
        digest_id = conn.execute(statement.returning(digests.c.id)).scalar()
        if digest_id is None:
            return None
        if digest.contents:
            had = insert(conn, digest_articles).on_conflict_do_nothing(index_elements=["chat_id", "article_id"])
            conn.execute(had, [{"chat_id": chat_id, "article_id": a, "digest_id": digest_id, "role": role}
                               for a, role in digest.contents])
        if parts:
            conn.execute(deliveries.insert(), [
                {"digest_id": digest_id, "chat_id": chat_id, "part": i, "payload": p, "status": PENDING,
                 "attempts": 0, "created_at": now}
                for i, p in enumerate(parts)
            ])
        conn.execute(subscriptions.update().where(subscriptions.c.chat_id == chat_id)
                     .values(digested_until=digest.end))
    return digest_id


def already_had(store: Store, chat_id: int, article_ids: Collection[int]) -> set[int]:
    """Which of `article_ids` an earlier digest of the chat held."""
    if not article_ids:
        return set()
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(digest_articles.c.article_id)
            .where(digest_articles.c.chat_id == chat_id, digest_articles.c.article_id.in_(list(article_ids)))
        )
        return {row.article_id for row in rows}


def held(store: Store, chat_id: int) -> list[tuple[str, list[int]]]:
    """(date, article ids) of every scheduled digest of a chat, in order."""
    query = (
        sa.select(digests.c.id, digests.c.digest_date, digest_articles.c.article_id)
        .outerjoin(digest_articles, digest_articles.c.digest_id == digests.c.id)
        .where(digests.c.chat_id == chat_id)
        .order_by(digests.c.window_end, digest_articles.c.article_id)
    )
    out: dict[int, tuple[str, list[int]]] = {}
    with store.connect() as conn:
        for row in conn.execute(query):
            entry = out.setdefault(row.id, (row.digest_date, []))
            if row.article_id is not None:
                entry[1].append(row.article_id)
    return list(out.values())


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
    return [Delivery(r.id, r.digest_id, r.chat_id, r.part, dict(r.payload), r.attempts + 1) for r in rows]


def mark_sent(store: Store, delivery_id: int, message_id: str, now: datetime) -> None:
    """The part was delivered: never send it again."""
    with store.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.id == delivery_id)
                     .values(status=SENT, message_id=message_id, sent_at=now, lease_until=None, error=None))


def retry_at(store: Store, delivery: Delivery, when: datetime, error: str) -> None:
    """Send the part again, not before `when`; the digest's later parts wait with it, so
    the parts still arrive in order."""
    later = sa.and_(deliveries.c.digest_id == delivery.digest_id, deliveries.c.part >= delivery.part,
                    deliveries.c.status == PENDING)
    with store.begin() as conn:
        conn.execute(deliveries.update().where(later).values(lease_until=when))
        conn.execute(deliveries.update().where(deliveries.c.id == delivery.id).values(error=error))


def give_up(store: Store, chat_id: int, error: str) -> None:
    """Stop sending anything pending to a chat (it blocked the bot, or is gone)."""
    with store.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.chat_id == chat_id, deliveries.c.status == PENDING)
                     .values(status=FAILED, error=error, lease_until=None))


def sent_parts(store: Store, chat_id: int) -> list[tuple[str, int, str]]:
    """(date, part, message id) of every part sent to a chat, in order."""
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(digests.c.digest_date, deliveries.c.part, deliveries.c.message_id)
            .join(digests, digests.c.id == deliveries.c.digest_id)
            .where(deliveries.c.chat_id == chat_id, deliveries.c.status == SENT)
            .order_by(digests.c.window_end, deliveries.c.part)
        )
        return [(r.digest_date, r.part, r.message_id) for r in rows]
