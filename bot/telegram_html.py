"""Telegram HTML: replies and digests as messages within the Bot API's limits.

A message is at most 4096 UTF-16 code units of text after entity parsing (a CJK
character counts 1, most emoji 2) and shows about 100 formatting entities. Every dynamic
piece is escaped with `html.escape`. A digest is split between items, an item that is
too long between sentences (at 。！？；), and a sentence that is still too long between
characters — never inside a tag, and nothing is dropped. Every label comes from the
message catalogue, in the reply's (or the chat's) language.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from digest.compose import DailyDigest, DigestItem
from digest.dates import shown_day, shown_time
from digest.messages import say
from digest.plaintext import covers, digest_title, searched_for, section_name
from digest.search import SearchPage
from digest.store import StoredArticle

from .adapter import Reply

MAX_UNITS = 4096
MAX_ENTITIES = 100
_MARKS_PER_HIT = 8  # 5 hits x (8 marks + a title) stays under the 100 entities shown
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


@dataclass(frozen=True)
class Piece:
    """A run of HTML that is never split, with its visible length and entity count."""

    html: str
    units: int
    entities: int


@dataclass(frozen=True)
class PageButton:
    """A paging button under a page of results: its label and the page it opens."""

    label: str
    page: int


@dataclass(frozen=True)
class HtmlMessage:
    """One message to send: its HTML and the paging buttons under it (the adapter turns
    them into its keyboard, with the search's token)."""

    html: str
    buttons: tuple[PageButton, ...] = ()


def units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def text_piece(text: str) -> Piece:
    """Plain text, escaped."""
    return Piece(html.escape(text, quote=False), units(text), 0)


def tag_piece(tag: str, text: str, href: str | None = None) -> Piece:
    """`text` in one tag (b, i, a…), escaped."""
    attribute = f' href="{html.escape(href, quote=True)}"' if href else ""
    return Piece(f"<{tag}{attribute}>{html.escape(text, quote=False)}</{tag}>", units(text), 1)


def pack(blocks: list[list[Piece]], separator: str = "\n\n") -> list[str]:
    """Messages made of whole blocks where they fit; a block too big alone is cut
    between its pieces, and a piece too big alone between characters."""
    messages: list[str] = []
    current: list[str] = []
    size = entities = 0
    gap = units(separator)

    def flush() -> None:
        nonlocal current, size, entities
        if current:
            messages.append("".join(current).strip("\n"))
        current, size, entities = [], 0, 0

    for block in blocks:
        block_units = sum(p.units for p in block)
        block_entities = sum(p.entities for p in block)
        if current and (size + gap + block_units > MAX_UNITS or entities + block_entities > MAX_ENTITIES):
            flush()
        if current:
            current.append(separator)
            size += gap
        for piece in block:
            for part in _fit(piece):
                if current and (size + part.units > MAX_UNITS or entities + part.entities > MAX_ENTITIES):
                    flush()
                current.append(part.html)
                size += part.units
                entities += part.entities
    flush()
    return messages


def _fit(piece: Piece) -> list[Piece]:
    # a piece longer than a message: only plain text can be that long (titles, links and
    # headings are short); it is cut between sentences, then between characters
    if piece.units <= MAX_UNITS:
        return [piece]
    text = html.unescape(piece.html)
    out: list[Piece] = []
    for sentence in _SENTENCE_END.split(text):
        while sentence:
            cut = len(sentence)
            while units(sentence[:cut]) > MAX_UNITS:
                cut = cut * 3 // 4
            out.append(text_piece(sentence[:cut]))
            sentence = sentence[cut:]
    return out


def digest_messages(digest: DailyDigest, language: str = "zh") -> list[str]:
    """A daily digest as Telegram HTML messages, in order."""
    blocks: list[list[Piece]] = [[tag_piece("b", digest_title(digest, language))]]
    if digest.kind != "day":
        blocks[0] += [text_piece("\n"), tag_piece("i", covers(digest, language))]
    for section in digest.sections:
        blocks.append([tag_piece("b", f"【{section_name(section.category, language)}】")])
        blocks.extend(_item(item, language) for item in section.items)
    if digest.titles:
        blocks.append([tag_piece("b", say("digest_more", language))])
        blocks.extend(_title(item) for item in digest.titles)
    if digest.left_out:
        blocks.append([text_piece(say("digest_left_out", language, count=digest.left_out))])
    return pack(blocks)


def _title(item: DigestItem) -> list[Piece]:
    return [text_piece("• "), tag_piece("a", item.title, href=item.url) if item.url else text_piece(item.title)]


def _item(item: DigestItem, language: str) -> list[Piece]:
    pieces = [tag_piece("b", item.title)]
    if item.also_reported:
        pieces.append(text_piece(say("digest_also_reported", language, count=item.also_reported)))
    if item.source:
        pieces.append(text_piece("\n"))
        pieces.append(tag_piece("i", item.source))
    for sentence in item.summary:
        pieces.append(text_piece("\n" + sentence))
    if item.url:
        pieces.append(text_piece("\n"))
        pieces.append(tag_piece("a", say("digest_original", language), href=item.url))
    return pieces


def reply_messages(reply: Reply) -> list[HtmlMessage]:
    """A reply as the messages to send, in its language and zone: a page of results
    (one message, with its paging buttons), a digest, the newest articles, or text."""
    if reply.search is not None:
        return [_search_reply(reply.search, reply.zone, reply.language)]
    if reply.digest is not None:
        return [HtmlMessage(text) for text in digest_messages(reply.digest, reply.language)]
    if reply.articles:
        return [HtmlMessage(text) for text in latest_messages(reply.articles, reply.zone)]
    return [HtmlMessage(text) for text in pack([[text_piece(reply.text)]])]


def _search_reply(page: SearchPage, zone: ZoneInfo, language: str) -> HtmlMessage:
    buttons = [PageButton(say(key, language), target) for key, target in
               (("page_previous", page.previous_page), ("page_next", page.next_page)) if target is not None]
    if page.past_end:
        text = text_piece(say("search_past_end", language, page=page.page, pages=page.pages)).html
    else:
        text = search_message(page, zone, language)
    return HtmlMessage(text, tuple(buttons))


def search_message(page: SearchPage, zone: ZoneInfo, language: str = "zh") -> str:
    """One page of search results as one message (a page is 5 results: it always fits)."""
    if not page.hits:
        return html.escape(say("search_none", language, query=searched_for(page, zone)), quote=False)
    head = say("search_found", language, total=page.total, page=page.page, pages=page.pages)
    blocks: list[list[Piece]] = [[text_piece(head)]]
    for number, hit in enumerate(page.hits, (page.page - 1) * page.limit + 1):
        a = hit.article
        when = shown_day(a.published, zone, a.date_only)
        title = _linked_title(a)
        snippet: list[Piece] = []
        text, last = hit.snippet.text, 0
        for start, end in hit.snippet.marks[:_MARKS_PER_HIT]:
            snippet += [text_piece(text[last:start]), tag_piece("b", text[start:end])]
            last = end
        snippet.append(text_piece(text[last:]))
        blocks.append([text_piece(f"{number}. "), title,
                       text_piece("\n" + " · ".join(x for x in (a.source_name, when) if x) + "\n"), *snippet])
    (message,) = pack(blocks)  # 5 hits of 80-character snippets: far below both limits
    return message


def latest_messages(articles: Sequence[StoredArticle], zone: ZoneInfo) -> list[str]:
    """The newest articles (/latest): each one's title, linked when it has a URL, its
    source and time, and the first sentence of its summary."""
    blocks: list[list[Piece]] = []
    for number, a in enumerate(articles, 1):
        meta = " · ".join(x for x in (a.source_name, shown_time(a.published, zone, a.date_only)) if x)
        block = [text_piece(f"{number}. "), _linked_title(a), text_piece("\n" + meta)]
        if a.summary:
            block.append(text_piece("\n" + a.summary[0]))
        blocks.append(block)
    return pack(blocks)


def _linked_title(a: StoredArticle) -> Piece:
    # a post without a URL shows its title only: never a path on disk
    return tag_piece("a", a.title, href=a.url) if a.url else tag_piece("b", a.title)
