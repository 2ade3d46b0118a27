"""Quality benchmark: character ROUGE-1/2/L F1 on ../shared/eval/*.jsonl, every system
under DESIGN.md's budget protocol (the reference's length), side by side in one run.

    bash bench/setup.sh && bench/.venv/bin/python -m bench.quality [--limit N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from bench.peers import available
from bench.rouge import budgeted, scores
from digest.summarize import summarize_text

EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"
SETS = ("lcsts-dev", "cfb-dev")
CLI_ROW = "digestbot (batch output)"


def read_set(name: str, limit: int | None = None) -> list[dict]:
    """The pairs of one evaluation set (the first `limit` of them)."""
    rows = [json.loads(line) for line in (EVAL / f"{name}.jsonl").read_text("utf-8").splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def evaluate(rows: list[dict], name: str, ranker) -> tuple[float, float, float]:
    """Mean (R-1, R-2, R-L) F1 of one system over one set."""
    results = []
    for row in rows:
        budget = len(row["summary"])
        if ranker is None:  # what `digestbot summarize --jsonl` itself prints
            candidate = summarize_text(row["text"], budget, row.get("title")).text
        else:
            candidate = budgeted(ranker(row["text"], row.get("title"), budget), row["text"], budget)
        results.append(scores(candidate, row["summary"]))
    return tuple(100 * statistics.fmean(r[i] for r in results) for i in range(3))  # type: ignore[return-value]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N pairs of each set")
    args = parser.parse_args()
    if not EVAL.is_dir():
        print(f"bench: evaluation data not present at {EVAL}; nothing to measure", file=sys.stderr)
        return 1
    systems = available()
    print("| set | system | R-1 | R-2 | R-L | R-L vs Lead-N |")
    print("|---|---|---:|---:|---:|---:|")
    for name in SETS:
        rows = read_set(name, args.limit)
        table: dict[str, tuple[float, float, float]] = {}
        for system, ranker in [*systems.items(), (CLI_ROW, None)]:
            started = time.perf_counter()
            table[system] = evaluate(rows, system, ranker)
            print(f"bench: {name} {system}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        lead = table.get("Lead-N", (0, 0, 0))[2] or 1.0
        for system, (r1, r2, rl) in table.items():
            print(f"| {name} ({len(rows)}) | {system} | {r1:.2f} | {r2:.2f} | {rl:.2f} | {rl / lead:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
