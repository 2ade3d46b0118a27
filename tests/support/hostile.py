"""Hostile input for the fuzz tests and bench/fuzz.py: hypothesis strategies per target, and
the property each case must keep (a `*_case` function that returns how the library answered
and raises when the answer breaks the property). The tests and the benchmark import both
from here, so the cases counted are the cases tested.

The bounds each property leans on are the library's own: a post file's size
(parse.MAX_FILE_BYTES), a title's length (parse.MAX_TITLE_CHARS), a piece given to jieba
(text.MAX_CUT_CHARS), a feed's size, deadline and redirects (feeds.MAX_FEED_BYTES,
DEADLINE_SECONDS, MAX_REDIRECTS), a query's length (query.MAX_QUERY_CHARS) and a command's
argument (router.MAX_ARGUMENT)."""

from __future__ import annotations

import codecs
import io
import re
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from hypothesis import strategies as st
from telegram import Update

from bot import slack, slack_blocks, telegram, telegram_html
from bot.adapter import Incoming, Reply
from bot.config import BotConfig
from bot import console
from bot.errors import ErrorReporter
from bot.render import reply_text
from bot.router import Router
from digest import messages
from digest.errors import ArticleError
from digest.feeds import FeedError, parse_feed
from digest.messages import LANGUAGES
from digest.parse import MAX_TITLE_CHARS, article_from_bytes
from digest.prepared import prepare
from digest.query import MAX_QUERY_CHARS, QueryError, parse_query
from digest.schema import metadata
from digest.store import Store
from tests.support.builders import SEEDS, rss

NOW = datetime(2021, 4, 20, 12, 0, tzinfo=timezone.utc)
READ, REFUSED = "read", "refused"  # what a case's function returns: a value, or the library's own error

# -- the pieces hostile text is made of ---------------------------------------------------

_NASTY_TEXT = ["\x00", "\ufeff", "\r\n", "\r", "\n", "\ud800", "\udfff", "\u202e", "\u200b", "²", "٣", "：", ":",
               "'", '"', "“", "*", "&", "&amp;", "&#0;", "&#x110000;", "<", ">", "]]>", "<![CDATA[", "\\", "%s",
               "{}", "{0}", "NEAR", "AND", "OR", "-", "since:", "source:", "cat:", "分类：", "自:", "9999", "0001",
               "2021-04-20", "7d", "99999y", "@", "#", "/", "*a", "&a", "!", "人工智能", "存款", "金融", "🙂", " "]

hostile_text = st.lists(st.one_of(st.characters(exclude_categories=()),  # surrogates and controls too
                                  st.sampled_from(_NASTY_TEXT)), max_size=40).map("".join)
# a piece of hostile text, sometimes repeated to past every length cap
long_hostile_text = hostile_text.flatmap(lambda s: st.sampled_from([s, s * 30, s * 400]))


def _seed_posts() -> list[bytes]:
    return [path.read_bytes() for path in sorted(SEEDS.glob("*.md"))]


SEED_POSTS = _seed_posts()

# -- posts --------------------------------------------------------------------------------

_YAML_HOSTILE = [
    b"a: &a [x, x, x]\nb: &b [*a, *a, *a]\ntitle: *b\n",  # anchors and aliases
    b"title: &t hello\nauthor: *t\n",
    b"<<: *missing\n",
    b"title: !!python/object/apply:os.system ['true']\n",  # unsafe tags: the safe loader refuses
    b"title: !!binary aGVsbG8=\n",
    b"date: 2021-02-30\n", b"date: 9999-12-31 23:59:59 -10:00\n", b"date: 0000-00-00\n",
    b"title: [unclosed\n", b"title: 'unclosed\n", b"\t- tab: indent\n", b"? complex\n: key\n",
    b"categories: {a: [b, {c: d}]}\n", b"title: 12\n", b"title: null\n", b"title: .inf\n",
    b"title: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]\n",
    b"- a list\n- not a mapping\n", b"just a string\n", b"%YAML 1.1\n", b"--- !!set\n",
]
_INSERTED = [b"\x00", codecs.BOM_UTF8, b"\r\n", b"\r", b"\n---\n", b"---", b"\xff", b"\xe4\xb8", b"\xed\xa0\x80",
             b"<div>" * 50, b"</div>" * 50, b"<!--", b"<script>", b"&#123;", b"\x1b[31m", b"\x7f", b"# ", b"\t"]
_ENCODINGS = ["gbk", "gb18030", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "big5", "latin-1", "utf-8-sig"]
_NESTING_TAGS = ["div", "p", "b", "span", "li", "blockquote", "table", "h2", "strong", "a", "ul", "em"]


@st.composite
def _mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "yaml", "encode", "crlf", "nest", "title",
                                     "delete", "duplicate"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            data = data[:at]  # a file cut mid-way: often inside a UTF-8 character
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(_INSERTED)) * draw(st.sampled_from([1, 3, 1000]))
        elif kind == "yaml":  # just after the opening ---, inside the front matter
            start = data.find(b"---")
            spot = start + 4 if start >= 0 else 0
            data[spot:spot] = draw(st.sampled_from(_YAML_HOSTILE))
        elif kind == "encode":
            text = bytes(data).decode("utf-8", "replace")
            data = bytearray(text.encode(draw(st.sampled_from(_ENCODINGS)), "replace"))
        elif kind == "crlf":
            data = bytearray(bytes(data).replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r", b"\n\r", b"\x85"]))))
        elif kind == "nest":
            tag = draw(st.sampled_from(_NESTING_TAGS)).encode()
            depth = draw(st.sampled_from([10, 300, 3000]))
            closed = draw(st.booleans())
            data[at:at] = b"<" + tag + b">" * 1 + (b"<" + tag + b">") * depth + "深层正文。".encode() + (
                (b"</" + tag + b">") * depth if closed else b"")
        elif kind == "title":
            long_title = draw(st.sampled_from(["中" * 5000, "#" * 3000, " " * 5000 + "x", "a.b" * 3000]))
            data = bytearray(bytes(data).replace(b"title:", b"title: " + long_title.encode() + b" ", 1))
        elif kind == "delete":
            end = draw(st.integers(at, min(len(data), at + 200)))
            del data[at:end]
        elif kind == "duplicate":
            data += bytes(data[at:]) * draw(st.sampled_from([2, 10]))
    return bytes(data)


post_bytes = st.one_of(
    st.binary(max_size=4096),
    st.sampled_from(SEED_POSTS).flatmap(_mutated),
    st.sampled_from(SEED_POSTS).flatmap(_mutated).map(lambda b: b"\n" + b),
)


def parse_case(data: bytes, path: str = "fuzz/post.md") -> str:
    """A post file's bytes through the ingest path (parse, then summary and index words):
    READ with a sane article, REFUSED with an `ArticleError` naming the file."""
    try:
        article = article_from_bytes(data, path, 1618900000.0)
    except ArticleError as exc:
        assert exc.path == path and str(exc).startswith(f"{path}: ") and exc.reason.strip(), exc
        assert "\n" not in exc.reason, exc.reason  # one line, for `digestbot sources` and the logs
        return REFUSED
    assert article.path == path and isinstance(article.title, str) and len(article.title) <= MAX_TITLE_CHARS
    assert "\x00" not in article.title and all(b.text.strip() for b in article.blocks)
    prepared = prepare(article)
    assert all(s.text for s in prepared.summary.sentences)
    return READ


# -- feeds --------------------------------------------------------------------------------

_RSS = rss([{"title": "多家银行下调存款利率", "link": "http://127.0.0.1/news/2", "category": "金融",
             "pubDate": "Tue, 20 Apr 2021 02:00:00 GMT",
             "description": "<![CDATA[<p>多家银行下调存款利率，理财产品收益率随之走低。</p>]]>"},
            {"title": "长江港口吞吐量回升", "link": "http://127.0.0.1/news/3",
             "description": "&lt;p&gt;港口吞吐量同比增长，集装箱运输明显回升。&lt;/p&gt;"}])
_ATOM = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
         "<title>原子新闻</title><id>urn:test</id><updated>2021-04-20T08:00:00Z</updated>"
         "<entry><title type='html'>长江&lt;b&gt;港口&lt;/b&gt;</title><id>urn:1</id>"
         "<link href='http://127.0.0.1/atom/1'/><updated>2021-04-20T08:00:00Z</updated>"
         "<content type='html'><![CDATA[<p>港口吞吐量同比增长，集装箱运输明显回升。</p>]]></content></entry></feed>"
         ).encode("utf-8")
# a DOCTYPE with entities, put in front of the root: internal expansion (a "billion laughs"),
# external entities (a local file, a URL on loopback), parameter entities
_ENTITY_LOL = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 9))
_DOCTYPES = [
    f'<!DOCTYPE rss [<!ENTITY l0 "lol">{_ENTITY_LOL}]>'.encode(),
    b'<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE rss [<!ENTITY x SYSTEM "http://127.0.0.1:9/x.dtd">]>',
    b'<!DOCTYPE rss [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
    b'<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/rss.dtd">',
]
_ENTITY_USES = [b"&l8;", b"&x;", b"&undefined;", b"&#0;", b"&#x110000;", b"&amp;#123;"]
_FEED_INSERTED = _INSERTED + [b"<item>", b"</item>", b"<entry>", b"<title>", b"]]>", b"<![CDATA[", b"&",
                              b"<?xml version='1.0'?>", b'encoding="gbk"', b'encoding="undefined"', b'encoding="x\x00"']


@st.composite
def _mutated_feed(draw: st.DrawFn, base: bytes) -> bytes:
    data = draw(_mutated(base))
    if draw(st.booleans()):
        root = data.find(b"<rss") if b"<rss" in data else data.find(b"<feed")
        spot = max(root, 0)
        data = data[:spot] + draw(st.sampled_from(_DOCTYPES)) + data[spot:]
        title = data.find(b"<title>")
        if title >= 0:
            data = data[:title + 7] + draw(st.sampled_from(_ENTITY_USES)) + data[title + 7:]
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(_FEED_INSERTED)) + data[at:]
    return data


feed_bytes = st.one_of(
    st.binary(max_size=4096),
    st.sampled_from([_RSS, _ATOM]).flatmap(_mutated_feed),
)
content_types = st.sampled_from(["", "application/rss+xml", "application/atom+xml; charset=gbk", "text/html",
                                 "text/xml; charset=utf-16", "application/xml; charset=bogus", "text/plain"])


def feed_case(body: bytes, content_type: str = "", url: str = "http://127.0.0.1/fuzz.xml") -> str:
    """A feed's bytes through parse_feed and each item's summary: READ with articles whose
    titles are capped and links web-only, REFUSED with a one-line `FeedError` naming the URL."""
    try:
        feed = parse_feed(body, url, content_type, now=NOW)
    except FeedError as exc:
        assert exc.url == url and str(exc).startswith(f"{url}: ") and "\n" not in exc.reason, exc
        return REFUSED
    assert isinstance(feed.title, str)
    for article in feed.articles:
        assert 0 < len(article.title) <= MAX_TITLE_CHARS
        assert article.url is None or article.url.lower().startswith(("http://", "https://"))
        assert "root:" not in article.body and "root:" not in article.title  # no /etc/passwd read in
        prepare(article)
    return READ


# -- the search query ---------------------------------------------------------------------

query_text = st.one_of(
    long_hostile_text,
    st.lists(st.sampled_from(["since:", "source:", "cat:", "分类：", "来源: ", "自:", "src:", "7d", "12h", "2021-04-01",
                              "2021/02/30", "0001-01-01", "9999-12-31", "99999y", "100000d", "'", '"', "“",
                              "人工智能", "金融", " ", "AND", "NEAR(", "*", "-"]), max_size=20).map("".join),
)


def query_case(text: str) -> str:
    """Search text through parse_query: READ with a query no longer than its caps, REFUSED
    with a `QueryError` whose code the catalogue words in every language."""
    try:
        query = parse_query(text, now=NOW, tz=timezone.utc)
    except QueryError as exc:
        assert exc.code in messages.keys(), exc.code
        for language in LANGUAGES:
            assert messages.say(exc.code, language, **exc.params)
        return REFUSED
    assert len(query.text) <= MAX_QUERY_CHARS and query.truncated == (len(text) > MAX_QUERY_CHARS)
    assert all(w and "\x00" not in w for w in query.terms)
    return READ


# -- commands, through each platform's parsing, then the router -----------------------------

COMMANDS = ["start", "help", "search", "latest", "digest", "subscribe", "unsubscribe", "settings", "time", "tz",
            "lang", "stats", "more", "next", "nosuch", "SEARCH", "Search", "", "搜索"]
PLATFORMS = ("console", "telegram", "slack-command", "slack-mention", "slack-dm")
BOT_NAME, BOT_USER = "digest_bot", "UBOT0001"


# the commands' own vocabulary: what their argument parsing reads (numbers, dates, times,
# zones, languages, categories, keywords, `since:`, pages) and the platforms' markup around it
_DIGITS = ["0", "1", "3", "10", "20", "99", "100", "-1", "+2", "007", "1e3", "0x10", "²", "٣", "३", "１２", "Ⅻ", "一"]
_WORDS = ["人工智能", "金融", "存款", "长江", "港口", "科技", "广告", "!广告", "！广告", "-金融", "cat:金融", "source:每经网",
          "分类：金融", "来源：每经网", "since:", "since:7d", "since:12h", "since:2021-04-01", "since:0001-01-01",
          "since:99999y", "page", "page 2", "第2页", "more", "next", "all", "none", "off", "on", "zh", "en", "zh-CN", "xx",
          "'", '"', "“金融”", "*", "AND", "OR", "NEAR(", "\x00", "\u200b", "\u202e", "🙂", "&amp;", "<b>", "%s", "{0}"]
_DATES = ["2021-04-20", "2021-02-30", "2021/04/20", "20210420", "0001-01-01", "9999-12-31", "2021-4-2", "今天", "昨天",
          "yesterday", "today", "7d", "24h", "0h", "-3d", "１２h"]
_TIMES = ["08:00", "8:00", "07:30", "23:59", "24:00", "25:61", "00:00", "8", "8点", "08：00", "８:００", "8:0", "08:00:00",
          "8am", "20:00+08:00", "-1:00", "12:60"]
_ZONES = ["Asia/Shanghai", "UTC", "utc", "Europe/London", "America/New_York", "Mars/Olympus", "Etc/GMT+14", "GMT+8",
          "+08:00", "Asia/Shanghai/../..", "../../etc/passwd", "Asia\x00Shanghai", "北京"]
_MARKUP = ["<@U0007>", f"<@{BOT_USER}>", "<@U0007|用户>", "<#C0001|general>", "<#C0002>", "<!channel>", "<!here>",
           "<http://127.0.0.1/x|链接>", "<mailto:a@b.c|a>", "<https://example.com>", "@digest_bot", "@other_bot", "@",
           "&lt;", "&gt;", "&amp;", "*粗体*", "_斜体_", "`代码`", "```", "~删除~", "|", "<", ">"]
_SEPARATORS = [" ", " ", " ", ",", "，", "、", "  ", "\u3000", "\t", "\n", ":", "：", ";", ""]
_vocabulary = st.one_of(st.sampled_from(_DIGITS), st.sampled_from(_WORDS), st.sampled_from(_DATES),
                        st.sampled_from(_TIMES), st.sampled_from(_ZONES), st.sampled_from(_MARKUP),
                        st.text(max_size=6))
short_argument = st.lists(st.tuples(_vocabulary, st.sampled_from(_SEPARATORS)), max_size=6).map(
    lambda parts: "".join(word + gap for word, gap in parts).strip(" "))


@st.composite
def command_lines(draw: st.DrawFn) -> str:
    """What a user may type: mostly a command with a short argument made of the commands'
    own vocabulary (so it reaches their parsing), sometimes a long or binary one (which
    the argument cap refuses), sometimes any text."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(long_hostile_text)
    name = draw(st.sampled_from(COMMANDS))
    addressee = draw(st.sampled_from(["", "", "", f"@{BOT_NAME}", "@other_bot", "@", f"@{BOT_NAME.upper()}"]))
    gap = draw(st.sampled_from([" ", " ", " ", "  ", "\n", "\t", "\u3000", ""]))
    argument = draw(long_hostile_text if kind <= 2 else short_argument)
    return f"/{name}{addressee}{gap}{argument}"


def argument_length(platform: str, text: str, commands: list[str]) -> int:
    """How long the argument is that `text` gives the router on `platform` (0: none)."""
    incoming = platform_incoming(platform, text, commands)
    return len(incoming.argument) if incoming is not None else 0


def _telegram_update(text: str) -> Update:
    return Update.de_json({"update_id": 1, "message": {
        "message_id": 1, "date": 0, "text": text, "from": {"id": 7, "is_bot": False, "first_name": "用户"},
        "chat": {"id": -100, "type": "supergroup", "title": "测试群"}}}, None)


class RecordingReporter(ErrorReporter):
    """Keeps what reached a catch-all (the router's, the console's): hostile input must not."""

    def __init__(self, config: BotConfig) -> None:
        super().__init__(config)
        self.reported = []

    def report(self, event: str, exc: BaseException | None = None, **where: Any) -> None:
        self.reported.append(f"{event}: {exc!r}")


def platform_incoming(platform: str, text: str, commands: list[str]) -> Incoming | None:
    """`text` as each platform's parsing turns it into an `Incoming` (None: the console's own
    paging, which never reaches the router)."""
    if platform == "console":  # one line, as the console reads it
        return console.line_incoming(" ".join(text.splitlines()).strip())
    if platform == "telegram":
        return telegram.incoming_of(_telegram_update(text), BOT_NAME)
    if platform == "slack-command":  # `/news <text>`: Slack hands over what follows the command
        return slack.command_incoming({"text": text, "channel_id": "C0001", "channel_name": "general",
                                       "user_id": "U0007"})
    if platform == "slack-mention":
        mentioned = slack.without_mention(f"<@{BOT_USER}> {text}", BOT_USER)
        return slack.conversation_incoming({"channel": "C0001", "user": "U0007"}, mentioned, commands)
    if platform == "slack-dm":
        return slack.conversation_incoming({"channel": "D0001", "user": "U0007"}, text, commands)
    raise ValueError(platform)


def _template_pattern(template: str) -> str:
    parts = re.split(r"\{[a-z_]+\}", template)
    return "(?s:.*)".join(re.escape(p) for p in parts)


def catalogue_pattern() -> re.Pattern[str]:
    """Any text of the catalogue, in any language and command form, its values anything;
    the welcome may come before one (as /start's does)."""
    texts = {messages.say(key, language, **{name: "\x00{" + name + "}" for name in _fields(key, language)},
                          commands=form).replace("\x00", "")
             for key in messages.keys() for language in LANGUAGES for form in ("/", "/news ")}
    welcome = "|".join(_template_pattern(messages.say("welcome", language)) for language in LANGUAGES)
    alternatives = "|".join(sorted((_template_pattern(t) for t in texts), key=len, reverse=True))
    return re.compile(rf"(?:{welcome})?(?:{alternatives})")


def _fields(key: str, language: str) -> list[str]:
    template = messages._TEXTS[key].get(language, messages._TEXTS[key]["zh"])
    return [name for name in re.findall(r"\{([a-z_]+)\}", template) if name not in messages.EXAMPLES]


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a fixed order: what "nothing stored changed" compares."""
    with store.connect() as conn:
        return {table.name: sorted((tuple(row) for row in conn.execute(sa.select(table))), key=repr)
                for table in metadata.sorted_tables}


class CommandWorld:
    """A router over a store, the console adapter on it, and a reporter that records."""

    def __init__(self, store: Store) -> None:
        config = BotConfig(commands_per_minute=0, admins=frozenset({"console"}))
        self.reporter = RecordingReporter(config)
        self.store = store
        self.router = Router(store, config, clock=lambda: NOW, reporter=self.reporter,
                             command_forms={"slack": "/news "})
        self.out = io.StringIO()
        self.console = console.ConsoleAdapter(self.router, stdin=io.StringIO(""), stdout=self.out)
        self.catalogue = catalogue_pattern()
        for platform in PLATFORMS:  # first contact: the chats exist before any case is snapshot
            self.router.handle(platform_incoming(platform, "/help", self.router.commands) or _never())


def _never() -> Incoming:
    raise AssertionError("no incoming")


def command_case(world: CommandWorld, platform: str, text: str) -> str:
    """`text` sent on `platform`: through its parsing and the router, a reply that renders on
    every platform, that is a catalogue text (or results), with no exception anywhere; a
    reply that changes nothing (REFUSED, or a read-only READ) leaves every table as it was."""
    before = snapshot(world.store)
    incoming = platform_incoming(platform, text, world.router.commands)
    if incoming is None:  # the console's /more: its own paging, written out
        written = len(world.out.getvalue())
        world.console._answer_reporting(" ".join(text.splitlines()).strip())
        assert world.reporter.reported == [] and world.out.getvalue()[written:].strip()
        return READ
    reply = world.router.handle(incoming)
    assert world.reporter.reported == [], world.reporter.reported
    if reply is None:  # not addressed to the bot: nothing said, nothing stored
        assert not incoming.addressed_to_me and snapshot(world.store) == before
        return REFUSED
    _renders(reply)
    if reply.text:
        assert world.catalogue.fullmatch(reply.text), reply.text[:300]
    else:
        assert reply.search is not None or reply.digest is not None or reply.articles
    if reply.changed or reply.search_token:  # a subscription, a setting, a search kept for its buttons
        return READ
    assert snapshot(world.store) == before, (platform, text[:200])
    return REFUSED if reply.search is None and reply.digest is None and not reply.articles else READ


def _renders(reply: Reply) -> None:
    for part in telegram_html.reply_messages(reply):
        assert 0 < telegram_html.units(part.html) <= 4096
    for message in slack_blocks.reply_messages(reply):
        assert message["text"] and len(message.get("blocks", [])) <= 50
    assert reply_text(reply).strip()
