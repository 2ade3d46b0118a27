"""Character-level ROUGE-1/2/L F1 for Chinese, and DESIGN.md's budget protocol."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_SKIP = re.compile(r"[\W_]+")  # whitespace and punctuation are not scored


def chars(text: str) -> str:
    """The scored characters of `text`: everything but whitespace and punctuation."""
    return _SKIP.sub("", text)


def rouge_n(candidate: str, reference: str, n: int) -> float:
    """ROUGE-N F1 over character n-grams."""
    cand = Counter(candidate[i : i + n] for i in range(len(candidate) - n + 1))
    ref = Counter(reference[i : i + n] for i in range(len(reference) - n + 1))
    hits = sum((cand & ref).values())
    if not hits:
        return 0.0
    precision, recall = hits / sum(cand.values()), hits / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over characters (longest common subsequence)."""
    if not candidate or not reference:
        return 0.0
    previous = [0] * (len(reference) + 1)
    for c in candidate:
        current = [0]
        for j, r in enumerate(reference):
            current.append(previous[j] + 1 if c == r else max(previous[j + 1], current[j]))
        previous = current
    lcs = previous[-1]
    if not lcs:
        return 0.0
    precision, recall = lcs / len(candidate), lcs / len(reference)
    return 2 * precision * recall / (precision + recall)


def scores(candidate: str, reference: str) -> tuple[float, float, float]:
    """(R-1, R-2, R-L) F1 of a candidate summary against one reference."""
    cand, ref = chars(candidate), chars(reference)
    return rouge_n(cand, ref, 1), rouge_n(cand, ref, 2), rouge_l(cand, ref)


def budgeted(ranked: Sequence[str], text: str, budget: int) -> str:
    """DESIGN.md's protocol: whole sentences in rank order until the next would exceed the
    budget (the first cut to the budget if it alone is longer), shown in document order."""
    picked: list[str] = []
    used = 0
    for sentence in ranked:
        sentence = sentence.strip()
        if not sentence:
            continue
        if not picked and len(sentence) > budget:
            picked.append(sentence[:budget])
            break
        if used + len(sentence) > budget:
            break
        picked.append(sentence)
        used += len(sentence)
    picked.sort(key=lambda s: (text.find(s) if text.find(s) >= 0 else len(text)))
    return "".join(picked)
