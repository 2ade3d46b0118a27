"""The one error reporter of the bot: adapters, the router and the jobs report failures
here. Each becomes one log line (the traceback only at DEBUG) and, with
DIGESTBOT_ERROR_CHAT set, a one-line message to that chat, rate-limited.
"""

from __future__ import annotations

import asyncio
import html
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextvars import ContextVar

from .adapter import Adapter
from .config import BotConfig
from .logs import Mask

log = logging.getLogger(__name__)

SAME_ERROR_SECONDS = 300.0  # the same event and exception type reach the chat once in this
PER_HOUR = 10  # reports sent to the chat in any hour, at the most
_MAX_MESSAGE = 500  # characters of an exception's message kept in the line
# set while a report is being sent: a failure inside that send is logged, never reported
_SENDING: ContextVar[bool] = ContextVar("digestbot_error_report_sending", default=False)


class ErrorReporter:
    """Logs each failure in one line and sends it to the error chat when there is one.
    `report` is safe from any thread and never raises."""

    def __init__(self, config: BotConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.mask = Mask(config.secrets)
        self._clock = clock
        self._lock = threading.Lock()
        self._target: tuple[Adapter, str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last: dict[tuple[str, str], float] = {}  # (event, exception type) -> when last sent
        self._sent: deque[float] = deque()  # when each report of the last hour was sent
        self._pending: set[Future[None]] = set()

    def attach(self, adapters: Mapping[str, Adapter], loop: asyncio.AbstractEventLoop) -> None:
        """Send reports from now on through the adapter of the error chat, on `loop`."""
        self._loop = loop
        self._target = _resolve(self.config.error_chat, adapters) if self.config.error_chat else None
        if self.config.error_chat and self._target is None:
            log.warning("DIGESTBOT_ERROR_CHAT %s: no such chat platform running (%s); errors are only logged",
                        self.config.error_chat, ", ".join(adapters) or "none")

    def report(self, event: str, exc: BaseException | None = None, *, chat: str | None = None,
               command: str | None = None) -> None:
        """One log line, `<event> failed: chat <platform:id>, <command>: <Type>: <message>`,
        and the same line to the error chat unless the rate limit holds it back."""
        try:
            line = self.mask(describe(event, exc, chat=chat, command=command))
            debug = exc is not None and log.isEnabledFor(logging.DEBUG)
            log.error("%s", line, exc_info=exc if debug else None)
            if not _SENDING.get() and self._allowed(event, exc):
                self._send(line)
        except Exception:  # the reporter of failures must not become one
            pass

    def _allowed(self, event: str, exc: BaseException | None) -> bool:
        if self._target is None:
            return False
        key = (event, type(exc).__name__ if exc is not None else "")
        with self._lock:
            now = self._clock()
            while self._sent and now - self._sent[0] >= 3600:
                self._sent.popleft()
            last = self._last.get(key)
            if (last is not None and now - last < SAME_ERROR_SECONDS) or len(self._sent) >= PER_HOUR:
                return False
            self._last[key] = now
            self._sent.append(now)
            return True

    def _send(self, line: str) -> None:
        assert self._target is not None and self._loop is not None
        adapter, chat_ref = self._target
        coroutine = self._deliver(adapter, chat_ref, "⚠️ " + html.escape(line, quote=False))
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        except RuntimeError:  # the loop is closed: the bot is stopping, the log line has it
            coroutine.close()
            return
        self._pending.add(future)  # the loop keeps only a weak reference to the task
        future.add_done_callback(self._pending.discard)

    async def _deliver(self, adapter: Adapter, chat_ref: str, text: str) -> None:
        _SENDING.set(True)  # this task's own context: other tasks still report
        try:
            await adapter.send(chat_ref, {"text": text, "parse_mode": "HTML"})
        except Exception as exc:
            log.warning("error report to %s:%s not sent: %s", adapter.platform, chat_ref,
                        self.mask(_exception_text(exc)))


def describe(event: str, exc: BaseException | None = None, *, chat: str | None = None,
             command: str | None = None) -> str:
    """The report's one line (unmasked)."""
    where = ", ".join(part for part in (f"chat {chat}" if chat else "", command or "") if part)
    line = f"{event} failed" + (f": {where}" if where else "")
    return line + (f": {_exception_text(exc)}" if exc is not None else "")


def _exception_text(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    first = message[0] if message else ""
    if len(first) > _MAX_MESSAGE:
        first = first[:_MAX_MESSAGE] + "…"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _resolve(error_chat: str, adapters: Mapping[str, Adapter]) -> tuple[Adapter, str] | None:
    """`telegram:-100123` on that platform; `console` the operator's terminal; a bare id
    on the first chat platform that is not the console."""
    platform, qualified, chat_ref = error_chat.partition(":")
    if qualified and platform.isalpha():  # chat ids hold no letters before a colon
        return (adapters[platform], chat_ref) if platform in adapters else None
    if error_chat == "console" and "console" in adapters:
        from .console import CHAT  # the console imports the router, which imports this module

        return adapters["console"], CHAT
    chat_platforms = [name for name in adapters if name != "console"]
    return (adapters[chat_platforms[0]], error_chat) if chat_platforms else None
