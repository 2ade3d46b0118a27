"""RSS and Atom feeds: a conditional GET, then feedparser, then the posts' HTML cleaner."""

from __future__ import annotations

import calendar
import html
import http.client
import logging
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import feedparser

from . import __version__
from .article import Article
from .clean import MAX_BODY_CHARS, NestingError, clean_html, cut_body
from .dates import in_range, is_date_only
from .errors import DigestError
from .parse import cap_title

TIMEOUT_SECONDS = 20.0  # for each connect and read
# for the whole fetch, redirects included: a server sending a byte a second never trips the
# per-read timeout, and one such feed would hold every poll behind it
DEADLINE_SECONDS = 60.0
# redirects are followed to http(s) only (urllib would follow to ftp:), this many hops at most
MAX_REDIRECTS = 5
_WEB_SCHEMES = ("http", "https")
MAX_FEED_BYTES = 20 * 1024 * 1024  # a feed is a few hundred KB; more is not a feed
# feedparser reads a feed that is not well-formed XML with a pure-Python SGML parser, at
# some 30 µs a tag: a feed with more tags than this (escaped ones too) is refused before it
# is parsed, so its parse stays near a second. 50 full-text items make some 5,000.
MAX_FEED_TAGS = 50_000
# What one feed may add to a poll: items after these many, or after this much item markup
# in all, are dropped (with a warning); each item's body is cut at clean.MAX_BODY_CHARS.
MAX_FEED_ITEMS = 500
MAX_FEED_CHARS = 1_000_000
_TAG_MARKS = (b"<", b"&lt", b"&#60", b"&#x3c")
_USER_AGENT = f"digestbot/{__version__} (news digest feed reader)"
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"


log = logging.getLogger(__name__)


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
    deadline: float = DEADLINE_SECONDS,
) -> FeedResponse:
    """GET `url` with If-None-Match / If-Modified-Since, within `deadline` seconds in all;
    raises `FeedError` on any failure."""
    headers = {"User-Agent": _USER_AGENT, "Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    # urllib's opener also reads file:, data: and ftp: URLs: a feed URL is a web address
    try:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        request = urllib.request.Request(url, headers=headers)
    except ValueError as exc:  # `http://[::1`: urlsplit and Request refuse it
        raise FeedError(url[:200], f"not a valid URL: {_short(exc)}") from exc
    if scheme not in _WEB_SCHEMES:
        raise FeedError(url[:200], "not an http or https URL: only web feeds are fetched")
    watch = _Deadline(deadline)
    opener = urllib.request.build_opener(_HTTPHandler(watch), _HTTPSHandler(watch), _RedirectHandler())
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read(MAX_FEED_BYTES + 1)
            if watch.expired:  # the cut socket may look like a short, complete body
                raise FeedError(url, watch.reason)
            if len(body) > MAX_FEED_BYTES:
                raise FeedError(url, f"response is over the {MAX_FEED_BYTES:,}-byte limit")
            return FeedResponse(
                status=response.status,
                body=body,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                content_type=response.headers.get("Content-Type", ""),
            )
    except FeedError:
        raise
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return FeedResponse(status=304, etag=etag, last_modified=last_modified)
        if watch.expired:
            raise FeedError(url, watch.reason) from exc
        raise FeedError(url, f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if watch.expired:
            raise FeedError(url, watch.reason) from exc
        if isinstance(reason, _Refused):
            raise FeedError(url, str(reason)) from exc
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise FeedError(url, f"timed out after {timeout:g} s") from exc
        raise FeedError(url, f"cannot connect: {getattr(reason, 'strerror', None) or reason}") from exc
    except (TimeoutError, socket.timeout) as exc:
        raise FeedError(url, watch.reason if watch.expired else f"timed out after {timeout:g} s") from exc
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise FeedError(url, watch.reason if watch.expired else f"cannot fetch: {exc}") from exc
    finally:
        watch.cancel()


class _Refused(Exception):
    """A redirect the fetcher will not follow; its text is the reason."""


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    # the hops are counted here, so urllib's own (multi-line) loop errors never come first
    max_redirections = max_repeats = MAX_REDIRECTS + 1

    def http_error_302(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                       headers: Any) -> Any:
        target = headers.get("location") or headers.get("uri")
        if target:
            newurl = urllib.parse.urljoin(req.full_url, target)
            scheme = urllib.parse.urlsplit(newurl).scheme.lower()
            if scheme not in _WEB_SCHEMES:
                fp.close()
                raise urllib.error.URLError(_Refused(
                    f"redirected to {newurl[:200]!r}: only http and https redirects are followed"))
            if getattr(req, "digest_hops", 0) >= MAX_REDIRECTS:
                fp.close()
                raise urllib.error.URLError(_Refused(f"more than {MAX_REDIRECTS} redirects"))
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.digest_hops = getattr(req, "digest_hops", 0) + 1  # type: ignore[attr-defined]
        return new


class _Deadline:
    """Cuts the sockets of one fetch when its time is up: that ends any read in progress,
    however slowly the server sends."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def reason(self) -> str:
        return f"took longer than {self.seconds:g} s in all (the limit for one fetch)"

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _cut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _cut(sock)


def _cut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


def _watched(base: type[http.client.HTTPConnection], deadline: _Deadline) -> type[http.client.HTTPConnection]:
    class Connection(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            deadline.watch(self.sock)

    return Connection


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPConnection, self._deadline), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPSConnection, self._deadline), req,
                            context=self._context)  # type: ignore[attr-defined]


def parse_feed(body: bytes, url: str, content_type: str = "", *, now: datetime | None = None) -> Feed:
    """The items of an RSS or Atom document as articles; raises `FeedError` when it is not a feed."""
    tags = _tag_count(body)
    if tags > MAX_FEED_TAGS:
        raise FeedError(url, f"{tags:,} tags, over the {MAX_FEED_TAGS:,}-tag limit of a feed")
    try:
        # no sanitising nor link resolving inside items' HTML: clean_html keeps only its text
        # (scripts and styles dropped), and those two passes were most of feedparser's time
        parsed = feedparser.parse(body, response_headers={"content-type": content_type, "content-location": url},
                                  sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # hostile bytes: feedparser raises UnicodeError, ValueError, KeyError…
        raise FeedError(url, f"not a readable feed: {type(exc).__name__}: {_short(exc)}") from exc
    if not parsed.get("version"):
        raise FeedError(url, _not_a_feed(body, content_type, parsed))
    try:
        title = _text(parsed.feed.get("title"), (parsed.feed.get("title_detail") or {}).get("type", "")) or url
    except NestingError as exc:
        raise FeedError(url, f"the feed's title: {exc}") from exc
    fetched = now or datetime.now(timezone.utc)
    articles, errors = [], []
    entries = _within_limits(parsed.entries, url)
    for number, entry in enumerate(entries, 1):
        try:
            articles.append(_article(entry, title, fetched))
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            errors.append(f"item {number}: {exc}")
    return Feed(title=title, articles=articles, errors=errors)


def _tag_count(body: bytes) -> int:
    # escaped markup (&lt;p&gt;) is parsed as HTML too; UTF-16's `<` is still the byte `<`
    lowered = body.lower()
    return sum(lowered.count(mark) for mark in _TAG_MARKS)


def _within_limits(entries: list[Any], url: str) -> list[Any]:
    """The first entries, up to MAX_FEED_ITEMS and MAX_FEED_CHARS of markup in all."""
    kept: list[Any] = []
    chars = 0
    for entry in entries[:MAX_FEED_ITEMS]:
        chars += min(len(_longest_content(entry)), MAX_BODY_CHARS)
        if chars > MAX_FEED_CHARS and kept:
            break
        kept.append(entry)
    if len(kept) < len(entries):
        log.warning("feed %s: %s items; only the first %s are read (limits: %s items, %s characters)", url,
                    f"{len(entries):,}", f"{len(kept):,}", f"{MAX_FEED_ITEMS:,}", f"{MAX_FEED_CHARS:,}")
    return kept


def _article(entry: Any, source: str, fetched: datetime) -> Article:
    markup = _longest_content(entry)
    if len(markup) > MAX_BODY_CHARS:
        log.warning("feed item %s: body is %s characters; only the first %s are read",
                    _web_link(entry.get("link")) or _short_title(entry), f"{len(markup):,}", f"{MAX_BODY_CHARS:,}")
        markup = cut_body(markup)
    blocks = tuple(clean_html(markup, unescape_left=False)) if markup.strip() else ()
    title = _text(entry.get("title"), (entry.get("title_detail") or {}).get("type", "")) or (
        blocks[0].text[:60] if blocks else "")
    if not title:
        raise ValueError("no title and no text")
    title = cap_title(title)  # as a post's: jieba and a chat's message both have their limits
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    written = entry.get("published") if entry.get("published_parsed") else entry.get("updated")
    stamp = _moment(when)
    if stamp is None:  # none, or none digestbot believes (year 9999): as a post's, the time it was read
        when = None
    published = stamp or fetched
    categories = tuple(t["term"].strip() for t in entry.get("tags", []) if t.get("term", "").strip())
    return Article(
        title=title,
        blocks=blocks,
        published=published,
        date_from_file=when is None,
        date_only=when is not None and is_date_only(written),
        source=source,
        categories=categories,
        url=_web_link(entry.get("link")),
    )


def _moment(when: Any) -> datetime | None:
    """feedparser's time tuple as an aware time; None when it is missing or outside the
    years digestbot believes (digest.dates.in_range)."""
    if not when:
        return None
    try:
        moment = datetime.fromtimestamp(calendar.timegm(when), timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None
    return moment if in_range(moment) else None


def _web_link(link: object) -> str | None:
    # a `javascript:` or `data:` link would be sent to chats as a link to tap: http(s) only
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        scheme = urllib.parse.urlsplit(link.strip()).scheme.lower()
    except ValueError:
        return None
    return link.strip() if scheme in _WEB_SCHEMES else None


def _longest_content(entry: Any) -> str:
    # as HTML: feedparser gives text/plain values as text, whose `&` and `<` are characters
    # a value may be None: feedparser's unsanitised path leaves an empty element's so
    candidates = [_as_html(c.get("value") or "", c.get("type", "")) for c in entry.get("content", [])]
    summary = entry.get("summary_detail") or {}
    candidates.append(_as_html(entry.get("summary") or "", summary.get("type", "")))
    return max(candidates, key=len)


def _as_html(value: str, content_type: str) -> str:
    return html.escape(value) if content_type == "text/plain" else value


def _text(value: object, content_type: str = "text/html") -> str:
    # feedparser gives text/plain values as text; other values are HTML, with tags or entities
    if not value:
        return ""
    text = str(value)[:MAX_BODY_CHARS]  # a title or a name: more is never shown
    if content_type != "text/plain" and ("<" in text or "&" in text):
        text = " ".join(b.text for b in clean_html(text, unescape_left=False))
    return " ".join(text.split())


def _short_title(entry: Any) -> str:
    return repr(" ".join(str(entry.get("title", "")).split())[:80])


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or "no detail"


def _not_a_feed(body: bytes, content_type: str, parsed: Any) -> str:
    head = body[:512].lstrip().lower()
    if "html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html")):
        return f"not an RSS or Atom feed: got an HTML page ({content_type or 'no content type'})"
    if not body.strip():
        return "not an RSS or Atom feed: the response is empty"
    problem = parsed.get("bozo_exception")
    return f"not an RSS or Atom feed: {problem}" if problem else "not an RSS or Atom feed"
