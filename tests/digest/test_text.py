"""Chinese text: the sentence splitter, tokens and keywords."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.text import keywords, split_clauses, split_sentences, surface_forms, tokenize

_PIECES = st.sampled_from(
    list("金融科技数据市场平安银行增长下跌。！？；，：“”‘’（）《》……. !?;,:\n 0123456789abcABC/%")
    + ["https://a.cn/x?y=1", "Mr. ", "38.8", "U.S. "]
)
_TEXT = st.lists(_PIECES, max_size=80).map("".join)


@given(_TEXT)
@settings(max_examples=300, deadline=None)
def test_sentences_lose_no_character(text: str) -> None:
    sentences = split_sentences(text)
    assert "".join(sentences) == text
    assert all(sentences)


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_sentences_lose_no_character_on_any_unicode(text: str) -> None:
    assert "".join(split_sentences(text)) == text


@given(_TEXT)
@settings(max_examples=200, deadline=None)
def test_clauses_lose_no_character(text: str) -> None:
    assert "".join(split_clauses(text)) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("他说：“今天很好。”然后走了。", ["他说：“今天很好。”", "然后走了。"]),
        ("真的吗？！是的。", ["真的吗？！", "是的。"]),
        ("GDP同比增长38.8%。下一句。", ["GDP同比增长38.8%。", "下一句。"]),
        ("追高买入股民却傻眼了……后来又涨了。", ["追高买入股民却傻眼了……后来又涨了。"]),
        ("追高买入股民却傻眼了......后来又涨了。", ["追高买入股民却傻眼了......后来又涨了。"]),
        ("Mr. Smith met Dr. Lee in the U.S. yesterday. 然后呢？", ["Mr. Smith met Dr. Lee in the U.S. yesterday. ", "然后呢？"]),
        ("详见https://example.org/a?b=1!c.html，很好。", ["详见https://example.org/a?b=1!c.html，很好。"]),
        ("（注：见上文。）下一句。", ["（注：见上文。）", "下一句。"]),
        ("第一段\n第二段", ["第一段\n", "第二段"]),
        ("要素：及时出现；想用户所想。", ["要素：及时出现；想用户所想。"]),
        ("", []),
    ],
)
def test_sentence_examples(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_clauses_keep_numbers_whole() -> None:
    assert split_clauses("收盘报1,769.6点，上涨10:30后回落") == ["收盘报1,769.6点，", "上涨10:30后回落"]


def test_tokens_drop_stop_words_and_punctuation() -> None:
    tokens = tokenize("我们认为，中国电信的A股上市了！")
    assert "中国电信" in tokens and "a股" in tokens
    assert not {"我们", "的", "了", "，", "！", "认为"} & set(tokens)


def test_keywords_skip_numbers_and_prefer_rare_frequent_words() -> None:
    tokens = tokenize("港口吞吐量增长。港口集装箱增长。2024年港口调度平台上线。港口数据显示增长。")
    top = keywords(tokens, 3)
    assert top[0] == "港口"
    assert "2024" not in top and len(top) == 3


def test_keywords_boost_title_words() -> None:
    tokens = tokenize("银行下调利率。保险公司上新产品。")
    assert keywords(tokens, 1) == ["保险公司"]  # the rarest word in jieba's IDF table
    assert keywords(tokens, 1, boost={"利率"}) == ["利率"]


def test_surface_forms_restore_the_case_the_text_uses() -> None:
    text = "3月CPI上涨，cpi一词常见于报道。CPI与PPI走势分化，iPhone销量回升，A股收涨。"
    words = ["cpi", "ppi", "iphone", "a股", "上涨", "nft"]
    assert surface_forms(words, text) == ["CPI", "PPI", "iPhone", "A股", "上涨", "nft"]


def test_surface_forms_match_whole_latin_words() -> None:
    assert surface_forms(["sso"], "kisso 发布。kisso 是 SSO 中间件，kisso 很轻。") == ["SSO"]


def test_share_code_suffixes_are_not_words() -> None:
    tokens = tokenize("蔚蓝锂芯（002245.SZ）、继峰股份（603997.SH）、腾讯控股（0700.HK）")
    assert not {"sz", "sh", "hk"} & set(tokens)
