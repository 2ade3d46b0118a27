"""Batch summarising of JSON lines: `{"id", "text", "title"?, "max_chars"?}` in,
`{"id", "summary", "sentences"}` out, in input order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .summarize import summarize_text


@dataclass(frozen=True)
class BatchResult:
    """One output line, and the problem with its input line if it had one."""

    line: int
    record: dict[str, Any]
    error: str | None = None


def summarize_lines(lines: Iterable[str], default_max_chars: int) -> Iterator[BatchResult]:
    """Summarise each JSON line; a bad line yields an error record and the rest go on."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        yield _one(number, raw, default_max_chars)


def _one(number: int, raw: str, default_max_chars: int) -> BatchResult:
    try:
        item = json.loads(raw)
    except json.JSONDecodeError as exc:
        return _failed(number, None, f"not JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(item, dict):
        return _failed(number, None, "not a JSON object")
    ident = item.get("id")
    text, title, budget = item.get("text"), item.get("title"), item.get("max_chars", default_max_chars)
    if not isinstance(text, str):
        return _failed(number, ident, 'missing "text" string')
    if title is not None and not isinstance(title, str):
        return _failed(number, ident, '"title" must be a string or null')
    if budget is None:
        budget = default_max_chars
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        return _failed(number, ident, '"max_chars" must be a positive integer')
    summary = summarize_text(text, budget, title)
    sentences = [s.text for s in summary.sentences]
    return BatchResult(number, {"id": ident, "summary": "".join(sentences), "sentences": sentences})


def _failed(number: int, ident: object, reason: str) -> BatchResult:
    record = {"id": ident, "summary": "", "sentences": [], "error": reason}
    return BatchResult(number, record, reason)
