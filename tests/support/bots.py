"""The bot, in-process: the real Router, TelegramAdapter or SlackAdapter and (when asked)
Runtime against the fake Bot API or the fake Slack, started and stopped in one place
instead of in every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import aiohttp

from bot.config import BotConfig
from bot.errors import ErrorReporter
from bot.http import HttpFront
from bot.router import Router
from bot.runtime import Runtime
from bot.slack import SEND_TIMEOUT, SlackAdapter
from bot.telegram import TelegramAdapter
from digest.store import Store
from tests.support import fake_slack, fake_telegram
from tests.support.fake_slack import FakeSlack
from tests.support.fake_telegram import FakeBotAPI


def telegram_config(api: FakeBotAPI, **changes: Any) -> BotConfig:
    """A configuration that talks to the fake Bot API; `changes` override its fields."""
    return replace(BotConfig(telegram_token=fake_telegram.TOKEN, telegram_api_base_url=api.base_url), **changes)


def telegram_bot(store: Store, api: FakeBotAPI, *, config: BotConfig | None = None,
                 clock: Callable[[], datetime] | None = None, reporter: ErrorReporter | None = None) -> TelegramAdapter:
    """A Telegram adapter (not started) with its router, polling the fake API every second."""
    config = config or telegram_config(api)
    router = Router(store, config, clock=clock, reporter=reporter)
    return TelegramAdapter(router, config, poll_timeout=1, reporter=reporter)


@dataclass
class RunningBot:
    """A started bot: its adapter and, when asked for, its runtime (jobs not scheduled:
    the test runs them)."""

    adapter: TelegramAdapter
    runtime: Runtime | None = None


@asynccontextmanager
async def running_bot(store: Store, api: FakeBotAPI, *, config: BotConfig | None = None,
                      clock: Callable[[], datetime] | None = None, reporter: ErrorReporter | None = None,
                      with_runtime: bool = False) -> AsyncIterator[RunningBot]:
    """The Telegram bot started against the fake API for the `async with` block, stopped
    after it whatever happened."""
    adapter = telegram_bot(store, api, config=config, clock=clock, reporter=reporter)
    runtime = (Runtime(store, adapter.config, {"telegram": adapter}, clock=clock, reporter=reporter)
               if with_runtime else None)
    try:
        await adapter.start()
        yield RunningBot(adapter, runtime)
    finally:
        await adapter.stop()


# -- Slack -----------------------------------------------------------------------------


def slack_config(slack: FakeSlack, **changes: Any) -> BotConfig:
    """A Slack configuration (HTTP mode) that talks to the fake; `changes` override its fields."""
    config = BotConfig(slack_bot_token=fake_slack.BOT_TOKEN, slack_signing_secret=fake_slack.SIGNING_SECRET,
                       slack_api_base_url=slack.base_url)
    return replace(config, **changes)


@dataclass
class RunningSlack:
    """A started Slack bot: its adapter, the HTTP front it serves on, and (when asked) its runtime."""

    adapter: SlackAdapter
    front: HttpFront
    runtime: Runtime | None = None

    @property
    def events_url(self) -> str:
        host, port = self.front.addresses[0]
        return f"http://{host}:{port}/slack/events"

    async def post(self, body: str, headers: dict[str, str] | None = None, *,
                   content_type: str = "application/x-www-form-urlencoded") -> tuple[int, str]:
        """POST `body` to /slack/events (signed unless `headers` are given); (status, text)."""
        sent = {"Content-Type": content_type, **(fake_slack.sign(body) if headers is None else headers)}
        async with aiohttp.ClientSession() as session:
            async with session.post(self.events_url, data=body.encode("utf-8"), headers=sent) as response:
                return response.status, await response.text()

    async def command(self, slack: FakeSlack, text: str, *, channel: str = "C0GEN", user: str = "U0USER",
                      timeout: float = 20) -> list[fake_slack.ResponsePost]:
        """`/news <text>` signed, as Slack sends it; the answers its response URL received."""
        url = slack.new_response_url(channel)
        status, _ = await self.post(fake_slack.slash_command_body(text=text, response_url=url, channel_id=channel,
                                                                  user_id=user))
        assert status == 200
        return await slack.until_responses(url, timeout=timeout)


@asynccontextmanager
async def running_slack(store: Store, slack: FakeSlack, *, config: BotConfig | None = None,
                        clock: Callable[[], datetime] | None = None, reporter: ErrorReporter | None = None,
                        with_runtime: bool = False, send_timeout: int = SEND_TIMEOUT) -> AsyncIterator[RunningSlack]:
    """The Slack bot in HTTP mode on 127.0.0.1 (a free port), against the fake, for the
    `async with` block; stopped after it whatever happened. `send_timeout`: the Web API
    client's, in seconds."""
    config = config or slack_config(slack)
    router = Router(store, config, clock=clock, reporter=reporter,
                    command_forms={"slack": f"{config.slack_command} "})
    front = HttpFront("127.0.0.1", 0, lambda: {"ok": True})
    adapter = SlackAdapter(router, config, front=None if config.slack_socket_mode else front, reporter=reporter,
                           send_timeout=send_timeout)
    runtime = (Runtime(store, config, {"slack": adapter}, clock=clock, reporter=reporter)
               if with_runtime else None)
    try:
        await front.start()
        await adapter.start()
        yield RunningSlack(adapter, front, runtime)
    finally:
        await adapter.stop()
        await front.stop()
