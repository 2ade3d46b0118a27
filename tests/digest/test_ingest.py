"""Ingesting posts folders: new and changed files only, dedup, near-duplicates, bad files."""

from __future__ import annotations

import os
import shutil
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from digest import fingerprint, leases, schema
from digest.ingest import IngestReport, Ingestor
from digest.search import search
from digest.sources import broken_files, list_sources
from digest.store import Store
from digest.text import search_terms

from tests.support.builders import CORPUS_POSTS, SEEDS, build_post, rss, write_post
from tests.support.feeds import FeedServer, Route
from tests.support.texts import AI_BODY, BANK_BODY, BANK_BODY_REWRITE, PORT_BODY


def _ingest(store: Store, *locations: Path | str, workers: int = 1):
    return Ingestor(store, workers=workers).ingest([str(x) for x in locations])


def _bump_mtime(path: Path) -> None:
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))


def test_a_folder_is_ingested_once_then_only_changes_are_read(store: Store, tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    write_post(posts, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅")
    bank = write_post(posts, "sub/bank.md", BANK_BODY, title="多家银行下调存款利率")
    first = _ingest(store, posts)
    assert (first.new, first.failed) == (2, 0)

    again = _ingest(store, posts)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)

    _bump_mtime(bank)  # touched, same bytes
    assert _ingest(store, posts).unchanged == 2

    before = {a.title: a.id for a in store.latest()}
    write_post(posts, "sub/bank.md", BANK_BODY.replace("理财产品", "货币基金"), title="多家银行下调存款利率")
    _bump_mtime(bank)
    changed = _ingest(store, posts)
    assert (changed.updated, changed.new, changed.unchanged) == (1, 0, 1)
    after = {a.title: a.id for a in store.latest()}
    assert after == before  # updated in place
    assert search(store, "货币基金").total == 1
    assert search(store, "理财产品").total == 0  # the index was replaced, not added to


def test_summary_and_keywords_are_stored_at_ingest(store: Store, tmp_path: Path) -> None:
    write_post(tmp_path, "port.md", PORT_BODY, title="长江港口吞吐量回升")
    _ingest(store, tmp_path)
    (article,) = store.latest()
    assert article.summary and all(sentence in article.body for sentence in article.summary)
    assert article.keywords and "港口" in article.keywords
    assert article.category == "金融" and article.source_name == "测试来源"


def test_the_same_article_through_two_paths_is_one_article(store: Store, tmp_path: Path) -> None:
    one = write_post(tmp_path / "a", "bank.md", BANK_BODY, title="多家银行下调存款利率")
    (tmp_path / "b").mkdir()
    shutil.copy(one, tmp_path / "b" / "copy-of-bank.md")
    report = _ingest(store, tmp_path / "a", tmp_path / "b")
    assert (report.new, report.duplicate) == (1, 1)
    assert store.count_articles() == 1


def test_the_same_url_is_one_article_whatever_the_tracking_parameters(store: Store, tmp_path: Path) -> None:
    write_post(tmp_path, "a.md", BANK_BODY, title="银行下调利率", extra="link: https://News.example.com/a/1?utm_source=x#top")
    write_post(tmp_path, "b.md", BANK_BODY, title="银行下调利率", extra="link: https://news.example.com/a/1")
    report = _ingest(store, tmp_path)
    assert (report.new, report.duplicate) == (1, 1)
    (article,) = store.latest()
    assert article.uid == "https://news.example.com/a/1"


def test_a_near_duplicate_is_linked_to_the_first_and_left_out_of_search(store: Store, tmp_path: Path) -> None:
    write_post(tmp_path, "1.md", BANK_BODY, title="多家银行下调存款利率")
    write_post(tmp_path, "2.md", BANK_BODY_REWRITE, title="多家商业银行本周下调定期存款利率", author="另一家媒体")
    write_post(tmp_path, "3.md", PORT_BODY, title="长江港口吞吐量回升")
    report = _ingest(store, tmp_path)
    assert (report.new, report.near_duplicate) == (3, 1)
    with store.connect() as conn:
        rows = {r.title: r for r in conn.execute(sa.select(schema.articles))}
    first, second = rows["多家银行下调存款利率"], rows["多家商业银行本周下调定期存款利率"]
    assert second.duplicate_of == first.id and first.duplicate_of is None
    assert rows["长江港口吞吐量回升"].duplicate_of is None
    assert [h.article.id for h in search(store, "存款利率").hits] == [first.id]


def test_bad_files_are_reported_and_the_rest_ingested(store: Store, tmp_path: Path) -> None:
    write_post(tmp_path, "good.md", AI_BODY, title="人工智能助手进驻政务大厅")
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\n正文", encoding="utf-8")
    (tmp_path / "binary.md").write_bytes(bytes(range(256)) * 40)
    with open(tmp_path / "huge.md", "wb") as huge:  # 50 MB, sparse: never read
        huge.truncate(50 * 1024 * 1024)
    report = _ingest(store, tmp_path)
    assert (report.new, report.failed) == (1, 3)
    reasons = dict((Path(w).name, r) for w, r in report.errors)
    assert "broken YAML" in reasons["broken.md"]
    assert "binary" in reasons["binary.md"]
    assert "over the" in reasons["huge.md"]
    (state,) = list_sources(store)
    assert state.failed_files == 3 and state.articles == 1 and "3 of 4 files" in (state.last_error or "")
    assert {Path(p).name for p, _ in broken_files(store, state.id)} == {"broken.md", "binary.md", "huge.md"}

    again = _ingest(store, tmp_path)  # unchanged broken files are not read again
    assert (again.failed, again.unchanged) == (0, 4)

    (tmp_path / "broken.md").write_text(build_post(PORT_BODY, title="长江港口吞吐量回升"), encoding="utf-8")
    _bump_mtime(tmp_path / "broken.md")
    healed = _ingest(store, tmp_path)
    assert healed.new == 1
    assert list_sources(store)[0].failed_files == 2


def test_a_failed_update_keeps_the_stored_article(store: Store, tmp_path: Path) -> None:
    post = write_post(tmp_path, "bank.md", BANK_BODY, title="多家银行下调存款利率")
    _ingest(store, tmp_path)
    (stored,) = store.latest()
    post.write_text("---\ntitle: 'oops\n---\n", encoding="utf-8")
    _bump_mtime(post)
    report = _ingest(store, tmp_path)
    assert report.failed == 1
    (kept,) = store.latest()
    assert kept == stored
    assert search(store, "存款利率").total == 1


def test_a_missing_source_is_reported_and_others_carry_on(store: Store, tmp_path: Path) -> None:
    write_post(tmp_path, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅")
    report = _ingest(store, tmp_path / "nowhere", tmp_path)
    assert report.new == 1 and report.failed == 1
    assert "no such folder or file" in report.errors[0][1]


def test_a_configured_source_that_is_missing_is_kept_as_failing_until_it_appears(store: Store, tmp_path: Path) -> None:
    # the bot's sources: a missing one shows in `digestbot sources` and /stats, not only the log
    later = tmp_path / "later"
    ingestor = Ingestor(store, workers=1, keep_missing=True)
    report = ingestor.ingest([str(later)])
    assert report.failed and "no such folder or file" in report.errors[0][1]
    (state,) = list_sources(store, [str(later)])
    assert state.configured and state.failures == 1 and "no such folder or file" in (state.last_error or "")
    stats = store.stats(datetime.now(timezone.utc), [str(later)])
    assert (stats.sources, stats.failing) == (1, 1)
    ingestor.ingest([str(later)])  # polled again within its backoff: still one failure
    assert list_sources(store)[0].failures == 1
    write_post(later, "bank.md", BANK_BODY, title="多家银行下调存款利率")
    ingestor.ingest([str(later)])
    (state,) = list_sources(store, [str(later)])
    assert (state.failures, state.last_error, state.kind, state.articles) == (0, None, "posts", 1)


def test_a_one_off_path_that_is_missing_is_not_kept(store: Store, tmp_path: Path) -> None:
    assert Ingestor(store, workers=1).ingest([str(tmp_path / "typo")]).failed
    assert list_sources(store) == []


def test_worker_processes_give_the_same_store_as_one_process(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    bodies = [AI_BODY, BANK_BODY, PORT_BODY]
    for i in range(70):  # above the batch size that starts workers
        write_post(posts, f"{i:03}.md", bodies[i % 3] + f"<p>第{i}号通报。</p>", title=f"通报第{i}号")
    stored = {}
    for workers in (1, 2):
        store = Store.open(f"sqlite:///{tmp_path / f'w{workers}.db'}")
        report = _ingest(store, posts, workers=workers)
        assert report.new + report.duplicate == 70 and report.failed == 0
        with store.connect() as conn:
            stored[workers] = conn.execute(
                sa.select(schema.articles.c.title, schema.articles.c.summary, schema.articles.c.duplicate_of)
                .order_by(schema.articles.c.title)
            ).all()
        store.close()
    assert stored[1] == stored[2]


def test_the_samples_and_the_real_posts_ingest_cleanly(store: Store) -> None:
    if not CORPUS_POSTS.is_dir():
        pytest.skip(f"real posts not present at {CORPUS_POSTS}")
    report = _ingest(store, SEEDS, CORPUS_POSTS)
    posts = len(list(CORPUS_POSTS.glob("*.md"))) + len(list(SEEDS.glob("*.md")))
    assert report.failed == 0 and report.new + report.duplicate == posts
    assert report.duplicate >= 1  # the product's seed is also one of the real posts
    top = search(store, "金融").hits[0].article
    assert top.title.startswith("金融何以有")


def test_simhash_separates_near_duplicates_from_other_stories() -> None:
    assert fingerprint.simhash(["太短"]) is None
    a = fingerprint.simhash(search_terms(BANK_BODY))
    b = fingerprint.simhash(search_terms(BANK_BODY_REWRITE))
    c = fingerprint.simhash(search_terms(PORT_BODY))
    assert a is not None and b is not None and c is not None
    assert fingerprint.distance(a, b) <= fingerprint.NEAR_BITS < fingerprint.distance(a, c)
    assert any(x == y for x, y in zip(fingerprint.bands(a), fingerprint.bands(b), strict=True))
    assert fingerprint.to_unsigned(fingerprint.to_signed(a)) == a


def test_a_stray_control_character_loses_nothing(store: Store, tmp_path: Path) -> None:
    write_post(tmp_path, "nul.md", AI_BODY.replace("市民排队", "市民\x1b排队\x08"), title="人工智能助手进驻政务大厅")
    report = _ingest(store, tmp_path)
    assert (report.new, report.failed) == (1, 0)
    (article,) = store.latest()
    assert "市民排队时间明显缩短" in article.body


def test_a_folder_polled_on_schedule_is_read_at_every_run(store: Store, tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    start = datetime(2021, 4, 20, tzinfo=timezone.utc)
    clock = {"now": start}
    ingestor = Ingestor(store, workers=1, poll_minutes=1, clock=lambda: clock["now"])
    write_post(tmp_path, "a.md", AI_BODY, title="人工智能助手进驻政务大厅")
    assert ingestor.poll_due([str(tmp_path)]).new == 1
    write_post(tmp_path, "b.md", BANK_BODY, title="多家银行下调存款利率")
    # the scheduler's next run comes exactly a minute after the last began, a hair before the
    # source's next time (stamped a moment into that run): it must still be read
    clock["now"] = start + timedelta(minutes=1) - timedelta(milliseconds=5)
    assert ingestor.poll_due([str(tmp_path)]).new == 1


def _distinct_posts(folder: Path, tag: str, count: int) -> None:
    # each post its own story (numbers in words the dedup compares), so none is a duplicate
    for i in range(count):
        body = "\n\n".join(
            f"{tag}市第{i}号港口在第{i * 7 + k}季度的吞吐量达到{i * 1000 + k * 37}万吨，比上一期增长{k + i}个百分点。"
            for k in range(4)
        )
        write_post(folder, f"{tag}-{i}.md", body, title=f"{tag}港口第{i}号快报")


def test_two_ingests_at_once_on_one_sqlite_store_both_succeed(tmp_path: Path) -> None:
    # issue 11: two `digestbot ingest` on one SQLite file failed 30-40 % of the time with
    # "database is locked"; each run here has its own engine, as two processes would
    import threading

    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store.open(url).close()
    folders = [tmp_path / "east", tmp_path / "west"]
    for folder in folders:
        _distinct_posts(folder, folder.name, 50)
    stores = [Store.open(url) for _ in folders]
    start = threading.Barrier(len(folders))
    reports: dict[int, object] = {}

    def run(n: int) -> None:
        start.wait()
        try:
            reports[n] = Ingestor(stores[n], workers=2).ingest([str(folders[n])])
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            reports[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(folders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for opened in stores:
        opened.close()
    for n in range(len(folders)):
        report = reports[n]
        assert not isinstance(report, Exception), report
        assert (report.new, report.failed, report.errors) == (50, 0, []), report  # type: ignore[attr-defined]
    check = Store.open(url)
    try:
        with check.connect() as conn:
            paths = [p for (p,) in conn.execute(sa.select(schema.articles.c.path))]
        assert len(paths) == len(set(paths)) == 100
    finally:
        check.close()


def test_a_source_is_polled_by_one_process_at_a_time(store: Store, feed_server: FeedServer) -> None:
    # two bots on one store poll the same slow feed at the same moment: one fetches it, the
    # other finds the source's lease held and leaves it; once it is done, either may poll it
    item = {"title": "港口集装箱吞吐量回升", "link": "https://news.example.com/port",
            "description": "<p>" + PORT_BODY + "</p>"}
    feed_server.routes["/slow.xml"] = Route(body=rss([item]), delay=1.0)
    url = feed_server.url("/slow.xml")
    bots = [Ingestor(store, workers=1, holder=leases.holder_id()) for _ in range(2)]
    reports: list[IngestReport] = []
    barrier = threading.Barrier(2)

    def poll(ingestor: Ingestor) -> None:
        barrier.wait()
        reports.append(ingestor.poll_due([url]))

    threads = [threading.Thread(target=poll, args=(bot,)) for bot in bots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [path for path, _ in feed_server.requests] == ["/slow.xml"]  # fetched once
    assert sorted(r.new for r in reports) == [0, 1] and not any(r.failed for r in reports)
    assert leases.holder_of(store, f"source:{url}", now=datetime.now(timezone.utc)) is None  # given up
    bots[1].ingest([url])  # the other may poll it now
    assert len(feed_server.requests) == 2
