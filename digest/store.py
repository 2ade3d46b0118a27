"""The store: one SQLAlchemy engine over SQLite (the default) or PostgreSQL, migrated on open."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from . import migrations, schema
from .errors import DigestError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredArticle:
    """An article as the store keeps it: clean text, summary and keywords computed at ingest."""

    id: int
    uid: str
    title: str
    body: str
    summary: tuple[str, ...]
    summary_headings: tuple[str, ...]
    headings: tuple[str, ...]
    keywords: tuple[str, ...]
    published: datetime
    date_from_file: bool = False
    date_only: bool = False  # the source gave a date without a time of day
    source_name: str = ""
    category: str = ""
    categories: tuple[str, ...] = ()
    url: str | None = None
    path: str | None = None
    image: str | None = None
    duplicate_of: int | None = None

    @classmethod
    def from_row(cls, row: Any) -> StoredArticle:
        """Build from a row of the `articles` table."""
        m = row._mapping
        return cls(
            id=m["id"],
            uid=m["uid"],
            title=m["title"],
            body=m["body"],
            summary=tuple(m["summary"]),
            summary_headings=tuple(m["summary_headings"]),
            headings=tuple(m["headings"]),
            keywords=tuple(m["keywords"]),
            published=m["published"],
            date_from_file=bool(m["date_from_file"]),
            date_only=bool(m["date_only"]),
            source_name=m["source_name"],
            category=m["category"],
            categories=tuple(m["categories"]),
            url=m["url"],
            path=m["path"],
            image=m["image"],
            duplicate_of=m["duplicate_of"],
        )


@dataclass(frozen=True)
class KnownNames:
    """The categories and source names the store's articles have: what a bare word in a
    subscription is taken for."""

    categories: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()


@dataclass(frozen=True)
class StoreStats:
    """What `/stats` shows: the store's articles, the sources the bot polls, its chats."""

    articles: int
    near_duplicates: int
    sources: int  # the configured sources the store has polled
    failing: int  # of those, the ones whose last poll failed
    chats: int  # active
    subscribed: int  # active subscriptions
    sent: int  # digest parts sent since the day's start


class Store:
    """The database every part of digestbot reads and writes; `Store.open(url)` to start."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect to `url` (any SQLAlchemy URL) and bring its schema up to date."""
        engine = create_engine(url)
        store = cls(engine)
        if migrate:
            try:
                migrations.migrate(engine)
            except OperationalError as exc:
                engine.dispose()
                raise DigestError(f"cannot open the store at {_safe(url)}: {exc.orig}") from exc
        return store

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @property
    def safe_url(self) -> str:
        """The store's URL with any password hidden, for logs and the bot's start line."""
        return self.engine.url.render_as_string(hide_password=True)

    def begin(self) -> Any:
        """A connection in a transaction (`with store.begin() as conn:`), committed on exit."""
        # On SQLite a writing transaction takes the write lock when it begins: one that read
        # first and wrote later would fail at once ("database is locked", no busy wait) if
        # another connection wrote in between; taken up front, it waits its turn instead.
        return self.engine.execution_options(digest_writes=True).begin()

    def connect(self) -> Connection:
        """A connection for reads (`with store.connect() as conn:`)."""
        return self.engine.connect()

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def article(self, article_id: int) -> StoredArticle | None:
        """One article by id, or None."""
        with self.connect() as conn:
            row = conn.execute(sa.select(schema.articles).where(schema.articles.c.id == article_id)).first()
        return StoredArticle.from_row(row) if row else None

    def articles(self, ids: Sequence[int]) -> dict[int, StoredArticle]:
        """Articles by id (the ids not found are left out)."""
        if not ids:
            return {}
        with self.connect() as conn:
            rows = conn.execute(sa.select(schema.articles).where(schema.articles.c.id.in_(list(ids))))
            return {row.id: StoredArticle.from_row(row) for row in rows}

    def latest(self, limit: int = 10) -> list[StoredArticle]:
        """The newest articles by publication time, near-duplicates left out."""
        a = schema.articles
        query = (
            sa.select(a).where(a.c.duplicate_of.is_(None)).order_by(a.c.published.desc(), a.c.id.desc()).limit(limit)
        )
        with self.connect() as conn:
            return [StoredArticle.from_row(row) for row in conn.execute(query)]

    def count_articles(self) -> int:
        """How many articles the store holds (near-duplicates included)."""
        with self.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(schema.articles)).scalar_one()

    def known_names(self) -> KnownNames:
        """The distinct categories and source names of the stored articles."""
        a = schema.articles.c
        with self.connect() as conn:
            categories = frozenset(c for (c,) in conn.execute(sa.select(a.category).distinct()) if c)
            names = frozenset(s for (s,) in conn.execute(sa.select(a.source_name).distinct()) if s)
        return KnownNames(categories=categories, sources=names)

    def stats(self, day_start: datetime, configured_sources: Iterable[str]) -> StoreStats:
        """The counts `/stats` shows; `configured_sources` as DIGESTBOT_SOURCES spells them
        (the bot polls those, not every one-off `digestbot ingest`)."""
        # sources.py builds on the store, so its location rule is imported when used
        from .sources import normalise_location

        polled = sorted({normalise_location(location) for location in configured_sources})
        a, src, chats, subs, out = schema.articles, schema.sources, schema.chats, schema.subscriptions, schema.deliveries

        def count(table: sa.Table, *where: Any) -> Any:
            return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()

        query = sa.select(
            count(a).label("articles"),
            count(a, a.c.duplicate_of.is_not(None)).label("near_duplicates"),
            count(src, src.c.location.in_(polled)).label("sources"),
            count(src, src.c.location.in_(polled), src.c.failures > 0).label("failing"),
            count(chats, chats.c.active.is_(True)).label("chats"),
            # a deactivated chat's subscription gets nothing: not counted
            count(subs, subs.c.active.is_(True),
                  subs.c.chat_id.in_(sa.select(chats.c.id).where(chats.c.active.is_(True)))).label("subscribed"),
            count(out, out.c.sent_at >= day_start).label("sent"),
        )
        with self.connect() as conn:
            return StoreStats(**conn.execute(query).one()._asdict())


def insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT for `table`, which has ON CONFLICT DO NOTHING / DO UPDATE."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def create_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and real transactions."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DigestError(f"not a database URL: {_safe(url)}") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    try:
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise DigestError(f"no driver for {parsed.drivername} (pip install 'digestbot[postgres]'): {exc}") from exc


def _sqlite_engine(url: sa.URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling skips BEGIN before DDL; turn it off and let
        # the "begin" hook below start every transaction, as SQLAlchemy's docs advise.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, far fewer fsyncs
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get("digest_writes")  # Store.begin's
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def _safe(url: str) -> str:
    # never print a password
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"
