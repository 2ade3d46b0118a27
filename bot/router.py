"""The command router: one implementation of every command, for every adapter.

An adapter turns what arrived into an `Incoming` (see `bot.adapter`, the platform port),
calls `Router.handle`, and renders the `Reply` it gets back. The router never sees a
platform's types or syntax, and never raises: a bad argument gets a short answer, and an
unexpected error a polite one (and a log line).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any
from dataclasses import replace
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from digest import filters, paging
from digest.compose import DigestFilter, Window, compose
from digest.messages import LANGUAGES, say
from digest.query import QueryError
from digest.search import MAX_PAGE, search
from digest.store import Store

from . import chats as chat_store
from . import limits, outbox
from .adapter import Incoming, Reply
from .chats import Chat, clean_text
from .config import BotConfig, parse_time
from .errors import ErrorReporter
from .schedule import on_demand_window

log = logging.getLogger(__name__)

MAX_LATEST = 20
MAX_FILTER_ENTRIES = 50  # categories, sources and words of one subscription
SEARCH_PAGE = 5  # results per page in a chat
_UNLISTED = frozenset({"more"})  # answered, but left out of command menus
MAX_ARGUMENT = 500  # characters of a command's argument: longer is refused, never stored or echoed
_NAME_SHOWN = 32  # of an unknown command's name, echoed in the reply


class Router:
    """Answers commands from the store; `handle` for messages, `search_page` for paging."""

    def __init__(self, store: Store, config: BotConfig, *, clock: Callable[[], datetime] | None = None,
                 reporter: ErrorReporter | None = None, command_forms: Mapping[str, str] | None = None) -> None:
        self.store = store
        # how each platform spells a command before its name, where it is not `/` (Slack: `/news `)
        self.command_forms = dict(command_forms or {})
        self.reporter = reporter or ErrorReporter(config)  # without one, failures are only logged
        self.config = config
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._commands: dict[str, Callable[[Chat, Incoming, str], Reply]] = {
            "start": self._start, "help": self._help, "search": self._search, "latest": self._latest,
            "digest": self._digest, "subscribe": self._subscribe, "unsubscribe": self._unsubscribe,
            "settings": self._settings, "time": self._time, "tz": self._tz, "lang": self._lang,
            "stats": self._stats, "more": self._more,
        }

    @property
    def commands(self) -> list[str]:
        """The command names, for a platform's command menu (/more is the console's)."""
        return [name for name in self._commands if name not in _UNLISTED]

    def handle(self, message: Incoming) -> Reply | None:
        """The reply to a message; None for one the bot should not answer (chatter in a
        group, a command addressed to another bot)."""
        if not message.addressed_to_me:
            return None
        name = clean_text(message.command)[:_NAME_SHOWN] if message.command is not None else None
        try:
            chat = self._chat(message)
        except Exception as exc:  # the store is down: a polite answer, in the default language
            self.reporter.report("command", exc, chat=f"{message.platform}:{clean_text(message.chat)[:64]}",
                                 command=f"/{name}" if name else None)
            return Reply(say("error", "zh"))
        try:
            verdict = self._count(message)
            if verdict is not limits.Verdict.ALLOWED:
                return self._say(chat, "slow_down") if verdict is limits.Verdict.FIRST_OVER else None
            return self._answer(chat, message, name)
        except Exception as exc:  # a bug must cost one reply, not the bot
            self.reporter.report("command", exc, chat=f"{chat.platform}:{chat.chat_ref}",
                                 command=self._form(chat) + (name or ""))
            return self._say(chat, "error")

    def _answer(self, chat: Chat, message: Incoming, name: str | None) -> Reply:
        if name is None:
            return self._say(chat, "not_command")
        command = self._commands.get(name)
        if command is None:
            return self._say(chat, "unknown", command=self._form(chat) + name)
        if len(message.argument) > MAX_ARGUMENT:
            return self._say(chat, "argument_too_long", most=MAX_ARGUMENT)
        return command(chat, message, clean_text(message.argument))

    def _count(self, message: Incoming) -> limits.Verdict:
        """Count the message against its chat's and its sender's limits (the console has none)."""
        if message.platform == "console":
            return limits.Verdict.ALLOWED
        keys = [f"chat:{message.platform}:{message.chat}"]
        if message.user:
            keys.append(f"user:{message.platform}:{message.user}")
        return limits.hit(self.store, [clean_text(key)[:200] for key in keys], now=self.clock(),
                          limit=limits.RateLimit(most=self.config.commands_per_minute))

    def search_page(self, platform: str, chat_ref: str, token: str, page: int) -> Reply:
        """Another page of an earlier search (the paging buttons); a forged button's token
        or page finds nothing, as an expired one does."""
        chat = chat_store.ensure_chat(self.store, platform, clean_text(chat_ref)[:64])
        try:
            if not 1 <= page <= MAX_PAGE or len(token) > 32:
                return self._say(chat, "search_expired")
            text = paging.recall_search(self.store, chat.id, clean_text(token), now=self.clock())
            if text is None:
                return self._say(chat, "search_expired")
            return self._run_search(chat, text, page, token)
        except Exception as exc:  # a bug must cost one reply, not the bot
            self.reporter.report("command", exc, chat=f"{chat.platform}:{chat.chat_ref}", command="search page")
            return self._say(chat, "error")

    def notice(self, platform: str, chat_ref: str, key: str, **values: object) -> Reply:
        """The catalogue's text `key` for a chat, in its language: what an adapter says of its
        own accord (Slack's "invite me first")."""
        return self._say(chat_store.ensure_chat(self.store, platform, chat_ref), key, **values)

    # -- commands ----------------------------------------------------------------------

    def _start(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        return self._reply(chat, say("welcome", chat.language) + self._help(chat, message, argument).text)

    def _help(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        more = say("help_more", chat.language) if message.pages_by_command else ""
        return self._say(chat, "help", more=more)

    def _search(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        if not argument:
            return self._say(chat, "search_usage")
        return self._run_search(chat, argument, 1, None)

    def _run_search(self, chat: Chat, text: str, page: int, token: str | None) -> Reply:
        # token None: a new search, kept for its page buttons once it is known to run
        try:
            found = search(self.store, text, page=page, limit=SEARCH_PAGE, now=self.clock(), tz=self._zone(chat))
        except QueryError as exc:
            return self._say(chat, "search_bad", reason=self._worded(exc, chat))
        if token is None:
            token = paging.remember_search(self.store, chat.id, text, now=self.clock())
        return self._reply(chat, search=found, search_token=token)

    def _more(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        # the console pages with /more itself; a chat with page buttons is pointed to them
        return self._say(chat, "more_buttons")

    def _latest(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        count = 5
        if argument:
            # ASCII digits only: str.isdigit takes `²`, which int() refuses
            if not (argument.isascii() and argument.isdigit()) or not 1 <= int(argument) <= MAX_LATEST:
                return self._say(chat, "latest_usage")
            count = int(argument)
        newest = self.store.latest(count)
        if not newest:
            return self._say(chat, "latest_none")
        return self._reply(chat, articles=tuple(newest))

    def _digest(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        # `/digest`: what arrived since the chat's last digest (not consumed: the scheduled
        # digest still brings it); `/digest 2021-04-20`: what was published that day.
        zone = self._zone(chat)
        current = chat_store.subscription(self.store, chat)
        active = current if current is not None and current.active else None
        wanted = active.filter if active is not None else None
        if argument:
            day = _day(argument.strip())
            if day is None:
                return self._say(chat, "digest_usage")
            digest = compose(self.store, Window.calendar_day(day, zone), digest_filter=wanted)
            if digest.empty:
                key = "digest_day_empty" if wanted is None or wanted.empty else "digest_day_filtered"
                return self._say(chat, key, date=day.isoformat())
            return self._reply(chat, digest=digest)
        window = on_demand_window(now=self.clock(), zone=zone,
                                  digested_until=active.digested_until if active is not None else None,
                                  active_since=active.active_since if active is not None else None)
        digest = compose(self.store, window, digest_filter=wanted,
                         already_had=lambda ids: outbox.already_had(self.store, chat.id, ids))
        digest = replace(digest, preview=True)
        if digest.empty:
            when = window.start.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            key = "digest_empty" if wanted is None or wanted.empty or not digest.window_total else "digest_filtered"
            return self._say(chat, key, since=when)
        return self._reply(chat, digest=digest)

    def _subscribe(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        try:
            wanted = filters.parse_filter(self.store.known_names, argument)
        except QueryError as exc:
            return self._say(chat, "subscribe_bad", reason=self._worded(exc, chat))
        entries = len(wanted.categories) + len(wanted.sources) + len(wanted.keywords) + len(wanted.excluded)
        if entries > MAX_FILTER_ENTRIES or any(len(w) > 40 for w in (*wanted.keywords, *wanted.excluded)):
            return self._say(chat, "subscribe_too_long", most=MAX_FILTER_ENTRIES)
        chat_store.subscribe(self.store, chat, wanted, now=self.clock())
        text = say("subscribed", chat.language, time=self._time_of(chat), tz=self._zone(chat).key,
                   filter=self._describe(wanted, chat.language))
        return self._reply(chat, text, changed=True)

    def _unsubscribe(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        done = chat_store.unsubscribe(self.store, chat)
        return replace(self._say(chat, "unsubscribed" if done else "not_subscribed"), changed=done)

    def _settings(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        current = chat_store.subscription(self.store, chat)
        state = say("on" if current is not None and current.active else "off", chat.language)
        wanted = current.filter if current is not None else DigestFilter()
        text = say("settings", chat.language, state=state, time=self._time_of(chat), tz=self._zone(chat).key,
                   filter=self._describe(wanted, chat.language))
        return self._reply(chat, text)

    def _time(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        value = parse_time(argument)
        if value is None:
            return self._say(chat, "time_usage")
        chat = chat_store.update_chat(self.store, chat, digest_time=value)
        key = "time_set" if self._subscribed(chat) else "time_set_unsubscribed"
        return replace(self._say(chat, key, time=value, tz=self._zone(chat).key), changed=True)

    def _tz(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        if not argument:
            return self._say(chat, "tz_usage")
        zone = _zone_named(argument.strip())
        if zone is None:
            return self._say(chat, "tz_bad", tz=argument.strip()[:64])
        chat = chat_store.update_chat(self.store, chat, timezone=zone.key)
        key = "tz_set" if self._subscribed(chat) else "tz_set_unsubscribed"
        return replace(self._say(chat, key, tz=zone.key, time=self._time_of(chat)), changed=True)

    def _lang(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        language = argument.strip().lower()
        if language not in LANGUAGES:
            return self._say(chat, "lang_usage")
        chat = chat_store.update_chat(self.store, chat, language=language)
        return replace(self._say(chat, "lang_set"), changed=True)

    def _stats(self, chat: Chat, message: Incoming, argument: str) -> Reply:
        if not self._is_admin(message):
            return self._say(chat, "stats_denied")
        day_start = self.clock().replace(hour=0, minute=0, second=0, microsecond=0)
        # the sources the bot polls (DIGESTBOT_SOURCES), not every one-off `digestbot ingest`
        counts = self.store.stats(day_start, self.config.settings.sources)
        return self._say(chat, "stats", articles=counts.articles, near=counts.near_duplicates,
                         sources=counts.sources, failing=counts.failing, chats=counts.chats,
                         subscribed=counts.subscribed, sent=counts.sent)

    # -- helpers -----------------------------------------------------------------------

    def _reply(self, chat: Chat, text: str = "", **content: Any) -> Reply:
        """A reply to `chat`, in its language and time zone."""
        return Reply(text, chat.language, self._zone(chat), **content)

    def _say(self, chat: Chat, key: str, **values: object) -> Reply:
        """The catalogue's text `key`, in the chat's language, its commands as the chat's platform spells them."""
        return self._reply(chat, say(key, chat.language, commands=self._form(chat), **values))

    def _worded(self, error: QueryError, chat: Chat) -> str:
        """A library error in the chat's language and its platform's command form: its code
        is the catalogue's key."""
        return say(error.code, chat.language, commands=self._form(chat), **error.params)

    def _subscribed(self, chat: Chat) -> bool:
        current = chat_store.subscription(self.store, chat)
        return current is not None and current.active

    def _form(self, chat: Chat) -> str:
        return self.command_forms.get(chat.platform, "/")

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
        return chat_store.ensure_chat(self.store, message.platform, message.chat, kind=message.chat_kind,
                                      title=message.chat_title)

    def _zone(self, chat: Chat) -> ZoneInfo:
        return chat_store.zone_of(chat, self.config.timezone)

    def _time_of(self, chat: Chat) -> str:
        return chat.digest_time or self.config.digest_time

    def _is_admin(self, message: Incoming) -> bool:
        # platform-qualified ids only: an @name is mutable and means different people on
        # two platforms
        return message.sender is not None and message.sender in self.config.admins


def _day(text: str) -> date | None:
    """`YYYY-MM-DD` in ASCII digits, within the years a window of local days can hold."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text, re.ASCII):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    # a day at either end of datetime's range overflows once shifted into a time zone
    return day if 1 < day.year < 9999 else None


def _zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone `name`, its case as the user likes (`utc`, `asia/shanghai`); None if none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    folded = {key.lower(): key for key in available_timezones()}
    return ZoneInfo(folded[name.lower()]) if name.lower() in folded else None
