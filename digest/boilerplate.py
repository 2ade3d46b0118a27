"""Lines that are not the article: bylines, credits, disclaimers, promotions.

Each rule matches a whole clean block (a paragraph or a heading). They are written
against the real generators' output (每经网, 199IT, 金色财经, DT 财经, 开源中国) and
kept narrow: a real sentence that merely starts with 记者 or 来源 must survive.
"""

from __future__ import annotations

import re

_NAME = r"[\u4e00-\u9fff·•\s、|｜丨:：/A-Za-z]"
_BYLINE = re.compile(
    r"^[（(【\[]?\s*(?:每经|本报|本刊|新华社|央视)?(?:实习|特约)?"
    r"(?:记者|编辑|责编|责任编辑|校对|审核|审校|撰文|作者|摄影|统筹|视觉|策划|编译)"
    rf"{_NAME}{{0,40}}[）)】\]]?$"
)
_LABELLED = re.compile(
    r"^[（(]?\s*(?:封面)?(?:图片|图|题图|配图)(?:来源|来自|源|据)[:：|｜]"
    r"|^[（(]?\s*(?:来源|本文来源|文章来源|资料来源|稿件来源|原标题|原文链接|原文标题|转载自|本文转自)[:：|｜]"
    r"|^[（(]?\s*(?:免责声明|特别提醒|风险提示|特别声明|版权声明)[:：]"
    r"|^(?:版权所有|©|Copyright\b)"
)
_DISCLAIMER_WORDS = re.compile(r"登载此文|不构成投资建议|风险自担|未经.{0,12}授权.{0,12}(?:转载|使用)")
_PROMO_WORDS = re.compile(
    r"请点击|点击查看|点击下方|扫码|扫描二维码|长按识别|长按二维码|点击关注|欢迎关注|关注我们"
    r"|下载.{0,6}(?:App|APP|客户端)|阅读原文|↓↓|点击“?阅读"
)
_AGGREGATED = re.compile(r"^(?:每日经济新闻|每经)综合")
_BARE_URL = re.compile(r"^(?:https?|ftp)://\S+$")
# Lead-ins some wires put before the first sentence: not part of the news itself.
_LEAD_IN = re.compile(r"^(?:每经AI快讯|每经快讯)[，,：:\s]*")


def is_boilerplate(text: str) -> bool:
    """True when a clean block is a byline, credit, disclaimer or promotion."""
    if any(rule.match(text) for rule in (_BYLINE, _LABELLED, _AGGREGATED, _BARE_URL)):
        return True
    if len(text) <= 160 and _DISCLAIMER_WORDS.search(text):
        return True
    return len(text) <= 80 and bool(_PROMO_WORDS.search(text))


def strip_lead_in(text: str) -> str:
    """Remove a wire's lead-in label (`每经AI快讯，`) from the start of a paragraph."""
    return _LEAD_IN.sub("", text, count=1)
