"""Every command, in Chinese and in English, on every renderer: once the article content
is taken out, no text of the other language is left (one message catalogue, issue 9)."""

from __future__ import annotations

import asyncio
import html
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pytest

from bot import chats as chat_store
from bot.adapter import Reply
from bot.config import BotConfig
from bot.console import CHAT, ConsoleAdapter
from bot import slack_blocks
from bot.render import reply_text
from bot.router import Router
from bot.telegram import command_menu
from bot.telegram_html import digest_messages, reply_messages
from digest.compose import DAY, FIRST, OTHER, SINCE, DailyDigest, DigestSection, Window, compose
from digest.ingest import Ingestor
from digest.messages import EXAMPLES, LANGUAGES, keys, say
from digest.search import SearchPage, search
from digest.store import Store
from tests.support.builders import write_post
from tests.support.texts import AI_BODY, BANK_BODY, PORT_BODY
from tests.support.messages import make_incoming

NOW = datetime(2021, 4, 20, 12, 0, tzinfo=timezone.utc)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CHAT_REF = "100"
ADMIN, READER = "42", "7"
PAGED = "/search 港口 简报"  # two pages of five

# Han characters, and the full-width punctuation Chinese text is written with; 【】 are
# left out: every renderer wraps content in them (a section's category, a search hit)
_CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3001-\u300f\u3012-\u303f\uff01-\uff5e]")
_LATIN = re.compile(r"[A-Za-z]")
# what Chinese text may hold in Latin letters: command names, filter prefixes (with the
# spans and dates they take), the formats and codes a command takes, and a few names
_ALLOWED_IN_CHINESE = re.compile("|".join([
    r"/[a-z_]+",
    r"(?<![A-Za-z])(?:source|cat|since):(?:\d+[a-z](?![A-Za-z])|\d{4}-\d{2}-\d{2})?",
    r"HH:MM", r"YYYY-MM-DD", r"(?<![A-Za-z])(?:zh|en)(?![A-Za-z])", r"\[n\]", r"(?<= )n(?= )",
    r"IANA", r"Telegram", r"digestbot", r"Ctrl-D",
]))
_ZONE_NAME = re.compile(r"[A-Za-z_]+(?:/[A-Za-z_+\-0-9]+)+|UTC")
_ZONES = available_timezones()
_TYPED_WORDS = re.compile(r"[,，、;；!！\s]+")


@dataclass(frozen=True)
class Shown:
    """What one command showed on one renderer, and the article content it may hold."""

    what: str
    text: str
    content: tuple[str, ...]


@pytest.fixture
def news(tmp_path: Path) -> Iterator[Store]:
    posts = tmp_path / "posts"
    write_post(posts, "ai.md", AI_BODY, title="人工智能助手进驻政务大厅", author="数字城市报",
               categories=("科技", "数字城市报", "科技"), date="2021-04-20 09:00:00")
    write_post(posts, "bank.md", BANK_BODY, title="多家银行下调存款利率", author="每经网", date="2021-04-20 10:00:00",
               extra="link: https://news.example.com/bank")
    write_post(posts, "port.md", PORT_BODY, title="长江港口吞吐量回升", author="江城经济观察", date="2021-04-19 10:00:00")
    for i in range(7):
        write_post(posts, f"p{i}.md", f"<p>第{i}期港口航运简报：集装箱吞吐量保持增长，编号{i * 7919}。</p>",
                   title=f"港口简报第{i}期", date=f"2021-04-1{i} 08:00:00", author="航运周刊")
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    Ingestor(store, workers=1, clock=lambda: NOW - timedelta(hours=1)).ingest([str(posts)])
    yield store
    store.close()


def _router(store: Store, now: datetime = NOW) -> Router:
    # the walk sends every command from one chat within a minute: no command limit here
    return Router(store, BotConfig(admins=frozenset({f"telegram:{ADMIN}"}), commands_per_minute=0), clock=lambda: now)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_command_answers_in_the_chats_language_on_every_renderer(news: Store, language: str) -> None:
    shown = [s for what, typed, reply in _walk(news, language) for s in _rendered(what, typed, reply)]
    assert len(shown) > 80
    _assert_in_language(shown, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_digests_and_the_command_menu_are_in_the_chats_language(news: Store, language: str) -> None:
    console = ConsoleAdapter(_router(news))
    shown = []
    for digest in _digests(news):
        content = _digest_content(digest)
        (part,) = console.digest_parts(digest, language)
        shown.append(Shown(f"console digest {digest.kind}", part["text"], content))
        shown += [Shown(f"telegram digest {digest.kind}", _visible(m), content)
                  for m in digest_messages(digest, language)]
        shown += [Shown(f"slack digest {digest.kind}", _slack_visible(m), content)
                  for m in slack_blocks.digest_messages(digest, language)]
    shown += [Shown(f"menu /{c.command}", c.description, ()) for c in command_menu(_router(news).commands, language)]
    _assert_in_language(shown, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_console_pages_and_greets_in_the_chats_language(news: Store, language: str) -> None:
    router = _router(news)
    chat = chat_store.ensure_chat(news, "console", CHAT, title="console")
    chat_store.update_chat(news, chat, language=language)
    typed = ["/more", PAGED, "/more", "/more"]
    out = io.StringIO()

    async def run() -> None:
        ended = asyncio.Event()
        console = ConsoleAdapter(router, stdin=io.StringIO("\n".join(typed) + "\n"), stdout=out, on_eof=ended.set)
        await console.start()
        await asyncio.wait_for(ended.wait(), 60)
        await console.stop()

    asyncio.run(run())
    pages = [search(news, PAGED.split(" ", 1)[1], page=n, limit=5, now=NOW, tz=SHANGHAI) for n in (1, 2)]
    content = tuple(x for t in typed for x in _typed(t)) + tuple(x for p in pages for x in _search_content(p))
    assert say("search_last_page", language, pages=2) in out.getvalue()
    assert say("more_first", language) in out.getvalue()
    _assert_in_language([Shown("console", out.getvalue(), content)], language)


def test_every_text_of_the_catalogue_is_in_both_languages() -> None:
    # a text missing in English would fall back to the Chinese one
    missing = [key for key in keys() if say(key, "en", **_any_values()) == say(key, "zh", **_any_values())]
    assert not missing


def test_a_library_error_is_worded_for_the_chat_and_its_message_stays_english(news: Store) -> None:
    router = _router(news)
    chinese = router.handle(make_incoming("/search since:tomorrow 银行", chat=CHAT_REF))
    assert chinese is not None and chinese.text.startswith("无法搜索：无法识别 since:tomorrow，")
    router.handle(make_incoming("/lang en", chat=CHAT_REF))
    english = router.handle(make_incoming("/search ？！", chat=CHAT_REF))
    assert english is not None and english.text.startswith("Cannot search: nothing to search for")
    with pytest.raises(Exception, match=r"^since:soon — write a date"):
        search(news, "since:soon 银行", now=NOW)


# -- the walk ------------------------------------------------------------------------------


def _walk(store: Store, language: str) -> list[tuple[str, tuple[str, ...], Reply]]:
    """Every command a chat can send, its variants and its paging, after `/lang language`;
    with each reply, what the user typed: the argument, and the words the chat subscribed
    to (/settings shows them)."""
    router = _router(store)
    replies: list[tuple[str, tuple[str, ...], Reply]] = []

    def typed(text: str) -> tuple[str, ...]:
        chat = chat_store.ensure_chat(store, "telegram", CHAT_REF)
        current = chat_store.subscription(store, chat)
        wanted = current.filter if current is not None else None
        words = (*wanted.categories, *wanted.sources, *wanted.keywords, *wanted.excluded) if wanted else ()
        return (*_typed(text), *words)

    def ask(text: str, user: str = READER, via: Router = router) -> Reply:
        reply = via.handle(make_incoming(text, chat=CHAT_REF, user=user))
        assert reply is not None, text
        replies.append((text, typed(text), reply))
        return reply

    ask(f"/lang {language}")
    for text in ("/start", "/help", "/search 人工智能", "/search 火星", "/search since:tomorrow 银行", "/search ？！",
                 "/search", "/search source:每经网", "/latest", "/latest 2", "/latest zero",
                 "/digest", "/digest 2021-04-20", "/digest 2021-01-01", "/digest soon"):
        ask(text)
    paged = ask(PAGED)
    assert paged.search is not None and paged.search.pages == 2 and paged.search_token
    for token, page in ((paged.search_token, 2), (paged.search_token, 9), ("expired", 1)):
        replies.append((f"{PAGED} (page {page})", typed(PAGED), router.search_page("telegram", CHAT_REF, token, page)))
    ask("/digest", via=_router(store, NOW + timedelta(days=30)))  # nothing new since then
    for text in ("/subscribe 火星", "/digest", "/digest 2021-04-20", "/settings",
                 "/subscribe 科技, 每经网，港口 !广告", "/settings", "/subscribe " + " ".join(f"词{i}" for i in range(60)),
                 "/subscribe since:7d", "/subscribe 分类：", "/subscribe", "/time 08:30", "/time 8点",
                 "/tz Europe/Berlin", "/tz Mars/Base", "/tz",
                 "/tz asia/shanghai", "/unsubscribe", "/unsubscribe", "/settings", "/lang fr", "/stats",
                 "/frobnicate now", "hello"):
        ask(text)
    ask("/stats", user=ADMIN)
    assert all(r.language == language for _, _, r in replies)
    return replies


def _rendered(what: str, typed: tuple[str, ...], reply: Reply) -> list[Shown]:
    """The reply as plain text and as Telegram HTML (its visible text and buttons)."""
    content = _reply_content(typed, reply)
    shown = [Shown(f"{what} (plain text)", reply_text(reply), content)]
    for message in reply_messages(reply):
        shown.append(Shown(f"{what} (telegram)", _visible(message.html), content))
        shown += [Shown(f"{what} (telegram button)", b.label, ()) for b in message.buttons]
    for slack in slack_blocks.reply_messages(reply):  # Block Kit: every kind of reply
        shown.append(Shown(f"{what} (slack)", _slack_visible(slack), content))
    if reply.search is not None and reply.search.hits:  # a page shared in the channel says who shared it
        shared = slack_blocks.shared_message(reply.search, reply.zone, reply.language, "U0USER")
        shown.append(Shown(f"{what} (slack, shared)", _slack_visible(shared), content))
    return shown


def _digests(store: Store) -> list[DailyDigest]:
    """A digest with every part a renderer labels — sections (one without a category),
    similar reports, titles, a count left out — of every kind, previewed or not; and an
    empty one."""
    base = compose(store, Window.calendar_day(date(2021, 4, 20), SHANGHAI))
    first = base.items[0]
    sections = (*base.sections, DigestSection(OTHER, (replace(first, also_reported=2, category=""),)))
    full = replace(base, sections=sections, titles=tuple(base.items), left_out=3)
    digests = [replace(full, kind=kind, preview=preview) for kind in (FIRST, SINCE, DAY) for preview in (False, True)]
    return [*digests, replace(full, sections=(), titles=(), left_out=0)]


# -- article content: what stays in the articles' language --------------------------------


def _typed(text: str) -> tuple[str, ...]:
    # what the user typed after the command, whole and word by word
    argument = text.split(" ", 1)[1] if " " in text else ""
    return (argument, *(w for w in _TYPED_WORDS.split(argument) if w)) if argument else ()


def _reply_content(typed: tuple[str, ...], reply: Reply) -> tuple[str, ...]:
    content = list(typed)
    if reply.search is not None:
        content += _search_content(reply.search)
    for a in reply.articles:
        content += [a.title, a.source_name, a.url or "", *a.summary]
    if reply.digest is not None:
        content += _digest_content(reply.digest)
    return tuple(content)


def _search_content(page: SearchPage) -> list[str]:
    out = [page.query.text]
    for hit in page.hits:
        a = hit.article
        out += [a.title, a.source_name, a.category, a.url or "", hit.snippet.text, hit.snippet.marked()]
    return out


def _digest_content(digest: DailyDigest) -> tuple[str, ...]:
    # a section's category is content; the section of stories without one is not
    out = [s.category for s in digest.sections if s.category != OTHER]
    for item in (*digest.items, *digest.titles):
        out += [item.title, item.source, item.url or "", *item.summary, *item.keywords]  # keywords: Slack shows them
    return tuple(out)


# -- the check -----------------------------------------------------------------------------


def _assert_in_language(shown: list[Shown], language: str) -> None:
    wrong = []
    for s in shown:
        rest = _without(s.text, s.content)
        if language == "en":
            found = _CHINESE.search(rest)
        else:
            found = _LATIN.search(_ALLOWED_IN_CHINESE.sub(" ", _without_zones(rest)))
        if found:
            wrong.append(f"{s.what}: {found.group()!r} in {rest!r}")
    assert not wrong, "\n".join(wrong)


def _without(text: str, content: Iterable[str]) -> str:
    # the longest first: a title may contain a source's name
    for piece in sorted({c for c in (*content, *EXAMPLES.values()) if c}, key=len, reverse=True):
        text = text.replace(piece, " ")
    return text


def _without_zones(text: str) -> str:
    return _ZONE_NAME.sub(lambda m: " " if m.group() in _ZONES else m.group(), text)


def _visible(message_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", message_html))


def _slack_visible(message: dict[str, object]) -> str:
    """Every text a Slack message shows — header, sections, contexts, buttons, the
    fallback — with links as their labels, mentions as Slack shows them (a name, not ours)
    dropped, and mrkdwn unescaped."""
    texts = [str(message["text"])]
    for block in message["blocks"]:  # type: ignore[attr-defined]
        if block["type"] in ("context", "actions"):
            texts += [e["text"] if isinstance(e["text"], str) else e["text"]["text"] for e in block["elements"]]
        else:
            texts.append(block["text"]["text"])
    shown = re.sub(r"<@[UW][A-Z0-9]+>", "", "\n".join(texts))
    return html.unescape(re.sub(r"<[^|>]*\|([^>]*)>", r"\1", shown))


def _any_values() -> dict[str, object]:
    # every placeholder the catalogue uses, filled
    names = ("command", "reason", "pages", "total", "page", "query", "since", "date", "most", "time", "tz",
             "filter", "state", "items", "articles", "near", "sources", "failing", "chats", "subscribed", "sent",
             "value", "matched", "candidates", "day", "title", "zone", "start", "end", "count", "source",
             "headings", "keywords", "url", "path", "word", "more", "user", "bot")
    return {n: "1" for n in names}
