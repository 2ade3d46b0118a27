"""The Block Kit renderer's limits, as properties over generated digests: every message
within Slack's limits, nothing cut, nothing escaped twice, no title in a fallback text."""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta, timezone

from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack_blocks import block_text_length, digest_messages, escape, header, link, search_message
from digest.compose import DailyDigest, DigestItem, DigestSection
from digest.ingest import Ingestor
from digest.search import search
from digest.store import Store
from tests.support.builders import write_post

# Slack's limits, written here rather than imported: the test checks the renderer's own
MAX_BLOCKS, MAX_SECTION, MAX_HEADER, MAX_MESSAGE_TEXT = 50, 3000, 150, 12_000
END = datetime(2021, 4, 20, 0, 0, tzinfo=timezone.utc)
# CJK, ASCII and the characters mrkdwn gives a meaning to; no newline (a sentence has none)
WORDS = st.text(alphabet=st.sampled_from(list("港口银行利率人工智能abcXYZ 0123&<>|*_~`，。")), min_size=1, max_size=40)


def _item(n: int, title: str, sentences: list[str], url: bool) -> DigestItem:
    return DigestItem(article_id=n, title=title, summary=tuple(sentences), headings=(), keywords=("港口", "a&b"),
                      source="测试<来源>", category="交通", published=END - timedelta(hours=n),
                      url=f"https://news.example.com/{n}?a=1&b=|2" if url else None, also_reported=n % 3)


@st.composite
def digests(draw: st.DrawFn) -> DailyDigest:
    count = draw(st.integers(1, 40))
    items = []
    for n in range(count):
        sentences = draw(st.lists(WORDS, min_size=0, max_size=4))
        if draw(st.booleans()) and n == 0:
            sentences.append("长" * draw(st.integers(2900, 7000)))  # a sentence longer than a section
        items.append(_item(n, "标题" + draw(WORDS), sentences, draw(st.booleans())))
    titles = tuple(_item(100 + n, "标题" + draw(WORDS), [], draw(st.booleans()))
                   for n in range(draw(st.integers(0, 100))))
    return DailyDigest(day=date(2021, 4, 20), timezone="Asia/Shanghai", start=END - timedelta(days=1), end=END,
                       sections=(DigestSection("交通", tuple(items)),), considered=count + len(titles),
                       left_out=draw(st.integers(0, 3)), titles=titles, kind="since")


def _texts(message: dict[str, object]) -> list[str]:
    out = []
    for block in message["blocks"]:  # type: ignore[attr-defined]
        if block["type"] == "context":
            out += [e["text"] for e in block["elements"]]
        else:
            out.append(block["text"]["text"])
    return out


@settings(max_examples=40, deadline=None)
@given(digests(), st.sampled_from(["zh", "en"]))
def test_every_message_keeps_slacks_limits_and_nothing_is_cut(digest: DailyDigest, language: str) -> None:
    _check(digest, language)


def test_a_busy_day_becomes_several_messages_each_within_the_limits() -> None:
    items = tuple(_item(n, f"标题{n}&<>|", ["港口集装箱吞吐量继续增长&<>" * 4] * 4, n % 2 == 0) for n in range(40))
    long_story = _item(99, "标题长", ["长" * 7000], True)
    digest = DailyDigest(day=date(2021, 4, 20), timezone="Asia/Shanghai", start=END - timedelta(days=1), end=END,
                         sections=(DigestSection("交通", (long_story, *items)),), considered=141, left_out=0,
                         titles=tuple(_item(200 + n, f"标题T{n}", [], True) for n in range(100)), kind="since")
    for language in ("zh", "en"):
        messages = _check(digest, language)
        assert len(messages) >= 3  # 41 stories, their keywords, 100 titles and a 7,000-character sentence


def _check(digest: DailyDigest, language: str) -> list[dict[str, object]]:
    """Assert every limit on the digest's messages, and that nothing was cut; returns them."""
    messages = digest_messages(digest, language)
    for message in messages:
        blocks = message["blocks"]
        assert 0 < len(blocks) <= MAX_BLOCKS
        assert sum(block_text_length(b) for b in blocks) <= MAX_MESSAGE_TEXT
        assert message["unfurl_links"] is False and message["unfurl_media"] is False
        assert message["text"] and "标题" not in message["text"]  # no story's title in the fallback
        for block in blocks:
            limit = MAX_HEADER if block["type"] == "header" else MAX_SECTION
            assert 0 < block_text_length(block) <= limit
        for text in _texts(message):
            assert text.strip()  # no empty text object
            bare = text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")
            assert "&" not in bare  # every & is escaped once, none twice
    # nothing is cut: every sentence and title can be read back, whatever split it
    shown = html.unescape("".join("".join(_texts(m)).replace("\n", "") for m in messages))
    for item in (*digest.items, *digest.titles):
        for sentence in item.summary:
            assert sentence in shown
        assert (item.title.replace("|", "¦") if item.url else item.title) in shown  # a link's label has no |
    if len(messages) > 1:
        assert [m["text"].rsplit(" ", 1)[1] for m in messages] == [f"({n}/{len(messages)})"
                                                                   for n in range(1, len(messages) + 1)]
    return messages


def test_escapes_and_links() -> None:
    assert escape("a&b <c> d") == "a&amp;b &lt;c&gt; d"
    assert link("https://x.example/?a=1&b=|2", "A|B <c>") == "<https://x.example/?a=1&amp;b=%7C2|A¦B &lt;c&gt;>"
    long = header("长" * 200)["text"]["text"]
    assert len(long) == MAX_HEADER and long.endswith("…") and header("短")["text"]["text"] == "短"


def test_a_search_page_marks_hits_and_pages_with_buttons_in_the_chats_language(store: Store, tmp_path: Path) -> None:
    for i in range(7):
        write_post(tmp_path, f"p{i}.md", f"<p>第{i}期港口简报：集装箱吞吐量保持增长 <b>&</b>，编号{i * 7919}。</p>",
                   title=f"港口简报第{i}期 <&|>", date=f"2021-04-1{i} 08:00:00", extra=f"link: https://x.example/{i}?a=1&b=2")
    Ingestor(store, workers=1).ingest([str(tmp_path)])
    zone = ZoneInfo("Asia/Shanghai")
    second = search(store, "港口 简报", page=2, limit=5)
    for language, labels in (("zh", ["上一页", "分享到频道"]), ("en", ["Previous", "Share in channel"])):
        message = search_message(second, zone, language, "tok123")
        (actions,) = [b for b in message["blocks"] if b["type"] == "actions"]
        assert [e["text"]["text"] for e in actions["elements"]] == labels
        assert [e["value"] for e in actions["elements"]] == ["tok123:1", "tok123:2"]
        assert len({e["action_id"] for e in actions["elements"]}) == 2  # unique in the message
        texts = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
        assert any("【港口" in t for t in texts) and all(len(t) <= MAX_SECTION for t in texts)
        assert "<https://x.example/1?a=1&amp;b=2|港口简报第1期 &lt;&amp;¦&gt;>" in "".join(texts)
        assert message["unfurl_links"] is False and message["text"]
    first = search_message(search(store, "港口 简报", page=1, limit=5), zone, "zh", "tok123")
    assert [e["text"]["text"] for e in first["blocks"][-1]["elements"]] == ["下一页", "分享到频道"]
    past = search_message(search(store, "港口 简报", page=9, limit=5), zone, "en", "tok123")
    assert "There is no page 9" in past["text"]
    assert [e["value"] for e in past["blocks"][-1]["elements"]] == ["tok123:2"]  # back to the last page
    none = search_message(search(store, "火星", page=1, limit=5), zone, "zh", "tok123")
    assert none["text"].startswith("没有找到") and all(b["type"] != "actions" for b in none["blocks"])