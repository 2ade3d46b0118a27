"""The extractive summariser: rank an article's sentences, keep the best within a budget.

One small interface, as in sumy: `rank(document)` orders the candidate units, and
`summarize(article, max_chars)` keeps the best that fit, in document order.

Scoring (tuned on the development halves of ../shared/eval; see bench/RESULTS.md):

- content: a unit's distinct words weighted by TF-IDF — (0.5 + log of the number of
  units it appears in)² times jieba's IDF, so words the text keeps returning to count — divided by a power of its word count (0.5 for sentences, 0.75
  for clauses), so that neither long units (by length alone) nor tiny ones win;
- title: words shared with the title count extra: the title is the editor's summary;
- position: news puts the point first (the inverted pyramid), so earlier units get a
  prior that decays exponentially with their relative place in the text;
- centrality: on a long text, a unit's PageRank in the graph of word similarity between
  units (centrality.py): the unit most like the rest is the one the rest supports. Its
  weight rises from nothing at 10 units to full at 30 — on a few units the graph says
  little, and on short news (lcsts-dev) the position prior is the better judge. With a
  title, the walk restarts at the units that share its words: plain centrality drifted
  from a news story's lead to the background the story goes on about (the reader's
  check in bench/RESULTS.md); neither dev set has titles, so this changes no figure;
- redundancy: a unit that repeats most of the words of a better one, or whose words a
  better one mostly repeats (a numbered point and the paragraph spelling it out), is left out.

Not candidates: boilerplate, code lines, a sentence ending in a colon (it only announces
what follows: 九大要点如下：), and the title said again, whole or in pieces.

Units are sentences; when the budget is too small to hold two typical sentences of the
article (a headline-sized summary), they are clauses, so that the few characters
available go to the densest part of the text instead of a sentence's preamble.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from . import centrality
from .article import Article, Block
from .boilerplate import is_boilerplate, is_code
from .parse import cap_title
from .text import (
    idf_default,
    idf_table,
    is_number,
    keywords,
    normalise,
    split_clauses,
    split_sentences,
    surface_forms,
    tokenize,
)

DEFAULT_MAX_CHARS = 200
_POSITION_WEIGHT = 0.3
_POSITION_SPREAD = 4.0  # the prior falls to e^-4 at the end of the text, whatever its length
_TITLE_WEIGHT = 0.5
_TF_EXPONENT = 2.0
_FREQUENCY_OFFSET = 0.5  # a word seen in one unit only weighs 0.5² of its IDF
_SENTENCE_LENGTH_EXPONENT = 0.5
_CLAUSE_LENGTH_EXPONENT = 0.75
_CENTRALITY_WEIGHT = 5.0  # at full weight centrality leads: it decides among units the others rate alike
_CENTRALITY_FROM, _CENTRALITY_FULL = 10, 30  # units: where its weight starts to rise, where it is full
_TITLE_RESTART = 0.1  # a unit without the title's words is still where the walk may restart
_REDUNDANCY = 0.6  # share of a unit's words already said by a better one: above this, left out
_CLAUSES_BELOW = 2  # typical sentences: a budget that holds fewer is ranked in clauses
_MIN_CHARS = 6  # shorter units (姓名：, 第一，, 一季度，) are fragments, not news
# Clauses that only say who speaks ("据新华社报道，", "负责人表示：") carry no news, and
# joined to another sentence's clause they would attribute it to the wrong speaker.
_ATTRIBUTION = re.compile(
    r"(?:表示|介绍|说|称|认为|指出|显示|透露|分析|强调|提到|报道|消息|了解到|获悉|据悉|看来)[，,：:]$"
    r"|^据.{0,12}[，,]$"
)
# A unit ending in a colon only announces what follows (九大要点如下：, 分别为：).
_ANNOUNCES = re.compile(r"[：:]\s*$")


@dataclass(frozen=True)
class Sentence:
    """A candidate unit (sentence or clause), verbatim from the article, with its place."""

    text: str
    index: int  # position among the article's candidates
    section: str | None  # the heading of the section it stands in, if any
    clipped: bool = False  # cut to the budget because even the best unit was longer
    origin: int = -1  # a clause: the number of the sentence it was cut from
    start: int = 0  # a clause: where it starts in that sentence


@dataclass(frozen=True)
class Document:
    """An article cut up for ranking: candidate units and their words."""

    title: str
    sentences: tuple[Sentence, ...]
    tokens: tuple[tuple[str, ...], ...]  # the words of each candidate
    title_tokens: frozenset[str]
    clauses: bool = False  # candidates are clauses rather than whole sentences


@dataclass(frozen=True)
class Summary:
    """The chosen sentences in document order, the headings of their sections, keywords."""

    sentences: tuple[Sentence, ...]
    headings: tuple[str, ...]
    keywords: tuple[str, ...]
    from_title: bool = False  # True when the body had nothing to choose from

    @property
    def text(self) -> str:
        """The summary as one string."""
        return "".join(s.text for s in self.sentences)


def build_document(title: str, blocks: Sequence[Block], *, clauses: bool = False) -> Document:
    """Split the body into candidate sentences (or clauses), dropping boilerplate and
    repeats of the title."""
    return _build(title, _sentences(blocks), clauses)


def _sentences(blocks: Sequence[Block]) -> list[tuple[str | None, str]]:
    # (section heading, sentence) for every body sentence, in document order
    out: list[tuple[str | None, str]] = []
    section: str | None = None
    for block in blocks:
        if block.heading:
            section = block.text
        else:
            out.extend((section, sentence) for sentence in split_sentences(block.text))
    return out


def _build(title: str, sentences: list[tuple[str | None, str]], clauses: bool) -> Document:
    title = cap_title(title)  # as a post's: a megabyte title would hold jieba for seconds
    title_key = normalise(title)
    units: list[Sentence] = []
    for number, (section, sentence) in enumerate(sentences):
        if _not_news(sentence.strip(), title_key):
            continue
        offset = 0
        for raw in split_clauses(sentence) if clauses else [sentence]:
            text = raw.strip()
            at = offset + len(raw) - len(raw.lstrip())
            offset += len(raw)
            if clauses and _ATTRIBUTION.search(text):
                continue
            if len(normalise(text)) >= _MIN_CHARS:
                units.append(Sentence(text, len(units), section, origin=number if clauses else -1, start=at))
    return Document(
        title=title,
        sentences=tuple(units),
        tokens=tuple(tuple(tokenize(s.text)) for s in units),
        title_tokens=frozenset(tokenize(title)) if title else frozenset(),
        clauses=clauses,
    )


def _not_news(sentence: str, title_key: str) -> bool:
    # boilerplate, a code line, a lead-in to what follows, or the title (or a piece of it) again
    key = normalise(sentence)
    if (title_key and key in title_key) or _ANNOUNCES.search(sentence):
        return True
    return is_boilerplate(sentence) or is_code(sentence)


def text_blocks(text: str) -> list[Block]:
    """Plain text as paragraph blocks, one per non-empty line."""
    return [Block(line.strip()) for line in text.splitlines() if line.strip()]


def document_of(title: str, blocks: Sequence[Block], max_chars: int) -> Document:
    """The ranking document of a text, at the granularity the budget calls for (see the module doc)."""
    sentences = _sentences(blocks)
    lengths = sorted(len(sentence.strip()) for _, sentence in sentences)
    typical = lengths[len(lengths) // 2] if lengths else 0
    return _build(title, sentences, clauses=max_chars < _CLAUSES_BELOW * typical)


def rank(document: Document) -> Iterator[Sentence]:
    """Yield the candidates best first, leaving out any that mostly repeats a better one.
    Lazy: a caller that has filled its budget stops the redundancy checks there."""
    scores = _scores(document)
    order = sorted(range(len(document.sentences)), key=lambda i: (-scores[i], i))
    words = [set(tokens) for tokens in document.tokens]
    chosen: list[set[str]] = []
    for i in order:
        if not any(_repeats(words[i], other) for other in chosen):
            chosen.append(words[i])
            yield document.sentences[i]


def select(ranked: Iterable[Sentence], max_chars: int) -> list[Sentence]:
    """The best candidates within `max_chars`, in document order: if the best alone is
    longer it is clipped to the budget; otherwise whole candidates are kept in rank
    order, passing over any that does not fit."""
    candidates = iter(ranked)
    best = next(candidates, None)
    if best is None or max_chars <= 0:
        return []
    if len(best.text) > max_chars:
        return [Sentence(best.text[:max_chars], best.index, best.section, clipped=True)]
    picked = [best]
    used = len(best.text)
    for sentence in candidates:
        if max_chars - used < _MIN_CHARS:  # nothing shorter can be a candidate
            break
        if used + len(sentence.text) <= max_chars:
            picked.append(sentence)
            used += len(sentence.text)
    return sorted(picked, key=lambda s: s.index)


def summarize(article: Article, max_chars: int = DEFAULT_MAX_CHARS) -> Summary:
    """Summarise an article within `max_chars` characters of sentences."""
    return summarize_document(document_of(article.title, article.blocks, max_chars), max_chars)


def summarize_text(text: str, max_chars: int = DEFAULT_MAX_CHARS, title: str | None = None) -> Summary:
    """Summarise plain text (one paragraph per line) within `max_chars` characters."""
    return summarize_document(document_of(title or "", text_blocks(text), max_chars), max_chars)


def summarize_document(document: Document, max_chars: int = DEFAULT_MAX_CHARS) -> Summary:
    """Summarise a ranking document (`document_of`) within `max_chars` characters."""
    all_tokens = [t for sentence in document.tokens for t in sentence]
    title_words = set(document.title_tokens)
    found = keywords(all_tokens or list(title_words), boost=title_words)
    shown = " ".join([document.title, *(s.text for s in document.sentences)])
    words = tuple(surface_forms(found, shown))
    picked = _join_clauses(select(rank(document), max_chars))
    if not picked:  # an empty body, or one that only repeats the title: the title is the news
        title = document.title.strip()
        fallback = select([Sentence(title, 0, None)], max_chars) if title else []
        return Summary(sentences=tuple(fallback), headings=(), keywords=words, from_title=True)
    return Summary(sentences=tuple(picked), headings=_headings(picked), keywords=words)


def _join_clauses(picked: list[Sentence]) -> list[Sentence]:
    # Clauses picked side by side from one sentence are one bullet, not a bullet each.
    out: list[Sentence] = []
    for unit in picked:
        last = out[-1] if out else None
        if last and last.origin >= 0 and last.origin == unit.origin and last.start + len(last.text) == unit.start:
            out[-1] = Sentence(last.text + unit.text, last.index, last.section, unit.clipped, last.origin, last.start)
        else:
            out.append(unit)
    return out


def _headings(picked: list[Sentence]) -> tuple[str, ...]:
    # The sections of the chosen sentences, but not one a chosen sentence only repeats
    # (a numbered point "1. 加强监管" over the paragraph that says it again).
    said = [set(tokenize(s.text)) for s in picked]
    headings = dict.fromkeys(s.section for s in picked if s.section)
    return tuple(h for h in headings if not any(_overlap(set(tokenize(h)), words) > _REDUNDANCY for words in said))


def _scores(document: Document) -> list[float]:
    return _with_centrality(document, _plain_scores(document))


def _plain_scores(document: Document) -> list[float]:
    # content, position and title: every feature but centrality
    if not document.sentences:
        return []
    idf = idf_table()
    default = idf_default()
    frequency = Counter(t for sentence in document.tokens for t in set(sentence))
    frequency.update(document.title_tokens)  # the title is one more mention of its words
    weight = {
        word: (_FREQUENCY_OFFSET + math.log(count)) ** _TF_EXPONENT
        * idf.get(word, default)
        * (0.5 if is_number(word) else 1.0)
        for word, count in frequency.items()
    }
    length_exponent = _CLAUSE_LENGTH_EXPONENT if document.clauses else _SENTENCE_LENGTH_EXPONENT
    content = []
    for words in document.tokens:
        distinct = set(words)
        content.append(sum(weight[w] for w in distinct) / len(distinct) ** length_exponent if distinct else 0.0)
    top = max(content) or 1.0
    title = document.title_tokens
    scores = []
    count = len(document.tokens)
    for i, words in enumerate(document.tokens):
        score = content[i] / top + _POSITION_WEIGHT * math.exp(-_POSITION_SPREAD * i / count)
        if title and words:
            score += _TITLE_WEIGHT * len(title & set(words)) / len(title)
        scores.append(score)
    return scores


def _with_centrality(document: Document, scores: list[float]) -> list[float]:
    # the best MAX_UNITS units by the other features enter the graph (a bound on its size)
    count = len(scores)
    share = min(1.0, max(0.0, (count - _CENTRALITY_FROM) / (_CENTRALITY_FULL - _CENTRALITY_FROM)))
    if share == 0:
        return scores
    graph = sorted(range(count), key=lambda i: (-scores[i], i))[: centrality.MAX_UNITS]
    words = [document.tokens[i] for i in graph]
    title = document.title_tokens
    # with a title, the walk restarts at the units that share its words (the title as the
    # query, as in biased LexRank): the centre of a story is the one its headline names
    restart = [_TITLE_RESTART + len(title.intersection(unit)) / len(title) for unit in words] if title else None
    ranks = centrality.pagerank(words, restart)
    out = list(scores)
    for i, rank in zip(graph, ranks, strict=True):
        out[i] += _CENTRALITY_WEIGHT * share * rank
    return out


def _repeats(words: set[str], other: set[str]) -> bool:
    # either unit says most of what the other says (a point and the paragraph spelling it out)
    return _overlap(words, other) > _REDUNDANCY or _overlap(other, words) > _REDUNDANCY


def _overlap(words: set[str], other: set[str]) -> float:
    return len(words & other) / len(words) if words else 1.0
