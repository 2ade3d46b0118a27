"""The suite's fixtures: stores on both databases, the fake Bot API, a feed server. What
they are built from lives in tests/support, which benchmarks import too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.store import Store
from tests.support import fake_telegram, postgres
from tests.support.builders import CORPUS_POSTS
from tests.support.fake_slack import FakeSlack, serve_slack
from tests.support.fake_telegram import FakeBotAPI
from tests.support.feeds import FeedServer, serve_feeds


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the long-running scenarios first: under xdist they then start at once, beside
    the rest, instead of last with every other worker idle."""
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)


@pytest.fixture
def corpus_posts() -> list[Path]:
    """The real posts of ../shared/corpus, or a skip when they are absent."""
    if not CORPUS_POSTS.is_dir():
        pytest.skip(f"real posts not present at {CORPUS_POSTS}")
    posts = sorted(CORPUS_POSTS.glob("*.md"))
    if not posts:
        pytest.skip(f"no posts in {CORPUS_POSTS}")
    return posts


# -- the store, on SQLite everywhere and on PostgreSQL where CI provides one -------------



@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite in a temp folder, or the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url = postgres.worker_url()  # when first needed: a SQLite-only run never connects
    if not url:
        pytest.skip("PostgreSQL store tests: set DIGESTBOT_TEST_POSTGRES_URL (.ci/run does)")
    yield postgres.empty(url)  # every test starts from an empty schema


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, migrated store."""
    opened = Store.open(store_url)
    yield opened
    opened.close()


# -- the fake Telegram Bot API on 127.0.0.1 ---------------------------------------------


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    """A fresh fake Bot API server; its `base_url` is TELEGRAM_API_BASE_URL."""
    state = fake_telegram.FakeBotAPI()
    server = fake_telegram.start(state)
    yield state
    server.shutdown()
    server.server_close()


# -- the fake Slack on 127.0.0.1 --------------------------------------------------------

PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    """A started fake Slack (Web API, response URLs, Socket Mode); its `base_url` is
    SLACK_API_BASE_URL. The proxy variables are cleared: slack-sdk sends even 127.0.0.1
    through a proxy it finds in the environment (it ignores NO_PROXY)."""
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    with serve_slack() as fake:
        yield fake


# -- a feed server on 127.0.0.1 ---------------------------------------------------------


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A feed server on 127.0.0.1 (see tests.support.feeds)."""
    with serve_feeds() as server:
        yield server
