"""Commands counted per chat and per user, in the store: one chat's flood gets one "slow
down" and then silence until its window passes, and every process counts the same."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum

import sqlalchemy as sa

from digest.schema import rate_limits
from digest.store import Store, insert

WINDOW = timedelta(minutes=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Verdict(Enum):
    """What to do with a command: answer it, say "slow down" once, or say nothing."""

    ALLOWED = "allowed"
    FIRST_OVER = "first_over"  # the first command over the limit in this window
    OVER = "over"


@dataclass(frozen=True)
class RateLimit:
    """At most `most` commands per key in each window; `most` 0 turns the limit off."""

    most: int = 20
    window: timedelta = WINDOW


def window_start(now: datetime, window: timedelta = WINDOW) -> datetime:
    """The start of the fixed window `now` falls in (windows counted from the epoch)."""
    return _EPOCH + ((now - _EPOCH) // window) * window


def hit(store: Store, keys: Iterable[str], *, now: datetime, limit: RateLimit) -> Verdict:
    """Count one command against each key (`chat:…`, `user:…`); the worst verdict of them."""
    keys = list(dict.fromkeys(keys))
    if limit.most <= 0 or not keys:
        return Verdict.ALLOWED
    start = window_start(now, limit.window)
    t = rate_limits.c
    with store.begin() as conn:
        # a passed window's rows go on each hit: one indexed range delete, no sweeper job
        conn.execute(rate_limits.delete().where(t.window_start < start))
        counts = []
        for key in keys:
            statement = insert(conn, rate_limits).values(key=key, window_start=start, hits=1)
            # one statement, so two processes counting the same key at once both count
            counts.append(conn.execute(
                statement.on_conflict_do_update(index_elements=["key"], set_={
                    "hits": sa.case((t.window_start == statement.excluded.window_start, t.hits + 1), else_=1),
                    "window_start": statement.excluded.window_start,
                }).returning(t.hits)
            ).scalar_one())
    worst = max(counts)
    if worst <= limit.most:
        return Verdict.ALLOWED
    return Verdict.FIRST_OVER if worst == limit.most + 1 else Verdict.OVER
