"""The Telegram adapter (python-telegram-bot 22): it translates updates into `Incoming`
messages for the router and the router's replies into HTML messages; it knows nothing
of commands.

Long polling by default; a webhook when TELEGRAM_WEBHOOK_URL is set. TELEGRAM_API_BASE_URL
points it at a self-hosted Bot API server (or a test's fake): `<that>/bot` is its base URL.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import ChatMigrated as TelegramChatMigrated
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter as TelegramRetryAfter
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from digest import leases
from digest.compose import DailyDigest
from digest.errors import DigestError
from digest.messages import say

from . import chats as chat_store
from .adapter import PAGE_VALUE, FailureKind, Incoming, PacingLimits, SendFailure, page_value, parse_slash
from .config import WEBHOOK_SECRET_MISSING, BotConfig
from .errors import ErrorReporter
from .router import Router
from .startup import Failure, retrying
from .telegram_html import HtmlMessage, digest_messages, reply_messages

log = logging.getLogger(__name__)

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
POLLING_LEASE = "telegram:polling"  # the store's lease of the one process that long-polls
CONCURRENT_UPDATES = 16  # updates handled at once; the router's store work runs on threads
_PAGE_DATA = re.compile(rf"^s:{PAGE_VALUE}$")  # what _keyboard writes


class TelegramAdapter:
    """Runs a python-telegram-bot Application against the Bot API at the configured base URL."""

    platform = "telegram"
    # under the Bot API's documented limits (1/s per chat, 20/min per group, ~30/s overall)
    pacing = PacingLimits(per_chat_seconds=1.0, group_per_minute=20,
                          group_kinds=frozenset({"group", "supergroup", "channel"}), overall_per_second=25)

    def __init__(self, router: Router, config: BotConfig, *, poll_timeout: int = 10,
                 reporter: ErrorReporter | None = None, leader_seconds: float | None = None) -> None:
        self.router = router
        self.config = config
        self.poll_timeout = poll_timeout
        # a dead poller's lease runs out within this; another then takes over
        self.leader_seconds = leader_seconds if leader_seconds is not None else config.lease_seconds
        self._holder = leases.holder_id()
        self._leading: asyncio.Task[None] | None = None
        self.reporter = reporter or router.reporter
        base = config.telegram_api_base_url
        self.application = (
            Application.builder()
            .token(config.telegram_token or "")
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            # one chat's flood must not queue every other chat's updates behind it
            .concurrent_updates(CONCURRENT_UPDATES)
            .build()
        )
        self.application.add_handler(MessageHandler(filters.TEXT, self._on_message))
        self.application.add_handler(
            MessageHandler(filters.UpdateType.CHANNEL_POSTS & filters.TEXT, self._on_message)
        )
        self.application.add_handler(CallbackQueryHandler(self._on_page, pattern=_PAGE_DATA))
        # any other button (an old bot's, a forged one) is answered, or Telegram's spinner stays
        self.application.add_handler(CallbackQueryHandler(self._on_unknown_button))
        self.application.add_error_handler(self._on_error)
        self._running = False
        self._last_error: str | None = None

    async def start(self) -> None:
        """Reach the Bot API (retried while it may heal), then poll or serve the webhook;
        a start that cannot succeed raises `DigestError` with the reason in one line."""
        if self.config.telegram_webhook_url and not self.config.telegram_webhook_secret:
            # a configuration built in code skips from_env's check; forged updates must not get in
            raise DigestError(f"telegram: {WEBHOOK_SECRET_MISSING}")
        app = self.application
        await self._retrying(self._contact)
        # they get the digest without subscribing
        chat_store.standing_subscriptions(self.router.store, self.platform, self.config.telegram_channels,
                                          now=self.router.clock())
        await app.start()
        assert app.updater is not None
        try:
            if self.config.telegram_webhook_url:
                parts = urlsplit(self.config.telegram_webhook_url)
                await app.updater.start_webhook(
                    listen=self.config.webhook_listen, port=parts.port or 8443, url_path=parts.path.lstrip("/"),
                    webhook_url=self.config.telegram_webhook_url, secret_token=self.config.telegram_webhook_secret,
                    allowed_updates=Update.ALL_TYPES,
                )
            else:
                # one process of those sharing the store long-polls (a second would get 409
                # Conflict); the others stand by and take over when its lease runs out
                if await self._lead():
                    await self._start_polling()
                else:
                    log.info("telegram: another process long-polls Telegram; this one stands by")
                self._leading = asyncio.create_task(self._keep_leading())
        except TelegramError as exc:
            raise DigestError(f"telegram: {self._api_failure(exc)}") from None
        except OSError as exc:  # the webhook's port is taken or not ours to bind
            raise DigestError(f"telegram: webhook cannot listen on {self.config.webhook_listen}: "
                              f"{exc.strerror or exc}") from None
        self._running = True
        log.info("telegram: running as %s", self.describe())

    def describe(self) -> str:
        """`telegram @name, long polling` (or `…, standing by` while another process polls), or
        `…, webhook <its URL without secrets>`, for the start line."""
        if self.config.telegram_webhook_url:
            mode = f"webhook {self._public_webhook_url()}"
        else:
            polling = self.application.updater is not None and self.application.updater.running
            mode = "long polling" if polling else "standing by (another process long-polls)"
        return f"telegram @{self.application.bot.username}, {mode}"

    async def stop(self) -> None:
        app = self.application
        leading, self._leading = self._leading, None
        if leading is not None:
            leading.cancel()
        if app.updater is not None and app.updater.running:
            await app.updater.stop()  # its last long poll ends before another process may start one
        if leading is not None:
            try:  # another process may poll at once, not a lease later
                await asyncio.to_thread(leases.release, self.router.store, POLLING_LEASE, self._holder)
            except Exception as exc:  # the lease then runs out by itself
                log.warning("telegram: the polling lease was not given up: %s", type(exc).__name__)
        if app.running:
            await app.stop()
        await app.shutdown()
        await app.bot.shutdown()  # after a failed start the application never owned the bot's HTTP clients
        self._running = False

    def digest_parts(self, digest: DailyDigest, language: str) -> list[dict[str, Any]]:
        return [{"text": text, "parse_mode": "HTML"} for text in digest_messages(digest, language)]

    async def send(self, chat_ref: str, payload: dict[str, Any]) -> str:
        try:
            message = await self.application.bot.send_message(
                chat_id=chat_ref, text=payload["text"], parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW
            )
        except TelegramRetryAfter as exc:
            seconds = _seconds(exc)
            raise SendFailure(FailureKind.RATE_LIMITED, f"rate limited: retry after {seconds:g} s",
                              retry_after=seconds) from exc
        except Forbidden as exc:
            raise SendFailure(FailureKind.CHAT_GONE, str(exc)) from exc
        except TelegramChatMigrated as exc:
            raise SendFailure(FailureKind.MOVED, f"chat migrated to {exc.new_chat_id}",
                              new_ref=str(exc.new_chat_id)) from exc
        except TelegramError as exc:
            # /healthz is public and the message is the server's text (it may name a URL or a
            # path): only the kind goes there; the message goes on in the SendFailure, to the log
            self._last_error = type(exc).__name__
            # a 400 refuses this payload for good, a 401 every payload until the token is fixed;
            # anything else (network, 5xx) may heal
            kind = (FailureKind.REJECTED if isinstance(exc, BadRequest) else
                    FailureKind.UNAUTHORIZED if isinstance(exc, InvalidToken) else FailureKind.TRANSIENT)
            raise SendFailure(kind, str(exc)) from exc
        return str(message.message_id)

    def health(self) -> dict[str, Any]:
        return {"ok": self._running, "last_error": self._last_error}

    # -- start and failure ---------------------------------------------------------------

    async def _start_polling(self) -> None:
        assert self.application.updater is not None
        await self.application.updater.start_polling(timeout=self.poll_timeout, poll_interval=0.0,
                                                     allowed_updates=Update.ALL_TYPES,
                                                     error_callback=self._on_poll_error)

    async def _lead(self) -> bool:
        """Take or renew the polling lease; True while this process holds it."""
        return await asyncio.to_thread(leases.acquire, self.router.store, POLLING_LEASE, self._holder,
                                       now=datetime.now(timezone.utc), ttl=timedelta(seconds=self.leader_seconds))

    async def _keep_leading(self) -> None:
        # renews three times per lease; polls when it holds it, stops when another does
        updater = self.application.updater
        assert updater is not None
        while True:
            await asyncio.sleep(self.leader_seconds / 3)
            try:
                mine = await self._lead()
            except Exception as exc:  # no store: stop polling, or two might poll once the lease runs out
                self.reporter.report("telegram: renewing the polling lease", exc)
                mine = False
            try:
                if mine and not updater.running:
                    log.warning("telegram: this process long-polls Telegram now (the one before stopped)")
                    await self._start_polling()
                elif not mine and updater.running:
                    log.warning("telegram: another process long-polls Telegram now; this one stands by")
                    await updater.stop()
            except TelegramError as exc:
                log.warning("telegram: polling could not start: %s", self._api_failure(exc))

    async def _contact(self) -> None:
        """getMe (which checks the token) and the command menu: both safe to repeat."""
        app = self.application
        await app.initialize()
        # the default menu is Chinese; users whose Telegram is in English see it in English
        await app.bot.set_my_commands(command_menu(self.router.commands, "zh"))
        await app.bot.set_my_commands(command_menu(self.router.commands, "en"), language_code="en")
        if not self.config.telegram_webhook_url:
            # polling starts with deleteWebhook, which PTB tries only once (and logs a traceback)
            await app.bot.delete_webhook()

    async def _retrying(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run `step`, again while the Bot API is unreachable, answers 5xx or asks to wait
        (for DIGESTBOT_START_RETRY_SECONDS); a rejected token is final at once."""
        await retrying(self.platform, step, self._start_failure, self.config.start_retry_seconds)

    def _start_failure(self, exc: Exception) -> Failure | None:
        if isinstance(exc, TelegramRetryAfter):
            return Failure("asked to wait (429)", _seconds(exc))
        if isinstance(exc, TelegramError):
            return Failure(self._api_failure(exc), 0.0 if _may_heal(exc) else None)
        return None

    def _api_failure(self, exc: TelegramError) -> str:
        """What went wrong talking to the Bot API, in words an operator can act on (no token)."""
        base = self.config.telegram_api_base_url
        if isinstance(exc, InvalidToken):
            # PTB's own message repeats the token; the server's reason is the cause's
            text = (f"the Bot API at {base} rejected TELEGRAM_BOT_TOKEN ({exc.__cause__ or exc.message}); "
                    "check the token with @BotFather")
        elif _may_heal(exc):
            text = f"the Bot API at {base} is unreachable or failing: {type(exc).__name__}: {exc.message}"
        else:
            text = f"the Bot API at {base} refused the start: {type(exc).__name__}: {exc.message}"
        return self.reporter.mask(text)

    def _public_webhook_url(self) -> str:
        parts = urlsplit(self.config.telegram_webhook_url or "")
        host = parts.netloc.rpartition("@")[2]  # no user:password
        return self.reporter.mask(urlunsplit((parts.scheme, host, parts.path, "", "")))

    def _on_poll_error(self, exc: TelegramError) -> None:
        # PTB keeps polling with a growing pause; one line per failure instead of its traceback
        log.warning("telegram: polling failed: %s: %s; retrying", type(exc).__name__, self.reporter.mask(exc.message))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat, command = _where(update)
        self.reporter.report("telegram update", context.error, chat=chat, command=command)

    # -- updates -----------------------------------------------------------------------

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None or not message.text:
            return
        reply = await asyncio.to_thread(self.router.handle, self.incoming(update))
        if reply is None:
            return
        for part in reply_messages(reply):
            await message.reply_text(part.html, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW,
                                     reply_markup=_keyboard(part, reply.search_token))

    def incoming(self, update: Update) -> Incoming:
        """A text message as the router sees it (see `incoming_of`)."""
        # updates come only after getMe, so the bot's name is known
        return incoming_of(update, self.application.bot.username)

    async def _on_page(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.data is None or query.message is None:
            return
        match = _PAGE_DATA.match(query.data)
        assert match is not None  # the handler's pattern
        reply = await asyncio.to_thread(self.router.search_page, self.platform, str(query.message.chat.id),
                                        match.group(1), int(match.group(2)))
        (part,) = reply_messages(reply)
        await query.answer()
        await query.edit_message_text(part.html, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW,
                                      reply_markup=_keyboard(part, reply.search_token))

    async def _on_unknown_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer()


def incoming_of(update: Update, bot_username: str) -> Incoming:
    """A text message as the router sees it: `/search@this_bot 人工智能` is the command
    `search`; one `@another_bot`'s, or chatter in a group, is not addressed to us."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert message is not None and chat is not None
    slash = parse_slash(message.text or "")
    if slash is None:
        addressed, command, argument = chat.type == "private", None, ""
    else:
        addressed = slash.addressee is None or slash.addressee.lower() == bot_username.lower()
        command, argument = slash.name, slash.argument
    return Incoming(
        platform=TelegramAdapter.platform, chat=str(chat.id), user=str(user.id) if user else None, command=command,
        argument=argument, addressed_to_me=addressed, chat_kind=chat.type,
        chat_title=chat.title or chat.full_name,
    )


def command_menu(commands: list[str], language: str) -> list[BotCommand]:
    """The commands with their descriptions in `language`, for Telegram's "/" menu."""
    return [BotCommand(name, say(f"command_{name}", language)) for name in commands]


def _keyboard(part: HtmlMessage, token: str | None) -> InlineKeyboardMarkup | None:
    """The message's paging buttons; each carries `s:<token>:<page>`, what `_on_page` reads."""
    if not part.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=f"s:{page_value(str(token), b.page)}")
                                  for b in part.buttons]])


def _may_heal(exc: TelegramError) -> bool:
    """A network error, a timeout or a 5xx: the next try may succeed (a 400 will not)."""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


def _where(update: object) -> tuple[str | None, str | None]:
    """The chat (`telegram:<id>`) and the command an update was about, when it has them."""
    if not isinstance(update, Update):
        return None, None
    chat = f"telegram:{update.effective_chat.id}" if update.effective_chat else None
    if update.callback_query is not None:
        return chat, "/search (page button)"
    slash = parse_slash(update.effective_message.text or "") if update.effective_message else None
    return chat, f"/{slash.name}" if slash else None


def _seconds(exc: TelegramRetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int form is going away
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
