"""The console adapter: commands typed (or piped) on stdin, replies and digests on stdout.

It is the bot with no chat credentials at all, and the way to try it: the operator at
the terminal is one chat (`console:local`), subscribed to the daily digest.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from digest.compose import DailyDigest
from digest.messages import say
from digest.plaintext import render_daily

from . import chats as chat_store
from .adapter import Incoming, PacingLimits, Reply, parse_slash
from .render import reply_text
from .router import Router

log = logging.getLogger(__name__)

CHAT = "local"
PAGING = ("more", "next")  # the console turns a search's page itself


class ConsoleAdapter:
    """Reads lines from `stdin` until it closes; then calls `on_eof` (the bot stops)."""

    platform = "console"
    pacing = PacingLimits()  # a terminal takes any pace

    def __init__(self, router: Router, *, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                 on_eof: Callable[[], object] | None = None) -> None:
        self.router = router
        self.stdin = stdin
        self.stdout = stdout
        self.on_eof = on_eof
        self._task: asyncio.Task[None] | None = None
        self._sent = 0
        self._last_search: tuple[str, int, int] | None = None  # token, page, pages
        self._chat_id = 0

    async def start(self) -> None:
        (chat,) = chat_store.standing_subscriptions(self.router.store, self.platform, [CHAT], kind="private",
                                                    now=self.router.clock())
        self._chat_id = chat.id
        if isinstance(self.stdin, io.TextIOWrapper):
            # bytes that are not UTF-8 are read as U+FFFD: one bad line must not end the reading
            self.stdin.reconfigure(errors="replace")
        self._write(say("console_hint", chat.language))
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def digest_parts(self, digest: DailyDigest, language: str) -> list[dict[str, Any]]:
        return [{"text": render_daily(digest, language)}]

    async def send(self, chat_ref: str, payload: dict[str, Any]) -> str:
        self._write(payload["text"])
        self._sent += 1
        return f"console-{self._sent}"

    def health(self) -> dict[str, Any]:
        return {"ok": True, "reading": self._task is not None and not self._task.done()}

    def describe(self) -> str:
        return "console"

    async def _read(self) -> None:
        # A daemon thread reads stdin: a blocking readline must not keep the process
        # alive after SIGTERM (asyncio's own executor threads would be waited for).
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def reader() -> None:
            try:
                for line in iter(self.stdin.readline, ""):
                    loop.call_soon_threadsafe(lines.put_nowait, line)
            except (OSError, ValueError) as exc:  # stdin itself failed: stop, as at its end
                log.warning("console: cannot read stdin: %s", exc)
            finally:
                loop.call_soon_threadsafe(lines.put_nowait, "")

        threading.Thread(target=reader, daemon=True, name="console-stdin").start()
        try:
            while line := await lines.get():
                if line.strip():
                    self._answer_reporting(line.strip())
            log.info("console: end of input")
        finally:  # the end of input stops the bot, whatever happened before
            if self.on_eof is not None:
                self.on_eof()

    def _answer_reporting(self, text: str) -> None:
        try:
            self._answer(text)
        except Exception as exc:  # one failed line must not end the reading
            self.router.reporter.report("console command", exc, chat=f"{self.platform}:{CHAT}",
                                        command=text.split()[0] if text.startswith("/") else None)

    def _answer(self, text: str) -> None:
        incoming = line_incoming(text)
        reply = self._more() if incoming is None else self.router.handle(incoming)
        if reply is None:
            return
        if reply.search is not None and reply.search_token:
            self._last_search = (reply.search_token, reply.search.page, reply.search.pages)
        self._write(reply_text(reply))

    def _more(self) -> Reply | None:
        # the next page of the last search; None when there is none (and that is said, in
        # the chat's language, which may have just changed)
        chat = chat_store.get_chat(self.router.store, self._chat_id)
        language = chat.language if chat else "zh"
        if self._last_search is None:
            self._write(say("more_first", language))
            return None
        token, page, pages = self._last_search
        if page >= pages:
            self._write(say("search_last_page", language, pages=pages))
            return None
        return self.router.search_page(self.platform, CHAT, token, page + 1)

    def _write(self, text: str) -> None:
        print(text + "\n", file=self.stdout, flush=True)


def line_incoming(line: str) -> Incoming | None:
    """A line typed on the console as the router sees it; None for /more and /next, the
    console's own paging."""
    slash = parse_slash(line)
    if slash is not None and slash.name in PAGING:
        return None
    return Incoming(ConsoleAdapter.platform, CHAT, "console", slash.name if slash else None,
                    slash.argument if slash else "", chat_title="console", pages_by_command=True)
