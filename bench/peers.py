"""The summarisers compared in the benchmarks, each as `rank(text, title) -> sentences`
(best first). Peers are imported lazily: they live in bench/.venv (bench/setup.sh)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from digest.summarize import document_of, rank, text_blocks
from digest.text import split_sentences

Ranker = Callable[[str, "str | None", int], list[str]]


def digestbot(text: str, title: str | None, budget: int) -> list[str]:
    """Ours: the library's ranking at the granularity the budget calls for."""
    document = document_of(title or "", text_blocks(text), budget)
    ranked = []
    used = 0
    for sentence in rank(document):  # the protocol never looks past the budget
        ranked.append(sentence.text)
        used += len(sentence.text)
        if used > budget:
            break
    return ranked


def lead(text: str, title: str | None, budget: int) -> list[str]:
    """Lead-N: the sentences in document order."""
    return [s.strip() for s in split_sentences(text) if s.strip()]


def textrank4zh(text: str, title: str | None, budget: int) -> list[str]:
    """textrank4zh's TextRank4Sentence (PageRank over sentence similarity, jieba words)."""
    from textrank4zh import TextRank4Sentence

    ranker = TextRank4Sentence()
    ranker.analyze(text=text, lower=True, source="all_filters")
    return [item.sentence for item in ranker.get_key_sentences(num=len(ranker.sentences))]


def snownlp(text: str, title: str | None, budget: int) -> list[str]:
    """snownlp's TextRank summary (its own sentence splitter, at ，。！？ etc.)."""
    from snownlp import SnowNLP

    document = SnowNLP(text)
    return list(document.summary(len(document.sentences)))


def _sumy(method: str) -> Ranker:
    def run(text: str, title: str | None, budget: int) -> list[str]:
        from sumy.nlp.tokenizers import Tokenizer
        from sumy.parsers.plaintext import PlaintextParser
        from sumy.summarizers.lex_rank import LexRankSummarizer
        from sumy.summarizers.text_rank import TextRankSummarizer
        from sumy.utils import get_stop_words

        document = PlaintextParser.from_string(text, Tokenizer("chinese")).document
        summarizer = (LexRankSummarizer if method == "lexrank" else TextRankSummarizer)()
        summarizer.stop_words = get_stop_words("chinese")
        ranked: list[str] = []

        def keep_all(infos):  # sumy passes a callable count the sentences sorted by rating
            ranked.extend(str(info.sentence) for info in infos)
            return infos

        summarizer(document, keep_all)
        return ranked

    run.__name__ = f"sumy_{method}"
    run.__doc__ = f"sumy's {method} with its Chinese (jieba) tokenizer and stop words."
    return run


sumy_lexrank = _sumy("lexrank")
sumy_textrank = _sumy("textrank")

SYSTEMS: dict[str, Ranker] = {
    "digestbot": digestbot,
    "Lead-N": lead,
    "textrank4zh": textrank4zh,
    "snownlp": snownlp,
    "sumy LexRank": sumy_lexrank,
    "sumy TextRank": sumy_textrank,
}


def available(names: list[str] | None = None) -> dict[str, Ranker]:
    """The systems that can run here; a peer whose package is missing is left out with a note."""
    out: dict[str, Ranker] = {}
    for name, ranker in SYSTEMS.items():
        if names and name not in names:
            continue
        try:
            ranker("测试句子一。测试句子二，第二句。", None, 10)
        except ImportError as exc:
            print(f"bench: {name} left out: {exc} (run bench/setup.sh)", file=sys.stderr)
            continue
        out[name] = ranker
    return out
