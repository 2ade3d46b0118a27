"""The error reporter: one log line per failure, one rate-limited line to the error chat
through a real adapter (the console's, writing to a StringIO), and no recursion."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import BotConfig
from bot.console import ConsoleAdapter
from bot.errors import PER_HOUR, SAME_ERROR_SECONDS, ErrorReporter
from bot.router import Router
from digest.store import Store
from tests.support import fake_telegram
from tests.support.messages import make_incoming

TOKEN = fake_telegram.TOKEN


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield store
    store.close()


def _console(store: Store, stdout: io.StringIO, config: BotConfig) -> ConsoleAdapter:
    return ConsoleAdapter(Router(store, config), stdout=stdout)


def _reports(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.name == "bot.errors" and r.levelno == logging.ERROR]


async def _until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_a_failure_is_one_log_line_with_the_chat_and_the_command(caplog: pytest.LogCaptureFixture) -> None:
    reporter = ErrorReporter(BotConfig())
    with caplog.at_level(logging.WARNING):
        reporter.report("command", ValueError("bad input\nsecond line"), chat="telegram:123", command="/search")
    (record,) = [r for r in caplog.records if r.name == "bot.errors"]
    assert record.getMessage() == "command failed: chat telegram:123, /search: ValueError: bad input"
    assert record.levelno == logging.ERROR and record.exc_info is None  # no traceback above DEBUG


def test_the_traceback_is_logged_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    reporter = ErrorReporter(BotConfig())
    try:
        raise KeyError("x")
    except KeyError as exc:
        with caplog.at_level(logging.DEBUG):
            reporter.report("job drain", exc)
    (record,) = [r for r in caplog.records if r.name == "bot.errors"]
    assert record.getMessage() == "job drain failed: KeyError: 'x'" and record.exc_info is not None


def test_the_token_never_reaches_the_line(caplog: pytest.LogCaptureFixture) -> None:
    reporter = ErrorReporter(BotConfig(telegram_token=TOKEN))
    with caplog.at_level(logging.WARNING):
        reporter.report("telegram update", RuntimeError(f"GET https://api.telegram.org/bot{TOKEN}/getMe: {TOKEN}"))
    (line,) = _reports(caplog.records)
    assert TOKEN not in line and "TEST-TOKEN" not in line and "/bot***/getMe" in line


def test_the_error_chat_gets_one_html_line_from_any_thread(sqlite_store: Store) -> None:
    out = io.StringIO()
    config = BotConfig(error_chat="console")
    console = _console(sqlite_store, out, config)
    reporter = ErrorReporter(config)

    async def scenario() -> None:
        reporter.attach({"console": console}, asyncio.get_running_loop())
        await asyncio.to_thread(reporter.report, "command", ValueError("<b>&"), chat="telegram:1", command="/x")
        await _until(lambda: "failed" in out.getvalue())

    asyncio.run(scenario())
    assert out.getvalue().strip() == "⚠️ command failed: chat telegram:1, /x: ValueError: &lt;b&gt;&amp;"


def test_the_same_failure_reaches_the_chat_once_in_five_minutes_and_ten_an_hour(sqlite_store: Store) -> None:
    out = io.StringIO()
    config = BotConfig(error_chat="console:local")
    console = _console(sqlite_store, out, config)
    now = {"t": 1000.0}
    reporter = ErrorReporter(config, clock=lambda: now["t"])

    def sent() -> int:
        return out.getvalue().count("⚠️")

    async def scenario() -> None:
        reporter.attach({"console": console}, asyncio.get_running_loop())
        for _ in range(3):
            reporter.report("job drain", OSError("down"))
        reporter.report("job drain", ValueError("other"))  # another exception type: its own report
        await _until(lambda: sent() == 2)
        now["t"] += SAME_ERROR_SECONDS + 1
        reporter.report("job drain", OSError("down"))
        await _until(lambda: sent() == 3)
        for i in range(PER_HOUR + 5):  # distinct failures: the hourly cap holds them back
            reporter.report(f"job {i}", OSError("down"))
        await asyncio.sleep(0.2)

    asyncio.run(scenario())
    assert sent() == PER_HOUR


def test_a_report_that_cannot_be_sent_is_logged_once_and_never_raises(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    out = io.StringIO()
    out.close()  # the console's send now raises ValueError
    config = BotConfig(error_chat="console")
    console = _console(sqlite_store, out, config)
    reporter = ErrorReporter(config)

    async def scenario() -> None:
        reporter.attach({"console": console}, asyncio.get_running_loop())
        reporter.report("command", RuntimeError("boom"))
        await _until(lambda: any("not sent" in r.getMessage() for r in caplog.records))
        await asyncio.sleep(0.1)

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    assert _reports(caplog.records) == ["command failed: RuntimeError: boom"]  # the failed send: no report
    (warning,) = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert warning == "error report to console:local not sent: ValueError: I/O operation on closed file"


def test_a_send_that_itself_reports_does_not_recurse(sqlite_store: Store, caplog: pytest.LogCaptureFixture) -> None:
    config = BotConfig(error_chat="console")
    reporter = ErrorReporter(config)
    attempts = []

    class Reporting(ConsoleAdapter):
        """An adapter that reports its own send failures, as a real one may."""

        async def send(self, chat_ref: str, payload: dict[str, object]) -> str:
            attempts.append(payload["text"])
            reporter.report("console send", OSError("stdout gone"), chat=f"console:{chat_ref}")
            raise OSError("stdout gone")

    async def scenario() -> None:
        reporter.attach({"console": Reporting(Router(sqlite_store, config), stdout=io.StringIO())},
                        asyncio.get_running_loop())
        reporter.report("command", RuntimeError("boom"))
        await _until(lambda: any("not sent" in r.getMessage() for r in caplog.records))
        await asyncio.sleep(0.1)

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    assert len(attempts) == 1
    assert _reports(caplog.records) == ["command failed: RuntimeError: boom",
                                        "console send failed: chat console:local: OSError: stdout gone"]


def test_after_the_loop_is_gone_a_report_is_still_logged(sqlite_store: Store, caplog: pytest.LogCaptureFixture) -> None:
    config = BotConfig(error_chat="console")
    reporter = ErrorReporter(config)
    loop = asyncio.new_event_loop()
    reporter.attach({"console": _console(sqlite_store, io.StringIO(), config)}, loop)
    loop.close()
    with caplog.at_level(logging.WARNING):
        reporter.report("job poll", OSError("gone"))
    assert _reports(caplog.records) == ["job poll failed: OSError: gone"]


def test_an_error_chat_on_a_platform_that_is_not_running_is_said_at_attach(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    config = BotConfig(error_chat="telegram:-100123")
    out = io.StringIO()
    reporter = ErrorReporter(config)
    with caplog.at_level(logging.WARNING):
        reporter.attach({"console": _console(sqlite_store, out, config)}, asyncio.new_event_loop())
        reporter.report("command", RuntimeError("boom"))
    assert any("DIGESTBOT_ERROR_CHAT telegram:-100123: no such chat platform running (console)" in r.getMessage()
               for r in caplog.records)
    assert out.getvalue() == ""


def test_a_command_that_raises_costs_one_reply_and_reaches_the_error_chat(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    config = BotConfig(error_chat="console")
    reporter = ErrorReporter(config)
    router = Router(sqlite_store, config, reporter=reporter)
    console = ConsoleAdapter(router, stdout=out)

    def broken(*args: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(router._commands, "latest", broken)

    async def scenario() -> None:
        reporter.attach({"console": console}, asyncio.get_running_loop())
        reply = await asyncio.to_thread(router.handle, make_incoming("/latest 3", chat="77"))
        assert reply is not None and reply.text == "出错了，请稍后再试。"
        await _until(lambda: "⚠️" in out.getvalue())

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    line = "command failed: chat telegram:77, /latest: ZeroDivisionError: division by zero"
    assert _reports(caplog.records) == [line]
    assert out.getvalue().strip() == "⚠️ " + line
