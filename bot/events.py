"""Platform events seen before, kept in the store: Slack sends an event again when its
first delivery was not answered within 3 seconds, possibly to another process, so whether
an event was already handled is the database's to say, not a process's memory."""

from __future__ import annotations

from datetime import datetime, timedelta

from digest.schema import seen_events
from digest.store import Store, insert

KEPT = timedelta(days=1)  # Slack retries within minutes; a day is ample


def first_sight(store: Store, platform: str, event_id: str, *, now: datetime) -> bool:
    """Record event `event_id` of `platform`; False when it was recorded already (a retry)."""
    with store.begin() as conn:
        # old rows go on each insert: one indexed range delete, no sweeper job
        conn.execute(seen_events.delete().where(seen_events.c.seen_at <= now - KEPT))
        added = conn.execute(
            insert(conn, seen_events).values(platform=platform, event_id=event_id[:64], seen_at=now)
            .on_conflict_do_nothing(index_elements=["platform", "event_id"])
            .returning(seen_events.c.event_id)
        ).scalar()
    return added is not None
