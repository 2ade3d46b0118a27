"""A clock a test moves by hand: what the router, the runtime and ingest are given
instead of the real one when a test simulates days."""

from __future__ import annotations

from datetime import datetime, timedelta


class ManualClock:
    """Call it for the time; `advance` or `set` it. It never moves by itself."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        """Jump to `now` (backwards too: a test may replay a day)."""
        self.now = now

    def advance(self, **delta: float) -> datetime:
        """Move on by `timedelta(**delta)`; returns the new time."""
        self.now += timedelta(**delta)
        return self.now
