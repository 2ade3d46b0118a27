"""Reaching a chat platform at start: retried while it may heal, final when it refused.

A platform that is down for a minute when the bot starts should not stop it; a rejected
token should stop it at once, in one line that says what to fix.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from digest.errors import DigestError

MAX_PAUSE = 30.0  # seconds between two tries, at the most


@dataclass(frozen=True)
class Failure:
    """What a failed try means: its reason in words (no secret), and the pause before the
    next try; no pause: final."""

    reason: str
    pause: float | None = None  # 0: a growing pause


async def retrying(platform: str, step: Callable[[], Awaitable[None]], classify: Callable[[Exception], Failure | None],
                   budget: float) -> None:
    """Run `step`; while `classify` gives a failure a pause, try again with a growing pause for
    `budget` seconds; a final failure, or the budget spent, raises `DigestError` naming
    `platform`. An exception `classify` gives None for is not the platform's: it propagates."""
    started, attempt = time.monotonic(), 0
    while True:
        attempt += 1
        try:
            await step()
            return
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
        if failure.pause is None:
            raise DigestError(f"{platform}: {failure.reason}") from None
        spent = time.monotonic() - started
        if spent >= budget:
            raise DigestError(f"{platform}: {failure.reason}; gave up after {attempt} attempt(s) in {spent:.0f} s "
                              f"(DIGESTBOT_START_RETRY_SECONDS={budget:g})") from None
        # a pause the platform asked for is kept; else the pause doubles, up to MAX_PAUSE
        pause = failure.pause if failure.pause > 0 else min(2.0 ** (attempt - 1), MAX_PAUSE)
        pause = min(pause, budget - spent)  # the last try comes when the budget ends
        # under the adapter's own logger (bot.telegram, bot.slack), where its other lines are
        logging.getLogger(f"bot.{platform}").warning("%s: %s; attempt %d failed, next in %.1f s", platform, failure.reason, attempt, pause)
        await asyncio.sleep(pause)
