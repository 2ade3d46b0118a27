"""The fake Slack (tests/support/fake_slack.py) driven by the real slack-sdk and slack-bolt:
the Web API's answers, faults and counts, Block Kit checks, response URLs, Socket Mode,
and the signed HTTP-mode requests a Bolt app accepts."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack_blocks import header, sections
from tests.support.fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    app_mention_event,
    block_actions,
    block_actions_body,
    block_kit_problems,
    event_body,
    retry_headers,
    serve_slack,
    sign,
    slash_command,
    slash_command_body,
    url_verification_body,
)

PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Also for the tests here that talk to the fake without the `slack` fixture."""
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)


def client(slack: FakeSlack, token: str = BOT_TOKEN, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.base_url, **kwargs)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "下一页", value: str = "tok:2", action_id: str = "page:tok:2") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "value": value, "action_id": action_id}


# -- the Web API --------------------------------------------------------------------------


def test_auth_test_knows_the_bot_token_only(slack: FakeSlack) -> None:
    async def scenario() -> None:
        assert (await client(slack).auth_test())["user_id"] == "U0BOT"
        with pytest.raises(SlackApiError) as refused:
            await client(slack, "xoxb-someone-else").auth_test()
        assert refused.value.response["error"] == "invalid_auth"
        with pytest.raises(SlackApiError) as wrong_kind:
            await client(slack, APP_TOKEN).auth_test()
        assert wrong_kind.value.response["error"] == "not_allowed_token_type"

    asyncio.run(scenario())
    assert [c.outcome for c in slack.sent("auth.test")] == ["ok", "invalid_auth", "not_allowed_token_type"]


def test_a_token_in_a_form_body_counts_as_the_header_would(slack: FakeSlack) -> None:
    async def scenario() -> None:
        anonymous = AsyncWebClient(base_url=slack.base_url)
        answer = await anonymous.api_call("chat.postMessage", data={"token": BOT_TOKEN, "channel": "C1",
                                                                      "text": "表单", "blocks": json.dumps([section("块")])})
        assert answer["ok"]
        with pytest.raises(SlackApiError) as refused:
            await anonymous.api_call("auth.test")
        assert refused.value.response["error"] == "not_authed"

    asyncio.run(scenario())
    (post,) = slack.posts("C1")
    assert post.params["blocks"] == [section("块")] and post.token == BOT_TOKEN  # the form's JSON field decoded


def test_post_message_is_recorded_with_a_unique_ts(slack: FakeSlack) -> None:
    async def scenario() -> list[str]:
        web = client(slack)
        first = await web.chat_postMessage(channel="C1", text="早报", blocks=[section("*第一条*")])
        second = await web.chat_postMessage(channel="C1", text="晚报")
        assert first["channel"] == "C1" and first["message"]["text"] == "早报"
        return [first["ts"], second["ts"]]

    stamps = asyncio.run(scenario())
    assert len(set(stamps)) == 2
    assert [c.params["text"] for c in slack.posts("C1")] == ["早报", "晚报"] and slack.posts("C2") == []
    assert [m["ts"] for m in slack.messages("C1")] == stamps and slack.violations == []


def test_a_429_carries_retry_after_and_the_next_post_goes_through(slack: FakeSlack) -> None:
    slack.fail_next("C1")

    async def scenario() -> None:
        web = client(slack)
        with pytest.raises(SlackApiError) as limited:
            await web.chat_postMessage(channel="C1", text="早报")
        assert limited.value.response.status_code == 429
        assert limited.value.response.headers["Retry-After"] == "2"
        assert limited.value.response["error"] == "ratelimited"
        await web.chat_postMessage(channel="C1", text="早报")

    asyncio.run(scenario())
    assert [c.outcome for c in slack.sent("chat.postMessage")] == ["ratelimited", "ok"]


def test_the_sdk_rate_limit_handler_reads_the_fakes_retry_after(slack: FakeSlack) -> None:
    slack.fail_next("C1", retry_after=0)
    web = client(slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    asyncio.run(web.chat_postMessage(channel="C1", text="早报"))
    assert [c.outcome for c in slack.sent("chat.postMessage")] == ["ratelimited", "ok"]


def test_faults_are_queued_per_channel_and_globally(slack: FakeSlack) -> None:
    slack.fail_next("C1", error="channel_not_found", status=200)
    slack.fail_next(error="internal_error", status=500)

    async def outcome(channel: str) -> tuple[int, str]:
        try:
            await client(slack).chat_postMessage(channel=channel, text="x")
        except SlackApiError as e:
            return e.response.status_code, e.response["error"]
        return 200, "ok"

    async def scenario() -> list[tuple[int, str]]:
        return [await outcome("C2"), await outcome("C1"), await outcome("C1")]

    # C2 takes the global fault, C1 its own; nothing is left after
    assert asyncio.run(scenario()) == [(500, "internal_error"), (200, "channel_not_found"), (200, "ok")]


def test_an_outage_fails_every_call_until_cleared(slack: FakeSlack) -> None:
    async def scenario() -> None:
        web = client(slack)
        slack.outage = "token_revoked"
        for call in (web.auth_test(), web.chat_postMessage(channel="C1", text="x")):
            with pytest.raises(SlackApiError) as revoked:
                await call
            assert revoked.value.response["error"] == "token_revoked"
        slack.outage = None
        await web.chat_postMessage(channel="C1", text="x")

    asyncio.run(scenario())
    assert len(slack.posts()) == 1


def test_not_in_channel_until_joined_and_private_channels_cannot_be_joined(slack: FakeSlack) -> None:
    slack.add_channel("C9", joined=False)
    slack.add_channel("G1", joined=False)

    async def scenario() -> None:
        web = client(slack)
        with pytest.raises(SlackApiError) as outside:
            await web.chat_postMessage(channel="C9", text="早报")
        assert outside.value.response["error"] == "not_in_channel"
        assert (await web.conversations_info(channel="C9"))["channel"]["is_member"] is False
        joined = await web.conversations_join(channel="C9")
        assert joined["channel"]["is_member"] is True and "warning" not in joined
        assert (await web.conversations_join(channel="C9"))["warning"] == "already_in_channel"
        await web.chat_postMessage(channel="C9", text="早报")
        with pytest.raises(SlackApiError) as private:
            await web.conversations_join(channel="G1")
        assert private.value.response["error"] == "method_not_supported_for_channel_type"
        with pytest.raises(SlackApiError) as hidden:
            await web.chat_postMessage(channel="G1", text="早报")
        assert hidden.value.response["error"] == "channel_not_found"

    asyncio.run(scenario())
    assert len(slack.posts("C9")) == 1


def test_conversations_info_reports_privacy_membership_and_archive(slack: FakeSlack) -> None:
    slack.add_channel("C5", archived=True)
    slack.add_channel("G2", joined=True)

    async def scenario() -> None:
        web = client(slack)
        archived = (await web.conversations_info(channel="C5"))["channel"]
        assert (archived["is_archived"], archived["is_private"]) == (True, False)
        assert (await web.conversations_info(channel="G2"))["channel"]["is_private"] is True
        with pytest.raises(SlackApiError) as closed:
            await web.chat_postMessage(channel="C5", text="x")
        assert closed.value.response["error"] == "is_archived"

    asyncio.run(scenario())


def test_ephemeral_and_update(slack: FakeSlack) -> None:
    async def scenario() -> None:
        web = client(slack)
        assert (await web.chat_postEphemeral(channel="C1", user="U0USER", text="只有你看得到"))["message_ts"]
        posted = await web.chat_postMessage(channel="C1", text="第 1 页")
        updated = await web.chat_update(channel="C1", ts=posted["ts"], text="第 2 页", blocks=[section("第 2 页")])
        assert updated["ts"] == posted["ts"]
        with pytest.raises(SlackApiError) as missing:
            await web.chat_update(channel="C1", ts="1.000000", text="x")
        assert missing.value.response["error"] == "message_not_found"

    asyncio.run(scenario())
    (message,) = slack.messages("C1")
    assert message["text"] == "第 2 页" and message["blocks"] == [section("第 2 页")]
    assert slack.sent("chat.postEphemeral")[0].params["user"] == "U0USER"


def test_a_block_kit_violation_is_refused_and_recorded(slack: FakeSlack) -> None:
    async def scenario() -> None:
        with pytest.raises(SlackApiError) as refused:
            await client(slack).chat_postMessage(channel="C1", text="x", blocks=[section("长" * 3001)])
        assert refused.value.response["error"] == "invalid_blocks"
        with pytest.raises(SlackApiError) as empty, pytest.warns(UserWarning, match="text"):
            await client(slack).chat_postMessage(channel="C1")
        assert empty.value.response["error"] == "no_text"

    asyncio.run(scenario())
    assert [v.method for v in slack.violations] == ["chat.postMessage", "chat.postMessage"]
    assert "3001" in slack.violations[0].problems[0] and slack.posts() == []


def test_the_projects_renderer_passes_the_checks(slack: FakeSlack) -> None:
    blocks = [header("标" * 200), *sections("新闻" * 4000)]  # split and ellipsised by the renderer
    asyncio.run(client(slack).chat_postMessage(channel="C1", text="早报", blocks=blocks))
    assert slack.violations == [] and len(slack.posts()) == 1


@pytest.mark.parametrize("blocks, fits", [
    ([section("a" * 3000)], True),
    ([section("a" * 3001)], False),
    ([{"type": "header", "text": {"type": "plain_text", "text": "a" * 150}}], True),
    ([{"type": "header", "text": {"type": "plain_text", "text": "a" * 151}}], False),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "a"}}], False),
    ([{"type": "actions", "elements": [button("a" * 75)]}], True),
    ([{"type": "actions", "elements": [button("a" * 76)]}], False),
    ([{"type": "actions", "elements": [button(value="v" * 2000)]}], True),
    ([{"type": "actions", "elements": [button(value="v" * 2001)]}], False),
    ([{"type": "actions", "elements": [button(action_id="a" * 256)]}], False),
    ([{"type": "actions", "elements": [button(), button()]}], False),  # the same action_id twice
    ([{"type": "actions", "elements": []}], False),
    ([section("")], False),
    ([section("a")] * 50, True),
    ([section("a")] * 51, False),
    ([section("a" * 3000)] * 4, True),
    ([section("a" * 3000)] * 4 + [section("a")], False),  # 12,001 characters of block text
    ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "a"}]}, {"type": "divider"}], True),
    ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "a" * 1000}] * 10}], True),
    ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "a" * 2000}]}], True),
    ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "a"}] * 11}], False),
    ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "a" * 2001}]}], False),
    ([{"type": "section", "block_id": "x"}, {"type": "divider", "block_id": "x"}], False),
    ([{"type": "carousel"}], False),
])
def test_block_kit_limits(blocks: list[dict[str, Any]], fits: bool) -> None:
    assert (block_kit_problems({"text": "x", "blocks": blocks}) == []) is fits


def test_a_dropped_request_is_counted_and_not_silently_resent(slack: FakeSlack) -> None:
    slack.drop_next("C1")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        asyncio.run(client(slack, retry_handlers=[]).chat_postMessage(channel="C1", text="早报"))
    assert [c.outcome for c in slack.sent("chat.postMessage")] == ["dropped"]
    # the SDK's default handlers do resend, and the fake sees both requests
    slack.drop_next("C1")
    asyncio.run(client(slack).chat_postMessage(channel="C1", text="早报"))
    assert [c.outcome for c in slack.sent("chat.postMessage")] == ["dropped", "dropped", "ok"]


def test_a_hung_request_is_answered_later_and_takes_effect_though_the_client_gave_up(slack: FakeSlack) -> None:
    slack.hang_next(0.2, "C1")
    asyncio.run(client(slack).chat_postMessage(channel="C1", text="慢"))
    assert len(slack.posts("C1")) == 1
    slack.hang_next(channel="C1")  # until released: the client's timeout comes first, whatever the machine
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(client(slack, timeout=1, retry_handlers=[]).chat_postMessage(channel="C1", text="又慢"))
    assert [c.outcome for c in slack.sent("chat.postMessage")] == ["ok", "pending"]
    slack.release()
    slack.wait_for("chat.postMessage", 2, outcome="ok")  # posted, as Slack would, with nobody waiting
    assert [m["text"] for m in slack.messages("C1")] == ["慢", "又慢"]


def test_a_request_hung_at_stop_is_dropped() -> None:
    with serve_slack() as fake:
        fake.hang_next(method="auth.test")

        async def scenario() -> None:
            task = asyncio.ensure_future(client(fake, retry_handlers=[]).auth_test())
            await fake.until("auth.test")
            await asyncio.to_thread(fake.stop)
            with pytest.raises(aiohttp.ClientError):
                await task

        asyncio.run(scenario())
    assert [c.outcome for c in fake.calls] == ["dropped"]


def test_apps_connections_open_needs_the_app_token(slack: FakeSlack) -> None:
    async def scenario() -> str:
        with pytest.raises(SlackApiError) as wrong:
            await client(slack).apps_connections_open(app_token="xapp-1-other")
        assert wrong.value.response["error"] == "invalid_auth"
        return str((await client(slack).apps_connections_open(app_token=APP_TOKEN))["url"])

    url = asyncio.run(scenario())
    assert url.startswith(slack.server_url.replace("http://", "ws://") + "/socket?ticket=")


def test_until_and_wait_for_give_up_with_what_arrived(slack: FakeSlack) -> None:
    asyncio.run(client(slack).auth_test())
    with pytest.raises(AssertionError, match=r"chat.postMessage x1 not received; calls: \['auth.test'\]"):
        slack.wait_for("chat.postMessage", timeout=0.1)
    with pytest.raises(AssertionError, match="not received"):
        asyncio.run(slack.until("chat.postMessage", timeout=0.1))
    assert slack.wait_for("auth.test")[0].outcome == "ok"


# -- response URLs ------------------------------------------------------------------------


def test_response_urls_record_and_act_on_their_message(slack: FakeSlack) -> None:
    async def scenario() -> None:
        posted = await client(slack).chat_postMessage(channel="C1", text="第 1 页")
        url = slack.new_response_url("C1", posted["ts"])
        hook = AsyncWebhookClient(url)  # what Bolt's respond() posts with
        replaced = await hook.send(text="第 2 页", blocks=[section("第 2 页")], replace_original=True)
        assert (replaced.status_code, json.loads(replaced.body)) == (200, {"ok": True})
        refused = await hook.send(text="x", blocks=[section("a" * 3001)])
        assert (refused.status_code, refused.body) == (400, "invalid_blocks")
        shared = await AsyncWebhookClient(slack.new_response_url("C1")).send(text="分享", response_type="in_channel")
        assert shared.status_code == 200

    asyncio.run(scenario())
    assert [m["text"] for m in slack.messages("C1")] == ["第 2 页", "分享"]
    first = slack.responses()[0]
    assert first.body["replace_original"] is True and first.outcome == "ok"
    assert [v.method for v in slack.violations] == ["response_url"]


def test_an_unknown_response_url_is_expired(slack: FakeSlack) -> None:
    answer = asyncio.run(AsyncWebhookClient(f"{slack.server_url}/respond/nope").send(text="x"))
    assert (answer.status_code, answer.body) == (404, "expired_url")


# -- Socket Mode --------------------------------------------------------------------------


def test_socket_mode_hello_envelope_ack_and_reconnect(slack: FakeSlack) -> None:
    async def scenario() -> None:
        seen: list[dict[str, Any]] = []

        async def on_message(_: Any, message: dict[str, Any], raw: str | None) -> None:
            seen.append(message)

        async def on_request(sm: Any, request: SocketModeRequest) -> None:
            await sm.send_socket_mode_response(SocketModeResponse(request.envelope_id, {"text": "收到"}))

        sm = SocketModeClient(app_token=APP_TOKEN, web_client=client(slack), ping_interval=1)
        sm.message_listeners.append(on_message)
        sm.socket_mode_request_listeners.append(on_request)
        try:
            await sm.connect()
            await slack.until_connected(1)
            envelope = slack.send_envelope("slash_commands", slash_command())
            ack = await slack.until_ack(envelope)
            assert ack.payload == {"text": "收到"}
            slack.disconnect()
            await slack.until_connected(2)
            second = slack.send_envelope("events_api", {"event": app_mention_event("<@U0BOT> 早报")})
            await slack.until_ack(second)  # acked on the new connection
        finally:
            await sm.close()
        assert seen[0]["type"] == "hello" and seen[0]["connection_info"]["app_id"] == "A0TEST"
        by_id = {m.get("envelope_id"): m for m in seen}
        assert by_id[envelope]["accepts_response_payload"] is True and "retry_attempt" not in by_id[envelope]
        assert by_id[second]["retry_attempt"] == 0

    asyncio.run(scenario())
    assert slack.connections == 2 and len(slack.sent("apps.connections.open")) == 2


def test_bolts_socket_mode_handler_acks_and_responds(slack: FakeSlack) -> None:
    async def scenario() -> None:
        app = AsyncApp(client=client(slack))

        @app.command("/news")
        async def news(ack: Any, respond: Any) -> None:
            await ack("收到")
            await respond(text="结果", response_type="in_channel")

        handler = AsyncSocketModeHandler(app, APP_TOKEN)
        try:
            await handler.connect_async()
            await slack.until_connected()
            url = slack.new_response_url("C0GEN")
            envelope = slack.send_envelope("slash_commands", slash_command(response_url=url))
            assert (await slack.until_ack(envelope)).payload == {"text": "收到"}
            (posted,) = await slack.until_responses(url)
            assert posted.body == {"text": "结果", "response_type": "in_channel"} and posted.outcome == "ok"
        finally:
            await handler.close_async()

    asyncio.run(scenario())
    assert [m["text"] for m in slack.messages("C0GEN")] == ["结果"]


def test_a_socket_closed_by_the_server_is_reopened(slack: FakeSlack) -> None:
    async def scenario() -> None:
        sm = SocketModeClient(app_token=APP_TOKEN, web_client=client(slack), ping_interval=1)
        try:
            await sm.connect()
            await slack.until_connected(1)
            slack.close_socket()
            await slack.until_connected(2)
        finally:
            await sm.close()

    asyncio.run(scenario())
    assert len(slack.sent("apps.connections.open")) == 2


def test_a_socket_needs_a_ticket_from_apps_connections_open(slack: FakeSlack) -> None:
    async def scenario() -> int:
        async with aiohttp.ClientSession() as session:
            try:
                await session.ws_connect(slack.server_url.replace("http", "ws") + "/socket?ticket=forged")
            except aiohttp.WSServerHandshakeError as e:
                return e.status
        return 0

    assert asyncio.run(scenario()) == 401 and slack.connections == 0


def test_send_envelope_without_a_client_says_so(slack: FakeSlack) -> None:
    with pytest.raises(RuntimeError, match="no Socket Mode client"):
        slack.send_envelope("events_api", {})


# -- HTTP mode: what Slack sends, as Bolt and slack-sdk check it -------------------------


def test_sign_passes_the_sdks_signature_verifier() -> None:
    body = slash_command_body()
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid_request(body, sign(body))
    assert not verifier.is_valid_request(body + "x", sign(body))
    assert not verifier.is_valid_request(body, sign(body, "another-secret"))
    assert not verifier.is_valid_request(body, sign(body, timestamp=int(time.time()) - 600))  # a replay


def test_a_bolt_app_accepts_the_signed_requests(slack: FakeSlack) -> None:
    async def scenario() -> None:
        app = AsyncApp(client=client(slack), signing_secret=SIGNING_SECRET)
        got: dict[str, Any] = {}

        @app.command("/news")
        async def news(ack: Any, command: dict[str, Any]) -> None:
            got["command"] = command
            await ack()

        @app.action("page:tok:2")
        async def page(ack: Any, body: dict[str, Any]) -> None:
            got["action"] = body
            await ack()

        @app.event("app_mention")
        async def mention(event: dict[str, Any]) -> None:
            got["event"] = event

        async def dispatch(body: str, **headers: str) -> tuple[int, str]:
            answer = await app.async_dispatch(AsyncBoltRequest(body=body, headers={**sign(body), **headers}))
            return answer.status, answer.body

        assert (await dispatch(slash_command_body(text="search 人工智能 since:7d")))[0] == 200
        assert (await dispatch(block_actions_body("page:tok:2", "tok:2", channel_id="C7")))[0] == 200
        assert (await dispatch(event_body(app_mention_event("<@U0BOT> 早报")), **retry_headers()))[0] == 200
        assert await dispatch(url_verification_body("c-123")) == (200, '{"challenge": "c-123"}')
        unsigned = await app.async_dispatch(AsyncBoltRequest(body=slash_command_body(), headers={}))
        assert unsigned.status == 401
        for _ in range(1000):  # Bolt acks an event first and runs its listener afterwards
            if "event" in got:
                break
            await asyncio.sleep(0.01)
        assert got["command"]["text"] == "search 人工智能 since:7d" and got["command"]["user_id"] == "U0USER"
        assert got["action"]["actions"][0]["value"] == "tok:2" and got["action"]["channel"]["id"] == "C7"
        assert got["event"]["text"] == "<@U0BOT> 早报"

    asyncio.run(scenario())
    assert slack.sent("auth.test")[0].outcome == "ok"  # Bolt checked its token against the fake


def test_builders_are_what_socket_mode_carries() -> None:
    press = block_actions("share:tok:1", "tok:1", response_url="http://127.0.0.1:1/respond/x")
    assert press["type"] == "block_actions" and press["response_url"].endswith("/respond/x")
    assert slash_command()["command"] == "/news" and slash_command()["team_id"] == "T0TEST"


def test_a_bot_in_another_process_is_seen_by_wait_for(slack: FakeSlack) -> None:
    script = ("import asyncio, os, sys\n"
              "from slack_sdk.web.async_client import AsyncWebClient\n"
              "web = AsyncWebClient(token=sys.argv[1], base_url=os.environ['SLACK_API_BASE_URL'])\n"
              "asyncio.run(web.chat_postMessage(channel='C3', text='来自子进程'))\n")
    env = {k: v for k, v in os.environ.items() if k not in PROXIES} | {"SLACK_API_BASE_URL": slack.base_url}
    child = subprocess.Popen([sys.executable, "-c", script, BOT_TOKEN], env=env)
    try:
        (post,) = slack.wait_for("chat.postMessage", channel="C3", timeout=30)
    finally:
        assert child.wait(30) == 0
    assert post.params["text"] == "来自子进程" and post.outcome == "ok"
