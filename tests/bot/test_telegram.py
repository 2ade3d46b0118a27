"""The real python-telegram-bot against a fake Bot API server on 127.0.0.1: commands,
paging, the daily digest through the outbox, 429, 403, migration, restarts."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot import chats as chat_store
from bot import outbox
from bot.runtime import Runtime
from digest.compose import DigestFilter
from digest.store import Store
from tests.support.bots import running_bot, telegram_bot, telegram_config
from tests.support.builders import chat_news
from tests.support.clock import ManualClock
from tests.support.fake_telegram import FakeBotAPI

DUE = datetime(2021, 4, 20, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai: after 08:00
EARLY = datetime(2021, 4, 19, 23, 0, tzinfo=timezone.utc)  # 07:00 in Shanghai
STORED = datetime(2021, 4, 19, 22, 0, tzinfo=timezone.utc)  # when the articles were ingested


@pytest.fixture
def news(store: Store, tmp_path: Path) -> Store:
    return chat_news(store, tmp_path, STORED)


def test_search_finds_the_article_and_pages_with_buttons(news: Store, api: FakeBotAPI) -> None:
    async def scenario() -> None:
        async with running_bot(news, api, clock=lambda: DUE):
            api.push_message(100, "/search 港口 简报")
            (reply,) = await api.until("sendMessage", chat_id=100)
            assert reply.params["parse_mode"] == "HTML"
            assert "找到 7 篇（第 1/2 页）" in reply.params["text"]
            assert "港口简报第6期 &lt;b&gt;&amp;&lt;/b&gt;" in reply.params["text"]  # escaped
            (buttons,) = reply.params["reply_markup"]["inline_keyboard"]
            assert [b["text"] for b in buttons] == ["下一页"]
            data = buttons[0]["callback_data"]
            assert len(data.encode("utf-8")) <= 64
            api.push_callback(100, 555, data)
            (edit,) = await api.until("editMessageText")
            assert "第 2/2 页" in edit.params["text"]
            assert [b["text"] for b in edit.params["reply_markup"]["inline_keyboard"][0]] == ["上一页"]
        menus = {c.params.get("language_code"): c.params["commands"] for c in api.sent(method="setMyCommands")}
        assert set(menus) == {None, "en"}  # Chinese by default, English for English users
        assert [c["command"] for c in menus[None]] == [c["command"] for c in menus["en"]]
        assert {"command": "search", "description": "搜索新闻"} in menus[None]
        assert {"command": "search", "description": "Search the news"} in menus["en"]

    asyncio.run(scenario())


def test_a_button_the_bot_did_not_make_is_answered_and_changes_nothing(news: Store, api: FakeBotAPI) -> None:
    async def scenario() -> None:
        async with running_bot(news, api, clock=lambda: DUE):
            for data in ("garbage", "s:tok:0", "s:tok:1:2", "s:../..:1"):  # forged or from another bot
                before = len(api.sent(method="answerCallbackQuery"))
                api.push_callback(100, 555, data)
                await api.until("answerCallbackQuery", count=before + 1)
            await asyncio.sleep(0.3)
            assert api.sent(method="editMessageText") == [] and api.sent(100) == []

    asyncio.run(scenario())


def test_group_commands_for_this_bot_only(news: Store, api: FakeBotAPI) -> None:
    async def scenario() -> None:
        async with running_bot(news, api, clock=lambda: DUE):
            api.push_message(-5, "大家好", chat_type="group")
            api.push_message(-5, "/search@other_bot 港口", chat_type="group")
            api.push_message(-5, "/search@digest_bot 银行", chat_type="group")
            (reply,) = await api.until("sendMessage", chat_id=-5)
            assert "多家银行下调存款利率" in reply.params["text"]
            await asyncio.sleep(0.5)
            assert len(api.sent(-5)) == 1

    asyncio.run(scenario())


def test_subscribe_then_the_due_time_gives_exactly_one_digest_even_after_a_restart(
    news: Store, api: FakeBotAPI
) -> None:
    async def scenario() -> None:
        clock = ManualClock(EARLY)
        async with running_bot(news, api, clock=clock, with_runtime=True) as bot:
            runtime = bot.runtime
            assert runtime is not None
            api.push_message(100, "/subscribe")
            await api.until("sendMessage", chat_id=100)
            assert await runtime.queue_due() == 0  # 07:00 in Shanghai: not yet
            clock.set(DUE)
            assert await runtime.queue_due() == 1
            assert await runtime.queue_due() == 0
            await runtime.drain()
        digests = [c for c in api.sent(100) if "每日摘要" in c.params["text"]]
        assert len(digests) == 1
        text = digests[0].params["text"]
        assert "多家银行下调存款利率" in text and "人工智能助手进驻政务大厅" in text
        assert 'href="https://news.example.com/bank?a=1&amp;b=2"' in text
        assert digests[0].params["link_preview_options"] == {"is_disabled": True}

        # a restart: new process state, same store
        async with running_bot(news, api, clock=lambda: DUE, with_runtime=True) as restarted:
            assert restarted.runtime is not None
            assert await restarted.runtime.queue_due() == 0
            assert await restarted.runtime.drain() == 0
        assert len([c for c in api.sent(100) if "每日摘要" in c.params["text"]]) == 1

    asyncio.run(scenario())


def _deliver(store: Store, api: FakeBotAPI, chat_ref: str, kind: str = "private") -> int:
    """Subscribe a chat, then queue (and so send) its due digest through the real adapter."""
    adapter = telegram_bot(store, api, clock=lambda: DUE)
    chat = chat_store.ensure_chat(store, "telegram", chat_ref, kind=kind)
    chat_store.subscribe(store, chat, DigestFilter(), now=EARLY)
    runtime = Runtime(store, adapter.config, {"telegram": adapter}, clock=lambda: DUE)

    async def scenario() -> int:
        await adapter.application.initialize()
        try:
            return await runtime.queue_due()
        finally:
            await adapter.application.shutdown()

    return asyncio.run(scenario())


def test_a_429_is_waited_out_exactly(news: Store, api: FakeBotAPI) -> None:
    api.fail_next(100, 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                             "parameters": {"retry_after": 1}})

    assert _deliver(news, api, "100") == 1
    attempts = api.sent(100)
    assert len(attempts) == 2 and attempts[1].at - attempts[0].at >= 0.95
    chat = chat_store.ensure_chat(news, "telegram", "100")
    assert [part for _, part, _ in outbox.sent_parts(news, chat.id)] == [0]


def test_a_403_deactivates_the_chat(news: Store, api: FakeBotAPI) -> None:
    api.fail_next(100, 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})

    _deliver(news, api, "100")
    chat = chat_store.ensure_chat(news, "telegram", "100")
    assert not chat.active and outbox.sent_parts(news, chat.id) == []
    assert chat_store.subscribed_chats(news) == []


def test_a_migrated_group_is_followed(news: Store, api: FakeBotAPI) -> None:
    api.fail_next(-5, 400, {"ok": False, "error_code": 400,
                            "description": "Bad Request: group chat was upgraded to a supergroup chat",
                            "parameters": {"migrate_to_chat_id": -1005}})

    _deliver(news, api, "-5", kind="group")
    assert len(api.sent(-1005)) == 1
    moved = chat_store.ensure_chat(news, "telegram", "-1005")
    assert moved.kind == "group" and outbox.sent_parts(news, moved.id)


def test_a_400_gives_that_message_up_at_once_and_the_chat_stays(news: Store, api: FakeBotAPI) -> None:
    api.fail_next(100, 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"})

    assert _deliver(news, api, "100") == 1
    assert len(api.sent(100)) == 1  # tried once, not twelve times over six hours
    chat = chat_store.ensure_chat(news, "telegram", "100")
    assert chat.active and outbox.sent_parts(news, chat.id) == []
    assert outbox.claim(news, DUE + timedelta(days=1)) == []  # given up, not waiting for a retry


def test_webhook_mode_and_channel_posts(news: Store, api: FakeBotAPI) -> None:
    import json
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = telegram_config(api, telegram_webhook_url=f"http://127.0.0.1:{port}/hook",
                             telegram_webhook_secret="s3cret", webhook_listen="127.0.0.1")
    update = {"update_id": 1, "channel_post": {"message_id": 7, "date": 1, "text": "/search 银行",
                                               "chat": {"id": -1009, "type": "channel", "title": "新闻频道"}}}

    def post(secret: str) -> int:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/hook", data=json.dumps(update).encode(),
                                         headers={"Content-Type": "application/json",
                                                  "X-Telegram-Bot-Api-Secret-Token": secret})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    async def scenario() -> None:
        async with running_bot(news, api, config=config, clock=lambda: DUE):
            (hook,) = api.sent(method="setWebhook")
            assert hook.params["url"] == f"http://127.0.0.1:{port}/hook" and hook.params["secret_token"] == "s3cret"
            assert await asyncio.to_thread(post, "wrong") == 403
            assert await asyncio.to_thread(post, "s3cret") == 200
            (reply,) = await api.until("sendMessage", chat_id=-1009)
            assert "多家银行下调存款利率" in reply.params["text"]

    asyncio.run(scenario())


def test_configured_channels_get_the_digest_without_subscribing(news: Store, api: FakeBotAPI) -> None:
    config = telegram_config(api, telegram_channels=("@news_cn", "-1001"))

    async def scenario() -> None:
        async with running_bot(news, api, config=config, clock=lambda: EARLY) as bot:  # up at 07:00
            runtime = Runtime(news, config, {"telegram": bot.adapter}, clock=lambda: DUE)
            assert await runtime.queue_due() == 2

    asyncio.run(scenario())
    subscribed = {(c.chat_ref, c.kind) for c, _ in chat_store.subscribed_chats(news)}
    assert subscribed == {("@news_cn", "channel"), ("-1001", "channel")}
    assert len(api.sent("@news_cn")) == 1 and len(api.sent(-1001)) == 1


def test_one_chat_busy_does_not_hold_another_chats_answer(news: Store, api: FakeBotAPI) -> None:
    # issue 11: updates were handled one at a time, so 1,000 /search from one chat delayed
    # another chat's /help from 0.01 s to 5.7 s. Here chat 100's command is held inside the
    # router until chat 200 has had its answer; handled one at a time, 200 would never get it.
    import threading

    from bot.router import Router
    from bot.telegram import TelegramAdapter

    release = threading.Event()

    class HeldRouter(Router):
        def handle(self, message):  # type: ignore[no-untyped-def]
            if message.chat == "100":
                release.wait(timeout=30)
            return super().handle(message)

    config = telegram_config(api)
    adapter = TelegramAdapter(HeldRouter(news, config, clock=lambda: DUE), config, poll_timeout=1)

    async def scenario() -> None:
        try:
            await adapter.start()
            api.push_message(100, "/search 港口")
            api.push_message(200, "/help", user_id=43)
            (other,) = await api.until("sendMessage", chat_id=200, timeout=15)
            assert "可用命令" in other.params["text"]
            assert api.sent(100) == []  # still held
            release.set()
            (held,) = await api.until("sendMessage", chat_id=100)
            assert "港口" in held.params["text"]
        finally:
            release.set()
            await adapter.stop()

    asyncio.run(scenario())


def test_a_chat_title_no_database_takes_still_gets_its_answer(news: Store, api: FakeBotAPI) -> None:
    # issue 11: a NUL or a lone surrogate in a chat's title (JSON can carry both) made the
    # store refuse the chat, and the command died with a traceback instead of a reply
    async def scenario() -> None:
        async with running_bot(news, api, clock=lambda: DUE):
            api._push({"message": {"message_id": 1, "date": 1, "text": "/help", "from": {"id": 42, "is_bot": False,
                                   "first_name": "R"}, "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                                   "chat": {"id": -300, "type": "group", "title": "新闻\x00群\ud800"}}})
            (reply,) = await api.until("sendMessage", chat_id=-300)
            assert "可用命令" in reply.params["text"]
        chat = chat_store.ensure_chat(news, "telegram", "-300")
        assert chat.title == "新闻 群\ufffd"

    asyncio.run(scenario())


def test_a_flooding_user_gets_one_slow_down_in_all_and_another_chat_is_answered(news: Store, api: FakeBotAPI) -> None:
    # issue 11: one user flooding one chat, then many, is held to its limit (20 a minute) in
    # the store; another user's chat, written to behind the whole flood, is still answered
    async def scenario() -> None:
        async with running_bot(news, api, clock=lambda: DUE):
            for _ in range(60):
                api.push_message(500, "/search 港口", user_id=7)
            for chat in range(700, 740):  # the same user, in chats of their own: over by the user count
                api.push_message(chat, "/help", user_id=7)
            api.push_message(600, "/help", user_id=8)
            (answer,) = await api.until("sendMessage", chat_id=600, timeout=30)  # generous: "does not hang"
            assert answer.params["text"].startswith("可用命令")
            await api.until("sendMessage", count=21, chat_id=500, timeout=30)
            await asyncio.sleep(0.5)  # anything more the flood would get comes now
            texts = [c.params["text"] for c in api.sent(500)]  # answered concurrently: in any order
            assert len(texts) == 21 and texts.count("命令太频繁，请一分钟后再试。") == 1
            assert sum(text.startswith("找到 7 篇") for text in texts) == 20
            assert [c for c in api.sent() if 700 <= int(c.params["chat_id"]) < 740] == []

    asyncio.run(scenario())
