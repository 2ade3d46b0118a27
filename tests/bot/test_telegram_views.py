"""What a Telegram user sees, through the real python-telegram-bot against the fake Bot
API: /latest with source, time and summary; dates without a time; paging past the end."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest

from digest.ingest import Ingestor
from digest.settings import Settings
from digest.store import Store
from tests.support.bots import running_bot, telegram_config
from tests.support.builders import write_post
from tests.support.fake_telegram import FakeBotAPI
from tests.support.texts import AI_BODY, BANK_BODY

NOW = datetime(2021, 4, 21, 1, 0, tzinfo=timezone.utc)
DATED = "<p>港口企业表示，外贸订单增加带动了集装箱需求。</p><p>内河航运公司也在增开班轮。</p>"


@pytest.fixture
def stored(store: Store, tmp_path: Path) -> Store:
    for i in range(6):  # two pages of results (5 a page)
        write_post(tmp_path, f"p{i}.md", f"<p>第{i}期港口简报：集装箱吞吐量保持增长，编号{i * 7919}。</p>",
                   title=f"港口简报第{i}期", date=f"2021-04-1{i} 08:00:00")
    write_post(tmp_path, "dated.md", DATED, title="只有日期的 <i>港口</i> 消息", date="2021-04-21")
    write_post(tmp_path, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅", date="2021-04-20 08:30:00",
               author="数字城市报")
    write_post(tmp_path, "bank.md", BANK_BODY, title="多家银行下调存款利率", date="2021-04-20 07:00:00",
               extra="link: https://news.example.com/bank?a=1&b=2")
    Ingestor(store, workers=1).ingest([str(tmp_path)])
    return store


def _run(store: Store, api: FakeBotAPI, scenario) -> None:  # type: ignore[no-untyped-def]
    # Los Angeles: a date-only post's made-up midnight in Shanghai would be the day before there
    config = telegram_config(api, settings=Settings(timezone="America/Los_Angeles"))

    async def run() -> None:
        async with running_bot(store, api, config=config, clock=lambda: NOW):
            await scenario()

    asyncio.run(run())


def test_latest_shows_source_time_and_first_sentence_escaped_without_paths(
    stored: Store, api: FakeBotAPI, tmp_path: Path
) -> None:
    async def scenario() -> None:
        api.push_message(100, "/latest 3")
        (reply,) = await api.until("sendMessage", chat_id=100)
        assert reply.params["parse_mode"] == "HTML"
        first, second, third = reply.params["text"].split("\n\n")
        assert first == ("1. <b>只有日期的 &lt;i&gt;港口&lt;/i&gt; 消息</b>\n测试来源 · 2021-04-21\n"
                         "港口企业表示，外贸订单增加带动了集装箱需求。")
        assert second.startswith("2. <b>人工智能助手进驻政务大厅</b>\n数字城市报 · 2021-04-19 17:30\n今年以来，")
        assert third.startswith('3. <a href="https://news.example.com/bank?a=1&amp;b=2">多家银行下调存款利率</a>\n'
                                "测试来源 · 2021-04-19 16:00\n")
        assert str(tmp_path) not in reply.params["text"] and ".md" not in reply.params["text"]

    _run(stored, api, scenario)


def test_search_shows_a_date_only_posts_date_and_no_path(stored: Store, api: FakeBotAPI, tmp_path: Path) -> None:
    async def scenario() -> None:
        api.push_message(100, "/search 外贸订单")
        (reply,) = await api.until("sendMessage", chat_id=100)
        text = reply.params["text"]
        assert "<b>只有日期的 &lt;i&gt;港口&lt;/i&gt; 消息</b>\n测试来源 · 2021-04-21\n" in text
        assert str(tmp_path) not in text and ".md" not in text

    _run(stored, api, scenario)


def test_a_page_button_beyond_the_last_page_says_so_and_leads_back(stored: Store, api: FakeBotAPI) -> None:
    async def scenario() -> None:
        api.push_message(100, "/search 港口")
        (reply,) = await api.until("sendMessage", chat_id=100)
        assert "（第 1/2 页）" in reply.params["text"]
        ((button,),) = reply.params["reply_markup"]["inline_keyboard"]
        token = button["callback_data"].split(":")[1]
        api.push_callback(100, 555, f"s:{token}:5")  # an old button, or a crafted one
        (edit,) = await api.until("editMessageText")
        assert edit.params["text"] == "没有第 5 页：这次搜索共 2 页。"
        ((back,),) = edit.params["reply_markup"]["inline_keyboard"]
        assert back == {"text": "上一页", "callback_data": f"s:{token}:2"}

        api.push_message(100, "/lang en")
        await api.until("sendMessage", count=2, chat_id=100)
        api.push_message(100, "/search 港口")
        english = (await api.until("sendMessage", count=3, chat_id=100))[-1]
        assert english.params["text"].startswith("7 found (page 1/2)")
        assert [b["text"] for b in english.params["reply_markup"]["inline_keyboard"][0]] == ["Next"]

    _run(stored, api, scenario)
