"""What a user types into /search: words, and filters (`source:每经网 cat:金融 since:7d`).

Whatever the text holds — quotes, `*`, `NEAR`, `AND`, `-`, `:`, SQL, emoji, 10,000
characters — it only ever becomes a list of plain words here; the search engines never
see it raw.

The field grammar (`field_of`) is also the one `/subscribe` reads (`filters.py`), so a
field written one way means the same in both commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

from .dates import in_range
from .errors import DigestError
from .messages import say
from .text import query_words, subwords

MAX_QUERY_CHARS = 200  # longer text is cut here; the query says it was
MAX_TERMS = 24
SOURCE, CATEGORY, SINCE = "source", "category", "since"  # the fields a word can name
_FIELD_NAMES = {
    "source": SOURCE, "src": SOURCE, "来源": SOURCE,
    "cat": CATEGORY, "category": CATEGORY, "分类": CATEGORY,
    "since": SINCE, "自": SINCE,
}
_PREFIX = "|".join(_FIELD_NAMES)
_FIELD = re.compile(rf"^({_PREFIX})[:：](.*)$", re.I | re.S)
# `分类： 科技`: Chinese input methods often put a space after the full-width colon
_GAP = re.compile(rf"(?<![^\s,，、;；])({_PREFIX})([:：])\s+(?=\S)", re.I)
_QUOTES = "\"'“”"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RELATIVE = re.compile(r"^(\d{1,5})\s*(h|d|w|m|y|小时|天|日|周|月|年)$", re.I)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_UNIT_DAYS = {"d": 1, "天": 1, "日": 1, "w": 7, "周": 7, "m": 30, "月": 30, "y": 365, "年": 365}


class QueryError(DigestError):
    """A filter the user typed cannot be understood, or there is nothing to search for.

    `code` is the message catalogue's key for the text that says how to write it, and
    `params` fill that text: a chat is told in its own language; the exception's message
    is the English text (for the CLI and the logs).
    """

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(say(code, "en", **params))
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Query:
    """A parsed search: the words to find and the filters to apply."""

    text: str  # the free text, filters taken out
    # Every group must match; a group is met by any of its alternatives, an alternative
    # when all its words are indexed for the article. A longer word's alternative is
    # the words inside it (金融市场: 金融 and 市场), since the article's text may have been
    # segmented otherwise (金融/市场化).
    groups: tuple[tuple[tuple[str, ...], ...], ...] = ()
    chars: tuple[str, ...] = ()  # single-character words: matched in the text itself
    source: str | None = None
    category: str | None = None
    since: datetime | None = None
    truncated: bool = False  # the text was longer than MAX_QUERY_CHARS

    @property
    def empty(self) -> bool:
        """True when there is nothing to search for and nothing to filter on."""
        return not (self.groups or self.chars or self.source or self.category or self.since)

    @property
    def terms(self) -> tuple[str, ...]:
        """Every word of the groups, once: what a snippet marks."""
        return tuple(dict.fromkeys(w for group in self.groups for option in group for w in option))


def parse_query(raw: str, *, now: datetime, tz: tzinfo) -> Query:
    """Split filters from words; raises `QueryError` for a filter it cannot read."""
    truncated = len(raw) > MAX_QUERY_CHARS
    raw = _CONTROL.sub(" ", raw[:MAX_QUERY_CHARS])  # NUL and friends: PostgreSQL refuses them
    filters: dict[str, str] = {}
    words: list[str] = []
    for part in join_fields(raw).split():
        found = field_of(part)
        if found is None:
            words.append(part)
        elif not found[1]:  # `since:` with nothing after it: /subscribe refuses it too
            raise QueryError("query_field_empty", word=part)
        else:
            filters[found[0]] = found[1]
    text = " ".join(words)
    groups: list[tuple[tuple[str, ...], ...]] = []
    chars: list[str] = []
    for word in dict.fromkeys(query_words(text)):
        if len(word) == 1:
            chars.append(word)
            continue
        inside = _covering_pairs(word)
        groups.append(((word,), inside) if inside else ((word,),))
    return Query(
        text=text,
        groups=tuple(groups[:MAX_TERMS]),
        chars=tuple(chars[:MAX_TERMS]),
        source=filters.get(SOURCE),
        category=filters.get(CATEGORY),
        since=parse_since(filters[SINCE], now=now, tz=tz) if SINCE in filters else None,
        truncated=truncated,
    )


def join_fields(text: str) -> str:
    """`分类： 科技` → `分类：科技`: a field name and its value, split by a space after the colon,
    made one word again."""
    return _GAP.sub(r"\1\2", text)


def field_of(word: str) -> tuple[str, str] | None:
    """(field, value) for a word that names a field — `分类：科技` → ("category", "科技"), either
    colon, any case, quotes around the value dropped (the value may be empty); None for a
    plain word."""
    match = _FIELD.match(word)
    if match is None:
        return None
    return _FIELD_NAMES[match.group(1).lower()], match.group(2).strip(_QUOTES)


def _covering_pairs(word: str) -> tuple[str, ...]:
    # the two-character words inside `word`, when together they cover all of it
    inside = set(subwords(word))
    starts = [i for i in range(len(word) - 1) if word[i : i + 2] in inside]
    covered = {j for i in starts for j in (i, i + 1)}
    return tuple(dict.fromkeys(word[i : i + 2] for i in starts)) if len(covered) == len(word) else ()


def parse_since(value: str, *, now: datetime, tz: tzinfo) -> datetime:
    """`7d`, `12h`, `2w`, `3m`, `1y` (or 7天, 2周…) before `now`, or a date `2021-04-01`
    (its midnight in `tz`)."""
    relative = _RELATIVE.match(value.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        span = timedelta(hours=amount) if unit in ("h", "小时") else timedelta(days=amount * _UNIT_DAYS[unit])
        try:
            return max(now - span, _EPOCH)  # since:99999y is 'since ever'
        except OverflowError:
            return _EPOCH
    try:
        day = date.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        raise QueryError("query_bad_since", value=value) from None
    if not in_range(day):  # 0001-01-01 overflowed in the database, 9999-12-31 finds nothing
        raise QueryError("query_since_range", value=value)
    return datetime(day.year, day.month, day.day, tzinfo=tz)
