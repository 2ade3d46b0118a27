"""Chats and subscriptions as the store keeps them (both databases)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot import chats as chat_store
from digest.compose import DigestFilter
from digest.schema import subscriptions
from digest.store import Store

T0 = datetime(2021, 4, 20, 1, 0, tzinfo=timezone.utc)


def test_a_chat_is_created_once_and_its_title_kept_current(store: Store) -> None:
    first = chat_store.ensure_chat(store, "telegram", "-5", kind="group", title="老标题")
    again = chat_store.ensure_chat(store, "telegram", "-5", kind="supergroup", title="新标题")
    untitled = chat_store.ensure_chat(store, "telegram", "-5")  # a send path knows no title
    assert first.id == again.id == untitled.id
    assert (untitled.title, untitled.kind) == ("新标题", "supergroup")
    assert chat_store.ensure_chat(store, "slack", "-5").id != first.id  # the same id on another platform


def test_a_new_filter_keeps_the_place_but_a_resubscription_starts_afresh(store: Store) -> None:
    chat = chat_store.ensure_chat(store, "telegram", "100")
    chat_store.subscribe(store, chat, DigestFilter(), now=T0)
    with store.begin() as conn:  # as a recorded digest leaves it
        conn.execute(subscriptions.update().values(digested_until=T0 + timedelta(days=1)))
    changed = chat_store.subscribe(store, chat, DigestFilter(keywords=("银行",)), now=T0 + timedelta(days=2))
    assert changed.filter.keywords == ("银行",)
    assert (changed.active_since, changed.digested_until) == (T0, T0 + timedelta(days=1))
    assert chat_store.unsubscribe(store, chat) and not chat_store.unsubscribe(store, chat)
    back = chat_store.subscribe(store, chat, DigestFilter(), now=T0 + timedelta(days=5))
    assert (back.active, back.active_since, back.digested_until) == (True, T0 + timedelta(days=5), None)


def test_standing_subscriptions_respect_what_a_chat_chose(store: Store) -> None:
    chats = chat_store.standing_subscriptions(store, "telegram", ["-100", "-200"], now=T0)
    assert [c.kind for c in chats] == ["channel", "channel"]
    chat_store.subscribe(store, chats[0], DigestFilter(categories=("科技",)), now=T0)
    chat_store.unsubscribe(store, chats[1])
    chat_store.standing_subscriptions(store, "telegram", ["-100", "-200"], now=T0 + timedelta(days=1))  # a restart
    first, second = (chat_store.subscription(store, c) for c in chats)
    assert first is not None and first.filter.categories == ("科技",)
    assert second is not None and not second.active  # it turned the digest off: it stays off
    assert [c.chat_ref for c, _ in chat_store.subscribed_chats(store)] == ["-100"]


def test_a_deactivated_chat_gets_no_digest(store: Store) -> None:
    chat = chat_store.ensure_chat(store, "telegram", "100")
    chat_store.subscribe(store, chat, DigestFilter(), now=T0)
    chat_store.update_chat(store, chat, active=False)  # it blocked the bot
    assert chat_store.subscribed_chats(store) == []
