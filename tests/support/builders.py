"""Builders of test input: posts in the seed's Hexo format, RSS documents, the store the
chat tests share, and where the repository, its seeds and the shared corpus are."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from digest.ingest import Ingestor
from digest.store import Store

ROOT = Path(__file__).resolve().parent.parent.parent
SHARED = ROOT.parent / "shared"
CORPUS_POSTS = SHARED / "corpus" / "posts"
EVAL_DIR = SHARED / "eval"
SEEDS = ROOT / "seeds"


def build_post(
    body: str,
    *,
    title: str = "测试标题",
    date: str | None = "Mon, 19 Apr 2021 19:01:48 GMT",
    author: str = "测试来源",
    categories: tuple[str, ...] = ("金融", "测试来源", "分类"),
    extra: str = "",
    leading_blank_line: bool = True,
) -> str:
    """A post in the seed's Hexo format around `body`."""
    lines = ["---", f"title: '{title}'", "categories: "]
    lines += [f" - {c}" for c in categories]
    lines += [f"author: {author}", "comments: false"]
    if date is not None:
        lines.append(f"date: {date}")
    if extra:
        lines.append(extra)
    lines.append("---")
    head = "\n" if leading_blank_line else ""
    return head + "\n".join(lines) + "\n\n" + body + "\n"


def write_post(folder: Path, name: str, body: str, **kwargs: object) -> Path:
    """Write a Hexo post built by `build_post` into `folder`."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_post(body, **kwargs), encoding="utf-8")  # type: ignore[arg-type]
    return path


def rss(items: list[dict[str, str]], title: str = "测试新闻网") -> bytes:
    """An RSS 2.0 document with `items` (keys: title, link, description, pubDate, category)."""
    parts = [f"<item>{''.join(f'<{k}>{v}</{k}>' for k, v in item.items())}</item>" for item in items]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://127.0.0.1/</link><description>测试</description>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode("utf-8")


def chat_news(store: Store, folder: Path, stored: datetime) -> Store:
    """`store` with what the chat tests search and digest, ingested at `stored`: seven port
    bulletins (their titles hold markup characters), an AI story and a bank story with a
    link whose query has `&`."""
    from .texts import AI_BODY, BANK_BODY

    for i in range(7):
        write_post(folder, f"p{i}.md", f"<p>第{i}期港口航运简报：集装箱吞吐量保持增长，编号{i * 7919}。</p>",
                   title=f"港口简报第{i}期 <b>&</b>", date=f"2021-04-1{i} 08:00:00")
    write_post(folder, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅", date="2021-04-20 08:30:00",
               categories=("科技", "数字城市报", "x"), author="数字城市报")
    write_post(folder, "bank.md", BANK_BODY, title="多家银行下调存款利率", date="2021-04-20 07:00:00",
               extra="link: https://news.example.com/bank?a=1&b=2")
    Ingestor(store, workers=1, clock=lambda: stored).ingest([str(folder)])
    return store
