"""Property and fuzz tests (issue 11, item 4) over the post parser, the feed reader and the
search query parser: whatever the bytes or text, the library's answer or its own error,
never another exception, in bounded work. The strategies and the properties live in
tests/support/hostile.py, which bench/fuzz.py runs for its counts of cases tried.

atheris is not installable here (no wheel for this Python): hypothesis does the fuzzing.
Examples per test: a modest fixed number, times FUZZ_FACTOR under DIGESTBOT_LONG_TESTS=1."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest import feeds
from digest.clean import MAX_BODY_CHARS, MAX_DEPTH, cut_body
from digest.errors import ArticleError
from digest.ingest import Ingestor
from digest.parse import MAX_FILE_BYTES, article_from_bytes, read_article
from digest.prepared import prepare
from digest.store import Store
from tests.digest.test_hostile_input import returns
from tests.support.builders import rss, write_post
from tests.support.feeds import FeedServer, Route
from tests.support.hostile import (READ, REFUSED, SEED_POSTS, content_types, feed_bytes, feed_case, parse_case,
                                   post_bytes, query_case, query_text)
from tests.support.texts import AI_BODY

FUZZ_FACTOR = 20 if os.environ.get("DIGESTBOT_LONG_TESTS") == "1" else 1
# no per-example deadline: a case's work is bounded by the library's caps, and the hang
# guard of the big cases is `returns` (a forked process killed after 30 s)
_BASE = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])


def fuzz(examples: int) -> settings:
    """`examples` cases (times FUZZ_FACTOR), no per-case deadline."""
    return settings(_BASE, max_examples=examples * FUZZ_FACTOR)


def test_the_seed_posts_are_there_to_mutate() -> None:
    assert len(SEED_POSTS) >= 3 and all(parse_case(post) == READ for post in SEED_POSTS)


@fuzz(250)
@given(data=post_bytes)
def test_any_post_bytes_are_an_article_or_an_article_error(data: bytes) -> None:
    assert parse_case(data) in (READ, REFUSED)


@fuzz(250)
@given(body=feed_bytes, content_type=content_types)
def test_any_feed_bytes_are_a_feed_or_a_feed_error(body: bytes, content_type: str) -> None:
    assert feed_case(body, content_type) in (READ, REFUSED)


@fuzz(300)
@given(text=query_text)
def test_any_search_text_is_a_query_or_a_query_error_the_catalogue_words(text: str) -> None:
    assert query_case(text) in (READ, REFUSED)


def test_the_cases_tell_a_reading_from_a_refusal() -> None:
    # what the counts of bench/fuzz.py rest on: each case says which of the two it saw
    assert parse_case(SEED_POSTS[0]) == READ and parse_case(b"\x00binary") == REFUSED
    assert feed_case(b"") == REFUSED and query_case("since:") == REFUSED and query_case("人工智能") == READ


# -- the named hostile posts, each once at full size ------------------------------------

def _nested_post(tag: str, depth: int, after: str = "") -> bytes:
    return ("---\ntitle: 深层\n---\n<p>第一段正文。</p>" + f"<{tag}>" * depth + "深层正文第一句。" + f"</{tag}>" * depth
            + after).encode()


def _refusal(data: bytes) -> str:
    try:
        article_from_bytes(data, "deep.md", 1618900000.0)
    except ArticleError as exc:
        return str(exc)
    return "read"


@pytest.mark.parametrize("tag", ["div", "b", "span", "blockquote"])
def test_html_nested_100000_deep_is_refused_by_name_not_silently_cut(tag: str) -> None:
    # libxml2 stops building the tree at depth 256 and drops the text below and after it
    assert returns(_refusal, _nested_post(tag, 100_000)) == (
        f"deep.md: HTML nested deeper than {MAX_DEPTH} elements: its text cannot be read")


@pytest.mark.parametrize("tag", ["li", "p"])
def test_tags_the_parser_closes_by_themselves_are_not_deep_and_keep_their_text(tag: str) -> None:
    # an <li> or <p> opened inside another closes it, so 100,000 of them are siblings
    article = returns(article_from_bytes, _nested_post(tag, 10_000), "deep.md", 0.0)
    assert "深层正文第一句。" in article.body and "第一段正文。" in article.body


@pytest.mark.parametrize("tag", ["div", "b", "span"])
def test_html_nested_just_under_the_depth_keeps_all_its_text(tag: str) -> None:
    # the body's own <div> and the parser's <html><body> wrapper use a few of the 256 levels
    article = article_from_bytes(_nested_post(tag, MAX_DEPTH - 10, "<p>最后一段。</p>"), "deep.md", 0)
    assert "深层正文第一句。" in article.body and "最后一段。" in article.body and "第一段正文。" in article.body
    assert _refusal(_nested_post(tag, MAX_DEPTH + 1)).startswith("deep.md: HTML nested deeper than")


def test_a_feed_item_nested_too_deep_is_an_item_error_the_others_read() -> None:
    deep = "&lt;div&gt;" * 1000 + "深层。" + "&lt;/div&gt;" * 1000
    body = rss([{"title": "深层", "description": deep}, {"title": "长江港口吞吐量回升", "description": "港口吞吐量同比增长。"}])
    feed = feeds.parse_feed(body, "http://127.0.0.1/deep.xml")
    assert [a.title for a in feed.articles] == ["长江港口吞吐量回升"]
    assert feed.errors == [f"item 1: HTML nested deeper than {MAX_DEPTH} elements: its text cannot be read"]


# -- multi-MB inputs: each article's cost is capped (MAX_BODY_CHARS, the feed's caps) ------

def _big_post(megabytes: int) -> bytes:
    post = SEED_POSTS[0]
    tail = post[post.index(b"<p>", 400):]
    return post + tail * (megabytes * 2**20 // len(tail))


def _summary_of(data: bytes) -> tuple[int, int]:
    prepared = prepare(article_from_bytes(data, "big.md", 1618900000.0))
    return len(prepared.article.body), len(prepared.summary.sentences)


def test_a_9_mb_post_is_read_up_to_its_body_cap_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    # before the cap a 9 MB post took 4 s (20 s on a loaded machine): the deadline is a hang guard
    body_chars, sentences = returns(_summary_of, _big_post(9))
    assert 0 < body_chars <= MAX_BODY_CHARS and sentences > 0
    with caplog.at_level(logging.WARNING, logger="digest.parse"):
        article_from_bytes(_big_post(1), "big.md", 0)
        article_from_bytes(SEED_POSTS[0], "small.md", 0)
    [record] = caplog.records
    assert record.getMessage().startswith("post big.md: body is ") and record.getMessage().endswith(
        f" characters; only the first {MAX_BODY_CHARS:,} are read")


def test_a_body_is_cut_after_a_paragraph_not_inside_one() -> None:
    body = "<p>" + "甲" * 60 + "。</p>\n" + "<p>" + "乙" * 100 + "。</p>"
    assert cut_body(body, 100) == "<p>" + "甲" * 60 + "。</p>"
    assert cut_body(body, len(body)) == body
    assert cut_body("丙" * 300, 100) == "丙" * 100  # no break at all: a hard cut


def _feed_articles(body: bytes) -> tuple[int, int]:
    feed = feeds.parse_feed(body, "http://127.0.0.1/big.xml")
    return len(feed.articles), max(len(prepare(a).article.body) for a in feed.articles)


def test_a_multi_mb_feed_of_many_items_is_read_within_its_item_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    # the real cap is 1,000,000 characters (some 5 s of summaries): the same code path, faster
    monkeypatch.setattr(feeds, "MAX_FEED_CHARS", 200_000)
    items = [{"title": f"多家银行下调存款利率{i}", "description": "理财产品收益率随之走低。" * 400} for i in range(900)]
    body = rss(items)
    assert len(body) > 8 * 2**20
    count, longest = returns(_feed_articles, body)
    assert count == 200_000 // len(items[0]["description"]) and longest > 0
    few = rss(items[:3] * 200)  # 600 short-enough items: the item cap
    monkeypatch.setattr(feeds, "MAX_FEED_CHARS", 10**9)
    assert len(feeds.parse_feed(few, "http://127.0.0.1/x").articles) == feeds.MAX_FEED_ITEMS


def test_a_multi_mb_feed_item_is_cut_at_the_body_cap() -> None:
    body = rss([{"title": "长江港口吞吐量回升", "description": "港口吞吐量同比增长，集装箱运输明显回升。" * 300_000}])
    assert len(body) > 15 * 2**20
    count, longest = returns(_feed_articles, body)
    assert count == 1 and 0 < longest <= MAX_BODY_CHARS


def test_a_feed_with_more_tags_than_its_cap_is_refused_before_it_is_parsed() -> None:
    body = rss([{"title": "多标签", "description": "&lt;b&gt;字&lt;/b&gt;" * (feeds.MAX_FEED_TAGS // 2)}])
    with pytest.raises(feeds.FeedError, match=rf"over the {feeds.MAX_FEED_TAGS:,}-tag limit of a feed$"):
        feeds.parse_feed(body, "http://127.0.0.1/tags.xml")
    under = rss([{"title": "多标签", "description": "&lt;b&gt;字&lt;/b&gt;" * (feeds.MAX_FEED_TAGS // 2 - 50)}])
    # read, its body cut at MAX_BODY_CHARS of markup: 12,500 of the 24,950 bold characters
    assert returns(_feed_articles, under) == (1, MAX_BODY_CHARS // len("<b>字</b>"))


def test_a_50_mb_post_is_refused_by_its_size_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    with path.open("wb") as out:
        out.write(SEED_POSTS[0])
        out.truncate(50 * 1024 * 1024)
    with pytest.raises(ArticleError, match=rf"huge\.md: file is 52,428,800 bytes, over the {MAX_FILE_BYTES:,}-byte"):
        read_article(path)


@pytest.mark.parametrize("encoding", ["gbk", "utf-16", "utf-8-sig"])
def test_re_encoded_seed_posts_are_read_or_refused_by_name(encoding: str) -> None:
    text = SEED_POSTS[0].decode("utf-8")
    data = text.encode(encoding)
    assert parse_case(data) == (REFUSED if encoding == "utf-16" else READ)  # UTF-16 is full of NUL bytes
    if encoding == "gbk":
        assert article_from_bytes(data, "gbk.md", 0).title == article_from_bytes(SEED_POSTS[0], "u.md", 0).title


def test_hostile_files_in_a_folder_do_not_stop_the_others(store: Store, tmp_path: Path) -> None:
    bad = [b"\x00\x01\x02" * 100, SEED_POSTS[0][:37], b"---\ntitle: [x\n---\n", SEED_POSTS[1].decode().encode("utf-16"),
           b"---\na: &a [1]\nb: *a\n---\n", b"\xff\xfe\xfd" * 500]
    for number, data in enumerate(bad):
        (tmp_path / f"bad{number}.md").write_bytes(data)
    write_post(tmp_path, "good.md", AI_BODY, title="人工智能助手进驻政务大厅")
    report = Ingestor(store, workers=1).ingest([str(tmp_path)])
    assert report.new >= 1 and report.new + report.failed == len(bad) + 1
    assert "人工智能助手进驻政务大厅" in [a.title for a in store.latest(limit=20)]
    assert all(path.startswith(str(tmp_path)) and reason for path, reason in report.errors)


# -- the feed reader's own hostile cases (test_feeds.py has slow, drip, redirects) --------

def test_xml_entity_expansion_is_not_expanded_into_the_articles() -> None:
    lol = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))  # 10**9 "lol"s
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{lol}]><rss version="2.0"><channel>'
            "<title>&l9;</title><item><title>&l9;</title><description>正文。</description></item></channel></rss>")
    assert returns(feed_case, body.encode()) in (READ, REFUSED)


def test_an_external_entity_never_reads_a_local_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-本地文件", "utf-8")
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]><rss version="2.0">'
            "<channel><title>t</title><item><title>标题&x;</title><description>正文&x;。</description></item>"
            "</channel></rss>").encode()
    try:
        feed = feeds.parse_feed(body, "http://127.0.0.1/x")
    except feeds.FeedError:
        return
    assert all("TOPSECRET" not in a.title + a.body for a in feed.articles)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "data:text/plain,<rss/>", "ftp://127.0.0.1/feed.xml",
                                 "gopher://127.0.0.1/x", "FILE:///etc/hostname", "http://[::1", ""])
def test_a_feed_url_that_is_no_web_address_is_refused_before_any_read(url: str) -> None:
    # urllib's opener read file: and data: URLs (found by this fuzzing round): fetch refuses them
    with pytest.raises(feeds.FeedError) as caught:
        feeds.fetch(url, timeout=2)
    assert caught.value.reason in ("not an http or https URL: only web feeds are fetched",
                                   "not a valid URL: Invalid IPv6 URL", "not a valid URL: unknown url type: ''")
    assert "root:" not in str(caught.value)


def test_a_feed_over_the_size_cap_is_refused(feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "MAX_FEED_BYTES", 64 * 1024)  # the real cap is 20 MB: the same code path
    feed_server.routes["/huge"] = Route(b"<rss>" + b"x" * (65 * 1024))
    with pytest.raises(feeds.FeedError, match=r"huge: response is over the 65,536-byte limit$"):
        feeds.fetch(feed_server.url("/huge"), timeout=5)


@fuzz(40)
@given(body=feed_bytes, status=st.sampled_from([200, 200, 200, 203, 500]))
def test_any_feed_served_over_http_is_read_or_refused(feed_server: FeedServer, body: bytes, status: int) -> None:
    feed_server.routes["/fuzz"] = Route(body, status=status, content_type="application/rss+xml")
    try:
        response = feeds.fetch(feed_server.url("/fuzz"), timeout=5, deadline=10)
    except feeds.FeedError as exc:
        assert status == 500 and exc.reason == "HTTP 500 Internal Server Error"
        return
    assert response.body == body
    assert feed_case(response.body, response.content_type, feed_server.url("/fuzz").replace(
        feed_server.url(""), "http://127.0.0.1")) in (READ, REFUSED)
