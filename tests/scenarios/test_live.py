"""The real `digestbot run`, as subprocesses, on the real clock for a few minutes.

Injected clocks hide what the real scheduler does (a job added paused never runs, and no
clock-driven test notices). Here two bots run side by side, as an operator starts them:
one on Telegram and Slack at once (the fake Bot API and the fake Slack on 127.0.0.1, Slack
in HTTP mode on the bot's port), one on the console. Telegram: a post
dropped into the source folder is ingested by the poll job and shows in /digest; the chat
then sets its digest time with /time, a few seconds ahead; that digest fails once (a 500)
and is retried and delivered by the drain job; /healthz shows every job run and scheduled; commands are still answered;
SIGTERM stops it with 0. A Slack channel subscribes with a signed `/news subscribe`, sets
the same time, gets the same digest after a failed first post (a 500), and is answered
after it. The console: a day with nothing new passes its digest time (an
empty digest is recorded, nothing sent), it still answers, and the end of input ends it
with 0.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support import fake_slack, fake_telegram
from tests.support.fake_slack import FakeSlack
from tests.support.fake_telegram import FakeBotAPI
from tests.support.builders import ROOT, SEEDS, write_post

WAIT = 240.0  # seconds: the longest any one step may take (a poll is every minute)


class Bot:
    """A `python -m bot run -v` subprocess whose output is collected as it comes."""

    def __init__(self, env: dict[str, str], *, stdin: bool = False) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "-v"], cwd=ROOT, env=env, text=True,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=_collect, args=(stream, into), daemon=True).start()

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stdout(self) -> str:
        return "".join(self.out)

    def stderr(self) -> str:
        return "".join(self.err)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _collect(stream: object, into: list[str]) -> None:
    for line in iter(stream.readline, ""):
        into.append(line)


def until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> object:
    """Wait on the real clock until `condition()` is true; fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout:g} s: {what}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _digest_time(now: datetime, *, at_least: float) -> str:
    """The first whole minute at least `at_least` seconds after `now`, as HH:MM."""
    later = now + timedelta(seconds=at_least)
    return (later + timedelta(seconds=(60 - later.second) % 60, microseconds=-later.microsecond)).strftime("%H:%M")


def _env(tmp_path: Path, name: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "DIGESTBOT_")) and k != "PORT"}
    return env | {"DIGESTBOT_DATA_DIR": str(tmp_path / name), "DIGESTBOT_POLL_MINUTES": "1",
                  "DIGESTBOT_TIMEZONE": "UTC", "PYTHONUNBUFFERED": "1"} | extra



def _health(port: int) -> dict[str, object]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 503: the body says why
        return json.loads(exc.read())


def _slack_command(port: int, slack: FakeSlack, text: str) -> str:
    """`/news <text>` in channel C0LIVE, signed, to the bot's /slack/events; the answer's body as JSON."""
    url = slack.new_response_url("C0LIVE")
    body = fake_slack.slash_command_body(text=text, response_url=url, channel_id="C0LIVE")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=body.encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              **fake_slack.sign(body)})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as response:
        assert response.status == 200
    return json.dumps(slack.wait_responses(url, timeout=WAIT)[0].body, ensure_ascii=False)


def _slack_digests(slack: FakeSlack) -> list[fake_slack.Call]:
    return [c for c in slack.sent("chat.postMessage", "C0LIVE") if "每日摘要" in str(c.params.get("text"))]


@pytest.mark.long_running
def test_the_real_bot_lives_through_minutes_of_its_own_clock(api: FakeBotAPI, slack: FakeSlack,
                                                              tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    now = datetime.now(timezone.utc)
    write_post(posts, "first.md", "<p>港口集装箱吞吐量本月继续增长，航运企业增开航线。</p>", title="港口吞吐量继续增长",
               date=now.strftime("%a, %d %b %Y %H:%M:%S GMT"), categories=("交通", "测试来源", "x"))
    port = _free_port()
    telegram = Bot(_env(tmp_path, "tg", TELEGRAM_BOT_TOKEN=fake_telegram.TOKEN,
                        TELEGRAM_API_BASE_URL=api.base_url, DIGESTBOT_SOURCES=str(posts),
                        DIGESTBOT_DIGEST_TIME=_digest_time(now, at_least=3 * 3600), DIGESTBOT_HTTP_PORT=str(port),
                        SLACK_BOT_TOKEN=fake_slack.BOT_TOKEN, SLACK_SIGNING_SECRET=fake_slack.SIGNING_SECRET,
                        SLACK_API_BASE_URL=slack.base_url, DIGESTBOT_WEBHOOK_LISTEN="127.0.0.1"))
    # after the console subscribed at start: a day with nothing new reaches its digest time
    console = Bot(_env(tmp_path, "console", DIGESTBOT_SOURCES=str(SEEDS),
                       DIGESTBOT_DIGEST_TIME=_digest_time(now, at_least=60)), stdin=True)
    try:
        until(lambda: api.sent(method="getUpdates"), "the Telegram bot polls for updates")
        api.push_message(100, "/subscribe")
        until(lambda: any("已订阅" in c.params["text"] for c in api.sent(100)), "/subscribe confirmed")
        assert "已订阅" in _slack_command(port, slack, "subscribe")

        # a new post dropped into the folder is picked up by the poll job (a minute after
        # start), and shows in /digest before the digest's time
        write_post(posts, "second.md", "<p>多家商业银行下调定期存款利率，幅度在十个基点左右。</p>", title="银行下调存款利率",
                   date=datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT"))
        until(lambda: telegram.stderr().count("poll: 1 new") >= 2, "the poll job ingests the new post")
        api.push_message(100, "/digest")
        until(lambda: "银行下调存款利率" in api.sent(100)[-1].params["text"], "/digest shows the new post")
        preview = api.sent(100)[-1].params["text"]
        assert "港口吞吐量继续增长" in preview and "摘要预览" in preview and "每日摘要" not in preview

        # the digest comes at the time the chat sets now (set only now: a digest that closed
        # before the poll stored the post would rightly leave it to the next one); its first
        # send fails (500) and the drain job retries it
        at = _digest_time(datetime.now(timezone.utc), at_least=5)
        api.push_message(100, f"/time {at}")
        until(lambda: f"摘要将在每天 {at}" in api.sent(100)[-1].params["text"], "/time confirmed")
        api.fail_next(100, 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
        assert f"摘要将在每天 {at}" in _slack_command(port, slack, f"time {at}")
        slack.fail_next("C0LIVE", error="internal_error", status=500, method="chat.postMessage")
        until(lambda: [c for c in api.sent(100) if "每日摘要" in c.params["text"]][1:],
              "the digest delivered after a failed attempt")
        time.sleep(3)  # a second delivery would come within a drain or two
        attempts = [c for c in api.sent(100) if "每日摘要" in c.params["text"]]  # the 500, then the delivery
        assert len(attempts) == 2 and attempts[1].at - attempts[0].at >= 25  # retried by the drain job, later
        assert "港口吞吐量继续增长" in attempts[1].params["text"] and "银行下调存款利率" in attempts[1].params["text"]

        # the Slack channel's digest: the same stories, after its failed first post
        until(lambda: [c for c in _slack_digests(slack) if c.outcome == "ok"],
              "the Slack digest delivered after a failed attempt")
        time.sleep(3)
        posted = _slack_digests(slack)
        assert [c.outcome for c in posted] == ["internal_error", "ok"]
        assert posted[1].at - posted[0].at >= 25
        shown = json.dumps(posted[1].params, ensure_ascii=False)
        assert "港口吞吐量继续增长" in shown and "银行下调存款利率" in shown
        assert "银行下调存款利率" in _slack_command(port, slack, "search 存款利率")
        assert slack.violations == []

        # commands are still answered, and /digest has nothing new (the digest consumed it)
        api.push_message(100, "/digest")
        until(lambda: "以来还没有新文章" in api.sent(100)[-1].params["text"], "/digest answered after the digest")
        api.push_message(100, "/search 存款利率")
        until(lambda: "银行下调存款利率" in api.sent(100)[-1].params["text"], "/search answered")

        state = _health(port)
        jobs = state["jobs"]
        assert state["ok"] is True, state
        assert state["adapters"]["slack"]["ok"] and state["adapters"]["telegram"]["ok"]  # type: ignore[index]
        assert set(jobs) == {"poll", "queue_due", "drain"}  # type: ignore[arg-type]
        for name, job in jobs.items():  # type: ignore[union-attr]
            assert job["ok"] and job["last_run"] and job["next_run"], (name, job)

        # the console, meanwhile, passed its digest time on a day with nothing new
        until(lambda: "nothing new for the digest" in console.stderr(), "the console's empty digest recorded")
        console.type("/settings")
        until(lambda: "订阅：开" in console.stdout(), "the console answers after its empty digest")
        assert console.process.stdin is not None
        console.process.stdin.close()
        assert console.process.wait(timeout=30) == 0

        telegram.process.send_signal(signal.SIGTERM)
        assert telegram.process.wait(timeout=30) == 0
    finally:
        telegram.close()
        console.close()
    for bot in (telegram, console):
        assert "Traceback" not in bot.stderr() and " ERROR " not in bot.stderr(), bot.stderr()
    assert "每日摘要" not in console.stdout()  # nothing new: nothing sent
