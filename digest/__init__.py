"""digestbot's core library: articles, Chinese text, summaries, the store, search and the
daily digest. No chat platform here."""

from .article import Article, Block
from .errors import ArticleError, DigestError
from .parse import parse_article, read_article
# `summarize` the function stays in `digest.summarize`: re-exporting it here would hide
# the module of the same name.
from .summarize import Summary, summarize_text

__version__ = "0.1.0"

__all__ = [
    "Article",
    "ArticleError",
    "Block",
    "DigestError",
    "Summary",
    "parse_article",
    "read_article",
    "summarize_text",
]
