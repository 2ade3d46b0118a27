"""Plain-text rendering of replies and digests: what the console prints."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from digest.plaintext import render_daily, render_search

from .router import Reply


def reply_text(reply: Reply, zone: ZoneInfo) -> str:
    """A reply as plain text (the console, and any platform without markup)."""
    parts = [reply.text] if reply.text else []
    if reply.search is not None:
        parts.append(render_search(reply.search, zone))
        if reply.search.pages > reply.search.page:
            more = "发送 /more 查看下一页" if reply.language == "zh" else "send /more for the next page"
            parts.append(more)
    if reply.digest is not None:
        parts.append(render_daily(reply.digest))
    for number, article in enumerate(reply.articles, 1):
        when = article.published.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        lines = [f"{number}. {article.title}", "   " + " · ".join(x for x in (article.source_name, when) if x)]
        lines += [f"   {s}" for s in article.summary[:2]]
        if article.url or article.path:
            lines.append(f"   {article.url or article.path}")
        parts.append("\n".join(lines))
    return "\n".join(parts)
