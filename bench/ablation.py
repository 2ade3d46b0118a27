"""The summariser's experiments (issue 12), each one change to the ranking measured on the
development halves under DESIGN.md's protocol, so that the next person does not repeat
them. Every row patches the library for its run only; "kept" is what summarize.py does.

    PYTHONPATH=. python -m bench.ablation [--only NAME ...]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import numpy as np

from bench import peers
from bench.quality import EVAL, SETS, evaluate, read_set
from digest import centrality
from digest import summarize as summarizer
from digest.article import Block
from digest.text import idf_default, idf_table, is_number

Patch = Callable[[ExitStack], None]


def _set(target: Any, name: str, value: Any) -> Patch:
    return lambda stack: stack.enter_context(mock.patch.object(target, name, value))


def _both(*patches: Patch) -> Patch:
    def apply(stack: ExitStack) -> None:
        for patch in patches:
            patch(stack)
    return apply


# -- alternatives to the kept pieces -----------------------------------------------------


def _similarity_graph(words: Sequence[Sequence[str]], kind: str) -> np.ndarray:
    if kind == "overlap":  # TextRank's: shared words over the logs of the lengths
        sets = [set(unit) for unit in words]
        n = len(sets)
        graph = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1, n):
                if sets[i] and sets[j]:
                    graph[i, j] = graph[j, i] = len(sets[i] & sets[j]) / (
                        math.log(len(sets[i]) + 1) + math.log(len(sets[j]) + 1))
        return graph
    if kind == "idf":
        matrix = centrality._unit_vectors(words)
    else:  # counts times IDF instead of IDF alone
        idf, default = idf_table(), idf_default()
        rows = []
        for unit in words:
            counts: dict[str, int] = {}
            for word in unit:
                counts[word] = counts.get(word, 0) + 1
            rows.append(counts)
        vocabulary = {w: i for i, w in enumerate(dict.fromkeys(w for unit in words for w in unit))}
        matrix = np.zeros((len(words), max(len(vocabulary), 1)))
        for r, counts in enumerate(rows):
            for word, count in counts.items():
                matrix[r, vocabulary[word]] = count * idf.get(word, default)
        norms = np.linalg.norm(matrix, axis=1)
        norms[norms == 0] = 1.0
        matrix = matrix / norms[:, None]
    graph = matrix @ matrix.T
    np.fill_diagonal(graph, 0.0)
    return graph


def _graph_rank(kind: str, method: str) -> Callable[..., list[float]]:
    def rank(words: Sequence[Sequence[str]], restart: Sequence[float] | None = None) -> list[float]:
        n = len(words)
        if n < 2:
            return [1.0] * n
        graph = _similarity_graph(words, kind)
        if method == "degree":
            scores = graph.sum(axis=1)
        else:
            out = graph.sum(axis=1)
            out[out == 0] = 1.0
            start = np.ones(n) if restart is None else np.asarray(restart, dtype=float)
            start = start / start.sum()
            scores = np.linalg.solve(np.eye(n) - centrality.DAMPING * (graph / out[:, None]).T,
                                     (1 - centrality.DAMPING) * start)
        top = float(scores.max())
        return [float(x) / top for x in scores] if top > 0 else [0.0] * n
    return rank


def _restart_at_the_best(stack: ExitStack) -> None:
    # personalised PageRank: the walk restarts where the other features already point
    kept = summarizer._with_centrality

    def with_prior(document: summarizer.Document, scores: list[float]) -> list[float]:
        ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[: centrality.MAX_UNITS]
        prior = [max(scores[i], 1e-6) for i in ranked]
        real = centrality.pagerank
        with mock.patch.object(centrality, "pagerank", lambda words, restart=None: real(words, prior)):
            return kept(document, scores)

    stack.enter_context(mock.patch.object(summarizer, "_with_centrality", with_prior))


_PARAGRAPHS = re.compile(r"[\r\n]+|\u3000{2,}")


def _paragraph_blocks(text: str) -> list[Block]:
    # cfb-dev's notes are one line, their paragraphs set off by runs of ideographic spaces
    return [Block(piece.strip()) for piece in _PARAGRAPHS.split(text) if piece.strip()]


def _content_redundancy(stack: ExitStack) -> None:
    kept = summarizer._repeats

    def content(words: set[str]) -> set[str]:
        return {w for w in words if len(w) > 1 and not is_number(w)}

    def repeats(words: set[str], other: set[str]) -> bool:
        a, b = content(words), content(other)
        return kept(a, b) if a and b else kept(words, other)

    stack.enter_context(mock.patch.object(summarizer, "_repeats", repeats))


_LEAD_IN = re.compile(r"^(?:据[^，,。]{0,16}[，,]|[^，,。]{0,16}(?:表示|认为|指出|称|介绍|透露|强调)[，,：:])")


def _strip_lead_ins(stack: ExitStack) -> None:
    # a sentence unit loses its attribution lead-in (据…报道，/…表示，); the rest is verbatim
    kept = summarizer._build

    def build(title: str, sentences: list[tuple[str | None, str]], clauses: bool) -> summarizer.Document:
        if not clauses:
            cut = []
            for section, sentence in sentences:
                match = _LEAD_IN.match(sentence.strip())
                rest = sentence.strip()[match.end():] if match else sentence
                cut.append((section, rest if match and len(rest) >= 6 else sentence))
            sentences = cut
        return kept(title, sentences, clauses)

    stack.enter_context(mock.patch.object(summarizer, "_build", build))


def _without_centrality(stack: ExitStack) -> None:
    stack.enter_context(mock.patch.object(summarizer, "_with_centrality", lambda document, scores: scores))


VARIANTS: list[tuple[str, Patch | None]] = [
    ("kept: PageRank (IDF cosine, d=0.7, best 60, weight 5, 10→30 units)", None),
    ("issue 8's ranking: no centrality", _without_centrality),
    ("centrality at any length (no 10→30 ramp)", _both(_set(summarizer, "_CENTRALITY_FROM", 0),
                                                       _set(summarizer, "_CENTRALITY_FULL", 1))),
    ("centrality weight 1", _set(summarizer, "_CENTRALITY_WEIGHT", 1.0)),
    ("centrality weight 3", _set(summarizer, "_CENTRALITY_WEIGHT", 3.0)),
    ("centrality weight 8", _set(summarizer, "_CENTRALITY_WEIGHT", 8.0)),
    ("degree instead of PageRank", _set(centrality, "pagerank", _graph_rank("idf", "degree"))),
    ("TextRank's overlap similarity", _set(centrality, "pagerank", _graph_rank("overlap", "pagerank"))),
    ("TF-IDF cosine (counts) instead of IDF", _set(centrality, "pagerank", _graph_rank("tfidf", "pagerank"))),
    ("damping 0.85", _set(centrality, "DAMPING", 0.85)),
    ("damping 0.5", _set(centrality, "DAMPING", 0.5)),
    ("graph of the best 150 units", _set(centrality, "MAX_UNITS", 150)),
    ("graph of the best 30 units", _set(centrality, "MAX_UNITS", 30)),
    ("walk restarts where the other features point", _restart_at_the_best),
    ("clauses below 3 typical sentences (kept: 2)", _set(summarizer, "_CLAUSES_BELOW", 3)),
    ("always clauses", _set(summarizer, "_CLAUSES_BELOW", 10**9)),
    ("paragraphs at runs of ideographic spaces", _set(peers, "text_blocks", _paragraph_blocks)),
    ("attribution lead-ins cut from sentences", _strip_lead_ins),
    ("redundancy on content words (no numbers, single characters)", _content_redundancy),
    ("redundancy above 0.5 (kept: 0.6)", _set(summarizer, "_REDUNDANCY", 0.5)),
    ("redundancy above 0.7", _set(summarizer, "_REDUNDANCY", 0.7)),
]


@contextmanager
def _applied(patch: Patch | None) -> Iterator[None]:
    with ExitStack() as stack:
        if patch:
            patch(stack)
        yield


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="variants whose name contains any of these")
    args = parser.parse_args()
    if not EVAL.is_dir():
        print(f"bench: evaluation data not present at {EVAL}; nothing to measure", file=sys.stderr)
        return 1
    sets = {name: read_set(name) for name in SETS}
    # the kept ranking first: every other row is told against it
    chosen = VARIANTS[:1] + [(n, p) for n, p in VARIANTS[1:] if not args.only or any(o in n for o in args.only)]
    header = " | ".join(f"{name} R-1 | R-2 | R-L" for name in SETS)
    print(f"| variant | {header} |")
    print("|---|" + "---:|" * 3 * len(SETS))
    kept: list[float] | None = None
    for number, (name, patch) in enumerate(chosen, 1):
        started = time.perf_counter()
        with _applied(patch):
            figures = [x for rows in sets.values() for x in evaluate(rows, name, peers.digestbot)]
        kept = kept or figures
        cells = " | ".join(f"{x:.2f}" if patch is None else f"{x:.2f} ({x - kept[i]:+.2f})"
                           for i, x in enumerate(figures))
        print(f"| {name} | {cells} |", flush=True)
        print(f"bench: {number}/{len(chosen)} {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
