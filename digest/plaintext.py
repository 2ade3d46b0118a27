"""Plain text: an article's card, search results, the daily digest — what the CLI and
the console print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo
from typing import Any

from .article import Article
from .compose import DailyDigest
from .dates import DEFAULT_TZ, shown_day
from .search import CANDIDATES, SearchPage
from .summarize import Summary


TITLE_ONLY = "（正文只有标题）"


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


def render_text(card: ArticleCard, tz: tzinfo = DEFAULT_TZ) -> str:
    """Title, source and date, key headings, key sentences, keywords and link, as text."""
    a, s = card.article, card.summary
    when = a.published.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if a.date_from_file:
        when += "（无发布日期，取自文件修改时间）"
    lines = [a.title, " · ".join(x for x in (a.source, when) if x)]
    if s.headings:
        lines.append("小标题：" + "｜".join(s.headings))
    if s.from_title:  # the body only repeats the title: say so rather than print it again
        lines.append("摘要：" + TITLE_ONLY)
    elif s.sentences:
        lines.append("摘要：")
        lines.extend(f"• {x.text}{'…' if x.clipped else ''}" for x in s.sentences)
    if s.keywords:
        lines.append("关键词：" + "、".join(s.keywords))
    if a.url:
        lines.append("链接：" + a.url)
    elif a.path:
        lines.append("文件：" + a.path)
    return "\n".join(lines)


def render_search(page: SearchPage, tz: tzinfo = DEFAULT_TZ) -> str:
    """A page of search results as text, hits marked 【like this】."""
    if not page.hits and page.total:
        return f"没有第 {page.page} 页：共 {page.pages} 页。"
    if not page.hits:
        return f"没有找到与“{page.query.text or _filters(page)}”相关的文章。"
    found = f"找到 {page.total} 篇"
    if page.capped:
        found = f"{page.matched} 篇含这些词，在最新的 {CANDIDATES} 篇中找到 {page.total} 篇"
    lines = [f"{found}（第 {page.page}/{page.pages} 页）" + ("，查询过长已截断" if page.query.truncated else "")]
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


def render_daily(digest: DailyDigest) -> str:
    """A digest as text: sections by category, each story's summary and link, then the
    stories beyond those by title."""
    title = f"{digest.day.isoformat()} {'摘要预览' if digest.preview else '每日摘要'}（{digest.timezone}）"
    if digest.empty:
        return f"{title}\n没有新文章。"
    lines = [title + (f"\n{covers(digest)}" if digest.kind != "day" else "")]
    for section in digest.sections:
        lines.append(f"\n【{section.category}】")
        for item in section.items:
            also = f"（另有 {item.also_reported} 篇相似报道）" if item.also_reported else ""
            lines.append(f"• {item.title}{also}")
            if item.source:
                lines.append(f"  来源：{item.source}")
            lines.extend(f"  {sentence}" for sentence in item.summary)
            if item.url:
                lines.append(f"  {item.url}")
    if digest.titles:
        lines.append("\n【更多】")
        lines.extend(f"• {item.title}" + (f" {item.url}" if item.url else "") for item in digest.titles)
    if digest.left_out:
        lines.append(f"\n另有 {digest.left_out} 篇未列出，可用 /search 查找。")
    return "\n".join(lines)


def covers(digest: DailyDigest, language: str = "zh") -> str:
    """What the digest covers, in words: since when, or the day before."""
    zone = ZoneInfo(digest.timezone)
    start = digest.start.astimezone(zone).strftime("%m-%d %H:%M")
    end = digest.end.astimezone(zone).strftime("%m-%d %H:%M")
    if digest.kind == "first":
        return f"{start} 至 {end} 的新文章" if language == "zh" else f"New from {start} to {end}"
    return f"自 {start} 至 {end} 收到的新文章" if language == "zh" else f"Arrived from {start} to {end}"


def _filters(page: SearchPage) -> str:
    q = page.query
    parts = [f"source:{q.source}" if q.source else "", f"cat:{q.category}" if q.category else ""]
    return " ".join(p for p in parts if p)
