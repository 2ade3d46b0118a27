"""What a reader sees of an article's date and place: a date given without a time stays a
date (never a made-up 00:00), and no path on disk is ever shown."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest import feeds
from digest.dates import DEFAULT_TZ, shown_day, shown_time
from digest.ingest import Ingestor
from digest.parse import parse_article
from digest.plaintext import render_search
from digest.search import search
from digest.store import Store
from tests.support.builders import build_post, rss, write_post
from tests.support.texts import AI_BODY, BANK_BODY

LOS_ANGELES = ZoneInfo("America/Los_Angeles")  # midnight in Shanghai is the day before there


@pytest.mark.parametrize(
    ("written", "date_only"),
    [
        ("2021-04-20", True),  # a YAML date
        ("'2021-04-20'", True),  # the same as a string
        ("2021/04/20", True),
        ("2021年4月20日", True),
        ("2021-04-20 08:00:00", False),
        ("'2021-04-20 08:00'", False),
        ("Mon, 19 Apr 2021 19:01:48 GMT", False),
        ("2021-04-20T08:00:00+08:00", False),
    ],
)
def test_a_post_dated_without_a_time_is_date_only(written: str, date_only: bool) -> None:
    article = parse_article(build_post(AI_BODY, date=written))
    assert article.date_only is date_only and not article.date_from_file
    assert article.published.astimezone(DEFAULT_TZ).date().isoformat() in ("2021-04-20", "2021-04-19")


def test_an_undated_post_is_dated_from_its_file_not_date_only() -> None:
    article = parse_article(build_post(AI_BODY, date=None), modified=datetime(2021, 4, 20, tzinfo=timezone.utc))
    assert article.date_from_file and not article.date_only


@pytest.mark.parametrize(
    ("pub_date", "date_only"),
    [("2021-04-20", True), ("Tue, 20 Apr 2021", True), ("Tue, 20 Apr 2021 02:00:00 GMT", False), (None, False)],
)
def test_a_feed_item_dated_without_a_time_is_date_only(pub_date: str | None, date_only: bool) -> None:
    item = {"title": "多家银行下调存款利率", "link": "http://127.0.0.1/n/1", "description": "银行下调利率。"}
    if pub_date is not None:
        item["pubDate"] = pub_date
    (article,) = feeds.parse_feed(rss([item]), "http://127.0.0.1/rss").articles
    assert article.date_only is date_only


def test_a_date_only_time_is_shown_as_its_date_in_every_zone() -> None:
    midnight = datetime(2021, 4, 20, tzinfo=DEFAULT_TZ)
    assert shown_time(midnight, LOS_ANGELES, True) == "2021-04-20" == shown_day(midnight, LOS_ANGELES, True)
    assert shown_time(midnight, LOS_ANGELES) == "2021-04-19 09:00" and shown_day(midnight, LOS_ANGELES) == "2021-04-19"


def test_search_text_shows_a_date_only_articles_date_and_no_path(store: Store, tmp_path: Path) -> None:
    write_post(tmp_path, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅", date="2021-04-20")
    write_post(tmp_path, "bank.md", BANK_BODY, title="多家银行下调存款利率", date="2021-04-20 10:00:00",
               extra="link: https://news.example.com/bank")
    Ingestor(store, workers=1).ingest([str(tmp_path)])
    (ai,) = [a for a in store.latest() if a.title.startswith("人工智能")]
    assert ai.date_only and ai.path
    text = render_search(search(store, "人工智能"), LOS_ANGELES)
    assert "测试来源 · 金融 · 2021-04-20" in text and "00:00" not in text
    assert str(tmp_path) not in text and ".md" not in text
    assert "https://news.example.com/bank" in render_search(search(store, "存款利率"), LOS_ANGELES)


def test_search_text_past_the_last_page_says_so(store: Store, tmp_path: Path) -> None:
    write_post(tmp_path, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅")
    Ingestor(store, workers=1).ingest([str(tmp_path)])
    assert render_search(search(store, "人工智能", page=3)) == "没有第 3 页：共 1 页。"
    assert "没有找到与“火星”相关的文章" in render_search(search(store, "火星"))


def test_a_search_of_filters_alone_that_finds_nothing_names_the_filters(store: Store, tmp_path: Path) -> None:
    # "Nothing found for “”" told the reader nothing: the filters are what was searched for
    from bot.slack_blocks import search_message as slack_message
    from bot.telegram_html import search_message as telegram_message

    write_post(tmp_path, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅", date="2021-04-20 08:00:00")
    Ingestor(store, workers=1).ingest([str(tmp_path)])
    page = search(store, "since:2099-01-01 cat:体育")
    expected = "没有找到与“cat:体育 since:2099-01-01”相关的文章。"
    assert render_search(page) == expected
    assert telegram_message(page, DEFAULT_TZ, "zh") == expected
    assert slack_message(page, DEFAULT_TZ, "zh", None)["text"].startswith(expected)
    # words and a filter: the filter may be what left nothing, so it is named too
    assert "“人工智能 since:2099-01-01”" in render_search(search(store, "人工智能 since:2099-01-01"))
