"""Search paging state in the store: a search a chat ran, kept under a short token for a
week, so its page buttons work on any process and after a restart.

The token is all a button carries; it is bound to the chat that searched, so another
chat's button (or a forged one) finds nothing, as an expired one does.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from .errors import DigestError
from .query import MAX_QUERY_CHARS
from .schema import search_pages
from .store import Store, insert

KEPT = timedelta(days=7)  # a week-old button still pages; an older one asks for a new search
_TOKEN_BYTES = 6  # 8 URL-safe characters: 48 random bits, a collision is retried anyway
_TRIES = 5  # collisions this many times in a row mean the tokens are not random
KEPT_PER_CHAT = 50  # a chat's newest searches keep their buttons; a flood of them cannot fill the store


def remember_search(store: Store, chat_id: int, query: str, *, now: datetime) -> str:
    """Keep what chat `chat_id` searched for (its first MAX_QUERY_CHARS characters: all a
    search reads); returns the token its page buttons carry. The chat's oldest searches
    beyond KEPT_PER_CHAT are forgotten."""
    query = query[:MAX_QUERY_CHARS]
    p = search_pages.c
    with store.begin() as conn:
        # expired rows go on each insert: one indexed range delete, no sweeper job
        conn.execute(search_pages.delete().where(p.expires_at <= now))
        newest = (sa.select(p.token).where(p.chat_id == chat_id)
                  .order_by(p.created_at.desc(), p.token).limit(KEPT_PER_CHAT - 1))
        conn.execute(search_pages.delete().where(p.chat_id == chat_id, p.token.not_in(newest)))
        for _ in range(_TRIES):
            token = secrets.token_urlsafe(_TOKEN_BYTES)
            # RETURNING says whether the row went in (psycopg reports no rowcount for DO NOTHING)
            added = conn.execute(
                insert(conn, search_pages)
                .values(token=token, chat_id=chat_id, query=query, created_at=now, expires_at=now + KEPT)
                .on_conflict_do_nothing(index_elements=["token"])
                .returning(search_pages.c.token)
            ).scalar()
            if added is not None:
                return token
    raise DigestError(f"no free search token after {_TRIES} tries: is the random source broken?")


def recall_search(store: Store, chat_id: int, token: str, *, now: datetime) -> str | None:
    """What chat `chat_id` searched for under `token`; None when expired, unknown or
    another chat's."""
    p = search_pages.c
    with store.connect() as conn:
        return conn.execute(
            sa.select(p.query).where(p.token == token, p.chat_id == chat_id, p.expires_at > now)
        ).scalar()
