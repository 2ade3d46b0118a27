"""Ingest: read what is new in each source, summarise it once, store it, deduplicated.

Every article is saved in its own transaction, so a failure (a broken file, a feed that
times out, a database error on one row) loses nothing already stored and stops nothing
else. Summarising is the slow part; big batches spread it over worker processes while
this process does all the database writes.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import feeds, fingerprint, sources
from .article import Article
from .errors import ArticleError, DigestError
from .parse import MAX_FILE_BYTES, article_from_bytes
from .schema import articles, files
from .search import index_article
from .store import Store, insert
from .summarize import DEFAULT_MAX_CHARS, Summary, summarize
from .text import idf_table, search_terms, stopwords

log = logging.getLogger(__name__)

NEW, UPDATED, DUPLICATE, UNCHANGED = "new", "updated", "duplicate", "unchanged"
POST_SUFFIXES = (".md", ".markdown")
_PARALLEL_MIN = 64  # fewer changed articles than this are not worth starting workers
FUTURE_SLACK = timedelta(hours=12)  # more ahead than any time zone: a wrong date, said in the log
_DUE_SLACK = timedelta(seconds=30)
_CHUNK = 256  # articles handed to the workers at a time (bounds memory on huge folders)

_BANDS = (articles.c.band0, articles.c.band1, articles.c.band2, articles.c.band3)

Progress = Callable[[str, int, int], None]  # (source, done, total)


@dataclass(frozen=True)
class PreparedArticle:
    """An article with everything computed once at ingest: summary, identity, index words."""

    article: Article
    summary: Summary
    uid: str
    content_hash: str
    simhash: int | None
    title_terms: tuple[str, ...]
    body_terms: tuple[str, ...]


@dataclass
class IngestReport:
    """What an ingest did, counted, with every failure's place and reason."""

    new: int = 0
    updated: int = 0
    duplicate: int = 0
    near_duplicate: int = 0  # of the new ones: linked to an earlier telling of the story
    unchanged: int = 0
    failed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        """Add one article's outcome."""
        setattr(self, outcome, getattr(self, outcome) + 1)

    def fail(self, where: str, reason: str) -> None:
        """Add one failure."""
        self.failed += 1
        self.errors.append((where, reason))

    def merge(self, other: IngestReport) -> None:
        """Add another report's counts and failures to this one."""
        for name in (NEW, UPDATED, DUPLICATE, UNCHANGED, "near_duplicate", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def line(self) -> str:
        """The one-line summary: new / updated / duplicate / failed (and unchanged)."""
        near = f" ({self.near_duplicate} near-duplicate)" if self.near_duplicate else ""
        return (
            f"{self.new} new{near}, {self.updated} updated, {self.duplicate} duplicate, "
            f"{self.failed} failed, {self.unchanged} unchanged"
        )


def prepare(article: Article, max_chars: int = DEFAULT_MAX_CHARS) -> PreparedArticle:
    """Summarise an article and compute its identity, SimHash and index words."""
    body = article.body
    body_terms = search_terms(body)
    stop = stopwords()
    return PreparedArticle(
        article=article,
        summary=summarize(article, max_chars),
        uid=fingerprint.article_uid(article.url, article.title, body),
        content_hash=fingerprint.content_hash(article.title, body),
        simhash=fingerprint.simhash(t for t in body_terms if len(t) > 1 and t not in stop),
        title_terms=tuple(search_terms(article.title)),
        body_terms=tuple(body_terms),
    )


class Ingestor:
    """Polls sources into a store. `ingest(locations)` is the CLI's; `poll_due` the scheduler's."""

    def __init__(
        self,
        store: Store,
        *,
        poll_minutes: int = 10,
        workers: int | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
        fetch: Callable[..., feeds.FeedResponse] = feeds.fetch,
        clock: Callable[[], datetime] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.poll_minutes = poll_minutes
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.max_chars = max_chars
        self.fetch = fetch
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.progress = progress

    def ingest(self, locations: Iterable[str]) -> IngestReport:
        """Poll every source now (folders, files, feed URLs), registering new ones."""
        report = IngestReport()
        for raw in locations:
            source = self._register(raw, report)
            if source is not None:
                report.merge(self.poll(*source))
        return report

    def poll_due(self, locations: Iterable[str]) -> IngestReport:
        """Poll the sources whose backoff has passed (the scheduler's job)."""
        now = self.clock()
        report = IngestReport()
        for raw in locations:
            source = self._register(raw, report)
            if source is None:
                continue
            with self.store.connect() as conn:
                due = sources.next_poll_at(conn, source[0])
            # a source read at the last run is due again at this one, though its next time
            # is a few milliseconds later than the scheduler's (it was stamped mid-run)
            if due is None or due <= now + _DUE_SLACK:
                report.merge(self.poll(*source))
        return report

    def _register(self, raw: str, report: IngestReport) -> tuple[int, str, str] | None:
        # (id, location, kind) of the source `raw` names, added when new; None, reported, if it names none
        try:
            kind = sources.kind_of(raw)
        except DigestError as exc:
            log.warning("source %s: %s", raw, exc)
            report.fail(raw, str(exc).removeprefix(f"{raw}: "))
            return None
        location = sources.normalise_location(raw)
        with self.store.begin() as conn:
            return sources.register(conn, location, kind), location, kind

    def poll(self, source_id: int, location: str, kind: str) -> IngestReport:
        """Read one source now and record how it went."""
        if kind == "feed":
            return self._poll_feed(source_id, location)
        root = Path(location)
        paths = [root] if kind == "file" else None
        return self._poll_files(source_id, root, paths)

    # -- posts folders and files -------------------------------------------------------

    def _poll_files(self, source_id: int, root: Path, paths: list[Path] | None) -> IngestReport:
        report = IngestReport()
        now = self.clock()
        try:
            found = paths if paths is not None else _post_files(root)
        except OSError as exc:
            return self._source_failed(source_id, str(root), f"cannot read the folder: {exc.strerror or exc}", report)
        with self.store.connect() as conn:
            known = {
                row.path: row
                for row in conn.execute(
                    sa.select(files.c.path, files.c.mtime, files.c.size, files.c.sha256, files.c.article_id).where(
                        files.c.source_id == source_id
                    )
                )
            }
        changed: list[tuple[str, str | None]] = []
        for path in found:
            name = str(path)
            try:
                stat = path.stat()
            except OSError as exc:  # vanished or unreadable: may heal, so not recorded
                report.fail(name, exc.strerror or str(exc))
                continue
            row = known.get(name)
            if row is not None and row.mtime == stat.st_mtime and row.size == stat.st_size:
                report.count(UNCHANGED)
            else:
                changed.append((name, row.sha256 if row is not None else None))
        done = 0
        for name, result in self._map(_prepare_file, [(n, sha, self.max_chars) for n, sha in changed]):
            # stamped as it is stored, not when the poll began: a digest window that closed
            # meanwhile must not find, later, an article "stored" inside it
            self._save_file(source_id, name, result, known.get(name), report, self.clock())
            done += 1
            self._tick(str(root), done, len(changed))
        with self.store.begin() as conn:
            sources.record_success(conn, source_id, now, self.poll_minutes, error=_files_summary(report, len(found)))
        log.info("source %s: %s", root, report.line())
        return report

    def _save_file(
        self, source_id: int, name: str, result: _FileResult, row: Any, report: IngestReport, now: datetime
    ) -> None:
        if result.error is not None and result.sha256 is None:  # unreadable now, may heal
            report.fail(name, result.error)
            log.warning("file %s: %s", name, result.error)
            return
        try:
            with self.store.begin() as conn:
                article_id = row.article_id if row is not None else None
                if result.error is not None:
                    report.fail(name, result.error)
                    log.warning("file %s: %s", name, result.error)
                elif result.prepared is None:  # touched, same bytes
                    report.count(UNCHANGED)
                else:
                    outcome, article_id, near = save(conn, result.prepared, source_id=source_id, now=now, replaces=article_id)
                    report.count(outcome)
                    report.near_duplicate += near is not None
                _record_file(conn, source_id, name, result, article_id, now)
        except sa.exc.SQLAlchemyError as exc:
            report.fail(name, f"database error: {_first_line(exc)}")
            log.exception("file %s: not stored", name)

    # -- feeds -------------------------------------------------------------------------

    def _poll_feed(self, source_id: int, url: str) -> IngestReport:
        report = IngestReport()
        now = self.clock()
        with self.store.connect() as conn:
            etag, last_modified = sources.validators(conn, source_id)
        try:
            response = self.fetch(url, etag=etag, last_modified=last_modified)
            if response.status == 304:
                log.info("feed %s: not modified", url)
                with self.store.begin() as conn:
                    sources.record_success(conn, source_id, now, self.poll_minutes, etag=etag, last_modified=last_modified)
                return report
            feed = feeds.parse_feed(response.body, url, response.content_type, now=now)
        except feeds.FeedError as exc:
            return self._source_failed(source_id, url, exc.reason, report)
        for problem in feed.errors:
            report.fail(url, problem)
        fresh = [a for a in feed.articles if not self._known(a, source_id, report)]
        done = 0
        for article, result in zip(fresh, self._map(_prepare_article, [(a, self.max_chars) for a in fresh]), strict=True):
            where = article.url or f"{url} «{article.title}»"
            if isinstance(result, str):
                report.fail(where, result)
            else:
                try:
                    with self.store.begin() as conn:
                        outcome, _, near = save(conn, result, source_id=source_id, now=self.clock())
                    report.count(outcome)
                    report.near_duplicate += near is not None
                except sa.exc.SQLAlchemyError as exc:
                    report.fail(where, f"database error: {_first_line(exc)}")
                    log.exception("feed item %s: not stored", where)
            done += 1
            self._tick(url, done, len(fresh))
        with self.store.begin() as conn:
            sources.record_success(
                conn, source_id, now, self.poll_minutes,
                title=feed.title, etag=response.etag, last_modified=response.last_modified,
                error=f"{len(feed.errors)} items unreadable; first: {feed.errors[0]}" if feed.errors else None,
            )
        log.info("feed %s: %s", url, report.line())
        return report

    def _known(self, article: Article, source_id: int, report: IngestReport) -> bool:
        # A feed repeats its items at every poll: skip, before summarising, those we hold
        # as they are, and those another source told first (they keep its telling).
        uid = fingerprint.article_uid(article.url, article.title, article.body)
        with self.store.connect() as conn:
            row = conn.execute(
                sa.select(articles.c.content_hash, articles.c.path, articles.c.source_id).where(articles.c.uid == uid)
            ).first()
        if row is None:
            return False
        if not _same_place(row, article, source_id):
            report.count(DUPLICATE)
            return True
        if row.content_hash == fingerprint.content_hash(article.title, article.body):
            report.count(UNCHANGED)
            return True
        return False

    # -- shared ------------------------------------------------------------------------

    def _source_failed(self, source_id: int, where: str, reason: str, report: IngestReport) -> IngestReport:
        report.fail(where, reason)
        with self.store.begin() as conn:
            retry = sources.record_failure(conn, source_id, self.clock(), self.poll_minutes, reason)
        log.warning("source %s: %s (retry after %s)", where, reason, retry.isoformat(timespec="seconds"))
        return report

    def _map(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        if self.workers <= 1 or len(items) < _PARALLEL_MIN:
            yield from map(function, items)
            return
        # Warm jieba and the IDF table before forking, so every worker shares them.
        search_terms("预热")
        idf_table()
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool:
            for start in range(0, len(items), _CHUNK):
                yield from pool.map(function, items[start : start + _CHUNK], chunksize=8)

    def _tick(self, where: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(where, done, total)


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


def _record_file(
    conn: Connection, source_id: int, name: str, result: _FileResult, article_id: int | None, now: datetime
) -> None:
    values = {
        "source_id": source_id,
        "path": name,
        "mtime": result.mtime,
        "size": result.size,
        "sha256": result.sha256,
        "article_id": article_id,
        "error": result.error,
        "seen_at": now,
    }
    statement = insert(conn, files).values(**values)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["path"], set_={k: statement.excluded[k] for k in values if k != "path"}
        )
    )


def _first_line(exc: Exception) -> str:
    # SQLAlchemy's message goes on with the statement and its parameters (a whole body)
    return f"{exc.__class__.__name__}: {str(getattr(exc, 'orig', None) or exc).splitlines()[0][:300]}"


def _post_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in POST_SUFFIXES and p.is_file())


def _files_summary(report: IngestReport, total: int) -> str | None:
    if not report.failed:
        return None
    where, reason = report.errors[0]
    return f"{report.failed} of {total} files unreadable; first: {where}: {reason}"


@dataclass(frozen=True)
class _FileResult:
    mtime: float = 0.0
    size: int = 0
    sha256: str | None = None  # None: the file could not be read at all
    prepared: PreparedArticle | None = None  # None with no error: same bytes as before
    error: str | None = None


def _prepare_file(job: tuple[str, str | None, int]) -> tuple[str, _FileResult]:
    # Runs in a worker process: read, hash, parse and summarise one post file.
    name, known_sha, max_chars = job
    try:
        stat = os.stat(name)
        if stat.st_size > MAX_FILE_BYTES:
            reason = f"file is {stat.st_size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit"
            # hashed by size and mtime: unchanged, it is not read again
            return name, _FileResult(stat.st_mtime, stat.st_size, f"size:{stat.st_size}", error=reason)
        data = Path(name).read_bytes()
    except OSError as exc:
        return name, _FileResult(error=exc.strerror or str(exc))
    sha = hashlib.sha256(data).hexdigest()
    if sha == known_sha:
        return name, _FileResult(stat.st_mtime, stat.st_size, sha)
    try:
        prepared = prepare(article_from_bytes(data, name, stat.st_mtime), max_chars)
    except ArticleError as exc:
        return name, _FileResult(stat.st_mtime, stat.st_size, sha, error=exc.reason)
    except Exception as exc:  # a parser bug must not stop the batch; the file is named
        log.exception("file %s: unexpected error", name)
        return name, _FileResult(stat.st_mtime, stat.st_size, sha, error=f"unexpected error: {exc!r}")
    return name, _FileResult(stat.st_mtime, stat.st_size, sha, prepared)


def _prepare_article(job: tuple[Article, int]) -> PreparedArticle | str:
    article, max_chars = job
    try:
        return prepare(article, max_chars)
    except Exception as exc:  # one bad item must not stop the feed; it is reported
        log.exception("feed item %s: unexpected error", article.url or article.title)
        return f"unexpected error: {exc!r}"
