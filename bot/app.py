"""`digestbot run`: open the store, start the scheduler and the adapters, stop on a signal."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any, TextIO

from digest.store import Store

from .adapter import Adapter
from .config import BotConfig
from .console import ConsoleAdapter
from .errors import ErrorReporter
from .router import Router
from .runtime import Runtime

log = logging.getLogger(__name__)


async def run(config: BotConfig, *, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
              stderr: TextIO = sys.stderr) -> int:
    """Run the bot until SIGINT/SIGTERM (or, on the console, the end of input). Once it is
    up it says so in one line on `stderr`; a start that fails raises `DigestError`."""
    store = Store.open(config.settings.store_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    reporter = ErrorReporter(config)  # the one reporter of the router, the adapters and the jobs
    router = Router(store, config, reporter=reporter)
    adapters: dict[str, Adapter] = {}
    if config.telegram_token:
        from .telegram import TelegramAdapter  # imported only when used: it loads httpx and PTB

        adapters["telegram"] = TelegramAdapter(router, config, reporter=reporter)
    if not adapters:
        adapters["console"] = ConsoleAdapter(router, stdin=stdin, stdout=stdout,
                                             on_eof=lambda: loop.call_soon_threadsafe(stop.set))
    reporter.attach(adapters, loop)
    runtime = Runtime(store, config, adapters, reporter=reporter)
    health = _serve_health(runtime, config.health_port) if config.health_port else None
    try:
        await runtime.run_job("poll")  # commands answered from the first second see the sources
        for adapter in adapters.values():
            await adapter.start()
        # after the adapters: a send before a platform is connected would only cost an attempt
        runtime.start()
        print(f"digestbot: {', '.join(a.describe() for a in adapters.values())}, store {store.safe_url}",
              file=stderr, flush=True)
        await stop.wait()
        log.info("digestbot stopping")
    finally:
        await runtime.stop()
        for adapter in adapters.values():
            await adapter.stop()
        if health is not None:
            health.shutdown()
        store.close()
    return 0


def _serve_health(runtime: Runtime, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path.split("?")[0] != "/healthz":
                self.send_error(404)
                return
            state: dict[str, Any] = runtime.health()
            body = json.dumps(state, ensure_ascii=False).encode("utf-8")
            self.send_response(200 if state["ok"] else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    Thread(target=server.serve_forever, daemon=True, name="healthz").start()
    log.info("health endpoint on port %d: /healthz", port)
    return server
