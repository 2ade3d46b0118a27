"""Send pacing for one platform, under the `PacingLimits` its adapter states: a message
to a chat waits for the chat's interval, a group's per-minute count and the overall
per-second count; a 429 pauses the platform. Delivery keeps one pacer per platform, so
one platform's pause never delays another's sends."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from .adapter import PacingLimits


class Pacer:
    """`delay(chat, kind)` says how long the next send to `chat` must wait; `take(chat, kind)`
    counts a send that may go now. Neither sleeps, so the caller holds no send slot while waiting."""

    def __init__(self, limits: PacingLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._last: dict[str, float] = {}  # chat -> when its last message went
        self._group: dict[str, deque[float]] = {}  # group chat -> when its messages of the last minute went
        self._overall: deque[float] = deque()  # when the messages of the last second went
        self._pause_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every send of this platform for `seconds` (the platform said so)."""
        self._pause_until = max(self._pause_until, self.clock() + seconds)

    def delay(self, chat: str, kind: str) -> float:
        """How many seconds the next send to `chat` (a chat of that `kind`) must wait now."""
        limits, now = self.limits, self.clock()
        waits = [self._pause_until - now]
        if limits.per_chat_seconds and chat in self._last:
            waits.append(self._last[chat] + limits.per_chat_seconds - now)
        sent = self._group.get(chat)
        if sent is not None and kind in limits.group_kinds and limits.group_per_minute:
            while sent and sent[0] <= now - 60:
                sent.popleft()
            if len(sent) >= limits.group_per_minute:
                waits.append(sent[0] + 60 - now)
        if limits.overall_per_second:
            while self._overall and self._overall[0] <= now - 1:
                self._overall.popleft()
            if len(self._overall) >= limits.overall_per_second:
                waits.append(self._overall[0] + 1 - now)
        return max(0.0, *waits)

    def take(self, chat: str, kind: str) -> bool:
        """Count a send to `chat` if it may go now; False (and nothing counted) if it must wait."""
        if self.delay(chat, kind) > 0:
            return False
        now = self.clock()
        if self.limits.per_chat_seconds:
            self._last[chat] = now
        if self.limits.group_per_minute and kind in self.limits.group_kinds:
            self._group.setdefault(chat, deque()).append(now)
        if self.limits.overall_per_second:
            self._overall.append(now)
        return True
