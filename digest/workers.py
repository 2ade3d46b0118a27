"""The work done in worker processes: read, hash, parse and prepare post files and feed items.

Summarising is the slow part of ingest; a big batch is spread over forked processes while
the polling process (`digest.ingest`) does every database write. Nothing here touches the
store, and a job hands its failure back as a value: one bad file or item is reported,
and the batch goes on.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .article import Article
from .errors import ArticleError
from .parse import MAX_FILE_BYTES, article_from_bytes
from .prepared import PreparedArticle, prepare
from .text import idf_table, search_terms

log = logging.getLogger(__name__)

_PARALLEL_MIN = 64  # fewer changed articles than this are not worth starting workers
_CHUNK = 256  # articles handed to the workers at a time (bounds memory on huge folders)


@dataclass(frozen=True)
class FileResult:
    """What reading one post file gave: its stat and hash, and the article or the reason."""

    mtime: float = 0.0
    size: int = 0
    sha256: str | None = None  # None: the file could not be read at all
    prepared: PreparedArticle | None = None  # None with no error: same bytes as before
    error: str | None = None


def map_jobs(function: Callable[[Any], Any], jobs: Sequence[Any], workers: int) -> Iterator[Any]:
    """`function` of each job, in order: in up to `workers` forked processes when the
    batch is big enough to pay for starting them, else here."""
    if workers <= 1 or len(jobs) < _PARALLEL_MIN:
        yield from map(function, jobs)
        return
    # Warm jieba and the IDF table before forking, so every worker shares them.
    search_terms("预热")
    idf_table()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for start in range(0, len(jobs), _CHUNK):
            yield from pool.map(function, jobs[start : start + _CHUNK], chunksize=8)


def prepare_file(job: tuple[str, str | None, int]) -> tuple[str, FileResult]:
    """Read, hash, parse and prepare one post file: job (path, SHA-256 last seen, max_chars)."""
    name, known_sha, max_chars = job
    try:
        stat = os.stat(name)
        if stat.st_size > MAX_FILE_BYTES:
            reason = f"file is {stat.st_size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit"
            # hashed by size and mtime: unchanged, it is not read again
            return name, FileResult(stat.st_mtime, stat.st_size, f"size:{stat.st_size}", error=reason)
        data = Path(name).read_bytes()
    except OSError as exc:
        return name, FileResult(error=exc.strerror or str(exc))
    sha = hashlib.sha256(data).hexdigest()
    if sha == known_sha:
        return name, FileResult(stat.st_mtime, stat.st_size, sha)
    try:
        prepared = prepare(article_from_bytes(data, name, stat.st_mtime), max_chars)
    except ArticleError as exc:
        return name, FileResult(stat.st_mtime, stat.st_size, sha, error=exc.reason)
    except Exception as exc:  # a parser bug must not stop the batch; the file is named
        log.exception("file %s: unexpected error", name)
        return name, FileResult(stat.st_mtime, stat.st_size, sha, error=f"unexpected error: {exc!r}")
    return name, FileResult(stat.st_mtime, stat.st_size, sha, prepared)


def prepare_item(job: tuple[Article, int]) -> PreparedArticle | str:
    """Prepare one feed item: job (article, max_chars); the reason as text if that failed."""
    article, max_chars = job
    try:
        return prepare(article, max_chars)
    except Exception as exc:  # one bad item must not stop the feed; it is reported
        log.exception("feed item %s: unexpected error", article.url or article.title)
        return f"unexpected error: {exc!r}"
