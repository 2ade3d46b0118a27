"""Crash-safety figures (issue 11): `digestbot run` fanning a first digest out to N chats
through the fake Bot API, killed with SIGKILL at K random moments and restarted, then
left to finish (tests/support/crash.py, the scenario tests/scenarios/test_crash.py
asserts). Prints parts lost, parts sent twice, each restart's time to its first send, and
the last run's time to finish.

    python -m bench.crash                    # 1,000 chats, 10 kills
    python -m bench.crash --chats 200 --kills 3
    python -m bench.crash --shared postgresql+psycopg://postgres@127.0.0.1:5432/scratch   # and 2, 3 processes
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from tests.support import crash, fake_telegram


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--shared", default="", help="several processes on one PostgreSQL (this URL): "
                        "2 and 3 processes, the long-polling one killed")
    args = parser.parse_args()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(name, None)
    api = fake_telegram.FakeBotAPI()
    server = fake_telegram.start(api)
    try:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'store.db'}"
            print(f"{args.chats} chats, {args.kills} kills…", file=sys.stderr, flush=True)
            result = crash.run(Path(folder), api, url, chats=args.chats, kills=args.kills, seed=args.seed,
                               progress=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        server.shutdown()
        server.server_close()
    resume = result.resume_seconds
    print(f"\n`digestbot run` killed {result.kills} times during a fan-out to {result.chats:,} chats "
          f"(outbox lease {crash.LEASE_SECONDS} s)\n")
    print("| chats | parts | kills | received | lost | sent twice | chats without | "
          "restart → first send p50 / max (s) | last restart → all sent (s) | total (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {result.chats:,} | {result.parts:,} | {result.kills} | {result.received:,} | {result.lost} | "
          f"{result.duplicates} | {result.chats_without} | {statistics.median(resume):.1f} / {max(resume):.1f} | "
          f"{result.finish_seconds:.1f} | {result.total_seconds:.1f} |")
    failed = result.lost or result.chats_without
    if args.shared:
        failed = shared(args) or failed
    return 1 if failed else 0


def shared(args: argparse.Namespace) -> bool:
    """Two and three processes on one PostgreSQL database; True when one lost a part."""
    import sqlalchemy as sa

    print("\nSeveral `digestbot run` processes on one PostgreSQL database, the long-polling one killed "
          f"after a third of the fan-out to {args.chats:,} chats\n")
    print("| processes | parts | lost | sent twice | long pollers | overlapping long polls | "
          "kill → all sent (s) | kill → a survivor answers (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    failed = False
    for processes in (2, 3):
        engine = sa.create_engine(args.shared)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        api = fake_telegram.FakeBotAPI()
        server = fake_telegram.start(api)
        try:
            with tempfile.TemporaryDirectory() as folder:
                print(f"{processes} processes…", file=sys.stderr, flush=True)
                run = crash.run_shared(Path(folder), api, args.shared, chats=args.chats, processes=processes,
                                       kill_after=args.chats // 3)
        finally:
            server.shutdown()
            server.server_close()
        failed = failed or bool(run.lost or run.chats_without)
        print(f"| {processes} | {run.parts:,} | {run.lost} | {run.duplicates} | {run.pollers} | {run.conflicts} | "
              f"{run.finish_seconds:.1f} | {run.takeover_seconds:.1f} |")
    return failed


if __name__ == "__main__":
    sys.exit(main())
