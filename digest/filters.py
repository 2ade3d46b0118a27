"""What a user types into /subscribe: `金融, 每经网, 比特币, !广告, 来源：新华社`.

The fields are the search's (`query.field_of`: `cat:`/`分类：`, `source:`/`来源：`, either
colon), so `/subscribe 分类：科技` and `/search 分类：科技` mean the same category. A
subscription adds its own shorthand: a bare word that is a known category or source name
is taken as one, `!word` excludes, anything else is a keyword; entries are separated by
commas, `、`, semicolons or spaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .compose import DigestFilter
from .query import CATEGORY, SINCE, QueryError, field_of, join_fields
from .store import KnownNames

_SPLIT = re.compile(r"[,，、;；\s]+")
_EXCLUDE = ("!", "！")


def parse_filter(known: KnownNames | Callable[[], KnownNames], text: str) -> DigestFilter:
    """The subscription `text` asks for; `known` (or a function that reads them, called only
    when a bare word needs it) tells categories and sources from keywords. Raises
    `QueryError` for `since:` (each digest brings what is new) and for a field with no value."""
    wanted: dict[str, list[str]] = {"categories": [], "sources": [], "keywords": [], "excluded": []}
    names = known if isinstance(known, KnownNames) else None
    for word in _SPLIT.split(join_fields(text)):
        if not word:
            continue
        found = field_of(word)
        if word.startswith(_EXCLUDE):
            if len(word) == 1:  # `!` alone: excluding "!" would hide nothing, or everything
                raise QueryError("query_exclude_empty", word=word)
            wanted["excluded"].append(word[1:])
        elif found is not None:
            field, value = found
            if field == SINCE:
                raise QueryError("query_subscribe_since", word=word)
            if not value:
                raise QueryError("query_field_empty", word=word)
            wanted["categories" if field == CATEGORY else "sources"].append(value)
        else:
            if names is None:
                names = known() if callable(known) else known
            if word in names.categories:
                wanted["categories"].append(word)
            elif word in names.sources:
                wanted["sources"].append(word)
            else:
                wanted["keywords"].append(word)
    return DigestFilter(**{kind: tuple(dict.fromkeys(entries)) for kind, entries in wanted.items()})
