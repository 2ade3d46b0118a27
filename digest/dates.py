"""Publication dates in every shape the post generators write them."""

from __future__ import annotations

import email.utils
from datetime import date, datetime, time, timezone, tzinfo
from zoneinfo import ZoneInfo

# Posts without an explicit offset were written by Chinese sites: read them as Beijing time.
DEFAULT_TZ: tzinfo = ZoneInfo("Asia/Shanghai")

_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)


def parse_date(value: object, default_tz: tzinfo = DEFAULT_TZ) -> datetime | None:
    """Turn a front-matter date (RFC 2822, ISO 8601, `%Y-%m-%d %H:%M:%S`, YAML date) into
    an aware datetime; None when it is missing or unreadable."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _aware(value, default_tz)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), default_tz)
    text = str(value).strip()
    if not text:
        return None
    return _parse_text(text, default_tz)


def _parse_text(text: str, default_tz: tzinfo) -> datetime | None:
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")), default_tz)
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return _aware(datetime.strptime(text, fmt), default_tz)
        except ValueError:
            continue
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    # RFC 2822 "-0000" means "UTC, zone unknown": parsedate gives a naive value for it.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _aware(value: datetime, default_tz: tzinfo) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=default_tz)
