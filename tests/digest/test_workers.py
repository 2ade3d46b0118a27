"""The worker-process jobs: each file's or item's outcome comes back as a value, in order."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from digest.parse import MAX_FILE_BYTES, parse_article
from digest.prepared import prepare
from digest.workers import FileResult, map_jobs, prepare_file, prepare_item

from tests.support.builders import build_post, write_post
from tests.support.texts import BANK_BODY

TITLE = "多家银行下调存款利率"


def test_a_file_is_prepared_then_not_parsed_again_while_its_bytes_stay(tmp_path: Path) -> None:
    path = str(write_post(tmp_path, "bank.md", BANK_BODY, title=TITLE))
    name, first = prepare_file((path, None, 200))
    assert name == path and first.error is None and first.sha256 is not None
    assert first.prepared is not None and first.prepared.article.title == TITLE and first.prepared.summary.sentences
    _, again = prepare_file((path, first.sha256, 200))
    assert again == FileResult(first.mtime, first.size, first.sha256)  # no article, no error: same bytes


def test_a_file_that_cannot_be_an_article_is_hashed_with_the_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\n正文", encoding="utf-8")
    huge = tmp_path / "huge.md"
    with huge.open("wb") as out:  # sparse: never read
        out.truncate(MAX_FILE_BYTES + 1)
    _, bad = prepare_file((str(broken), None, 200))
    _, big = prepare_file((str(huge), None, 200))
    _, gone = prepare_file((str(tmp_path / "gone.md"), None, 200))
    assert bad.prepared is None and "broken YAML" in (bad.error or "") and bad.sha256 is not None
    assert big.sha256 == f"size:{MAX_FILE_BYTES + 1}" and "over the" in (big.error or "")
    assert gone.sha256 is None and gone.error  # unreadable now: nothing to remember it by


def test_a_feed_item_that_breaks_the_summariser_is_a_reason_not_an_exception() -> None:
    item = parse_article(build_post(BANK_BODY, title=TITLE))
    assert prepare_item((item, 200)) == prepare(item, 200)
    broken = replace(item, blocks=None)  # type: ignore[arg-type]
    assert str(prepare_item((broken, 200))).startswith("unexpected error: TypeError")


def test_jobs_come_back_in_order_from_worker_processes() -> None:
    jobs = list(range(-300, 0))  # more than one chunk, and enough to start the workers
    assert list(map_jobs(abs, jobs, 2)) == [abs(j) for j in jobs]
    assert list(map_jobs(abs, jobs[:3], 2)) == [300, 299, 298]
