"""The HTTP front on the bot's loop: /healthz of a real Runtime, mounted routes, 404, the
bind address, a taken port, and where its port comes from."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.config import BotConfig
from bot.console import ConsoleAdapter
from bot.adapter import SendFailure
from bot.http import HttpFront
from bot.router import Router
from bot.runtime import Runtime
from digest.errors import DigestError
from digest.settings import Settings
from digest.store import Store
from tests.support import fake_telegram
from tests.support.bots import running_bot
from tests.support.builders import ROOT
from tests.support.fake_telegram import FakeBotAPI


def _runtime(store: Store, tmp_path: Path) -> Runtime:
    config = BotConfig(settings=Settings(sources=(str(tmp_path / "none"),)))
    console = ConsoleAdapter(Router(store, config), stdin=io.StringIO(""), stdout=io.StringIO())
    return Runtime(store, config, {"console": console})


async def _request(front: HttpFront, path: str, method: str = "GET") -> tuple[int, str, bytes]:
    host, port = front.addresses[0]
    async with aiohttp.ClientSession() as session:
        async with session.request(method, f"http://{host}:{port}{path}") as response:
            return response.status, response.content_type, await response.read()


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another socket listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@asynccontextmanager
async def _serving(store: Store, tmp_path: Path) -> AsyncIterator[tuple[Runtime, HttpFront]]:
    """A started runtime, its health served on a free port of 127.0.0.1."""
    runtime = _runtime(store, tmp_path)
    runtime.start()
    front = HttpFront("127.0.0.1", 0, runtime.health)
    await front.start()
    try:
        yield runtime, front
    finally:
        await front.stop()
        await runtime.stop()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_healthz_is_the_runtimes_health_as_json_200_when_all_is_well(store: Store, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with _serving(store, tmp_path) as (_, front):
            status, content_type, body = await _request(front, "/healthz?probe=1")
        state = json.loads(body)
        assert status == 200 and content_type == "application/json", body
        assert state["ok"] is True and state["scheduler"] is True
        assert state["store"] == {"ok": True, "dialect": store.dialect}
        assert set(state["jobs"]) == {"poll", "queue_due", "drain"} and state["adapters"]["console"]["ok"]

    asyncio.run(scenario())


def test_healthz_is_503_when_the_store_fails_and_names_no_host_user_or_database(tmp_path: Path) -> None:
    port = _closed_port()  # a PostgreSQL server that is not there: connection refused
    store = Store.open(f"postgresql+psycopg://newsroom_reader@127.0.0.1:{port}/newsroom_db", migrate=False)

    async def scenario() -> None:
        async with _serving(store, tmp_path) as (runtime, front):
            await runtime.run_job("queue_due")  # a job that fails on the store: its outcome is shown too
            status, content_type, body = await _request(front, "/healthz")
        state = json.loads(body)
        assert status == 503 and content_type == "application/json"
        assert state["ok"] is False and state["store"] == {"ok": False, "error": "OperationalError"}
        assert state["jobs"]["queue_due"]["outcome"] == "failed: OperationalError"
        for leak in ("127.0.0.1", str(port), "newsroom_reader", "newsroom_db", "postgresql"):
            assert leak not in body.decode("utf-8"), leak

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def test_healthz_of_a_failing_adapter_names_the_failure_not_its_message(store: Store, api: FakeBotAPI) -> None:
    # a Bot API (or a proxy before it) answers with its own text; /healthz is public
    told = "Bad Request: file https://files.internal.example/x?token=abc at /var/lib/bot/secret refused"
    api.fail_next(100, 400, {"ok": False, "error_code": 400, "description": told})

    async def scenario() -> bytes:
        async with running_bot(store, api, with_runtime=True) as bot:
            assert bot.runtime is not None
            bot.runtime.start()
            front = HttpFront("127.0.0.1", 0, bot.runtime.health)
            await front.start()
            try:
                with pytest.raises(SendFailure, match="files.internal.example"):  # the log still gets it
                    await bot.adapter.send("100", {"text": "你好"})
                return (await _request(front, "/healthz"))[2]
            finally:
                await front.stop()
                await bot.runtime.stop()

    body = asyncio.run(scenario()).decode("utf-8")
    assert json.loads(body)["adapters"]["telegram"]["last_error"] == "BadRequest"
    for leak in ("files.internal.example", "https:", "/var/lib", "token=", fake_telegram.TOKEN, api.base_url, "/"):
        assert leak not in body, (leak, body)


def test_unknown_paths_are_404_and_a_mounted_route_is_served(tmp_path: Path) -> None:
    async def events(request: web.Request) -> web.Response:
        return web.json_response({"echo": await request.text()})

    async def scenario() -> None:
        front = HttpFront("127.0.0.1", 0, lambda: {"ok": True})
        front.add_route("POST", "/slack/events", events)  # as an adapter mounts its endpoint, before start
        await front.start()
        try:
            assert (await _request(front, "/"))[0] == 404
            assert (await _request(front, "/healthz/extra"))[0] == 404
            assert (await _request(front, "/slack/events"))[0] == 405  # GET on a POST route
            host, port = front.addresses[0]
            async with aiohttp.ClientSession() as session:
                async with session.post(f"http://{host}:{port}/slack/events", data="hello") as response:
                    assert response.status == 200 and await response.json() == {"echo": "hello"}
        finally:
            await front.stop()
        assert front.addresses == []

    asyncio.run(scenario())


def test_the_front_listens_on_the_address_it_is_given() -> None:
    async def scenario() -> None:
        front = HttpFront("127.0.0.1", 0, lambda: {"ok": False})
        await front.start()
        try:
            [(host, port)] = front.addresses
            assert host == "127.0.0.1" and port > 0
            assert (await _request(front, "/healthz"))[0] == 503
        finally:
            await front.stop()

    asyncio.run(scenario())


def test_a_taken_port_is_a_digest_error_naming_the_address_and_port(taken_port: int) -> None:
    async def scenario() -> None:
        front = HttpFront("127.0.0.1", taken_port, lambda: {"ok": True})
        with pytest.raises(DigestError, match=f"^http: cannot listen on 127.0.0.1:{taken_port}: "):
            await front.start()
        assert front.addresses == []
        await front.stop()  # after a failed start, as the bot's shutdown does

    asyncio.run(scenario())


def test_the_bot_on_a_taken_port_stops_with_one_error_line(taken_port: int, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "DIGESTBOT_"))}
    env |= {"DIGESTBOT_DATA_DIR": str(tmp_path / "data"), "DIGESTBOT_SOURCES": str(tmp_path / "none"),
            "PORT": str(taken_port), "DIGESTBOT_WEBHOOK_LISTEN": "127.0.0.1"}
    result = subprocess.run([sys.executable, "-m", "bot", "run"], input="", capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 1
    assert f"digestbot: error: http: cannot listen on 127.0.0.1:{taken_port}: " in result.stderr
    assert "Traceback" not in result.stderr


# -- where the port comes from ----------------------------------------------------------


def test_the_port_is_port_or_digestbot_http_port_and_none_without_either() -> None:
    assert BotConfig.from_env({}).http_port is None
    assert BotConfig.from_env({"PORT": "5000"}).http_port == 5000
    assert BotConfig.from_env({"DIGESTBOT_HTTP_PORT": "8080"}).http_port == 8080
    assert BotConfig.from_env({"PORT": "8080", "DIGESTBOT_HTTP_PORT": "8080"}).http_port == 8080
    with pytest.raises(DigestError, match="PORT=5000 and DIGESTBOT_HTTP_PORT=8080 disagree"):
        BotConfig.from_env({"PORT": "5000", "DIGESTBOT_HTTP_PORT": "8080"})
    for bad in ("http", "0", "70000", "²", "-1"):
        with pytest.raises(DigestError, match="^PORT: not a port number"):
            BotConfig.from_env({"PORT": bad})


def test_digestbot_health_port_still_works_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.config"):
        assert BotConfig.from_env({"DIGESTBOT_HEALTH_PORT": "9000"}).http_port == 9000
    assert [r.getMessage() for r in caplog.records] == [
        "DIGESTBOT_HEALTH_PORT is deprecated: set PORT or DIGESTBOT_HTTP_PORT instead"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.config"):  # the old Procfile: both, PORT wins
        assert BotConfig.from_env({"DIGESTBOT_HEALTH_PORT": "9000", "PORT": "5000"}).http_port == 5000
    assert [r.getMessage() for r in caplog.records] == [
        "DIGESTBOT_HEALTH_PORT is deprecated: set PORT or DIGESTBOT_HTTP_PORT instead; ignored, PORT set"]
    with pytest.raises(DigestError, match="^DIGESTBOT_HEALTH_PORT: not a port number"):
        BotConfig.from_env({"DIGESTBOT_HEALTH_PORT": "x"})
