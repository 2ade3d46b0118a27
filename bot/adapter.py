"""The platform port: what a chat adapter gives the core, and what it gets back.

An adapter (Telegram, the console, Slack next) translates; the core decides. Reading a
platform's update, the adapter parses its syntax — `/search@digestbot 人工智能` on
Telegram, `/news search …` or `@digestbot search …` on Slack — into an `Incoming`, and
hands it to `Router.handle`. It renders the `Reply` it gets back in the language and zone
the reply carries, with the labels of the message catalogue (`digest.messages`). For daily
digests it renders a `DailyDigest` into message parts, and sends one part at a time,
raising the send failures below; the delivery worker decides what a failure means.

A new platform needs: a class with the `Adapter` methods, a parse of its updates into
`Incoming`, a renderer of `Reply` and `DailyDigest`, and its configured channels passed to
`bot.chats.standing_subscriptions` at start. Nothing in the core knows its types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from digest.compose import DailyDigest
from digest.search import SearchPage
from digest.store import StoredArticle

# `/name`, `/name@addressee`, then the argument: the slash-command form Telegram and the
# console share (Slack's `/news name …` reaches the adapter with the name as the argument)
_SLASH = re.compile(r"^/([A-Za-z_]+)(?:@(\w+))?(?:\s+(.*))?$", re.S)


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


class SendError(Exception):
    """A message could not be sent."""


class RetryAfter(SendError):
    """The platform asked to wait (a 429): `seconds` exactly, then try again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited: retry after {seconds:g} s")
        self.seconds = seconds


class ChatGone(SendError):
    """The bot was blocked, kicked or the chat deleted (a 403): stop writing to it."""


class ChatMigrated(SendError):
    """A group became a supergroup with a new id: move the chat there."""

    def __init__(self, new_ref: str) -> None:
        super().__init__(f"chat migrated to {new_ref}")
        self.new_ref = new_ref


class Adapter(Protocol):
    """A chat platform, as the runtime, the delivery worker and the error reporter use it."""

    platform: str  # the name chats of this platform are stored under

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
        """Send one part to a chat; returns the platform's message id. Raises `RetryAfter`,
        `ChatGone`, `ChatMigrated` or `SendError` (anything else the platform refused)."""
        ...
