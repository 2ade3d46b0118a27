"""The command router as a unit, on the store (both databases)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot import chats as chat_store
from bot.config import BotConfig
from bot.router import Router
from digest.errors import DigestError
from digest.ingest import Ingestor
from digest.settings import Settings
from digest.store import Store
from tests.support.builders import write_post
from tests.support.feeds import FeedServer
from tests.support.messages import make_incoming
from tests.support.texts import AI_BODY, BANK_BODY, PORT_BODY

NOW = datetime(2021, 4, 20, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def router(store: Store, tmp_path: Path) -> Router:
    write_post(tmp_path, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅", author="数字城市报",
               categories=("科技", "数字城市报", "x"), date="2021-04-20 09:00:00")
    write_post(tmp_path, "bank.md", BANK_BODY, title="多家银行下调存款利率", author="每经网", date="2021-04-20 10:00:00")
    write_post(tmp_path, "port.md", PORT_BODY, title="长江港口吞吐量回升", author="江城经济观察", date="2021-04-19 10:00:00")
    Ingestor(store, workers=1, clock=lambda: NOW - timedelta(hours=1)).ingest([str(tmp_path)])
    return Router(store, BotConfig(admins=frozenset({"telegram:42", "slack:U042", "console"})), clock=lambda: NOW)


def ask(router: Router, text: str, **kwargs: object):
    return router.handle(make_incoming(text, **kwargs))  # type: ignore[arg-type]


def test_search_pages_and_keeps_its_state_server_side(router: Router) -> None:
    reply = ask(router, "/search 存款利率")
    assert reply.search is not None and reply.search.hits[0].article.title == "多家银行下调存款利率"
    assert reply.search_token and len(reply.search_token.encode()) <= 16
    again = router.search_page("telegram", "100", reply.search_token, 1)
    assert again.search is not None and again.search.total == reply.search.total
    other_chat = router.search_page("telegram", "200", reply.search_token, 1)
    assert other_chat.search is None and "过期" in other_chat.text


def test_a_page_button_works_after_a_restart_and_on_another_process(
    router: Router, store: Store, store_url: str
) -> None:
    reply = ask(router, "/search 来源：每经网")
    assert reply.search is not None and reply.search_token
    restarted = Router(store, router.config, clock=lambda: NOW)  # nothing kept in memory
    again = restarted.search_page("telegram", "100", reply.search_token, 1)
    assert again.search is not None and [h.article.title for h in again.search.hits] == ["多家银行下调存款利率"]
    other_process = Store.open(store_url)
    try:
        there = Router(other_process, router.config, clock=lambda: NOW).search_page(
            "telegram", "100", reply.search_token, 1)
        assert there.search is not None and there.search.total == reply.search.total
        assert there.search_token == reply.search_token  # the next button carries the same token
    finally:
        other_process.close()
    week_later = Router(store, router.config, clock=lambda: NOW + timedelta(days=8))
    assert "过期" in week_later.search_page("telegram", "100", reply.search_token, 1).text


def test_subscribe_reads_fields_as_search_does_and_refuses_since(router: Router, store: Store) -> None:
    assert ask(router, "/subscribe 分类：科技 来源： 每经网").text.endswith("分类：科技；来源：每经网")
    searched = ask(router, "/search 分类：科技")
    assert searched.search is not None and [h.article.title for h in searched.search.hits] == ["人工智能助手进驻政务大厅"]
    refused = ask(router, "/subscribe 科技 since:7d")
    assert refused.text.startswith("无法订阅：") and "since:" in refused.text
    chat = chat_store.ensure_chat(store, "telegram", "100")
    assert chat_store.subscription(store, chat).filter.categories == ("科技",)  # the refused one changed nothing


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("/search", "用法：/search"),
        ("/search since:tomorrow 银行", "无法搜索"),
        ("/latest zero", "用法：/latest"),
        ("/latest 99", "用法：/latest"),
        ("/time 8点", "用法：/time"),
        ("/tz Beijing", "未知时区 Beijing"),
        ("/tz", "用法：/tz"),
        ("/lang fr", "用法：/lang"),
        ("/frobnicate now", "未知命令 /frobnicate"),
        ("/stats", "只有管理员"),
        ("hello", "请发送命令"),
        ("/search 人工智能 since:", "无法搜索：since:：冒号后请写名称"),
        ("/more", "翻页请点搜索结果下方的"),
    ],
)
def test_bad_commands_get_a_short_helpful_answer(router: Router, text: str, answer: str) -> None:
    reply = ask(router, text)
    assert reply is not None and answer in reply.text


def test_group_chatter_and_other_bots_commands_are_ignored(router: Router) -> None:
    assert ask(router, "hello everyone", chat_kind="group") is None
    assert ask(router, "/search@other_bot 银行", chat_kind="group") is None
    addressed = ask(router, "/search@digest_bot 银行", chat_kind="group")
    assert addressed is not None and addressed.search is not None


def test_subscribe_sorts_categories_sources_keywords_and_exclusions(router: Router, store: Store) -> None:
    reply = ask(router, "/subscribe 科技, 每经网，港口 !广告 cat:体育")
    assert reply.text.endswith("分类：科技、体育；来源：每经网；关键词：港口；排除：广告")
    chat = chat_store.ensure_chat(store, "telegram", "100")
    wanted = chat_store.subscription(store, chat).filter
    assert wanted.categories == ("科技", "体育") and wanted.sources == ("每经网",)
    assert wanted.keywords == ("港口",) and wanted.excluded == ("广告",)
    assert "订阅：开" in ask(router, "/settings").text
    assert "已取消订阅" in ask(router, "/unsubscribe").text
    assert "没有订阅" in ask(router, "/unsubscribe").text
    assert "订阅：关" in ask(router, "/settings").text


def test_subscription_and_settings_are_confirmed_in_words_not_filter_syntax(router: Router) -> None:
    words = "分类：科技；来源：每经网；关键词：比特币；排除：广告"
    reply = ask(router, "/subscribe 科技, 每经网, 比特币, !广告")
    assert reply.text == f"已订阅：每天 08:00（Asia/Shanghai）发送摘要。{words}"
    assert ask(router, "/settings").text.endswith("\n" + words)
    ask(router, "/lang en")
    english = "Categories: 科技; sources: 每经网; keywords: 比特币; excluded: 广告"
    assert ask(router, "/subscribe 科技, 每经网, 比特币, !广告").text.endswith(f"(Asia/Shanghai). {english}")
    assert ask(router, "/subscribe !广告").text.endswith(". Excluded: 广告")
    assert ask(router, "/settings").text.endswith("\nExcluded: 广告")
    assert ask(router, "/subscribe").text.endswith("Content: all news")


def test_time_zone_and_language_are_per_chat(router: Router, store: Store) -> None:
    # not subscribed yet: said so, not a promise of a digest that will not come
    assert ask(router, "/time 7：30").text == "发送时间已设为每天 07:30（Asia/Shanghai）。本聊天还没有订阅：发送 /subscribe 后生效。"
    assert ask(router, "/tz Europe/Berlin").text.startswith("时区已设为 Europe/Berlin。本聊天还没有订阅")
    ask(router, "/subscribe")
    assert ask(router, "/time 7:30").text == "摘要将在每天 07:30（Europe/Berlin）发送。"
    assert "Europe/Berlin" in ask(router, "/tz Europe/Berlin").text
    assert ask(router, "/lang en").text == "Language set to English."
    settings = ask(router, "/settings").text
    assert "Digest time: 07:30" in settings and "Time zone: Europe/Berlin" in settings
    assert "发送时间：08:00" in ask(router, "/settings", chat="300").text  # another chat: the defaults


def test_digest_now_shows_the_day_before_with_the_chats_filter(router: Router) -> None:
    whole = ask(router, "/digest")  # no digest yet: what was published in the 24 hours before
    assert {i.title for i in whole.digest.items} == {"人工智能助手进驻政务大厅", "多家银行下调存款利率"}
    ask(router, "/subscribe 科技")
    only = ask(router, "/digest")
    assert [i.title for i in only.digest.items] == ["人工智能助手进驻政务大厅"]
    assert [i.title for i in ask(router, "/digest").digest.items] == ["人工智能助手进驻政务大厅"]  # not consumed


def test_digest_of_a_date_is_that_calendar_day_in_the_chats_zone(router: Router) -> None:
    assert [i.title for i in ask(router, "/digest 2021-04-19").digest.items] == ["长江港口吞吐量回升"]
    ask(router, "/tz America/Los_Angeles")  # 2021-04-20 09:00 Shanghai is still the 19th there
    assert {i.title for i in ask(router, "/digest 2021-04-19").digest.items} == {
        "人工智能助手进驻政务大厅", "多家银行下调存款利率"}
    assert "2021-04-22 没有文章" in ask(router, "/digest 2021-04-22").text
    assert "用法：/digest" in ask(router, "/digest yesterday").text


def test_latest_and_stats_for_admins(router: Router) -> None:
    latest = ask(router, "/latest 2")
    assert [a.title for a in latest.articles] == ["多家银行下调存款利率", "人工智能助手进驻政务大厅"]
    assert "文章：3" in ask(router, "/stats", user="42").text
    assert "文章：3" in ask(router, "/stats", platform="slack", user="U042").text
    # the same id on another platform is another person; the console's operator is an admin
    assert "只有管理员" in ask(router, "/stats", platform="slack", user="42").text
    assert "只有管理员" in ask(router, "/stats", user="7").text
    assert "文章：3" in ask(router, "/stats", platform="console", user="console", chat="local").text


def test_admins_are_platform_qualified_ids_never_names() -> None:
    assert BotConfig.from_env({"DIGESTBOT_ADMINS": "42, slack:U0123"}).admins == {
        "telegram:42", "slack:U0123", "console"}
    for bad in ("@boss", "boss", "irc:42", "slack:", "telegram:@boss", "slack:u0123", "telegram:"):
        with pytest.raises(DigestError, match="DIGESTBOT_ADMINS"):
            BotConfig.from_env({"DIGESTBOT_ADMINS": bad})


def test_stats_count_the_sources_the_bot_polls_not_one_off_ingests(
    store: Store, tmp_path: Path, feed_server: FeedServer
) -> None:
    configured, once = tmp_path / "configured", tmp_path / "once"
    write_post(configured, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅")
    write_post(once, "bank.md", BANK_BODY, title="多家银行下调存款利率")
    # a one-off folder and a one-off feed that fails (404): neither is the bot's to poll
    report = Ingestor(store, workers=1).ingest([str(configured), str(once), feed_server.url("/gone")])
    assert (report.new, report.failed) == (2, 1)
    config = BotConfig(settings=Settings(sources=(str(configured),)), admins=frozenset({"telegram:42"}))
    stats = ask(Router(store, config, clock=lambda: NOW), "/stats", user="42").text
    assert "文章：2" in stats and "来源：1（出错 0）" in stats


def test_a_filter_that_hides_everything_says_so_and_zones_ignore_case(router: Router) -> None:
    ask(router, "/subscribe 体育")
    assert "不符合本聊天的订阅内容" in ask(router, "/digest").text
    assert "2021-04-20 没有符合本聊天订阅内容的文章" in ask(router, "/digest 2021-04-20").text
    assert "Asia/Shanghai" in ask(router, "/tz asia/shanghai").text and "UTC" in ask(router, "/tz utc").text
    assert "订阅内容太多" in ask(router, "/subscribe " + ", ".join(f"词{i}" for i in range(51))).text
    assert "订阅内容太多" in ask(router, "/subscribe " + "长" * 41).text
