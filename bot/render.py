"""Plain-text rendering of replies and digests: what the console prints."""

from __future__ import annotations

from digest.dates import shown_time
from digest.messages import say
from digest.plaintext import render_daily, render_search

from .adapter import Reply


def reply_text(reply: Reply) -> str:
    """A reply as plain text (the console, and any platform without markup), in the
    reply's language and zone."""
    zone, language = reply.zone, reply.language
    parts = [reply.text] if reply.text else []
    if reply.search is not None:
        parts.append(render_search(reply.search, zone, language))
        if reply.search.next_page is not None:
            parts.append(say("search_more", language))
    if reply.digest is not None:
        parts.append(render_daily(reply.digest, language))
    for number, article in enumerate(reply.articles, 1):
        when = shown_time(article.published, zone, article.date_only)
        lines = [f"{number}. {article.title}", "   " + " · ".join(x for x in (article.source_name, when) if x)]
        lines += [f"   {s}" for s in article.summary[:2]]
        if article.url:  # never a path on disk: a post without a link is its title and source
            lines.append(f"   {article.url}")
        parts.append("\n".join(lines))
    return "\n".join(parts)
