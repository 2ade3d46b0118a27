"""A fake Slack on 127.0.0.1 for the real slack-sdk / slack-bolt to talk to.

One aiohttp server on its own thread and loop (so sync tests, async tests and a bot in a
subprocess all reach it) serves:
- the Web API under `base_url` (".../api/"): auth.test, chat.postMessage, chat.postEphemeral,
  chat.update, conversations.join, conversations.info, apps.connections.open — form, JSON or
  query parameters, the token in `Authorization: Bearer` or a `token` field, as slack-sdk sends;
- response URLs (`new_response_url()`, POSTs to `/respond/<id>`);
- Socket Mode at `/socket` (hello, envelopes pushed by the test, acks recorded, disconnect).
It records every request (dropped ones too), checks Block Kit limits on every message body
(`violations`), models channel membership, and injects faults queued per channel or globally,
or at random (`misbehave`: a Slack in trouble, seeded). Every message it posts is counted in
`delivered`, so a message posted twice shows.
The second half builds what Slack sends a bot in HTTP mode: signed slash commands, button
presses, events, url_verification, and the retry headers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test"
SIGNING_SECRET = "test-signing-secret"
TEAM_ID, APP_ID, BOT_USER_ID, BOT_ID = "T0TEST", "A0TEST", "U0BOT", "B0BOT"
AUTH_TEST = {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "digestbot",
             "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}
_JSON_FIELDS = ("blocks", "attachments", "metadata")  # a form body carries these as JSON strings
_MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update")
T = TypeVar("T")


@dataclass
class Call:
    """One Web API request the fake received; `outcome` is "ok", the error code, or "dropped"."""

    method: str
    params: dict[str, Any]
    token: str | None = field(repr=False)  # kept out of assertion messages
    at: float
    status: int = 0
    outcome: str = "pending"
    answer: dict[str, Any] | None = None


@dataclass
class ResponsePost:
    """One POST to a response URL."""

    url: str
    body: dict[str, Any]
    at: float
    status: int = 0
    outcome: str = "pending"


@dataclass
class Violation:
    """A message body Slack would refuse, and why."""

    method: str
    channel: str | None
    problems: list[str]
    body: dict[str, Any]


@dataclass
class Ack:
    """What the client sent back on the socket for one envelope."""

    envelope_id: str
    payload: dict[str, Any] | None
    at: float


@dataclass
class Channel:
    """A conversation as the bot sees it."""

    id: str
    name: str
    is_private: bool
    is_member: bool = True
    is_archived: bool = False
    join_error: str | None = None  # what conversations.join answers, if it refuses (e.g. missing_scope)


@dataclass
class Faults:
    """How often the digest's methods (`methods`) misbehave, at random (seeded). A 429 carries
    `Retry-After`; `rate_limited` is chat.postMessage's own HTTP 200 form ("Application has
    posted too many messages"), with a Retry-After header too (Slack does not document one
    there; without it the adapter waits 30 s, tested on its own); a 500 is an HTML page, as a
    load balancer's. A dropped call posts the message, then closes the connection unanswered,
    and a hung one posts it and answers only after `hang_seconds` (past the client's timeout):
    Slack took both, so any resend, the SDK's or delivery's, posts it twice."""

    rate_429: float = 0.0
    retry_after: tuple[int, int] = (1, 3)
    rate_limited_200: float = 0.0
    rate_500: float = 0.0
    rate_drop: float = 0.0
    rate_hang: float = 0.0
    hang_seconds: float = 7.0
    methods: frozenset[str] = frozenset({"chat.postMessage", "conversations.join"})
    seed: int = 0


@dataclass
class Fault:
    """A queued misbehaviour for the next matching request (channel/method None: any)."""

    kind: str  # "error", "drop" or "hang"; `Faults` also "drop after" and "hang after" (posted first)
    channel: str | None = None
    method: str | None = None
    error: str = "ratelimited"
    status: int = 429
    retry_after: int | None = None
    seconds: float | None = 0.0  # a hang's length; None: until release()


class FakeSlack:
    """The fake's state and server; use `serve_slack()` to get a started one."""

    def __init__(self) -> None:
        self.base_url = ""  # what SLACK_API_BASE_URL would be: ends with "/api/"
        self.server_url = ""
        # the tokens it answers to; a test may set its own before the bot starts
        self.bot_token, self.app_token = BOT_TOKEN, APP_TOKEN
        self.calls: list[Call] = []
        self.violations: list[Violation] = []
        self.acks: list[Ack] = []
        self.received: list[dict[str, Any]] = []  # every JSON message from a Socket Mode client
        self.connections = 0  # Socket Mode connections accepted (and greeted), ever
        self.outage: str | None = None  # e.g. "invalid_auth", "token_revoked": every API call fails
        self.channels: dict[str, Channel] = {}
        self.faults: Faults | None = None
        self.delivered: list[tuple[str, str]] = []  # (channel, text) of every message posted, resends too
        self.dropped = 0  # calls `faults` carried out and then dropped unanswered
        self.hung = 0  # calls `faults` carried out and answered past the client's timeout
        self._rng = random.Random(0)
        self._faults: list[Fault] = []
        self._responses: list[ResponsePost] = []
        self._response_urls: dict[str, tuple[str | None, str | None]] = {}  # id -> (channel, message ts)
        self._messages: dict[str, dict[str, dict[str, Any]]] = {}  # channel -> ts -> message
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._serial = 0
        self._lock = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._released: asyncio.Event | None = None

    # -- what a test sets up --------------------------------------------------------------

    def add_channel(self, channel_id: str, *, name: str | None = None, private: bool | None = None,
                    joined: bool = True, archived: bool = False, join_error: str | None = None) -> Channel:
        """Declare a channel; channels not declared are public (private when the id starts with
        "G"), joined and not archived; `join_error` is what conversations.join answers there."""
        with self._lock:
            made = Channel(channel_id, name or channel_id.lower(),
                           channel_id.startswith("G") if private is None else private, joined, archived,
                           join_error)
            self.channels[channel_id] = made
            return made

    def fail_next(self, channel: str | None = None, error: str = "ratelimited", status: int = 429,
                  retry_after: int | None = 2, method: str | None = None) -> None:
        """Answer the next request to `channel` (and/or `method`; None: any) with `error` and
        `status`; a 429 carries `Retry-After`."""
        self._queue(Fault("error", channel, method, error, status, retry_after if status == 429 else None))

    def drop_next(self, channel: str | None = None, method: str | None = None) -> None:
        """Close the connection of the next matching request without answering (it is still counted)."""
        self._queue(Fault("drop", channel, method))

    def post_then_drop_next(self, channel: str | None = None, method: str | None = None) -> None:
        """Let the next matching request take effect (a message is posted), then close its
        connection without answering: the client cannot know it went."""
        self._queue(Fault("drop after", channel, method))

    def hang_next(self, seconds: float | None = None, channel: str | None = None, method: str | None = None) -> None:
        """Answer the next matching request only after `seconds` (None: at `release()`); it takes
        effect then even if the client gave up, as a slow Slack's would."""
        self._queue(Fault("hang", channel, method, seconds=seconds))

    def misbehave(self, faults: Faults | None) -> None:
        """From now on, `faults.methods` misbehave as `faults` says (None: they stop)."""
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed if faults is not None else 0)

    def release(self) -> None:
        """Let every hung request go on now."""
        self._on_loop(self._release_hung())

    def new_response_url(self, channel: str | None = None, message_ts: str | None = None) -> str:
        """A response URL; given the message it came from, replace/delete_original act on it."""
        key = uuid.uuid4().hex
        with self._lock:
            self._response_urls[key] = (channel, message_ts)
        return f"{self.server_url}/respond/{key}"

    # -- what a test reads ----------------------------------------------------------------

    def sent(self, method: str, channel: str | None = None, outcome: str | None = None) -> list[Call]:
        """The requests of `method` (to `channel`, with `outcome`; None: any), in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method and channel in (None, c.params.get("channel"))
                    and outcome in (None, c.outcome)]

    def posts(self, channel: str | None = None) -> list[Call]:
        """The chat.postMessage calls that posted (to `channel`), in order."""
        return self.sent("chat.postMessage", channel, "ok")

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages as they stand now (updates and response URLs applied)."""
        with self._lock:
            return [dict(m) for m in self._messages.get(channel, {}).values()]

    def responses(self, url: str | None = None) -> list[ResponsePost]:
        """The POSTs to response URLs (to `url`), in order."""
        with self._lock:
            return [r for r in self._responses if url is None or r.url == url]

    async def until(self, method: str, count: int = 1, channel: str | None = None, timeout: float = 20,
                    outcome: str | None = None) -> list[Call]:
        """Wait, letting the caller's loop run, until `count` requests of `method` (as `sent`) arrived."""
        return await _until(lambda: self._at_least(self.sent(method, channel, outcome), count), timeout,
                            lambda: f"{method} x{count} not received; calls: {[c.method for c in self.calls]}")

    def wait_for(self, method: str, count: int = 1, channel: str | None = None, timeout: float = 20,
                 outcome: str | None = None) -> list[Call]:
        """`until` for a test whose bot runs in another thread or process (this one blocks)."""
        return self._wait(lambda: self._at_least(self.sent(method, channel, outcome), count), timeout,
                          lambda: f"{method} x{count} not received; calls: {[c.method for c in self.calls]}")

    async def until_responses(self, url: str | None = None, count: int = 1, timeout: float = 20) -> list[ResponsePost]:
        """Wait until `count` POSTs to response URLs (to `url`) arrived."""
        return await _until(lambda: self._at_least(self.responses(url), count), timeout,
                            lambda: f"{count} response URL posts not received; got {len(self.responses(url))}")

    def wait_responses(self, url: str | None = None, count: int = 1, timeout: float = 20) -> list[ResponsePost]:
        """`until_responses`, blocking."""
        return self._wait(lambda: self._at_least(self.responses(url), count), timeout,
                          lambda: f"{count} response URL posts not received; got {len(self.responses(url))}")

    async def until_ack(self, envelope_id: str, timeout: float = 20) -> Ack:
        """Wait until the client acknowledged the envelope."""
        return await _until(lambda: self._ack(envelope_id), timeout, lambda: f"no ack of {envelope_id}")

    def wait_ack(self, envelope_id: str, timeout: float = 20) -> Ack:
        """`until_ack`, blocking."""
        return self._wait(lambda: self._ack(envelope_id), timeout, lambda: f"no ack of {envelope_id}")

    async def until_connected(self, count: int = 1, timeout: float = 20) -> int:
        """Wait until `count` Socket Mode connections were greeted (and one is open)."""
        return await _until(self._connected(count), timeout, lambda: f"{self.connections} connections, not {count}")

    def wait_connected(self, count: int = 1, timeout: float = 20) -> int:
        """`until_connected`, blocking."""
        return self._wait(self._connected(count), timeout, lambda: f"{self.connections} connections, not {count}")

    # -- Socket Mode, driven by the test --------------------------------------------------

    def send_envelope(self, type: str, payload: dict[str, Any], *, accepts_response_payload: bool | None = None,
                      retry_attempt: int = 0, retry_reason: str = "") -> str:
        """Push an envelope ("slash_commands", "events_api", "interactive") to the newest
        connection; returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": type, "payload": payload,
                                    "accepts_response_payload": (type == "slash_commands"
                                                                 if accepts_response_payload is None
                                                                 else accepts_response_payload)}
        if type == "events_api":  # only the Events API retries, so only it says which attempt this is
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        self._on_loop(self._send_socket(envelope, newest_only=True))
        return envelope_id

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell every connected client to reconnect, as Slack does before it recycles a socket."""
        self._on_loop(self._send_socket({"type": "disconnect", "reason": reason,
                                         "debug_info": {"host": "fake-slack"}}, newest_only=False))

    def close_socket(self, code: int = 1001) -> None:
        """Close the newest connection from the server's side, without a word."""
        self._on_loop(self._close_newest(code))

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Serve on a free port of 127.0.0.1 from a thread of its own; sets the URLs."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="fake-slack", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Slack did not start")

    def stop(self) -> None:
        """Close the sockets, release hung requests and stop the server."""
        loop, self._loop = self._loop, None  # a second stop does nothing
        if loop is not None and self._thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(10)

    def _serve(self, ready: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        runner = loop.run_until_complete(self._open())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(self._close(runner))
        loop.close()

    async def _open(self) -> web.AppRunner:
        self._stopping, self._released = asyncio.Event(), asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/socket", self._socket)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.server_url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.server_url}/api/"
        return runner

    async def _close(self, runner: web.AppRunner) -> None:
        assert self._stopping is not None
        self._stopping.set()
        for ws in list(self._sockets):
            await ws.close(code=1001)
        await runner.cleanup()

    # -- the Web API ----------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await _params(request)
        token = _bearer(request) or params.pop("token", None)
        call = Call(method, params, token, time.monotonic())
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()
        fault = self._take_fault(method, params.get("channel"))
        if fault is None:
            fault = self._random_fault(method)
        if fault is not None and fault.kind in ("drop after", "hang after"):
            return await self._take_then_fail(request, call, fault, self._answer(method, params, token))
        if fault is not None and fault.kind != "hang":
            return self._misbehave(request, call, fault)
        if fault is not None and not await self._hang(fault.seconds):
            return self._misbehave(request, call, Fault("drop"))
        status, body = self._answer(method, params, token)
        with self._lock:
            call.status, call.answer = status, body
            call.outcome = "ok" if body.get("ok") else str(body.get("error"))
            self._lock.notify_all()
        return web.json_response(body, status=status)

    def _answer(self, method: str, params: dict[str, Any], token: str | None) -> tuple[int, dict[str, Any]]:
        if self.outage:
            return 200, _error(self.outage)
        refused = _auth_problem(method, token, self.bot_token, self.app_token)
        if refused:
            return 200, _error(refused)
        if method in _MESSAGE_METHODS:
            problems = block_kit_problems(params)
            if problems:
                self._record_violation(method, params.get("channel"), problems, params)
                return 200, _error("no_text" if problems == [NO_TEXT] else "invalid_blocks")
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": lambda p: dict(AUTH_TEST),
            "apps.connections.open": lambda p: self._open_connection(),
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "conversations.join": self._join,
            "conversations.info": self._info,
        }
        handler = handlers.get(method)
        return 200, handler(params) if handler else _error("unknown_method")

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, refused = self._postable(params.get("channel"))
        if refused:
            return _error(refused)
        with self._lock:
            ts = self._ts()
            message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "team": TEAM_ID, "ts": ts,
                       "text": params.get("text", ""), **_content(params, "blocks", "thread_ts")}
            self._messages.setdefault(channel, {})[ts] = message
            self.delivered.append((channel, str(message["text"])))
        return {"ok": True, "channel": channel, "ts": ts, "message": dict(message)}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        _, refused = self._postable(params.get("channel"))
        if refused or not params.get("user"):
            return _error(refused or "user_not_in_channel")
        with self._lock:
            return {"ok": True, "message_ts": self._ts()}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, refused = self._postable(params.get("channel"))
        if refused:
            return _error(refused)
        with self._lock:
            message = self._messages.get(channel, {}).get(str(params.get("ts")))
            if message is None:
                return _error("message_not_found")
            message.update(text=params.get("text", ""), **_content(params, "blocks"))
            return {"ok": True, "channel": channel, "ts": message["ts"], "text": message["text"],
                    "message": dict(message)}

    def _join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        if channel is None:
            return _error("channel_not_found")
        if channel.is_private or channel.id.startswith("D"):
            return _error("method_not_supported_for_channel_type")
        if channel.is_archived:
            return _error("is_archived")
        if channel.join_error is not None:
            return _error(channel.join_error)
        with self._lock:
            already, channel.is_member = channel.is_member, True
        answer = {"ok": True, "channel": _channel_info(channel)}
        if already:
            answer.update(warning="already_in_channel", response_metadata={"warnings": ["already_in_channel"]})
        return answer

    def _info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        if channel is None or (channel.is_private and not channel.is_member):
            return _error("channel_not_found")  # a private channel the bot is not in is invisible to it
        return {"ok": True, "channel": _channel_info(channel)}

    def _open_connection(self) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return {"ok": True, "url": f"{self.server_url.replace('http', 'ws', 1)}/socket?ticket={ticket}&app_id={APP_ID}"}

    def _postable(self, channel_id: Any) -> tuple[str, str | None]:
        """The channel, and why the bot may not post there (None: it may)."""
        channel = self._channel(channel_id)
        if channel is None:
            return "", "channel_not_found"
        if channel.is_archived:
            return channel.id, "is_archived"
        if not channel.is_member:  # Slack hides private channels from non-members
            return channel.id, "channel_not_found" if channel.is_private else "not_in_channel"
        return channel.id, None

    def _channel(self, channel_id: Any) -> Channel | None:
        if not isinstance(channel_id, str) or not channel_id:
            return None
        with self._lock:  # one lock for look-up and creation: two first posts make one channel
            return self.channels.get(channel_id) or self.add_channel(channel_id)

    def _ts(self) -> str:
        self._serial += 1  # the caller holds the lock
        return f"{int(time.time())}.{self._serial:06d}"

    # -- response URLs --------------------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        try:
            body = await request.json()
        except ValueError:
            body = {}
        post = ResponsePost(str(request.url), body if isinstance(body, dict) else {}, time.monotonic())
        with self._lock:
            self._responses.append(post)
            self._lock.notify_all()
            target = self._response_urls.get(key)
        fault = self._take_fault("response_url", target[0] if target else None)
        if fault is not None and fault.kind != "hang":
            return self._misbehave(request, post, fault)
        if fault is not None and not await self._hang(fault.seconds):
            return self._misbehave(request, post, Fault("drop"))
        status, outcome = self._apply_response(target, post.body)
        with self._lock:
            post.status, post.outcome = status, outcome
            self._lock.notify_all()
        if status != 200:
            return web.Response(status=status, text=outcome)
        return web.json_response({"ok": True})

    def _apply_response(self, target: tuple[str | None, str | None] | None,
                        body: dict[str, Any]) -> tuple[int, str]:
        if target is None:
            return 404, "expired_url"
        channel, ts = target
        if body.get("delete_original"):
            with self._lock:
                self._messages.get(channel or "", {}).pop(ts or "", None)
            return 200, "ok"
        problems = block_kit_problems(body)
        if problems:
            self._record_violation("response_url", channel, problems, body)
            return 400, "no_text" if problems == [NO_TEXT] else "invalid_blocks"
        if channel is None:
            return 200, "ok"  # a URL not tied to a message: recorded, nothing to change
        with self._lock:
            messages = self._messages.setdefault(channel, {})
            if body.get("replace_original") and ts in messages:
                messages[ts or ""].update(text=body.get("text", ""), **_content(body, "blocks"))
            elif body.get("response_type") == "in_channel":
                new_ts = self._ts()
                messages[new_ts] = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": new_ts,
                                    "text": body.get("text", ""), **_content(body, "blocks")}
        return 200, "ok"

    # -- faults ---------------------------------------------------------------------------

    def _queue(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, method: str, channel: Any) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in (None, method) and fault.channel in (None, channel):
                    self._faults.remove(fault)
                    return fault
        return None

    async def _hang(self, seconds: float | None) -> bool:
        """Wait `seconds` or for `release()`; False when the server is stopping meanwhile."""
        assert self._stopping is not None and self._released is not None
        stopping = self._stopping
        waits = [asyncio.ensure_future(stopping.wait()), asyncio.ensure_future(self._released.wait())]
        _, pending = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiting in pending:
            waiting.cancel()
        return not stopping.is_set()

    async def _release_hung(self) -> None:
        assert self._released is not None
        # the hung requests hold this event; later hangs wait on a fresh one
        self._released.set()
        self._released = asyncio.Event()

    def _random_fault(self, method: str) -> Fault | None:
        """This call's misbehaviour under `faults`, if the dice say so (None: answer it well)."""
        faults = self.faults
        if faults is None or method not in faults.methods:
            return None
        with self._lock:
            roll, wait = self._rng.random(), self._rng.randint(*faults.retry_after)
        for rate, fault in ((faults.rate_429, Fault("error", retry_after=wait)),
                            (faults.rate_limited_200, Fault("error", error="rate_limited", status=200,
                                                            retry_after=wait)),
                            (faults.rate_500, Fault("error", error="internal page", status=500)),
                            (faults.rate_drop, Fault("drop after")),
                            (faults.rate_hang, Fault("hang after", seconds=faults.hang_seconds))):
            if roll < rate:
                return fault
            roll -= rate
        return None

    async def _take_then_fail(self, request: web.Request, call: Call, fault: Fault,
                              answer: tuple[int, dict[str, Any]]) -> web.StreamResponse:
        """The call took effect (`answer`); then its connection drops, or it answers too late."""
        status, body = answer
        with self._lock:
            call.status, call.answer = status, body
            call.outcome = ("ok" if body.get("ok") else str(body.get("error"))) if fault.kind == "hang after" \
                else "dropped"
            if body.get("ok"):  # counted only when it took effect: a refusal dropped changes nothing
                self.dropped += fault.kind == "drop after"
                self.hung += fault.kind == "hang after"
            self._lock.notify_all()
        if fault.kind == "drop after" or not await self._hang(fault.seconds):
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=204)  # never written: the connection is gone
        return web.json_response(body, status=status)

    def _misbehave(self, request: web.Request, record: Call | ResponsePost, fault: Fault) -> web.StreamResponse:
        if fault.kind == "drop":
            with self._lock:
                record.outcome = "dropped"
                self._lock.notify_all()
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=204)  # never written: the connection is gone
        body = _error(fault.error)
        with self._lock:
            record.status, record.outcome = fault.status, fault.error
            if isinstance(record, Call):
                record.answer = body
            self._lock.notify_all()
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        if isinstance(record, ResponsePost):  # a response URL answers in plain text
            return web.Response(status=fault.status, text=fault.error, headers=headers)
        if fault.error == "internal page":  # not JSON: what a proxy in front of Slack shows
            return web.Response(status=fault.status, text="<html><body>500 Internal Server Error</body></html>",
                                content_type="text/html")
        return web.json_response(body, status=fault.status, headers=headers)

    def _record_violation(self, method: str, channel: str | None, problems: list[str], body: dict[str, Any]) -> None:
        with self._lock:
            self.violations.append(Violation(method, channel, problems, body))

    # -- Socket Mode ----------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            known = request.query.get("ticket") in self._tickets
        if not known:  # only a URL from apps.connections.open opens a socket
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(autoping=True)  # slack-sdk pings "sdk-ping-pong:<t>" and wants it echoed
        await ws.prepare(request)
        with self._lock:
            self._sockets.append(ws)
            open_now = len(self._sockets)
        await ws.send_json({"type": "hello", "num_connections": open_now,
                            "debug_info": {"host": "fake-slack", "build_number": 1,
                                           "approximate_connection_time": 18060},
                            "connection_info": {"app_id": APP_ID}})
        with self._lock:
            self.connections += 1
            self._lock.notify_all()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_client_message(message.data)
        finally:
            with self._lock:
                self._sockets.remove(ws)
                self._lock.notify_all()
        return ws

    def _on_client_message(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        with self._lock:
            self.received.append(message)
            if isinstance(message, dict) and "envelope_id" in message:
                self.acks.append(Ack(str(message["envelope_id"]), message.get("payload"), time.monotonic()))
            self._lock.notify_all()

    async def _send_socket(self, message: dict[str, Any], newest_only: bool) -> None:
        with self._lock:
            targets = [ws for ws in self._sockets if not ws.closed]
        if not targets:
            raise RuntimeError("no Socket Mode client is connected (await until_connected() first)")
        for ws in targets[-1:] if newest_only else targets:
            await ws.send_json(message)

    async def _close_newest(self, code: int) -> None:
        with self._lock:
            targets = [ws for ws in self._sockets if not ws.closed]
        if targets:
            await targets[-1].close(code=code)

    def _on_loop(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None, "the fake Slack is not started"
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # -- waiting --------------------------------------------------------------------------

    def _ack(self, envelope_id: str) -> Ack | None:
        with self._lock:
            return next((a for a in self.acks if a.envelope_id == envelope_id), None)

    def _connected(self, count: int) -> Callable[[], int | None]:
        def check() -> int | None:
            with self._lock:
                return self.connections if self.connections >= count and self._sockets else None
        return check

    @staticmethod
    def _at_least(found: list[T], count: int) -> list[T] | None:
        return found if len(found) >= count else None

    def _wait(self, check: Callable[[], T | None], timeout: float, what: Callable[[], str]) -> T:
        deadline = time.monotonic() + timeout
        with self._lock:
            while (found := check()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(what())
                self._lock.wait(left)
            return found


@contextmanager
def serve_slack() -> Iterator[FakeSlack]:
    """A started fake Slack, stopped on exit."""
    slack = FakeSlack()
    slack.start()
    try:
        yield slack
    finally:
        slack.stop()


async def _until(check: Callable[[], T | None], timeout: float, what: Callable[[], str]) -> T:
    deadline = time.monotonic() + timeout
    while (found := check()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(what())
        await asyncio.sleep(0.01)
    return found


async def _params(request: web.Request) -> dict[str, Any]:
    """Query, then form or JSON body, as slack-sdk mixes them (params= goes in the query)."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        params.update(body if isinstance(body, dict) else {})
    elif request.can_read_body:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_FIELDS:
        if isinstance(params.get(key), str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                pass  # left a string: the Block Kit check refuses it
    return params


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _auth_problem(method: str, token: str | None, bot_token: str, app_token: str) -> str | None:
    wanted = app_token if method == "apps.connections.open" else bot_token
    if token is None:
        return "not_authed"
    if token == wanted:
        return None
    return "not_allowed_token_type" if token in (app_token, bot_token) else "invalid_auth"


def _error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


def _content(params: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: params[k] for k in keys if params.get(k) is not None}


def _channel_info(channel: Channel) -> dict[str, Any]:
    im = channel.id.startswith("D")
    return {"id": channel.id, "name": channel.name, "is_channel": not channel.is_private and not im,
            "is_group": channel.is_private, "is_im": im, "is_private": channel.is_private or im,
            "is_member": channel.is_member, "is_archived": channel.is_archived}


# -- Block Kit: what Slack refuses in a message ----------------------------------------------

NO_TEXT = "neither text nor blocks"
_LIMITS = {"blocks": 50, "fields": 10, "context": 10, "actions": 25, "total": 12_000,  # counts
           "value": 2000, "action_id": 255, "block_id": 255, "url": 3000}  # characters of a field
_TEXT_LIMITS = {"section": 3000, "field": 2000, "header": 150, "button": 75}
_BLOCK_TYPES = {"section", "header", "context", "actions", "divider", "image", "rich_text", "markdown",
                "input", "file", "video"}


def block_kit_problems(body: dict[str, Any]) -> list[str]:
    """Why Slack would refuse this message body (chat.* or response URL); empty when it would not."""
    blocks = body.get("blocks")
    if not blocks and not body.get("text"):
        return [NO_TEXT]
    if blocks is None:
        return []
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return ["blocks is not a list of objects"]
    problems = [f"{len(blocks)} blocks > {_LIMITS['blocks']}"] if len(blocks) > _LIMITS["blocks"] else []
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        problems += [f"block {i} ({block.get('type')}): {p}" for p in _block_problems(block)]
        block_id = block.get("block_id")
        if block_id is not None and block_id in block_ids:
            problems.append(f"block {i}: block_id {block_id!r} repeated")
        if block_id is not None:
            block_ids.add(block_id)
    texts = list(_text_objects(blocks))
    problems += [f"empty {t.get('type')} text object" for t in texts if not t.get("text")]
    total = sum(len(str(t.get("text", ""))) for t in texts)
    if total > _LIMITS["total"]:
        problems.append(f"{total} characters of block text > {_LIMITS['total']}")
    return problems


def _block_problems(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    problems = _too_long(block, "block_id")
    if kind not in _BLOCK_TYPES:
        return problems + ["unknown block type"]
    if kind == "section":
        fields = block.get("fields") or []
        if not block.get("text") and not fields:
            problems.append("section without text or fields")
        problems += _text_problems(block.get("text"), "section")
        if len(fields) > _LIMITS["fields"]:
            problems.append(f"{len(fields)} fields > {_LIMITS['fields']}")
        for f in fields:
            problems += _text_problems(f, "field")
        if isinstance(block.get("accessory"), dict):
            problems += _element_problems(block["accessory"])
    elif kind == "header":
        problems += _text_problems(block.get("text"), "header", plain_only=True)
        if not block.get("text"):
            problems.append("header without text")
    elif kind in ("context", "actions"):
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= _LIMITS[kind]:
            problems.append(f"{len(elements)} elements (1..{_LIMITS[kind]})")
        action_ids = [e.get("action_id") for e in elements if isinstance(e, dict) and e.get("action_id")]
        if len(action_ids) != len(set(action_ids)):
            problems.append("action_id repeated within the block")
        for e in elements:
            problems += _element_problems(e) if kind == "actions" else _context_element_problems(e)
    return problems


def _element_problems(element: Any) -> list[str]:
    if not isinstance(element, dict):
        return ["element is not an object"]
    problems = _too_long(element, "action_id") + _too_long(element, "url")
    if element.get("type") == "button":
        problems += _text_problems(element.get("text"), "button", plain_only=True) + _too_long(element, "value")
        if not element.get("text"):
            problems.append("button without text")
    return problems


def _context_element_problems(element: Any) -> list[str]:
    if not isinstance(element, dict):
        return ["element is not an object"]
    if element.get("type") in ("plain_text", "mrkdwn"):
        return _text_problems(element, "context")
    return [] if element.get("type") == "image" else [f"context element of type {element.get('type')!r}"]


def _text_problems(text: Any, where: str, plain_only: bool = False) -> list[str]:
    if text is None:
        return []
    if not isinstance(text, dict) or text.get("type") not in ("plain_text", "mrkdwn"):
        return [f"{where} text is not a text object"]
    if plain_only and text["type"] != "plain_text":
        return [f"{where} text must be plain_text"]
    limit = _TEXT_LIMITS.get(where)
    length = len(str(text.get("text", "")))
    return [f"{where} text of {length} characters > {limit}"] if limit and length > limit else []


def _too_long(obj: dict[str, Any], key: str) -> list[str]:
    value = obj.get(key)
    if value is not None and len(str(value)) > _LIMITS[key]:
        return [f"{key} of {len(str(value))} characters > {_LIMITS[key]}"]
    return []


def _text_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every text object in the blocks, however deep."""
    if isinstance(node, list):
        for item in node:
            yield from _text_objects(item)
    elif isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            yield node
        for value in node.values():
            if isinstance(value, (dict, list)):
                yield from _text_objects(value)


# -- What Slack sends a bot in HTTP mode ----------------------------------------------------

_NOWHERE = "http://127.0.0.1:9/respond/unset"  # loopback's discard port: never reaches anything


def sign(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The X-Slack-Request-Timestamp and X-Slack-Signature headers Slack signs `body` with."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode("utf-8"), f"v0:{ts}:{body}".encode("utf-8"), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def retry_headers(num: int = 1, reason: str = "http_timeout") -> dict[str, str]:
    """The headers Slack adds when it resends an event the app did not answer in 3 s."""
    return {"X-Slack-Retry-Num": str(num), "X-Slack-Retry-Reason": reason}


def slash_command(command: str = "/news", text: str = "search 人工智能", *, user_id: str = "U0USER",
                  channel_id: str = "C0GEN", response_url: str = _NOWHERE, team_id: str = TEAM_ID,
                  trigger_id: str | None = None) -> dict[str, str]:
    """A slash command's fields (a Socket Mode `slash_commands` payload is exactly these)."""
    return {"token": "verification-token", "team_id": team_id, "team_domain": "test", "channel_id": channel_id,
            "channel_name": channel_id.lower(), "user_id": user_id, "user_name": "reader", "command": command,
            "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false", "response_url": response_url,
            "trigger_id": trigger_id or _trigger_id()}


def slash_command_body(command: str = "/news", text: str = "search 人工智能", **fields: Any) -> str:
    """A slash command as Slack POSTs it: form-encoded."""
    return urlencode(slash_command(command, text, **fields))


def block_actions(action_id: str, value: str, *, user_id: str = "U0USER", channel_id: str = "C0GEN",
                  response_url: str = _NOWHERE, message_ts: str = "1700000000.000100",
                  team_id: str = TEAM_ID) -> dict[str, Any]:
    """A button press's payload (a Socket Mode `interactive` payload is exactly this)."""
    now = f"{time.time():.6f}"
    return {"type": "block_actions", "api_app_id": APP_ID, "token": "verification-token",
            "trigger_id": _trigger_id(), "is_enterprise_install": False, "enterprise": None,
            "team": {"id": team_id, "domain": "test"},
            "user": {"id": user_id, "username": "reader", "name": "reader", "team_id": team_id},
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                          "is_ephemeral": False},
            "channel": {"id": channel_id, "name": channel_id.lower()},
            "message": {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": message_ts, "text": "…"},
            "state": {"values": {}}, "response_url": response_url,
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b0", "value": value,
                         "text": {"type": "plain_text", "text": "…"}, "action_ts": now}]}


def block_actions_body(action_id: str, value: str, **fields: Any) -> str:
    """A button press as Slack POSTs it: form-encoded `payload=<json>`."""
    return urlencode({"payload": json.dumps(block_actions(action_id, value, **fields), ensure_ascii=False)})


def event_callback(event: dict[str, Any], *, event_id: str | None = None, team_id: str = TEAM_ID,
                   api_app_id: str = APP_ID) -> dict[str, Any]:
    """An Events API envelope around `event` (a Socket Mode `events_api` payload is exactly this)."""
    return {"token": "verification-token", "team_id": team_id, "api_app_id": api_app_id, "event": event,
            "type": "event_callback", "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()), "is_ext_shared_channel": False,
            "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True,
                                "is_enterprise_install": False}]}


def event_body(event: dict[str, Any], **fields: Any) -> str:
    """An event as Slack POSTs it: JSON."""
    return json.dumps(event_callback(event, **fields), ensure_ascii=False)


def app_mention_event(text: str, user: str = "U0USER", channel: str = "C0GEN", ts: str | None = None) -> dict[str, Any]:
    """Someone mentions the bot; `text` is the whole message, so a real one starts with "<@U0BOT>"."""
    ts = ts or f"{time.time():.6f}"
    return {"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts,
            "team": TEAM_ID}


def message_im_event(text: str, user: str = "U0USER", channel: str = "D0DM", ts: str | None = None) -> dict[str, Any]:
    """Someone writes to the bot in its direct-message channel."""
    ts = ts or f"{time.time():.6f}"
    return {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts, "channel": channel,
            "event_ts": ts, "team": TEAM_ID}


def url_verification_body(challenge: str) -> str:
    """The request Slack sends when an events URL is set; the app must echo the challenge."""
    return json.dumps({"token": "verification-token", "challenge": challenge, "type": "url_verification"})


def _trigger_id() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"
