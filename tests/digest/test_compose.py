"""The daily digest: the day's window in a time zone, near-duplicates folded, ranking,
sections, subscription filters."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.compose import DigestFilter, compose_daily, day_window
from digest.ingest import Ingestor
from digest.plaintext import render_daily
from digest.store import Store
from tests.support.builders import write_post
from tests.support.texts import AI_BODY, BANK_BODY, BANK_BODY_REWRITE, PORT_BODY

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")


@pytest.fixture
def day(store: Store, tmp_path: Path) -> Store:
    # 2021-04-20 in Shanghai runs from 2021-04-19 16:00 to 2021-04-20 16:00 UTC
    write_post(tmp_path, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅", author="数字城市报",
               categories=("科技", "数字城市报", "分类"), date="Mon, 19 Apr 2021 19:01:48 GMT")
    write_post(tmp_path, "bank.md", BANK_BODY, title="多家银行下调存款利率", author="每经网",
               date="Tue, 20 Apr 2021 01:00:00 GMT")
    write_post(tmp_path, "bank2.md", BANK_BODY_REWRITE, title="商业银行本周下调定期存款利率", author="江城经济观察",
               date="Tue, 20 Apr 2021 03:00:00 GMT")
    write_post(tmp_path, "port.md", PORT_BODY, title="长江港口吞吐量回升", author="江城经济观察",
               date="Tue, 20 Apr 2021 09:00:00 GMT")
    write_post(tmp_path, "late.md", PORT_BODY.replace("长江", "珠江").replace("回升", "增长") + "<p>另据统计，珠江口岸通关效率也在提高。</p>",
               title="珠江港口吞吐量增长", author="每经网", date="Tue, 20 Apr 2021 17:00:00 GMT")
    report = Ingestor(store, workers=1).ingest([str(tmp_path)])
    assert report.failed == 0 and report.new == 5
    return store


def _titles(digest) -> list[str]:
    return [item.title for item in digest.items]


def test_the_window_is_the_day_in_the_zone(day: Store) -> None:
    shanghai = compose_daily(day, date(2021, 4, 20), SHANGHAI)
    assert set(_titles(shanghai)) == {"人工智能助手进驻政务大厅", "多家银行下调存款利率", "长江港口吞吐量回升"}
    utc = compose_daily(day, date(2021, 4, 19), UTC)
    assert _titles(utc) == ["人工智能助手进驻政务大厅"]


def test_windows_follow_daylight_saving() -> None:
    # (aware datetimes in one zone subtract as wall clocks: compare them in UTC)
    start, end = day_window(date(2021, 3, 14), ZoneInfo("America/New_York"))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    start, end = day_window(date(2021, 11, 7), ZoneInfo("America/New_York"))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)


def test_a_near_duplicate_is_folded_into_the_first_story_which_leads(day: Store) -> None:
    digest = compose_daily(day, date(2021, 4, 20), SHANGHAI)
    first = digest.items[0]
    assert first.title == "多家银行下调存款利率" and first.also_reported == 1
    assert "商业银行本周下调定期存款利率" not in _titles(digest)
    assert first.summary and all(s for s in first.summary)


def test_sections_group_by_category_best_first(day: Store) -> None:
    digest = compose_daily(day, date(2021, 4, 20), SHANGHAI)
    assert [s.category for s in digest.sections] == ["金融", "科技"]
    assert [i.title for i in digest.sections[0].items][0] == "多家银行下调存款利率"
    assert digest.considered == 3 and digest.left_out == 0


def test_subscription_filters(day: Store) -> None:
    def titles(**kwargs: tuple[str, ...]) -> set[str]:
        return set(_titles(compose_daily(day, date(2021, 4, 20), SHANGHAI, digest_filter=DigestFilter(**kwargs))))

    assert titles(categories=("科技",)) == {"人工智能助手进驻政务大厅"}
    # the bank story's first telling is 每经网's; to a chat that only takes 江城经济观察 the
    # retelling is news, and stands for the story
    assert titles(sources=("江城经济观察",)) == {"长江港口吞吐量回升", "商业银行本周下调定期存款利率"}
    assert titles(keywords=("存款", "港口")) == {"多家银行下调存款利率", "长江港口吞吐量回升"}
    assert titles(excluded=("银行",)) == {"人工智能助手进驻政务大厅", "长江港口吞吐量回升"}
    assert titles(categories=("金融",), sources=("每经网",)) == {"多家银行下调存款利率"}
    assert titles(categories=("体育",)) == set()


def test_the_item_limit_titles_the_rest_and_the_digest_holds_every_story(day: Store) -> None:
    digest = compose_daily(day, date(2021, 4, 20), SHANGHAI, max_items=1)
    assert len(digest.items) == 1 and len(digest.titles) == 2 and digest.left_out == 0
    roles = dict(digest.contents)
    assert sorted(roles.values()) == ["folded", "item", "title", "title"]
    assert "【更多】" in render_daily(digest) and all(t.title in render_daily(digest) for t in digest.titles)


def test_an_empty_day_is_empty_and_says_so(day: Store) -> None:
    digest = compose_daily(day, date(2021, 5, 1), SHANGHAI)
    assert digest.empty and digest.items == []
    assert "没有新文章" in render_daily(digest)


def test_the_text_rendering_lists_every_item_and_its_summary(day: Store) -> None:
    digest = compose_daily(day, date(2021, 4, 20), SHANGHAI)
    text = render_daily(digest)
    for item in digest.items:
        assert item.title in text
        assert all(sentence in text for sentence in item.summary)
    assert "另有 1 篇相似报道" in text and "【金融】" in text
    assert digest.to_dict()["sections"][0]["items"][0]["also_reported"] == 1


def test_sections_come_in_the_order_of_their_best_story_and_the_bigger_first_on_a_tie() -> None:
    from datetime import datetime, timezone

    from digest.compose import DigestItem, _rank, _sections

    def item(number: int, category: str, also: int = 0, centrality: float = 0.0) -> DigestItem:
        return DigestItem(number, f"t{number}", (), (), (), "s", category,
                          datetime(2021, 4, 20, number, tzinfo=timezone.utc), also_reported=also, centrality=centrality)

    ranked = sorted([item(1, "科技", also=2), item(2, "金融", centrality=0.5), item(3, "金融", centrality=0.4),
                     item(4, "体育", centrality=0.5), item(5, "交通", centrality=0.1)], key=_rank)
    order = [s.category for s in _sections(ranked)]
    # 科技's one story leads (reported three times), though 金融 has two; 体育's is as central
    # as 金融's best and newer
    assert order == ["科技", "体育", "金融", "交通"]
    tie = [item(6, "体育", centrality=0.5), item(6, "金融", centrality=0.5), item(7, "金融", centrality=0.1)]
    assert [s.category for s in _sections(tie)] == ["金融", "体育"]
