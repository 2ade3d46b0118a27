"""Sentence centrality: how much of the rest of the text a unit stands for.

A research note (cfb-dev) states its point once and then supports it from every side, so
the sentence most like the others is the point. That is what TextRank, LexRank and
snownlp rank by; here it is one feature beside content, position and title (see
summarize.py). The graph: units as nodes, edges weighted by the cosine of their word
sets, each word weighted by jieba's IDF; PageRank over it. Where the walk restarts can be
weighted (topic-sensitive PageRank): summarize.py restarts it at the units that share the
title's words, so that a news story's centre is the one its title names.

Bounded: only the `MAX_UNITS` best units by the other features enter the graph, so a
20,000-character article costs a 60×60 product, not one that grows with its square.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

# A 60×60 product is done faster by one thread than handed to a pool of them: OpenBLAS's
# threads made it 3–10× slower on two busy cores. Set before numpy loads; a deployment
# that sets it itself wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread setting above)

from .text import idf_default, idf_table

MAX_UNITS = 60  # the best 60 by the other features: as good on cfb-dev as 150 (bench/RESULTS.md)
DAMPING = 0.7  # below PageRank's usual 0.85: measured better on cfb-dev (bench/RESULTS.md)


def pagerank(words: Sequence[Sequence[str]], restart: Sequence[float] | None = None) -> list[float]:
    """Each unit's PageRank in the word-similarity graph of `words`, the highest scaled to 1.
    `restart` weighs where the walk starts again (everywhere alike when None)."""
    n = len(words)
    if n < 2:
        return [1.0] * n
    matrix = _unit_vectors(words)
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, 0.0)
    out = similarity.sum(axis=1)
    out[out == 0] = 1.0  # a unit like no other passes nothing on
    transition = similarity / out[:, None]
    # the fixed point of rank = (1 - d)/n + d·Tᵀ·rank, solved at once rather than iterated
    start = np.ones(n) if restart is None else np.asarray(restart, dtype=float)
    start = start / start.sum()
    rank = np.linalg.solve(np.eye(n) - DAMPING * transition.T, (1 - DAMPING) * start)
    top = float(rank.max())
    return [float(x) / top for x in rank] if top > 0 else [0.0] * n


def _unit_vectors(words: Sequence[Sequence[str]]) -> np.ndarray:
    # rows: units; columns: the text's words in the order they first come (one order
    # whatever the process's string hashing), weighted by IDF; each row of length 1
    idf = idf_table()
    default = idf_default()
    column: dict[str, int] = {}
    columns = np.array([column.setdefault(word, len(column)) for unit in words for word in unit], dtype=np.intp)
    rows = np.repeat(np.arange(len(words)), [len(unit) for unit in words])
    weights = np.array([idf.get(word, default) for word in column] or [0.0])
    matrix = np.zeros((len(words), max(len(column), 1)))
    matrix[rows, columns] = weights[columns]  # a word said twice in a unit counts once
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1.0
    return matrix / norms[:, None]
