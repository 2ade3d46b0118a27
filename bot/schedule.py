"""When a chat's scheduled digest is due, and which window it covers.

A chat gets at most one scheduled digest per local date, at its digest time in its zone.
The digest ends at the latest digest time that has passed and begins where the previous
one ended, so nothing falls between two digests and nothing is in two. A change of
`/time` or `/tz` moves the next digest, never adds one on a date that had its digest:
the next is due on a later local date than the previous one ended on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from digest.compose import Window

# A digest is composed this long after its time: an article stamped just before the
# window's end must have committed by then (each is stored in its own short transaction).
GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class DueDigest:
    """A scheduled digest to compose now."""

    window: Window
    digest_date: date


def digest_moment(day: date, at: str, zone: ZoneInfo) -> datetime:
    """`at` (HH:MM) on `day` in `zone`, in UTC. A time the clocks skip (DST) falls an
    hour later; one they repeat is its first occurrence."""
    hour, minute = (int(x) for x in at.split(":"))
    local = datetime.combine(day, time(hour, minute), tzinfo=zone)
    return local.astimezone(timezone.utc)


def latest_moment(now: datetime, at: str, zone: ZoneInfo) -> datetime:
    """The latest digest time at or before `now`: today's, or else yesterday's."""
    today = now.astimezone(zone).date()
    moment = digest_moment(today, at, zone)
    return moment if moment <= now else digest_moment(today - timedelta(days=1), at, zone)


def due_digest(
    *, now: datetime, at: str, zone: ZoneInfo, digested_until: datetime | None, active_since: datetime
) -> DueDigest | None:
    """The chat's digest if one is due at `now`, else None.

    `digested_until` is where its previous digest ended (None: it had none since it
    subscribed at `active_since`). After a pause (the bot down for days) one digest
    catches up on everything since the previous one.
    """
    end = latest_moment(now - GRACE, at, zone)
    if digested_until is None:
        if end <= active_since:
            return None  # the first digest time after subscribing has not come yet
        return DueDigest(Window.first(end, zone, stored_since=active_since), end.astimezone(zone).date())
    if end.astimezone(zone).date() <= digested_until.astimezone(zone).date():
        return None
    return DueDigest(Window.since(digested_until, end, zone), end.astimezone(zone).date())


def on_demand_window(*, now: datetime, zone: ZoneInfo, digested_until: datetime | None,
                     active_since: datetime | None) -> Window:
    """What `/digest` shows now: what arrived since the chat's last digest (or, before its
    first, the day before), without consuming it."""
    if digested_until is not None:
        return Window.since(digested_until, now, zone)
    return Window.first(now, zone, stored_since=active_since)
