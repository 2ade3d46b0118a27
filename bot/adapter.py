"""What every chat adapter provides, and the send failures the delivery worker handles."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from digest.compose import DailyDigest


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
    """A chat platform: it starts and stops, renders digests into its message parts, and
    sends one part at a time (raising the errors above)."""

    platform: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def digest_parts(self, digest: DailyDigest, language: str) -> list[dict[str, Any]]: ...

    async def send(self, chat_ref: str, payload: dict[str, Any]) -> str: ...

    def health(self) -> dict[str, Any]: ...

    def describe(self) -> str:
        """What it is connected to, for the bot's start line (`telegram @name, long polling`)."""
        ...


# -- delivery's side of the port: what a failed send was, and how fast a platform takes them


class FailureKind(Enum):
    """What a failed send means for delivery (bot/delivery.py decides what to do about it)."""

    RATE_LIMITED = "rate limited"  # a 429: wait `retry_after` seconds, then send again
    TRANSIENT = "transient"  # the network or a 5xx: a later try may succeed
    CHAT_GONE = "chat gone"  # a 403: the bot was blocked or kicked, or the chat deleted
    MOVED = "moved"  # the chat lives on under `new_ref` (a group became a supergroup)
    REJECTED = "rejected"  # a 400: the platform will never take this payload


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
