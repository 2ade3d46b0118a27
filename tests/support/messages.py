"""Incoming messages for router tests, parsed the way a slash-command adapter does."""

from __future__ import annotations

from bot.adapter import Incoming, parse_slash


def make_incoming(text: str, *, platform: str = "telegram", chat: str = "100", user: str | None = "7",
                  chat_kind: str = "private", bot_name: str = "digest_bot", chat_title: str | None = None) -> Incoming:
    """`text` typed in a chat: a `/command@addressee` for another bot, or chatter in a
    group, is not addressed to the bot (as the Telegram adapter decides)."""
    slash = parse_slash(text)
    if slash is None:
        return Incoming(platform, chat, user, None, "", addressed_to_me=chat_kind == "private",
                        chat_kind=chat_kind, chat_title=chat_title)
    addressed = slash.addressee is None or slash.addressee.lower() == bot_name.lower()
    return Incoming(platform, chat, user, slash.name, slash.argument, addressed_to_me=addressed,
                    chat_kind=chat_kind, chat_title=chat_title)
