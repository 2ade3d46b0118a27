"""The article card as text (`render_text`)."""

from __future__ import annotations

from digest.parse import parse_article
from digest.plaintext import ArticleCard, render_text
from digest.summarize import summarize
from tests.support.builders import build_post
from tests.support import texts


def _render(body: str, title: str) -> str:
    article = parse_article(build_post(body, title=title))
    return render_text(ArticleCard(article, summarize(article, 200)))


def test_a_title_only_body_prints_the_title_once_and_no_bullet() -> None:
    title = texts.TITLE_ONLY_TITLE
    for body in ("", f"<p>{title}</p>", f"<div>\n{title}\n</div>"):
        out = _render(body, title)
        assert out.count("快递业务量猛增") == 1, out
        assert "•" not in out
        assert "摘要：（正文只有标题）" in out


def test_a_digest_has_a_bullet_per_sentence_and_keywords() -> None:
    out = _render(texts.ACRONYM_BODY, "3月份CPI同比上涨0.9%")
    bullets = [line for line in out.splitlines() if line.startswith("• ")]
    assert bullets and all(len(line) > 2 for line in bullets)
    assert "关键词：CPI" in out
