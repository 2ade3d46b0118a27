"""Chats and their subscriptions, as the store keeps them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from digest.compose import DigestFilter
from digest.schema import chats as chats_table
from digest.schema import subscriptions
from digest.store import Store, insert


MAX_TITLE = 256  # characters of a chat's title kept; Telegram's own limit is 128
# control characters neither a reply nor the store should get (PostgreSQL refuses NUL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = str.maketrans("\t\n\r", "   ")


def clean_text(text: str, control: str = "") -> str:
    """What a chat sent, as the store and a reply can take it: control characters but
    tabs and line breaks replaced by `control`, a lone surrogate (which no encoder takes)
    by U+FFFD."""
    text = _CONTROL.sub(control, text)
    # pairs of surrogates become the character they spell; a lone one, the replacement character
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def clean_title(title: str | None) -> str | None:
    """A chat's title as the store keeps it: one line, no control characters (each a
    space), a lone surrogate as U+FFFD, at most MAX_TITLE characters; None when nothing is left."""
    if title is None:
        return None
    return clean_text(title.translate(_LINE_BREAKS), " ").strip()[:MAX_TITLE] or None


@dataclass(frozen=True)
class Chat:
    """A chat the bot talks to: a private chat, a group, a channel or the console."""

    id: int
    platform: str
    chat_ref: str  # the platform's id of the chat
    kind: str = "private"
    title: str | None = None
    language: str = "zh"
    timezone: str | None = None  # None: the deployment's default
    digest_time: str | None = None  # None: the deployment's default
    active: bool = True

    @classmethod
    def from_row(cls, row: Any) -> Chat:
        """Build from a row of the `chats` table."""
        m = row._mapping
        return cls(
            id=m["id"], platform=m["platform"], chat_ref=m["chat_ref"], kind=m["kind"] or "private",
            title=m["title"], language=m["language"], timezone=m["timezone"], digest_time=m["digest_time"],
            active=bool(m["active"]),
        )


@dataclass(frozen=True)
class Subscription:
    """A chat's daily digest: whether it is on, what it filters, and where it stands."""

    chat_id: int
    filter: DigestFilter = DigestFilter()
    active: bool = True
    active_since: datetime | None = None  # when it was last turned on
    digested_until: datetime | None = None  # where the last scheduled digest ended; None: none yet


def ensure_chat(store: Store, platform: str, chat_ref: str, *, kind: str = "private", title: str | None = None) -> Chat:
    """The chat, created on first contact; its title (cleaned: see `clean_title`) and kind kept current."""
    now = datetime.now(timezone.utc)
    title = clean_title(title)
    with store.begin() as conn:
        statement = insert(conn, chats_table).values(
            platform=platform, chat_ref=chat_ref, kind=kind, title=title, language="zh", active=True, created_at=now
        )
        conn.execute(statement.on_conflict_do_nothing(index_elements=["platform", "chat_ref"]))
        if title is not None:
            conn.execute(
                chats_table.update()
                .where(chats_table.c.platform == platform, chats_table.c.chat_ref == chat_ref)
                .values(title=title, kind=kind)
            )
        row = conn.execute(sa.select(chats_table).where(chats_table.c.platform == platform, chats_table.c.chat_ref == chat_ref)).one()
    return Chat.from_row(row)


def get_chat(store: Store, chat_id: int) -> Chat | None:
    """A chat by id."""
    with store.connect() as conn:
        row = conn.execute(sa.select(chats_table).where(chats_table.c.id == chat_id)).first()
    return Chat.from_row(row) if row else None


def update_chat(store: Store, chat: Chat, **changes: Any) -> Chat:
    """Change a chat's settings (language, timezone, digest_time, active, chat_ref)."""
    with store.begin() as conn:
        conn.execute(chats_table.update().where(chats_table.c.id == chat.id).values(**changes))
    return replace(chat, **changes)


def subscribe(store: Store, chat: Chat, wanted: DigestFilter, *, now: datetime | None = None) -> Subscription:
    """Turn the chat's daily digest on, with `wanted` as its filter. A digest that was on
    keeps its place (a new filter applies from the next digest); one turned on again
    starts afresh, like a first subscription (what it already had is never sent again)."""
    now = now or datetime.now(timezone.utc)
    values: dict[str, Any] = {
        "categories": list(wanted.categories),
        "sources": list(wanted.sources),
        "keywords": list(wanted.keywords),
        "excluded": list(wanted.excluded),
        "active": True,
    }
    was_on = subscriptions.c.active.is_(True)
    with store.begin() as conn:
        statement = insert(conn, subscriptions).values(chat_id=chat.id, created_at=now, active_since=now, **values)
        conn.execute(statement.on_conflict_do_update(index_elements=["chat_id"], set_={
            **values,
            "active_since": sa.case((was_on, subscriptions.c.active_since), else_=now),
            "digested_until": sa.case((was_on, subscriptions.c.digested_until), else_=None),
        }))
        row = conn.execute(sa.select(subscriptions).where(subscriptions.c.chat_id == chat.id)).one()
    return _subscription(row)


def standing_subscriptions(store: Store, platform: str, chat_refs: Iterable[str], *, kind: str = "channel",
                           now: datetime | None = None) -> list[Chat]:
    """Subscribe the chats a deployment lists (TELEGRAM_CHANNELS, the console…) to every
    article, once: a chat that ever subscribed keeps what it chose, even off."""
    standing = []
    for chat_ref in chat_refs:
        chat = ensure_chat(store, platform, chat_ref, kind=kind)
        if subscription(store, chat) is None:
            subscribe(store, chat, DigestFilter(), now=now)
        standing.append(chat)
    return standing


def unsubscribe(store: Store, chat: Chat) -> bool:
    """Turn the chat's daily digest off; False when it was not on."""
    with store.begin() as conn:
        result = conn.execute(
            subscriptions.update()
            .where(subscriptions.c.chat_id == chat.id, subscriptions.c.active.is_(True))
            .values(active=False)
        )
    return result.rowcount > 0


def subscription(store: Store, chat: Chat) -> Subscription | None:
    """The chat's subscription, on or off; None when it never subscribed."""
    with store.connect() as conn:
        row = conn.execute(sa.select(subscriptions).where(subscriptions.c.chat_id == chat.id)).first()
    return _subscription(row) if row else None


def subscribed_chats(store: Store) -> list[tuple[Chat, Subscription]]:
    """Every active chat with an active subscription."""
    query = (
        sa.select(chats_table, subscriptions.c.categories, subscriptions.c.sources, subscriptions.c.keywords,
                  subscriptions.c.excluded, subscriptions.c.active.label("sub_active"), subscriptions.c.chat_id,
                  subscriptions.c.active_since, subscriptions.c.digested_until)
        .join(subscriptions, subscriptions.c.chat_id == chats_table.c.id)
        .where(chats_table.c.active.is_(True), subscriptions.c.active.is_(True))
        .order_by(chats_table.c.id)
    )
    with store.connect() as conn:
        return [(Chat.from_row(row), _subscription(row)) for row in conn.execute(query)]


def _subscription(row: Any) -> Subscription:
    m = row._mapping
    wanted = DigestFilter(tuple(m["categories"]), tuple(m["sources"]), tuple(m["keywords"]), tuple(m["excluded"]))
    active = m["sub_active"] if "sub_active" in m else m["active"]
    return Subscription(m["chat_id"], wanted, bool(active), m["active_since"], m["digested_until"])


def zone_of(chat: Chat, default: str) -> ZoneInfo:
    """The chat's time zone; the default when it has none or tzdata no longer knows it
    (the caller can tell: the key then differs from `chat.timezone`)."""
    if chat.timezone:
        try:
            return ZoneInfo(chat.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(default)


def deactivate_platform(store: Store, platform: str) -> int:
    """Deactivate every chat of `platform` (the app was uninstalled); returns how many were on."""
    with store.begin() as conn:
        result = conn.execute(chats_table.update().where(chats_table.c.platform == platform,
                                                         chats_table.c.active.is_(True)).values(active=False))
    return result.rowcount
