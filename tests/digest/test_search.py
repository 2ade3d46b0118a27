"""Search on both databases: ranking, ANDed words, one-character words, filters, paging,
snippets, and any text a user can type."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.dates import DEFAULT_TZ
from digest.ingest import Ingestor
from digest.query import QueryError, parse_query
from digest import search as search_module
from digest.plaintext import render_search
from digest.search import fts5_query, search
from digest.store import Store
from tests.support.builders import write_post
from tests.support.texts import AI_BODY, BANK_BODY, PORT_BODY

NOW = datetime(2021, 10, 6, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def filled(store: Store, tmp_path: Path) -> Store:
    posts = tmp_path / "posts"
    write_post(posts, "ai.md", AI_BODY, title="政务大厅试用新助手", categories=("科技", "数字城市报", "分类"),
               author="数字城市报", date="2021-10-05 09:00:00")
    write_post(posts, "bank.md", BANK_BODY + "<p>有银行表示，人工智能客服已承担大部分咨询。</p>",
               title="多家银行下调存款利率", author="每经网", date="2021-09-01 09:00:00")
    write_post(posts, "port.md", PORT_BODY, title="长江港口吞吐量回升", author="江城经济观察",
               categories=("航运", "江城经济观察", "分类"), date="2021-04-01 09:00:00")
    write_post(posts, "stocks.md", "<p>北京时间10月5日04:00，道琼斯指数收盘下跌，纳斯达克指数跌超2%。</p>"
               "<p>科技股普遍走低，投资者担忧通胀和加息前景。</p>",
               title="10月5日美股三大指数集体收跌", author="每经网", date="2021-10-05 05:00:00")
    report = Ingestor(store, workers=1).ingest([str(posts)])
    assert report.new == 4
    return store


def _titles(store: Store, text: str, **kwargs: object) -> list[str]:
    return [h.article.title for h in search(store, text, now=NOW, **kwargs).hits]  # type: ignore[arg-type]


def test_the_title_outranks_the_body(filled: Store) -> None:
    # 人工智能 is in the AI story's body only, but its title is about it: both are found;
    # the story whose *title* holds the word comes first.
    assert set(_titles(filled, "人工智能")) == {"政务大厅试用新助手", "多家银行下调存款利率"}
    assert _titles(filled, "存款利率")[0] == "多家银行下调存款利率"
    assert _titles(filled, "港口")[0] == "长江港口吞吐量回升"


def test_words_are_anded(filled: Store) -> None:
    assert _titles(filled, "人工智能 银行") == ["多家银行下调存款利率"]
    assert _titles(filled, "人工智能 港口") == []


def test_a_word_glued_to_its_neighbour_is_still_found(filled: Store) -> None:
    # jieba reads 10月5日美股 as 日美股; the index keeps its character pairs
    assert _titles(filled, "美股") == ["10月5日美股三大指数集体收跌"]


def test_a_compound_is_found_when_the_text_splits_it(filled: Store) -> None:
    assert "长江港口吞吐量回升" in _titles(filled, "长江港口")


def test_one_character_queries_match_the_text(filled: Store) -> None:
    assert set(_titles(filled, "跌")) == {"10月5日美股三大指数集体收跌"}
    assert set(_titles(filled, "港 长江")) == {"长江港口吞吐量回升"}


def test_filters(filled: Store) -> None:
    assert _titles(filled, "source:每经网") == ["10月5日美股三大指数集体收跌", "多家银行下调存款利率"]  # newest first
    assert _titles(filled, "人工智能 source:数字城市报") == ["政务大厅试用新助手"]
    assert _titles(filled, "cat:航运") == ["长江港口吞吐量回升"]
    assert _titles(filled, "分类:科技") == ["政务大厅试用新助手"]
    assert set(_titles(filled, "since:7d")) == {"政务大厅试用新助手", "10月5日美股三大指数集体收跌"}
    assert set(_titles(filled, "since:2021-09-01 人工智能")) == {"政务大厅试用新助手", "多家银行下调存款利率"}
    assert _titles(filled, "since:2021-09-02 存款") == []


def test_a_bad_filter_or_an_empty_query_says_how_to_write_it(filled: Store) -> None:
    with pytest.raises(QueryError, match="since:2021-04-01"):
        search(filled, "since:yesterday 银行", now=NOW)
    with pytest.raises(QueryError, match="nothing to search for"):
        search(filled, "  ？！ ", now=NOW)


def test_snippets_come_from_the_text_with_the_hits_marked(filled: Store) -> None:
    (hit,) = search(filled, "政务热线", now=NOW).hits
    assert "【政务】【热线】" in hit.snippet.marked() or "【政务热线】" in hit.snippet.marked()
    plain = hit.snippet.text.strip("…")
    assert plain in " ".join(hit.article.body.split("\n"))
    for start, end in hit.snippet.marks:
        assert hit.snippet.text[start:end] in {"政务", "热线", "政务热线"}


def test_paging(store: Store, tmp_path: Path) -> None:
    for i in range(23):
        write_post(tmp_path, f"{i:02}.md", f"<p>第{i}期港口航运简报：集装箱吞吐量保持增长，编号{i * 7919}。</p>",
                   title=f"港口简报第{i}期", date=f"2021-05-{i + 1:02} 08:00:00")
    Ingestor(store, workers=1).ingest([str(tmp_path)])
    pages = [search(store, "港口 简报", page=n, limit=10, now=NOW) for n in (1, 2, 3, 4)]
    assert [p.total for p in pages] == [23] * 4 and pages[0].pages == 3
    assert [len(p.hits) for p in pages] == [10, 10, 3, 0]
    ids = [h.article.id for p in pages for h in p.hits]
    assert len(ids) == len(set(ids)) == 23


def test_a_very_common_word_is_ranked_among_its_newest_articles(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(12):
        write_post(tmp_path, f"{i:02}.md", f"<p>第{i}期港口航运简报：集装箱吞吐量保持增长，编号{i * 7919}。</p>",
                   title=f"港口简报第{i}期", date=f"2021-05-{i + 1:02} 08:00:00")
    Ingestor(store, workers=1).ingest([str(tmp_path)])
    monkeypatch.setattr(search_module, "CANDIDATES", 5)
    page = search(store, "港口", limit=10, now=NOW)
    assert (page.matched, page.total, page.capped, page.pages) == (12, 5, True, 1)
    newest = sorted(a.id for a in store.latest(12))[-5:]
    assert sorted(h.article.id for h in page.hits) == newest
    filtered = search(store, "港口 since:2021-05-10", limit=10, now=NOW)  # filters apply within them
    assert filtered.total == 3 and filtered.matched == 12
    assert "12 篇含这些词" in render_search(page)


@pytest.mark.parametrize(
    "text",
    [
        '"', '""', "'", "*", "人工*", "NEAR(人工 智能)", "人工 AND 智能", "人工 OR", "-人工智能", "^港口",
        "title:港口", "港口:", ":", "a:b:c", "(", ")", "{港口}", "港口 NOT 长江", "'; DROP TABLE articles; --",
        "%", "_", "\\", "100%", "a\x00b", "source:a\x00b", "cat:\x00", "😀", "🇨🇳 港口", "\u200b", "港口" * 5000, "x" * 10000,
    ],
)
def test_anything_a_user_types_is_plain_text(filled: Store, text: str) -> None:
    try:
        page = search(filled, text, now=NOW)
    except QueryError:
        return  # nothing searchable in it: a clear answer, not a crash
    assert page.total >= 0 and len(page.hits) <= page.limit
    assert filled.count_articles() == 4  # and nothing was harmed


def test_a_long_query_is_cut_and_says_so(filled: Store) -> None:
    page = search(filled, "港口 " + "x" * 10000, now=NOW)
    assert page.query.truncated


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=60) | st.builds("source:{}".format, st.text(max_size=10)))
def test_random_text_never_breaks_the_engine(filled: Store, text: str) -> None:
    try:
        page = search(filled, text, now=NOW)
    except QueryError:
        return
    assert page.total >= len(page.hits)


def test_fts5_expressions_quote_every_word() -> None:
    query = parse_query('人工智能 "AND" NEAR', now=NOW, tz=DEFAULT_TZ)
    assert fts5_query(query.groups) == '("人工智能" OR ("人工" AND "智能")) AND "and" AND "near"'
    assert fts5_query([[('say "hi"',)]]) == '"say ""hi"""'


def test_since_spans_and_dates() -> None:
    assert parse_query("since:7d", now=NOW, tz=DEFAULT_TZ).since == NOW - timedelta(days=7)
    assert parse_query("since:12h", now=NOW, tz=DEFAULT_TZ).since == NOW - timedelta(hours=12)
    assert parse_query("since:2周", now=NOW, tz=DEFAULT_TZ).since == NOW - timedelta(days=14)
    midnight = parse_query("since:2021-04-01", now=NOW, tz=DEFAULT_TZ).since
    assert midnight == datetime(2021, 4, 1, tzinfo=DEFAULT_TZ)
    assert parse_query("since:99999y", now=NOW, tz=DEFAULT_TZ).since.year == 1970
