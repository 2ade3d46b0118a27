"""Summariser invariants: budget, verbatim, document order, determinism, fallbacks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.article import Article, Block
from digest.parse import parse_article, read_article
from digest.summarize import summarize, summarize_text
from tests.conftest import SEEDS, build_post

NEWS = [
    "一季度，长江干线港口完成货物吞吐量8.9亿吨，同比增长6.2%。",
    "多家港口企业介绍，今年推广的数字调度平台把船舶到港信息放在一张图上。",
    "一家港口集团的调度负责人说，平台每15分钟更新一次预测结果。",
    "从结构看，外贸集装箱量同比增长13.4%，内贸集装箱量增长7.1%。",
    "不过，运价仍在低位波动，部分中小航运企业的利润空间被压缩。",
    "业内人士分析，新能源汽车和光伏产品的出口需求拉动了外贸箱量。",
]


def test_seed_digest_is_within_budget_and_verbatim() -> None:
    article = read_article(SEEDS / "000_35a71a7641f4db0d.md")
    for budget in (30, 80, 150, 300, 1000):
        summary = summarize(article, budget)
        assert 0 < len(summary.text) <= budget
        for sentence in summary.sentences:
            assert sentence.text in article.body
        indexes = [s.index for s in summary.sentences]
        assert indexes == sorted(indexes)


def test_headings_name_the_sections_of_the_chosen_sentences() -> None:
    article = read_article(SEEDS / "000_35a71a7641f4db0d.md")
    summary = summarize(article, 1000)
    assert summary.headings
    assert set(summary.headings) == {s.section for s in summary.sentences if s.section}
    assert set(summary.headings) <= set(article.headings)


def test_deterministic() -> None:
    text = "\n".join(NEWS)
    first = summarize_text(text, 80)
    assert all(summarize_text(text, 80) == first for _ in range(3))


def test_title_pulls_matching_sentence_up() -> None:
    text = "\n".join(NEWS)
    plain = summarize_text(text, 80).text
    titled = summarize_text(text, 80, title="运价低位波动 中小航运企业利润承压").text
    assert "运价" not in plain
    assert "运价仍在低位波动" in titled


def test_no_redundant_pair() -> None:
    text = "\n".join([NEWS[0], NEWS[0].replace("一季度", "今年一季度"), *NEWS[1:]])
    summary = summarize_text(text, 1000)
    assert sum("货物吞吐量8.9亿吨" in s.text for s in summary.sentences) == 1


def test_boilerplate_is_never_selected() -> None:
    text = "\n".join(["免责声明：本文内容与数据仅供参考，不构成投资建议。", *NEWS, "图片来源：摄图网"])
    summary = summarize_text(text, 1000)
    assert not any("免责声明" in s.text or "图片来源" in s.text for s in summary.sentences)


@pytest.mark.parametrize("body", ["", "<p>测试标题</p>", "<div>\n测试标题\n</div>"])
def test_empty_or_title_only_body_falls_back_to_title(body: str) -> None:
    summary = summarize(parse_article(build_post(body)), 200)
    assert summary.from_title
    assert summary.text == "测试标题"
    assert summary.keywords


def test_one_sentence_body() -> None:
    summary = summarize(parse_article(build_post("<p>港口吞吐量同比增长6.2%。</p>")), 200)
    assert not summary.from_title and summary.text == "港口吞吐量同比增长6.2%。"


def test_no_title_and_no_body_gives_empty_summary() -> None:
    article = Article(title="", blocks=(), published=parse_article("x").published)
    assert summarize(article).sentences == ()


def test_tiny_budget_clips_best_sentence() -> None:
    summary = summarize_text("\n".join(NEWS), 10)
    assert len(summary.text) == 10
    assert summary.sentences[0].clipped
    assert any(summary.text in sentence for sentence in NEWS)


_SENTENCE = st.text(alphabet=st.sampled_from(list("金融科技数据市场银行增长下跌港口平安保险“”，")), min_size=1, max_size=40).map(
    lambda s: s + "。"
)


@given(st.lists(_SENTENCE, max_size=12), st.integers(min_value=1, max_value=400), st.booleans())
@settings(max_examples=150, deadline=None)
def test_budget_and_verbatim_for_any_text(sentences: list[str], budget: int, heading: bool) -> None:
    blocks = [Block(s, heading=heading and i == 0) for i, s in enumerate(sentences)]
    article = Article(title="标题", blocks=tuple(blocks), published=parse_article("x").published)
    summary = summarize(article, budget)
    assert len(summary.text) <= budget
    body = article.body
    for sentence in summary.sentences:
        assert sentence.text and (sentence.text in body or sentence.text in "标题")
