"""Versioned migrations: an existing database is upgraded in place, one step at a time.

Each step runs in its own transaction with its row in `schema_version`, so a database
is always at a whole version. On PostgreSQL several processes may start at once: an
advisory lock lets one migrate while the others wait, then find nothing left to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import schema

log = logging.getLogger(__name__)

_LOCK_KEY = 0x6469676573  # "diges": the advisory lock of digestbot's migrations


@dataclass(frozen=True)
class Migration:
    """One step of the schema's history."""

    version: int
    name: str
    apply: Callable[[Connection], None]


def _search_index(conn: Connection) -> None:
    # The full-text index holds jieba's cut_for_search words joined by spaces: FTS5's
    # unicode61 tokenizer and PostgreSQL's `simple` parser then split on those spaces
    # and lower-case, so both engines see exactly the words jieba chose.
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE article_fts USING fts5("
            "title, body, tokenize = 'unicode61 remove_diacritics 2')"
        )
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE TABLE article_terms ("
            " article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,"
            " terms TSVECTOR NOT NULL)"
        )
        conn.exec_driver_sql("CREATE INDEX ix_article_terms_terms ON article_terms USING GIN (terms)")
    else:
        raise NotImplementedError(f"no full-text index for the {conn.dialect.name} dialect")


_V3_ARTICLE_COLUMNS = ("date_only",)


def _v1_articles(conn: Connection) -> None:
    # the tables as version 1 made them: today's, less the columns later versions added
    old = sa.MetaData()
    schema.sources.to_metadata(old)
    sa.Table("articles", old, *(c._copy() for c in schema.articles.columns if c.name not in _V3_ARTICLE_COLUMNS))
    schema.files.to_metadata(old)
    old.create_all(conn)
    _search_index(conn)


def _v2_tables() -> sa.MetaData:
    # subscriptions and deliveries as version 2 created them (version 3 changed both)
    old = sa.MetaData()
    schema.chats.to_metadata(old)
    sa.Table(
        "subscriptions", old,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chat_id", sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False, unique=True),
        *(sa.Column(name, sa.JSON, nullable=False) for name in ("categories", "sources", "keywords", "excluded")),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", schema.UTCDateTime, nullable=False),
    )
    sa.Table(
        "deliveries", old,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chat_id", sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
        sa.Column("digest_date", sa.String(10), nullable=False),
        sa.Column("part", sa.Integer, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("lease_until", schema.UTCDateTime),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("message_id", sa.String(200)),
        sa.Column("error", sa.Text),
        sa.Column("created_at", schema.UTCDateTime, nullable=False),
        sa.Column("sent_at", schema.UTCDateTime),
        sa.UniqueConstraint("chat_id", "digest_date", "part"),
    )
    return old


def _v2_chats(conn: Connection) -> None:
    old = _v2_tables()
    old.create_all(conn, tables=[old.tables["chats"], old.tables["subscriptions"], old.tables["deliveries"]])


def _v3_digest_windows(conn: Connection) -> None:
    # A digest now covers what a chat has not had yet, so the store records each digest and
    # the articles it held; the outbox is keyed by digest instead of by date (a change of
    # time zone can give two digests the same local date).
    add = "ALTER TABLE {} ADD COLUMN {} {}"
    boolean = "BOOLEAN NOT NULL DEFAULT " + ("0" if conn.dialect.name == "sqlite" else "false")
    when = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    conn.exec_driver_sql(add.format("articles", "date_only", boolean))
    schema.articles_by_ingest.create(conn)
    conn.exec_driver_sql(add.format("subscriptions", "active_since", when))
    conn.exec_driver_sql(add.format("subscriptions", "digested_until", when))
    conn.execute(schema.subscriptions.update().values(active_since=schema.subscriptions.c.created_at))
    conn.exec_driver_sql("ALTER TABLE deliveries RENAME TO deliveries_v2")
    schema.metadata.create_all(conn, tables=[schema.digests, schema.digest_articles, schema.deliveries])
    old = _v2_tables().tables["deliveries"].to_metadata(sa.MetaData(), name="deliveries_v2")
    groups = conn.execute(
        sa.select(old.c.chat_id, old.c.digest_date, sa.func.min(old.c.created_at).label("at"))
        .group_by(old.c.chat_id, old.c.digest_date).order_by(old.c.chat_id, old.c.digest_date)
    ).all()
    ends: dict[int, datetime] = {}
    for group in groups:
        # a legacy digest ended when it was queued; one chat's ends must differ (the key)
        end = max(group.at, ends[group.chat_id] + timedelta(microseconds=1)) if group.chat_id in ends else group.at
        ends[group.chat_id] = end
        digest_id = conn.execute(
            schema.digests.insert().values(
                chat_id=group.chat_id, digest_date=group.digest_date, window_start=None, window_end=end,
                created_at=group.at,
            ).returning(schema.digests.c.id)
        ).scalar_one()
        rows = conn.execute(
            sa.select(old).where(old.c.chat_id == group.chat_id, old.c.digest_date == group.digest_date, old.c.status != "empty")
        ).all()
        if rows:
            conn.execute(schema.deliveries.insert(), [
                {"digest_id": digest_id, "chat_id": r.chat_id, "part": r.part, "payload": r.payload,
                 "status": r.status, "lease_until": r.lease_until, "attempts": r.attempts,
                 "message_id": r.message_id, "error": r.error, "created_at": r.created_at, "sent_at": r.sent_at}
                for r in rows
            ])
        conn.execute(schema.digests.update().where(schema.digests.c.id == digest_id).values(parts=len(rows)))
        conn.execute(
            schema.subscriptions.update().where(schema.subscriptions.c.chat_id == group.chat_id)
            .values(digested_until=end)
        )
    conn.exec_driver_sql("DROP TABLE deliveries_v2")


def _v4_search_pages(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.search_pages])


def _v5_seen_events(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.seen_events])


def _v6_rate_limits(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.rate_limits])


def _v7_leases(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.leases])


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "articles, sources, files and the full-text index", _v1_articles),
    Migration(2, "chats, subscriptions and the delivery outbox", _v2_chats),
    Migration(3, "digest windows: digests, the articles each held, the outbox keyed by digest", _v3_digest_windows),
    Migration(4, "search pages: paging state kept in the store, by token", _v4_search_pages),
    Migration(5, "seen events: a platform's retried event answered once", _v5_seen_events),
    Migration(6, "rate limits: commands counted per chat and per user, across processes", _v6_rate_limits),
    Migration(7, "leases: work one process does at a time (Telegram's polling, a source's poll)", _v7_leases),
)
LATEST = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    """The version a database is at (0 for an empty one)."""
    if not sa.inspect(conn).has_table(schema.schema_version.name):
        return 0
    return conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar() or 0


def migrate(engine: Engine, target: int = LATEST) -> list[Migration]:
    """Bring the database up to `target`; returns the steps applied (none when current)."""
    applied = []
    for step in MIGRATIONS:
        if step.version > target:
            break
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            schema.metadata.create_all(conn, tables=[schema.schema_version])
            if current_version(conn) >= step.version:
                continue
            step.apply(conn)
            conn.execute(
                schema.schema_version.insert().values(
                    version=step.version, name=step.name, applied_at=datetime.now(timezone.utc)
                )
            )
        log.info("store migrated to version %d: %s", step.version, step.name)
        applied.append(step)
    return applied
