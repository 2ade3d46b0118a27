"""Publication dates in every shape the post generators write them."""

from __future__ import annotations

import email.utils
import re
from datetime import date, datetime, time, timezone, tzinfo
from zoneinfo import ZoneInfo

# Posts without an explicit offset were written by Chinese sites: read them as Beijing time.
DEFAULT_TZ: tzinfo = ZoneInfo("Asia/Shanghai")

_TIME_OF_DAY = re.compile(r"\d:\d\d|T\d\d")

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


def is_date_only(value: object) -> bool:
    """True when a date as written has no time of day (`2021-04-20`, a YAML date,
    `Tue, 20 Apr 2021`): its midnight is made up, and is not shown."""
    if isinstance(value, datetime):
        return False
    if isinstance(value, date):
        return True
    return isinstance(value, str) and bool(value.strip()) and not _TIME_OF_DAY.search(value)


def shown_day(moment: datetime, zone: tzinfo, date_only: bool = False) -> str:
    """The day to show for a publication time, `YYYY-MM-DD`: a date given without a time
    stays the date it was, in any zone (its made-up midnight would move it a day)."""
    return moment.astimezone(DEFAULT_TZ if date_only else zone).strftime("%Y-%m-%d")


def shown_time(moment: datetime, zone: tzinfo, date_only: bool = False) -> str:
    """`YYYY-MM-DD HH:MM` in `zone`, or only the day for a date given without a time."""
    return shown_day(moment, zone, True) if date_only else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


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
