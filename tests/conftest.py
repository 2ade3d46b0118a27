"""Shared builders and fixtures for the test suite."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from digest.store import Store

if TYPE_CHECKING:
    from tests.bot.fake_telegram import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS_POSTS = SHARED / "corpus" / "posts"
EVAL_DIR = SHARED / "eval"
SEEDS = ROOT / "seeds"


def build_post(
    body: str,
    *,
    title: str = "测试标题",
    date: str | None = "Mon, 19 Apr 2021 19:01:48 GMT",
    author: str = "测试来源",
    categories: tuple[str, ...] = ("金融", "测试来源", "分类"),
    extra: str = "",
    leading_blank_line: bool = True,
) -> str:
    """A post in the seed's Hexo format around `body`."""
    lines = ["---", f"title: '{title}'", "categories: "]
    lines += [f" - {c}" for c in categories]
    lines += [f"author: {author}", "comments: false"]
    if date is not None:
        lines.append(f"date: {date}")
    if extra:
        lines.append(extra)
    lines.append("---")
    head = "\n" if leading_blank_line else ""
    return head + "\n".join(lines) + "\n\n" + body + "\n"


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

POSTGRES_URL = os.environ.get("DIGESTBOT_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite in a temp folder, or the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL store tests: set DIGESTBOT_TEST_POSTGRES_URL (.ci/run does)")
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:  # every test starts from an empty schema
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    yield POSTGRES_URL


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, migrated store."""
    opened = Store.open(store_url)
    yield opened
    opened.close()


def write_post(folder: Path, name: str, body: str, **kwargs: object) -> Path:
    """Write a Hexo post built by `build_post` into `folder`."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_post(body, **kwargs), encoding="utf-8")  # type: ignore[arg-type]
    return path


# -- the fake Telegram Bot API on 127.0.0.1 ---------------------------------------------


@pytest.fixture
def api() -> Iterator["FakeBotAPI"]:
    """A fresh fake Bot API server; its `base_url` is TELEGRAM_API_BASE_URL."""
    from tests.bot import fake_telegram  # the bot's tests and the scenarios use it

    state = fake_telegram.FakeBotAPI()
    server = fake_telegram.start(state)
    yield state
    server.shutdown()
    server.server_close()


# -- a feed server on 127.0.0.1 ---------------------------------------------------------


@dataclass
class Route:
    """What the fake feed server answers on one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0


@dataclass
class FeedServer:
    """An HTTP server on 127.0.0.1 serving `routes`, honouring ETag / If-Modified-Since,
    and recording every request's path and headers."""

    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server_state = FeedServer(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            server_state.requests.append((self.path, dict(self.headers)))
            route = server_state.routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            if route.delay:
                time.sleep(route.delay)
            fresh = (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified
            )
            if fresh and route.status == 200:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified:
                self.send_header("Last-Modified", route.last_modified)
            self.end_headers()
            try:
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server_state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server_state
    httpd.shutdown()
    httpd.server_close()


def rss(items: list[dict[str, str]], title: str = "测试新闻网") -> bytes:
    """An RSS 2.0 document with `items` (keys: title, link, description, pubDate, category)."""
    parts = [f"<item>{''.join(f'<{k}>{v}</{k}>' for k, v in item.items())}</item>" for item in items]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://127.0.0.1/</link><description>测试</description>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode("utf-8")
