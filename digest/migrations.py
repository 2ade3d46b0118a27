"""Versioned migrations: an existing database is upgraded in place, one step at a time.

Each step runs in its own transaction with its row in `schema_version`, so a database
is always at a whole version. On PostgreSQL several processes may start at once: an
advisory lock lets one migrate while the others wait, then find nothing left to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

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


def _v1_articles(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.sources, schema.articles, schema.files])
    _search_index(conn)


def _v2_chats(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.chats, schema.subscriptions, schema.deliveries])


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "articles, sources, files and the full-text index", _v1_articles),
    Migration(2, "chats, subscriptions and the delivery outbox", _v2_chats),
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
