"""Multi-MB hostile inputs, each timed once through what ingest does to it (parse, then
each article's summary and index words): the figures behind the body and feed caps.

Run it against this tree and against an older one (a `git archive` of it) to compare:

    python bench/big_inputs.py                          # the code on PYTHONPATH (default: this tree)
    PYTHONPATH=/tmp/old python bench/big_inputs.py      # the same inputs through older code

It is run as a file, not a module, so that PYTHONPATH decides whose `digest` it times.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

if not any(Path(p, "digest").is_dir() for p in sys.path if p):  # run from the tree without PYTHONPATH
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digest import feeds  # noqa: E402
from digest.errors import DigestError  # noqa: E402
from digest.parse import article_from_bytes  # noqa: E402
from digest.prepared import prepare  # noqa: E402
from digest.text import tokenize  # noqa: E402

SEED = (Path(__file__).resolve().parent.parent / "seeds" / "000_35a71a7641f4db0d.md").read_bytes()


def _post(data: bytes) -> str:
    try:
        article = article_from_bytes(data, "big.md", 0.0)
    except DigestError as exc:
        return f"refused: {exc.args[0][:60]}"
    prepare(article)
    return f"read, body {len(article.body):,} chars"


def _feed(data: bytes) -> str:
    try:
        feed = feeds.parse_feed(data, "http://127.0.0.1/big.xml")
    except DigestError as exc:
        return f"refused: {str(exc)[:60]}"
    for article in feed.articles:
        prepare(article)
    return f"read, {len(feed.articles):,} items"


def _rss(items: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def inputs() -> list[tuple[str, Callable[[bytes], str], bytes]]:
    """The named inputs: posts blown up by a duplicated tail, feeds by items, tags or text."""
    tail = SEED[SEED.index(b"<p>", 400):]
    sentence = "多家银行下调存款利率，理财产品收益率随之走低。"
    return [
        ("post, tail duplicated to 2.6 MB", _post, SEED + tail * 400),
        ("post, tail duplicated to 9 MB", _post, SEED + tail * 1400),
        ("post, 14 MB of Markdown paragraphs", _post, b"---\ntitle: t\n---\n" + (sentence + "\n\n").encode() * 200_000),
        ("post, 9 MB of empty <span>s", _post, b"---\ntitle: t\n---\n" + b"<span></span>" * 700_000),
        ("post, <div> nested 100,000 deep", _post, b"---\ntitle: t\n---\n" + b"<div>" * 100_000 + "正文。".encode()),
        ("feed, one broken-XML item of 49,900 tags", _feed,
         _rss("<item><title>t</title><description>" + "<b>正文</b>" * 24_950 + "</description></item><junk>")),
        ("feed, 900 items of 4,800 characters (13 MB)", _feed,
         _rss("".join(f"<item><title>标题{i}</title><description>{sentence * 200}</description></item>"
                      for i in range(900)))),
        ("feed, one item of 6.6 M characters (19 MB)", _feed,
         _rss(f"<item><title>x</title><description>{sentence * 300_000}</description></item>")),
        ("feed, 12,000 small items", _feed,
         _rss("".join(f"<item><title>标题{i}</title><description>{sentence}</description></item>"
                      for i in range(12_000)))),
    ]


def main() -> int:
    """Time each input once and print the table."""
    tokenize("预热")  # jieba's dictionary, loaded before the clock starts
    print("| input | bytes | outcome | seconds |")
    print("|---|---:|---|---:|")
    for name, run, data in inputs():
        started = time.perf_counter()
        outcome = run(data)
        print(f"| {name} | {len(data):,} | {outcome} | {time.perf_counter() - started:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
