"""RSS/Atom feeds from a server on 127.0.0.1: conditional GET, cleaning, failures, backoff."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

import pytest

from digest import feeds
from digest.ingest import Ingestor
from digest.search import search
from digest.sources import list_sources
from digest.store import Store
from tests.support.builders import rss
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
