"""Summariser invariants: budget, verbatim, document order, determinism, fallbacks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.article import Article, Block
from digest.parse import parse_article, read_article
from digest.summarize import Summary, summarize, summarize_text
from digest.text import normalise
from tests.support.builders import SEEDS, build_post
from tests.support import texts

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


# up to 40 sentences: past 10 units centrality takes part in the ranking
@given(st.lists(_SENTENCE, max_size=40), st.integers(min_value=1, max_value=400), st.booleans())
@settings(max_examples=150, deadline=None)
def test_budget_and_verbatim_for_any_text(sentences: list[str], budget: int, heading: bool) -> None:
    blocks = [Block(s, heading=heading and i == 0) for i, s in enumerate(sentences)]
    article = Article(title="标题", blocks=tuple(blocks), published=parse_article("x").published)
    summary = summarize(article, budget)
    assert len(summary.text) <= budget
    body = article.body
    for sentence in summary.sentences:
        assert sentence.text and (sentence.text in body or sentence.text in "标题")


# Issue 8: what an editor of the digests would strike out (fixtures in tests/support/texts.py).

_BUDGETS = (40, 80, 200, 1000)


def _summaries(body: str, title: str = "测试标题") -> list[Summary]:
    article = parse_article(build_post(body, title=title))
    return [summarize(article, budget) for budget in _BUDGETS]


def _shown(summary: Summary) -> list[str]:
    return [*summary.headings, *(s.text for s in summary.sentences)]


def test_giveaway_lines_are_neither_headings_nor_sentences() -> None:
    for summary in _summaries(texts.GIVEAWAY_BODY, title="快递业务量一季度突破三百亿件"):
        assert summary.sentences
        for line in _shown(summary):
            assert not any(word in line for word in ("福利", "送书", "留言", "~~~")), line


def test_a_lead_in_that_announces_a_list_is_never_picked() -> None:
    for summary in _summaries(texts.LEAD_IN_BODY, title="国常会部署优化营商环境九大要点"):
        assert summary.sentences
        assert not any(s.text.rstrip().endswith(("：", ":")) for s in summary.sentences)
        assert "如下" not in summary.text


def test_a_point_and_the_paragraph_that_repeats_it_are_not_both_shown() -> None:
    for summary in _summaries(texts.POINTS_BODY, title="央行提出金融监管三项重点"):
        shown = [normalise(line).lstrip("0123456789") for line in _shown(summary)]
        for i, line in enumerate(shown):
            assert not any(line in other for other in shown[:i] + shown[i + 1 :]), summary


def test_the_heading_over_a_paragraph_that_repeats_it_is_not_shown() -> None:
    summary = summarize(parse_article(build_post(texts.POINTS_BODY)), 1000)
    assert any(s.section == "2. 完善存款保险制度" for s in summary.sentences)
    assert "2. 完善存款保险制度" not in summary.headings


def test_code_never_reaches_sentences_or_headings() -> None:
    for summary in _summaries(texts.CODE_BODY, title="sqlbox 2.1 发布，新增命令行参数"):
        assert summary.sentences
        for line in _shown(summary):
            assert not any(mark in line for mark in texts.CODE_MARKS), line


def test_code_lines_in_plain_text_are_not_candidates() -> None:
    text = "\n".join([*NEWS[:2], "for (int i = 0; i < n; i++) { total += i; }", "// 统计港口吞吐量"])
    summary = summarize_text(text, 1000)
    assert [s.text for s in summary.sentences] == NEWS[:2]


def test_keywords_keep_the_case_the_text_uses() -> None:
    [summary] = _summaries(texts.ACRONYM_BODY, title="3月份CPI同比上涨0.9%")[-1:]
    assert {"CPI", "NFT"} <= set(summary.keywords)
    assert not {"cpi", "nft", "ppi"} & set(summary.keywords)


def test_a_body_that_is_the_title_in_two_sentences_falls_back_to_the_title() -> None:
    body = f"<p>{texts.TITLE_ONLY_TITLE}</p>"
    for summary in _summaries(body, title=texts.TITLE_ONLY_TITLE):
        assert summary.from_title
        assert len(summary.sentences) == 1


def test_clauses_picked_side_by_side_are_one_bullet() -> None:
    article = parse_article(build_post(texts.GIVEAWAY_BODY, title="快递业务量一季度突破三百亿件"))
    summary = summarize(article, 40)
    assert summary.sentences[0].text == "全国快递业务量突破三百亿件，同比增长百分之二十五。"
    for left, right in zip(summary.sentences, summary.sentences[1:], strict=False):
        assert left.text + right.text not in article.body
