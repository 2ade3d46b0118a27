"""Chinese text: sentences, jieba tokens, keywords."""

from __future__ import annotations

import bisect
import logging
import marshal
import math
import os
import re
import tempfile
from collections import Counter
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jieba

jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary loading on every start

# A sentence ends at 。！？ (and ! ? in running text), at a line break, or at an English
# full stop followed by a space; closing quotes and brackets stay with the sentence.
# Semicolons separate clauses: a piece ending in ； is mostly part of an enumeration.
_CLOSERS = "”’\"'」』）)》〉】］\\]"  # a regex character-class body
_BOUNDARY = re.compile(
    rf"(?:[。！？!?]+|\.(?=[{_CLOSERS}]*(?:\s|$))|\n)[{_CLOSERS}]*[ \t\u3000\xa0\r\n]*"
)
# Spans inside which nothing is a boundary: URLs, e-mail addresses, numbers (38.8, 1.2.3).
# Each alternative starts only where a run of its characters starts (the lookbehinds): a
# match inside a run would have matched from the run's start, and trying every position
# of a long run made the scan quadratic (a 40,000-letter word: 6 s).
_PROTECTED = re.compile(
    r"(?:https?|ftp)://[^\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’<>]+"
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<!\d)\d+(?:\.\d+)+"
)
# jieba's HMM copies its best path at every character, quadratic in a run it does not know
# (a 300 KB unpunctuated paragraph: 60 s): longer text is cut in pieces of at most this many
# characters, at a space or punctuation mark in the piece's second half when there is one.
MAX_CUT_CHARS = 500
_CUT_AT = re.compile(r"[\W_]")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt inc ltd co corp plc llc vs etc al fig no vol pp ed eds "
    "jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e u.s u.k u.n a.m p.m ph.d".split()
)
_CLAUSE = re.compile(r"(?<=[，,：:；;])(?!\d)")  # "1,000" and "10:30" are not clause breaks
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")

_TOKEN_SKIP = re.compile(r"^[\W_]+$")  # punctuation and whitespace
_NUMBER = re.compile(r"^[\d.,%％]+$")
_NORMALISE = re.compile(r"[\W_]+")
_CHINESE = re.compile(r"^[\u4e00-\u9fff]+$")
_LATIN = re.compile(r"[A-Za-z]")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; concatenating them gives back `text` exactly."""
    if not text:
        return []
    spans = [m.span() for m in _PROTECTED.finditer(text)]  # in order and apart: finditer's
    starts = [lo for lo, _ in spans]
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        at = match.start()
        # a binary search: testing every span at every boundary was quadratic in long text
        inside = bisect.bisect_right(starts, at) - 1
        if inside >= 0 and at < spans[inside][1]:
            continue
        if text[at] == "." and _is_abbreviation(text, at):
            continue
        sentences.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        sentences.append(text[start:])
    return sentences


def split_clauses(sentence: str) -> list[str]:
    """Split a sentence after its commas, colons and semicolons; concatenation gives it back."""
    return [part for part in _CLAUSE.split(sentence) if part]


def _is_abbreviation(text: str, dot: int) -> bool:
    match = _WORD_BEFORE.search(text, max(0, dot - 12), dot)
    if not match:
        return False
    word = match.group(1).lower().rstrip(".")
    return word in _ABBREVIATIONS or len(word) == 1  # initials: "J. K. Rowling"


def tokenize(text: str) -> list[str]:
    """jieba words of `text`, lower-cased, without punctuation, whitespace or stop words."""
    stop = stopwords()
    return [token for token in _words(text) if token not in stop]


def clear_word_cache() -> None:
    """Forget the cached jieba cuts (benchmarks time text jieba has not seen)."""
    _words.cache_clear()


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    # jieba's words, lower-cased, punctuation and spaces left out. Cached: at ingest the
    # summariser and the search index cut the same sentences, and jieba is most of the cost.
    cut = (t for piece in cut_pieces(text) for t in jieba.cut(piece))
    return tuple(token for token in (t.strip().lower() for t in cut) if _is_word(token))


def cut_pieces(text: str, limit: int = MAX_CUT_CHARS) -> list[str]:
    """`text` in pieces of at most `limit` characters for jieba, each ending at a space or
    punctuation mark in its second half when it has one; concatenated they give `text`."""
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        end = start + limit
        gaps = list(_CUT_AT.finditer(text, start + limit // 2, end))
        end = gaps[-1].end() if gaps else end  # the last gap: the longest piece ending between words
        pieces.append(text[start:end])
        start = end
    pieces.append(text[start:])
    return pieces


@lru_cache(maxsize=1 << 16)
def _is_word(token: str) -> bool:
    # a dictionary lookup instead of a regular expression per token: most repeat
    return bool(token) and not _TOKEN_SKIP.match(token)


def search_terms(text: str) -> list[str]:
    """The words `text` is indexed under: jieba's words, lower-cased, each preceded by
    the shorter words inside it (`subwords`), punctuation and spaces left out."""
    out: list[str] = []
    for sentence in split_sentences(text):  # the summariser's units: cut once for both
        for word in _words(sentence.strip()):
            out.extend(subwords(word))
            out.append(word)
    return out


def query_words(text: str) -> list[str]:
    """jieba's words of a search query, lower-cased, punctuation and spaces left out."""
    return list(_words(text))


def subwords(word: str) -> list[str]:
    """The words inside a longer word: its dictionary 2- and 3-grams, as jieba's
    `cut_for_search` gives (人工智能: 人工, 智能), or every character pair of a Chinese word
    jieba's dictionary does not know — its HMM guessed it, and may have glued a word
    to its neighbour (10月5日美股 gives 日美股, which must still be found as 美股)."""
    if len(word) <= 2:
        return []
    jieba.dt.check_initialized()
    freq = jieba.dt.FREQ
    if not freq.get(word) and _CHINESE.match(word):
        return [word[i : i + 2] for i in range(len(word) - 1)]
    out = [word[i : i + 2] for i in range(len(word) - 1) if freq.get(word[i : i + 2])]
    if len(word) > 3:
        out += [word[i : i + 3] for i in range(len(word) - 2) if freq.get(word[i : i + 3])]
    return out


def normalise(text: str) -> str:
    """`text` without punctuation, spacing or case: what two tellings must share to be one."""
    return _NORMALISE.sub("", text).lower()


def is_number(token: str) -> bool:
    """True for numeric tokens (2021, 38.8, 55%)."""
    return bool(_NUMBER.match(token))


def keywords(tokens: list[str], k: int = 5, *, boost: set[str] | None = None) -> list[str]:
    """The `k` most characteristic words by TF-IDF over jieba's IDF table; numbers and
    single characters are left out, words in `boost` (the title's) count double."""
    counts = Counter(t for t in tokens if len(t) > 1 and not is_number(t))
    idf = idf_table()
    default = idf_default()
    boost = boost or set()

    def score(word: str) -> float:
        weight = counts[word] * idf.get(word, default)
        return weight * 2 if word in boost else weight

    return sorted(counts, key=lambda w: (-score(w), w))[:k]


def surface_forms(words: list[str], text: str) -> list[str]:
    """`words` (lower-cased tokens) as `text` writes them: cpi → CPI, a股 → A股."""
    return [_surface_form(word, text) if _LATIN.search(word) else word for word in words]


def _surface_form(word: str, text: str) -> str:
    # the spelling the text uses most; ties go to the first seen
    # a whole Latin word only: the "sso" of "kisso" is not a spelling of SSO
    pattern = rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])"
    forms = Counter(m.group() for m in re.finditer(pattern, text, re.I))
    return forms.most_common(1)[0][0] if forms else word


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The stop-word list shipped in `digest/data/stopwords.txt`."""
    text = resources.files("digest").joinpath("data/stopwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


@lru_cache(maxsize=1)
def idf_table() -> dict[str, float]:
    """jieba's IDF table (`jieba/analyse/idf.txt`), cached as marshal for a fast start."""
    source = Path(jieba.__file__).parent / "analyse" / "idf.txt"
    stamp = int(source.stat().st_mtime)
    cache = Path(tempfile.gettempdir()) / f"digestbot-idf-{stamp}-{os.getuid()}.marshal"
    try:
        table = marshal.loads(cache.read_bytes())
        if isinstance(table, dict) and table:
            return table
    except (OSError, ValueError, EOFError, TypeError):
        pass
    table = {}
    with source.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, value = line.rstrip("\n").rpartition(" ")
            if word:
                table[word] = float(value)
    _write_atomically(cache, marshal.dumps(table))
    return table


@lru_cache(maxsize=1)
def idf_default() -> float:
    """The IDF given to a word jieba's table does not know: the table's median."""
    values = sorted(idf_table().values())
    return values[len(values) // 2] if values else math.log(10)


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache we cannot write only costs time
