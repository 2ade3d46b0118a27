"""Centrality (issue 12): the unit most like the rest ranks first, the graph is bounded,
and the ranking is the same in every process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from digest import centrality
from digest.summarize import document_of, rank, summarize_text, text_blocks

ROOT = Path(__file__).resolve().parents[2]


def test_the_unit_that_shares_words_with_every_other_ranks_first() -> None:
    hub = ("银行", "利率", "存款", "贷款")
    spokes = [("银行", "港口"), ("利率", "天气"), ("存款", "球赛"),
              ("贷款", "电影")]
    ranks = centrality.pagerank([spokes[0], hub, *spokes[1:]])
    assert ranks[1] == 1.0 and all(r < 1.0 for i, r in enumerate(ranks) if i != 1)


def test_a_unit_like_no_other_ranks_last() -> None:
    ranks = centrality.pagerank([("银行", "利率"), ("银行", "存款"),
                                 ("利率", "存款"), ("火星", "探测")])
    assert ranks[3] == min(ranks) < ranks[0]


def test_no_units_or_one() -> None:
    assert centrality.pagerank([]) == []
    assert centrality.pagerank([("银行",)]) == [1.0]
    # no words shared: no unit is more central than another
    assert centrality.pagerank([(), ()]) == [1.0, 1.0]
    assert centrality.pagerank([("银行",), ("港口",), ("天气",)]) == [1.0, 1.0, 1.0]


def _long_text(sentences: int) -> str:
    topics = ["银行下调存款利率", "港口吞吐量回升", "新能源汽车销量增长", "芯片产能扩张", "保险理赔提速"]
    return "\n".join(f"第{i}条消息称{topics[i % 5]}，{topics[(i * 3) % 5]}的影响仍在显现。" for i in range(sentences))


def test_centrality_moves_at_most_max_units_scores_on_a_long_text() -> None:
    # the graph holds the best MAX_UNITS units by the other features, whatever the length
    from digest import summarize as module

    document = document_of("", text_blocks(_long_text(400)), 200)
    before = module._plain_scores(document)
    after = module._with_centrality(document, before)
    moved = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert 0 < len(moved) <= centrality.MAX_UNITS < len(document.sentences)


def test_a_short_text_is_ranked_without_the_graph() -> None:
    from digest import summarize as module

    document = document_of("", text_blocks(_long_text(8)), 200)
    assert module._with_centrality(document, module._plain_scores(document)) == module._plain_scores(document)


def test_the_ranking_is_the_same_whatever_the_string_hashing() -> None:
    # sets of words iterate in hash order, which differs between processes: the graph must not
    script = ("import sys; from digest.summarize import summarize_text; "
              "print(summarize_text(sys.stdin.read(), 120).text)")
    text = _long_text(60)
    outputs = {
        subprocess.run([sys.executable, "-c", script], input=text, capture_output=True, text=True, check=True,
                       cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1 and outputs.pop().strip() == summarize_text(text, 120).text


def test_ranking_a_long_text_yields_every_candidate_once() -> None:
    document = document_of("", text_blocks(_long_text(300)), 200)
    ranked = list(rank(document))
    assert len({s.index for s in ranked}) == len(ranked) > 0


def test_the_walk_restarts_where_it_is_told() -> None:
    # a ring of units, each like its two neighbours: restarting at one makes it the centre
    ring = [("银行", "利率"), ("利率", "存款"), ("存款", "贷款"), ("贷款", "银行")]
    assert max(range(4), key=centrality.pagerank(ring).__getitem__) != 2
    ranks = centrality.pagerank(ring, restart=[0.1, 0.1, 1.0, 0.1])
    assert ranks[2] == 1.0 and all(r < 1.0 for i, r in enumerate(ranks) if i != 2)


def test_a_title_pulls_the_graph_towards_the_units_that_share_its_words() -> None:
    from digest import summarize as module

    text = _long_text(40) + "\n港口集团宣布新航线开通，港口吞吐量预计再创新高。"
    plain = document_of("", text_blocks(text), 200)
    titled = document_of("港口新航线开通", text_blocks(text), 200)
    last = len(plain.sentences) - 1
    gain_plain = module._with_centrality(plain, [0.0] * len(plain.sentences))[last]
    gain_titled = module._with_centrality(titled, [0.0] * len(titled.sentences))[last]
    assert gain_titled > gain_plain
