"""What every chat adapter provides, and the send failures the delivery worker handles."""

from __future__ import annotations

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
