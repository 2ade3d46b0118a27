"""`digestbot run` with a feed that never finishes: the bot starts without waiting for its
first poll for ever, and SIGTERM during that poll stops it at once (issue 11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.builders import ROOT, rss
from tests.support.feeds import FeedServer, Route

# a feed of some 20 KB at a byte every 0.1 s: hours, though every read is quick
_ENDLESS = rss([{"title": f"第{i}条", "link": f"http://127.0.0.1/n/{i}", "description": "正文。" * 40}
                for i in range(40)])
# `digestbot run` itself, with the start's wait for the first poll made one second
_DRIVER = ("import functools, sys; import bot.app, bot.cli; "
           "bot.app.run = functools.partial(bot.app.run, first_poll_wait=1.0); sys.exit(bot.cli.main(['run']))")
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def _env(tmp_path: Path, sources: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "SLACK_", "DIGESTBOT_")) and k != "PORT" and k not in _PROXIES}
    return env | {"PYTHONPATH": str(ROOT), "DIGESTBOT_DATA_DIR": str(tmp_path / "data"), "DIGESTBOT_SOURCES": sources}


@pytest.fixture
def endless(feed_server: FeedServer) -> Iterator[str]:
    feed_server.routes["/endless"] = Route(_ENDLESS, drip=0.1)
    yield feed_server.url("/endless")


def _start(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], Path, Path]:
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen([sys.executable, *args], stdin=subprocess.PIPE, stdout=stdout, stderr=stderr,
                                   text=True, cwd=tmp_path, env=env)
    return process, out, err


def _until(condition: object, process: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60  # generous: only a wait, never a measure
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, f"the bot exited ({process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} within 60 s"
        time.sleep(0.05)


def test_the_bot_answers_while_a_slow_first_poll_goes_on(tmp_path: Path, feed_server: FeedServer,
                                                          endless: str) -> None:
    process, out, err = _start(tmp_path, _env(tmp_path, endless), "-c", _DRIVER)
    try:
        _until(lambda: "digestbot: console" in err.read_text(), process, "start line")
        assert process.stdin is not None
        process.stdin.write("/help\n")
        process.stdin.flush()
        _until(lambda: "/search 关键词" in out.read_text(), process, "answer to /help")
        assert [path for path, _ in feed_server.requests] == ["/endless"]  # one GET, still being read
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "the first poll is taking over 1 s: the bot starts now, and the poll goes on" in err.read_text()
    assert "Traceback" not in err.read_text()


def test_sigterm_during_the_first_poll_stops_the_bot(tmp_path: Path, feed_server: FeedServer, endless: str) -> None:
    # the real `digestbot run`: its wait for the first poll (15 s) has not passed at the signal
    process, out, err = _start(tmp_path, _env(tmp_path, endless), "-m", "bot", "run")
    try:
        _until(lambda: feed_server.requests, process, "GET of the feed")
        assert "digestbot: console" not in err.read_text()  # still in its first poll
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in err.read_text() and "digestbot: console" not in err.read_text()


def test_a_fast_first_poll_is_seen_by_the_first_command(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "bank.md").write_text(
        "---\ntitle: 多家银行下调存款利率\ndate: 2021-04-20 07:00:00\nsource: 测试来源\n---\n"
        "<p>多家银行宣布下调存款利率，理财产品收益随之走低。</p>\n", "utf-8")
    process, out, err = _start(tmp_path, _env(tmp_path, str(posts)), "-m", "bot", "run")
    try:
        assert process.stdin is not None
        process.stdin.write("/search 银行\n")  # written before the bot is even up
        process.stdin.flush()
        _until(lambda: "多家银行下调存款利率" in out.read_text(), process, "search hit")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in err.read_text()
