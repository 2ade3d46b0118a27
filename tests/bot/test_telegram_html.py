"""Telegram HTML messages: never over 4096 UTF-16 units or 100 entities, tags balanced,
every character of the digest kept, dynamic text escaped."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram_html import MAX_ENTITIES, MAX_UNITS, digest_messages, pack, tag_piece, text_piece, units
from digest.compose import DailyDigest, DigestItem, DigestSection

_TAG = re.compile(r"<(/?)(b|i|a)(?: href=\"[^\"]*\")?>")
SHANGHAI = ZoneInfo("Asia/Shanghai")
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=600)


def _visible(message: str) -> str:
    return html.unescape(_TAG.sub("", message))


def _check(message: str) -> None:
    assert 0 < units(_visible(message)) <= MAX_UNITS
    stack, entities = [], 0
    for closing, tag in _TAG.findall(message):
        if closing:
            assert stack and stack.pop() == tag
        else:
            stack.append(tag)
            entities += 1
    assert not stack and entities <= MAX_ENTITIES


def _digest(items: list[DigestItem]) -> DailyDigest:
    start = datetime(2021, 4, 20, tzinfo=SHANGHAI)
    return DailyDigest(date(2021, 4, 20), "Asia/Shanghai", start, start, (DigestSection("金融", tuple(items)),),
                       considered=len(items), left_out=0)


item_strategy = st.builds(
    lambda title, summary, source, url, n: DigestItem(
        article_id=n, title=title or "标题", summary=tuple(summary), headings=(), keywords=(), source=source,
        category="金融", published=datetime(2021, 4, 20, tzinfo=timezone.utc),
        url=f"https://example.com/{n}?a=1&b=<2>" if url else None,
    ),
    texts, st.lists(texts, max_size=12), texts, st.booleans(), st.integers(0, 10**6),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(item_strategy, min_size=1, max_size=60))
def test_digest_messages_stay_within_the_limits_and_lose_nothing(items: list[DigestItem]) -> None:
    messages = digest_messages(_digest(items))
    for message in messages:
        _check(message)
    everything = "".join(_visible(m) for m in messages)
    squeezed = re.sub(r"\s+", "", everything)
    for item in items:
        for text in (item.title, item.source, *item.summary):
            assert re.sub(r"\s+", "", text) in squeezed or not text.strip()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.one_of(texts.map(text_piece), texts.filter(bool).map(lambda t: tag_piece("b", t))),
                         min_size=1, max_size=30), min_size=1, max_size=30))
def test_pack_never_splits_inside_a_tag(blocks) -> None:  # type: ignore[no-untyped-def]
    for message in pack(blocks):
        if message:
            _check(message)


def test_a_huge_sentence_is_cut_between_characters_not_dropped() -> None:
    sentence = "港" * 10_000 + "😀" * 3000
    messages = digest_messages(_digest([DigestItem(1, "长", (sentence,), (), (), "来源", "金融",
                                                   datetime(2021, 4, 20, tzinfo=timezone.utc))]))
    assert len(messages) >= 4
    for message in messages:
        _check(message)
    assert "".join(_visible(m) for m in messages).count("港") == 10_000
    assert "".join(_visible(m) for m in messages).count("😀") == 3000


def test_dynamic_text_is_escaped() -> None:
    (message,) = pack([[tag_piece("b", "<script>&"), text_piece(" a<b>c"),
                        tag_piece("a", "x", href='https://e.com/?q="1"&r=2')]])
    assert message == '<b>&lt;script&gt;&amp;</b> a&lt;b&gt;c<a href="https://e.com/?q=&quot;1&quot;&amp;r=2">x</a>'
