"""Storing one prepared article by the dedup rules: new, updated, duplicate or unchanged.

The first telling of a story stands: the same article (canonical URL, else normalised
text) from another source is a duplicate, never a rewrite, and only its own feed or file
may update it. A new article within a few bits of SimHash of an earlier story is stored
linked to that first telling and kept out of the search index. These rules live apart
from polling (`digest.ingest`), which only decides what to read and counts what `save`
answers, so that what "the same article" means is written in one place.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import fingerprint
from .article import Article
from .prepared import PreparedArticle
from .schema import articles
from .search import index_article
from .store import insert

log = logging.getLogger(__name__)

NEW, UPDATED, DUPLICATE, UNCHANGED = "new", "updated", "duplicate", "unchanged"
FUTURE_SLACK = timedelta(hours=12)  # more ahead than any time zone: a wrong date, said in the log

_BANDS = (articles.c.band0, articles.c.band1, articles.c.band2, articles.c.band3)


def save(
    conn: Connection, prepared: PreparedArticle, *, source_id: int | None, now: datetime, replaces: int | None = None
) -> tuple[str, int, int | None]:
    """Store one article; returns (outcome, article id, id of the story it near-duplicates).

    `replaces` is the article a changed file held before: it is updated in place.
    """
    p = prepared
    existing = conn.execute(
        sa.select(articles.c.id, articles.c.content_hash, articles.c.path, articles.c.source_id).where(
            articles.c.uid == p.uid
        )
    ).first()
    if replaces is not None and not _holds(conn, replaces, p.article.path):
        replaces = None  # gone, or the file was only linked to another source's telling
    if replaces is not None:
        if existing is not None and existing.id != replaces:
            return DUPLICATE, existing.id, None
        _update(conn, replaces, p, source_id, now)
        return UPDATED, replaces, None
    if existing is not None:
        # the first telling stands: only its own source may change it
        if not _same_place(existing, p.article, source_id):
            return DUPLICATE, existing.id, None
        if existing.content_hash == p.content_hash:
            return UNCHANGED, existing.id, None
        _update(conn, existing.id, p, source_id, now)  # an item edited under its URL
        return UPDATED, existing.id, None
    same_text = conn.execute(
        sa.select(articles.c.id).where(articles.c.content_hash == p.content_hash).limit(1)
    ).scalar()
    if same_text is not None:  # the same text under another URL
        return DUPLICATE, same_text, None
    near = _near_duplicate(conn, p.simhash)
    values = _row(p, source_id, now) | {"duplicate_of": near, "ingested_at": now}
    statement = insert(conn, articles).values(**values).on_conflict_do_nothing(index_elements=["uid"])
    inserted = conn.execute(statement.returning(articles.c.id)).scalar()
    if inserted is None:  # another process stored it a moment ago
        return DUPLICATE, conn.execute(sa.select(articles.c.id).where(articles.c.uid == p.uid)).scalar_one(), None
    if near is None:  # a near-duplicate is found through its first telling
        index_article(conn, inserted, p.title_terms, p.body_terms)
    if p.article.published > now + FUTURE_SLACK:
        # digests go by when an article was stored, so it is in the next one all the same
        log.warning("article %s: dated %s, in the future; stored as new", p.article.url or p.article.path or p.article.title,
                    p.article.published.isoformat(timespec="minutes"))
    return NEW, inserted, near


def known_outcome(conn: Connection, article: Article, source_id: int) -> str | None:
    """What `save` would answer for a feed item held already, told before summarising it:
    DUPLICATE (another source told it first), UNCHANGED (held as it is), else None."""
    # A feed repeats its items at every poll: this spares summarising those again.
    uid = fingerprint.article_uid(article.url, article.title, article.body)
    row = conn.execute(
        sa.select(articles.c.content_hash, articles.c.path, articles.c.source_id).where(articles.c.uid == uid)
    ).first()
    if row is None:
        return None
    if not _same_place(row, article, source_id):
        return DUPLICATE
    if row.content_hash == fingerprint.content_hash(article.title, article.body):
        return UNCHANGED
    return None


def _near_duplicate(conn: Connection, value: int | None) -> int | None:
    # the first stored telling of the same story, if any: SimHash within NEAR_BITS
    if value is None:
        return None
    b = fingerprint.bands(value)
    # One indexed lookup per band, UNIONed: with OR, SQLite's planner would rather walk
    # another index and read every row.
    columns = (articles.c.id, articles.c.simhash, articles.c.duplicate_of)
    lookups = [sa.select(*columns).where(band == b[i]) for i, band in enumerate(_BANDS)]
    candidates = sorted(conn.execute(sa.union(*lookups)), key=lambda row: row.id)
    for row in candidates:
        if row.duplicate_of is None and fingerprint.distance(fingerprint.to_unsigned(row.simhash), value) <= fingerprint.NEAR_BITS:
            return row.id
    return None


def _same_place(row: Any, article: Article, source_id: int | None) -> bool:
    # a post file is itself wherever it is registered from; a feed item is its feed's
    return row.path == article.path if article.path else row.path is None and row.source_id == source_id


def _holds(conn: Connection, article_id: int, path: str | None) -> bool:
    # True when the article is this file's own telling (not one it was a duplicate of)
    found = conn.execute(sa.select(articles.c.path).where(articles.c.id == article_id)).first()
    return found is not None and found.path == path


def _update(conn: Connection, article_id: int, p: PreparedArticle, source_id: int | None, now: datetime) -> None:
    # `ingested_at` stays, so an edit is not sent again; the first source stays (a file
    # registered again, as a folder and as itself, is still the first one's)
    values = _row(p, source_id, now) | {"source_id": sa.func.coalesce(articles.c.source_id, source_id)}
    conn.execute(articles.update().where(articles.c.id == article_id).values(**values))
    linked = conn.execute(sa.select(articles.c.duplicate_of).where(articles.c.id == article_id)).scalar()
    if linked is None:
        index_article(conn, article_id, p.title_terms, p.body_terms)


def _row(p: PreparedArticle, source_id: int | None, now: datetime) -> dict[str, Any]:
    a, s = p.article, p.summary
    b = fingerprint.bands(p.simhash)
    return {
        "uid": p.uid,
        "url": a.url,
        "path": a.path,
        "source_id": source_id,
        "source_name": a.source,
        "category": a.categories[0] if a.categories else "",
        "categories": list(a.categories),
        "title": a.title,
        "body": a.body,
        "headings": a.headings,
        "summary": [x.text + ("…" if x.clipped else "") for x in s.sentences],
        "summary_headings": list(s.headings),
        "keywords": list(s.keywords),
        "image": a.image,
        "published": a.published,
        "date_from_file": a.date_from_file,
        "date_only": a.date_only,
        "content_hash": p.content_hash,
        "simhash": fingerprint.to_signed(p.simhash or 0),
        "band0": b[0],
        "band1": b[1],
        "band2": b[2],
        "band3": b[3],
        "updated_at": now,
    }
