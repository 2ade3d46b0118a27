"""The pacer's arithmetic under the adapters' own limits, on a clock the test moves."""

from __future__ import annotations

from bot.adapter import PacingLimits
from bot.console import ConsoleAdapter
from bot.pacing import Pacer
from bot.telegram import TelegramAdapter

TELEGRAM = TelegramAdapter.pacing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _send(pacer: Pacer, chat: str, kind: str = "private") -> None:
    assert pacer.delay(chat, kind) == 0
    assert pacer.take(chat, kind)


def test_one_message_a_second_per_chat() -> None:
    clock = Clock()
    pacer = Pacer(TELEGRAM, clock)
    _send(pacer, "a")
    assert pacer.delay("a", "private") == 1.0 and not pacer.take("a", "private")  # nothing counted
    assert pacer.delay("b", "private") == 0  # other chats are not held up
    clock.now += 0.4
    assert abs(pacer.delay("a", "private") - 0.6) < 1e-9


def test_twenty_a_minute_per_group_or_channel() -> None:
    clock = Clock()
    pacer = Pacer(TELEGRAM, clock)
    assert TELEGRAM.group_per_minute == 20
    for _ in range(20):
        _send(pacer, "g", "supergroup")
        clock.now += 1.0
    assert abs(pacer.delay("g", "supergroup") - 40) < 1e-9
    for _ in range(20):
        _send(pacer, "p")  # a private chat has no per-minute limit
        clock.now += 1.0
    assert pacer.delay("p", "private") == 0


def test_twenty_five_a_second_overall_and_a_pause_holds_every_chat_of_the_platform() -> None:
    clock = Clock()
    pacer = Pacer(TELEGRAM, clock)
    for number in range(TELEGRAM.overall_per_second or 0):
        _send(pacer, f"chat{number}")
    assert pacer.delay("another", "private") == 1.0
    clock.now += 1.0
    assert pacer.delay("another", "private") == 0
    pacer.pause(7)
    assert pacer.delay("another", "private") == 7
    clock.now += 7
    assert pacer.delay("another", "private") == 0


def test_the_console_takes_any_pace_and_only_a_pause_holds_it() -> None:
    clock = Clock()
    pacer = Pacer(ConsoleAdapter.pacing, clock)
    for _ in range(1000):
        _send(pacer, "local")
    pacer.pause(3)
    assert pacer.delay("local", "private") == 3


def test_limits_of_one_platform_say_nothing_of_another() -> None:
    clock = Clock()
    slow, free = Pacer(PacingLimits(per_chat_seconds=5.0), clock), Pacer(PacingLimits(), clock)
    _send(slow, "x")
    _send(free, "x")
    slow.pause(60)
    assert slow.delay("x", "private") == 60 and free.delay("x", "private") == 0
