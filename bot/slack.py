"""The Slack adapter (slack-bolt's AsyncApp on the bot's own event loop): it translates
slash commands, mentions, direct messages and button presses into `Incoming` messages
for the router, and the router's replies into Block Kit (`bot.slack_blocks`).

One workspace, one bot token. Socket Mode when SLACK_APP_TOKEN is set; otherwise Slack
posts to `/slack/events` on the HTTP front, and every request is checked against
SLACK_SIGNING_SECRET (Bolt answers 401 to an unsigned or stale one). `auth.test` runs
once at start and its answer is handed to Bolt through `authorize=`, so no Web API call
happens inside a request's 3-second window: every listener acks first, then the router
runs off the loop, and the answer goes through `respond()` (the command's
`response_url`) or a post in the thread. Nothing here is kept in memory that another
process would need: paging tokens and seen events are in the store.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from digest.compose import DailyDigest

from . import chats as chat_store
from . import events
from . import slack_blocks
from .adapter import PAGE_VALUE, FailureKind, Incoming, PacingLimits, Reply, SendFailure
from .config import BotConfig
from .errors import ErrorReporter
from .http import HttpFront
from .router import Router
from .startup import Failure, retrying

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"  # slash commands, interactivity and events, as the manifest says
SEND_TIMEOUT = 20  # seconds a Web API call may take: well inside the outbox's 45 s lease
SOCKET_CONNECT_SECONDS = 30.0  # the WebSocket must open within this at start
MAX_RESPONSES = 5  # a response_url takes five answers in 30 minutes
# errors that are about our token, not the chat: nothing is deactivated, Slack is down until fixed
TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                          "missing_scope", "no_permission", "ekm_access_denied", "team_access_not_granted"})
# the channel is gone, or closed to us for good
GONE_ERRORS = frozenset({"channel_not_found", "is_archived", "not_in_channel", "method_not_supported_for_channel_type",
                         "restricted_action", "restricted_action_read_only_channel"})
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# a 429's code, and chat.postMessage's own HTTP 200 form ("Application has posted too many messages")
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
_NETWORK = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
_BUTTON_VALUE = re.compile(rf"^{PAGE_VALUE}$")  # what slack_blocks writes
_LEADING_MENTION = re.compile(r"^\s*<@([UW][A-Z0-9]+)(?:\|[^>]*)?>[\s:：,，]*")
_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
# Bolt warns that SLACK_BOT_TOKEN is unused when `authorize=` gives the token: it is meant
_EXPECTED_WARNINGS = ("As you gave `client` as well", "As `installation_store` or `authorize` has been used")


def plain_text(text: str) -> str:
    """Slack's text as the user typed it: links and channels as shown, `&amp;`, `&lt;`
    and `&gt;` unescaped (Slack escapes those three and nothing else)."""
    def shown(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("#C") or target.startswith("#G"):
            return f"#{label}" if label else target
        return label or target.removeprefix("mailto:")

    text = _MARKUP.sub(shown, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def command_of(text: str) -> tuple[str, str]:
    """`search 人工智能` (or `/search 人工智能`) as (search, 人工智能); nothing at all is help."""
    words = text.strip().split(maxsplit=1)
    if not words:
        return "help", ""
    return words[0].lstrip("/").lower() or "help", words[1].strip() if len(words) > 1 else ""


def without_mention(text: str, bot_user: str | None) -> str:
    """A mention's text without the leading `<@bot>` it was addressed with."""
    match = _LEADING_MENTION.match(text)
    if match is not None and (bot_user is None or match.group(1) == bot_user):
        return text[match.end():]
    return text


def chat_kind(channel: str, name: str | None = None) -> str:
    """The kind the store keeps for a Slack conversation: a DM is private, a private
    channel or group DM a group, anything else a channel."""
    if channel.startswith("D") or name == "directmessage":
        return "private"
    if channel.startswith("G") or name in ("privategroup", "mpdm") or (name or "").startswith("mpdm-"):
        return "group"
    return "channel"


class SlackAdapter:
    """Runs a Bolt AsyncApp over Socket Mode or on the HTTP front, against the Web API at
    SLACK_API_BASE_URL."""

    platform = "slack"
    pacing = PacingLimits(per_chat_seconds=1.0)  # chat.postMessage: about one message a second per channel

    def __init__(self, router: Router, config: BotConfig, *, front: HttpFront | None = None,
                 reporter: ErrorReporter | None = None, send_timeout: int = SEND_TIMEOUT) -> None:
        self.router = router
        self.config = config
        self.reporter = reporter or router.reporter
        base = config.slack_api_base_url
        # No retry handlers: the SDK's default resends a call whose connection dropped, which
        # may post a message twice; delivery decides what a failure means.
        self._send_timeout = send_timeout
        self.client = AsyncWebClient(token=config.slack_bot_token, base_url=base, timeout=send_timeout,
                                     retry_handlers=[])
        self.app = AsyncApp(
            name="digestbot",
            logger=_bolt_logger(),
            # no token on Bolt's client: each request gets the one `authorize` gives
            client=AsyncWebClient(base_url=base, timeout=SEND_TIMEOUT, retry_handlers=[]),
            authorize=self._authorizer(),
            signing_secret=config.slack_signing_secret or "",
            # Socket Mode's envelopes come over our own authenticated connection, unsigned
            request_verification_enabled=not config.slack_socket_mode,
            process_before_response=False,
        )
        self._listen()
        if not config.slack_socket_mode:
            if front is None:
                raise ValueError("Slack's HTTP mode needs the HTTP front")
            front.add_route("POST", EVENTS_PATH, self._on_http)
        self._auth: AuthorizeResult | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._session: aiohttp.ClientSession | None = None
        self._running = False
        self._refused: str | None = None  # the token error the last send met, until one goes
        self._uninstalled = False

    # -- the port ------------------------------------------------------------------------

    async def start(self) -> None:
        """auth.test (retried while Slack may heal; a rejected token is final), the
        channels of SLACK_CHANNELS subscribed, then Socket Mode connected or HTTP served."""
        # one pool for every call, not one per call; the SDK applies its `timeout` only to a
        # session it makes itself, so ours carries it (else aiohttp's 5 minutes: a hung call
        # would hold a send slot long past the outbox's lease)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._send_timeout))
        self.client.session = self.app.client.session = self._session
        budget = self.config.start_retry_seconds
        await retrying(self.platform, self._contact, self._start_failure("SLACK_BOT_TOKEN"), budget)
        chat_store.standing_subscriptions(self.router.store, self.platform, self.config.slack_channels,
                                          now=self.router.clock())
        if self.config.slack_socket_mode:
            await retrying(self.platform, self._connect_socket, self._start_failure("SLACK_APP_TOKEN"), budget)
        self._running = True
        log.info("slack: running as %s", self.describe())

    async def stop(self) -> None:
        self._running = False
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def describe(self) -> str:
        """`slack @name (workspace), socket mode` or `…, http /slack/events`, for the start line."""
        team = f" ({self._auth.team})" if self._auth is not None and self._auth.team else ""
        mode = "socket mode" if self.config.slack_socket_mode else f"http {EVENTS_PATH}"
        return f"slack @{self._bot_name()}{team}, {mode}"

    def health(self) -> dict[str, Any]:
        error = "app uninstalled" if self._uninstalled else self._refused
        return {"ok": self._running and error is None, "last_error": error,
                "mode": "socket" if self.config.slack_socket_mode else "http"}

    def digest_parts(self, digest: DailyDigest, language: str) -> list[dict[str, Any]]:
        return slack_blocks.digest_messages(digest, language)

    async def send(self, chat_ref: str, payload: dict[str, Any]) -> str:
        try:
            try:
                return await self._post(chat_ref, payload)
            except SlackApiError as exc:
                if _error(exc) != "not_in_channel":
                    raise
            # a public channel the app left (or was never added to): join it and post again
            await self._join(chat_ref)
            log.info("slack: joined channel %s to post its digest", chat_ref)
            return await self._post(chat_ref, payload)
        except SlackApiError as exc:
            raise self._failure(exc) from exc
        except _NETWORK as exc:
            raise SendFailure(FailureKind.TRANSIENT, f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc

    # -- start ---------------------------------------------------------------------------

    async def _contact(self) -> None:
        response = await self.client.auth_test()
        self._auth = AuthorizeResult.from_auth_test_response(auth_test_response=response,
                                                             bot_token=self.config.slack_bot_token)

    def _authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        # a plain function: Bolt passes what the signature names, and a method's names `self`
        async def authorize(team_id: str | None) -> AuthorizeResult:
            assert self._auth is not None  # requests are served only after start's auth.test
            return self._auth

        return authorize

    async def _connect_socket(self) -> None:
        # the URL first, here: the SDK's own connect retries a refused app token for ever
        token = self.config.slack_app_token or ""
        opened = await self.client.apps_connections_open(app_token=token)
        handler = AsyncSocketModeHandler(self.app, token, logger=_socket_logger(),
                                         web_client=AsyncWebClient(base_url=self.config.slack_api_base_url,
                                                                   timeout=SEND_TIMEOUT, retry_handlers=[]))
        handler.client.wss_uri = opened["url"]
        try:
            await asyncio.wait_for(handler.connect_async(), SOCKET_CONNECT_SECONDS)
        except asyncio.TimeoutError:
            await handler.close_async()
            host = urlsplit(str(opened["url"])).netloc
            raise ConnectionError(f"the Socket Mode connection to {host} did not open "
                                  f"in {SOCKET_CONNECT_SECONDS:g} s") from None
        self._socket = handler

    def _start_failure(self, variable: str) -> Callable[[Exception], Failure | None]:
        base = self.config.slack_api_base_url

        def classify(exc: Exception) -> Failure | None:
            if isinstance(exc, SlackApiError):
                error, status = _error(exc), exc.response.status_code
                if status == 429 or error == "ratelimited":
                    return Failure("asked to wait (429)", _retry_after(exc))
                if status >= 500 or error in TRANSIENT_ERRORS:
                    return Failure(f"the Web API at {base} is failing: {error}", 0.0)
                if error in TOKEN_ERRORS:
                    return Failure(f"the Web API at {base} rejected {variable} ({error}); check it in the app's "
                                   "settings (OAuth & Permissions, or Basic Information for the app token)")
                return Failure(f"the Web API at {base} refused the start: {error}")
            if isinstance(exc, _NETWORK):
                reason = self.reporter.mask(f"{type(exc).__name__}: {exc}".rstrip(": "))
                return Failure(f"the Web API at {base} is unreachable: {reason}", 0.0)
            return None

        return classify

    # -- sending -------------------------------------------------------------------------

    async def _post(self, chat_ref: str, payload: dict[str, Any]) -> str:
        response = await self.client.chat_postMessage(
            channel=chat_ref, text=payload.get("text") or " ", blocks=payload.get("blocks"),
            unfurl_links=False, unfurl_media=False,
        )
        self._refused = None
        return str(response["ts"])

    async def _join(self, chat_ref: str) -> None:
        """Join a public channel to post in it. A refusal about this channel (no channels:join
        scope, a full channel, a restricted bot) closes the channel to us for good: it must not
        pass for a refused token, which would hold every other channel's digest."""
        try:
            await self.client.conversations_join(channel=chat_ref)
        except SlackApiError as exc:
            if _error(exc) == "missing_scope" or failure_of(exc).kind is FailureKind.REJECTED:
                raise SendFailure(FailureKind.CHAT_GONE, f"not_in_channel, and joining it was refused: "
                                  f"{_error(exc)}") from exc
            raise self._failure(exc) from exc

    def _failure(self, exc: SlackApiError) -> SendFailure:
        """A Web API error as delivery sees it; a refused token is remembered for /healthz
        (Slack shows down until a send goes again)."""
        failure = failure_of(exc)
        if failure.kind is FailureKind.UNAUTHORIZED:
            self._refused = _error(exc)
        return failure

    # -- requests ------------------------------------------------------------------------

    def _listen(self) -> None:
        app = self.app
        app.command(self.config.slack_command)(self._on_command)
        app.action(re.compile(r"^page:"))(self._on_page)
        app.action(re.compile(r"^share:"))(self._on_share)
        app.action(re.compile(r"."))(self._on_other_button)
        app.event("app_mention")(self._on_mention)
        app.event("message")(self._on_message)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.event("tokens_revoked")(self._on_uninstalled)
        app.error(self._on_error)

    async def _on_http(self, request: web.Request) -> web.StreamResponse:
        if self._auth is None:  # the front serves before the adapters start; Slack retries a 503
            return web.Response(status=503, text="starting")
        response = await self.app.async_dispatch(_bolt_request(await to_bolt_request(request)))
        return await to_aiohttp_response(response)

    async def _on_command(self, ack: Callable[..., Awaitable[Any]], command: dict[str, Any],
                          respond: Callable[..., Awaitable[Any]]) -> None:
        await ack()  # first: Slack shows the user an error when no ack comes within 3 s
        incoming = command_incoming(command)
        channel = incoming.chat
        if incoming.command == "subscribe" and incoming.chat_kind != "private" and not await self._can_post(channel):
            invite = await asyncio.to_thread(self.router.notice, self.platform, channel, "invite_first",
                                             bot=self._bot_name())
            await self._respond(respond, invite)
            return
        reply = await asyncio.to_thread(self.router.handle, incoming)
        if reply is not None:
            # a change to the channel's digest is news to the whole channel; the rest is the asker's
            await self._respond(respond, reply, in_channel=reply.changed)

    async def _on_page(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any],
                       respond: Callable[..., Awaitable[Any]]) -> None:
        await ack()
        page = await self._pressed(body, action)
        if page is not None:
            (message, *_) = slack_blocks.reply_messages(page)
            await respond(replace_original=True, **message)

    async def _on_share(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any],
                        respond: Callable[..., Awaitable[Any]]) -> None:
        await ack()
        page = await self._pressed(body, action)
        if page is None:
            return
        if page.search is None:  # expired: said to the one who pressed, not to the channel
            (message, *_) = slack_blocks.reply_messages(page)
            await respond(replace_original=False, response_type="ephemeral", **message)
            return
        user = str((body.get("user") or {}).get("id") or "")
        shared = slack_blocks.shared_message(page.search, page.zone, page.language, user)
        await respond(replace_original=False, response_type="in_channel", **shared)

    async def _on_other_button(self, ack: Callable[..., Awaitable[Any]]) -> None:
        await ack()  # a button of an older version, or a forged one: answered, nothing done

    async def _on_mention(self, body: dict[str, Any], event: dict[str, Any],
                          say: Callable[..., Awaitable[Any]]) -> None:
        if not await self._first_sight(body):
            return
        bot_user = self._auth.bot_user_id if self._auth is not None else None
        await self._converse(event, without_mention(event.get("text") or "", bot_user), say,
                             thread=str(event.get("thread_ts") or event.get("ts") or "") or None)

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any],
                          say: Callable[..., Awaitable[Any]]) -> None:
        # direct messages only, as people type them: edits, joins and bots' posts are not commands
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        if await self._first_sight(body):
            await self._converse(event, event.get("text") or "", say, thread=event.get("thread_ts"))

    async def _on_uninstalled(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        revoked_users_only = event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot")
        if revoked_users_only or not await self._first_sight(body):
            return  # a user's token revoked is no concern of the bot's
        count = await asyncio.to_thread(chat_store.deactivate_platform, self.router.store, self.platform)
        self._uninstalled = True
        log.warning("slack: %s: the app was removed from the workspace; %d chat(s) deactivated",
                    event.get("type"), count)

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        channel = (body.get("channel_id") or (body.get("channel") or {}).get("id")
                   or (body.get("event") or {}).get("channel"))
        where = body.get("command") or (body.get("event") or {}).get("type") or body.get("type")
        self.reporter.report("slack request", error, chat=f"slack:{channel}" if channel else None,
                             command=str(where) if where else None)

    # -- helpers -------------------------------------------------------------------------

    async def _converse(self, event: dict[str, Any], text: str, say: Callable[..., Awaitable[Any]],
                        thread: str | None) -> None:
        """A mention or a direct message: routed, and answered where it was written (where
        everyone in it sees the answer: no share button)."""
        incoming = conversation_incoming(event, text, self.router.commands)
        reply = await asyncio.to_thread(self.router.handle, incoming)
        if reply is None:
            return
        for message in slack_blocks.reply_messages(reply, shareable=False):
            await say(thread_ts=thread, **message)

    async def _respond(self, respond: Callable[..., Awaitable[Any]], reply: Reply, *, in_channel: bool = False) -> None:
        messages = slack_blocks.reply_messages(reply)
        if len(messages) > MAX_RESPONSES:  # a digest preview that long: the rest would be refused
            log.warning("slack: a reply of %d messages; the response URL takes %d", len(messages), MAX_RESPONSES)
        for message in messages[:MAX_RESPONSES]:
            await respond(response_type="in_channel" if in_channel else "ephemeral", **message)

    async def _pressed(self, body: dict[str, Any], action: dict[str, Any]) -> Reply | None:
        """The page a paging or share button asks for; None for a value we never wrote."""
        match = _BUTTON_VALUE.match(str(action.get("value") or ""))
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if match is None or not channel:
            return None
        return await asyncio.to_thread(self.router.search_page, self.platform, str(channel), match.group(1),
                                       int(match.group(2)))

    async def _can_post(self, channel: str) -> bool:
        """Whether digests can reach `channel`: the app is in it, or joins it (a public
        one). A private channel it is not in is hidden from it: channel_not_found."""
        try:
            info = (await self.client.conversations_info(channel=channel))["channel"]
            if info.get("is_member") or info.get("is_im") or info.get("is_mpim"):
                return True
            if info.get("is_private"):
                return False
            await self.client.conversations_join(channel=channel)
            return True
        except (SlackApiError, *_NETWORK) as exc:
            problem = _error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
            if problem in GONE_ERRORS:
                return False
            log.warning("slack: channel %s: could not check membership (%s); subscribing anyway", channel, problem)
            return True

    async def _first_sight(self, body: dict[str, Any]) -> bool:
        """False for an event Slack sent again (it saw no answer in 3 s, maybe from another process)."""
        event_id = body.get("event_id")
        if not event_id:
            return True
        first = await asyncio.to_thread(events.first_sight, self.router.store, self.platform, str(event_id),
                                        now=self.router.clock())
        if not first:
            log.info("slack: event %s already handled (a retry)", event_id)
        return first

    def _bot_name(self) -> str:
        return (self._auth.user if self._auth is not None else None) or "digestbot"


def failure_of(exc: SlackApiError) -> SendFailure:
    """What a Web API error means for delivery."""
    error, status = _error(exc), exc.response.status_code
    if status == 429 or error in RATE_LIMIT_ERRORS:
        seconds = _retry_after(exc)
        return SendFailure(FailureKind.RATE_LIMITED, f"rate limited: retry after {seconds:g} s", retry_after=seconds)
    if error in TOKEN_ERRORS:
        return SendFailure(FailureKind.UNAUTHORIZED, error)
    if error in GONE_ERRORS:
        return SendFailure(FailureKind.CHAT_GONE, error)
    if status >= 500 or error in TRANSIENT_ERRORS:
        return SendFailure(FailureKind.TRANSIENT, error)
    return SendFailure(FailureKind.REJECTED, error)


def command_incoming(command: dict[str, Any]) -> Incoming:
    """A slash command's payload (`/news search 人工智能`) as the router sees it."""
    name, argument = command_of(plain_text(command.get("text") or ""))
    channel, title = str(command.get("channel_id") or ""), command.get("channel_name")
    return Incoming(SlackAdapter.platform, channel, command.get("user_id"), name, argument,
                    chat_kind=chat_kind(channel, title), chat_title=title)


def conversation_incoming(event: dict[str, Any], text: str, commands: list[str]) -> Incoming:
    """A mention's (its `<@bot>` taken off) or a direct message's `text` as the router sees it:
    words that name no command in `commands` are no command."""
    name, argument = command_of(plain_text(text))
    command: str | None = name
    if name not in commands and name != "help":  # words, not a command: no "/news 你好" in the answer
        command, argument = None, ""
    channel = str(event.get("channel") or "")
    return Incoming(SlackAdapter.platform, channel, event.get("user"), command, argument, chat_kind=chat_kind(channel))


def _bolt_request(request: AsyncBoltRequest) -> AsyncBoltRequest:
    """The request with its form read right: Bolt 1.30 takes any form body holding the
    word "payload" for a button press (`/news search payload` would arrive empty)."""
    if request.body or not request.raw_body or request.raw_body.lstrip().startswith("{"):
        return request
    form = dict(parse_qsl(request.raw_body, keep_blank_values=True))
    if "payload" not in form:
        request.body = form
        request.context = build_async_context(AsyncBoltContext({}), form)
    return request


def _error(exc: SlackApiError) -> str:
    """The Web API's error code (`channel_not_found`), or the HTTP status when it gave none."""
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error") or f"HTTP {exc.response.status_code}")


def _retry_after(exc: SlackApiError) -> float:
    value = (exc.response.headers or {}).get("Retry-After") or (exc.response.headers or {}).get("retry-after")
    try:
        return max(1.0, float(value)) if value is not None else 30.0
    except ValueError:
        return 30.0


class _ExpectedWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_EXPECTED_WARNINGS)


class _OneLine(logging.Filter):
    """The SDK logs each failed reconnect with its traceback; the operator gets one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt.digestbot")
    if not any(isinstance(f, _ExpectedWarnings) for f in logger.filters):
        logger.addFilter(_ExpectedWarnings())
    return logger


def _socket_logger() -> logging.Logger:
    logger = logging.getLogger("slack_sdk.socket_mode.digestbot")
    if not any(isinstance(f, _OneLine) for f in logger.filters):
        logger.addFilter(_OneLine())
    return logger
