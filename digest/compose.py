"""The daily digest: one day's articles in a chat's time zone, ranked, grouped by category.

A platform-neutral value: the renderers (console text, Telegram HTML, Slack blocks)
format it and split it to their limits.

Ranking, and why:
1. coverage — how many near-duplicates the story has (other outlets, re-crawls,
   rewrites). A story many sources ran is the day's news; that is the editors' vote.
2. centrality — how much of the story's keywords the day's other articles share. Among
   stories one source ran, the ones on the day's recurring themes come first.
3. recency — the newer article breaks the remaining ties.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from .schema import articles
from .store import Store, StoredArticle

DEFAULT_MAX_ITEMS = 12
OTHER = "其他"  # the section of articles without a category


@dataclass(frozen=True)
class DigestFilter:
    """What a subscription asks for. Within a kind any entry matches (金融 or 科技);
    across kinds all must (a 金融 article from 每经网); `excluded` words rule an article out."""

    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when everything passes."""
        return not (self.categories or self.sources or self.keywords or self.excluded)

    def matches(self, article: StoredArticle) -> bool:
        """Whether the article belongs in a digest with this filter."""
        text = f"{article.title}\n{article.body}".lower()
        if self.categories:
            have = {c.lower() for c in (article.category, *article.categories) if c}
            if not any(c.lower() in have for c in self.categories):
                return False
        if self.sources and not any(s.lower() in article.source_name.lower() for s in self.sources):
            return False
        if self.keywords and not any(k.lower() in text for k in self.keywords):
            return False
        return not any(x.lower() in text for x in self.excluded)


@dataclass(frozen=True)
class DigestItem:
    """One story of the digest, with its stored summary."""

    article_id: int
    title: str
    summary: tuple[str, ...]
    headings: tuple[str, ...]
    keywords: tuple[str, ...]
    source: str
    category: str
    published: datetime
    url: str | None = None
    path: str | None = None
    also_reported: int = 0  # near-duplicates folded into this item
    centrality: float = 0.0  # share of the day's articles on its keywords (see the module doc)


@dataclass(frozen=True)
class DigestSection:
    """The items of one category, best first."""

    category: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True)
class DailyDigest:
    """A day's digest: the window it covers and its sections, best section first."""

    day: date
    timezone: str
    start: datetime
    end: datetime
    sections: tuple[DigestSection, ...]
    considered: int  # articles of the window that passed the filter
    left_out: int  # of those, the ones beyond the item limit

    @property
    def items(self) -> list[DigestItem]:
        """Every item, section by section."""
        return [item for section in self.sections for item in section.items]

    @property
    def empty(self) -> bool:
        """True when the day had nothing for this digest (it is then not sent)."""
        return not self.sections

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the digest."""
        return {
            "date": self.day.isoformat(),
            "timezone": self.timezone,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "considered": self.considered,
            "left_out": self.left_out,
            "sections": [
                {
                    "category": s.category,
                    "items": [
                        {
                            "id": i.article_id,
                            "title": i.title,
                            "summary": list(i.summary),
                            "headings": list(i.headings),
                            "keywords": list(i.keywords),
                            "source": i.source,
                            "published": i.published.isoformat(),
                            "url": i.url,
                            "path": i.path,
                            "also_reported": i.also_reported,
                        }
                        for i in s.items
                    ],
                }
                for s in self.sections
            ],
        }


def day_window(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Midnight to midnight of `day` in `tz` (23 or 25 hours long on DST days)."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    following = day + timedelta(days=1)
    return start, datetime(following.year, following.month, following.day, tzinfo=tz)


def compose_daily(
    store: Store,
    day: date,
    tz: ZoneInfo,
    *,
    digest_filter: DigestFilter | None = None,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> DailyDigest:
    """The digest of `day` in `tz`: near-duplicates folded in, filtered, ranked, grouped."""
    start, end = day_window(day, tz)
    found = _window(store, start, end)
    chosen = [a for a in found if digest_filter is None or digest_filter.matches(a)]
    coverage = _coverage(store, [a.id for a in chosen])
    centrality = _centrality(found)
    items = sorted(
        (_item(a, coverage.get(a.id, 0), centrality.get(a.id, 0.0)) for a in chosen),
        key=lambda i: (-i.also_reported, -i.centrality, -i.published.timestamp(), i.article_id),
    )
    kept = items[:max_items]
    by_category: dict[str, list[DigestItem]] = {}
    for item in kept:  # best first, so sections come out ordered by their best item
        by_category.setdefault(item.category or OTHER, []).append(item)
    return DailyDigest(
        day=day,
        timezone=tz.key,
        start=start,
        end=end,
        sections=tuple(DigestSection(c, tuple(i)) for c, i in by_category.items()),
        considered=len(chosen),
        left_out=len(items) - len(kept),
    )


def _window(store: Store, start: datetime, end: datetime) -> list[StoredArticle]:
    query = sa.select(articles).where(
        articles.c.published >= start, articles.c.published < end, articles.c.duplicate_of.is_(None)
    )
    with store.connect() as conn:
        return [StoredArticle.from_row(row) for row in conn.execute(query)]


def _coverage(store: Store, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    query = (
        sa.select(articles.c.duplicate_of, sa.func.count())
        .where(articles.c.duplicate_of.in_(list(ids)))
        .group_by(articles.c.duplicate_of)
    )
    with store.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(query)}


def _centrality(day: Sequence[StoredArticle]) -> dict[int, float]:
    # the share of the day's other articles that carry each keyword, averaged
    if len(day) < 2:
        return {}
    frequency = Counter(k for a in day for k in set(a.keywords))
    others = len(day) - 1
    return {
        a.id: sum((frequency[k] - 1) / others for k in set(a.keywords)) / len(set(a.keywords))
        for a in day
        if a.keywords
    }


def _item(article: StoredArticle, also_reported: int, centrality: float) -> DigestItem:
    return DigestItem(
        article_id=article.id,
        title=article.title,
        summary=article.summary,
        headings=article.summary_headings,
        keywords=article.keywords,
        source=article.source_name,
        category=article.category,
        published=article.published,
        url=article.url,
        path=article.path,
        also_reported=also_reported,
        centrality=round(centrality, 4),  # rounded: float noise must not reorder ties
    )
