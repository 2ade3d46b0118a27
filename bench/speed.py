"""Speed benchmark: articles/s for parse + summarise, against the peers and against jieba
segmentation alone, medians of several runs in one process; and the CLI's cold start.

    bash bench/setup.sh && bench/.venv/bin/python -m bench.speed [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import jieba

from bench.peers import available
from digest.parse import read_article
from digest.summarize import summarize
from digest.text import clear_word_cache

ROOT = Path(__file__).resolve().parent.parent
POSTS = ROOT.parent / "shared" / "corpus" / "posts"
BUDGET = 200


def _median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _long_articles(paths: list[Path], folder: Path) -> list[Path]:
    """Long articles (~20k characters) written to `folder`: the real posts joined."""
    bodies = [read_article(p).body for p in paths]
    joined = "\n".join(b for b in bodies if b)
    out = []
    for n in range(5):
        path = folder / f"long-{n}.md"
        text = "\n".join(f"<p>{line}</p>" for line in (joined.splitlines()[n:] + joined.splitlines()[:n]))
        path.write_text(f"---\ntitle: 长文{n}\nauthor: 基准\ndate: 2021-04-19 10:00:00\n---\n<div>{text}</div>\n", "utf-8")
        out.append(path)
    return out


def _fresh_summary(path: Path) -> object:
    # Every article is segmented afresh, as a new one would be: the long articles repeat
    # the real posts, and jieba's cached cuts would otherwise make them look cheap.
    clear_word_cache()
    return summarize(read_article(path), BUDGET)


def measure(label: str, paths: list[Path], runs: int) -> None:
    articles = [read_article(p) for p in paths]
    texts = [a.body for a in articles]
    chars = sum(len(t) for t in texts)
    rows: dict[str, float] = {}
    rows["jieba.lcut alone"] = _median_seconds(lambda: [jieba.lcut(t) for t in texts], runs)
    rows["parse only (digestbot)"] = _median_seconds(lambda: [read_article(p) for p in paths], runs)
    rows["digestbot parse + summarise"] = _median_seconds(lambda: [_fresh_summary(p) for p in paths], runs)
    for name, ranker in available().items():
        if name in ("digestbot", "Lead-N"):
            continue
        rows[f"parse + {name}"] = _median_seconds(
            lambda r=ranker: [r(read_article(p).body, None, BUDGET) for p in paths], runs
        )
        print(f"bench: {label}: {name} done", file=sys.stderr)
    ours = rows["digestbot parse + summarise"]
    jieba_time = rows["jieba.lcut alone"]
    print(f"\n{label}: {len(paths)} articles, {chars:,} characters of body, median of {runs} runs\n")
    print("| system | ms/article | articles/s | × digestbot time | × jieba time |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds in rows.items():
        per = seconds / len(paths)
        print(f"| {name} | {per * 1000:.2f} | {1 / per:.1f} | {seconds / ours:.2f} | {seconds / jieba_time:.2f} |")


def cold_start(runs: int) -> None:
    seed = ROOT / "seeds" / "000_35a71a7641f4db0d.md"
    commands = {
        "digestbot summarize seed": [sys.executable, "-m", "digest", "summarize", str(seed)],
        "digestbot --help": [sys.executable, "-m", "digest", "--help"],
        "python -c 'import jieba; jieba.initialize()'": [sys.executable, "-c", "import jieba; jieba.initialize()"],
    }
    print(f"\nCold start: wall time of a fresh process, median of {runs} runs\n")
    print("| command | seconds |")
    print("|---|---:|")
    for name, command in commands.items():
        seconds = _median_seconds(lambda c=command: subprocess.run(c, capture_output=True, check=True), runs)
        print(f"| `{name}` | {seconds:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not POSTS.is_dir():
        print(f"bench: real posts not present at {POSTS}; nothing to measure", file=sys.stderr)
        return 1
    jieba.initialize()
    summarize(read_article(ROOT / "seeds" / "000_35a71a7641f4db0d.md"))  # load the IDF table once
    paths = sorted(POSTS.glob("*.md"))
    measure("Real posts (../shared/corpus/posts)", paths, args.runs)
    with tempfile.TemporaryDirectory(prefix="digestbot-bench-") as folder:
        long_paths = _long_articles(paths, Path(folder))
        measure("Long articles (real posts joined, ~20k characters each)", long_paths, args.runs)
    cold_start(args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
