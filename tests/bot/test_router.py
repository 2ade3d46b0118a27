"""The command router as a unit, on the store (both databases)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import chats as chat_store
from bot.adapter import Incoming, Reply
from bot.config import BotConfig
from bot.errors import ErrorReporter
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


# -- hostile input (issue 11) -----------------------------------------------------------

class _RecordingReporter(ErrorReporter):
    """Keeps what reached the router's catch-all: hostile input must never get there."""

    def __init__(self, config: BotConfig) -> None:
        super().__init__(config)
        self.reported: list[str] = []

    def report(self, event: str, exc: BaseException | None = None, **where: object) -> None:  # type: ignore[override]
        self.reported.append(f"{event}: {exc!r}")
        super().report(event, exc, **where)  # type: ignore[arg-type]


def _watched(router: Router, **changes: object) -> tuple[Router, _RecordingReporter]:
    config = replace(router.config, **changes)  # type: ignore[arg-type]
    reporter = _RecordingReporter(config)
    return Router(router.store, config, clock=router.clock, reporter=reporter), reporter


def test_hostile_arguments_get_their_usage_line_not_the_error_reply(router: Router, store: Store) -> None:
    watched, reporter = _watched(router)
    assert ask(watched, "/latest ²").text == "用法：/latest [1-20]"  # str.isdigit takes it, int() does not
    assert ask(watched, "/latest ３").text == "用法：/latest [1-20]"
    assert ask(watched, "/digest ２０２１-０４-２０").text.startswith("用法：/digest")
    assert ask(watched, "/digest 0001-01-01").text.startswith("用法：/digest")
    assert ask(watched, "/digest 9999-12-31").text.startswith("用法：/digest")
    found = ask(watched, "/search 存款\x00利率\ud800")
    assert found.search is not None and found.search.total >= 1
    page = watched.search_page("telegram", "100", found.search_token or "", 1)
    assert page.search is not None
    assert "过期" in watched.search_page("telegram", "100", found.search_token or "", 10**18).text  # forged page
    assert "过期" in watched.search_page("telegram", "100", "x" * 10_000, 1).text  # forged token
    unknown = ask(watched, "/" + "x" * 5000)
    assert unknown.text.startswith("未知命令 /xxx") and len(unknown.text) < 200
    assert reporter.reported == []


def test_a_chat_title_with_nul_and_lone_surrogates_is_stored_clean(router: Router, store: Store) -> None:
    watched, reporter = _watched(router)
    title = "新闻\x00群\ud83d组" + "长" * 10_000
    reply = ask(watched, "/help", chat="-1001", chat_kind="group", chat_title=title)
    assert reply.text.startswith("可用命令")
    chat = chat_store.ensure_chat(store, "telegram", "-1001")
    assert chat.title is not None and chat.title.startswith("新闻 群\ufffd组长") and len(chat.title) == 256
    assert reporter.reported == []


def test_an_argument_over_the_limit_is_refused_and_never_stored_or_echoed(router: Router, store: Store) -> None:
    watched, reporter = _watched(router)
    huge = "比特币" * 350_000  # about 1 MB
    for command in ("subscribe", "search", "tz", "time", "lang", "digest"):
        reply = ask(watched, f"/{command} {huge}")
        assert reply.text == "命令内容太长：最多 500 个字。", command
    chat = chat_store.ensure_chat(store, "telegram", "100")
    assert chat_store.subscription(store, chat) is None and chat.timezone is None
    assert ask(watched, "/lang en").text == "Language set to English."
    assert ask(watched, f"/subscribe {huge}").text == "That is too long: at most 500 characters."
    assert reporter.reported == []


def test_a_flooding_chat_gets_one_slow_down_then_silence_and_others_carry_on(
    router: Router, store: Store, store_url: str
) -> None:
    clock = {"now": NOW}
    config = replace(router.config, commands_per_minute=5)
    first = Router(store, config, clock=lambda: clock["now"])
    other_process = Store.open(store_url)  # the count is in the store: a second process sees it
    try:
        second = Router(other_process, config, clock=lambda: clock["now"])
        answers = [ask(first if n % 2 else second, "/search 存款利率", chat="100", user="7") for n in range(5)]
        assert all(a is not None and a.search is not None for a in answers)
        assert ask(second, "/help", chat="100", user="7").text == "命令太频繁，请一分钟后再试。"
        assert ask(first, "/help", chat="100", user="7") is None
        assert ask(second, "/search 存款利率", chat="100", user="8") is None  # the chat is over, whoever asks
        assert ask(first, "/help", chat="200", user="9").text.startswith("可用命令")  # another chat is not
        # one user over in one chat is over in another: the per-user count
        for _ in range(4):
            assert ask(first, "/help", chat=f"30{_}", user="9") is not None
        assert ask(first, "/help", chat="399", user="9").text == "命令太频繁，请一分钟后再试。"
        assert ask(first, "chatter", chat="100", user="7", chat_kind="group") is None  # not addressed: not counted
        clock["now"] = NOW + timedelta(minutes=1)
        assert ask(second, "/help", chat="100", user="7").text.startswith("可用命令")  # the window passed
        console = [ask(first, "/help", platform="console", chat="console") for _ in range(10)]
        assert all(c is not None and c.text.startswith("可用命令") for c in console)  # the operator has no limit
    finally:
        other_process.close()


def test_the_command_limit_is_read_from_the_environment() -> None:
    assert BotConfig.from_env({}).commands_per_minute == 20
    assert BotConfig.from_env({"DIGESTBOT_COMMANDS_PER_MINUTE": "0"}).commands_per_minute == 0
    for bad in ("²", "-1", "many", "1" * 7):
        with pytest.raises(DigestError, match="DIGESTBOT_COMMANDS_PER_MINUTE"):
            BotConfig.from_env({"DIGESTBOT_COMMANDS_PER_MINUTE": bad})


_HOSTILE = st.lists(
    st.one_of(st.characters(exclude_categories=()),  # surrogates and controls too
              st.sampled_from(["\x00", "\ud800", "\udfff", "²", "٣", "：", ":", "!", "/", " ", "\n",
                               "since:", "source:", "cat:", "-", "9999", "0001", "2021-04-20", "@", "存款"])),
    max_size=30,
).map("".join).flatmap(lambda s: st.sampled_from([s, s * 20, s * 200]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(command=st.sampled_from(["start", "help", "search", "latest", "digest", "subscribe", "unsubscribe",
                                "settings", "time", "tz", "lang", "stats", "more", "nosuch"]),
       argument=_HOSTILE, title=st.one_of(st.none(), _HOSTILE), page=st.integers(min_value=-10, max_value=10**19))
def test_any_command_text_gets_a_reply_never_an_exception(
    router: Router, command: str, argument: str, title: str | None, page: int
) -> None:
    watched, reporter = _watched(router, commands_per_minute=0)
    message = Incoming("telegram", "-100", "7", command, argument, chat_kind="group", chat_title=title)
    reply = watched.handle(message)
    assert isinstance(reply, Reply) and len(reply.text) <= 2000
    if reply.search_token:
        assert isinstance(watched.search_page("telegram", "-100", reply.search_token, page), Reply)
    assert isinstance(watched.search_page("telegram", "-100", argument, page), Reply)  # a forged button
    assert reporter.reported == []


def test_sql_metacharacters_in_search_and_subscribe_are_plain_data(router: Router, store: Store, tmp_path: Path) -> None:
    # issue 11: what a user types reaches SQL only as a bound value (tests/tools/test_sql_parameterised.py
    # checks the code); here the values go in and come back unchanged, and match only themselves
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "quote.md").write_text(
        "---\ntitle: \"O'Brien 谈增长\"\nauthor: 测试报\ndate: 2021-04-20 11:00:00\n---\n"
        "<p>O'Brien 说，今年的增长达到了百分之五十。</p>\n", encoding="utf-8")
    Ingestor(store, workers=1, clock=lambda: NOW).ingest([str(tmp_path / "more")])
    hostile = ["O'Brien", "x')OR('1'='1--", "50%", "a_b", "back\\slash", '"quoted"']
    assert ask(router, "/subscribe " + ", ".join(hostile)).text.startswith("已订阅")
    wanted = chat_store.subscription(store, chat_store.ensure_chat(store, "telegram", "100")).filter
    assert sorted(wanted.keywords) == sorted(hostile)
    found = ask(router, "/search O'Brien").search
    assert found is not None and [h.article.title for h in found.hits] == ["O'Brien 谈增长"]
    for wildcard in ("%", "_", "'", "' OR '1'='1"):  # LIKE's and SQL's wildcards match only themselves
        reply = ask(router, f"/search {wildcard}")
        assert reply.search is None or reply.search.total <= 1, wildcard
    assert ask(router, "/search '; DROP TABLE articles; --") is not None
    assert store.count_articles() == 4 and chat_store.subscription(store, chat_store.ensure_chat(
        store, "telegram", "100")) is not None
