"""The store's tables, as they are at the newest migration (see `migrations.py`).

One schema for SQLite and PostgreSQL. The full-text index is the one part that differs
by dialect (an FTS5 table or a tsvector column); the migrations create it.

Changing a table that a migration has already created takes a new migration (an
ALTER), and the old migration then keeps its own copy of the old definition;
tests/digest/test_store.py checks that a migrated database matches these tables.
"""

from __future__ import annotations

from datetime import datetime, timezone
import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An aware datetime stored as UTC (SQLite keeps no zone; PostgreSQL's timestamptz does)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps aware times only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("location", sa.String(2000), nullable=False, unique=True),  # folder, file or URL
    sa.Column("kind", sa.String(16), nullable=False),  # posts | file | feed
    sa.Column("title", sa.String(500)),
    sa.Column("etag", sa.String(500)),  # conditional GET state of a feed
    sa.Column("last_modified", sa.String(100)),
    sa.Column("polled_at", UTCDateTime),
    sa.Column("ok_at", UTCDateTime),
    sa.Column("next_poll_at", UTCDateTime),  # backoff: not polled by the scheduler before
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),  # in a row
    sa.Column("last_error", sa.Text),
)

# The files of a posts folder as last seen, so a poll reads only new and changed ones.
files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_id", sa.ForeignKey("sources.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("path", sa.String(2000), nullable=False, unique=True),
    sa.Column("mtime", sa.Float, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64)),
    sa.Column("article_id", sa.ForeignKey("articles.id", ondelete="SET NULL")),
    sa.Column("error", sa.Text),  # why this version of the file could not be ingested
    sa.Column("seen_at", UTCDateTime, nullable=False),
)

articles = sa.Table(
    "articles",
    metadata,
    # Small columns first, the long texts last: SQLite reads a row's columns in order, so
    # a filter on `published` or `duplicate_of` then never walks a body's overflow pages.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("published", UTCDateTime, nullable=False, index=True),
    sa.Column("duplicate_of", sa.ForeignKey("articles.id", ondelete="SET NULL"), index=True),
    sa.Column("date_from_file", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("date_only", sa.Boolean, nullable=False, server_default=sa.false()),  # no time of day given
    sa.Column("source_id", sa.ForeignKey("sources.id", ondelete="SET NULL"), index=True),
    sa.Column("source_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("category", sa.String(200), nullable=False, server_default=""),
    sa.Column("content_hash", sa.String(40), nullable=False, index=True),
    # SimHash of the body's words, and its four 16-bit bands: two texts within 3 bits
    # share at least one band, so near-duplicate candidates are four index lookups.
    sa.Column("simhash", sa.BigInteger, nullable=False),
    sa.Column("band0", sa.Integer, nullable=False, index=True),
    sa.Column("band1", sa.Integer, nullable=False, index=True),
    sa.Column("band2", sa.Integer, nullable=False, index=True),
    sa.Column("band3", sa.Integer, nullable=False, index=True),
    sa.Column("ingested_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # canonical URL, else "sha1:" + hash of the normalised title and body
    sa.Column("uid", sa.String(2000), nullable=False, unique=True),
    sa.Column("url", sa.String(2000)),
    sa.Column("path", sa.String(2000)),
    sa.Column("image", sa.String(2000)),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("headings", sa.JSON, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),  # the summary's sentences
    sa.Column("summary_headings", sa.JSON, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # clean text, one block per line
)
# A chat's digest holds what was stored since its previous one: windows read this index.
# (Declared apart from the column: version 1 made the column, version 3 the index.)
articles_by_ingest = sa.Index("ix_articles_ingested_at", articles.c.ingested_at)

chats = sa.Table(
    "chats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),  # telegram | slack | console
    sa.Column("chat_ref", sa.String(200), nullable=False),  # the platform's id for the chat
    sa.Column("title", sa.String(500)),
    sa.Column("kind", sa.String(16)),  # private | group | channel
    sa.Column("language", sa.String(8), nullable=False, server_default="zh"),
    sa.Column("timezone", sa.String(64)),  # None: the deployment's default
    sa.Column("digest_time", sa.String(5)),  # HH:MM; None: the deployment's default
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("platform", "chat_ref"),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("chat_id", sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False, unique=True),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("excluded", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("active_since", UTCDateTime),  # when it was last turned on; None: at created_at
    # where the chat's last scheduled digest ended: the next one holds what was stored
    # since then. None: no digest yet (the first holds the 24 hours before it).
    sa.Column("digested_until", UTCDateTime),
)

# One row per scheduled digest of a chat, empty or not. The key is the moment the digest's
# window ends (its scheduled time), so two processes composing it insert it once.
digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("chat_id", sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    sa.Column("digest_date", sa.String(10), nullable=False),  # YYYY-MM-DD in the chat's zone
    sa.Column("window_start", UTCDateTime),  # None: a first digest (published in the day before)
    sa.Column("window_end", UTCDateTime, nullable=False),
    sa.Column("articles", sa.Integer, nullable=False, server_default="0"),
    sa.Column("parts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("chat_id", "window_end"),
)

# Which article reached which chat, in which digest: the key makes a repeat impossible.
digest_articles = sa.Table(
    "digest_articles",
    metadata,
    sa.Column("chat_id", sa.ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("article_id", sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("digest_id", sa.ForeignKey("digests.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("role", sa.String(8), nullable=False),  # item | title | folded (a near-duplicate)
)

# The outbox: one row per message part of a digest, keyed so it is sent once.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("digest_id", sa.ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    sa.Column("chat_id", sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("part", sa.Integer, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("message_id", sa.String(200)),
    sa.Column("error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.UniqueConstraint("digest_id", "part"),
)

# A search a chat can page through: its buttons carry only the token (Telegram's
# callback_data holds 64 bytes), so any process, before or after a restart, can answer.
search_pages = sa.Table(
    "search_pages",
    metadata,
    sa.Column("token", sa.String(16), primary_key=True),
    sa.Column("chat_id", sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    sa.Column("query", sa.Text, nullable=False),  # what the chat typed
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),  # pruned by expiry
)

# Events a chat platform delivered, by its id: Slack sends an event again when it saw no
# answer within 3 s, perhaps to another process, and each must be answered once.
seen_events = sa.Table(
    "seen_events",
    metadata,
    sa.Column("platform", sa.String(16), primary_key=True),
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("seen_at", UTCDateTime, nullable=False, index=True),  # pruned after a day
)

# Commands counted per chat and per user in fixed windows, in the store so that every
# process behind one bot counts the same flood (a chat's burst cannot slow the others).
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),  # `chat:telegram:-100123`, `user:slack:U0123`
    sa.Column("window_start", UTCDateTime, nullable=False, index=True),  # pruned when it has passed
    sa.Column("hits", sa.Integer, nullable=False),
)

# Named leases: work only one process may do at a time (long-polling Telegram, polling a
# source), held until `until` and renewed by its holder; a dead holder's lease runs out.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(300), primary_key=True),  # `telegram:polling`, `source:<location>`
    sa.Column("holder", sa.String(100), nullable=False),  # the process: host, pid and a random part
    sa.Column("until", UTCDateTime, nullable=False),
)
