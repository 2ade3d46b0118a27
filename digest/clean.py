"""HTML and Markdown bodies to clean text blocks (headings and paragraphs)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import lxml.etree
import lxml.html
from markdown_it import MarkdownIt

from .article import Block
from .boilerplate import is_boilerplate, is_code, strip_lead_in

# Not text a reader sees: media, code listings, forms and page furniture.
_DROPPED = frozenset(
    "script style noscript template iframe frame img picture source video audio svg canvas "
    "object embed map figure figcaption pre form button input select textarea option "
    "head title meta link nav".split()
)
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
_BLOCKS = _HEADINGS | frozenset(
    "p div section article main header footer aside blockquote center address "
    "ul ol li dl dt dd table thead tbody tfoot tr td th caption hr".split()
)
_BOLD_TAGS = frozenset(("strong", "b"))
_BOLD_STYLE = re.compile(r"font-weight\s*:\s*(?:bold|[6-9]00)", re.I)
_HTML_HINT = re.compile(
    r"<(?:p|div|span|h[1-6]|br|ul|ol|li|table|strong|b|em|a|img|section|blockquote)\b", re.I
)
_WHITESPACE = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")
_BLANK_LINE = re.compile(r"\n[ \t\u3000\xa0]*\n")
# A bold line this long, or ending like a sentence, is emphasis inside the text, not a heading.
_MAX_HEADING_CHARS = 60
# Every step after parsing (cleaning, sentences, jieba, ranking) is linear in the body, at
# a few µs a character: this cap is what bounds one article's cost (a few tenths of a
# second). News bodies run to 20,000 characters of markup; the rest of a longer one is cut.
MAX_BODY_CHARS = 100_000
# libxml2 stops building the tree at this depth and drops everything below and after it.
MAX_DEPTH = 256
# Where a body may be cut: after a paragraph, a block or a line break, or a blank line.
_BREAK = re.compile(r"</(?:p|div|li|h[1-6]|blockquote|section|table|tr)\s*>|<br\s*/?>|\n[ \t]*\n", re.I)


class NestingError(ValueError):
    """HTML nested deeper than libxml2 builds (MAX_DEPTH): its text would be silently lost."""

    def __init__(self) -> None:
        super().__init__(f"HTML nested deeper than {MAX_DEPTH} elements: its text cannot be read")

_markdown = MarkdownIt("commonmark", {"html": True})


def looks_like_html(body: str) -> bool:
    """True when a body is HTML (the usual Hexo case) rather than Markdown."""
    return bool(_HTML_HINT.search(body))


def clean_body(body: str) -> list[Block]:
    """Turn an HTML or Markdown body into clean blocks, boilerplate removed."""
    if not body.strip():
        return []
    markup = body if looks_like_html(body) else _markdown.render(body)
    return clean_html(markup)


def cut_body(body: str, limit: int = MAX_BODY_CHARS) -> str:
    """`body` if it is at most `limit` characters, else its start cut after the last
    paragraph (or line) break within the limit; a hard cut when there is none."""
    if len(body) <= limit:
        return body
    head = body[:limit]
    ends = [m.end() for m in _BREAK.finditer(head, limit // 2)]
    return head[: ends[-1]] if ends else head


def clean_html(markup: str, *, unescape_left: bool = True) -> list[Block]:
    """Turn HTML into clean heading/paragraph blocks, boilerplate removed. `unescape_left`
    unescapes entities left in the text once more (posts' double escaping); feeds pass False.
    Raises `NestingError` for HTML nested deeper than MAX_DEPTH."""
    parser = lxml.html.HTMLParser()  # its own, for its error log
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div", parser=parser)
    except (lxml.etree.ParserError, ValueError):
        _check_depth(parser)
        return []
    _check_depth(parser)
    collector = _Collector(unescape_left=unescape_left)
    collector.add(root.text, bold=False)
    _walk(root, collector, bold=False)
    collector.flush()
    return collector.blocks


@dataclass
class _Collector:
    blocks: list[Block] = field(default_factory=list)
    pieces: list[tuple[str, bool]] = field(default_factory=list)
    heading: bool = False
    unescape_left: bool = True

    def add(self, text: str | None, *, bold: bool) -> None:
        if not text:
            return
        parts = _BLANK_LINE.split(text)
        for i, part in enumerate(parts):
            if i:
                self.flush()
            self.pieces.append((part, bold))

    def flush(self) -> None:
        text = _normalise("".join(t for t, _ in self.pieces), unescape_left=self.unescape_left)
        visible = [(t, b) for t, b in self.pieces if t.strip()]
        all_bold = bool(visible) and all(b for _, b in visible)
        heading_tag = self.heading
        self.pieces = []
        self.heading = False
        if not text or is_boilerplate(text) or is_code(text):
            return
        text = strip_lead_in(text)
        if not text:
            return
        is_heading = heading_tag or (
            all_bold and len(text) <= _MAX_HEADING_CHARS and not text.endswith("。")
        )
        self.blocks.append(Block(text=text, heading=is_heading))


def _walk(element: lxml.html.HtmlElement, out: _Collector, *, bold: bool) -> None:
    for child in element:
        tag = child.tag.lower() if isinstance(child.tag, str) else ""
        if not tag or tag in _DROPPED:  # comments, processing instructions, media
            out.add(child.tail, bold=bold)
            continue
        child_bold = bold or tag in _BOLD_TAGS or bool(_BOLD_STYLE.search(child.get("style", "")))
        if tag == "br":
            out.flush()
        elif tag in _BLOCKS:
            out.flush()
            out.heading = tag in _HEADINGS
            out.add(child.text, bold=child_bold)
            _walk(child, out, bold=child_bold)
            out.flush()
        else:
            out.add(child.text, bold=child_bold)
            _walk(child, out, bold=child_bold)
        out.add(child.tail, bold=bold)


def _check_depth(parser: lxml.html.HTMLParser) -> None:
    if any(e.type == lxml.etree.ErrorTypes.ERR_RESOURCE_LIMIT and "depth" in e.message for e in parser.error_log):
        raise NestingError()


def _normalise(text: str, *, unescape_left: bool = True) -> str:
    # Hexo posts arrive double-escaped (`&amp;#123;`): unescape what is left. A feed's HTML
    # is escaped once, by the feed's XML: `&amp;lt;b&amp;gt;` there is the text `&lt;b&gt;`
    if unescape_left and "&" in text:
        text = html.unescape(text)
    return _WHITESPACE.sub(" ", text).strip()
