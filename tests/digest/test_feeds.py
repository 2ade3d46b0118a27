"""RSS/Atom feeds from a server on 127.0.0.1: conditional GET, cleaning, failures, backoff."""

from __future__ import annotations

import functools
import html
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from digest import feeds
from digest.parse import MAX_TITLE_CHARS
from digest.ingest import Ingestor
from digest.search import search
from digest.sources import list_sources
from digest.store import Store
from tests.support.builders import ROOT, rss
from tests.support.feeds import FeedServer, Route
from tests.support.texts import AI_BODY, BANK_BODY, PORT_BODY

NOW = datetime(2021, 4, 20, 8, 0, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _items() -> list[dict[str, str]]:
    escaped = AI_BODY.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return [
        {
            "title": "人工智能助手进驻政务大厅",
            "link": "http://127.0.0.1/news/1?utm_source=rss",
            "description": escaped + "&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;价格 &amp;#123;见附表&amp;#125;&lt;/p&gt;",
            "pubDate": "Mon, 19 Apr 2021 19:01:48 GMT",
            "category": "科技",
        },
        {
            "title": "多家银行下调存款利率",
            "link": "http://127.0.0.1/news/2",
            "description": f"<![CDATA[{BANK_BODY}]]>",
            "pubDate": "Tue, 20 Apr 2021 02:00:00 GMT",
            "category": "金融",
        },
    ]


def _ingestor(store: Store, clock: Clock, **kwargs: object) -> Ingestor:
    return Ingestor(store, workers=1, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_a_feed_is_ingested_cleaned_and_then_asked_conditionally(store: Store, feed_server: FeedServer) -> None:
    feed_server.routes["/rss"] = Route(rss(_items()), etag='"v1"', last_modified="Tue, 20 Apr 2021 02:00:00 GMT")
    clock = Clock(NOW)
    first = _ingestor(store, clock).ingest([feed_server.url("/rss")])
    assert (first.new, first.failed) == (2, 0)
    ai = search(store, "人工智能").hits[0].article
    assert ai.source_name == "测试新闻网" and ai.category == "科技"
    assert ai.url == "http://127.0.0.1/news/1?utm_source=rss" and ai.uid == "http://127.0.0.1/news/1"
    assert "<" not in ai.body and "alert" not in ai.body and "{见附表}" in ai.body
    assert ai.published == datetime(2021, 4, 19, 19, 1, 48, tzinfo=timezone.utc)

    second = _ingestor(store, clock).ingest([feed_server.url("/rss")])
    assert (second.new, second.unchanged) == (0, 0)  # 304: nothing even parsed
    _, headers = feed_server.requests[-1]
    assert headers.get("If-None-Match") == '"v1"'
    assert headers.get("If-Modified-Since") == "Tue, 20 Apr 2021 02:00:00 GMT"


def test_a_feed_without_validators_repeats_items_that_are_not_summarised_again(
    store: Store, feed_server: FeedServer
) -> None:
    feed_server.routes["/rss"] = Route(rss(_items()))
    clock = Clock(NOW)
    _ingestor(store, clock).ingest([feed_server.url("/rss")])
    items = _items() + [
        {"title": "长江港口吞吐量回升", "link": "http://127.0.0.1/news/3", "description": f"<![CDATA[{PORT_BODY}]]>"}
    ]
    feed_server.routes["/rss"] = Route(rss(items))
    report = _ingestor(store, clock).ingest([feed_server.url("/rss")])
    assert (report.new, report.unchanged, report.updated) == (1, 2, 0)
    port = search(store, "港口").hits[0].article
    assert port.published == NOW  # no date in the item: the time it was fetched


def test_an_edited_item_updates_its_article(store: Store, feed_server: FeedServer) -> None:
    feed_server.routes["/rss"] = Route(rss(_items()))
    clock = Clock(NOW)
    _ingestor(store, clock).ingest([feed_server.url("/rss")])
    items = _items()
    items[1]["description"] = items[1]["description"].replace("理财产品", "货币基金")
    feed_server.routes["/rss"] = Route(rss(items))
    report = _ingestor(store, clock).ingest([feed_server.url("/rss")])
    assert (report.updated, report.new) == (1, 0)
    assert search(store, "货币基金").total == 1 and store.count_articles() == 2


def test_atom_feeds_are_read(store: Store, feed_server: FeedServer) -> None:
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>原子新闻</title><id>urn:test</id><updated>2021-04-20T08:00:00Z</updated>"
        "<entry><title>长江港口吞吐量回升</title><id>urn:1</id><link href='http://127.0.0.1/atom/1'/>"
        "<updated>2021-04-20T08:00:00Z</updated>"
        f"<content type='html'><![CDATA[{PORT_BODY}]]></content></entry></feed>"
    ).encode("utf-8")
    feed_server.routes["/atom"] = Route(atom, content_type="application/atom+xml")
    report = _ingestor(store, Clock(NOW)).ingest([feed_server.url("/atom")])
    assert report.new == 1
    (article,) = store.latest()
    assert article.source_name == "原子新闻" and article.url == "http://127.0.0.1/atom/1"
    assert article.summary and "港口" in article.body


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (None, "HTTP 404"),
        (Route(b"oops", status=500, content_type="text/plain"), "HTTP 500"),
        (Route(b"<!DOCTYPE html><html><body>login</body></html>", content_type="text/html"), "HTML page"),
        (Route(b"", content_type="application/xml"), "empty"),
    ],
)
def test_a_broken_feed_is_reported_and_backed_off(
    store: Store, feed_server: FeedServer, route: Route | None, reason: str
) -> None:
    if route is not None:
        feed_server.routes["/feed"] = route
    feed_server.routes["/good"] = Route(rss(_items()))
    clock = Clock(NOW)
    report = _ingestor(store, clock).ingest([feed_server.url("/feed"), feed_server.url("/good")])
    assert report.new == 2 and report.failed == 1
    assert report.errors[0][0] == feed_server.url("/feed") and reason in report.errors[0][1]
    bad = next(s for s in list_sources(store) if s.location.endswith("/feed"))
    assert bad.failures == 1 and reason in (bad.last_error or "")
    assert bad.next_poll_at == NOW + timedelta(minutes=10)

    clock.now = NOW + timedelta(minutes=11)
    _ingestor(store, clock).ingest([feed_server.url("/feed")])
    bad = next(s for s in list_sources(store) if s.location.endswith("/feed"))
    assert bad.failures == 2 and bad.next_poll_at == clock.now + timedelta(minutes=20)


def test_the_scheduler_waits_out_the_backoff_then_the_feed_heals(store: Store, feed_server: FeedServer) -> None:
    url = feed_server.url("/flaky")
    feed_server.routes["/flaky"] = Route(b"busy", status=503, content_type="text/plain")
    clock = Clock(NOW)
    ingestor = _ingestor(store, clock)
    assert ingestor.poll_due([url]).failed == 1
    calls = len(feed_server.requests)
    clock.now = NOW + timedelta(minutes=5)
    assert ingestor.poll_due([url]).failed == 0 and len(feed_server.requests) == calls  # still backing off
    feed_server.routes["/flaky"] = Route(rss(_items()))
    clock.now = NOW + timedelta(minutes=10)
    assert ingestor.poll_due([url]).new == 2
    (state,) = list_sources(store)
    assert state.failures == 0 and state.last_error is None and state.title == "测试新闻网"


def test_a_feed_that_times_out_is_reported(store: Store, feed_server: FeedServer) -> None:
    feed_server.routes["/slow"] = Route(rss(_items()), delay=1.0)
    fetch = functools.partial(feeds.fetch, timeout=0.3)
    report = _ingestor(store, Clock(NOW), fetch=fetch).ingest([feed_server.url("/slow")])
    assert report.failed == 1 and "timed out after 0.3 s" in report.errors[0][1]


def test_an_unreachable_feed_is_reported() -> None:
    with pytest.raises(feeds.FeedError, match="cannot connect"):
        feeds.fetch("http://127.0.0.1:9/feed.xml", timeout=2)


def test_items_without_title_or_text_are_counted_as_failures() -> None:
    body = rss([{"link": "http://127.0.0.1/x"}, {"title": "只有标题", "link": "http://127.0.0.1/y"}])
    feed = feeds.parse_feed(body, "http://127.0.0.1/rss")
    assert [a.title for a in feed.articles] == ["只有标题"]
    assert feed.errors == ["item 1: no title and no text"]


# -- hostile feeds (issue 11) -----------------------------------------------------------

_GOOD = rss([{"title": "多家银行下调存款利率", "link": "http://127.0.0.1/news/2", "description": f"<![CDATA[{BANK_BODY}]]>"}])
# each made feedparser raise (UnicodeError, ValueError, UnicodeDecodeError) through parse_feed
_MALFORMED = {
    "undefined-encoding": _GOOD.replace(b'encoding="UTF-8"', b'encoding="undefined"'),
    "nul-in-encoding": _GOOD.replace(b'encoding="UTF-8"', b'encoding="x\x00"'),
    "junk-bytes": b'<?xml \xf9version="1.0" encoding="\xc2UTF-8"?><rss versi\xe6kon="2.0"' + _GOOD[60:],
}


@pytest.mark.parametrize("body", _MALFORMED.values(), ids=_MALFORMED.keys())
def test_a_malformed_feed_is_a_feed_error_with_a_reason(body: bytes) -> None:
    with pytest.raises(feeds.FeedError, match=r"^http://127\.0\.0\.1/bad: not a readable feed: \w+: .+") as caught:
        feeds.parse_feed(body, "http://127.0.0.1/bad", "application/rss+xml")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("body", _MALFORMED.values(), ids=_MALFORMED.keys())
def test_a_malformed_feed_is_marked_failing_and_the_next_feed_is_read(
    store: Store, feed_server: FeedServer, body: bytes
) -> None:
    feed_server.routes["/bad"] = Route(body, content_type="application/rss+xml")  # no charset: the XML says
    feed_server.routes["/good"] = Route(_GOOD)
    report = _ingestor(store, Clock(NOW)).ingest([feed_server.url("/bad"), feed_server.url("/good")])
    assert (report.new, report.failed) == (1, 1)
    assert report.errors[0][0] == feed_server.url("/bad") and "not a readable feed" in report.errors[0][1]
    bad = next(s for s in list_sources(store) if s.location.endswith("/bad"))
    assert bad.failures == 1 and "not a readable feed" in (bad.last_error or "")


def test_digestbot_ingest_says_one_line_per_bad_feed_and_exits_1(tmp_path: Path, feed_server: FeedServer) -> None:
    for name, body in _MALFORMED.items():
        feed_server.routes[f"/{name}"] = Route(body, content_type="application/rss+xml")
    feed_server.routes["/good"] = Route(_GOOD)
    urls = [feed_server.url(f"/{name}") for name in _MALFORMED] + [feed_server.url("/good")]
    result = subprocess.run(
        [sys.executable, "-m", "digest", "ingest", "--database", f"sqlite:///{tmp_path / 'store.db'}", *urls],
        capture_output=True, text=True, cwd=ROOT, timeout=120, env=_no_proxy_env(),
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("digestbot: error: ")]
    assert [e.split(": not a readable feed: ")[0] for e in errors] == [f"digestbot: error: {u}" for u in urls[:-1]]
    assert result.stdout.strip() == "ingest: 1 new, 0 updated, 0 duplicate, 3 failed, 0 unchanged"


def test_a_feed_that_drips_fails_at_the_overall_deadline(store: Store, feed_server: FeedServer) -> None:
    # every byte comes well within the per-read timeout; the whole would take minutes
    feed_server.routes["/drip"] = Route(_GOOD, drip=0.2)
    feed_server.routes["/good"] = Route(_GOOD.replace(b"news/2", b"news/3"))
    fetch = functools.partial(feeds.fetch, timeout=5, deadline=1)
    report = _ingestor(store, Clock(NOW), fetch=fetch).ingest([feed_server.url("/drip"), feed_server.url("/good")])
    assert (report.failed, report.new) == (1, 1)
    assert report.errors == [(feed_server.url("/drip"), "took longer than 1 s in all (the limit for one fetch)")]


def test_the_overall_deadline_is_a_documented_minute() -> None:
    import inspect

    assert feeds.DEADLINE_SECONDS == 60
    assert inspect.signature(feeds.fetch).parameters["deadline"].default == feeds.DEADLINE_SECONDS


def test_redirects_are_followed_to_http_up_to_five_hops(feed_server: FeedServer) -> None:
    for hop in range(5):
        feed_server.routes[f"/r{hop}"] = Route(status=302, location=f"/r{hop + 1}")
    feed_server.routes["/r5"] = Route(_GOOD)
    assert b"<rss" in feeds.fetch(feed_server.url("/r0"), timeout=5).body
    with pytest.raises(feeds.FeedError, match=r"r0: more than 5 redirects$"):
        feed_server.routes["/r5"] = Route(status=301, location="/r6")
        feed_server.routes["/r6"] = Route(_GOOD)
        feeds.fetch(feed_server.url("/r0"), timeout=5)


def test_a_redirect_to_itself_is_refused_in_one_line(feed_server: FeedServer) -> None:
    feed_server.routes["/loop"] = Route(status=307, location="/loop")
    with pytest.raises(feeds.FeedError, match=r"loop: more than 5 redirects$"):
        feeds.fetch(feed_server.url("/loop"), timeout=5)


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/feed.xml", "file:///etc/passwd", "gopher://127.0.0.1/x"])
def test_a_redirect_to_another_scheme_is_refused(feed_server: FeedServer, target: str) -> None:
    feed_server.routes["/moved"] = Route(status=301, location=target)
    with pytest.raises(feeds.FeedError) as caught:
        feeds.fetch(feed_server.url("/moved"), timeout=5)
    assert caught.value.reason == f"redirected to {target!r}: only http and https redirects are followed"


def test_only_http_item_links_are_kept() -> None:
    links = ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>x</b>", "vbscript:x",
             "ftp://127.0.0.1/x", "https://127.0.0.1/ok", "HTTP://127.0.0.1/ok2"]
    items = [{"title": f"第{i}条", "link": html.escape(link), "description": "正文。"} for i, link in enumerate(links)]
    feed = feeds.parse_feed(rss(items), "http://127.0.0.1/rss")
    assert [a.url for a in feed.articles] == [None] * 5 + ["https://127.0.0.1/ok", "http://127.0.0.1/ok2"]


def test_a_feed_items_title_and_date_are_bounded_as_a_posts_are() -> None:
    # a feed is a post from someone else's server: the same caps (issue 11)
    fetched = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
    items = [{"title": "长" * 5000, "description": "正文。", "pubDate": "Tue, 20 Apr 2021 08:00:00 GMT"},
             {"title": "远未来", "description": "正文。", "pubDate": "Fri, 31 Dec 9999 23:59:00 GMT"},
             {"title": "远过去", "description": "正文。", "pubDate": "Mon, 01 Jan 0001 00:00:00 GMT"}]
    first, future, past = feeds.parse_feed(rss(items), "http://127.0.0.1/rss", now=fetched).articles
    assert len(first.title) == MAX_TITLE_CHARS and first.title.endswith("…")
    assert first.published == datetime(2021, 4, 20, 8, 0, tzinfo=timezone.utc) and not first.date_from_file
    for article in (future, past):  # no date digestbot believes: the time it was read, and said so
        assert article.published == fetched and article.date_from_file and not article.date_only


@pytest.mark.parametrize(
    ("description", "text"),
    [
        # the XML unescapes once to HTML `&lt;b&gt;`, which is the text <b>
        ("说明 &amp;lt;b&amp;gt;粗体&amp;lt;/b&amp;gt; 的写法。", "说明 <b>粗体</b> 的写法。"),
        # in CDATA the HTML itself is `&amp;lt;b&amp;gt;`: the text &lt;b&gt;, not <b>
        ("<![CDATA[<p>说明 &amp;lt;b&amp;gt;粗体&amp;lt;/b&amp;gt; 的写法。</p>]]>", "说明 &lt;b&gt;粗体&lt;/b&gt; 的写法。"),
        ("<![CDATA[<p>价格 &amp;#123;见附表&amp;#125;。</p>]]>", "价格 &#123;见附表&#125;。"),
    ],
)
def test_escaped_markup_in_a_feed_is_unescaped_once(description: str, text: str) -> None:
    feed = feeds.parse_feed(rss([{"title": "标题", "description": description}]), "http://127.0.0.1/rss")
    assert [b.text for b in feed.articles[0].blocks] == [text]


def test_escaped_markup_in_a_feed_title_is_text_once() -> None:
    items = [{"title": "讲解 &amp;lt;i&amp;gt; 标签", "description": "正文。"},
             {"title": "<![CDATA[A &amp;amp; B]]>", "description": "正文。"}]
    feed = feeds.parse_feed(rss(items), "http://127.0.0.1/rss")
    assert [a.title for a in feed.articles] == ["讲解 <i> 标签", "A &amp; B"]


def _no_proxy_env() -> dict[str, str]:
    proxies = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"}
    return {k: v for k, v in os.environ.items() if k not in proxies} | {"PYTHONPATH": str(ROOT)}


def test_a_stopping_poll_leaves_after_the_fetch_and_keeps_no_validators(store: Store, feed_server: FeedServer) -> None:
    feed_server.routes["/rss"] = Route(rss(_items()), etag='"v1"')
    feed_server.routes["/other"] = Route(_GOOD)
    stopped = _ingestor(store, Clock(NOW), should_stop=lambda: bool(feed_server.requests))
    report = stopped.ingest([feed_server.url("/rss"), feed_server.url("/other")])
    assert (report.new, report.failed) == (0, 0) and [p for p, _ in feed_server.requests] == ["/rss"]
    (state,) = list_sources(store)
    assert state.ok_at is None  # not recorded as read: the next GET is not answered 304
    again = _ingestor(store, Clock(NOW)).ingest([feed_server.url("/rss")])
    assert again.new == 2 and "If-None-Match" not in feed_server.requests[-1][1]
