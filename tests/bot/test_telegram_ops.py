"""Telegram start and failure as an operator sees them: `digestbot run` as a real process
against the fake Bot API (the start line, a rejected token, an unreachable API, the token
never in any output), and PTB's error handler reporting to the error chat."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.config import BotConfig
from bot.errors import ErrorReporter
from bot.router import Router
from bot.telegram import TelegramAdapter
from digest.errors import DigestError
from digest.ingest import Ingestor
from digest.store import Store
from tests.support import fake_telegram
from tests.support.bots import running_bot, telegram_config
from tests.support.fake_telegram import FakeBotAPI
from tests.support.builders import ROOT, write_post
from tests.support.processes import run_until_up
from tests.support.texts import BANK_BODY

TOKEN = fake_telegram.TOKEN
SECRET = TOKEN.split(":")[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "DIGESTBOT_")) and k != "PORT"}
    posts = tmp_path / "posts"
    write_post(posts, "bank.md", BANK_BODY, title="多家银行下调存款利率", date="2021-04-20 07:00:00")
    return env | {"PYTHONPATH": str(ROOT), "DIGESTBOT_DATA_DIR": str(tmp_path / "data"),
                  "DIGESTBOT_SOURCES": str(posts), "TELEGRAM_BOT_TOKEN": TOKEN} | extra


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when this returns: connections are refused


def _run_to_failure(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "run"], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=120)


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("digestbot: error:")]


def test_the_bot_says_once_that_it_is_up_on_telegram(tmp_path: Path, api: FakeBotAPI) -> None:
    status, output = run_until_up(tmp_path, _env(tmp_path, TELEGRAM_API_BASE_URL=api.base_url))
    assert status == 0, output
    up = [line for line in output.splitlines() if line.startswith("digestbot: ")]
    assert up == [f"digestbot: telegram @digest_bot, long polling, store sqlite:///{tmp_path / 'data'}/digestbot.db"]
    assert output.splitlines() == up  # without -v nothing else


def test_a_rejected_token_is_one_error_line_and_exit_1(tmp_path: Path, api: FakeBotAPI) -> None:
    result = _run_to_failure(tmp_path, _env(tmp_path, TELEGRAM_API_BASE_URL=api.base_url,
                                            TELEGRAM_BOT_TOKEN="654321:WRONG-secret"))
    assert result.returncode == 1
    assert _error_lines(result.stderr) == [
        f"digestbot: error: telegram: the Bot API at {api.base_url} rejected TELEGRAM_BOT_TOKEN (Unauthorized); "
        "check the token with @BotFather"]
    assert "Traceback" not in result.stderr and "WRONG-secret" not in result.stderr + result.stdout
    assert [c.method for c in api.calls] == ["getMe"]  # a rejected token is not retried


def test_an_unreachable_bot_api_is_retried_then_one_error_line(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    result = _run_to_failure(tmp_path, _env(tmp_path, TELEGRAM_API_BASE_URL=base, DIGESTBOT_START_RETRY_SECONDS="2"))
    assert result.returncode == 1
    warnings = [line for line in result.stderr.splitlines() if " WARNING bot.telegram: " in line]
    assert len(warnings) >= 2 and all(f"the Bot API at {base} is unreachable or failing: NetworkError" in w for w in warnings)
    (error,) = _error_lines(result.stderr)
    assert error.startswith(f"digestbot: error: telegram: the Bot API at {base} is unreachable or failing: NetworkError: ")
    assert error.endswith("(DIGESTBOT_START_RETRY_SECONDS=2)") and f"{len(warnings) + 1} attempt(s)" in error
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == len(warnings) + 1
    assert time.monotonic() - started < 60


def test_a_bot_api_answering_5xx_is_retried_and_the_start_heals(tmp_path: Path, api: FakeBotAPI) -> None:
    api.outage = [500, 502]
    status, output = run_until_up(tmp_path, _env(tmp_path, TELEGRAM_API_BASE_URL=api.base_url,
                                                  DIGESTBOT_START_RETRY_SECONDS="30"))
    assert status == 0, output
    warnings = [line for line in output.splitlines() if " WARNING bot.telegram: " in line]
    assert len(warnings) == 2 and all("is unreachable or failing" in w and "NetworkError" in w for w in warnings)
    assert "digestbot: telegram @digest_bot, long polling" in output
    assert "digestbot: error" not in output and "Traceback" not in output
    assert [c.method for c in api.calls[:3]] == ["getMe"] * 3


@pytest.mark.parametrize("args, level", [(("-v",), None), ((), "DEBUG")])
def test_the_token_appears_in_no_output_at_any_level(tmp_path: Path, api: FakeBotAPI, args: tuple[str, ...],
                                                     level: str | None) -> None:
    env = _env(tmp_path, TELEGRAM_API_BASE_URL=api.base_url) | ({"DIGESTBOT_LOG_LEVEL": level} if level else {})

    def converse() -> None:
        api.push_message(100, "/search 银行")
        asyncio.run(api.until("sendMessage", chat_id=100))

    status, output = run_until_up(tmp_path, env, *args, then=converse)
    assert status == 0, output
    assert 'httpx: HTTP Request: POST http://127.0.0.1:' in output and "/bot***/sendMessage" in output
    if level == "DEBUG":
        assert "Set Bot API URL: http://127.0.0.1:" in output  # PTB logs the URL with the token: masked
    assert TOKEN not in output and SECRET not in output


def test_a_bad_log_level_is_a_usage_error(tmp_path: Path) -> None:
    result = _run_to_failure(tmp_path, _env(tmp_path, DIGESTBOT_LOG_LEVEL="loud"))
    assert result.returncode == 2
    assert _error_lines(result.stderr) == [
        "digestbot: error: DIGESTBOT_LOG_LEVEL: not a level (DEBUG, INFO, WARNING, ERROR): 'loud'"]


# -- in process: PTB's error handler and the start's errors ----------------------------


@pytest.fixture
def sqlite_news(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    write_post(tmp_path / "posts", "bank.md", BANK_BODY, title="多家银行下调存款利率", date="2021-04-20 07:00:00")
    Ingestor(store, workers=1).ingest([str(tmp_path / "posts")])
    yield store
    store.close()


def _break_chats(store: Store, broken: bool) -> None:
    """A store that fails every write to the chats table (a real SQLite error), or heals."""
    with store.begin() as conn:
        if broken:
            conn.exec_driver_sql("CREATE TRIGGER broken BEFORE INSERT ON chats BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
        else:
            conn.exec_driver_sql("DROP TRIGGER broken")


def test_an_update_that_fails_reaches_the_error_chat_and_the_bot_answers_the_next(
    sqlite_news: Store, api: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    config = telegram_config(api, error_chat="-100123")  # a bare id
    reporter = ErrorReporter(config)

    async def scenario() -> None:
        async with running_bot(sqlite_news, api, config=config, reporter=reporter) as bot:
            reporter.attach({"telegram": bot.adapter}, asyncio.get_running_loop())
            _break_chats(sqlite_news, True)
            api.push_message(100, "/search@digest_bot 银行")
            (report,) = await api.until("sendMessage", chat_id=-100123)
            assert report.params["parse_mode"] == "HTML"
            # the router's catch-all answers (issue 11: no update ends in a traceback and silence)
            assert report.params["text"].startswith(
                "⚠️ command failed: chat telegram:100, /search: IntegrityError: (sqlite3.IntegrityError) disk I/O error")
            (sorry,) = await api.until("sendMessage", chat_id=100)
            assert sorry.params["text"] == "出错了，请稍后再试。"
            _break_chats(sqlite_news, False)
            api.push_message(100, "/search 银行")
            answer = (await api.until("sendMessage", count=2, chat_id=100))[-1]
            assert "多家银行下调存款利率" in answer.params["text"]
            await asyncio.sleep(0.2)
            assert len(api.sent(-100123)) == 1

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    reports = [r for r in caplog.records if r.name == "bot.errors"]
    assert len(reports) == 1 and reports[0].exc_info is None
    assert reports[0].getMessage().startswith("command failed: chat telegram:100, /search: IntegrityError")


def test_in_process_a_rejected_token_raises_a_digest_error_without_the_token(sqlite_news: Store, api: FakeBotAPI) -> None:
    config = BotConfig(telegram_token="999:nope-nope", telegram_api_base_url=api.base_url)
    with pytest.raises(DigestError) as raised:
        _start_and_stop(TelegramAdapter(Router(sqlite_news, config), config))
    assert "rejected TELEGRAM_BOT_TOKEN" in str(raised.value) and "nope-nope" not in str(raised.value)


def _start_and_stop(adapter: TelegramAdapter) -> None:
    """Start the adapter (the test expects that to fail), stopping it whatever happened."""
    async def scenario() -> None:
        try:
            await adapter.start()
        finally:
            await adapter.stop()

    asyncio.run(scenario())


def test_the_start_line_of_a_webhook_shows_no_secret(sqlite_news: Store, api: FakeBotAPI) -> None:
    config = BotConfig(telegram_token=TOKEN, telegram_api_base_url=api.base_url, webhook_listen="127.0.0.1",
                       telegram_webhook_url=f"https://user:pw@bot.example.com:{_closed_port()}/hook/{TOKEN}?k=v",
                       telegram_webhook_secret="s3cret")
    adapter = TelegramAdapter(Router(sqlite_news, config), config)

    async def scenario() -> str:
        await adapter.application.initialize()
        try:
            return adapter.describe()
        finally:
            await adapter.stop()

    line = asyncio.run(scenario())
    assert line.startswith("telegram @digest_bot, webhook https://bot.example.com:")
    assert line.endswith("/hook/***") and "pw" not in line and "k=v" not in line and SECRET not in line


def test_the_store_line_hides_the_password() -> None:
    store = Store(sa.create_engine("postgresql+psycopg://bot:hunter2@db.example.com/news"))  # never connects
    assert store.safe_url == "postgresql+psycopg://bot:***@db.example.com/news"


def test_webhook_mode_without_a_secret_is_refused_at_start(sqlite_news: Store, api: FakeBotAPI) -> None:
    # issue 11: without a secret the webhook took any POST as an update from Telegram
    hook = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/hook"}
    with pytest.raises(DigestError, match="TELEGRAM_WEBHOOK_SECRET is not set") as raised:
        BotConfig.from_env(hook)
    assert SECRET not in str(raised.value)
    for bad in ("has space", "x" * 257, "ünïcode"):
        with pytest.raises(DigestError, match="TELEGRAM_WEBHOOK_SECRET: 1-256 characters") as raised:
            BotConfig.from_env({**hook, "TELEGRAM_WEBHOOK_SECRET": bad})
        assert bad not in str(raised.value)
    assert BotConfig.from_env({**hook, "TELEGRAM_WEBHOOK_SECRET": "s3cret_-"}).telegram_webhook_secret == "s3cret_-"
    assert BotConfig.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}).telegram_webhook_secret is None  # polling needs none

    # a configuration built in code is refused by the adapter, before it reaches the Bot API
    config = BotConfig(telegram_token=TOKEN, telegram_api_base_url=api.base_url, webhook_listen="127.0.0.1",
                       telegram_webhook_url=f"http://127.0.0.1:{_closed_port()}/hook")
    with pytest.raises(DigestError, match="TELEGRAM_WEBHOOK_SECRET is not set"):
        _start_and_stop(TelegramAdapter(Router(sqlite_news, config), config))
    assert api.sent(method="setWebhook") == [] and api.sent(method="getMe") == []


def test_one_process_long_polls_and_another_takes_over_when_it_stops(sqlite_news: Store, api: FakeBotAPI) -> None:
    # two bots on one store (two processes, as far as the lease knows): one polls, the other
    # stands by; when the poller stops, the other polls within the lease, and none overlap
    async def scenario() -> None:
        config = telegram_config(api)
        first = TelegramAdapter(Router(sqlite_news, config), config, poll_timeout=1, leader_seconds=3)
        second = TelegramAdapter(Router(sqlite_news, config), config, poll_timeout=1, leader_seconds=3)
        try:
            await first.start()
            await second.start()
            assert first.describe().endswith("long polling")
            assert second.describe().endswith("standing by (another process long-polls)")
            await asyncio.sleep(3)  # renewals come and go: the standby stays a standby
            assert second.describe().endswith("standing by (another process long-polls)")
            await first.stop()
            polls = len(api.sent(method="getUpdates"))
            for _ in range(100):  # the released lease is taken at the next renewal (1 s)
                if second.describe().endswith("long polling"):
                    break
                await asyncio.sleep(0.05)
            assert second.describe().endswith("long polling")
            await api.until("getUpdates", count=polls + 1)
            api.push_message(100, "/help")
            await api.until("sendMessage", chat_id=100)  # the new poller answers
        finally:
            await first.stop()
            await second.stop()
        # no two pollers: at most the one overlap of the takeover, with the poll the stopped
        # process abandoned (Telegram would answer it 409 once; PTB then polls on)
        assert api.conflicts <= 1

    asyncio.run(scenario())
