"""The library's configuration, read once from the environment (and `.env`) at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import DigestError

DEFAULT_SOURCES = ("seeds/",)
DEFAULT_POLL_MINUTES = 10
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Settings:
    """Where the store lives, what to ingest, how often, and the default time zone."""

    data_dir: Path = Path("data")
    database_url: str | None = None  # None: SQLite in data_dir
    sources: tuple[str, ...] = DEFAULT_SOURCES
    poll_minutes: int = DEFAULT_POLL_MINUTES
    timezone: str = DEFAULT_TIMEZONE

    @property
    def store_url(self) -> str:
        """The SQLAlchemy URL of the store: DIGESTBOT_DATABASE_URL, else SQLite in the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'digestbot.db'}"

    @property
    def zone(self) -> ZoneInfo:
        """The default time zone as a `ZoneInfo`."""
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `DIGESTBOT_*` variables; raises `DigestError` naming a bad one."""
        env = os.environ if environ is None else environ
        sources = tuple(s.strip() for s in env.get("DIGESTBOT_SOURCES", "").split(",") if s.strip())
        settings = cls(
            data_dir=Path(env.get("DIGESTBOT_DATA_DIR") or "data"),
            database_url=env.get("DIGESTBOT_DATABASE_URL") or None,
            sources=sources or DEFAULT_SOURCES,
            poll_minutes=_positive_int(env, "DIGESTBOT_POLL_MINUTES", DEFAULT_POLL_MINUTES),
            timezone=env.get("DIGESTBOT_TIMEZONE") or DEFAULT_TIMEZONE,
        )
        try:
            ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise DigestError(f"DIGESTBOT_TIMEZONE: unknown time zone {settings.timezone!r}") from None
        return settings


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise DigestError(f"{name}: not a whole number: {raw!r}") from None
    if value < 1:
        raise DigestError(f"{name}: must be at least 1, got {value}")
    return value
