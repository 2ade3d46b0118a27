"""Search paging state in the store (both databases): bound to its chat, expiring, pruned,
and seen by every process that opens the same database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from digest import paging, schema
from digest.errors import DigestError
from digest.store import Store

NOW = datetime(2021, 4, 20, 12, 0, tzinfo=timezone.utc)


def _chat(store: Store, ref: str) -> int:
    with store.begin() as conn:
        return conn.execute(
            schema.chats.insert().values(platform="telegram", chat_ref=ref, language="zh", active=True,
                                         created_at=NOW).returning(schema.chats.c.id)
        ).scalar_one()


def _rows(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.search_pages)).scalar_one()


def test_a_search_is_recalled_by_its_token_in_its_own_chat_only(store: Store) -> None:
    mine, other = _chat(store, "100"), _chat(store, "200")
    token = paging.remember_search(store, mine, "存款利率 来源：每经网", now=NOW)
    assert 1 <= len(token.encode()) <= 16  # a button's callback_data holds 64 bytes
    assert paging.recall_search(store, mine, token, now=NOW + timedelta(hours=1)) == "存款利率 来源：每经网"
    assert paging.recall_search(store, other, token, now=NOW) is None
    assert paging.recall_search(store, mine, "nosuchtoken", now=NOW) is None
    assert paging.remember_search(store, mine, "存款利率", now=NOW) != token  # each search its own token


def test_a_search_expires_and_expired_ones_are_pruned_on_the_next_insert(store: Store) -> None:
    chat = _chat(store, "100")
    old = paging.remember_search(store, chat, "港口", now=NOW)
    later = NOW + paging.KEPT
    assert paging.recall_search(store, chat, old, now=later - timedelta(seconds=1)) == "港口"
    assert paging.recall_search(store, chat, old, now=later) is None
    assert _rows(store) == 1  # reading prunes nothing
    fresh = paging.remember_search(store, chat, "银行", now=later)
    assert _rows(store) == 1 and paging.recall_search(store, chat, fresh, now=later) == "银行"


def test_another_process_on_the_same_database_recalls_the_search(store: Store, store_url: str) -> None:
    chat = _chat(store, "100")
    token = paging.remember_search(store, chat, "人工智能", now=NOW)
    second = Store.open(store_url)
    try:
        assert paging.recall_search(second, chat, token, now=NOW) == "人工智能"
    finally:
        second.close()


def test_a_chat_that_goes_takes_its_searches_with_it(store: Store) -> None:
    chat = _chat(store, "100")
    paging.remember_search(store, chat, "人工智能", now=NOW)
    with store.begin() as conn:
        conn.execute(schema.chats.delete().where(schema.chats.c.id == chat))
    assert _rows(store) == 0


def test_a_token_already_taken_is_drawn_again(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = _chat(store, "100")
    draws = iter(["sametoken", "sametoken", "othertoken"])
    monkeypatch.setattr(paging.secrets, "token_urlsafe", lambda _n: next(draws, "sametoken"))
    assert paging.remember_search(store, chat, "港口", now=NOW) == "sametoken"
    assert paging.remember_search(store, chat, "银行", now=NOW) == "othertoken"
    assert paging.recall_search(store, chat, "sametoken", now=NOW) == "港口"  # the first kept its token
    with pytest.raises(DigestError, match="no free search token"):
        paging.remember_search(store, chat, "利率", now=NOW)


def test_a_flood_of_long_searches_keeps_a_bounded_store(store: Store) -> None:
    # issue 11: 2,000 remembered searches of unbounded size held 629 MB
    from digest.query import MAX_QUERY_CHARS

    mine, other = _chat(store, "100"), _chat(store, "200")
    theirs = paging.remember_search(store, other, "存款利率", now=NOW)
    tokens = [paging.remember_search(store, mine, f"{i} " + "长" * 100_000, now=NOW + timedelta(seconds=i))
              for i in range(paging.KEPT_PER_CHAT + 10)]
    later = NOW + timedelta(minutes=5)
    assert _rows(store) == paging.KEPT_PER_CHAT + 1  # the flooding chat's newest, and the other chat's
    newest = paging.recall_search(store, mine, tokens[-1], now=later)
    assert newest is not None and newest.startswith(f"{len(tokens) - 1} 长") and len(newest) == MAX_QUERY_CHARS
    assert paging.recall_search(store, mine, tokens[0], now=later) is None  # the oldest forgotten
    assert paging.recall_search(store, other, theirs, now=later) == "存款利率"  # another chat's untouched
