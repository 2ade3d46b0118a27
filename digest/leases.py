"""Named leases in the store: work that only one of several processes sharing a database
may do at a time — long-polling Telegram (two pollers get 409 Conflict), polling a source.

A lease is held until a moment and renewed by its holder before then; a holder that died
stops renewing, and another takes the lease when it has run out. Taking and renewing are
one statement each, so two processes asking at once cannot both get it.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

import sqlalchemy as sa

from .schema import leases
from .store import Store, insert


def holder_id() -> str:
    """This process, as a lease names its holder: host, pid and a random part (a restarted
    process with the same pid is another holder)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def acquire(store: Store, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take or renew lease `name` for `holder` until `now + ttl`; False when another holder's
    lease has not run out."""
    t = leases.c
    with store.begin() as conn:
        statement = insert(conn, leases).values(name=name, holder=holder, until=now + ttl)
        taken = conn.execute(
            statement.on_conflict_do_update(
                index_elements=["name"], set_={"holder": holder, "until": now + ttl},
                where=sa.or_(t.holder == holder, t.until <= now),
            ).returning(t.holder)
        ).scalar()
    return taken == holder


def release(store: Store, name: str, holder: str) -> None:
    """Give lease `name` up, if `holder` has it (a stopping process: another may take it at once)."""
    with store.begin() as conn:
        conn.execute(leases.delete().where(leases.c.name == name, leases.c.holder == holder))


def holder_of(store: Store, name: str, *, now: datetime) -> str | None:
    """Who holds lease `name` now; None when nobody does."""
    t = leases.c
    with store.connect() as conn:
        return conn.execute(sa.select(t.holder).where(t.name == name, t.until > now)).scalar()
