"""/search's engine: jieba words in SQLite FTS5 (bm25) or a PostgreSQL tsvector (GIN).

Both index the same words — jieba's `cut_for_search` of the title and of the body —
with the title weighted above the body, and both AND the query's words. One-character
words (房, 税) are rarely a word of their own in jieba's output, so they are matched as
text: within the full-text hits, or on their own over the most recent articles.
Snippets are cut from the stored clean text in Python, with the hits marked.

Near-duplicates are not indexed: search, like the digest, shows a story once, under its
first telling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .dates import DEFAULT_TZ
from .query import Query, QueryError, parse_query
from .schema import articles
from .store import Store, StoredArticle

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
MAX_PAGE = 10_000  # a page number beyond is read as this one: 10**18 overflowed the offset
SNIPPET_CHARS = 80
RECENT_WINDOW = 2000  # a one-character search reads this many of the newest articles
CANDIDATES = 5000  # a search ranks at most this many of the newest articles with its words
_TITLE_WEIGHT = 5.0  # FTS5 bm25 column weight of the title (the body's is 1)
_MAX_INDEXED_CHARS = 200_000  # PostgreSQL caps a tsvector at 1 MB; no article needs more

_fts = sa.table("article_fts", sa.column("rowid"), sa.column("title"), sa.column("body"))
_terms = sa.table("article_terms", sa.column("article_id"), sa.column("terms"))


@dataclass(frozen=True)
class Snippet:
    """A piece of an article's text around the hits; `marks` are (start, end) offsets."""

    text: str
    marks: tuple[tuple[int, int], ...] = ()

    def marked(self, open_: str = "【", close: str = "】") -> str:
        """The text with every hit wrapped in `open_` … `close`."""
        out, last = [], 0
        for start, end in self.marks:
            out += [self.text[last:start], open_, self.text[start:end], close]
            last = end
        out.append(self.text[last:])
        return "".join(out)


@dataclass(frozen=True)
class Hit:
    """One search result."""

    article: StoredArticle
    snippet: Snippet
    score: float


@dataclass(frozen=True)
class SearchPage:
    """One page of results, with the total so a client can page through the rest."""

    query: Query
    hits: list[Hit]
    total: int
    page: int
    limit: int
    matched: int = 0  # articles with the words, filters aside (may exceed CANDIDATES)

    @property
    def pages(self) -> int:
        """How many pages the results fill."""
        return max(1, -(-self.total // self.limit))

    @property
    def past_end(self) -> bool:
        """True for a page beyond the last (an old button, after the results shrank)."""
        return self.page > self.pages

    @property
    def previous_page(self) -> int | None:
        """The page a "previous" button goes to (from beyond the end, the last); None on the first."""
        return min(self.page - 1, self.pages) if self.page > 1 else None

    @property
    def next_page(self) -> int | None:
        """The page a "next" button goes to; None on the last."""
        return self.page + 1 if self.page < self.pages else None

    @property
    def capped(self) -> bool:
        """True when more articles had the words than a search ranks (the newest won)."""
        return self.matched > CANDIDATES

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the page."""
        return {
            "query": self.query.text,
            "filters": {
                "source": self.query.source,
                "category": self.query.category,
                "since": self.query.since.isoformat() if self.query.since else None,
            },
            "truncated": self.query.truncated,
            "total": self.total,
            "matched": self.matched,
            "capped": self.capped,
            "page": self.page,
            "pages": self.pages,
            "hits": [
                {
                    "id": h.article.id,
                    "title": h.article.title,
                    "source": h.article.source_name,
                    "category": h.article.category,
                    "published": h.article.published.isoformat(),
                    "url": h.article.url,
                    "path": h.article.path,
                    "snippet": h.snippet.text,
                    "marks": [list(m) for m in h.snippet.marks],
                    "score": h.score,
                }
                for h in self.hits
            ],
        }


def search(
    store: Store,
    text: str | Query,
    *,
    page: int = 1,
    limit: int = DEFAULT_LIMIT,
    now: datetime | None = None,
    tz: tzinfo = DEFAULT_TZ,
) -> SearchPage:
    """Find articles for what a user typed; raises `QueryError` for an empty or bad query."""
    query = text if isinstance(text, Query) else parse_query(text, now=now or datetime.now(timezone.utc), tz=tz)
    if query.empty:
        raise QueryError("query_empty")
    page = max(1, min(page, MAX_PAGE))
    limit = max(1, min(limit, MAX_LIMIT))
    offset = (page - 1) * limit
    with store.connect() as conn:
        if query.groups:
            rows, total, matched = _by_words(conn, query, offset, limit)
        else:
            rows, total = _by_text(conn, query, offset, limit)
            matched = total
    found = store.articles([row.id for row in rows])
    hits = [
        Hit(found[row.id], snippet(found[row.id], query.terms + query.chars), float(row.score or 0))
        for row in rows
        if row.id in found
    ]
    return SearchPage(query=query, hits=hits, total=total, page=page, limit=limit, matched=matched)


def _by_words(conn: Connection, query: Query, offset: int, limit: int) -> tuple[Sequence[Any], int, int]:
    # Ranking reads every candidate's postings, so its cost grows with the hits: a
    # common word in 40% of 100k articles would cost 50 ms and more. The candidates are
    # therefore the CANDIDATES most recently ingested articles with the words (the index
    # walks its postings newest first and stops there), ranked by relevance; the number
    # of articles with the words is still counted exactly, from the index alone.
    if conn.dialect.name == "sqlite":
        match = sa.literal_column("article_fts").op("MATCH")(fts5_query(query.groups))
        score = sa.func.bm25(sa.literal_column("article_fts"), _TITLE_WEIGHT, 1.0)
        base = sa.select(_fts.c.rowid.label("id")).select_from(_fts).where(match)
        # FTS5 yields rowids newest first without sorting, and scores only those it yields
        candidates = base.add_columns(score.label("score")).order_by(_fts.c.rowid.desc()).limit(CANDIDATES).subquery()
    else:
        tsquery = _tsquery(query.groups)
        base = sa.select(_terms.c.article_id.label("id")).where(_terms.c.terms.op("@@")(tsquery))
        # `+ 0`: ordered by the primary key, PostgreSQL would walk it and test every row
        # against the query (seconds for a rare word); this way the GIN index finds them.
        newest = base.order_by((_terms.c.article_id + 0).desc()).limit(CANDIDATES).subquery()
        scored = _terms.alias("scored")
        candidates = (
            sa.select(newest.c.id, (-sa.func.ts_rank(scored.c.terms, tsquery)).label("score"))  # lower is better
            .join(scored, scored.c.article_id == newest.c.id)
            .subquery()
        )
    matched = conn.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
    ranked = sa.select(candidates.c.id, candidates.c.score)
    conditions = _filters(query)
    if conditions:  # near-duplicates are not indexed: only filters need the rows
        ranked = ranked.join(articles, articles.c.id == candidates.c.id).where(*conditions)
        total = conn.execute(sa.select(sa.func.count()).select_from(ranked.subquery())).scalar_one()
    else:
        total = min(matched, CANDIDATES)
    ranked = ranked.order_by(candidates.c.score, candidates.c.id.desc())
    return conn.execute(ranked.limit(limit).offset(offset)).all(), total, matched


def _by_text(conn: Connection, query: Query, offset: int, limit: int) -> tuple[Sequence[Any], int]:
    # No word for the index: filters alone, or one-character words matched in the text
    # of the RECENT_WINDOW newest articles; newest first.
    rows: Any = articles
    if query.chars:  # a subquery with a LIMIT: the text of only those rows is read
        rows = sa.select(articles).order_by(articles.c.published.desc()).limit(RECENT_WINDOW).subquery()
    conditions = _filters(query, rows.c) + [rows.c.duplicate_of.is_(None)]
    matches = sa.select(rows.c.id, sa.literal(0.0).label("score")).where(*conditions)
    ordered = matches.order_by(rows.c.published.desc(), rows.c.id.desc())
    if query.chars:  # at most RECENT_WINDOW rows: one pass over the text, not two
        found = conn.execute(ordered).all()
        return found[offset : offset + limit], len(found)
    total = conn.execute(sa.select(sa.func.count()).select_from(matches.subquery())).scalar_one()
    return conn.execute(ordered.limit(limit).offset(offset)).all(), total


def _filters(query: Query, columns: Any = articles.c) -> list[Any]:
    conditions: list[Any] = []
    if query.source:
        conditions.append(sa.func.lower(columns.source_name).contains(query.source.lower(), autoescape=True))
    if query.category:
        conditions.append(sa.func.lower(columns.category).contains(query.category.lower(), autoescape=True))
    if query.since:
        conditions.append(columns.published >= query.since)
    for char in query.chars:
        # the query's words are lower-cased, and PostgreSQL's LIKE (unlike SQLite's) minds case
        conditions.append(sa.or_(sa.func.lower(columns.title).contains(char.lower(), autoescape=True),
                                 sa.func.lower(columns.body).contains(char.lower(), autoescape=True)))
    return conditions


Groups = Sequence[Sequence[Sequence[str]]]


def fts5_query(groups: Groups) -> str:
    """An FTS5 MATCH expression for the query's groups: every word a quoted string (so
    `AND`, `NEAR`, `*`, `-`, `:` typed by a user are plain words), groups ANDed,
    alternatives ORed."""

    def quoted(word: str) -> str:
        return '"' + word.replace('"', '""') + '"'

    def alternative(words: Sequence[str]) -> str:
        return " AND ".join(map(quoted, words)) if len(words) == 1 else "(" + " AND ".join(map(quoted, words)) + ")"

    return " AND ".join(
        alternative(g[0]) if len(g) == 1 else "(" + " OR ".join(map(alternative, g)) + ")" for g in groups
    )


def _tsquery(groups: Groups) -> Any:
    # Built from plainto_tsquery pieces with tsquery's own && and || operators: the
    # user's words are only ever bound parameters, never tsquery syntax.
    def alternative(words: Sequence[str]) -> Any:
        return sa.func.plainto_tsquery("simple", " ".join(words))

    expression: Any = None
    for group in groups:
        either: Any = None
        for words in group:
            either = alternative(words) if either is None else either.op("||")(alternative(words))
        expression = either if expression is None else expression.op("&&")(either)
    return expression


def snippet(article: StoredArticle, words: Sequence[str], width: int = SNIPPET_CHARS) -> Snippet:
    """The `width` characters of the body (else the title) holding the most distinct
    words, with each occurrence marked."""
    text = " ".join(article.body.split("\n")) or article.title
    lowered = text.lower() if len(text.lower()) == len(text) else text
    hits = sorted(
        (start, start + len(word))
        for word in set(w for w in words if w)
        for start in _occurrences(lowered, word)
    )
    begin = _best_window(hits, width) if hits else 0
    begin = max(0, min(begin - width // 5, len(text) - width))  # some context before the hit
    end = min(len(text), begin + width)
    marks = _merge([(max(s, begin), min(e, end)) for s, e in hits if s < end and e > begin])
    prefix = "…" if begin > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - begin
    return Snippet(prefix + text[begin:end] + suffix, tuple((s + shift, e + shift) for s, e in marks))


def _occurrences(text: str, word: str) -> list[int]:
    found: list[int] = []
    start = text.find(word)
    while start != -1 and len(found) < 1000:
        found.append(start)
        start = text.find(word, start + 1)
    return found


def _best_window(hits: list[tuple[int, int]], width: int) -> int:
    best_start, best_count = hits[0][0], 0
    for start, _ in hits:
        count = len({(s, e) for s, e in hits if start <= s and e <= start + width})
        if count > best_count:
            best_start, best_count = start, count
        if len(hits) > 200:  # long bodies full of hits: the first dense spot will do
            break
    return best_start


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def index_article(conn: Connection, article_id: int, title_terms: Sequence[str], body_terms: Sequence[str]) -> None:
    """Put (or replace) an article's words in the full-text index."""
    title = " ".join(title_terms)
    body = " ".join(body_terms)[:_MAX_INDEXED_CHARS]
    if conn.dialect.name == "sqlite":
        conn.execute(sa.text("DELETE FROM article_fts WHERE rowid = :id"), {"id": article_id})
        conn.execute(
            sa.text("INSERT INTO article_fts (rowid, title, body) VALUES (:id, :title, :body)"),
            {"id": article_id, "title": title, "body": body},
        )
    else:
        conn.execute(
            sa.text(
                "INSERT INTO article_terms (article_id, terms) VALUES (:id,"
                " setweight(to_tsvector('simple', :title), 'A') || setweight(to_tsvector('simple', :body), 'B'))"
                " ON CONFLICT (article_id) DO UPDATE SET terms = EXCLUDED.terms"
            ),
            {"id": article_id, "title": title, "body": body},
        )
