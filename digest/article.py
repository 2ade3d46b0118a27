"""The article value: what every source turns a post or feed item into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Block:
    """One piece of clean body text: a heading or a paragraph, in document order."""

    text: str
    heading: bool = False


@dataclass(frozen=True)
class Article:
    """A parsed, cleaned article.

    `blocks` keeps headings and paragraphs interleaved in document order, so the
    summariser knows which section every sentence comes from.
    """

    title: str
    blocks: tuple[Block, ...]
    published: datetime
    date_from_file: bool = False  # True when the post had no usable date (mtime used)
    date_only: bool = False  # True when the date had no time of day (its midnight is made up)
    source: str = ""
    categories: tuple[str, ...] = ()
    url: str | None = None
    path: str | None = None
    image: str | None = None

    @property
    def headings(self) -> list[str]:
        """The section headings, in document order."""
        return [b.text for b in self.blocks if b.heading]

    @property
    def paragraphs(self) -> list[str]:
        """The body paragraphs (headings excluded), in document order."""
        return [b.text for b in self.blocks if not b.heading]

    @property
    def body(self) -> str:
        """The clean body as plain text, one block per line."""
        return "\n".join(b.text for b in self.blocks)
