"""The plain-text digest of one article: what the CLI and the console print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from .article import Article
from .dates import DEFAULT_TZ
from .summarize import Summary


@dataclass(frozen=True)
class ArticleDigest:
    """An article with its summary: the value the text and JSON outputs are made from."""

    article: Article
    summary: Summary

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the digest."""
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


def render_text(digest: ArticleDigest, tz: tzinfo = DEFAULT_TZ) -> str:
    """Title, source and date, key headings, key sentences, keywords and link, as text."""
    a, s = digest.article, digest.summary
    when = a.published.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if a.date_from_file:
        when += "（无发布日期，取自文件修改时间）"
    lines = [a.title, " · ".join(x for x in (a.source, when) if x)]
    if s.headings:
        lines.append("小标题：" + "｜".join(s.headings))
    if s.sentences:
        lines.append("摘要：")
        lines.extend(f"• {x.text}{'…' if x.clipped else ''}" for x in s.sentences)
    if s.keywords:
        lines.append("关键词：" + "、".join(s.keywords))
    if a.url:
        lines.append("链接：" + a.url)
    elif a.path:
        lines.append("文件：" + a.path)
    return "\n".join(lines)
