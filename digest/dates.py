"""Publication dates in every shape the post generators write them."""

from __future__ import annotations

import email.utils
import re
from datetime import date, datetime, time, timezone, tzinfo
from zoneinfo import ZoneInfo

# Posts without an explicit offset were written by Chinese sites: read them as Beijing time.
DEFAULT_TZ: tzinfo = ZoneInfo("Asia/Shanghai")

_TIME_OF_DAY = re.compile(r"\d:\d\d|T\d\d")

# A date outside these years is a typo or hostile (0001-01-01 overflows when moved to UTC,
# 9999-12-31 in a zone west of it): it is read as no date at all, so a post falls back to
# its file's time, as a post without a date does; a query refuses it.
MIN_YEAR, MAX_YEAR = 1970, 2100

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
    an aware datetime; None when it is missing, unreadable or outside MIN_YEAR..MAX_YEAR."""
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed: datetime | None = _aware(value, default_tz)
    elif isinstance(value, date):
        parsed = datetime.combine(value, time(0, 0), default_tz)
    else:
        text = str(value).strip()
        parsed = _parse_text(text, default_tz) if text else None
    return parsed if parsed is not None and in_range(parsed) else None


def in_range(moment: date) -> bool:
    """True for a date or time within the years digestbot believes (MIN_YEAR..MAX_YEAR)."""
    return MIN_YEAR <= moment.year <= MAX_YEAR


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
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # RFC 2822 "-0000" means "UTC, zone unknown": parsedate gives a naive value for it.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _aware(value: datetime, default_tz: tzinfo) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=default_tz)
