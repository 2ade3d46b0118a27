"""The `digestbot` command, run as a real subprocess and in-process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from digest.cli import main
from tests.support.builders import ROOT, SEEDS, build_post


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120,
    )


def test_summarize_seeds_folder_text() -> None:
    result = run("summarize", "seeds")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "金融何以有_温度_？用科技+生态满足用户导向" in out
    assert "每经网 · 2021-04-20 03:01" in out
    assert "摘要：" in out and "关键词：" in out
    assert "• \n" not in out and "•  " not in out  # never an empty bullet
    assert out.count("摘要：") == len(list(SEEDS.glob("*.md")))


def test_json_format_and_budget() -> None:
    result = run("summarize", "--format", "json", "--max-chars", "60", str(SEEDS / "000_35a71a7641f4db0d.md"))
    assert result.returncode == 0, result.stderr
    [digest] = json.loads(result.stdout)
    assert digest["title"].startswith("金融何以有")
    assert digest["source"] == "每经网"
    assert digest["published"] == "2021-04-19T19:01:48+00:00"
    assert 0 < len(digest["summary"]) <= 60
    assert digest["summary"] == "".join(digest["sentences"])
    assert digest["keywords"]


def test_bad_files_are_reported_and_the_rest_processed(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"  # any extension when named directly
    good.write_text(build_post("<p>港口吞吐量同比增长6.2%。</p>", title="好文章"), "utf-8")
    broken = tmp_path / "broken.md"
    broken.write_text("---\ntitle: '坏\ncategories: [\n---\n正文\n", "utf-8")
    binary = tmp_path / "binary.md"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    result = run("summarize", str(broken), str(good), str(binary), str(tmp_path / "missing.md"))
    assert result.returncode == 1
    assert "好文章" in result.stdout and "港口吞吐量同比增长6.2%。" in result.stdout
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 3
    assert f"{broken}: broken YAML front matter" in errors[0]
    assert f"{binary}: binary file" in errors[1]
    assert f"{tmp_path / 'missing.md'}: no such file or folder" in errors[2]


def test_folders_are_searched_recursively_for_md(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.md").write_text(build_post("<p>深层文章的正文。</p>", title="深层"), "utf-8")
    (tmp_path / "a" / "notes.txt").write_text(build_post("<p>不该读到。</p>", title="文本"), "utf-8")
    result = run("summarize", str(tmp_path))
    assert result.returncode == 0
    assert "深层" in result.stdout and "文本" not in result.stdout


def test_jsonl_batch_from_stdin_in_order() -> None:
    lines = [
        {"id": "a", "text": "一季度港口吞吐量同比增长6.2%。外贸集装箱量增长13.4%。运价仍在低位波动。", "max_chars": 20},
        {"id": 2, "text": "", "title": "只有标题"},
        {"id": "c", "text": "长江航运一季度货运量回升，港口数字调度显成效。\n第二段说明了原因。"},
    ]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n"
    result = run("summarize", "--jsonl", "-", stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", 2, "c"]
    assert 0 < len(out[0]["summary"]) <= 20
    assert out[1]["summary"] == "只有标题"
    assert all(o["summary"] == "".join(o["sentences"]) for o in out)
    assert set(out[2]) == {"id", "summary", "sentences"}


def test_jsonl_bad_lines_are_reported_and_kept_in_place(tmp_path: Path) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        '{"id": 1, "text": "第一条新闻的正文。"}\nnot json\n{"id": 3}\n{"id": 4, "text": "第四条新闻的正文。", "max_chars": 0}\n'
        '{"id": 5, "text": "第五条新闻的正文。"}\n',
        "utf-8",
    )
    result = run("summarize", "--jsonl", str(batch))
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, None, 3, 4, 5]
    assert out[0]["summary"] == "第一条新闻的正文。" and out[4]["summary"] == "第五条新闻的正文。"
    assert [bool(o.get("error")) for o in out] == [False, True, True, True, False]
    # a slow start (jieba's dictionary on a busy machine) adds a progress line: not an error
    errors = [line for line in result.stderr.splitlines() if line.startswith("digestbot: error:")]
    assert len(errors) == 3
    assert errors[0].startswith(f"digestbot: error: {batch}:2: not JSON")
    assert f"{batch}:3: missing \"text\"" in errors[1]
    assert f"{batch}:4: \"max_chars\" must be a positive integer" in errors[2]


def test_jsonl_eval_data_never_seen(tmp_path: Path) -> None:
    """Batch mode on a slice of the evaluation set: every budget honoured."""
    source = ROOT.parent / "shared" / "eval" / "lcsts-dev.jsonl"
    if not source.exists():
        pytest.skip(f"evaluation data not present at {source}")
    rows = [json.loads(line) for line in source.read_text("utf-8").splitlines()[:40]]
    stdin = "".join(
        json.dumps({"id": r["id"], "text": r["text"], "max_chars": len(r["summary"])}, ensure_ascii=False) + "\n"
        for r in rows
    )
    result = run("summarize", "--jsonl", "-", stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [r["id"] for r in rows]
    for row, o in zip(rows, out, strict=True):
        assert 0 < len(o["summary"]) <= len(row["summary"])
        assert all(s in row["text"] for s in o["sentences"])


@pytest.mark.parametrize(
    "argv",
    [["summarize"], ["summarize", "--jsonl", "-", "x.md"]],
)
def test_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("digestbot: error: summarize:")


def test_bad_max_chars_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["summarize", "--max-chars", "0", "seeds"])
    assert caught.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err

