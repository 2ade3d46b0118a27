"""The prepared article: everything ingest computes once per article, before storing it.

Summarising and fingerprinting are the slow part of ingest and need no database, so they
are one pure step, `prepare`, whose value the worker processes (`digest.workers`) hand back
and the dedup rules (`digest.dedup`) store. It has a module of its own so that neither of
those two depends on the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import fingerprint
from .article import Article
from .summarize import DEFAULT_MAX_CHARS, Summary, summarize
from .text import search_terms, stopwords


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
