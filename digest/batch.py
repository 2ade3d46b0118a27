"""Batch summarising of JSON lines: `{"id", "text", "title"?, "max_chars"?}` in,
`{"id", "summary", "sentences"}` out, in input order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .clean import cut_body
from .summarize import summarize_text


@dataclass(frozen=True)
class BatchResult:
    """One output line, and the problem with its input line if it had one."""

    line: int
    record: dict[str, Any]
    error: str | None = None


def summarize_lines(lines: Iterable[str | bytes], default_max_chars: int) -> Iterator[BatchResult]:
    """Summarise each JSON line (text, or bytes decoded here one line at a time, so a line
    that is not UTF-8 fails alone); a bad line yields an error record and the rest go on."""
    for number, raw in enumerate(lines, start=1):
        try:
            text = _decoded(raw, first=number == 1)
        except UnicodeDecodeError as exc:
            yield _failed(number, None, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})")
            continue
        if not text.strip():
            continue
        try:
            yield _one(number, text, default_max_chars)
        except Exception as exc:  # a summariser bug must not stop the batch; the line is named
            yield _failed(number, None, f"unexpected error: {exc!r}")


def _decoded(raw: str | bytes, *, first: bool) -> str:
    if isinstance(raw, str):
        return raw
    return raw.decode("utf-8-sig" if first else "utf-8")


def _one(number: int, raw: str, default_max_chars: int) -> BatchResult:
    try:
        item = json.loads(raw)
    except json.JSONDecodeError as exc:
        return _failed(number, None, f"not JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return _failed(number, None, "not JSON this program reads (nested too deeply)")
    if not isinstance(item, dict):
        return _failed(number, None, "not a JSON object")
    ident = item.get("id")
    if _unprintable(json.dumps(ident, ensure_ascii=False)):
        return _failed(number, None, '"id" holds a lone surrogate (\\udxxx), which is not text')
    text, title, budget = item.get("text"), item.get("title"), item.get("max_chars", default_max_chars)
    if not isinstance(text, str):
        return _failed(number, ident, 'missing "text" string')
    if title is not None and not isinstance(title, str):
        return _failed(number, ident, '"title" must be a string or null')
    if _unprintable(text) or _unprintable(title):
        # a lone surrogate (\ud800) is no character: the output line could not be written
        return _failed(number, ident, '"text" or "title" holds a lone surrogate (\\udxxx), which is not text')
    if budget is None:
        budget = default_max_chars
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        return _failed(number, ident, '"max_chars" must be a positive integer')
    summary = summarize_text(cut_body(text), budget, title)  # a post's body cap: one line costs what a post may
    sentences = [s.text for s in summary.sentences]
    return BatchResult(number, {"id": ident, "summary": "".join(sentences), "sentences": sentences})


def _unprintable(value: object) -> bool:
    return isinstance(value, str) and any("\ud800" <= ch <= "\udfff" for ch in value)


def _failed(number: int, ident: object, reason: str) -> BatchResult:
    record = {"id": ident, "summary": "", "sentences": [], "error": reason}
    return BatchResult(number, record, reason)
