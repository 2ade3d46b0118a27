"""The digest: the articles of a window, filtered, near-duplicates folded, ranked, grouped
by category.

A window is what a digest covers. A chat's scheduled digest holds what was stored since
its previous one (`Window.since`); its first holds the day before it (`Window.first`);
the calendar view holds what was published on a date (`Window.calendar_day`). Which
windows a chat gets is the bot's business; this module only composes one.

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
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from .schema import articles
from .store import Store, StoredArticle

DEFAULT_MAX_ITEMS = 12  # stories shown with their summaries
MAX_TITLES = 100  # stories beyond those, shown by title (a few messages); the rest are counted
FIRST_LOOKBACK = timedelta(hours=24)  # a chat's first digest: what was published in the day before
OTHER = "其他"  # the section of articles without a category

SINCE, FIRST, DAY = "since", "first", "day"
ITEM, TITLE, FOLDED = "item", "title", "folded"  # how a chat is shown an article in a digest


@dataclass(frozen=True)
class Window:
    """Which articles a digest covers, and the time zone it is shown in."""

    kind: str  # SINCE: stored in [start, end); FIRST: stored before end, published (or stored) in the day before; DAY: published in [start, end)
    start: datetime
    end: datetime
    timezone: str
    stored_since: datetime | None = None  # FIRST: also what was stored since then (the subscription)

    @classmethod
    def since(cls, start: datetime, end: datetime, tz: ZoneInfo) -> Window:
        """What was stored (first ingested) from `start` until `end`."""
        return cls(SINCE, start, end, tz.key)

    @classmethod
    def first(cls, end: datetime, tz: ZoneInfo, stored_since: datetime | None = None) -> Window:
        """A chat's first digest: published in the 24 hours before `end`, or stored since
        `stored_since` (it subscribed then), and stored before `end`."""
        return cls(FIRST, end - FIRST_LOOKBACK, end, tz.key, stored_since)

    @classmethod
    def calendar_day(cls, day: date, tz: ZoneInfo) -> Window:
        """What was published on `day` in `tz`, midnight to midnight."""
        start, end = day_window(day, tz)
        return cls(DAY, start, end, tz.key)

    @property
    def zone(self) -> ZoneInfo:
        """The time zone as a `ZoneInfo`."""
        return ZoneInfo(self.timezone)

    @property
    def day(self) -> date:
        """The date the digest is labelled with: the calendar day, or the day it ends."""
        if self.kind == DAY:
            return self.start.astimezone(self.zone).date()
        return (self.end - timedelta(microseconds=1)).astimezone(self.zone).date()

    def where(self) -> Any:
        """The SQL condition on `articles` that selects the window."""
        a = articles.c
        if self.kind == SINCE:
            return sa.and_(a.ingested_at >= self.start, a.ingested_at < self.end)
        if self.kind == DAY:
            return sa.and_(a.published >= self.start, a.published < self.end)
        recent = a.published >= self.start
        if self.stored_since is not None:
            recent = sa.or_(recent, a.ingested_at >= self.stored_since)
        return sa.and_(a.ingested_at < self.end, recent)


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
    centrality: float = 0.0  # share of the window's articles on its keywords (see the module doc)
    date_only: bool = False  # the article gave a date without a time of day


@dataclass(frozen=True)
class DigestSection:
    """The items of one category, best first."""

    category: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True)
class DailyDigest:
    """A digest: the window it covers and its sections, best section first."""

    day: date
    timezone: str
    start: datetime
    end: datetime
    sections: tuple[DigestSection, ...]
    considered: int  # stories of the window that passed the filter
    left_out: int  # of those, the ones neither shown nor titled (only counted)
    window_total: int = 0  # articles in the window before the filter
    titles: tuple[DigestItem, ...] = ()  # stories beyond the summarised ones, shown by title
    kind: str = DAY
    preview: bool = False  # shown on demand (/digest): what the next digest will bring so far
    # every article the digest shows, and how (ITEM, TITLE, FOLDED): what a chat has had
    contents: tuple[tuple[int, str], ...] = ()
    # the articles whose earlier delivery to a chat would change this digest (see `compose`)
    related: frozenset[int] = field(default_factory=frozenset)

    @property
    def items(self) -> list[DigestItem]:
        """Every summarised item, section by section."""
        return [item for section in self.sections for item in section.items]

    @property
    def empty(self) -> bool:
        """True when the window had nothing for this digest (it is then not sent)."""
        return not self.sections

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the digest."""
        return {
            "date": self.day.isoformat(),
            "timezone": self.timezone,
            "window": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "considered": self.considered,
            "left_out": self.left_out,
            "sections": [{"category": s.category, "items": [_item_dict(i) for i in s.items]} for s in self.sections],
            "titles": [_item_dict(i) for i in self.titles],
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
    """The calendar-day digest: what was published on `day` in `tz`."""
    return compose(store, Window.calendar_day(day, tz), digest_filter=digest_filter, max_items=max_items)


def compose(
    store: Store,
    window: Window,
    *,
    digest_filter: DigestFilter | None = None,
    already_had: Callable[[frozenset[int]], Collection[int]] | None = None,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> DailyDigest:
    """The digest of `window`: filtered, near-duplicates folded, ranked, grouped.

    `already_had(ids)` says which of the window's articles (and the first tellings they
    retell) the chat already had. A near-duplicate whose first telling it had is left
    out; one whose first telling it never had is news to it and stands for the story.
    `related` on the result lists the ids asked about, so a caller can share one digest
    among chats that had none of them.
    """
    found = _window(store, window)
    chosen = [a for a in found if digest_filter is None or digest_filter.matches(a)]
    related = frozenset(a.id for a in chosen) | {a.duplicate_of for a in chosen if a.duplicate_of is not None}
    seen = set(already_had(related)) if already_had is not None and related else set()
    stories, folded = _fold(chosen, seen)
    centrality = _centrality([a for a in found if a.duplicate_of is None or a.id in stories])
    ranked = sorted(
        (_item(a, len(folded.get(a.id, ())), centrality.get(a.id, 0.0)) for a in stories.values()),
        key=_rank,
    )
    shown, titled, counted = ranked[:max_items], ranked[max_items : max_items + MAX_TITLES], ranked[max_items + MAX_TITLES :]
    # what the chat is shown: a story only counted ("N more") is not had; it may come again
    # in a first digest after a re-subscription, and a retelling of it is news
    contents = [(i.article_id, ITEM) for i in shown] + [(i.article_id, TITLE) for i in titled]
    contents += [(d, FOLDED) for i in [*shown, *titled] for d in folded.get(i.article_id, ())]
    return DailyDigest(
        day=window.day,
        timezone=window.timezone,
        start=window.start,
        end=window.end,
        sections=_sections(shown),
        considered=len(ranked),
        left_out=len(counted),
        window_total=len(found),
        titles=tuple(titled),
        kind=window.kind,
        contents=tuple(contents),
        related=related,
    )


def _window(store: Store, window: Window) -> list[StoredArticle]:
    query = sa.select(articles).where(window.where()).order_by(articles.c.ingested_at, articles.c.id)
    with store.connect() as conn:
        return [StoredArticle.from_row(row) for row in conn.execute(query)]


def _fold(chosen: list[StoredArticle], seen: set[int]) -> tuple[dict[int, StoredArticle], dict[int, list[int]]]:
    # The stories (by the id of the article that stands for each) and the near-duplicates
    # folded into them. A story's first telling stands for it when it is in the window;
    # otherwise its earliest retelling does, unless the chat had the first telling already.
    stories: dict[int, StoredArticle] = {}
    folded: dict[int, list[int]] = {}
    standing: dict[int, int] = {}  # first telling -> the article standing for it
    for article in sorted(chosen, key=lambda a: a.id):  # a first telling precedes its retellings
        first = article.duplicate_of
        if article.id in seen:
            continue
        if first is None:
            stories[article.id] = article
            standing[article.id] = article.id
        elif first in standing:
            folded.setdefault(standing.get(first, first), []).append(article.id)
        elif first not in seen:
            stories[article.id] = article
            standing[first] = article.id
    return stories, folded


def _rank(item: DigestItem) -> tuple[Any, ...]:
    return (-item.also_reported, -item.centrality, -item.published.timestamp(), item.article_id)


def _sections(items: list[DigestItem]) -> tuple[DigestSection, ...]:
    # A section is as good as its best story; of two equally good, the bigger comes first.
    by_category: dict[str, list[DigestItem]] = {}
    for item in items:  # best first, so each section's items are in rank order
        by_category.setdefault(item.category or OTHER, []).append(item)
    order = sorted(by_category.items(), key=lambda kv: (_rank(kv[1][0]), -len(kv[1])))
    return tuple(DigestSection(category, tuple(its)) for category, its in order)


def _centrality(window: Sequence[StoredArticle]) -> dict[int, float]:
    # the share of the window's other articles that carry each keyword, averaged
    if len(window) < 2:
        return {}
    frequency = Counter(k for a in window for k in set(a.keywords))
    others = len(window) - 1
    return {
        a.id: sum((frequency[k] - 1) / others for k in set(a.keywords)) / len(set(a.keywords))
        for a in window
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
        date_only=article.date_only,
    )


def _item_dict(i: DigestItem) -> dict[str, Any]:
    return {
        "id": i.article_id,
        "title": i.title,
        "summary": list(i.summary),
        "headings": list(i.headings),
        "keywords": list(i.keywords),
        "source": i.source,
        "published": i.published.date().isoformat() if i.date_only else i.published.isoformat(),
        "url": i.url,
        "path": i.path,
        "also_reported": i.also_reported,
    }
