"""Sources and their poll state: a posts folder, one post file, or an RSS/Atom feed.

A source that fails is retried with exponential backoff — the poll interval, doubled at
each failure in a row, up to a day — and `digestbot sources` shows why it failed.

Every location ever ingested is a row here, but only the configured ones (DIGESTBOT_SOURCES,
else seeds/) are polled by the bot: a one-off `digestbot ingest URL` is listed as such,
and `remove_source` takes it away (its articles stay).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .errors import DigestError
# `sources_table` here: a `sources` inside the module `sources` was one name for two things
from .schema import articles, files
from .schema import sources as sources_table
from .store import Store, insert

MAX_BACKOFF = timedelta(days=1)
POST_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True)
class PostFiles:
    """The post files under a folder, and the symbolic links skipped on the way."""

    paths: list[Path]
    links: list[Path]


def post_files(root: Path) -> PostFiles:
    """Every .md/.markdown file under `root`, sorted. Symbolic links, to files or folders,
    are not followed but listed in `links`: one in a posts folder stored a system file."""
    paths: list[Path] = []
    links: list[Path] = []
    for folder, dirs, names in os.walk(root, onerror=_raise):  # os.walk does not enter linked folders
        here = Path(folder)
        for name in dirs:
            if (here / name).is_symlink():
                links.append(here / name)
        for name in names:
            path = here / name
            if path.is_symlink():
                links.append(path)
            elif path.suffix.lower() in POST_SUFFIXES and path.is_file():
                paths.append(path)
    return PostFiles(sorted(paths), sorted(links))


def _raise(error: OSError) -> None:
    raise error  # an unreadable folder fails the poll (it may heal), as it did with rglob


@dataclass(frozen=True)
class SourceState:
    """A source as `digestbot sources` shows it."""

    id: int
    location: str
    kind: str
    title: str | None
    polled_at: datetime | None
    ok_at: datetime | None
    next_poll_at: datetime | None
    failures: int
    last_error: str | None
    articles: int
    failed_files: int
    configured: bool = False  # in DIGESTBOT_SOURCES (or the default): the bot polls it

    @property
    def healthy(self) -> bool:
        """True when the last poll worked and no file of it is broken."""
        return self.failures == 0 and not self.failed_files and self.last_error is None


def kind_of(location: str) -> str:
    """`feed` for an http(s) URL, `posts` for a folder, `file` for a file; raises
    `DigestError` for anything else."""
    if location.lower().startswith(("http://", "https://")):
        return "feed"
    path = Path(location)
    if path.is_dir():
        return "posts"
    if path.is_file():
        return "file"
    raise DigestError(f"{location}: no such folder or file, and not an http(s) feed URL")


def normalise_location(location: str) -> str:
    """Feeds keep their URL; folders and files are made absolute, so two spellings of one
    path are one source."""
    if location.lower().startswith(("http://", "https://")):
        return location.strip()
    return os.path.abspath(os.path.expanduser(location))


def register(conn: Connection, location: str, kind: str) -> int:
    """The id of the source at `location`, added when new (its kind kept current: a
    configured folder recorded while it was missing may turn out to be a file)."""
    row = conn.execute(sa.select(sources_table.c.id, sources_table.c.kind).where(sources_table.c.location == location)).first()
    if row is not None:
        if row.kind != kind:
            conn.execute(sources_table.update().where(sources_table.c.id == row.id).values(kind=kind))
        return int(row.id)
    insert_ = insert(conn, sources_table).values(location=location, kind=kind, failures=0)
    conn.execute(insert_.on_conflict_do_nothing(index_elements=["location"]))
    return conn.execute(sa.select(sources_table.c.id).where(sources_table.c.location == location)).scalar_one()


def next_poll_at(conn: Connection, source_id: int) -> datetime | None:
    """When the source is due again (its backoff included); None when never read."""
    return conn.execute(sa.select(sources_table.c.next_poll_at).where(sources_table.c.id == source_id)).scalar()


def validators(conn: Connection, source_id: int) -> tuple[str | None, str | None]:
    """The (ETag, Last-Modified) a feed last answered with, for a conditional GET."""
    row = conn.execute(
        sa.select(sources_table.c.etag, sources_table.c.last_modified).where(sources_table.c.id == source_id)
    ).one()
    return row.etag, row.last_modified


def record_success(
    conn: Connection,
    source_id: int,
    now: datetime,
    poll_minutes: int,
    *,
    title: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    error: str | None = None,
) -> None:
    """The source was read; `error` sums up items or files that failed within it."""
    values = {
        "polled_at": now,
        "ok_at": now,
        "next_poll_at": now + timedelta(minutes=poll_minutes),
        "failures": 0,
        "last_error": error,
        "etag": etag,
        "last_modified": last_modified,
    }
    if title:
        values["title"] = title
    conn.execute(sources_table.update().where(sources_table.c.id == source_id).values(**values))


def record_failure(conn: Connection, source_id: int, now: datetime, poll_minutes: int, error: str) -> datetime:
    """The source could not be read: count the failure, back off; returns the next poll time."""
    failures = conn.execute(sa.select(sources_table.c.failures).where(sources_table.c.id == source_id)).scalar_one() + 1
    delay = min(timedelta(minutes=poll_minutes) * 2 ** min(failures - 1, 16), MAX_BACKOFF)
    next_poll = now + delay
    conn.execute(
        sources_table.update()
        .where(sources_table.c.id == source_id)
        .values(polled_at=now, next_poll_at=next_poll, failures=failures, last_error=error)
    )
    return next_poll


def list_sources(store: Store, configured: Iterable[str] = ()) -> list[SourceState]:
    """Every source with its state, article count and broken-file count; those at one of
    the `configured` locations (as DIGESTBOT_SOURCES spells them) are marked so."""
    polled = {normalise_location(location) for location in configured}
    counts = (
        sa.select(articles.c.source_id, sa.func.count().label("n")).group_by(articles.c.source_id).subquery()
    )
    broken = (
        sa.select(files.c.source_id, sa.func.count().label("n"))
        .where(files.c.error.is_not(None))
        .group_by(files.c.source_id)
        .subquery()
    )
    query = (
        sa.select(sources_table, counts.c.n.label("article_count"), broken.c.n.label("broken_count"))
        .outerjoin(counts, counts.c.source_id == sources_table.c.id)
        .outerjoin(broken, broken.c.source_id == sources_table.c.id)
        .order_by(sources_table.c.id)
    )
    with store.connect() as conn:
        return [
            SourceState(
                id=row.id,
                location=row.location,
                kind=row.kind,
                title=row.title,
                polled_at=row.polled_at,
                ok_at=row.ok_at,
                next_poll_at=row.next_poll_at,
                failures=row.failures,
                last_error=row.last_error,
                articles=row.article_count or 0,
                failed_files=row.broken_count or 0,
                configured=row.location in polled,
            )
            for row in conn.execute(query)
        ]


def remove_source(store: Store, location: str) -> bool:
    """Forget the source at `location` and its files' state; its articles stay, with no
    source. False when there is no such source."""
    with store.begin() as conn:
        gone = conn.execute(sources_table.delete().where(sources_table.c.location == normalise_location(location)))
    return bool(gone.rowcount)


def broken_files(store: Store, source_id: int) -> list[tuple[str, str]]:
    """(path, reason) of each file of a source whose current version could not be read."""
    query = (
        sa.select(files.c.path, files.c.error)
        .where(files.c.source_id == source_id, files.c.error.is_not(None))
        .order_by(files.c.path)
    )
    with store.connect() as conn:
        return [(row.path, row.error) for row in conn.execute(query)]

