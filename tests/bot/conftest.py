"""Fixtures of the bot's tests: the fake Telegram Bot API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bot import fake_telegram
from tests.bot.fake_telegram import FakeBotAPI


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    """A fresh fake Bot API server; its `base_url` is TELEGRAM_API_BASE_URL."""
    state = FakeBotAPI()
    server = fake_telegram.start(state)
    yield state
    server.shutdown()
    server.server_close()
