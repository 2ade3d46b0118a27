"""Property and fuzz tests (issue 11, item 4) over the post parser, the feed reader and the
search query parser: whatever the bytes or text, the library's answer or its own error,
never another exception, in bounded work. The strategies and the properties live in
tests/support/hostile.py, which bench/fuzz.py runs for its counts of cases tried.

atheris is not installable here (no wheel for this Python): hypothesis does the fuzzing.
Examples per test: a modest fixed number, times FUZZ_FACTOR under DIGESTBOT_LONG_TESTS=1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest import feeds
from digest.errors import ArticleError
from digest.ingest import Ingestor
from digest.parse import MAX_FILE_BYTES, article_from_bytes, read_article
from digest.store import Store
from tests.digest.test_hostile_input import returns
from tests.support.builders import write_post
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

def _nested_title_and_text(tag: str, depth: int) -> tuple[int, str]:
    post = f"---\ntitle: 深层\n---\n<{tag}>" * 1 + f"<{tag}>" * depth + "深层正文第一句。" + f"</{tag}>" * depth
    article = article_from_bytes(post.encode(), "deep.md", 1618900000.0)
    return len(article.title), article.body


@pytest.mark.parametrize("tag", ["div", "p", "b", "li"])
def test_html_nested_100000_deep_is_read_without_recursion(tag: str) -> None:
    # libxml2 stops building the tree at depth 256, so the walk never recurses deeper
    title_length, _ = returns(_nested_title_and_text, tag, 100_000)
    assert title_length == 2


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
