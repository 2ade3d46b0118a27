"""Named leases in the store, on both databases: one holder at a time, renewed by it,
taken by another once it has run out, given up at stop, and never held by two."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from digest import leases
from digest.store import Store

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
TTL = timedelta(seconds=45)


def test_one_holder_at_a_time_until_it_runs_out(store: Store) -> None:
    a, b = leases.holder_id(), leases.holder_id()
    assert a != b
    assert leases.acquire(store, "telegram:polling", a, now=T0, ttl=TTL)
    assert not leases.acquire(store, "telegram:polling", b, now=T0 + timedelta(seconds=10), ttl=TTL)
    assert leases.acquire(store, "telegram:polling", a, now=T0 + timedelta(seconds=30), ttl=TTL)  # renewed
    assert not leases.acquire(store, "telegram:polling", b, now=T0 + timedelta(seconds=60), ttl=TTL)  # still a's
    assert leases.holder_of(store, "telegram:polling", now=T0 + timedelta(seconds=60)) == a
    # a stopped renewing (it died): b takes it once it has run out, and a has lost it
    assert leases.acquire(store, "telegram:polling", b, now=T0 + timedelta(seconds=76), ttl=TTL)
    assert not leases.acquire(store, "telegram:polling", a, now=T0 + timedelta(seconds=77), ttl=TTL)
    assert leases.acquire(store, "source:x", a, now=T0 + timedelta(seconds=77), ttl=TTL)  # another name: its own


def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(store: Store) -> None:
    a, b = leases.holder_id(), leases.holder_id()
    assert leases.acquire(store, "n", a, now=T0, ttl=TTL)
    leases.release(store, "n", b)  # not b's to give up
    assert leases.holder_of(store, "n", now=T0) == a
    leases.release(store, "n", a)
    assert leases.holder_of(store, "n", now=T0) is None
    assert leases.acquire(store, "n", b, now=T0, ttl=TTL)


def _race(store: Store, name: str, holders: list[str]) -> list[str]:
    """The holders that got lease `name`, all asking at the same moment."""
    won: list[str] = []
    barrier = threading.Barrier(len(holders))

    def ask(holder: str) -> None:
        barrier.wait()
        if leases.acquire(store, name, holder, now=T0, ttl=TTL):
            won.append(holder)

    threads = [threading.Thread(target=ask, args=(h,)) for h in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won


def test_holders_asking_at_once_get_it_once(store: Store) -> None:
    for round_ in range(20):
        won = _race(store, f"race:{round_}", [leases.holder_id() for _ in range(4)])
        assert len(won) == 1 and leases.holder_of(store, f"race:{round_}", now=T0) == won[0]
