"""A week of the bot's life on an injected clock, on both databases: the real runtime,
outbox and python-telegram-bot against the fake Bot API, chats set up with real commands.

The clock moves in ten-minute steps from 2021-03-23 to 2021-03-31; stories arrive as post
files picked up by the ingester at their times. On the way: an article published before
midnight and polled after it, a late feed item, an update of an article already sent, a
day with nothing new, a busy day beyond the item limit, a retelling of a story already
sent and one of a story years old, a filter that matches nothing, /time and /tz changed
mid-day, the spring DST change in Europe/Berlin, an unsubscribe and a re-subscribe, and
restarts. Each chat's digests are checked by date and by the articles they held, and
every matching article must reach each chat exactly once.
"""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from bot import chats as chat_store
from bot import outbox
from bot.runtime import Runtime
from bot.telegram import TelegramAdapter
from digest.ingest import Ingestor
from digest.schema import articles
from digest.store import Store
from tests.support.bots import telegram_bot, telegram_config
from tests.support.builders import write_post
from tests.support.fake_telegram import FakeBotAPI
from tests.scenarios.newsroom import retelling, story

UTC = timezone.utc
STEP = timedelta(minutes=10)
START = datetime(2021, 3, 23, 8, 0, tzinfo=UTC)
END = datetime(2021, 3, 31, 12, 0, tzinfo=UTC)
ALL, TECH, BERLIN, NOTHING = 101, 102, 103, 104


def at(text: str) -> datetime:
    """`03-24 15:50` (UTC, in 2021), or with its year: `2019-03-01 08:00`."""
    full = text if text[:4].isdigit() and text[4] == "-" else f"2021-{text}"
    return datetime.strptime(full, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@dataclass
class Newsroom:
    """The posts folder and what was written into it, by name."""

    folder: Path
    seeds: dict[str, int] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)

    def write(self, name: str, seed: int, published: datetime, *, retell: str | None = None,
              edited: bool = False) -> None:
        category, title, body = story(seed)
        if retell is not None:  # another outlet's version of an earlier story
            category, title, body = story(self.seeds[retell])
            title, body = title.replace("新方案", "新举措"), retelling(body)
        if edited:
            body += "<p>（本文已更新：补充了最新数据。）</p>"
        self.seeds.setdefault(name, seed)
        self.titles[name], self.categories[name] = title, category
        write_post(self.folder, f"{name}.md", body, title=title, author=f"{category}日报",
                   categories=(category, f"{category}日报", "要闻"),
                   date=published.strftime("%a, %d %b %Y %H:%M:%S GMT"))


# What arrives when (UTC): (poll time, [(name, story number, published, options)]).
# Stories 0, 12, 24… are 科技 (see newsroom.py): a1, a4, b0-b2, b12-b14, c0, c1, d1, e1, r4.
ARRIVALS: list[tuple[str, list[tuple[str, int, str, dict[str, object]]]]] = [
    ("03-23 09:00", [("a1", 0, "03-23 08:30", {}), ("a2", 3, "03-23 09:00", {})]),
    ("03-23 15:00", [("a3", 6, "03-23 14:00", {})]),
    ("03-24 03:00", [("a4", 12, "03-24 02:00", {}), ("a5", 15, "03-24 02:30", {})]),
    ("03-24 16:20", [("a6", 18, "03-24 15:50", {})]),  # 23:50 in Shanghai, polled after midnight
    ("03-25 02:00", [("a7", 21, "03-22 02:00", {})]),  # a feed that publishes three days late
    ("03-25 03:00", [("a1", 0, "03-23 08:30", {"edited": True})]),  # an update of an article sent
    # 03-25 03:00 .. 03-27 13:00: nothing new
    ("03-27 13:00", [(f"b{i}", 24 + i, "03-27 12:30", {}) for i in range(8)]),
    ("03-27 14:00", [(f"b{i}", 24 + i, "03-27 13:30", {}) for i in range(8, 16)]
     + [("r4", 0, "03-27 13:40", {"retell": "a4"}), ("rold", 0, "03-27 13:50", {"retell": "old"})]),
    ("03-27 15:00", [(f"b{i}", 24 + i, "03-27 14:30", {}) for i in range(16, 20)]),
    ("03-28 11:00", [("c0", 48, "03-28 11:00", {})]),  # while TECH is away, over a day before its return
    ("03-28 14:00", [("c1", 60, "03-28 14:00", {})]),  # while TECH is away, within the day before
    ("03-29 06:00", [("d1", 72, "03-29 05:00", {}), ("d2", 75, "03-29 05:30", {}), ("d3", 79, "03-29 05:40", {})]),
    ("03-30 09:00", [("e1", 84, "03-30 08:00", {})]),
]

# Commands, in order (UTC): (time, chat, text)
COMMANDS = [
    ("03-23 10:00", ALL, "/subscribe"),
    ("03-23 10:00", TECH, "/time 20:00"),
    ("03-23 10:00", TECH, "/subscribe 科技"),
    ("03-23 10:00", BERLIN, "/tz Europe/Berlin"),
    ("03-23 10:00", BERLIN, "/time 07:30"),
    ("03-23 10:00", BERLIN, "/subscribe"),
    ("03-23 10:00", NOTHING, "/subscribe 体育赛事"),
    ("03-28 10:00", TECH, "/unsubscribe"),
    ("03-29 02:00", TECH, "/subscribe 科技"),
    ("03-29 04:00", ALL, "/time 18:00"),  # 12:00 in Shanghai, after the day's 08:00 digest
    ("03-29 12:00", BERLIN, "/tz Asia/Shanghai"),  # 14:00 in Berlin, after its 07:30 digest
]
RESTARTS = ["03-25 12:00", "03-27 20:00", "03-29 20:00"]

B = {f"b{i}" for i in range(20)}
# Each chat's scheduled digests: local date -> every article it holds (empty ones are
# recorded, not sent). Worked out by hand from the rules in README ("What a digest covers").
EXPECTED: dict[int, dict[str, set[str]]] = {
    ALL: {  # Asia/Shanghai 08:00 (00:00 UTC); 18:00 (10:00 UTC) from 03-29 12:00
        "2021-03-24": {"a1", "a2", "a3"},  # the first: published in the day before
        "2021-03-25": {"a4", "a5", "a6"},  # a6: 23:50 on the 24th, stored after midnight
        "2021-03-26": {"a7"},  # published days ago but new here; a1's update is not news
        "2021-03-27": set(),
        # r4 retells a4, which this chat had: left out; rold retells a story two years old
        # that it never had: news. 21 stories: 12 summarised, 9 by title
        "2021-03-28": B | {"rold"},
        "2021-03-29": {"c0", "c1"},
        "2021-03-30": {"d1", "d2", "d3", "e1"},  # /time 18:00: 03-29 had its digest, the next is 03-30 18:00
        "2021-03-31": set(),
    },
    TECH: {  # 科技 only, 20:00 Shanghai (12:00 UTC); away 03-28 10:00 .. 03-29 02:00
        "2021-03-23": {"a1"},
        "2021-03-24": {"a4"},
        "2021-03-25": set(),
        "2021-03-26": set(),
        "2021-03-27": set(),
        "2021-03-29": {"c1", "d1"},  # back: like a first digest (c1 within the day before, c0 not)
        "2021-03-30": {"e1"},
    },
    BERLIN: {  # 07:30 Berlin: 06:30 UTC, 05:30 UTC from the DST change of 03-28; Shanghai from 03-29 12:00
        "2021-03-24": {"a1", "a2", "a3", "a4", "a5"},
        "2021-03-25": {"a6", "a7"},
        "2021-03-26": set(),
        "2021-03-27": set(),
        "2021-03-28": B | {"rold"},
        "2021-03-29": {"c0", "c1"},
        "2021-03-30": {"d1", "d2", "d3"},  # 07:30 in Shanghai: 03-29 23:30 UTC
        "2021-03-31": {"e1"},
    },
    NOTHING: {f"2021-03-{d}": set() for d in range(24, 32)},  # a filter that matches nothing
}


class Week:
    """The store, the fake Bot API, the posts folder and the bot, all on one clock."""

    def __init__(self, store: Store, api: FakeBotAPI, folder: Path) -> None:
        self.store, self.api = store, api
        self.newsroom = Newsroom(folder)
        self.now = START
        self.config = telegram_config(api)
        self.adapter: TelegramAdapter | None = None
        self.runtime: Runtime | None = None
        self.parts: dict[int, list[tuple[datetime, str]]] = {}  # digest messages by chat: (sim time, text)

    def clock(self) -> datetime:
        return self.now

    async def start(self) -> None:
        self.adapter = telegram_bot(self.store, self.api, config=self.config, clock=self.clock)
        self.runtime = Runtime(self.store, self.config, {"telegram": self.adapter}, clock=self.clock)
        await self.adapter.start()

    async def stop(self) -> None:
        if self.adapter is not None:
            await self.adapter.stop()

    def poll(self, items: list[tuple[str, int, str, dict[str, object]]]) -> None:
        for name, seed, published, options in items:
            self.newsroom.write(name, seed, at(published), **options)  # type: ignore[arg-type]
        report = Ingestor(self.store, workers=1, clock=self.clock).ingest([str(self.newsroom.folder)])
        assert report.failed == 0, report.errors

    async def command(self, chat: int, text: str) -> str:
        before = len(self.api.sent(chat))
        self.api.push_message(chat, text)
        replies = await self.api.until("sendMessage", count=before + 1, chat_id=chat)
        return replies[-1].params["text"]

    async def tick(self) -> None:
        assert self.runtime is not None
        before = len(self.api.sent())
        await self.runtime.queue_due()
        await self.runtime.drain()
        for call in self.api.sent()[before:]:  # no command is pending during a tick: these are digests
            self.parts.setdefault(int(call.params["chat_id"]), []).append((self.now, call.params["text"]))



def test_a_week_every_matching_article_reaches_each_chat_exactly_once(store: Store, api: FakeBotAPI,
                                                                     tmp_path: Path) -> None:
    week = Week(store, api, tmp_path / "posts")
    week.now = datetime(2019, 3, 1, 9, 0, tzinfo=UTC)  # a story told two years before anyone subscribed
    week.poll([("old", 90, "2019-03-01 08:00", {})])
    week.now = START

    events: list[tuple[datetime, int, str, object]] = []  # (time, order, kind, what)
    events += [(at(t), 0, "poll", items) for t, items in ARRIVALS]
    events += [(at(t), 1, "command", (chat, text)) for t, chat, text in COMMANDS]
    events += [(at(t), 2, "restart", None) for t in RESTARTS]
    events.sort(key=lambda e: (e[0], e[1]))

    async def scenario() -> None:
        await week.start()
        try:
            pending = list(events)
            while week.now <= END:
                while pending and pending[0][0] <= week.now:
                    _, _, kind, what = pending.pop(0)
                    if kind == "poll":
                        week.poll(what)  # type: ignore[arg-type]
                    elif kind == "command":
                        chat, text = what  # type: ignore[misc]
                        await week.command(chat, text)
                    else:  # a restart: new process state, the same store
                        await week.stop()
                        await week.start()
                await week.tick()
                week.now += STEP
            # commands are still answered at the end of the week
            assert _escaped(week.newsroom.titles["old"]) in await week.command(ALL, "/search 第90号")
            assert "没有新文章" in await week.command(ALL, "/digest")
        finally:
            await week.stop()

    asyncio.run(scenario())

    names = {article_id: name for name, article_id in _article_ids(store, week.newsroom).items()}
    for chat_ref, days in EXPECTED.items():
        chat = chat_store.ensure_chat(store, "telegram", str(chat_ref))
        held = {day: {names[i] for i in ids} for day, ids in outbox.held(store, chat.id)}
        assert held == days, f"chat {chat_ref}"
        # what reached the chat: one message run per non-empty digest, each story's title once
        parts = week.parts.get(chat_ref, [])
        heads = [text.split("</b>")[0].removeprefix("<b>") for _, text in parts if "每日摘要" in text]
        assert heads == [f"{day} 每日摘要" for day, got in days.items() if got], f"chat {chat_ref}"
        text = "\n".join(text for _, text in parts)
        for name in {n for got in days.values() for n in got}:
            assert text.count(_escaped(week.newsroom.titles[name])) == 1, (chat_ref, name)
        assert _escaped(week.newsroom.titles["r4"]) not in text  # the retelling of a story it had

    # every new article reached the chats without a filter exactly once over the week
    for chat_ref in (ALL, BERLIN):
        had = [name for got in EXPECTED[chat_ref].values() for name in got]
        assert len(had) == len(set(had)) and set(had) == set(names.values()) - {"old", "r4"}

    # each digest came at the chat's own time (the first tick after it), DST included
    def came(chat_ref: int) -> dict[str, datetime]:
        return {text.split(" ")[0].removeprefix("<b>"): t for t, text in week.parts.get(chat_ref, []) if "每日摘要" in text}

    assert came(BERLIN)["2021-03-25"] == at("03-25 06:40")  # 07:30 CET
    assert came(BERLIN)["2021-03-28"] == at("03-28 05:40")  # 07:30 CEST
    assert came(BERLIN)["2021-03-31"] == at("03-30 23:40")  # 07:30 in Shanghai, after /tz
    assert came(ALL)["2021-03-30"] == at("03-30 10:10")  # 18:00 in Shanghai, after /time
    assert came(TECH)["2021-03-29"] == at("03-29 12:10")
    quiet = [t for chat in week.parts.values() for t, _ in chat if at("03-26 01:00") <= t < at("03-28 00:00")]
    assert quiet == []  # the days with nothing new sent nothing
    assert NOTHING not in week.parts


def _article_ids(store: Store, newsroom: Newsroom) -> dict[str, int]:
    by_title = {title: name for name, title in newsroom.titles.items()}
    with store.connect() as conn:
        rows = conn.execute(sa.select(articles.c.id, articles.c.title)).all()
    return {by_title[row.title]: row.id for row in rows}


def _escaped(title: str) -> str:
    return html.escape(title, quote=False)
