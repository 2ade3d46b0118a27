"""The bot's configuration: the library's settings plus the chat platforms', read once."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from digest.errors import DigestError
from digest.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_DIGEST_TIME = "08:00"
DEFAULT_START_RETRY_SECONDS = 120.0
DEFAULT_LEASE_SECONDS = 45.0
DEFAULT_COMMANDS_PER_MINUTE = 20  # per chat and per user; a person rarely sends more than one a few seconds
TELEGRAM_API = "https://api.telegram.org"
SLACK_API = "https://slack.com/api/"
DEFAULT_SLACK_COMMAND = "/news"  # some names are Slack's own (/search, /remind…)
SLACK_HTTP_PORT = 3000  # where Slack's HTTP mode listens when no PORT is set (Bolt's default too)
# Telegram user ids are numbers, Slack's U… or W… and capitals and digits
_ADMIN_ID = re.compile(r"^(telegram:\d+|slack:[UW][A-Z0-9]+)$")
# Slack's channel ids: public C…, private G… (older) or C…, direct messages D…
_SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_SLACK_COMMAND = re.compile(r"^/[a-z0-9_-]{1,31}$")  # Slack's rule: lower case, at most 32 with the slash
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what the Bot API's setWebhook accepts
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_PORT_VARIABLES = ("PORT", "DIGESTBOT_HTTP_PORT")  # what Heroku-like platforms set, and ours
_OLD_PORT_VARIABLE = "DIGESTBOT_HEALTH_PORT"  # deprecated: it named the port when it served /healthz only


def parse_time(text: str) -> str | None:
    """`8:00` / `08:00` as `08:00`; None when it is not a time of day."""
    match = _TIME.match(text.strip().replace("：", ":"))  # a Chinese keyboard's colon
    return f"{int(match.group(1)):02}:{match.group(2)}" if match else None


@dataclass(frozen=True)
class BotConfig:
    """Everything `digestbot run` needs to know, from `DIGESTBOT_*` and the platforms' variables."""

    settings: Settings = field(default_factory=Settings)
    digest_time: str = DEFAULT_DIGEST_TIME
    # platform-qualified user ids allowed /stats (`telegram:42`, `slack:U0123`); the
    # operator at the console (`console`) is always one: they own the process
    admins: frozenset[str] = frozenset({"console"})
    telegram_token: str | None = None
    telegram_api_base_url: str = TELEGRAM_API
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None  # Telegram sends it back; other callers are refused
    webhook_listen: str = "0.0.0.0"  # the address the HTTP front and the Telegram webhook bind
    telegram_channels: tuple[str, ...] = ()  # get the digest without subscribing
    http_port: int | None = None  # the HTTP front's port (/healthz, Slack's events); None: no front
    error_chat: str | None = None  # `telegram:-100123`, or a bare id on the first chat platform
    start_retry_seconds: float = DEFAULT_START_RETRY_SECONDS  # how long an unreachable Bot API is retried
    # how long a process's claim on shared work outlives it (the digest parts it sends,
    # Telegram's long poll): a killed process's work goes to another after this
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    slack_bot_token: str | None = None  # xoxb-…: turns Slack on
    slack_app_token: str | None = None  # xapp-…: Socket Mode; without it, HTTP mode at /slack/events
    slack_signing_secret: str | None = None  # HTTP mode: what Slack signs its requests with
    slack_api_base_url: str = SLACK_API  # used as given: a proxy's or a test's
    slack_command: str = DEFAULT_SLACK_COMMAND
    slack_channels: tuple[str, ...] = ()  # channel ids that get the digest without subscribing
    commands_per_minute: int = DEFAULT_COMMANDS_PER_MINUTE  # per chat and per user; 0: no limit

    @property
    def secrets(self) -> tuple[str, ...]:
        """The credentials that must never reach a log line or a message."""
        return tuple(s for s in (self.telegram_token, self.telegram_webhook_secret, self.slack_bot_token,
                                 self.slack_app_token, self.slack_signing_secret,
                                 *_password(self.settings.database_url)) if s)

    @property
    def slack_socket_mode(self) -> bool:
        """Slack over Socket Mode (an app token is set), not HTTP."""
        return self.slack_app_token is not None

    @property
    def timezone(self) -> str:
        """The default time zone of chats (DIGESTBOT_TIMEZONE)."""
        return self.settings.timezone

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BotConfig:
        """Read the configuration; raises `DigestError` naming a bad variable."""
        env = os.environ if environ is None else environ
        digest_time = parse_time(env.get("DIGESTBOT_DIGEST_TIME") or DEFAULT_DIGEST_TIME)
        if digest_time is None:
            raise DigestError(f"DIGESTBOT_DIGEST_TIME: not a time of day (HH:MM): {env['DIGESTBOT_DIGEST_TIME']!r}")
        retry = env.get("DIGESTBOT_START_RETRY_SECONDS") or None
        if retry is not None and not _is_seconds(retry):
            raise DigestError(f"DIGESTBOT_START_RETRY_SECONDS: not a number of seconds: {retry!r}")
        lease = env.get("DIGESTBOT_LEASE_SECONDS") or None
        if lease is not None and not (_is_seconds(lease) and 3 <= float(lease) <= 600):
            raise DigestError(f"DIGESTBOT_LEASE_SECONDS: not a number of seconds from 3 to 600: {lease!r}")
        webhook_url, webhook_secret = _telegram_webhook(env)
        slack = _slack(env)
        http_port = _http_port(env)
        if slack.get("slack_bot_token") and not slack.get("slack_app_token") and http_port is None:
            http_port = SLACK_HTTP_PORT  # HTTP mode needs a port for Slack to reach
        return cls(
            settings=Settings.from_env(env),
            digest_time=digest_time,
            admins=_admins(env.get("DIGESTBOT_ADMINS")),
            telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_base_url=(env.get("TELEGRAM_API_BASE_URL") or TELEGRAM_API).rstrip("/"),
            telegram_webhook_url=webhook_url,
            telegram_webhook_secret=webhook_secret,
            webhook_listen=env.get("DIGESTBOT_WEBHOOK_LISTEN") or "0.0.0.0",
            telegram_channels=tuple(_list(env.get("TELEGRAM_CHANNELS"))),
            http_port=http_port,
            error_chat=(env.get("DIGESTBOT_ERROR_CHAT") or "").strip() or None,
            start_retry_seconds=float(retry) if retry is not None else DEFAULT_START_RETRY_SECONDS,
            lease_seconds=float(lease) if lease is not None else DEFAULT_LEASE_SECONDS,
            commands_per_minute=_commands_per_minute(env.get("DIGESTBOT_COMMANDS_PER_MINUTE")),
            **slack,
        )


WEBHOOK_SECRET_MISSING = (
    "TELEGRAM_WEBHOOK_SECRET is not set: webhook mode (TELEGRAM_WEBHOOK_URL) needs it, or anyone who finds "
    "the URL can post forged updates (a /stats in an admin's name); set it to 1-256 characters of A-Z, a-z, "
    "0-9, _ and -"
)


def _telegram_webhook(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """TELEGRAM_WEBHOOK_URL and its secret; a webhook without a secret is refused."""
    url = (env.get("TELEGRAM_WEBHOOK_URL") or "").strip() or None
    secret = (env.get("TELEGRAM_WEBHOOK_SECRET") or "").strip() or None
    if url is not None and secret is None:
        raise DigestError(WEBHOOK_SECRET_MISSING)
    if secret is not None and not _WEBHOOK_SECRET.match(secret):
        # the Bot API refuses any other at setWebhook; said here without the secret itself
        raise DigestError("TELEGRAM_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and - only")
    return url, secret


def _slack(env: Mapping[str, str]) -> dict[str, Any]:
    """The SLACK_* variables, checked; empty when SLACK_BOT_TOKEN is not set (Slack is off)."""
    token = (env.get("SLACK_BOT_TOKEN") or "").strip()
    if not token:
        return {}
    if token.startswith("xapp-"):
        raise DigestError("SLACK_BOT_TOKEN: that is an app-level token (xapp-); the bot token starts with xoxb- "
                          "(OAuth & Permissions > Bot User OAuth Token); an xapp- token goes in SLACK_APP_TOKEN")
    oauth = [name for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET") if env.get(name)]
    if oauth:
        # Bolt reads them itself and switches to the OAuth flow, dropping the bot token
        raise DigestError(f"{' and '.join(oauth)} set: digestbot runs one workspace with SLACK_BOT_TOKEN, and "
                          "Bolt would switch to multi-workspace OAuth and ignore the token; unset them")
    app_token = (env.get("SLACK_APP_TOKEN") or "").strip() or None
    if app_token is not None and not app_token.startswith("xapp-"):
        raise DigestError("SLACK_APP_TOKEN: not an app-level token (they start with xapp-; "
                          "create one under Basic Information > App-Level Tokens, scope connections:write)")
    secret = (env.get("SLACK_SIGNING_SECRET") or "").strip() or None
    if app_token is None and secret is None:
        raise DigestError("SLACK_SIGNING_SECRET is not set: Slack's HTTP mode needs it to check that requests "
                          "come from Slack (Basic Information > App Credentials); or set SLACK_APP_TOKEN for "
                          "Socket Mode")
    base = (env.get("SLACK_API_BASE_URL") or SLACK_API).strip()
    if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
        raise DigestError(f"SLACK_API_BASE_URL: not an http(s) URL: {base!r}")
    command = (env.get("SLACK_COMMAND") or DEFAULT_SLACK_COMMAND).strip()
    if not _SLACK_COMMAND.match(command):
        raise DigestError(f"SLACK_COMMAND: {command!r} is not a slash command (a slash, then at most 31 "
                          "lower-case letters, digits, - or _)")
    channels = tuple(_list(env.get("SLACK_CHANNELS")))
    bad = [c for c in channels if not _SLACK_CHANNEL.match(c)]
    if bad:
        raise DigestError(f"SLACK_CHANNELS: {', '.join(map(repr, bad))} not a channel id (C0123ABCD: the "
                          "channel's details, at the bottom; a #name is not one)")
    return {"slack_bot_token": token, "slack_app_token": app_token, "slack_signing_secret": secret,
            "slack_api_base_url": base, "slack_command": command, "slack_channels": channels}


def _password(url: str | None) -> tuple[str, ...]:
    """The password in a database URL, as read and as written in the URL (percent-encoded):
    masked like a token, should a driver's message or a traceback quote it."""
    try:
        password = make_url(url).password if url else None
    except ArgumentError:
        return ()  # a malformed URL fails at the store's open, which says so
    return (str(password), quote(str(password), safe="")) if password else ()


def _admins(raw: str | None) -> frozenset[str]:
    """DIGESTBOT_ADMINS as platform-qualified ids. A bare number is a Telegram user id
    (the only platform whose ids are numbers); an @name is refused: anyone can take a
    name that was given up, and the same name is different people on two platforms."""
    admins = {"console"}
    for entry in _list(raw):
        if entry.startswith("@"):
            raise DigestError(f"DIGESTBOT_ADMINS: {entry!r} is a user name; list user ids instead, "
                              "qualified by platform (telegram:42, slack:U0123)")
        entry = f"telegram:{entry}" if entry.isdigit() else entry
        if entry != "console" and not _ADMIN_ID.match(entry):
            raise DigestError(f"DIGESTBOT_ADMINS: {entry!r} is not a user id qualified by platform "
                              "(telegram:42, slack:U0123, console)")
        admins.add(entry)
    return frozenset(admins)


def _http_port(env: Mapping[str, str]) -> int | None:
    """PORT or DIGESTBOT_HTTP_PORT (the same port when both are set), else the deprecated
    DIGESTBOT_HEALTH_PORT; None when none is set."""
    ports = {name: _port(name, env[name]) for name in (*_PORT_VARIABLES, _OLD_PORT_VARIABLE) if env.get(name)}
    old = ports.pop(_OLD_PORT_VARIABLE, None)
    if old is not None:
        ignored = f"; ignored, {' and '.join(ports)} set" if ports else ""
        log.warning("%s is deprecated: set PORT or DIGESTBOT_HTTP_PORT instead%s", _OLD_PORT_VARIABLE, ignored)
    if len(set(ports.values())) > 1:  # which one the platform routes to cannot be guessed
        raise DigestError(f"PORT={ports['PORT']} and DIGESTBOT_HTTP_PORT={ports['DIGESTBOT_HTTP_PORT']} "
                          "disagree: set one of them")
    return next(iter(ports.values()), old)


def _port(name: str, raw: str) -> int:
    digits = raw.strip()
    port = int(digits) if digits.isascii() and digits.isdigit() else 0  # isdigit alone takes `²`
    if not 0 < port < 65536:
        raise DigestError(f"{name}: not a port number (1-65535): {raw!r}")
    return port


def _commands_per_minute(raw: str | None) -> int:
    """DIGESTBOT_COMMANDS_PER_MINUTE: a count (0 turns the limit off); the default when unset."""
    digits = (raw or "").strip()
    if not digits:
        return DEFAULT_COMMANDS_PER_MINUTE
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 6:
        raise DigestError(f"DIGESTBOT_COMMANDS_PER_MINUTE: not a count of commands (0 for no limit): {raw!r}")
    return int(digits)


def _list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _is_seconds(raw: str) -> bool:
    try:
        return float(raw) >= 0
    except ValueError:
        return False
