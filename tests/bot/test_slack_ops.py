"""Slack as an operator runs it: `digestbot run` as a real process in HTTP mode on `PORT`
against the fake Slack (the start line, /healthz, a signed command answered, SIGTERM,
no token or secret in any output), a rejected token, and Telegram and Slack in one
process; and the app manifest shipped with the package, checked against the adapter."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot import slack_manifest
from bot.config import DEFAULT_SLACK_COMMAND
from bot.slack import EVENTS_PATH
from digest.store import Store
from tests.support import fake_slack
from tests.support.bots import running_slack
from tests.support.builders import ROOT, write_post
from tests.support.processes import run_until_up
from tests.support.fake_slack import FakeSlack
from tests.support.fake_telegram import FakeBotAPI
from tests.support.texts import AI_BODY

SECRETS = (fake_slack.BOT_TOKEN, fake_slack.SIGNING_SECRET, fake_slack.APP_TOKEN)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(tmp_path: Path, slack: FakeSlack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "DIGESTBOT_"))
           and k != "PORT" and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    posts = tmp_path / "posts"
    write_post(posts, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅", date="2021-04-20 08:30:00")
    return env | {"PYTHONPATH": str(ROOT), "DIGESTBOT_DATA_DIR": str(tmp_path / "data"),
                  "DIGESTBOT_SOURCES": str(posts), "SLACK_BOT_TOKEN": fake_slack.BOT_TOKEN,
                  "SLACK_SIGNING_SECRET": fake_slack.SIGNING_SECRET, "SLACK_API_BASE_URL": slack.base_url,
                  "DIGESTBOT_WEBHOOK_LISTEN": "127.0.0.1"} | extra


def _post(url: str, body: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body.encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy
    try:
        with opener.open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_digestbot_run_serves_slack_on_port_beside_healthz(tmp_path: Path, slack: FakeSlack) -> None:
    port = _free_port()
    seen: dict[str, object] = {}

    def use() -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            seen["health"] = json.loads(response.read())
        url = slack.new_response_url("C0GEN")
        body = fake_slack.slash_command_body(text="search 人工智能", response_url=url)
        seen["signed"] = _post(f"http://127.0.0.1:{port}{EVENTS_PATH}", body, fake_slack.sign(body))
        seen["answer"] = slack.wait_responses(url, timeout=30)[0].body
        seen["unsigned"] = _post(f"http://127.0.0.1:{port}{EVENTS_PATH}", body, {})

    status, output = run_until_up(tmp_path, _env(tmp_path, slack, PORT=str(port)), then=use)
    assert status == 0, output  # SIGTERM: a clean stop
    up = [line for line in output.splitlines() if line.startswith("digestbot: ")]
    assert up == [f"digestbot: slack @digestbot (Test), http {EVENTS_PATH}, http 127.0.0.1:{port}, "
                  f"store sqlite:///{tmp_path / 'data'}/digestbot.db"]
    health = seen["health"]
    assert isinstance(health, dict) and health["adapters"]["slack"] == {"ok": True, "last_error": None, "mode": "http"}
    assert seen["signed"] == 200 and seen["unsigned"] == 401
    answer = seen["answer"]
    assert isinstance(answer, dict) and "人工智能助手进驻政务大厅" in json.dumps(answer, ensure_ascii=False)
    assert not any(secret in output for secret in SECRETS)
    assert "Traceback" not in output


def test_a_rejected_token_is_one_error_line_and_exit_1(tmp_path: Path, slack: FakeSlack) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "run"], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, cwd=tmp_path, timeout=120,
                            env=_env(tmp_path, slack, SLACK_BOT_TOKEN="xoxb-revoked-1234", PORT=str(_free_port())))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("digestbot: error:")]
    assert errors == [f"digestbot: error: slack: the Web API at {slack.base_url} rejected SLACK_BOT_TOKEN "
                      "(invalid_auth); check it in the app's settings (OAuth & Permissions, or Basic Information "
                      "for the app token)"]
    assert "Traceback" not in result.stderr and "xoxb-revoked-1234" not in result.stderr + result.stdout


def test_telegram_and_slack_run_in_one_process(tmp_path: Path, slack: FakeSlack, api: FakeBotAPI) -> None:
    from tests.support import fake_telegram

    def use() -> None:
        api.push_message(100, "/search 人工智能")
        deadline = time.monotonic() + 30
        while not api.sent(100) and time.monotonic() < deadline:
            time.sleep(0.05)
        url = slack.new_response_url("C0GEN")
        body = fake_slack.slash_command_body(text="search 人工智能", response_url=url)
        _post(f"http://127.0.0.1:{port}{EVENTS_PATH}", body, fake_slack.sign(body))
        slack.wait_responses(url, timeout=30)

    port = _free_port()
    env = _env(tmp_path, slack, PORT=str(port), TELEGRAM_BOT_TOKEN=fake_telegram.TOKEN,
               TELEGRAM_API_BASE_URL=api.base_url)
    status, output = run_until_up(tmp_path, env, then=use)
    assert status == 0, output
    (up,) = [line for line in output.splitlines() if line.startswith("digestbot: ")]
    assert up.startswith("digestbot: telegram @digest_bot, long polling, slack @digestbot (Test), http /slack/events")
    assert "人工智能助手进驻政务大厅" in api.sent(100)[0].params["text"]
    assert "console" not in output.lower()  # the console runs only without any platform


# -- the manifest ------------------------------------------------------------------------

# what each Web API method the adapter calls needs, and what each event needs
METHOD_SCOPES = {"auth.test": set(), "chat.postMessage": {"chat:write"}, "conversations.join": {"channels:join"},
                 "conversations.info": {"channels:read", "groups:read"}, "apps.connections.open": set()}
EVENT_SCOPES = {"app_mention": {"app_mentions:read"}, "message.im": {"im:history"}, "app_uninstalled": set(),
                "tokens_revoked": set()}


def _event(name: str) -> dict[str, object]:
    if name == "message.im":
        return fake_slack.message_im_event("help")
    if name == "app_mention":
        return fake_slack.app_mention_event("<@U0BOT> help")
    return {"type": name}


def test_the_manifest_matches_the_adapter(store: Store, slack: FakeSlack) -> None:
    manifest = slack_manifest.shipped()
    (command,) = manifest["features"]["slash_commands"]
    settings = manifest["settings"]
    assert command["command"] == DEFAULT_SLACK_COMMAND and command["usage_hint"].startswith("search ")
    urls = [command["url"], settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]]
    assert all(url == slack_manifest.PLACEHOLDER + EVENTS_PATH for url in urls)
    assert settings["interactivity"]["is_enabled"] and manifest["features"]["app_home"]["messages_tab_enabled"]
    assert settings["socket_mode_enabled"] is False
    events = settings["event_subscriptions"]["bot_events"]
    slack.add_channel("C0NEW", joined=False)

    async def scenario() -> list[int]:
        statuses = []
        async with running_slack(store, slack) as bot:
            # every event the manifest subscribes to is handled, and one it does not is not
            for name in [*events, "reaction_added"]:
                status, _ = await bot.post(fake_slack.event_body(_event(name)), content_type="application/json")
                statuses.append(status)
            await bot.command(slack, "subscribe", channel="C0NEW")  # conversations.info, then join
            await bot.adapter.send("C0NEW", {"text": "hello"})
        return statuses

    assert asyncio.run(scenario()) == [200] * len(events) + [404]
    called = {call.method for call in slack.calls}
    assert called <= set(METHOD_SCOPES) and {"chat.postMessage", "conversations.join", "conversations.info"} <= called
    needed = {"commands"}.union(*(METHOD_SCOPES[m] for m in called), *(EVENT_SCOPES[e] for e in events))
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed


def test_the_manifest_is_filled_in_for_each_mode() -> None:
    http = slack_manifest.filled(url="https://news.example.com/", command="/digest")
    (command,) = http["features"]["slash_commands"]
    assert command["command"] == "/digest" and command["url"] == "https://news.example.com/slack/events"
    assert http["settings"]["event_subscriptions"]["request_url"] == "https://news.example.com/slack/events"
    socket_mode = slack_manifest.filled(socket_mode=True)
    assert socket_mode["settings"]["socket_mode_enabled"] is True
    assert "url" not in json.dumps(socket_mode)  # no request URL in Socket Mode
    assert slack_manifest.shipped()["settings"]["socket_mode_enabled"] is False  # the shipped one unchanged


def test_digestbot_slack_manifest_prints_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")} | {"PYTHONPATH": str(ROOT)}
    printed = subprocess.run([sys.executable, "-m", "bot", "slack-manifest", "--url", "https://news.example.com"],
                             capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert printed.returncode == 0, printed.stderr
    assert "request_url: https://news.example.com/slack/events" in printed.stdout
    assert "搜索新闻" in printed.stdout  # readable, not \\u escapes
    refused = subprocess.run([sys.executable, "-m", "bot", "slack-manifest", "--url", "http://insecure"],
                             capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert refused.returncode == 2 and refused.stderr.startswith("digestbot: error: --url:")
