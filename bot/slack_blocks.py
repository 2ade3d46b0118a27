"""Slack Block Kit: replies, search pages and digests as messages within Slack's limits.

Slack's mrkdwn needs `&`, `<` and `>` escaped, and `|` kept out of a link's label; every
length is counted after escaping. A message holds at most 50 blocks and, here, 12,000
characters of block text; a section's text is at most 3,000, a header's 150. A digest
longer than one message becomes several; a story longer than a section is split between
its sentences, and a sentence longer than a section between characters — nothing is cut.
Each message carries a short fallback `text` (the digest's title, and its part number),
never the stories' titles, and link unfurling off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from digest.compose import DailyDigest, DigestItem
from digest.dates import shown_day, shown_time
from digest.messages import say
from digest.plaintext import covers, digest_title, searched_for, section_name
from digest.search import SearchPage
from digest.store import StoredArticle

from .adapter import Reply, page_value

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_MESSAGE_TEXT = 12_000  # characters of block text in one message
MAX_BUTTON_TEXT = 75  # a value (≤ 2000) is `token:page`, far shorter

Block = dict[str, Any]


def escape(text: str) -> str:
    """Text as mrkdwn shows it literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A mrkdwn link; `|` would end the URL part, so it is encoded there and replaced in
    the label."""
    return f"<{escape(url).replace('|', '%7C')}|{escape(label.replace('|', '¦'))}>"


def header(text: str) -> Block:
    """A header block (plain text, at most MAX_HEADER characters: longer is ellipsised)."""
    shown = text if len(text) <= MAX_HEADER else text[: MAX_HEADER - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": shown}}


def sections(mrkdwn: str) -> list[Block]:
    """`mrkdwn` as section blocks of at most MAX_SECTION characters each, split between
    lines where it can be, else between characters, never inside an escape or a link."""
    out: list[Block] = []
    current = ""
    for line in mrkdwn.split("\n"):
        while len(line) > MAX_SECTION:  # a line longer than a section: between characters
            if current:
                out.append(_section(current))
                current = ""
            cut = _safe_cut(line, MAX_SECTION)
            out.append(_section(line[:cut]))
            line = line[cut:]
        joined = f"{current}\n{line}" if current else line
        if len(joined) > MAX_SECTION:
            out.append(_section(current))
            current = line
        else:
            current = joined
    if current.strip():
        out.append(_section(current))
    return out


def digest_messages(digest: DailyDigest, language: str = "zh") -> list[dict[str, Any]]:
    """A daily digest as Slack messages (`chat.postMessage` payloads), in order."""
    title, zone = digest_title(digest, language), ZoneInfo(digest.timezone)
    blocks: list[Block] = [header(title)]
    if digest.kind != "day":
        blocks.append(_context(covers(digest, language)))
    for section in digest.sections:
        blocks.extend(sections(f"*{escape('【' + section_name(section.category, language) + '】')}*"))
        for item in section.items:
            blocks.extend(sections(_item(item, language, zone)))
            if item.keywords:
                blocks.append(_context(say("list_joiner", language).join(item.keywords)))
    if digest.titles:
        blocks.extend(sections(f"*{escape(say('digest_more', language))}*"))
        lines = [f"• {link(i.url, i.title) if i.url else escape(i.title)}" for i in digest.titles]
        blocks.extend(sections("\n".join(lines)))
    if digest.left_out:
        blocks.extend(sections(escape(say("digest_left_out", language, count=digest.left_out))))
    return _pack(blocks, title)


def reply_messages(reply: Reply, *, shareable: bool = True) -> list[dict[str, Any]]:
    """A reply as the messages to send, in its language and zone: a page of results (one
    message, with its buttons; a share button when `shareable`: only its asker sees it),
    a digest, the newest articles, or text."""
    if reply.search is not None:
        return [search_message(reply.search, reply.zone, reply.language, reply.search_token, shareable=shareable)]
    if reply.digest is not None:
        return digest_messages(reply.digest, reply.language)
    if reply.articles:
        return _pack(latest_blocks(reply.articles, reply.zone), say("command_latest", reply.language))
    return _pack(sections(escape(reply.text)), _fallback(reply.text))


def latest_blocks(articles: Sequence[StoredArticle], zone: ZoneInfo) -> list[Block]:
    """The newest articles (/latest): each one's title, linked when it has a URL, its
    source and time, and the first sentence of its summary."""
    blocks: list[Block] = []
    for number, a in enumerate(articles, 1):
        title = link(a.url, a.title) if a.url else escape(a.title)  # never a path on disk
        meta = " · ".join(x for x in (a.source_name, shown_time(a.published, zone, a.date_only)) if x)
        lines = [f"{number}. *{title}*", f"_{escape(meta)}_"] + [escape(s) for s in a.summary[:1]]
        blocks.extend(sections("\n".join(lines)))
    return blocks


def shared_message(page: SearchPage, zone: ZoneInfo, language: str, user: str) -> dict[str, Any]:
    """A page of results posted in the channel for everyone (the share button): no buttons,
    and who shared it (`user` is a Slack user id)."""
    message = search_message(page, zone, language, None)
    mention = f"<@{user}>" if user.isalnum() else escape(user)
    # the mention is mrkdwn, the catalogue's words around it are escaped
    words = say("search_shared", language, user="\x00").split("\x00")
    message["blocks"].append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": mention.join(escape(w) for w in words)}]})
    return message


def search_message(page: SearchPage, zone: ZoneInfo, language: str, token: str | None, *,
                   shareable: bool = True) -> dict[str, Any]:
    """One page of results (5 hits: always one message) under what was searched (Slack
    shows no one the command's text), hits marked 【like this】 (marks that need no mrkdwn
    boundary next to CJK), with 上一页 / 下一页 and, when `shareable`, 分享到频道 buttons
    whose values carry only the search's token and a page."""
    if page.past_end:
        head = say("search_past_end", language, page=page.page, pages=page.pages)
    elif not page.hits:
        head = say("search_none", language, query=searched_for(page, zone))
    else:
        head = say("search_found", language, total=page.total, page=page.page, pages=page.pages)
    blocks: list[Block] = [_context(say("search_query", language, query=page.query.text)), *sections(escape(head))]
    for number, hit in enumerate(page.hits, (page.page - 1) * page.limit + 1):
        a = hit.article
        title = link(a.url, a.title) if a.url else escape(a.title)
        meta = " · ".join(x for x in (a.source_name, a.category, shown_day(a.published, zone, a.date_only)) if x)
        blocks.extend(sections(f"{number}. *{title}*\n_{escape(meta)}_\n{escape(hit.snippet.marked())}"))
    buttons = []
    if token is not None and (page.hits or page.past_end):
        buttons += [_button(say(key, language), "page", page_value(token, target)) for key, target in
                    (("page_previous", page.previous_page), ("page_next", page.next_page)) if target is not None]
        if page.hits and shareable:
            buttons.append(_button(say("share_to_channel", language), "share", page_value(token, page.page)))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": escape(head), "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def block_text_length(block: Block) -> int:
    """The characters of text a block holds (what the per-message budget counts)."""
    if block["type"] == "context":
        return sum(len(e["text"]) for e in block["elements"])
    if block["type"] == "actions":
        return sum(len(e["text"]["text"]) for e in block["elements"])
    return len(block["text"]["text"])


def _button(label: str, action: str, value: str) -> Block:
    # the action id names what a press does; the value is all the state it needs
    shown = label if len(label) <= MAX_BUTTON_TEXT else label[: MAX_BUTTON_TEXT - 1] + "…"
    return {"type": "button", "text": {"type": "plain_text", "text": shown}, "action_id": f"{action}:{value}",
            "value": value}


def _item(item: DigestItem, language: str, zone: ZoneInfo) -> str:
    title = link(item.url, item.title) if item.url else escape(item.title)
    lines = [f"*{title}*"]
    if item.also_reported:
        lines[0] += escape(say("digest_also_reported", language, count=item.also_reported))
    meta = " · ".join(x for x in (item.source, shown_time(item.published, zone, item.date_only)) if x)
    lines.append(f"_{escape(meta)}_")
    lines.extend(escape(sentence) for sentence in item.summary)
    return "\n".join(lines)


def _fallback(text: str) -> str:
    # the notification's text: the reply's first line, short
    first = text.strip().split("\n", 1)[0]
    return first if len(first) <= MAX_HEADER else first[: MAX_HEADER - 1] + "…"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    shown = text if len(text) <= MAX_SECTION else text[: MAX_SECTION - 1] + "…"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(shown)}]}


def _safe_cut(text: str, most: int) -> int:
    # a cut must not split an escape (`&amp;`) or a link (`<…|…>`): it goes before either
    cut = most
    for opener, closer in (("&", ";"), ("<", ">")):
        start = text.rfind(opener, 0, cut)
        if start > 0 and closer not in text[start:cut]:
            cut = start
    return cut


def _pack(blocks: list[Block], title: str) -> list[dict[str, Any]]:
    messages: list[list[Block]] = [[]]
    size = 0
    for block in blocks:
        length = block_text_length(block)
        if messages[-1] and (len(messages[-1]) >= MAX_BLOCKS or size + length > MAX_MESSAGE_TEXT):
            messages.append([])
            size = 0
        messages[-1].append(block)
        size += length
    total = len(messages)
    return [
        {"text": escape(title if total == 1 else f"{title} ({n}/{total})"), "blocks": part,
         "unfurl_links": False, "unfurl_media": False}
        for n, part in enumerate(messages, 1)
    ]
