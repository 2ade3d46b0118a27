"""`digestbot ingest / search / digest / sources` as real subprocesses over one store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.builders import CORPUS_POSTS, ROOT, SEEDS, write_post
from tests.support.feeds import FeedServer, Route
from tests.support.texts import AI_BODY, BANK_BODY


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120, env={**os.environ, **env},
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A data folder of its own; the sources default (seeds/) is kept."""
    return {"DIGESTBOT_DATA_DIR": str(tmp_path / "data"), "DIGESTBOT_DATABASE_URL": "", "DIGESTBOT_SOURCES": ""}


def test_ingest_defaults_to_the_seeds_then_search_and_digest(env: dict[str, str], tmp_path: Path) -> None:
    first = run("ingest", env=env)
    assert first.returncode == 0, first.stderr
    seeds = len(list(SEEDS.glob("*.md")))
    assert first.stdout.strip() == f"ingest: {seeds} new, 0 updated, 0 duplicate, 0 failed, 0 unchanged"
    assert (tmp_path / "data" / "digestbot.db").is_file()

    again = run("ingest", env=env)
    assert again.stdout.strip().endswith(f"0 failed, {seeds} unchanged")

    found = run("search", "人工智能", env=env)
    assert found.returncode == 0, found.stderr
    assert "人工智能大模型走进城市服务" in found.stdout and "【人工智能】" in found.stdout

    as_json = json.loads(run("search", "金融", "--format", "json", "--limit", "1", env=env).stdout)
    assert as_json["hits"][0]["title"].startswith("金融何以有") and as_json["page"] == 1

    digest = run("digest", "--date", "2021-04-20", env=env)
    assert digest.returncode == 0, digest.stderr
    assert "金融何以有_温度_？用科技+生态满足用户导向" in digest.stdout and "【金融】" in digest.stdout

    sources = run("sources", env=env)
    assert f"posts {SEEDS}" in sources.stdout and f"ok; {seeds} articles" in sources.stdout


def test_ingest_reports_failures_with_their_place_and_exits_1(
    env: dict[str, str], tmp_path: Path, feed_server: FeedServer
) -> None:
    posts = tmp_path / "posts"
    write_post(posts, "good.md", AI_BODY, title="人工智能助手进驻政务大厅")
    (posts / "bad.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    feed_server.routes["/page"] = Route(b"<html><body>hi</body></html>", content_type="text/html")
    result = run("ingest", str(posts), feed_server.url("/page"), env=env)
    assert result.returncode == 1
    assert result.stdout.strip() == "ingest: 1 new, 0 updated, 0 duplicate, 2 failed, 0 unchanged"
    assert f"digestbot: error: {posts / 'bad.md'}: broken YAML" in result.stderr
    assert f"digestbot: error: {feed_server.url('/page')}: not an RSS or Atom feed: got an HTML page" in result.stderr

    sources = run("sources", env=env).stdout
    assert "failing (1 in a row)" in sources and "got an HTML page" in sources
    assert f"unreadable: {posts / 'bad.md'}: broken YAML" in sources
    listed = json.loads(run("sources", "--format", "json", env=env).stdout)
    assert [s["kind"] for s in listed] == ["posts", "feed"] and listed[1]["failures"] == 1


def test_search_and_digest_usage_errors(env: dict[str, str]) -> None:
    bad_filter = run("search", "since:later", "银行", env=env)
    assert bad_filter.returncode == 1 and "since:2021-04-01" in bad_filter.stderr
    bad_zone = run("digest", "--tz", "Mars/Base", env=env)
    assert bad_zone.returncode == 2 and "unknown time zone" in bad_zone.stderr
    bad_date = run("digest", "--date", "2021-13-01", env=env)
    assert bad_date.returncode == 2 and "not a date" in bad_date.stderr


def test_digest_filters_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    write_post(tmp_path, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅", categories=("科技", "x", "y"),
               date="2021-04-20 10:00:00")
    write_post(tmp_path, "bank.md", BANK_BODY, title="多家银行下调存款利率", date="2021-04-20 11:00:00")
    assert run("ingest", str(tmp_path), env=env).returncode == 0
    only_tech = json.loads(run("digest", "--date", "2021-04-20", "--category", "科技", "--format", "json", env=env).stdout)
    assert [i["title"] for s in only_tech["sections"] for i in s["items"]] == ["人工智能助手进驻政务大厅"]
    no_banks = run("digest", "--date", "2021-04-20", "--exclude", "银行", env=env).stdout
    assert "人工智能助手" in no_banks and "存款利率" not in no_banks


def test_the_real_posts_ingest_and_answer(env: dict[str, str]) -> None:
    if not CORPUS_POSTS.is_dir():
        pytest.skip(f"real posts not present at {CORPUS_POSTS}")
    result = run("ingest", "seeds", str(CORPUS_POSTS), env=env)
    assert result.returncode == 0, result.stderr
    assert " 1 duplicate, 0 failed" in result.stdout  # the seed is one of the real posts
    hits = json.loads(run("search", "金融", "--format", "json", env=env).stdout)["hits"]
    assert hits[0]["title"].startswith("金融何以有") and all("金融" in h["snippet"] for h in hits)
    stocks = run("search", "source:每经网", "美股", env=env).stdout
    assert "10月5日美股三大指数集体收跌" in stocks
    digest = run("digest", "--date", "2021-10-05", "--tz", "UTC", env=env).stdout
    assert "10月5日美股三大指数集体收跌" in digest


def test_digest_since_is_what_was_stored_since_whatever_its_date(env: dict[str, str], tmp_path: Path) -> None:
    write_post(tmp_path / "old", "ai.md", AI_BODY, title="人工智能助手进驻政务大厅", date="2021-04-20 10:00:00")
    assert run("ingest", str(tmp_path / "old"), env=env).returncode == 0
    stored = run("digest", "--since", "1h", "--format", "json", env=env)
    assert stored.returncode == 0, stored.stderr
    # published years ago, but stored a moment ago: it is in; a day from 2021 is not "since 1h"
    assert [i["title"] for s in json.loads(stored.stdout)["sections"] for i in s["items"]] == ["人工智能助手进驻政务大厅"]
    assert json.loads(stored.stdout)["window"] == "since"
    future = run("digest", "--since", "2099-01-01", env=env)
    assert future.returncode == 0 and "没有新文章" in future.stdout
    bad = run("digest", "--since", "soon", env=env)
    assert bad.returncode == 2 and "--since soon: write a date (2021-04-01)" in bad.stderr
    both = run("digest", "--since", "1h", "--date", "2021-04-20", env=env)
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_search_text_shows_links_never_paths_and_json_keeps_the_path(env: dict[str, str], tmp_path: Path) -> None:
    post = write_post(tmp_path / "posts", "bank.md", BANK_BODY, title="多家银行下调存款利率")
    assert run("ingest", str(tmp_path / "posts"), env=env).returncode == 0
    text = run("search", "存款利率", env=env)
    assert "多家银行下调存款利率" in text.stdout and "测试来源" in text.stdout
    assert str(tmp_path) not in text.stdout and "bank.md" not in text.stdout
    (hit,) = json.loads(run("search", "存款利率", "--format", "json", env=env).stdout)["hits"]
    assert hit["path"] == str(post)


def test_sources_tells_one_off_ingests_from_configured_ones_and_removes_them(
    env: dict[str, str], tmp_path: Path
) -> None:
    once = tmp_path / "once"
    write_post(once, "bank.md", BANK_BODY, title="多家银行下调存款利率")
    assert run("ingest", env=env).returncode == 0  # the configured default, seeds/
    assert run("ingest", str(once), env=env).returncode == 0  # a one-off
    listed = run("sources", env=env).stdout
    seeds_entry, once_entry = listed.split(f"{once}")
    assert f"{SEEDS}" in seeds_entry and "configured;" in seeds_entry
    assert "one-off (not in DIGESTBOT_SOURCES: not polled)" in once_entry
    as_json = {s["location"]: s["configured"] for s in json.loads(run("sources", "--format", "json", env=env).stdout)}
    assert as_json == {str(SEEDS): True, str(once): False}

    removed = run("sources", "--remove", str(once), env=env)
    assert removed.returncode == 0, removed.stderr
    assert f"removed source {once}; its articles stay" in removed.stdout and not removed.stderr
    assert str(once) not in run("sources", env=env).stdout
    assert "多家银行下调存款利率" in run("search", "存款利率", env=env).stdout  # its article stays

    missing = run("sources", "--remove", str(once), env=env)
    assert missing.returncode == 1 and f"no source at {once}" in missing.stderr
    configured = run("sources", "--remove", "seeds/", env=env)
    assert configured.returncode == 0 and "still in DIGESTBOT_SOURCES" in configured.stderr
