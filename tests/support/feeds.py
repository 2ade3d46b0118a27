"""A feed server on 127.0.0.1 that the real feed fetcher reads: routes, conditional GET,
slow answers, bodies dripped a byte at a time, redirects, and a record of every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What the fake feed server answers on one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    drip: float = 0.0  # seconds between the body's bytes: every read is quick, the whole is slow
    location: str | None = None  # a Location header (with a 3xx status: a redirect)


@dataclass
class FeedServer:
    """An HTTP server on 127.0.0.1 serving `routes`, honouring ETag / If-Modified-Since,
    and recording every request's path and headers."""

    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def serve_feeds() -> Iterator[FeedServer]:
    """A running feed server, shut down on exit."""
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
            if route.location:
                self.send_header("Location", route.location)
            self.end_headers()
            try:
                if route.drip:
                    for i in range(len(route.body)):
                        self.wfile.write(route.body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(route.drip)
                else:
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
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()


