"""The bot on the console: `digestbot run` / `python -m bot` as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.builders import ROOT, SEEDS, write_post


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "DIGESTBOT_")) and k != "PORT"}
    return env | {"DIGESTBOT_DATA_DIR": str(tmp_path / "data"), "DIGESTBOT_SOURCES": str(SEEDS)}


def test_piped_commands_are_answered_then_the_bot_stops_at_end_of_input(tmp_path: Path) -> None:
    commands = "/help\n/search 人工智能\n/more\n/latest 1\n/subscribe 金融, !广告\n/settings\n/time 7:5\n/time 07:05\n/foo\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], input=commands, capture_output=True, text=True,
        cwd=ROOT, env=_env(tmp_path), timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "/search 关键词" in out  # the help
    assert "人工智能大模型走进城市服务" in out and "【人工智能】" in out
    assert "已是最后一页" in out or "第 2/" in out
    assert "已订阅：每天 08:00（Asia/Shanghai）发送摘要。分类：金融；排除：广告" in out
    assert "订阅：开" in out
    assert "用法：/time HH:MM" in out and "摘要将在每天 07:05（Asia/Shanghai）发送。" in out
    assert "未知命令 /foo" in out
    assert "Traceback" not in result.stderr


def test_python_m_bot_runs_the_bot_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=ROOT, env=_env(tmp_path),
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        assert "digestbot 控制台" in process.stdout.readline()  # started, sources ingested
        process.stdin.write("/latest 1\n")
        process.stdin.flush()
        deadline = time.monotonic() + 30
        seen = ""
        while "1. " not in seen and time.monotonic() < deadline:
            seen += process.stdout.readline()
        assert "1. " in seen
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in (process.stderr.read() if process.stderr else "")


@pytest.mark.parametrize("variable", ["PORT", "DIGESTBOT_HEALTH_PORT"])  # the second: deprecated, still served
def test_healthz_reports_the_store_and_the_adapters(tmp_path: Path, variable: str) -> None:
    import json
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _env(tmp_path) | {variable: str(port)}
    process = subprocess.Popen([sys.executable, "-m", "bot"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert process.stdout is not None
        assert "digestbot 控制台" in process.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            state = json.loads(response.read())
            assert response.status == 200
        assert state["ok"] and state["store"]["ok"] and state["adapters"]["console"]["ok"] and state["scheduler"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read() if process.stderr else ""
    assert ("DIGESTBOT_HEALTH_PORT is deprecated" in stderr) == (variable == "DIGESTBOT_HEALTH_PORT")
    assert "Traceback" not in stderr
    (up,) = [line for line in stderr.splitlines() if line.startswith("digestbot: ")]
    assert f", http 0.0.0.0:{port}, store " in up  # the operator sees where /healthz is


def test_console_paging_latest_and_dates_in_the_chats_language(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    for i in range(6):  # two pages of results in a chat (5 a page)
        write_post(posts, f"p{i}.md", f"<p>第{i}期港口简报：集装箱吞吐量保持增长，编号{i * 7919}。</p>",
                   title=f"港口简报第{i}期", date=f"2021-04-1{i} 08:00:00", extra=f"link: https://news.example.com/{i}")
    write_post(posts, "dated.md", "<p>港口企业表示外贸订单增加。</p>", title="只有日期的港口消息", date="2021-04-20")
    commands = "/more\n/search 港口\n/more\n/more\n/latest 1\n/lang en\n/more\n/search 港口\n"
    env = _env(tmp_path) | {"DIGESTBOT_SOURCES": str(posts)}
    result = subprocess.run([sys.executable, "-m", "bot", "run"], input=commands, capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    replies = result.stdout.split("\n\n")
    assert replies[1] == "请先搜索，例如 /search 人工智能，再发送 /more 翻页。"
    assert "（第 1/2 页）" in replies[2] and replies[2].endswith("发送 /more 查看下一页")
    assert "（第 2/2 页）" in replies[3] and "/more" not in replies[3]
    assert replies[4] == "已是最后一页（共 2 页）。"
    latest = replies[5]  # the date-only post is the newest: its date, no made-up time, no path
    assert latest.splitlines()[:2] == ["1. 只有日期的港口消息", "   测试来源 · 2021-04-20"]
    assert str(posts) not in result.stdout and ".md" not in result.stdout
    assert replies[7] == "That was the last page (2 in all)."
    assert replies[8].endswith("Send /more for the next page")


def test_hostile_lines_get_answers_and_the_lines_after_them_too(tmp_path: Path) -> None:
    # issue 11: bytes that are not UTF-8 ended the console's reading; `/latest ²` and a NUL
    # reached a traceback; a 1 MB /subscribe was stored and echoed
    commands = (b"/search \xff\xfe\xc3 bad bytes\n/latest \xc2\xb2\n/search \x00\xe4\xba\xba\n"
                b"/subscribe " + "比特币".encode() * 350_000 + b"\n/latest 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], input=commands, capture_output=True,
        # strict decoding, as many images set it (Python's own default here is surrogateescape)
        cwd=ROOT, env=_env(tmp_path) | {"PYTHONIOENCODING": "utf-8"}, timeout=120,
    )
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert "用法：/latest [1-20]" in out and "出错了" not in out
    assert "命令内容太长：最多 500 个字。" in out and "比特币比特币" not in out
    assert "1. " in out  # the last line was still read and answered
    assert "Traceback" not in err and "command failed" not in err
