"""Send pacing: at most 1 message a second per chat, 20 a minute per group or channel,
25 a second overall (under Telegram's documented limits, with room to spare)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable

PER_CHAT_SECONDS = 1.0
GROUP_PER_MINUTE = 20
OVERALL_PER_SECOND = 25


class Pacer:
    """`await pacer.wait(chat, group)` before each send; it sleeps just long enough."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last: dict[str, float] = {}
        self._group: defaultdict[str, deque[float]] = defaultdict(deque)
        self._overall: deque[float] = deque()
        self._pause_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` (the platform said so)."""
        self._pause_until = max(self._pause_until, self.clock() + seconds)

    def delay(self, chat: str, group: bool) -> float:
        """How long the next send to `chat` must wait now."""
        now = self.clock()
        waits = [self._pause_until - now, self._last.get(chat, -1e9) + PER_CHAT_SECONDS - now]
        sent = self._group[chat]
        while sent and sent[0] <= now - 60:
            sent.popleft()
        if group and len(sent) >= GROUP_PER_MINUTE:
            waits.append(sent[0] + 60 - now)
        while self._overall and self._overall[0] <= now - 1:
            self._overall.popleft()
        if len(self._overall) >= OVERALL_PER_SECOND:
            waits.append(self._overall[0] + 1 - now)
        return max(0.0, *waits)

    async def wait(self, chat: str, group: bool) -> None:
        """Sleep until a message may go to `chat`, then count it as sent. Other chats'
        sends go on meanwhile: the lock is never held while sleeping."""
        while True:
            async with self._lock:
                pause = self.delay(chat, group)
                if pause <= 0:
                    now = self.clock()
                    self._last[chat] = now
                    self._group[chat].append(now)
                    self._overall.append(now)
                    return
            await asyncio.sleep(pause)
