"""The delivery outbox: a digest is recorded with the articles it holds, and becomes rows
keyed (digest, part), each claimed with a lease, sent, and marked sent with the platform's
message id.

Recording a digest, its articles, its parts and the chat's new place is one transaction,
keyed by the moment the digest's window ends: a second process, or a restart, inserts
nothing, and an article recorded for a chat is never in another of its digests. The
lease makes a crash harmless (an unmarked row is claimed again when it expires); its
holder renews it while it works, and the lease's end is the holder's mark, so a renewal
never extends a lease another process took since. A row marked sent is never claimed
again. A try is counted when it fails, not when it is claimed: a part claimed and never
tried (a restart, an earlier part of its chat failing) keeps all its tries. On
PostgreSQL, rows are claimed with `FOR UPDATE SKIP LOCKED`, so several bot processes
share the work without waiting.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from digest.compose import DailyDigest
from digest.schema import chats, deliveries, digest_articles, digests, subscriptions
from digest.store import Store, insert

PENDING, SENT, FAILED = "pending", "sent", "failed"
# Short, and renewed while a part is worked on: a dead process's parts are free again
# within a minute, and a live one never loses a part it is still waiting to send.
LEASE = timedelta(seconds=45)


@dataclass(frozen=True)
class Part:
    """One message part claimed for sending."""

    id: int
    digest_id: int
    chat_id: int
    part: int  # its place in the digest
    payload: dict[str, Any]
    attempts: int  # this try's number: the tries that failed before it, plus one
    lease_until: datetime  # the lease `claim` gave it


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


def claim(store: Store, now: datetime, limit: int = 50, *, platform: str | None = None,
          lease: timedelta = LEASE) -> list[Part]:
    """Lease up to `limit` parts that may go now, oldest first: pending, not leased, of an
    active chat (of `platform`, when given), and with no earlier part of their chat held
    back, so a chat's parts go in order."""
    # One UPDATE that chooses and leases: a read and then a write would let two SQLite
    # claimers collide ("database is locked") instead of waiting their turn.
    candidate, earlier = deliveries.alias("candidate"), deliveries.alias("earlier")
    held_back = sa.exists().where(earlier.c.chat_id == candidate.c.chat_id, earlier.c.status == PENDING,
                                  earlier.c.id < candidate.c.id, earlier.c.lease_until > now)
    active = sa.select(chats.c.id).where(chats.c.active)
    if platform is not None:
        active = active.where(chats.c.platform == platform)
    free = sa.and_(candidate.c.status == PENDING,
                   sa.or_(candidate.c.lease_until.is_(None), candidate.c.lease_until <= now),
                   candidate.c.chat_id.in_(active), ~held_back)
    until = now + lease
    with store.begin() as conn:
        chosen = sa.select(candidate.c.id).where(free).order_by(candidate.c.id).limit(limit)
        if conn.dialect.name == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        rows = conn.execute(deliveries.update().where(deliveries.c.id.in_(chosen)).values(lease_until=until)
                            .returning(*deliveries.c)).all()
    return [Part(r.id, r.digest_id, r.chat_id, r.part, dict(r.payload), r.attempts + 1, until)
            for r in sorted(rows, key=lambda r: r.id)]


def renew(store: Store, part_ids: Collection[int], held_until: datetime, until: datetime) -> set[int]:
    """Extend to `until` the lease of those parts still pending and still leased until
    `held_until`; returns their ids. A part missing from the answer is done, or its lease
    ran out and another process holds it now."""
    if not part_ids:
        return set()
    with store.begin() as conn:
        rows = conn.execute(deliveries.update().where(_still_ours(part_ids, held_until)).values(lease_until=until)
                            .returning(deliveries.c.id))
        return {row.id for row in rows}


def release(store: Store, part_ids: Collection[int], held_until: datetime) -> None:
    """Hand back parts leased until `held_until` and not tried: free for the next claim, here or elsewhere."""
    if not part_ids:
        return
    with store.begin() as conn:
        conn.execute(deliveries.update().where(_still_ours(part_ids, held_until)).values(lease_until=None))


def _still_ours(part_ids: Collection[int], held_until: datetime) -> sa.ColumnElement[bool]:
    # pending and leased until the holder's mark: a lease another process took since is not
    return sa.and_(deliveries.c.id.in_(list(part_ids)), deliveries.c.status == PENDING,
                   deliveries.c.lease_until == held_until)


def mark_sent(store: Store, delivery_id: int, message_id: str, now: datetime) -> None:
    """The part was delivered: never send it again."""
    with store.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.id == delivery_id)
                     .values(status=SENT, message_id=message_id, sent_at=now, lease_until=None, error=None))


def retry_at(store: Store, part: Part, when: datetime, error: str) -> None:
    """This try of the part failed: count it, and send the part again not before `when`.
    The chat's later parts wait behind it (`claim` keeps a chat's parts in order)."""
    with store.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.id == part.id)
                     .values(lease_until=when, attempts=part.attempts, error=error))


def hold_until(store: Store, part_id: int, when: datetime) -> None:
    """Keep the part, untried and uncounted, until `when` (its platform asked to wait that long)."""
    with store.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.id == part_id, deliveries.c.status == PENDING)
                     .values(lease_until=when))


def give_up_part(store: Store, part_id: int, error: str) -> None:
    """Never send this part (the platform refused it for good); the chat's next parts go on."""
    with store.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.id == part_id, deliveries.c.status == PENDING)
                     .values(status=FAILED, error=error, lease_until=None))


def give_up(store: Store, chat_id: int, error: str) -> None:
    """Stop sending anything pending to a chat (it blocked the bot, is gone, or kept failing)."""
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
