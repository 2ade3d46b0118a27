"""The bot's one HTTP server: an aiohttp application on the bot's own event loop.

Heroku-like platforms give a process one port, and Slack's Events API must reach the same
process that serves `/healthz`, so every HTTP route lives here: `GET /healthz` now, and the
routes adapters mount with `add_route` before `start`. `web.run_app` is never used: it
owns the loop, which is the bot's.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from digest.errors import DigestError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SHUTDOWN_SECONDS = 5.0  # a request still running at stop gets this long; then the bot stops anyway
_json = functools.partial(json.dumps, ensure_ascii=False)  # a Chinese job error stays readable


class HttpFront:
    """Serves `GET /healthz` (the `health()` mapping as JSON, 200 when its `ok`, else 503) and
    any route an adapter adds, on `host:port`; port 0 picks a free one (see `addresses`)."""

    def __init__(self, host: str, port: int, health: Callable[[], Mapping[str, Any]]) -> None:
        self.host = host
        self.port = port
        self._health = health
        self._app = web.Application()
        self._app.router.add_get("/healthz", self._healthz)
        self._runner: web.AppRunner | None = None

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """Serve `method path` with `handler`; only before `start` (aiohttp freezes routes then)."""
        self._app.router.add_route(method, path, handler)

    async def start(self) -> None:
        """Listen on `host:port`; a port that is taken (or not ours) raises `DigestError` naming it."""
        # no access log: a platform's health probe every few seconds would drown the bot's own lines
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise DigestError(f"http: cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        self._runner = runner
        log.info("http: listening on %s", ", ".join(f"{host}:{port}" for host, port in self.addresses))

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The (address, port) pairs listened on; empty before `start` and after `stop`."""
        if self._runner is None:
            return []
        return [(str(address[0]), int(address[1])) for address in self._runner.addresses]

    async def stop(self) -> None:
        """Stop listening and let requests in progress finish (up to `SHUTDOWN_SECONDS`)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        # health() reads the store: off the loop, so a slow database holds up no chat
        state = await asyncio.to_thread(self._health)
        return web.json_response(dict(state), status=200 if state["ok"] else 503, dumps=_json)
