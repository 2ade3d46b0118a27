"""Dedup keeps the first telling: a story from a second source is a duplicate, never a rewrite."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from digest import schema
from digest.dedup import DUPLICATE, NEW, UNCHANGED, UPDATED, known_outcome, save
from digest.ingest import Ingestor
from digest.parse import parse_article
from digest.prepared import prepare
from digest.search import search
from digest.sources import register
from digest.store import Store
from tests.support.builders import build_post, rss, write_post
from tests.support.feeds import FeedServer, Route
from tests.support.texts import BANK_BODY

NOW = datetime(2021, 4, 20, 8, 0, tzinfo=timezone.utc)
LINK = "http://127.0.0.1/news/bank"
TITLE = "多家银行下调存款利率"
EDITED = BANK_BODY.replace("理财产品", "货币基金")  # the same story, told with other words
FEEDS = {"/a": ("甲报", BANK_BODY), "/b": ("乙报", EDITED)}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _feed(name: str, body: str) -> Route:
    return Route(rss([{"title": TITLE, "link": LINK, "description": f"<![CDATA[{body}]]>"}], title=name))


def _ingest(store: Store, clock: Clock, *locations: str | Path):
    return Ingestor(store, workers=1, clock=clock).ingest([str(x) for x in locations])


def _stored(store: Store) -> sa.Row:
    with store.connect() as conn:
        (row,) = conn.execute(sa.select(schema.articles)).all()
    return row


def _source_id(store: Store, location: str) -> int:
    with store.connect() as conn:
        return conn.execute(sa.select(schema.sources.c.id).where(schema.sources.c.location == location)).scalar_one()


@pytest.mark.parametrize(("first", "second"), [("/a", "/b"), ("/b", "/a")])
def test_the_same_link_from_two_feeds_keeps_the_first_read_text_and_source(
    store: Store, feed_server: FeedServer, first: str, second: str
) -> None:
    for path, (name, body) in FEEDS.items():
        feed_server.routes[path] = _feed(name, body)
    clock = Clock(NOW)
    assert _ingest(store, clock, feed_server.url(first)).new == 1
    later = _ingest(store, clock, feed_server.url(second))
    assert (later.new, later.updated, later.duplicate) == (0, 0, 1)

    again = _ingest(store, clock, feed_server.url(first), feed_server.url(second))  # every poll repeats them
    assert (again.unchanged, again.duplicate, again.updated) == (1, 1, 0)
    row = _stored(store)
    name, body = FEEDS[first]
    assert row.source_name == name and row.source_id == _source_id(store, feed_server.url(first))
    assert ("货币基金" in row.body) == (body == EDITED) and ("理财产品" in row.body) == (body == BANK_BODY)


def test_the_same_feed_editing_its_item_updates_it_and_keeps_when_it_arrived(
    store: Store, feed_server: FeedServer
) -> None:
    feed_server.routes["/a"] = _feed("甲报", BANK_BODY)
    clock = Clock(NOW)
    _ingest(store, clock, feed_server.url("/a"))
    feed_server.routes["/a"] = _feed("甲报", EDITED)
    clock.now = NOW + timedelta(hours=1)
    report = _ingest(store, clock, feed_server.url("/a"))
    assert (report.updated, report.new, report.duplicate) == (1, 0, 0)
    row = _stored(store)
    assert "货币基金" in row.body and row.ingested_at == NOW and row.updated_at == clock.now
    assert search(store, "货币基金").total == 1 and search(store, "理财产品").total == 0


@pytest.mark.parametrize("folder_first", [True, False])
def test_a_posts_folder_and_a_feed_with_the_same_url_keep_the_first_read(
    store: Store, feed_server: FeedServer, tmp_path: Path, folder_first: bool
) -> None:
    write_post(tmp_path / "posts", "bank.md", BANK_BODY, title=TITLE, author="文件来源", extra=f"link: {LINK}")
    feed_server.routes["/b"] = _feed("乙报", EDITED)
    order = [tmp_path / "posts", feed_server.url("/b")]
    order = order if folder_first else order[::-1]
    clock = Clock(NOW)
    reports = [_ingest(store, clock, location) for location in order]
    assert [(r.new, r.duplicate, r.updated) for r in reports] == [(1, 0, 0), (0, 1, 0)]
    row = _stored(store)
    assert row.source_name == ("文件来源" if folder_first else "乙报")
    assert ("理财产品" in row.body) == folder_first and (row.path is not None) == folder_first


def test_a_changed_file_that_duplicated_a_feed_item_does_not_rewrite_it(
    store: Store, feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.routes["/b"] = _feed("乙报", EDITED)
    clock = Clock(NOW)
    _ingest(store, clock, feed_server.url("/b"))
    post = write_post(tmp_path, "bank.md", BANK_BODY, title=TITLE, extra=f"link: {LINK}")
    assert _ingest(store, clock, tmp_path).duplicate == 1
    write_post(tmp_path, "bank.md", BANK_BODY + "<p>补充一句新的说明。</p>", title=TITLE, extra=f"link: {LINK}")
    stat = post.stat()
    os.utime(post, (stat.st_atime, stat.st_mtime + 10))
    changed = _ingest(store, clock, tmp_path)
    assert (changed.duplicate, changed.updated) == (1, 0)
    row = _stored(store)
    assert row.source_name == "乙报" and "补充" not in row.body and row.path is None


def test_a_file_read_again_as_a_source_of_its_own_updates_its_article_and_keeps_the_first_source(
    store: Store, tmp_path: Path
) -> None:
    post = write_post(tmp_path / "posts", "bank.md", BANK_BODY, title=TITLE, extra=f"link: {LINK}")
    clock = Clock(NOW)
    _ingest(store, clock, tmp_path / "posts")
    write_post(tmp_path / "posts", "bank.md", EDITED, title=TITLE, extra=f"link: {LINK}")
    report = _ingest(store, clock, post)  # the same file, named on its own: the same telling
    assert (report.updated, report.duplicate, report.new) == (1, 0, 0)
    row = _stored(store)
    assert "货币基金" in row.body and row.source_id == _source_id(store, str(tmp_path / "posts"))


def test_the_rules_without_a_poll_and_the_check_before_summarising_agree(store: Store) -> None:
    # a feed item: a link, no file
    item = replace(parse_article(build_post(BANK_BODY, title=TITLE)), url=LINK)
    edited = replace(parse_article(build_post(EDITED, title=TITLE)), url=LINK)
    with store.begin() as conn:
        a, b = (register(conn, f"http://127.0.0.1/{name}", "feed") for name in ("a", "b"))
        assert known_outcome(conn, item, a) is None
        outcome, first, near = save(conn, prepare(item), source_id=a, now=NOW)
        assert (outcome, near) == (NEW, None)
        assert [known_outcome(conn, x, s) for x, s in ((item, a), (edited, a), (item, b))] == [UNCHANGED, None, DUPLICATE]
        assert save(conn, prepare(item), source_id=a, now=NOW) == (UNCHANGED, first, None)
        assert save(conn, prepare(edited), source_id=b, now=NOW) == (DUPLICATE, first, None)
        assert save(conn, prepare(edited), source_id=a, now=NOW) == (UPDATED, first, None)
