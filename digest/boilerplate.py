"""Lines that are not the article: bylines, credits, disclaimers, promotions, code.

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
# Giveaways and teasers (每经送书, ~~~文末有福利~~~, 留言点赞送书): never the news.
_GIVEAWAY_WORDS = re.compile(
    r"每经送书|(?:送书|赠书)活动|(?:本期|今日|周末)(?:送书|赠书|福利)|文末有?福利|福利(?:来了|时间|大放送)"
    r"|(?:粉丝|读者)福利|中奖名单|(?:留言|点赞).{0,30}(?:读者|粉丝|网友).{0,12}(?:获得|获赠|送出|赠送)"
)
# A short line wrapped in decoration (~~~…~~~, ——…——, ★…★) is page furniture.
_DECORATION = "~～=＝*＊★☆▲▼◆◇●■□♦—-"
_DECORATED = re.compile(rf"^[{_DECORATION}]{{2,}}.{{0,30}}?[{_DECORATION}]{{2,}}$")
_AGGREGATED = re.compile(r"^(?:每日经济新闻|每经)综合")
_BARE_URL = re.compile(r"^(?:https?|ftp)://\S+$")
# Code listings in technical posts (开源中国): a line mostly of code punctuation and ASCII.
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CODE_START = re.compile(
    r"^(?://|/\*|\*/|#!|#include\b|<!--|```|\$ |>>> |</?[A-Za-z][\w.:-]*(?:\s[^>]*)?/?>)"
    r"|^(?:pip3?|npm|yarn|pnpm|mvn|gradle|git|docker|kubectl|curl|wget|sudo|apt(?:-get)?|brew|cargo|go)"
    r" +(?:install|run|get|clone|build|add|push|pull|-)"
)
_CODE_SIGNS = (
    re.compile(r"[;{}]\s*(?://.*)?$"),  # statement or block ends
    re.compile(r"[\w\]>]\("),  # a call: f(, x.y(, list<T>(
    re.compile(r"[\w)\]] *(?:=|==|!=|=>|->|\+=|::|&&|\|\|) *[\w\"'(\[{]"),  # operators between operands
    re.compile(r"^(?:import|from|def|class|public|private|protected|static|return|const|let|var|function|package|if|for|while)\b"),
    re.compile(r"</?[A-Za-z][\w.-]*(?:\s[^>]*)?/?>"),  # markup written out as text
)
# Lead-ins some wires put before the first sentence: not part of the news itself.
_LEAD_IN = re.compile(r"^(?:每经AI快讯|每经快讯)[，,：:\s]*")


def is_boilerplate(text: str) -> bool:
    """True when a clean block is a byline, credit, disclaimer or promotion."""
    if any(rule.match(text) for rule in (_BYLINE, _LABELLED, _AGGREGATED, _BARE_URL)):
        return True
    if len(text) <= 160 and _DISCLAIMER_WORDS.search(text):
        return True
    if len(text) <= 120 and _GIVEAWAY_WORDS.search(text):
        return True
    return len(text) <= 80 and bool(_PROMO_WORDS.search(text) or _DECORATED.match(text))


def is_code(text: str) -> bool:
    """True when a line is a code listing (or a shell command), not prose."""
    if _CODE_START.match(text):
        return True
    if 3 * len(_CJK.findall(text)) > len(text):  # mostly Chinese: prose, even with an `=`
        return False
    return sum(1 for sign in _CODE_SIGNS if sign.search(text)) >= 2


def strip_lead_in(text: str) -> str:
    """Remove a wire's lead-in label (`每经AI快讯，`) from the start of a paragraph."""
    return _LEAD_IN.sub("", text, count=1)
