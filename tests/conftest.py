"""Shared builders and fixtures for the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.fixture
def corpus_posts() -> list[Path]:
    """The real posts of ../shared/corpus, or a skip when they are absent."""
    if not CORPUS_POSTS.is_dir():
        pytest.skip(f"real posts not present at {CORPUS_POSTS}")
    posts = sorted(CORPUS_POSTS.glob("*.md"))
    if not posts:
        pytest.skip(f"no posts in {CORPUS_POSTS}")
    return posts
