"""The crash-safety scenario (issue 11): `digestbot run` fanning a digest out to many chats
through the fake Bot API, killed with SIGKILL at random moments and restarted, then left
to finish. What it measures — parts lost, parts sent twice, how long each restart took to
send again — is what tests/scenarios/test_crash.py asserts and bench/crash.py reports.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from bot import chats as chat_store
from digest.compose import DigestFilter
from digest.ingest import Ingestor
from digest.schema import deliveries
from digest.store import Store
from tests.support import fake_telegram
from tests.support.builders import ROOT, write_post
from tests.support.fake_telegram import FakeBotAPI

LEASE_SECONDS = 5  # DIGESTBOT_LEASE_SECONDS of the runs: a killed process's parts and long poll are free after it
TOPICS = ("港口集装箱吞吐量", "商业银行存款利率", "新能源汽车销量", "城市地铁客流", "夏粮收购进度", "跨境电商出口")


@dataclass
class CrashRun:
    """What one scenario saw."""

    chats: int
    parts: int  # outbox parts recorded, all chats together
    kills: int
    received: int = 0  # sendMessage calls the fake answered with a digest part
    lost: int = 0  # parts recorded and never received
    duplicates: int = 0  # parts received more than once (a send in flight at a kill)
    chats_without: int = 0  # chats that received no digest part at all
    resume_seconds: list[float] = field(default_factory=list)  # restart → its first send
    finish_seconds: float = 0.0  # the last restart → every part sent
    total_seconds: float = 0.0


def prepare(store_url: str, folder: Path, chats: int) -> datetime:
    """A store with `chats` Telegram chats subscribed two days ago and a day's news stored an
    hour ago, so that every chat's first digest is due at once; returns when it was made."""
    now = datetime.now(timezone.utc)
    posts = folder / "posts"
    for i, topic in enumerate(TOPICS * 2):
        write_post(posts, f"n{i}.md", f"<p>{topic}本周继续变化，第{i}号报道称相关企业订单增加、市场预期改善。</p>"
                   f"<p>业内人士表示，{topic}的走势仍需观察，第{i}号报道将持续跟踪。</p>",
                   title=f"{topic}观察第{i}期", date=(now - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S"),
                   categories=(("经济", "社会")[i % 2], "测试来源", "x"))
    store = Store.open(store_url)
    try:
        subscribed = now - timedelta(days=2)
        for n in range(chats):
            chat = chat_store.ensure_chat(store, "telegram", str(10_000 + n))
            chat_store.subscribe(store, chat, DigestFilter(), now=subscribed)
        Ingestor(store, workers=1, clock=lambda: now - timedelta(hours=1)).ingest([str(posts)])
    finally:
        store.close()
    return now


def environment(folder: Path, api: FakeBotAPI, store_url: str, made: datetime) -> dict[str, str]:
    """`digestbot run`'s environment: the fake Bot API, the prepared store, a digest time
    five minutes before the store was made (so every chat is due at start)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "DIGESTBOT_"))
           and k != "PORT"}
    empty = folder / "no-sources"
    empty.mkdir(exist_ok=True)
    return env | {"PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": fake_telegram.TOKEN,
                  "TELEGRAM_API_BASE_URL": api.base_url, "DIGESTBOT_DATABASE_URL": store_url,
                  "DIGESTBOT_SOURCES": str(empty), "DIGESTBOT_TIMEZONE": "UTC",
                  "DIGESTBOT_DIGEST_TIME": (made - timedelta(minutes=5)).strftime("%H:%M"),
                  "DIGESTBOT_LEASE_SECONDS": str(LEASE_SECONDS), "PYTHONUNBUFFERED": "1"}


def digest_sends(api: FakeBotAPI) -> list[tuple[str, str]]:
    """(chat, text) of every digest part the fake received, in order."""
    return [(str(c.params.get("chat_id")), str(c.params.get("text"))) for c in api.sent()
            if "每日摘要" in str(c.params.get("text"))]


def run(folder: Path, api: FakeBotAPI, store_url: str, *, chats: int, kills: int, seed: int = 0,
        progress: Callable[[str], None] = lambda line: None) -> CrashRun:
    """The scenario: start, SIGKILL at `kills` random moments of the fan-out (each restart
    killed once it has sent again past its threshold), then one last run to the end."""
    made = prepare(store_url, folder, chats)
    env = environment(folder, api, store_url, made)
    started = time.monotonic()
    rng = random.Random(seed)
    # the kills fall at random among the chats' sends, each after the restart sent again
    thresholds = sorted(rng.sample(range(1, chats), kills))
    result = CrashRun(chats=chats, parts=0, kills=kills)
    for number, threshold in enumerate(thresholds, 1):
        process, began = _start(folder, env, number), time.monotonic()
        before = len(digest_sends(api))
        _until(lambda p=process, n=before: len(digest_sends(api)) > n or p.poll() is not None, 120,
               "a send after a restart")
        result.resume_seconds.append(time.monotonic() - began)
        _until(lambda p=process, n=threshold: len(digest_sends(api)) >= n or p.poll() is not None, 300,
               f"{threshold} sends")
        assert process.poll() is None, f"run {number} ended by itself: {_log(folder, number)}"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        progress(f"  kill {number}/{kills} after {len(digest_sends(api))} sends")
    last, began = _start(folder, env, kills + 1), time.monotonic()
    watched = Store.open(store_url)  # once, not at each of the 20 looks a second
    try:
        _until(lambda: _all_sent(watched) or last.poll() is not None, 300, "every part sent")
        result.finish_seconds = time.monotonic() - began
        time.sleep(2)  # a part sent twice would show within a drain
        last.send_signal(signal.SIGTERM)
        assert last.wait(timeout=30) == 0, _log(folder, kills + 1)
    finally:
        watched.close()
        if last.poll() is None:
            last.kill()
    result.total_seconds = time.monotonic() - started
    return _count(result, api, store_url)


def _count(result: CrashRun, api: FakeBotAPI, store_url: str) -> CrashRun:
    store = Store.open(store_url)
    try:
        with store.connect() as conn:
            rows = conn.execute(sa.select(deliveries.c.payload, deliveries.c.chat_id, deliveries.c.status)).all()
            refs = dict(conn.execute(sa.text("SELECT id, chat_ref FROM chats")).all())
    finally:
        store.close()
    wanted = Counter((refs[row.chat_id], row.payload["text"]) for row in rows)
    got = Counter(digest_sends(api))
    result.parts = sum(wanted.values())
    result.received = sum(got.values())
    result.lost = sum(max(0, n - got[key]) for key, n in wanted.items())
    result.duplicates = sum(n - 1 for n in got.values() if n > 1)
    result.chats_without = len({ref for ref in refs.values()} - {chat for chat, _ in got})
    return result


def _all_sent(store: Store) -> bool:
    with store.connect() as conn:
        statuses = [s for (s,) in conn.execute(sa.select(deliveries.c.status))]
    return bool(statuses) and all(s == "sent" for s in statuses)


def _start(folder: Path, env: dict[str, str], number: int) -> subprocess.Popen[bytes]:
    log = (folder / f"run{number}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=folder, env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT)


def _log(folder: Path, number: int) -> str:
    return (folder / f"run{number}.log").read_text(errors="replace")[-3000:]


def _until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class SharedRun:
    """What several processes on one store did with one fan-out."""

    processes: int
    chats: int
    parts: int = 0
    lost: int = 0
    duplicates: int = 0
    chats_without: int = 0
    conflicts: int = 0  # long polls that overlapped (Telegram: 409)
    pollers: int = 0  # processes whose start line said they long-poll
    finish_seconds: float = 0.0  # the kill → every part sent
    takeover_seconds: float = 0.0  # the kill → a survivor answers a command (it long-polls now)


def run_shared(folder: Path, api: FakeBotAPI, store_url: str, *, chats: int, processes: int,
               kill_after: int) -> SharedRun:
    """`processes` bots on one store with one configuration; the one that long-polls is
    killed with SIGKILL once `kill_after` parts went, and the others finish the fan-out."""
    made = prepare(store_url, folder, chats)
    env = environment(folder, api, store_url, made)
    runs = [_start(folder, env, 100 + n) for n in range(processes)]
    result = SharedRun(processes=processes, chats=chats)
    watched = Store.open(store_url)
    try:
        _until(lambda: all("digestbot: " in _log(folder, 100 + n) or runs[n].poll() is not None
                           for n in range(processes)), 120, "every start line")
        lines = [_log(folder, 100 + n) for n in range(processes)]
        pollers = [n for n, text in enumerate(lines) if ", long polling," in text]
        result.pollers = len(pollers)
        victim = pollers[0] if pollers else 0
        _until(lambda: len(digest_sends(api)) >= kill_after, 300, f"{kill_after} sends")
        runs[victim].send_signal(signal.SIGKILL)
        runs[victim].wait(timeout=30)
        killed = time.monotonic()
        _until(lambda: _all_sent(watched), 300, "every part sent by the others")
        result.finish_seconds = time.monotonic() - killed
        api.push_message(10_000, "/help")  # a survivor took over the long poll and answers
        _until(lambda: any("可用命令" in str(c.params.get("text")) for c in api.sent(10_000)), 120,
               "a survivor answers a command")
        result.takeover_seconds = time.monotonic() - killed
        time.sleep(2)
        for n, process in enumerate(runs):
            if n != victim:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0, _log(folder, 100 + n)
    finally:
        watched.close()
        for process in runs:
            if process.poll() is None:
                process.kill()
    counted = _count(CrashRun(chats=chats, parts=0, kills=1), api, store_url)
    result.parts, result.lost, result.duplicates = counted.parts, counted.lost, counted.duplicates
    result.chats_without, result.conflicts = counted.chats_without, api.conflicts
    return result
