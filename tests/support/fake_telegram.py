"""A fake Telegram Bot API server on 127.0.0.1 for the real python-telegram-bot to talk to.

It serves getMe, getUpdates (long polling over a queue the test fills), sendMessage,
editMessageText, setMyCommands, deleteWebhook and answerCallbackQuery; it records every
call, and answers a chat's next sendMessage with a queued error (429, 403, migration).
Like Telegram it answers a well-formed but unknown token with 401; `outage` answers the
next calls, whatever their method, with its statuses in turn (a Bot API in trouble: 500, 502).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

TOKEN = "123456:TEST-TOKEN"
_TOKEN_PATH = re.compile(r"^/bot\d+:[A-Za-z0-9_-]+/")  # what Telegram answers 401 to when unknown
BOT = {"id": 123456, "is_bot": True, "first_name": "Digest", "username": "digest_bot",
       "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    at: float


@dataclass
class Faults:
    """How often sendMessage misbehaves, at random (seeded): a Bot API in trouble. A dropped
    call closes the connection unanswered and delivers nothing; a hung one delivers, then
    answers only after `hang_seconds` (past the client's timeout, so a retry sends it twice,
    as with the real API); `forbidden` chats answer 403 (the bot was blocked)."""

    rate_429: float = 0.0
    retry_after: tuple[int, int] = (1, 3)
    rate_500: float = 0.0
    rate_drop: float = 0.0
    rate_hang: float = 0.0
    hang_seconds: float = 7.0
    forbidden: frozenset[str] = frozenset()
    seed: int = 0


DROP = -1  # a status `handle` returns for "close the connection without an answer"


@dataclass
class FakeBotAPI:
    """The server's state; `base_url` is what TELEGRAM_API_BASE_URL would be."""

    base_url: str = ""
    token: str = TOKEN  # the token it answers to; a test may set its own before the bot starts
    calls: list[Call] = field(default_factory=list)
    errors: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    outage: list[int] = field(default_factory=list)  # the next calls' HTTP statuses, in turn
    faults: Faults | None = None
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (chat, text) of every message that went
    hung: int = 0  # calls `faults` held past the client's timeout (each may be sent again)
    # long polls that came while another was open: Telegram answers those 409 Conflict (two
    # processes long-polling one bot); counted here, and served, so a test can see them. A
    # poll its client abandoned stays open here until its timeout, so one may be counted at
    # a takeover
    conflicts: int = 0
    _polls_open: int = 0
    _rng: random.Random = field(default_factory=random.Random)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _next_update: int = 1
    _next_message: int = 1000
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def push_message(self, chat_id: int, text: str, *, chat_type: str = "private", user_id: int = 42,
                     username: str = "reader") -> None:
        """A user writes `text` in a chat."""
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Reader"
        else:
            chat["title"] = "测试群"
        message = {"message_id": self._message_id(), "date": int(time.time()), "chat": chat, "text": text,
                   "from": {"id": user_id, "is_bot": False, "first_name": "Reader", "username": username}}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._push({"message": message})

    def push_callback(self, chat_id: int, message_id: int, data: str) -> None:
        """A user presses an inline button under a message of the bot."""
        message = {"message_id": message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private",
                   "first_name": "Reader"}, "text": "…", "from": BOT}
        self._push({"callback_query": {"id": f"cb{self._next_update}", "chat_instance": "1", "data": data,
                                       "message": message,
                                       "from": {"id": 42, "is_bot": False, "first_name": "Reader"}}})

    def fail_next(self, chat_id: int, status: int, body: dict[str, Any]) -> None:
        """Answer the next sendMessage to `chat_id` with this error."""
        self.errors.setdefault(str(chat_id), []).append((status, body))

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[Call]:
        """The calls of `method` (to `chat_id`), in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method
                    and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))]

    async def until(self, method: str, count: int = 1, chat_id: int | None = None, timeout: float = 20) -> list[Call]:
        """Wait (letting the bot's event loop run) until `count` calls of `method` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.sent(chat_id, method)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"{method} x{count} not received; calls: {[c.method for c in self.calls]}")

    def _message_id(self) -> int:
        self._next_message += 1
        return self._next_message

    def _push(self, update: dict[str, Any]) -> None:
        with self._lock:
            update["update_id"] = self._next_update
            self._next_update += 1
            self._updates.append(update)
            self._lock.notify_all()

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append(Call(method, params, time.monotonic()))
            status = self.outage.pop(0) if self.outage else None
        if status is not None:
            return status, {"ok": False, "error_code": status, "description": "Internal Server Error"}
        if method == "getMe":
            return 200, {"ok": True, "result": BOT}
        if method == "getUpdates":
            # a long poll (timeout > 0) while another is open; the timeout-0 call a stopping
            # PTB makes to confirm its offset, after abandoning its long poll, is not one
            long = float(params.get("timeout") or 0) > 0
            with self._lock:
                self.conflicts += long and self._polls_open > 0
                self._polls_open += long
            try:
                return 200, {"ok": True, "result": self._poll(params)}
            finally:
                with self._lock:
                    self._polls_open -= long
        if method in ("sendMessage", "editMessageText"):
            queued = self.errors.get(str(params.get("chat_id")))
            if method == "sendMessage" and queued:
                return queued.pop(0)
            if method == "sendMessage" and self.faults is not None:
                fault = self._fault(str(params.get("chat_id")))
                if fault is not None:
                    return fault
            chat_id = params.get("chat_id") or 0
            with self._lock:
                self.delivered.append((str(chat_id), str(params.get("text", ""))))
            message = {"message_id": self._message_id(), "date": int(time.time()), "text": params.get("text", ""),
                       "chat": {"id": int(chat_id), "type": "private", "first_name": "Reader"}, "from": BOT}
            return 200, {"ok": True, "result": message}
        return 200, {"ok": True, "result": True}

    def misbehave(self, faults: Faults | None) -> None:
        """From now on, sendMessage misbehaves as `faults` says (None: it stops)."""
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed if faults is not None else 0)

    def _fault(self, chat: str) -> tuple[int, dict[str, Any]] | None:
        """This call's misbehaviour, if the dice say so (None: answer it well)."""
        faults = self.faults
        assert faults is not None
        if chat in faults.forbidden:
            return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
        with self._lock:
            roll = self._rng.random()
            wait = self._rng.randint(*faults.retry_after)
        if roll < faults.rate_429:
            return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {wait}",
                         "parameters": {"retry_after": wait}}
        roll -= faults.rate_429
        if roll < faults.rate_500:
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        roll -= faults.rate_500
        if roll < faults.rate_drop:
            return DROP, {}
        roll -= faults.rate_drop
        if roll < faults.rate_hang:
            with self._lock:
                self.hung += 1
            time.sleep(faults.hang_seconds)  # this handler thread only; then the message goes
        return None

    def reject(self, method: str) -> tuple[int, dict[str, Any]]:
        """A call with a token the server does not know: recorded, and answered 401."""
        with self._lock:
            self.calls.append(Call(method, {}, time.monotonic()))
        return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}

    def _poll(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 2.0)
        with self._lock:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout:
                self._lock.wait(timeout)
            return list(self._updates)


def start(api: FakeBotAPI) -> ThreadingHTTPServer:
    """Serve `api` on a free port of 127.0.0.1; sets its base_url."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            prefix = f"/bot{api.token}/"
            if _TOKEN_PATH.match(self.path) and not self.path.startswith(prefix):
                self._answer(*api.reject(self.path.rsplit("/", 1)[-1]))
                return
            if not self.path.startswith(prefix):
                self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8")
            if self.headers.get("Content-Type", "").startswith("application/json"):
                params = json.loads(raw or "{}")
            else:
                params = {k: _maybe_json(v) for k, v in parse_qsl(raw)}
            self._answer(*api.handle(self.path[len(prefix):], params))

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            if status == DROP:  # the connection closes unanswered
                self.close_connection = True
                self.connection.close()
                return
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the bot stopped while a long poll was open

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # the bot opens many connections at once when it fans out
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _maybe_json(value: str) -> Any:
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
