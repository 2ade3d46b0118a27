"""Read a post file (Hexo front matter + HTML or Markdown body) into an `Article`."""

from __future__ import annotations

import codecs
import logging
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from .article import Article, Block
from .clean import MAX_BODY_CHARS, NestingError, clean_body, cut_body
from .dates import DEFAULT_TZ, in_range, is_date_only, parse_date
from .errors import ArticleError

MAX_FILE_BYTES = 10 * 1024 * 1024  # a post is a few KB; anything this big is not a post
_URL_KEYS = ("link", "url", "permalink", "source_url", "original_url")
_IMAGE_KEYS = ("headimg", "thumbnail", "cover", "image")
# A title is a line, not a text: longer ones are cut here (the rest dropped, an ellipsis
# says so), so a 1 MB title costs no more than a sentence wherever it is read. News titles
# run to a few dozen characters; this is one piece jieba is given (text.MAX_CUT_CHARS).
MAX_TITLE_CHARS = 500
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML has it
log = logging.getLogger(__name__)


class _Loader(_BASE_LOADER):
    """The safe loader, but a timestamp that is no date (2021-02-30, minute 60, +99:00,
    year 0) stays the text it was: the post's date is then unreadable, not the post."""


def _timestamp_or_text(loader: Any, node: yaml.ScalarNode) -> object:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def read_article(path: str | os.PathLike[str]) -> Article:
    """Read and parse one post file; raises `ArticleError` naming the file and the reason."""
    name = str(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise ArticleError(name, f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit")
        data = Path(path).read_bytes()
        mtime = os.path.getmtime(path)
    except OSError as exc:
        raise ArticleError(name, exc.strerror or str(exc)) from exc
    return article_from_bytes(data, name, mtime)


def article_from_bytes(data: bytes, path: str, mtime: float) -> Article:
    """Parse the bytes of a post file read elsewhere (`mtime` dates an undated post)."""
    text = decode_text(data, path)
    return parse_article(text, path=path, fallback_title=Path(path).stem, modified=_file_time(mtime))


def _file_time(mtime: float) -> datetime:
    # a file touched to year 9999 (or 1) is dated now: such a time overflows in another zone
    now = datetime.now(timezone.utc).astimezone(DEFAULT_TZ)
    try:
        moment = datetime.fromtimestamp(mtime, timezone.utc).astimezone(DEFAULT_TZ)
    except (OverflowError, ValueError, OSError):
        return now
    return moment if in_range(moment) else now


def decode_text(data: bytes, name: str = "<bytes>") -> str:
    """Decode a post: UTF-8 with or without BOM, else GB18030 (a superset of GBK)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\x00" in data[:8192]:
        raise ArticleError(name, "binary file, not a text article")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ArticleError(name, "text is neither UTF-8 nor GBK/GB18030") from exc
    if _control_ratio(text) > 0.01:
        raise ArticleError(name, "binary file, not a text article")
    # A stray escape or backspace code is invisible junk in a digest: dropped.
    return _CONTROL.sub("", text)


def parse_article(
    text: str,
    *,
    path: str | None = None,
    fallback_title: str = "",
    modified: datetime | None = None,
) -> Article:
    """Parse post text: front matter when present, then the body; missing dates fall back
    to `modified` (the file's mtime) and the article records that it did."""
    name = path or "<text>"
    meta, body = _split_front_matter(text, name)
    if len(body) > MAX_BODY_CHARS:
        log.warning("post %s: body is %s characters; only the first %s are read", name, f"{len(body):,}",
                    f"{MAX_BODY_CHARS:,}")
        body = cut_body(body)
    try:
        blocks = clean_body(body)
    except NestingError as exc:
        raise ArticleError(name, str(exc)) from exc
    title = _title(meta, body, blocks, fallback_title)
    published = parse_date(meta.get("date"))
    date_from_file = published is None
    if published is None:
        published = modified or datetime.now(timezone.utc)
    categories = _string_list(meta.get("categories") or meta.get("category"))
    source = str(meta.get("author") or meta.get("source") or "").strip()
    if not source and len(categories) >= 2:
        source = categories[1]
    return Article(
        title=title,
        blocks=tuple(blocks),
        published=published,
        date_from_file=date_from_file,
        date_only=not date_from_file and is_date_only(meta.get("date")),
        source=source,
        categories=tuple(categories),
        url=_first(meta, _URL_KEYS),
        path=path,
        image=_first(meta, _IMAGE_KEYS),
    )


def _split_front_matter(text: str, name: str) -> tuple[dict[str, Any], str]:
    # Generators often put a blank line before the opening `---`; python-frontmatter
    # only recognises front matter at the very start.
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped.startswith("---"):
        return {}, text
    try:
        post = frontmatter.loads(stripped, handler=_NoAliasYAML(name))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (front matter line {mark.line + 1})" if mark is not None else ""
        raise ArticleError(name, f"broken YAML front matter{where}: {_first_line(exc)}") from exc
    if not isinstance(post.metadata, dict):
        raise ArticleError(name, "front matter is not a mapping of keys to values")
    return dict(post.metadata), post.content


def cap_title(title: str, limit: int = MAX_TITLE_CHARS) -> str:
    """`title` cut to `limit` characters, an ellipsis in place of what was dropped."""
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


class _NoAliasYAML(YAMLHandler):
    # Front matter with aliases is refused before it is loaded: 557 bytes of nested aliases
    # (a "billion laughs") expand to 10 GB once the title or categories are read.
    # A post's front matter has no use for them.

    def __init__(self, name: str) -> None:
        self.name = name

    def load(self, fm: str, **kwargs: object) -> Any:
        for event in yaml.parse(fm, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark is not None else 0
                raise ArticleError(
                    self.name, f"front matter uses a YAML alias (*{event.anchor}, front matter line {line}): "
                    "aliases are refused, they can expand without bound"
                )
        return yaml.load(fm, Loader=_Loader)


def _title(meta: dict[str, Any], body: str, blocks: list[Block], fallback: str) -> str:
    title = str(meta.get("title") or "").strip()
    if not title:
        title = _markdown_title(body) or next((b.text for b in blocks if b.heading), fallback)
    return cap_title(title)


def _markdown_title(body: str) -> str | None:
    # The first `# Title` line (ATX heading, closing #s dropped), read line by line: the
    # regular expression this replaces was cubic on a heading with a run of spaces.
    for line in body.splitlines():
        text = line.strip()
        if len(text) > 1 and text[0] == "#" and text[1].isspace():
            title = text[1:].strip()
            return title.rstrip("#").rstrip() or title
    return None


def _string_list(value: object) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:  # Hexo allows nested lists for category hierarchies
        if isinstance(item, list):
            out.extend(_string_list(item))
        elif item is not None and str(item).strip():
            out.append(str(item).strip())
    return out


def _first(meta: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _control_ratio(text: str) -> float:
    sample = text[:8192]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    return bad / len(sample)
