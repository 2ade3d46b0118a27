"""Cases tried per hostile input (issue 11, items 4 and 6): the fuzz tests' own strategies
and properties (tests/support/hostile.py), run for N generated cases per target, counted.

For each target: cases tried, how many the library read, how many it refused with its own
error (ArticleError, FeedError, QueryError; for a command: a text reply from the catalogue,
usage and help included, or silence when not addressed; "read" is results or a setting
taken), how many broke
the property (any other exception, or a failed check: must be 0), the slowest case, and the
peak memory one case allocated (tracemalloc, which also slows every case: the times are
upper bounds).

    python -m bench.fuzz                 # 2,000 cases per target
    python -m bench.fuzz --cases 500 --targets parse feed
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.router import MAX_ARGUMENT
from digest.ingest import Ingestor
from digest.store import Store
from tests.support import hostile
from tests.support.builders import SEEDS


@dataclass
class Tally:
    """What one target's cases gave."""

    target: str
    tried: int = 0
    read: int = 0
    refused: int = 0
    broken: int = 0
    slowest_ms: float = 0.0
    peak_bytes: int = 0
    over_cap: int | None = None  # commands only: cases whose argument the 500-character cap refused
    first_broken: list[str] = field(default_factory=list)


def run_target(name: str, strategy: st.SearchStrategy[Any], case: Callable[[Any], str], cases: int,
               over_cap: Callable[[Any], bool] | None = None) -> Tally:
    """`cases` generated inputs through `case`, counted (and those `over_cap` says never
    reached the command's own parsing); progress on stderr."""
    tally = Tally(name, over_cap=0 if over_cap else None)
    step = max(cases // 10, 1)

    @settings(max_examples=cases, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def one(value: Any) -> None:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        try:
            outcome = case(value)
        except Exception as exc:  # noqa: BLE001 - counted: the property is broken
            tally.broken += 1
            if len(tally.first_broken) < 3:
                tally.first_broken.append(f"{exc!r}"[:300] + f" on {value!r}"[:300])
        else:
            tally.read += outcome == hostile.READ
            tally.refused += outcome == hostile.REFUSED
        tally.slowest_ms = max(tally.slowest_ms, (time.perf_counter() - started) * 1000)
        tally.peak_bytes = max(tally.peak_bytes, tracemalloc.get_traced_memory()[1] - base)
        tally.tried += 1
        if over_cap is not None and tally.over_cap is not None:
            tally.over_cap += over_cap(value)
        if tally.tried % step == 0:
            print(f"  {name}: {tally.tried:,}/{cases:,}", file=sys.stderr, flush=True)

    one()
    return tally


def _command_store(folder: Path) -> Store:
    store = Store.open(f"sqlite:///{folder / 'fuzz.db'}")
    Ingestor(store, workers=1).ingest([str(SEEDS)])
    return store


def main(argv: list[str] | None = None) -> int:
    """Run the targets and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="cases per target (default 2,000)")
    targets = ["parse", "feed", "query", *(f"command:{p}" for p in hostile.PLATFORMS)]
    parser.add_argument("--targets", nargs="*", default=targets, choices=targets)
    args = parser.parse_args(argv)
    tracemalloc.start()
    tallies: list[Tally] = []
    with tempfile.TemporaryDirectory() as folder:
        store = _command_store(Path(folder))
        world = hostile.CommandWorld(store)
        for target in args.targets:
            if target == "parse":
                tallies.append(run_target(target, hostile.post_bytes, hostile.parse_case, args.cases))
            elif target == "feed":
                tallies.append(run_target(target, st.tuples(hostile.feed_bytes, hostile.content_types),
                                          lambda pair: hostile.feed_case(*pair), args.cases))
            elif target == "query":
                tallies.append(run_target(target, hostile.query_text, hostile.query_case, args.cases))
            else:
                platform = target.split(":", 1)[1]
                tallies.append(run_target(
                    target, hostile.command_lines(), lambda text, p=platform: hostile.command_case(world, p, text),
                    args.cases, lambda text, p=platform: hostile.argument_length(
                        p, text, world.router.commands) > MAX_ARGUMENT))
        store.close()
    print("| target | cases tried | read | refused (own error) | of which over the argument cap | other exceptions | "
          "slowest case (ms) | peak memory per case (MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for t in tallies:
        capped = "—" if t.over_cap is None else f"{t.over_cap:,}"
        print(f"| {t.target} | {t.tried:,} | {t.read:,} | {t.refused:,} | {capped} | {t.broken} | "
              f"{t.slowest_ms:,.0f} | {t.peak_bytes / 2**20:.1f} |")
    for t in tallies:
        for line in t.first_broken:
            print(f"{t.target}: {line}", file=sys.stderr)
    return 1 if any(t.broken for t in tallies) else 0


if __name__ == "__main__":
    raise SystemExit(main())
