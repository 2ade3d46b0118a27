"""The pacer's arithmetic, on a clock the test moves."""

from __future__ import annotations

import asyncio

from bot.pacing import GROUP_PER_MINUTE, OVERALL_PER_SECOND, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _send(pacer: Pacer, chat: str, group: bool = False) -> None:
    assert pacer.delay(chat, group) == 0
    asyncio.run(pacer.wait(chat, group))


def test_one_message_a_second_per_chat() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    _send(pacer, "a")
    assert pacer.delay("a", False) == 1.0
    assert pacer.delay("b", False) == 0  # other chats are not held up
    clock.now += 0.4
    assert abs(pacer.delay("a", False) - 0.6) < 1e-9


def test_twenty_a_minute_per_group() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    for _ in range(GROUP_PER_MINUTE):
        _send(pacer, "g", group=True)
        clock.now += 1.0
    assert abs(pacer.delay("g", True) - (60 - GROUP_PER_MINUTE)) < 1e-9
    assert pacer.delay("g", False) == 0  # a private chat has no per-minute limit


def test_twenty_five_a_second_overall_and_a_pause_holds_everyone() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    for number in range(OVERALL_PER_SECOND):
        _send(pacer, f"chat{number}")
    assert pacer.delay("another", False) == 1.0
    clock.now += 1.0
    assert pacer.delay("another", False) == 0
    pacer.pause(7)
    assert pacer.delay("another", False) == 7
