"""The command router: one implementation of every command, for every adapter.

An adapter turns what arrived into an `Incoming`, calls `Router.handle`, and renders the
`Reply` it gets back. The router never sees a platform's types, and never raises: a bad
argument gets a short answer, and an unexpected error a polite one (and a log line).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from digest import filters, paging
from digest.compose import DailyDigest, DigestFilter, Window, compose
from digest.query import QueryError
from digest.search import SearchPage, search
from digest.store import Store, StoredArticle

from . import chats as chat_store
from . import outbox
from .chats import Chat
from .config import BotConfig, parse_time
from .errors import ErrorReporter
from .messages import LANGUAGES, say
from .schedule import on_demand_window

log = logging.getLogger(__name__)

MAX_LATEST = 20
MAX_FILTER_ENTRIES = 50  # categories, sources and words of one subscription
SEARCH_PAGE = 5  # results per page in a chat
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@(\w+))?(?:\s+(.*))?$", re.S)


@dataclass(frozen=True)
class Incoming:
    """A message as the router sees it, whatever platform it came from."""

    platform: str
    chat_ref: str
    text: str
    chat_kind: str = "private"
    chat_title: str | None = None
    user_ref: str | None = None
    user_name: str | None = None  # without the @


@dataclass(frozen=True)
class Reply:
    """What the bot answers: text, and/or a page of results, a digest or a list of articles."""

    text: str = ""
    language: str = "zh"
    search: SearchPage | None = None
    search_token: str | None = None  # paging state, kept here; buttons carry only this
    digest: DailyDigest | None = None
    articles: tuple[StoredArticle, ...] = field(default_factory=tuple)


class Router:
    """Answers commands from the store; `handle` for messages, `search_page` for paging."""

    def __init__(self, store: Store, config: BotConfig, *, clock: Callable[[], datetime] | None = None,
                 bot_name: str | None = None, reporter: ErrorReporter | None = None) -> None:
        self.store = store
        self.reporter = reporter or ErrorReporter(config)  # without one, failures are only logged
        self.config = config
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.bot_name = bot_name
        self._commands: dict[str, Callable[[Chat, Incoming, str], Reply]] = {
            "start": self._start, "help": self._help, "search": self._search, "latest": self._latest,
            "digest": self._digest, "subscribe": self._subscribe, "unsubscribe": self._unsubscribe,
            "settings": self._settings, "time": self._time, "tz": self._tz, "lang": self._lang,
            "stats": self._stats,
        }

    @property
    def commands(self) -> list[str]:
        """The command names, for a platform's command menu."""
        return list(self._commands)

    def handle(self, message: Incoming) -> Reply | None:
        """The reply to a message; None for a message the bot should not answer (chatter in
        a group, a command addressed to another bot)."""
        match = _COMMAND.match(message.text.strip())
        if match is None:
            if message.chat_kind != "private":
                return None
            chat = self._chat(message)
            return Reply(say("not_command", chat.language), chat.language)
        name, addressee, argument = match.group(1).lower(), match.group(2), (match.group(3) or "").strip()
        if addressee and self.bot_name and addressee.lower() != self.bot_name.lower():
            return None
        chat = self._chat(message)
        command = self._commands.get(name)
        if command is None:
            return Reply(say("unknown", chat.language, command="/" + name), chat.language)
        try:
            return command(chat, message, argument)
        except Exception as exc:  # a bug must cost one reply, not the bot
            self.reporter.report("command", exc, chat=f"{chat.platform}:{chat.chat_ref}", command="/" + name)
            return Reply(say("error", chat.language), chat.language)

    def search_page(self, platform: str, chat_ref: str, token: str, page: int) -> Reply:
        """Another page of an earlier search (the paging buttons)."""
        chat = chat_store.ensure_chat(self.store, platform, chat_ref)
        text = paging.recall_search(self.store, chat.id, token, now=self.clock())
        if text is None:
            return Reply(say("search_expired", chat.language), chat.language)
        return self._run_search(chat, text, page, token)

    # -- commands ----------------------------------------------------------------------

    def _start(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        return Reply(say("welcome", chat.language) + say("help", chat.language), chat.language)

    def _help(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        return Reply(say("help", chat.language), chat.language)

    def _search(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        if not argument:
            return Reply(say("search_usage", chat.language), chat.language)
        return self._run_search(chat, argument, 1, None)

    def _run_search(self, chat: Chat, text: str, page: int, token: str | None) -> Reply:
        # token None: a new search, kept for its page buttons once it is known to run
        try:
            found = search(self.store, text, page=page, limit=SEARCH_PAGE, now=self.clock(), tz=self._zone(chat))
        except QueryError as exc:
            return Reply(say("search_bad", chat.language, reason=exc), chat.language)
        if token is None:
            token = paging.remember_search(self.store, chat.id, text, now=self.clock())
        return Reply(language=chat.language, search=found, search_token=token)

    def _latest(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        count = 5
        if argument:
            if not argument.isdigit() or not 1 <= int(argument) <= MAX_LATEST:
                return Reply(say("latest_usage", chat.language), chat.language)
            count = int(argument)
        newest = self.store.latest(count)
        if not newest:
            return Reply(say("latest_none", chat.language), chat.language)
        return Reply(language=chat.language, articles=tuple(newest))

    def _digest(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        # `/digest`: what arrived since the chat's last digest (not consumed: the scheduled
        # digest still brings it); `/digest 2021-04-20`: what was published that day.
        zone = self._zone(chat)
        current = chat_store.subscription(self.store, chat)
        active = current if current is not None and current.active else None
        wanted = active.filter if active is not None else None
        if argument:
            try:
                day = date.fromisoformat(argument.strip())
            except ValueError:
                return Reply(say("digest_usage", chat.language), chat.language)
            digest = compose(self.store, Window.calendar_day(day, zone), digest_filter=wanted)
            if digest.empty:
                key = "digest_day_empty" if wanted is None or wanted.empty else "digest_day_filtered"
                return Reply(say(key, chat.language, date=day.isoformat()), chat.language)
            return Reply(language=chat.language, digest=digest)
        window = on_demand_window(now=self.clock(), zone=zone,
                                  digested_until=active.digested_until if active is not None else None,
                                  active_since=active.active_since if active is not None else None)
        digest = compose(self.store, window, digest_filter=wanted,
                         already_had=lambda ids: outbox.already_had(self.store, chat.id, ids))
        digest = replace(digest, preview=True)
        if digest.empty:
            when = window.start.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            key = "digest_empty" if wanted is None or wanted.empty or not digest.window_total else "digest_filtered"
            return Reply(say(key, chat.language, since=when), chat.language)
        return Reply(language=chat.language, digest=digest)

    def _subscribe(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        try:
            wanted = self.parse_filter(argument)
        except QueryError as exc:
            return Reply(say("subscribe_bad", chat.language, reason=exc), chat.language)
        entries = len(wanted.categories) + len(wanted.sources) + len(wanted.keywords) + len(wanted.excluded)
        if entries > MAX_FILTER_ENTRIES or any(len(w) > 40 for w in (*wanted.keywords, *wanted.excluded)):
            return Reply(say("subscribe_too_long", chat.language, most=MAX_FILTER_ENTRIES), chat.language)
        chat_store.subscribe(self.store, chat, wanted, now=self.clock())
        text = say("subscribed", chat.language, time=self._time_of(chat), tz=self._zone(chat).key,
                   filter=self._describe(wanted, chat.language))
        return Reply(text, chat.language)

    def _unsubscribe(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        done = chat_store.unsubscribe(self.store, chat)
        return Reply(say("unsubscribed" if done else "not_subscribed", chat.language), chat.language)

    def _settings(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        current = chat_store.subscription(self.store, chat)
        state = say("on" if current is not None and current.active else "off", chat.language)
        wanted = current.filter if current is not None else DigestFilter()
        text = say("settings", chat.language, state=state, time=self._time_of(chat), tz=self._zone(chat).key,
                   filter=self._describe(wanted, chat.language))
        return Reply(text, chat.language)

    def _time(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        value = parse_time(argument)
        if value is None:
            return Reply(say("time_usage", chat.language), chat.language)
        chat = chat_store.update_chat(self.store, chat, digest_time=value)
        return Reply(say("time_set", chat.language, time=value, tz=self._zone(chat).key), chat.language)

    def _tz(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        if not argument:
            return Reply(say("tz_usage", chat.language), chat.language)
        zone = _zone_named(argument.strip())
        if zone is None:
            return Reply(say("tz_bad", chat.language, tz=argument.strip()[:64]), chat.language)
        chat = chat_store.update_chat(self.store, chat, timezone=zone.key)
        return Reply(say("tz_set", chat.language, tz=zone.key, time=self._time_of(chat)), chat.language)

    def _lang(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        language = argument.strip().lower()
        if language not in LANGUAGES:
            return Reply(say("lang_usage", chat.language), chat.language)
        chat_store.update_chat(self.store, chat, language=language)
        return Reply(say("lang_set", language), language)

    def _stats(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        if not self._is_admin(message):
            return Reply(say("stats_denied", chat.language), chat.language)
        day_start = self.clock().replace(hour=0, minute=0, second=0, microsecond=0)
        # the sources the bot polls (DIGESTBOT_SOURCES), not every one-off `digestbot ingest`
        counts = self.store.stats(day_start, self.config.settings.sources)
        text = say("stats", chat.language, articles=counts.articles, near=counts.near_duplicates,
                   sources=counts.sources, failing=counts.failing, chats=counts.chats,
                   subscribed=counts.subscribed, sent=counts.sent)
        return Reply(text, chat.language)

    # -- helpers -----------------------------------------------------------------------

    def parse_filter(self, argument: str) -> DigestFilter:
        """The subscription `argument` asks for (`digest.filters.parse_filter`, with the
        store's category and source names); raises `QueryError` for one it cannot take."""
        return filters.parse_filter(self.store.known_names, argument)

    def _describe(self, wanted: DigestFilter, language: str) -> str:
        # in words, not the filter syntax: "分类：科技；来源：每经网；关键词：比特币；排除：广告"
        if wanted.empty:
            return say("filter_all", language)
        joiner = say("filter_items_joiner", language)
        kinds = (("filter_categories", wanted.categories), ("filter_sources", wanted.sources),
                 ("filter_keywords", wanted.keywords), ("filter_excluded", wanted.excluded))
        text = say("filter_parts_joiner", language).join(
            say(key, language, items=joiner.join(items)) for key, items in kinds if items
        )
        return text[:1].upper() + text[1:]  # English starts its sentence with a capital

    def _chat(self, message: Incoming) -> Chat:
        return chat_store.ensure_chat(self.store, message.platform, message.chat_ref, kind=message.chat_kind,
                                      title=message.chat_title)

    def _zone(self, chat: Chat) -> ZoneInfo:
        return chat_store.zone_of(chat, self.config.timezone)

    def _time_of(self, chat: Chat) -> str:
        return chat.digest_time or self.config.digest_time

    def _is_admin(self, message: Incoming) -> bool:
        if message.platform == "console":  # the operator at the terminal
            return True
        admins = self.config.admins
        return bool(
            (message.user_ref and message.user_ref in admins)
            or (message.user_name and ("@" + message.user_name) in admins)
            or (message.user_name and message.user_name in admins)
        )


def _zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone `name`, its case as the user likes (`utc`, `asia/shanghai`); None if none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    folded = {key.lower(): key for key in available_timezones()}
    return ZoneInfo(folded[name.lower()]) if name.lower() in folded else None
