"""The store: migrations, the schema on both databases, SQLite settings, configuration."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from digest import migrations, paging, schema
from digest.errors import DigestError
from digest.ingest import Ingestor
from digest.settings import Settings
from digest.store import KnownNames, Store, StoreStats
from tests.support.builders import write_post
from tests.support.feeds import FeedServer
from tests.support.texts import BANK_BODY, BANK_BODY_REWRITE, PORT_BODY


def test_a_new_database_is_migrated_to_the_latest_version(store: Store) -> None:
    with store.connect() as conn:
        assert migrations.current_version(conn) == migrations.LATEST
        versions = conn.execute(sa.select(schema.schema_version.c.version)).scalars().all()
    assert versions == [m.version for m in migrations.MIGRATIONS]


def test_the_migrated_database_matches_the_schema_module(store: Store) -> None:
    inspector = sa.inspect(store.engine)
    for table in schema.metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        assert have == set(table.columns.keys()), table.name


def _v1_article(store: Store, title: str) -> None:
    # an article as version 1 stored it: today's ingest writes columns that came later
    now = datetime(2021, 4, 20, tzinfo=timezone.utc)
    old = sa.Table("articles", sa.MetaData(), *(c._copy() for c in schema.articles.columns if c.name != "date_only"))
    texts = dict.fromkeys(("categories", "keywords", "headings", "summary", "summary_headings"), [])
    with store.begin() as conn:
        conn.execute(old.insert().values(
            uid="sha1:v1", title=title, body="正文。", content_hash="0" * 40, published=now, ingested_at=now,
            updated_at=now, simhash=0, band0=0, band1=0, band2=0, band3=0, **texts,
        ))


def test_an_existing_database_upgrades_in_place_and_keeps_its_articles(store_url: str) -> None:
    old = Store.open(store_url, migrate=False)
    migrations.migrate(old.engine, target=1)  # a database from before the chats tables
    _v1_article(old, "人工智能助手进驻政务大厅")
    assert not sa.inspect(old.engine).has_table("chats")
    old.close()

    upgraded = Store.open(store_url)
    try:
        assert sa.inspect(upgraded.engine).has_table("chats")
        (kept,) = upgraded.latest()
        assert kept.title == "人工智能助手进驻政务大厅" and not kept.date_only
        assert migrations.migrate(upgraded.engine) == []  # nothing left to do
    finally:
        upgraded.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x' / 'store.db'}")  # the folder is created
    try:
        with store.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()


def test_a_transaction_that_reads_then_writes_waits_for_another_writer(tmp_path: Path) -> None:
    # SQLite in WAL mode: a deferred transaction that read, then writes while another
    # connection holds the write lock, fails at once ("database is locked") instead of
    # waiting; the poll's save met the drain's claims so. Store.begin takes the lock first.
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
    failures: list[str] = []

    def read_then_write() -> None:
        for _ in range(150):
            try:
                with store.begin() as conn:
                    conn.exec_driver_sql("SELECT count(*) FROM counter").scalar()
                    time.sleep(0.001)  # the other writer's moment
                    conn.exec_driver_sql("INSERT INTO counter VALUES (1)")
            except sa.exc.OperationalError as exc:
                failures.append(str(exc.orig))

    def write() -> None:
        for _ in range(300):
            with store.begin() as conn:
                conn.exec_driver_sql("UPDATE counter SET n = 2 WHERE n = 99")  # takes the lock, changes nothing

    threads = [threading.Thread(target=read_then_write), threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with store.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM counter").scalar() == 150
    store.close()


def test_times_come_back_aware_and_in_utc(store: Store) -> None:
    moment = datetime(2021, 4, 20, 3, 1, 48, tzinfo=timezone(timedelta(hours=8)))
    with store.begin() as conn:
        conn.execute(schema.sources.insert().values(location="x", kind="file", failures=0, polled_at=moment))
    with store.connect() as conn:
        back = conn.execute(sa.select(schema.sources.c.polled_at)).scalar_one()
    assert back == moment and back.tzinfo is not None and back.utcoffset() == timedelta(0)


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with store.begin() as conn:
            conn.execute(schema.sources.insert().values(location="y", kind="file", polled_at=datetime(2021, 1, 1)))


def test_a_bad_database_url_is_a_clear_error() -> None:
    with pytest.raises(DigestError, match="not a database URL"):
        Store.open("no such thing")


def test_an_unreachable_database_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(DigestError) as caught:
        Store.open("postgresql+psycopg://user:secret@127.0.0.1:1/none?connect_timeout=2")
    assert "cannot open the store" in str(caught.value) and "secret" not in str(caught.value)


def test_settings_defaults_and_environment(tmp_path: Path) -> None:
    default = Settings.from_env({})
    assert default.store_url == f"sqlite:///{Path('data') / 'digestbot.db'}"
    assert default.sources == ("seeds/",) and default.poll_minutes == 10
    custom = Settings.from_env(
        {
            "DIGESTBOT_DATA_DIR": str(tmp_path),
            "DIGESTBOT_SOURCES": " seeds/ , http://127.0.0.1/feed.xml ,",
            "DIGESTBOT_POLL_MINUTES": "5",
            "DIGESTBOT_TIMEZONE": "Europe/Berlin",
        }
    )
    assert custom.store_url == f"sqlite:///{tmp_path / 'digestbot.db'}"
    assert custom.sources == ("seeds/", "http://127.0.0.1/feed.xml")
    assert custom.poll_minutes == 5 and custom.zone.key == "Europe/Berlin"
    url = "postgresql+psycopg://postgres@127.0.0.1/x"
    assert Settings.from_env({"DIGESTBOT_DATABASE_URL": url}).store_url == url


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DIGESTBOT_POLL_MINUTES", "often", "not a whole number"),
        ("DIGESTBOT_POLL_MINUTES", "0", "at least 1"),
        ("DIGESTBOT_TIMEZONE", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(DigestError, match=f"{name}.*{message}"):
        Settings.from_env({name: value})


def test_a_version_2_outbox_is_carried_into_digests(store_url: str) -> None:
    old = Store.open(store_url, migrate=False)
    migrations.migrate(old.engine, target=2)
    v2 = migrations._v2_tables().tables
    at = datetime(2021, 4, 20, tzinfo=timezone.utc)
    with old.engine.begin() as conn:
        conn.execute(v2["chats"].insert().values(platform="telegram", chat_ref="1", language="zh", active=True,
                                                 created_at=at))
        conn.execute(v2["subscriptions"].insert().values(chat_id=1, categories=[], sources=[], keywords=[],
                                                         excluded=[], active=True, created_at=at))
        conn.execute(v2["deliveries"].insert(), [
            {"chat_id": 1, "digest_date": "2021-04-20", "part": 0, "payload": {"text": "a"}, "status": "sent",
             "attempts": 1, "created_at": at, "message_id": "7"},
            {"chat_id": 1, "digest_date": "2021-04-20", "part": 1, "payload": {"text": "b"}, "status": "pending",
             "attempts": 0, "created_at": at, "message_id": None},
            {"chat_id": 1, "digest_date": "2021-04-21", "part": 0, "payload": {}, "status": "empty", "attempts": 0,
             "created_at": at + timedelta(days=1), "message_id": None},
        ])
    old.close()

    upgraded = Store.open(store_url)
    try:
        with upgraded.connect() as conn:
            days = conn.execute(sa.select(schema.digests.c.digest_date, schema.digests.c.parts)
                                .order_by(schema.digests.c.window_end)).all()
            parts = conn.execute(sa.select(schema.deliveries.c.part, schema.deliveries.c.status,
                                           schema.deliveries.c.message_id).order_by(schema.deliveries.c.part)).all()
            place = conn.execute(sa.select(schema.subscriptions.c.digested_until)).scalar_one()
        assert [tuple(d) for d in days] == [("2021-04-20", 2), ("2021-04-21", 0)]
        assert [tuple(p) for p in parts] == [(0, "sent", "7"), (1, "pending", None)]  # the pending part is still sent
        assert place == at + timedelta(days=1)  # the next digest starts where the last one ended
        assert not sa.inspect(upgraded.engine).has_table("deliveries_v2")
    finally:
        upgraded.close()


def test_a_version_3_database_gains_the_search_pages(store_url: str) -> None:
    old = Store.open(store_url, migrate=False)
    migrations.migrate(old.engine, target=3)
    at = datetime(2021, 4, 20, tzinfo=timezone.utc)
    with old.engine.begin() as conn:
        chat = conn.execute(schema.chats.insert().values(platform="telegram", chat_ref="1", language="zh",
                                                         active=True, created_at=at).returning(schema.chats.c.id))
        chat_id = chat.scalar_one()
    assert not sa.inspect(old.engine).has_table("search_pages")
    old.close()

    upgraded = Store.open(store_url)
    try:
        token = paging.remember_search(upgraded, chat_id, "人工智能", now=at)
        assert paging.recall_search(upgraded, chat_id, token, now=at) == "人工智能"
    finally:
        upgraded.close()


def test_stats_count_articles_polled_sources_chats_and_todays_sends(
    store: Store, tmp_path: Path, feed_server: FeedServer
) -> None:
    day_start = datetime(2021, 4, 20, tzinfo=timezone.utc)
    configured, once = tmp_path / "configured", tmp_path / "once"
    write_post(configured, "bank.md", BANK_BODY, title="多家银行下调存款利率", author="每经网")
    write_post(configured, "bank2.md", BANK_BODY_REWRITE, title="多家商业银行本周下调定期存款利率",
               author="另一家媒体")  # the same story told again: a near-duplicate
    write_post(once, "port.md", PORT_BODY, title="长江港口吞吐量回升", categories=("航运", "江城经济观察", "x"))
    gone = feed_server.url("/gone")  # configured, and failing (404)
    report = Ingestor(store, workers=1).ingest([str(configured), str(once), gone, feed_server.url("/gone2")])
    assert (report.new, report.near_duplicate, report.failed) == (3, 1, 2)

    with store.begin() as conn:
        chat_ids = [conn.execute(schema.chats.insert().values(
            platform="telegram", chat_ref=str(n), language="zh", active=active, created_at=day_start,
        ).returning(schema.chats.c.id)).scalar_one() for n, active in ((1, True), (2, True), (3, False))]
        conn.execute(schema.subscriptions.insert(), [  # the deactivated chat's is on, and gets nothing
            {"chat_id": chat_id, "categories": [], "sources": [], "keywords": [], "excluded": [], "active": active,
             "created_at": day_start} for chat_id, active in zip(chat_ids, (True, False, True), strict=True)
        ])
        digest_id = conn.execute(schema.digests.insert().values(
            chat_id=chat_ids[0], digest_date="2021-04-20", window_end=day_start, created_at=day_start,
        ).returning(schema.digests.c.id)).scalar_one()
        conn.execute(schema.deliveries.insert(), [
            {"digest_id": digest_id, "chat_id": chat_ids[0], "part": part, "payload": {}, "status": status,
             "created_at": day_start, "sent_at": sent_at}
            for part, status, sent_at in ((0, "sent", day_start - timedelta(seconds=1)),
                                          (1, "sent", day_start + timedelta(hours=9)), (2, "pending", None))
        ])

    # as DIGESTBOT_SOURCES may spell them: a trailing slash is the same folder
    stats = store.stats(day_start, [str(configured) + "/", gone])
    assert stats == StoreStats(articles=3, near_duplicates=1, sources=2, failing=1, chats=2, subscribed=1, sent=1)
    assert store.stats(day_start, []) == replace(stats, sources=0, failing=0)
    assert store.known_names() == KnownNames(categories=frozenset({"金融", "航运"}),
                                             sources=frozenset({"每经网", "另一家媒体", "测试来源"}))
