"""`digestbot run`: open the store, start the scheduler and the adapters, stop on a signal."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import TextIO

from digest.store import Store

from .adapter import Adapter
from .config import BotConfig
from .console import ConsoleAdapter
from .errors import ErrorReporter
from .http import HttpFront
from .router import Router
from .runtime import Runtime

log = logging.getLogger(__name__)

# How long the start waits for the first poll before it starts the adapters anyway: a fast
# poll is done by then (commands answered from the first second see the sources); a slow
# feed must not keep the bot from answering. The poll goes on, and SIGTERM stops it.
FIRST_POLL_WAIT_SECONDS = 15.0


async def run(config: BotConfig, *, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
              stderr: TextIO = sys.stderr, first_poll_wait: float = FIRST_POLL_WAIT_SECONDS) -> int:
    """Run the bot until SIGINT/SIGTERM (or, on the console, the end of input). Once it is
    up it says so in one line on `stderr`; a start that fails raises `DigestError`. The
    adapters start when the first poll is done, or after `first_poll_wait` seconds."""
    store = Store.open(config.settings.store_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    reporter = ErrorReporter(config)  # the one reporter of the router, the adapters and the jobs
    # Slack's commands are subcommands of one slash command: help shows `/news search …`
    forms = {"slack": f"{config.slack_command} "} if config.slack_bot_token else {}
    router = Router(store, config, reporter=reporter, command_forms=forms)
    # routes are added before it starts; health is the runtime's, made below
    front = HttpFront(config.webhook_listen, config.http_port, lambda: runtime.health()) if config.http_port else None
    adapters: dict[str, Adapter] = {}
    if config.telegram_token:
        from .telegram import TelegramAdapter  # imported only when used: it loads httpx and PTB

        adapters["telegram"] = TelegramAdapter(router, config, reporter=reporter)
    if config.slack_bot_token:
        from .slack import SlackAdapter  # imported only when used: it loads Bolt and the SDK

        adapters["slack"] = SlackAdapter(router, config, front=front, reporter=reporter)
    if not adapters:
        adapters["console"] = ConsoleAdapter(router, stdin=stdin, stdout=stdout,
                                             on_eof=lambda: loop.call_soon_threadsafe(stop.set))
    reporter.attach(adapters, loop)
    runtime = Runtime(store, config, adapters, reporter=reporter)
    try:
        if front is not None:  # before the first poll, which may outlast the minute Heroku gives a web process to bind its port
            await front.start()
        first_poll = asyncio.create_task(runtime.run_job("poll"))
        await _wait_first_poll(first_poll, stop, first_poll_wait)
        if stop.is_set():  # SIGTERM during the first poll: stop now, the poll with the rest
            log.info("digestbot stopping before it started")
            return 0
        for adapter in adapters.values():
            await adapter.start()
        # after the adapters: a send before a platform is connected would only cost an attempt
        runtime.start()
        parts = [adapter.describe() for adapter in adapters.values()]
        if front is not None:  # where /healthz (and, with Slack, its events) is served
            parts += [f"http {host}:{port}" for host, port in front.addresses[:1]]
        print(f"digestbot: {', '.join(parts)}, store {store.safe_url}", file=stderr, flush=True)
        await stop.wait()
        log.info("digestbot stopping")
    finally:
        if front is not None:  # first: no request reaches a router whose adapters are stopping
            await front.stop()
        await runtime.stop()
        for adapter in adapters.values():
            await adapter.stop()
        store.close()
    return 0



async def _wait_first_poll(poll: asyncio.Task[None], stop: asyncio.Event, seconds: float) -> None:
    """Until the first poll is done, a stop is asked for, or `seconds` have passed."""
    stopping = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({poll, stopping}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not done:
        log.warning("the first poll is taking over %g s: the bot starts now, and the poll goes on", seconds)
