"""Every real post of ../shared/corpus parses cleanly (skipped when the corpus is absent)."""

from __future__ import annotations

import re
from pathlib import Path

import frontmatter

from digest.parse import read_article
from digest.summarize import summarize

_LEFTOVERS = re.compile(r"<[a-zA-Z/!][^>]*>|&#\d+;|&[a-z]+;|记者 |每经编辑|图片来源|免责声明|登载此文")


def _front_matter(path: Path) -> dict:
    return dict(frontmatter.loads(path.read_text("utf-8").lstrip()).metadata)


def test_every_real_post_parses_cleanly(corpus_posts: list[Path]) -> None:
    for path in corpus_posts:
        meta = _front_matter(path)
        article = read_article(path)
        assert article.title == meta["title"], path.name
        assert article.source == meta["author"], path.name
        assert article.published.strftime("%d %b %Y %H:%M:%S") in meta["date"], path.name
        assert not article.date_from_file
        for block in article.blocks:
            assert block.text == block.text.strip() and block.text, path.name
            assert not _LEFTOVERS.search(block.text), (path.name, block.text)


def test_every_real_post_gets_a_digest(corpus_posts: list[Path]) -> None:
    for path in corpus_posts:
        article = read_article(path)
        summary = summarize(article, 120)
        assert summary.sentences, path.name
        assert len(summary.text) <= 120
        assert all(s.text.strip() for s in summary.sentences)
        if summary.from_title:
            assert summary.text == article.title
        else:
            assert all(s.text in article.body for s in summary.sentences), path.name


def test_single_sentence_post_is_summarised_from_its_sentence(corpus_posts: list[Path]) -> None:
    path = next(p for p in corpus_posts if p.name.startswith("一文看懂耶伦"))
    summary = summarize(read_article(path), 200)
    assert not summary.from_title
    assert summary.text.startswith("耶伦认为")
