"""The real slack-bolt and slack-sdk against the fake Slack on 127.0.0.1: signed slash
commands, buttons, mentions and direct messages in HTTP mode, Socket Mode, the daily
digest through the outbox (429, not_in_channel, token errors, dropped connections), and
the configuration. Every message body is checked against Block Kit's limits by the fake."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot import chats as chat_store
from bot import outbox
from bot.config import BotConfig
from bot.delivery import UNAUTHORIZED_RECHECK, Delivery
from bot.slack import chat_kind, command_of, plain_text, without_mention
from digest.errors import DigestError
from digest.ingest import Ingestor
from digest.schema import deliveries
from digest.store import Store
from tests.support import fake_slack
from tests.support.bots import RunningSlack, running_slack, slack_config
from tests.support.builders import chat_news, write_post
from tests.support.clock import ManualClock
from tests.support.fake_slack import FakeSlack

DUE = datetime(2021, 4, 20, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai: after 08:00
STORED = datetime(2021, 4, 19, 22, 0, tzinfo=timezone.utc)  # when the articles were ingested
SUBSCRIBED = STORED - timedelta(days=1)


@pytest.fixture
def news(store: Store, tmp_path: Path) -> Store:
    return chat_news(store, tmp_path, STORED)


def _text(body: dict[str, Any]) -> str:
    """Every text of a message body's blocks, joined: what the reader sees."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body.get("blocks") or [])
    return "\n".join(found)


def _buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in body.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


# -- Slack's syntax, parsed in the adapter ------------------------------------------------


@pytest.mark.parametrize(("typed", "meant"), [
    ("search &lt;b&gt; &amp; c", "search <b> & c"),
    ("search <https://news.example.com/a|news.example.com>", "search news.example.com"),
    ("subscribe <#C0123|finance>", "subscribe #finance"),
    ("contact <mailto:a@b.cn|a@b.cn>", "contact a@b.cn"),
    ("&amp;lt;", "&lt;"),  # unescaped once: what the user typed was `&lt;`
])
def test_slack_text_is_read_as_the_user_typed_it(typed: str, meant: str) -> None:
    assert plain_text(typed) == meant


@pytest.mark.parametrize(("text", "parsed"), [
    ("", ("help", "")),
    ("   ", ("help", "")),
    ("search 人工智能", ("search", "人工智能")),
    ("SEARCH  人工 智能 ", ("search", "人工 智能")),
    ("/search 人工智能", ("search", "人工智能")),  # the slash of habit
    ("subscribe\u3000金融 !广告", ("subscribe", "金融 !广告")),  # a full-width space
    ("人工智能", ("人工智能", "")),  # no command: the router says so
])
def test_a_subcommand_and_its_argument(text: str, parsed: tuple[str, str]) -> None:
    assert command_of(text) == parsed


def test_a_mention_is_read_without_the_bots_name_and_kinds_of_conversation() -> None:
    assert without_mention("<@U0BOT> search 人工智能", "U0BOT") == "search 人工智能"
    assert without_mention("<@U0BOT|digestbot>: latest", "U0BOT") == "latest"
    assert without_mention("<@U0OTHER> search", "U0BOT") == "<@U0OTHER> search"  # someone else's mention
    assert [chat_kind(c, n) for c, n in (("D0DM", None), ("C0GEN", "general"), ("G0SECRET", None),
                                          ("C0PRIV", "privategroup"), ("C0X", "directmessage"))] == [
        "private", "channel", "group", "group", "private"]


# -- configuration ------------------------------------------------------------------------


def test_slack_is_configured_from_its_variables_and_refuses_what_would_not_work() -> None:
    on = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cret"}
    http = BotConfig.from_env(on)
    assert (http.slack_socket_mode, http.http_port, http.slack_command) == (False, 3000, "/news")
    assert http.slack_api_base_url == "https://slack.com/api/" and {"xoxb-1", "s3cret"} <= set(http.secrets)
    assert BotConfig.from_env({**on, "PORT": "8080"}).http_port == 8080
    socket = BotConfig.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-x"})
    assert socket.slack_socket_mode and socket.http_port is None and "xapp-1-x" in socket.secrets
    channels = BotConfig.from_env({**on, "SLACK_CHANNELS": "C0123, G0456", "SLACK_COMMAND": "/digest"})
    assert channels.slack_channels == ("C0123", "G0456") and channels.slack_command == "/digest"
    assert BotConfig.from_env({}).slack_bot_token is None
    refused = [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({**on, "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN: not an app-level token"),
        ({**on, "SLACK_BOT_TOKEN": "xapp-1-x"}, "SLACK_BOT_TOKEN: that is an app-level token (xapp-)"),
        ({**on, "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2"}, "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set"),
        ({**on, "SLACK_CHANNELS": "#general"}, "SLACK_CHANNELS: '#general' not a channel id"),
        ({**on, "SLACK_COMMAND": "news"}, "SLACK_COMMAND: 'news' is not a slash command"),
        ({**on, "SLACK_API_BASE_URL": "ftp://x/api/"}, "SLACK_API_BASE_URL: not an http(s) URL"),
    ]
    for environ, message in refused:
        with pytest.raises(DigestError, match="^" + re.escape(message)):
            BotConfig.from_env(environ)


# -- HTTP mode: requests Slack signs ------------------------------------------------------


def test_only_signed_fresh_requests_reach_the_router(news: Store, slack: FakeSlack) -> None:
    async def scenario() -> None:
        async with running_slack(news, slack, clock=lambda: DUE) as bot:
            (answer,) = await bot.command(slack, "search 人工智能")
            assert "人工智能助手进驻政务大厅" in _text(answer.body)
            url = slack.new_response_url("C0REFUSED")
            body = fake_slack.slash_command_body(text="search 人工智能", response_url=url, channel_id="C0REFUSED")
            stale = fake_slack.sign(body, timestamp=int(time.time()) - 600)
            for headers in ({}, fake_slack.sign(body, secret="not-the-secret"), stale):
                status, _ = await bot.post(body, headers)
                assert status == 401
            await asyncio.sleep(0.3)
            assert slack.responses(url) == []
            assert chat_store.get_chat(news, 2) is None  # the refused requests never made a chat

    asyncio.run(scenario())


def test_news_alone_is_help_in_slacks_form_and_words_are_unescaped(news: Store, slack: FakeSlack) -> None:
    async def scenario() -> None:
        async with running_slack(news, slack, clock=lambda: DUE) as bot:
            (help_,) = await bot.command(slack, "")
            shown = _text(help_.body)
            assert "/news search 关键词" in shown and "/news subscribe" in shown and "\n/search" not in shown
            assert "/more" not in shown  # pages are turned with buttons here
            assert help_.body["response_type"] == "ephemeral"
            (unknown,) = await bot.command(slack, "frobnicate")
            assert "未知命令 /news frobnicate。发送 /news help 查看可用命令。" in _text(unknown.body)
            # Slack escaped what the user typed (`<b>&`): read as typed, it finds the titles holding it
            (typed,) = await bot.command(slack, "search 港口 &lt;b&gt;&amp;")
            assert "找到 7 篇" in _text(typed.body)
            (since,) = await bot.command(slack, "subscribe since:7d")  # a library error, in the /news form too
            assert "since: 用于 /news search" in _text(since.body)
            # Bolt 1.30 reads a form holding the word "payload" as a button press: not here
            (payload,) = await bot.command(slack, "search payload")
            assert "没有找到与“payload”相关的文章" in _text(payload.body)
        assert slack.violations == []

    asyncio.run(scenario())


def test_search_is_ephemeral_and_pages_and_shares_through_its_buttons(news: Store, slack: FakeSlack) -> None:
    async def scenario() -> None:
        async with running_slack(news, slack, clock=lambda: DUE) as bot:
            (first,) = await bot.command(slack, "search 港口 简报")
            assert first.body["response_type"] == "ephemeral"
            assert first.body["blocks"][0]["elements"][0]["text"] == "搜索：港口 简报"  # Slack shows no one the command
            assert "找到 7 篇（第 1/2 页）" in _text(first.body)
            assert "港口简报第6期 &lt;b&gt;&amp;&lt;/b&gt;" in _text(first.body)  # mrkdwn-escaped
            assert first.body["unfurl_links"] is False and first.body["unfurl_media"] is False
            labels = {b["text"]["text"]: b for b in _buttons(first.body)}
            assert set(labels) == {"下一页", "分享到频道"}
            for label, check in (("下一页", "第 2/2 页"), ("分享到频道", "第 1/2 页")):
                button = labels[label]
                url = slack.new_response_url("C0GEN")
                status, _ = await bot.post(fake_slack.block_actions_body(button["action_id"], button["value"],
                                                                         response_url=url))
                assert status == 200
                (pressed,) = await slack.until_responses(url)
                assert check in _text(pressed.body)
                if label == "下一页":  # the ephemeral message is replaced, with a way back
                    assert pressed.body["replace_original"] is True
                    assert [b["text"]["text"] for b in _buttons(pressed.body)] == ["上一页", "分享到频道"]
                else:  # posted for the channel: no buttons, and who shared it
                    assert pressed.body["response_type"] == "in_channel" and pressed.body["replace_original"] is False
                    assert _buttons(pressed.body) == [] and "<@U0USER> 分享了搜索结果" in _text(pressed.body)
            # a forged value, or another channel's search, changes nothing
            url = slack.new_response_url("C0OTHER")
            await bot.post(fake_slack.block_actions_body(labels["下一页"]["action_id"], labels["下一页"]["value"],
                                                         response_url=url, channel_id="C0OTHER"))
            (other,) = await slack.until_responses(url)
            assert "这次搜索已过期" in _text(other.body)
            status, _ = await bot.post(fake_slack.block_actions_body("page:x", "../../etc:1"))
            assert status == 200
        assert slack.violations == []

    asyncio.run(scenario())


def test_subscribing_is_posted_in_the_channel_and_a_private_channel_asks_for_an_invitation(
        news: Store, slack: FakeSlack) -> None:
    slack.add_channel("G0SECRET", joined=False)
    slack.add_channel("C0NEW", joined=False)

    async def scenario() -> None:
        async with running_slack(news, slack, clock=lambda: DUE) as bot:
            for refused in ("subscribe !", "time 25:00", "lang fr", "unsubscribe"):  # nothing changed: the asker's
                (answer,) = await bot.command(slack, refused)
                assert answer.body["response_type"] == "ephemeral", refused
            (done,) = await bot.command(slack, "subscribe 金融 !广告")
            assert done.body["response_type"] == "in_channel"
            (moved,) = await bot.command(slack, "time 09:15")
            assert moved.body["response_type"] == "in_channel" and "09:15" in _text(moved.body)
            assert "已订阅：每天 08:00（Asia/Shanghai）发送摘要。分类：金融；排除：广告" in _text(done.body)
            (secret,) = await bot.command(slack, "subscribe", channel="G0SECRET")
            assert "请先用 /invite @digestbot 邀请我" in _text(secret.body)
            assert secret.body["response_type"] == "ephemeral"
            (joined,) = await bot.command(slack, "subscribe", channel="C0NEW")  # a public channel: joined
            assert "已订阅" in _text(joined.body) and slack.channels["C0NEW"].is_member
        subscribed = {chat.chat_ref for chat, _ in chat_store.subscribed_chats(news)}
        assert subscribed == {"C0GEN", "C0NEW"}

    asyncio.run(scenario())


def test_stats_is_for_slack_admins_by_user_id(news: Store, slack: FakeSlack) -> None:
    async def scenario() -> None:
        config = slack_config(slack, admins=frozenset({"console", "slack:U0ADMIN"}))
        async with running_slack(news, slack, config=config, clock=lambda: DUE) as bot:
            (admin,) = await bot.command(slack, "stats", user="U0ADMIN")
            assert "文章：9" in _text(admin.body)
            (other,) = await bot.command(slack, "stats", user="U0USER")
            assert "只有管理员可以查看统计" in _text(other.body)

    asyncio.run(scenario())


def test_a_mention_is_answered_in_its_thread_and_a_retried_event_once(news: Store, slack: FakeSlack) -> None:
    async def scenario() -> None:
        async with running_slack(news, slack, clock=lambda: DUE) as bot:
            event = fake_slack.app_mention_event("<@U0BOT> search 人工智能", ts="1700000000.000200")
            body = fake_slack.event_body(event, event_id="Ev0MENTION")
            status, _ = await bot.post(body, content_type="application/json")
            assert status == 200
            (answer,) = await slack.until("chat.postMessage", channel="C0GEN")
            assert answer.params["thread_ts"] == "1700000000.000200"
            assert "人工智能助手进驻政务大厅" in _text(answer.params)
            assert "分享到频道" not in _text(answer.params)  # the thread is the channel's already
            # Slack sends it again (no answer seen within 3 s): acked, not answered twice
            status, _ = await bot.post(body, {**fake_slack.sign(body), **fake_slack.retry_headers(1)},
                                       content_type="application/json")
            assert status == 200
            await asyncio.sleep(0.5)
            assert len(slack.sent("chat.postMessage", channel="C0GEN")) == 1
        assert slack.violations == []

    asyncio.run(scenario())


def test_a_direct_message_is_a_command_without_the_slash(news: Store, slack: FakeSlack) -> None:
    async def scenario() -> None:
        async with running_slack(news, slack, clock=lambda: DUE) as bot:
            ignored = [fake_slack.message_im_event("search 人工智能") | {"subtype": "message_changed"},
                       fake_slack.message_im_event("search 人工智能") | {"bot_id": "B0OTHER"}]
            for event in ignored:  # an edit and a bot's post are not commands
                status, _ = await bot.post(fake_slack.event_body(event), content_type="application/json")
                assert status == 200
            status, _ = await bot.post(fake_slack.event_body(fake_slack.message_im_event("latest 2")),
                                       content_type="application/json")
            (answer,) = await slack.until("chat.postMessage", channel="D0DM")
            assert "1. *人工智能助手进驻政务大厅*" in _text(answer.params)
            await asyncio.sleep(0.3)
            assert len(slack.sent("chat.postMessage")) == 1
            # words that are no command: the hint, not "unknown command /news 你好"
            await bot.post(fake_slack.event_body(fake_slack.message_im_event("你好")), content_type="application/json")
            (_, hint) = await slack.until("chat.postMessage", count=2, channel="D0DM")
            assert _text(hint.params).startswith("请发送命令，例如 /news search 人工智能")
        chat = chat_store.ensure_chat(news, "slack", "D0DM")
        assert chat.kind == "private"

    asyncio.run(scenario())


def test_url_verification_and_an_uninstall(news: Store, slack: FakeSlack) -> None:
    async def scenario() -> None:
        config = slack_config(slack, slack_channels=("C0A", "C0B"))
        async with running_slack(news, slack, config=config, clock=lambda: DUE) as bot:
            status, text = await bot.post(fake_slack.url_verification_body("ch4llenge"),
                                          content_type="application/json")
            assert status == 200 and "ch4llenge" in text
            assert bot.adapter.health()["ok"] is True
            users_only = {"type": "tokens_revoked", "tokens": {"oauth": ["U0USER"], "bot": []}}
            status, _ = await bot.post(fake_slack.event_body(users_only), content_type="application/json")
            assert status == 200
            await asyncio.sleep(0.3)
            assert bot.adapter.health()["ok"] is True and len(chat_store.subscribed_chats(news)) == 2
            status, _ = await bot.post(fake_slack.event_body({"type": "app_uninstalled"}),
                                       content_type="application/json")
            assert status == 200
            for _ in range(100):
                if not bot.adapter.health()["ok"]:
                    break
                await asyncio.sleep(0.05)
            assert bot.adapter.health() == {"ok": False, "last_error": "app uninstalled", "mode": "http"}
        assert chat_store.subscribed_chats(news) == []  # no digest goes to a workspace that removed the app

    asyncio.run(scenario())


def test_a_rejected_token_stops_the_start_in_one_line(news: Store, slack: FakeSlack) -> None:
    async def scenario() -> None:
        config = slack_config(slack, slack_bot_token="xoxb-revoked-one")
        with pytest.raises(DigestError) as refused:
            async with running_slack(news, slack, config=config):
                pass
        message = str(refused.value)
        assert message.startswith(f"slack: the Web API at {slack.base_url} rejected SLACK_BOT_TOKEN (invalid_auth)")
        assert "\n" not in message and "xoxb-revoked-one" not in message

    asyncio.run(scenario())


# -- Socket Mode -------------------------------------------------------------------------


def test_socket_mode_acks_answers_and_reconnects(news: Store, slack: FakeSlack) -> None:
    async def scenario() -> None:
        config = slack_config(slack, slack_app_token=fake_slack.APP_TOKEN, slack_signing_secret=None)
        async with running_slack(news, slack, config=config, clock=lambda: DUE) as bot:
            assert bot.adapter.describe() == "slack @digestbot (Test), socket mode"
            await slack.until_connected(1)
            for round_ in (1, 2):
                url = slack.new_response_url("C0GEN")
                envelope = slack.send_envelope("slash_commands", fake_slack.slash_command(
                    text="search 人工智能", response_url=url))
                ack = await slack.until_ack(envelope)
                assert not (ack.payload or {}).get("text")  # an empty ack: the answer follows
                (answer,) = await slack.until_responses(url)
                assert "人工智能助手进驻政务大厅" in _text(answer.body)
                if round_ == 1:  # Slack recycles the socket; the SDK opens a new one
                    slack.disconnect()
                    await slack.until_connected(2)
            assert len(slack.sent("apps.connections.open")) >= 2
        assert slack.violations == []

    asyncio.run(scenario())


def test_a_rejected_app_token_stops_the_start_instead_of_retrying(news: Store, slack: FakeSlack) -> None:
    async def scenario() -> None:
        config = slack_config(slack, slack_app_token="xapp-1-wrong", slack_signing_secret=None)
        started = time.monotonic()
        with pytest.raises(DigestError, match=r"^slack: .* rejected SLACK_APP_TOKEN \(invalid_auth\)"):
            async with running_slack(news, slack, config=config):
                pass
        assert time.monotonic() - started < 10  # not the SDK's retry loop
        assert slack.connections == 0

    asyncio.run(scenario())


# -- the daily digest --------------------------------------------------------------------


def _subscribe(store: Store, *refs: str) -> None:
    chat_store.standing_subscriptions(store, "slack", refs, now=SUBSCRIBED)


async def _deliver(bot: RunningSlack, clock: ManualClock, until: Any, rounds: int = 60) -> None:
    """Queue the due digests, then drain (the clock moving with real time) until `until()`."""
    assert bot.runtime is not None
    await bot.runtime.queue_due()
    for _ in range(rounds):
        if until():
            return
        await bot.runtime.drain()
        await asyncio.sleep(0.1)
        clock.advance(seconds=0.5)
    raise AssertionError("not delivered")


def _parts(store: Store) -> list[Any]:
    """The outbox's rows, in order."""
    with store.connect() as conn:
        return list(conn.execute(deliveries.select().order_by(deliveries.c.id)))


def test_a_digest_reaches_each_channel_once_through_a_429(news: Store, slack: FakeSlack) -> None:
    _subscribe(news, "C0A", "C0B", "C0C")
    slack.fail_next("C0B", status=429, retry_after=1)

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(news, slack, clock=clock, with_runtime=True) as bot:
            rows = len(_parts(news))
            await _deliver(bot, clock, lambda: rows < len(_parts(news)) and all(
                r.status == outbox.SENT for r in _parts(news)))
        parts = _parts(news)
        per_channel = {ref: len(slack.posts(ref)) for ref in ("C0A", "C0B", "C0C")}
        assert per_channel == {"C0A": 1, "C0B": 1, "C0C": 1} and len(parts) == 3
        assert [c.outcome for c in slack.sent("chat.postMessage", "C0B")] == ["ratelimited", "ok"]
        assert {r.attempts for r in parts} == {0}  # a 429 is no failed try
        (posted,) = slack.posts("C0A")
        assert posted.params["text"] == "2021-04-20 每日摘要" and posted.params["unfurl_links"] is False
        assert "人工智能助手进驻政务大厅" in _text(posted.params)
        assert slack.violations == []

    asyncio.run(scenario())


def test_not_in_channel_joins_and_posts_once_and_a_gone_channel_is_deactivated(news: Store, slack: FakeSlack) -> None:
    slack.add_channel("C0LEFT", joined=False)
    slack.add_channel("C0OLD", archived=True)
    _subscribe(news, "C0LEFT", "C0OLD")

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(news, slack, clock=clock, with_runtime=True) as bot:
            await _deliver(bot, clock, lambda: _parts(news) and all(r.status != outbox.PENDING for r in _parts(news)))
        assert [c.outcome for c in slack.sent("chat.postMessage", "C0LEFT")] == ["not_in_channel", "ok"]
        assert [c.outcome for c in slack.sent("conversations.join", "C0LEFT")] == ["ok"]
        left, old = (chat_store.ensure_chat(news, "slack", ref) for ref in ("C0LEFT", "C0OLD"))
        assert left.active and not old.active
        assert slack.posts("C0OLD") == []

    asyncio.run(scenario())


def test_a_refused_token_deactivates_nothing_and_shows_slack_down(news: Store, slack: FakeSlack) -> None:
    _subscribe(news, "C0A", "C0B")

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(news, slack, clock=clock, with_runtime=True) as bot:
            assert bot.runtime is not None
            # the pacer's pause on the test's clock too, so that a minute passes at once
            bot.runtime.delivery = Delivery(news, {"slack": bot.adapter}, bot.runtime.reporter, clock=clock,
                                            monotonic=lambda: clock().timestamp())
            slack.outage = "token_revoked"
            await bot.runtime.queue_due()
            await bot.runtime.drain()
            assert bot.adapter.health()["ok"] is False and bot.adapter.health()["last_error"] == "token_revoked"
            rows = _parts(news)
            assert len(rows) == 2 and {(r.status, r.attempts) for r in rows} == {(outbox.PENDING, 0)}
            assert all(chat.active for chat, _ in chat_store.subscribed_chats(news))
            slack.outage = None  # the operator fixed the token
            clock.advance(seconds=UNAUTHORIZED_RECHECK.total_seconds())
            await _deliver(bot, clock, lambda: all(r.status == outbox.SENT for r in _parts(news)))
            assert bot.adapter.health()["ok"] is True
        assert len(slack.posts("C0A")) == len(slack.posts("C0B")) == 1

    asyncio.run(scenario())


def test_a_dropped_connection_is_not_resent_by_the_sdk(news: Store, slack: FakeSlack) -> None:
    _subscribe(news, "C0A")
    slack.drop_next("C0A", method="chat.postMessage")

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(news, slack, clock=clock, with_runtime=True) as bot:
            assert bot.runtime is not None
            await bot.runtime.queue_due()
            await bot.runtime.drain()
            (row,) = _parts(news)
            assert [c.outcome for c in slack.sent("chat.postMessage", "C0A")] == ["dropped"]  # tried once
            assert (row.status, row.attempts) == (outbox.PENDING, 1)  # delivery's retry, 30 s later
            clock.advance(seconds=31)
            await _deliver(bot, clock, lambda: _parts(news)[0].status == outbox.SENT)
        assert [c.outcome for c in slack.sent("chat.postMessage", "C0A")] == ["dropped", "ok"]

    asyncio.run(scenario())


def test_a_long_digest_is_several_messages_within_block_kits_limits(store: Store, slack: FakeSlack,
                                                                     tmp_path: Path) -> None:
    for i in range(40):
        body = "".join(f"<p>第{i}号报道第{j}段：港口集装箱吞吐量保持增长，航运市场持续回暖，企业订单明显增加。</p>"
                       for j in range(6))
        write_post(tmp_path, f"n{i}.md", body, title=f"港口航运观察第{i}期" + "长" * 330,
                   date="2021-04-20 07:00:00", categories=(f"分类{i % 7}",))
    Ingestor(store, workers=1, clock=lambda: STORED).ingest([str(tmp_path)])
    _subscribe(store, "C0A")

    async def scenario() -> None:
        clock = ManualClock(DUE)
        async with running_slack(store, slack, clock=clock, with_runtime=True) as bot:
            await _deliver(bot, clock, lambda: _parts(store) and all(r.status == outbox.SENT for r in _parts(store)),
                           rounds=120)
        posts = slack.posts("C0A")
        assert len(posts) == len(_parts(store)) > 1
        texts = [p.params["text"] for p in posts]
        assert texts == [f"2021-04-20 每日摘要 ({n}/{len(posts)})" for n in range(1, len(posts) + 1)]
        shown = "\n".join(_text(p.params) for p in posts)
        assert all(f"港口航运观察第{i}期" in shown for i in range(40))  # nothing cut
        assert slack.violations == []

    asyncio.run(scenario())


def test_the_slack_form_follows_slack_command(news: Store, slack: FakeSlack) -> None:
    async def scenario() -> None:
        config = replace(slack_config(slack), slack_command="/digest")
        async with running_slack(news, slack, config=config, clock=lambda: DUE) as bot:
            url = slack.new_response_url("C0GEN")
            body = fake_slack.slash_command_body(command="/digest", text="", response_url=url)
            status, _ = await bot.post(body)
            assert status == 200
            (help_,) = await slack.until_responses(url)
            assert "/digest search 关键词" in _text(help_.body) and "/news" not in _text(help_.body)

    asyncio.run(scenario())


def test_any_process_answers_slack_and_a_retry_sent_to_another_is_answered_once(news: Store,
                                                                                 slack: FakeSlack) -> None:
    # two processes behind one URL (a load balancer): Slack's retry of an event may reach
    # the other, and a search's page button too; the store, not a process, remembers both
    async def scenario() -> None:
        async with running_slack(news, slack, clock=lambda: DUE) as first, \
                running_slack(news, slack, clock=lambda: DUE) as second:
            body = fake_slack.event_body(fake_slack.app_mention_event("<@U0BOT> search 人工智能"), event_id="Ev0TWICE")
            assert (await first.post(body, content_type="application/json"))[0] == 200
            await slack.until("chat.postMessage", channel="C0GEN")
            retry = {**fake_slack.sign(body), **fake_slack.retry_headers(1)}
            assert (await second.post(body, retry, content_type="application/json"))[0] == 200
            (page,) = await first.command(slack, "search 港口 简报")
            (button,) = [b for b in _buttons(page.body) if b["text"]["text"] == "下一页"]
            url = slack.new_response_url("C0GEN")
            await second.post(fake_slack.block_actions_body(button["action_id"], button["value"], response_url=url))
            (pressed,) = await slack.until_responses(url)
            assert "第 2/2 页" in _text(pressed.body)  # the other process knew the search
            await asyncio.sleep(0.5)
        assert len(slack.sent("chat.postMessage", channel="C0GEN")) == 1

    asyncio.run(scenario())
