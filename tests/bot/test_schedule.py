"""Due days as a table: when a chat's digest is due, and what window it covers."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.schedule import GRACE, digest_moment, due_digest, latest_moment, on_demand_window

SHANGHAI, BERLIN, UTC = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin"), ZoneInfo("UTC")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("now", "at", "zone", "digested_until", "active_since", "expected"),
    [
        # subscribed at 09:00 Shanghai (01:00 UTC); 08:00 Shanghai is 00:00 UTC
        ("2021-04-20 23:59:00", "08:00", SHANGHAI, None, "2021-04-20 01:00:00", None),  # not 08:00 yet
        ("2021-04-21 00:00:10", "08:00", SHANGHAI, None, "2021-04-20 01:00:00", None),  # within the grace
        ("2021-04-21 00:00:31", "08:00", SHANGHAI, None, "2021-04-20 01:00:00", ("first", "2021-04-21")),
        # a subscription after today's time waits for tomorrow's
        ("2021-04-21 00:10:00", "08:00", SHANGHAI, None, "2021-04-21 00:05:00", None),
        # the previous digest ended today: no second one today, whatever /time says
        ("2021-04-21 12:00:00", "19:00", SHANGHAI, "2021-04-21 00:00:00", "2021-04-01 00:00:00", None),
        ("2021-04-21 11:00:31", "19:00", SHANGHAI, "2021-04-20 00:00:00", "2021-04-01 00:00:00",
         ("since", "2021-04-21")),
        # down for three days: one digest catches up on all of them
        ("2021-04-24 03:00:00", "08:00", SHANGHAI, "2021-04-21 00:00:00", "2021-04-01 00:00:00",
         ("since", "2021-04-24")),
        # Berlin, the night the clocks go forward (2021-03-28): 07:30 CEST is 05:30 UTC
        ("2021-03-28 05:30:29", "07:30", BERLIN, "2021-03-27 06:30:00", "2021-03-01 00:00:00", None),
        ("2021-03-28 05:30:31", "07:30", BERLIN, "2021-03-27 06:30:00", "2021-03-01 00:00:00",
         ("since", "2021-03-28")),
    ],
)
def test_due_digest(now: str, at: str, zone: ZoneInfo, digested_until: str | None, active_since: str,
                    expected: tuple[str, str] | None) -> None:
    due = due_digest(now=utc(now), at=at, zone=zone, digested_until=utc(digested_until) if digested_until else None,
                     active_since=utc(active_since))
    if expected is None:
        assert due is None
        return
    assert due is not None
    kind, day = expected
    assert (due.window.kind, due.digest_date) == (kind, date.fromisoformat(day))
    # the window ends at the digest time that passed, and starts where the last one ended
    assert due.window.end == latest_moment(utc(now) - GRACE, at, zone)
    if digested_until is not None:
        assert due.window.start == utc(digested_until)


def test_consecutive_digests_tile_time_without_gap_or_overlap() -> None:
    until, since = None, utc("2021-03-20 12:00:00")
    windows = []
    now = since
    while now < utc("2021-04-05 00:00:00"):  # across Berlin's DST change, in 10-minute steps
        due = due_digest(now=now, at="07:30", zone=BERLIN, digested_until=until, active_since=since)
        if due is not None:
            windows.append(due.window)
            until = due.window.end
        now += timedelta(minutes=10)
    days = [w.end.astimezone(BERLIN).date() for w in windows]
    assert days == [date(2021, 3, 21) + timedelta(days=i) for i in range(len(days))] and len(days) == 15
    assert all(a.end == b.start for a, b in zip(windows, windows[1:], strict=False))
    assert {w.end.astimezone(BERLIN).strftime("%H:%M") for w in windows} == {"07:30"}


def test_a_time_the_clocks_skip_falls_an_hour_later() -> None:
    assert digest_moment(date(2021, 3, 28), "02:30", BERLIN) == utc("2021-03-28 01:30:00")  # 03:30 CEST


def test_on_demand_window_never_moves_the_place() -> None:
    now = utc("2021-04-21 06:00:00")
    since = on_demand_window(now=now, zone=UTC, digested_until=utc("2021-04-21 00:00:00"), active_since=None)
    assert (since.kind, since.start, since.end) == ("since", utc("2021-04-21 00:00:00"), now)
    first = on_demand_window(now=now, zone=UTC, digested_until=None, active_since=utc("2021-04-20 00:00:00"))
    assert (first.kind, first.end) == ("first", now)
