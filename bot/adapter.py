"""The platform port: what a chat adapter gives the core, and what it gets back.

An adapter (Telegram, the console, Slack next) translates; the core decides. Reading a
platform's update, the adapter parses its syntax — `/search@digestbot 人工智能` on
Telegram, `/news search …` or `@digestbot search …` on Slack — into an `Incoming`, and
hands it to `Router.handle`. It renders the `Reply` it gets back in the language and zone
the reply carries, with the labels of the message catalogue (`digest.messages`). For daily
digests it renders a `DailyDigest` into message parts, and sends one part at a time,
raising `SendFailure` with its SDK's error mapped onto a `FailureKind`; the delivery
worker (`bot.delivery`) decides what a failure means, and paces each platform by the
`PacingLimits` its adapter declares.

A new platform needs: a class with the `Adapter` methods, a parse of its updates into
`Incoming`, a renderer of `Reply` and `DailyDigest` (pure, beside `bot.telegram_html`;
`bot.render` is the plain-text one) whose every label is `digest.messages.say(key,
reply.language)`, and its configured channels passed to `bot.chats.standing_subscriptions`
at start. A search's page buttons carry only `Reply.search_token` and a page number; a
press is `Router.search_page(platform, chat, token, page)` (the state is in the store, so
any process answers it). Routes it serves over HTTP go on the one front (`bot.http`) before
it starts. Nothing in the core knows its types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from digest.compose import DailyDigest
from digest.search import SearchPage
from digest.store import StoredArticle

# `/name`, `/name@addressee`, then the argument: the slash-command form Telegram and the
# console share (Slack's `/news name …` reaches the adapter with the name as the argument).
# The slash may be the full-width ／ a Chinese keyboard types, as filters take ：
_SLASH = re.compile(r"^[/／]([A-Za-z_]+)(?:@(\w+))?(?:\s+(.*))?$", re.S)


@dataclass(frozen=True)
class Incoming:
    """What arrived, as the core sees it: the platform, the chat and user (the platform's
    own ids), and the command already parsed from the platform's syntax."""

    platform: str  # "telegram", "slack", "console"
    chat: str  # the platform's id of the chat
    user: str | None  # the platform's id of the sender; None when it has none (a channel post)
    command: str | None  # lower case, without the slash; None: not a command
    argument: str = ""
    addressed_to_me: bool = True  # False: chatter in a group, a command for another bot
    chat_kind: str = "private"  # private, group, supergroup, channel
    chat_title: str | None = None
    pages_by_command: bool = False  # True: no page buttons here, /more turns the page (the console)

    @property
    def sender(self) -> str | None:
        """The sender as a platform-qualified id (`telegram:42`, `slack:U0123`, `console`):
        what DIGESTBOT_ADMINS lists."""
        if self.platform == "console":
            return "console"
        return f"{self.platform}:{self.user}" if self.user else None


@dataclass(frozen=True)
class Reply:
    """What the core answers: text and/or a page of results, a digest or a list of
    articles, with the language and time zone the adapter renders it in."""

    text: str = ""
    language: str = "zh"
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    search: SearchPage | None = None
    search_token: str | None = None  # paging state lives in the store; buttons carry only this
    digest: DailyDigest | None = None
    articles: tuple[StoredArticle, ...] = field(default_factory=tuple)
    # the chat's digest settings changed: news for everyone in it (Slack posts it in the channel)
    changed: bool = False


# A page button's value: a search's token and a page (what `page_value` writes); each
# platform wraps it in its own syntax, and reads back only what matches this
PAGE_VALUE = r"([A-Za-z0-9_-]{1,32}):([1-9][0-9]{0,5})"


def page_value(token: str, page: int) -> str:
    """What a page button carries: `token:page`, all the state a press needs."""
    return f"{token}:{page}"


@dataclass(frozen=True)
class SlashCommand:
    """A `/name@addressee argument` line, split."""

    name: str  # lower case
    addressee: str | None
    argument: str


def parse_slash(text: str) -> SlashCommand | None:
    """`/search@bot 人工智能` as (search, bot, 人工智能); None when the text is no command."""
    match = _SLASH.match(text.strip())
    if match is None:
        return None
    return SlashCommand(match.group(1).lower(), match.group(2), (match.group(3) or "").strip())


# -- delivery's side of the port: what a failed send was, and how fast a platform takes them


class FailureKind(Enum):
    """What a failed send means for delivery (bot/delivery.py decides what to do about it)."""

    RATE_LIMITED = "rate limited"  # a 429: wait `retry_after` seconds, then send again
    TRANSIENT = "transient"  # the network or a 5xx: a later try may succeed
    CHAT_GONE = "chat gone"  # a 403: the bot was blocked or kicked, or the chat deleted
    MOVED = "moved"  # the chat lives on under `new_ref` (a group became a supergroup)
    REJECTED = "rejected"  # a 400: the platform will never take this payload
    # our credentials were refused (a revoked token, a missing scope): nothing is wrong with
    # the chat, and no send of this platform can go until an operator acts
    UNAUTHORIZED = "unauthorized"


class SendFailure(Exception):
    """An adapter's `send` raises this, and only this, when a part did not go: its SDK's
    error mapped onto a `FailureKind`, with the wait a 429 asked for or the chat's new ref."""

    def __init__(self, kind: FailureKind, reason: str, *, retry_after: float | None = None,
                 new_ref: str | None = None) -> None:
        if kind is FailureKind.MOVED and not new_ref:
            raise ValueError("a moved chat needs its new ref")
        super().__init__(reason)
        self.kind = kind
        self.retry_after = retry_after
        self.new_ref = new_ref


@dataclass(frozen=True)
class PacingLimits:
    """How fast a platform takes messages, as each adapter's `pacing` states it; a zero or
    None is no limit. Delivery keeps one pacer per platform under these."""

    per_chat_seconds: float = 0.0  # between two messages to one chat
    group_per_minute: int | None = None  # messages a minute to one chat whose kind is in `group_kinds`
    group_kinds: frozenset[str] = frozenset()
    overall_per_second: int | None = None  # messages a second, all chats together


class Adapter(Protocol):
    """A chat platform, as the runtime, the delivery worker and the error reporter use it."""

    platform: str  # the name chats of this platform are stored under
    pacing: PacingLimits  # how fast it takes messages: the delivery worker's pacer keeps to it

    async def start(self) -> None:
        """Connect (a start that cannot succeed raises `DigestError` with the reason in
        one line), subscribe the configured channels, and begin answering."""
        ...

    async def stop(self) -> None:
        """Stop answering and close connections; safe after a failed start."""
        ...

    def describe(self) -> str:
        """What it is connected to, for the bot's start line (`telegram @name, long polling`)."""
        ...

    def health(self) -> dict[str, Any]:
        """Its state for /healthz: `ok` plus whatever helps an operator."""
        ...

    def digest_parts(self, digest: DailyDigest, language: str) -> list[dict[str, Any]]:
        """The digest as the messages to send, in order, each a JSON-able payload that
        `send` accepts (stored in the outbox, so it may be sent by another process)."""
        ...

    async def send(self, chat_ref: str, payload: dict[str, Any]) -> str:
        """Send one part to a chat; returns the platform's message id. A part that did not
        go raises `SendFailure`, and only that: the SDK's error mapped onto a `FailureKind`."""
        ...
