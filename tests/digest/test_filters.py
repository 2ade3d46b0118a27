"""The filter grammar `/subscribe` and `/search` share: field names, both colons, and the
subscription's own shorthand (known names, `!excluded`, separators)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from digest.compose import DigestFilter
from digest.dates import DEFAULT_TZ
from digest.filters import parse_filter
from digest.query import QueryError, field_of, parse_query
from digest.store import KnownNames

NOW = datetime(2021, 4, 20, 12, 0, tzinfo=timezone.utc)
KNOWN = KnownNames(categories=frozenset({"科技", "金融"}), sources=frozenset({"每经网"}))


@pytest.mark.parametrize(
    ("word", "field"),
    [
        ("cat:科技", ("category", "科技")), ("cat：科技", ("category", "科技")),
        ("category:科技", ("category", "科技")), ("CAT:科技", ("category", "科技")),
        ("分类:科技", ("category", "科技")), ("分类：科技", ("category", "科技")),
        ("source:每经网", ("source", "每经网")), ("src：每经网", ("source", "每经网")),
        ("来源:每经网", ("source", "每经网")), ("来源：“每经网”", ("source", "每经网")),
        ("since:7d", ("since", "7d")), ("自：7天", ("since", "7天")),
        ("分类：", ("category", "")),
        ("科技", None), ("新闻来源：每经网", None), ("cats:科技", None), ("http://x.cn", None),
    ],
)
def test_a_field_is_named_with_either_colon(word: str, field: tuple[str, str] | None) -> None:
    assert field_of(word) == field


@pytest.mark.parametrize(
    "text",
    ["分类：科技 来源：每经网", "分类:科技 来源:每经网", "cat：科技 src:每经网", "分类： 科技 来源：  每经网",
     "category:科技 source：每经网"],
)
def test_search_and_subscribe_read_the_same_fields_alike(text: str) -> None:
    query = parse_query(text, now=NOW, tz=DEFAULT_TZ)
    wanted = parse_filter(KNOWN, text)
    assert (query.category, query.source) == ("科技", "每经网")
    assert (wanted.categories, wanted.sources, wanted.keywords) == (("科技",), ("每经网",), ())


def test_a_subscription_takes_known_names_bare_exclusions_and_any_separator() -> None:
    wanted = parse_filter(KNOWN, "科技、每经网，港口;比特币；!广告 ！软文  cat:体育,金融")
    assert wanted == DigestFilter(categories=("科技", "体育", "金融"), sources=("每经网",),
                                  keywords=("港口", "比特币"), excluded=("广告", "软文"))


def test_a_subscription_repeats_nothing_and_may_be_empty() -> None:
    assert parse_filter(KNOWN, "科技 分类：科技 港口 港口") == DigestFilter(categories=("科技",), keywords=("港口",))
    assert parse_filter(KNOWN, " ,、 ").empty


@pytest.mark.parametrize("text", ["since:7d 科技", "科技 自：2021-04-01", "SINCE：1w"])
def test_since_is_refused_in_a_subscription_not_kept_as_a_keyword(text: str) -> None:
    with pytest.raises(QueryError, match="since: is for /search") as caught:
        parse_filter(KNOWN, text)
    assert caught.value.code == "query_subscribe_since"


def test_a_field_without_a_name_is_refused_in_a_subscription_and_a_search() -> None:
    with pytest.raises(QueryError, match="write a name after the colon") as caught:
        parse_filter(KNOWN, "科技 分类：")
    assert caught.value.code == "query_field_empty" and caught.value.params == {"word": "分类："}
    with pytest.raises(QueryError, match="write a name after the colon") as searched:
        parse_query("银行 since:", now=NOW, tz=DEFAULT_TZ)  # one grammar: not searched for as a word
    assert searched.value.params == {"word": "since:"}


@pytest.mark.parametrize("text", ["每经网 !", "！", "科技, !, 港口"])
def test_an_exclusion_without_a_word_is_refused(text: str) -> None:
    # excluding "" would match every article: the chat would get nothing, and not know why
    with pytest.raises(QueryError, match="write the word to exclude after the !") as caught:
        parse_filter(KNOWN, text)
    assert caught.value.code == "query_exclude_empty"


def test_the_known_names_are_read_only_for_a_bare_word() -> None:
    reads: list[int] = []

    def known() -> KnownNames:
        reads.append(1)
        return KNOWN

    assert parse_filter(known, "") == DigestFilter() and not reads
    assert parse_filter(known, "cat:科技 !广告").categories == ("科技",) and not reads
    assert parse_filter(known, "每经网 科技 港口") == DigestFilter(categories=("科技",), sources=("每经网",),
                                                             keywords=("港口",))
    assert reads == [1]  # once for the whole text
