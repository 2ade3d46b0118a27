"""Ingest: poll each source for what is new, and count what storing it gave.

Polling is what this module holds: which sources are due, which files changed since the
last look, which feed items are not held yet, and each source's poll state and report.
Preparing an article (the slow part: summary and fingerprints) runs in `digest.workers`,
spread over processes for big batches; storing it by the dedup rules is `digest.dedup`.
They are apart because each changes for its own reasons: a new kind of source touches
only this module, a new rule for "the same article" only dedup.

Every article is saved in its own transaction, so a failure (a broken file, a feed that
times out, a database error on one row) loses nothing already stored and stops nothing
else; this process does all the database writes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import feeds, leases, sources
from .article import Article
from .dedup import DUPLICATE, NEW, UNCHANGED, UPDATED, known_outcome, save
from .errors import DigestError
from .schema import files
from .store import Store, insert
from .summarize import DEFAULT_MAX_CHARS
from .workers import FileResult, map_jobs, prepare_file, prepare_item

log = logging.getLogger(__name__)

_DUE_SLACK = timedelta(seconds=30)
# how long a process may poll one source before another may take it over: a feed's fetch
# has a minute at most (feeds.DEADLINE_SECONDS); a big folder, its files' parsing
SOURCE_LEASE = timedelta(minutes=10)

Progress = Callable[[str, int, int], None]  # (source, done, total)


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
    links: list[str] = field(default_factory=list)  # symbolic links in posts folders: skipped, never followed

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
        self.links.extend(other.links)

    def line(self) -> str:
        """The one-line summary: new / updated / duplicate / failed / unchanged (and links skipped)."""
        near = f" ({self.near_duplicate} near-duplicate)" if self.near_duplicate else ""
        links = f", {len(self.links)} symbolic link(s) skipped" if self.links else ""
        return (
            f"{self.new} new{near}, {self.updated} updated, {self.duplicate} duplicate, "
            f"{self.failed} failed, {self.unchanged} unchanged{links}"
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
        should_stop: Callable[[], bool] | None = None,
        holder: str | None = None,
        keep_missing: bool = False,
    ) -> None:
        self.store = store
        # configured sources: one that names nothing yet is kept as a failing source, so that
        # `digestbot sources` and /stats show it, not only the log (a one-off typo is not kept)
        self.keep_missing = keep_missing
        self.poll_minutes = poll_minutes
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.max_chars = max_chars
        self.fetch = fetch
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.progress = progress
        # asked between sources and between articles: a stopping bot leaves at the next one
        self.should_stop = should_stop or (lambda: False)
        # a bot process sharing the store with others: each source is polled by the one
        # holding its lease (digest/leases.py) at the time; None: no other process to mind
        self.holder = holder

    def ingest(self, locations: Iterable[str]) -> IngestReport:
        """Poll every source now (folders, files, feed URLs), registering new ones."""
        report = IngestReport()
        for raw in locations:
            if self.should_stop():
                break
            source = self._register(raw, report)
            if source is not None:
                report.merge(self._poll_alone(*source))
        return report

    def poll_due(self, locations: Iterable[str]) -> IngestReport:
        """Poll the sources whose backoff has passed (the scheduler's job)."""
        now = self.clock()
        report = IngestReport()
        for raw in locations:
            if self.should_stop():
                break
            source = self._register(raw, report)
            if source is None:
                continue
            with self.store.connect() as conn:
                due = _due(conn, source[0], now)
            if due:
                report.merge(self._poll_alone(*source))
        return report

    def _poll_alone(self, source_id: int, location: str, kind: str) -> IngestReport:
        """`poll`, unless another process polls the source now (it holds its lease)."""
        if self.holder is None:
            return self.poll(source_id, location, kind)
        name = f"source:{location}"[:300]
        if not leases.acquire(self.store, name, self.holder, now=datetime.now(timezone.utc), ttl=SOURCE_LEASE):
            log.info("source %s: polled by another process now", location)
            return IngestReport()
        try:
            return self.poll(source_id, location, kind)
        finally:
            leases.release(self.store, name, self.holder)

    def _register(self, raw: str, report: IngestReport) -> tuple[int, str, str] | None:
        # (id, location, kind) of the source `raw` names, added when new; None, reported, if it names none
        try:
            kind = sources.kind_of(raw)
        except DigestError as exc:
            log.warning("source %s: %s", raw, exc)
            reason = str(exc).removeprefix(f"{raw}: ")
            report.fail(raw, reason)
            if self.keep_missing:
                self._record_missing(sources.normalise_location(raw), reason)
            return None
        location = sources.normalise_location(raw)
        with self.store.begin() as conn:
            return sources.register(conn, location, kind), location, kind

    def _record_missing(self, location: str, reason: str) -> None:
        # a failure counted once per backoff, as a source that cannot be read is
        now = self.clock()
        with self.store.begin() as conn:
            source_id = sources.register(conn, location, "posts")
            if _due(conn, source_id, now):
                sources.record_failure(conn, source_id, now, self.poll_minutes, reason)

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
            found = paths if paths is not None else _post_files(root, report)
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
        for name, result in map_jobs(prepare_file, [(n, sha, self.max_chars) for n, sha in changed], self.workers):
            if self.should_stop():  # not recorded as read: the files not saved are read next time
                return report
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
        self, source_id: int, name: str, result: FileResult, row: Any, report: IngestReport, now: datetime
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
            if self.should_stop():
                return report
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
        prepared = map_jobs(prepare_item, [(a, self.max_chars) for a in fresh], self.workers)
        for article, result in zip(fresh, prepared, strict=True):
            if self.should_stop():  # its validators not kept: the next GET is not a 304 that loses the rest
                return report
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
        # held as it is, or told first by another source: counted, and not summarised again
        with self.store.connect() as conn:
            outcome = known_outcome(conn, article, source_id)
        if outcome is None:
            return False
        report.count(outcome)
        return True

    # -- shared ------------------------------------------------------------------------

    def _source_failed(self, source_id: int, where: str, reason: str, report: IngestReport) -> IngestReport:
        report.fail(where, reason)
        with self.store.begin() as conn:
            retry = sources.record_failure(conn, source_id, self.clock(), self.poll_minutes, reason)
        log.warning("source %s: %s (retry after %s)", where, reason, retry.isoformat(timespec="seconds"))
        return report

    def _tick(self, where: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(where, done, total)


def _record_file(
    conn: Connection, source_id: int, name: str, result: FileResult, article_id: int | None, now: datetime
) -> None:
    # the file as this poll saw it: the next poll opens it only if its mtime or size moved
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


def _due(conn: Connection, source_id: int, now: datetime) -> bool:
    """Whether the source's backoff has passed (or it was never read). A source read at the
    last run is due again at this one, though its next time is a few milliseconds later
    than the scheduler's (it was stamped mid-run)."""
    due = sources.next_poll_at(conn, source_id)
    return due is None or due <= now + _DUE_SLACK


def _post_files(root: Path, report: IngestReport) -> list[Path]:
    found = sources.post_files(root)
    for link in found.links:
        log.warning("posts folder %s: skipped the symbolic link %s (links are not followed)", root, link)
        report.links.append(str(link))  # the operator's report names it too: the log may go nowhere
    return found.paths


def _files_summary(report: IngestReport, total: int) -> str | None:
    if not report.failed:
        return None
    where, reason = report.errors[0]
    return f"{report.failed} of {total} files unreadable; first: {where}: {reason}"
