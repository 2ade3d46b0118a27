"""Plain text: an article's card, search results, the daily digest — what the CLI and
the console print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo
from typing import Any

from .article import Article
from .compose import OTHER, DailyDigest
from .dates import DEFAULT_TZ, shown_day
from .messages import say
from .search import CANDIDATES, SearchPage
from .summarize import Summary


@dataclass(frozen=True)
class ArticleCard:
    """An article with its summary: the card the text and JSON outputs are made from."""

    article: Article
    summary: Summary

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the card."""
        a, s = self.article, self.summary
        return {
            "title": a.title,
            "source": a.source,
            "categories": list(a.categories),
            "published": a.published.isoformat(),
            "date_from_file": a.date_from_file,
            "url": a.url,
            "path": a.path,
            "headings": list(s.headings),
            "summary": s.text,
            "sentences": [x.text for x in s.sentences],
            "keywords": list(s.keywords),
            "from_title": s.from_title,
        }


def render_text(card: ArticleCard, tz: tzinfo = DEFAULT_TZ, language: str = "zh") -> str:
    """Title, source and date, key headings, key sentences, keywords and link, as text."""
    a, s = card.article, card.summary
    when = a.published.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if a.date_from_file:
        when += say("article_date_from_file", language)
    lines = [a.title, " · ".join(x for x in (a.source, when) if x)]
    if s.headings:
        lines.append(say("article_headings", language,
                         headings=say("article_headings_joiner", language).join(s.headings)))
    if s.from_title:  # the body only repeats the title: say so rather than print it again
        lines.append(say("article_title_only", language))
    elif s.sentences:
        lines.append(say("article_summary", language))
        lines.extend(f"• {x.text}{'…' if x.clipped else ''}" for x in s.sentences)
    if s.keywords:
        lines.append(say("article_keywords", language, keywords=say("list_joiner", language).join(s.keywords)))
    if a.url:
        lines.append(say("article_link", language, url=a.url))
    elif a.path:
        lines.append(say("article_file", language, path=a.path))
    return "\n".join(lines)


def render_search(page: SearchPage, tz: tzinfo = DEFAULT_TZ, language: str = "zh") -> str:
    """A page of search results as text, hits marked 【like this】."""
    if not page.hits and page.total:
        return say("search_no_page", language, page=page.page, pages=page.pages)
    if not page.hits:
        return say("search_none", language, query=searched_for(page, tz))
    counts = {"total": page.total, "page": page.page, "pages": page.pages}
    found = (say("search_found_capped", language, matched=page.matched, candidates=CANDIDATES, **counts)
             if page.capped else say("search_found", language, **counts))
    lines = [found + (say("search_truncated", language) if page.query.truncated else "")]
    first = (page.page - 1) * page.limit
    for number, hit in enumerate(page.hits, first + 1):
        a = hit.article
        when = shown_day(a.published, tz, a.date_only)
        lines.append(f"{number}. {a.title}")
        lines.append("   " + " · ".join(x for x in (a.source_name, a.category, when) if x))
        lines.append("   " + hit.snippet.marked())
        if a.url:  # never a path on disk: it means nothing to a reader
            lines.append("   " + a.url)
    return "\n".join(lines)


def render_daily(digest: DailyDigest, language: str = "zh") -> str:
    """A digest as text: sections by category, each story's summary and link, then the
    stories beyond those by title."""
    title = say("digest_title_zone", language, title=digest_title(digest, language), zone=digest.timezone)
    if digest.empty:
        return f"{title}\n{say('digest_nothing_new', language)}"
    lines = [title + (f"\n{covers(digest, language)}" if digest.kind != "day" else "")]
    for section in digest.sections:
        lines.append(f"\n【{section_name(section.category, language)}】")
        for item in section.items:
            also = say("digest_also_reported", language, count=item.also_reported) if item.also_reported else ""
            lines.append(f"• {item.title}{also}")
            if item.source:
                lines.append("  " + say("digest_source", language, source=item.source))
            lines.extend(f"  {sentence}" for sentence in item.summary)
            if item.url:
                lines.append(f"  {item.url}")
    if digest.titles:
        lines.append("\n" + say("digest_more", language))
        lines.extend(f"• {item.title}" + (f" {item.url}" if item.url else "") for item in digest.titles)
    if digest.left_out:
        lines.append("\n" + say("digest_left_out", language, count=digest.left_out))
    return "\n".join(lines)


def digest_title(digest: DailyDigest, language: str = "zh") -> str:
    """The digest's heading: the scheduled digest, or the preview `/digest` shows, and its day."""
    return say("digest_preview_title" if digest.preview else "digest_title", language, day=digest.day.isoformat())


def section_name(category: str, language: str = "zh") -> str:
    """A digest section's heading: its category, or the catalogue's word for the
    stories that have none."""
    return say("digest_other", language) if category == OTHER else category


def covers(digest: DailyDigest, language: str = "zh") -> str:
    """What the digest covers, in words: since when, or the day before."""
    zone = ZoneInfo(digest.timezone)
    start = digest.start.astimezone(zone).strftime("%m-%d %H:%M")
    end = digest.end.astimezone(zone).strftime("%m-%d %H:%M")
    key = "digest_covers_first" if digest.kind == "first" else "digest_covers_since"
    return say(key, language, start=start, end=end)


def searched_for(page: SearchPage, tz: tzinfo = DEFAULT_TZ) -> str:
    """What a search looked for, as a reader would say it again: its words, then its
    filters (since: as the day it reaches back to), which may be what left nothing."""
    q = page.query
    since = f"since:{q.since.astimezone(tz).date().isoformat()}" if q.since else ""
    parts = [q.text, f"source:{q.source}" if q.source else "", f"cat:{q.category}" if q.category else "", since]
    return " ".join(p for p in parts if p)
