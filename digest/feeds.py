"""RSS and Atom feeds: a conditional GET, then feedparser, then the posts' HTML cleaner."""

from __future__ import annotations

import calendar
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import feedparser

from . import __version__
from .article import Article
from .clean import clean_html
from .dates import is_date_only
from .errors import DigestError

TIMEOUT_SECONDS = 20.0
MAX_FEED_BYTES = 20 * 1024 * 1024  # a feed is a few hundred KB; more is not a feed
_USER_AGENT = f"digestbot/{__version__} (news digest feed reader)"
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"


class FeedError(DigestError):
    """A feed could not be fetched or read; `reason` says why, for the operator."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class FeedResponse:
    """What a GET of a feed returned; status 304 means unchanged since the last poll."""

    status: int
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""


@dataclass(frozen=True)
class Feed:
    """A parsed feed: its title, its items as articles, and the items that failed."""

    title: str
    articles: list[Article]
    errors: list[str] = field(default_factory=list)


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> FeedResponse:
    """GET `url` with If-None-Match / If-Modified-Since; raises `FeedError` on any failure."""
    headers = {"User-Agent": _USER_AGENT, "Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_FEED_BYTES + 1)
            if len(body) > MAX_FEED_BYTES:
                raise FeedError(url, f"response is over the {MAX_FEED_BYTES:,}-byte limit")
            return FeedResponse(
                status=response.status,
                body=body,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                content_type=response.headers.get("Content-Type", ""),
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return FeedResponse(status=304, etag=etag, last_modified=last_modified)
        raise FeedError(url, f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise FeedError(url, f"timed out after {timeout:g} s") from exc
        raise FeedError(url, f"cannot connect: {getattr(reason, 'strerror', None) or reason}") from exc
    except (TimeoutError, socket.timeout) as exc:
        raise FeedError(url, f"timed out after {timeout:g} s") from exc
    except (OSError, ValueError) as exc:
        raise FeedError(url, f"cannot fetch: {exc}") from exc


def parse_feed(body: bytes, url: str, content_type: str = "", *, now: datetime | None = None) -> Feed:
    """The items of an RSS or Atom document as articles; raises `FeedError` when it is not a feed."""
    parsed = feedparser.parse(body, response_headers={"content-type": content_type, "content-location": url})
    if not parsed.get("version"):
        raise FeedError(url, _not_a_feed(body, content_type, parsed))
    title = _text(parsed.feed.get("title")) or url
    fetched = now or datetime.now(timezone.utc)
    articles, errors = [], []
    for number, entry in enumerate(parsed.entries, 1):
        try:
            articles.append(_article(entry, title, fetched))
        except (ValueError, TypeError, AttributeError) as exc:
            errors.append(f"item {number}: {exc}")
    return Feed(title=title, articles=articles, errors=errors)


def _article(entry: Any, source: str, fetched: datetime) -> Article:
    html = _longest_content(entry)
    blocks = tuple(clean_html(html)) if html.strip() else ()
    title = _text(entry.get("title")) or (blocks[0].text[:60] if blocks else "")
    if not title:
        raise ValueError("no title and no text")
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    written = entry.get("published") if entry.get("published_parsed") else entry.get("updated")
    published = datetime.fromtimestamp(calendar.timegm(when), timezone.utc) if when else fetched
    categories = tuple(t["term"].strip() for t in entry.get("tags", []) if t.get("term", "").strip())
    return Article(
        title=title,
        blocks=blocks,
        published=published,
        date_from_file=when is None,
        date_only=when is not None and is_date_only(written),
        source=source,
        categories=categories,
        url=entry.get("link") or None,
    )


def _longest_content(entry: Any) -> str:
    candidates = [c.get("value", "") for c in entry.get("content", [])]
    candidates.append(entry.get("summary", ""))
    return max(candidates, key=len)


def _text(value: object) -> str:
    # feedparser has already turned entities into characters; a title may still carry tags
    if not value:
        return ""
    blocks = clean_html(str(value)) if "<" in str(value) else None
    text = " ".join(b.text for b in blocks) if blocks is not None else str(value)
    return " ".join(text.split())


def _not_a_feed(body: bytes, content_type: str, parsed: Any) -> str:
    head = body[:512].lstrip().lower()
    if "html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html")):
        return f"not an RSS or Atom feed: got an HTML page ({content_type or 'no content type'})"
    if not body.strip():
        return "not an RSS or Atom feed: the response is empty"
    problem = parsed.get("bozo_exception")
    return f"not an RSS or Atom feed: {problem}" if problem else "not an RSS or Atom feed"
