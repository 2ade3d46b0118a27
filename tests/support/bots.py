"""The bot, in-process: the real Router, TelegramAdapter and (when asked) Runtime against
the fake Bot API, started and stopped in one place instead of in every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.config import BotConfig
from bot.errors import ErrorReporter
from bot.router import Router
from bot.runtime import Runtime
from bot.telegram import TelegramAdapter
from digest.store import Store
from tests.support import fake_telegram
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
