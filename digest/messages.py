"""The message catalogue: every text a reader sees, in Chinese (the default) and English.

Every renderer reads it — the CLI's and the console's plain text, Telegram HTML, Slack's
Block Kit to come — for replies, headers, labels, buttons, the command menu and the
library's errors (which carry a catalogue key and its values; see `QueryError`). It lives
in the library so that `digest.plaintext` can print in either language without `bot/`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

LANGUAGES = ("zh", "en")
# Words an example search shows. The news is Chinese, so an example query is Chinese in
# every language: it is a word of the articles, not of the interface.
EXAMPLES: Mapping[str, str] = MappingProxyType({"example": "人工智能", "example_source": "每经网"})

_TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "zh": "你好！我是新闻摘要机器人：每天按你的时间发送中文新闻摘要，也可以随时搜索。\n",
        "en": "Hello! I send a daily Chinese news digest at your time, and search the news any time.\n",
    },
    "help": {
        "zh": (
            "可用命令：\n"
            "/search 关键词 — 搜索新闻（可加 source:来源 cat:分类 since:7d）\n"
            "{more}"
            "/latest [n] — 最新 n 篇\n"
            "/digest [日期] — 自上次摘要以来的新文章（或某一天的文章）\n"
            "/subscribe [分类, 来源, 关键词, !排除词] — 订阅每日摘要\n"
            "/unsubscribe — 取消订阅\n"
            "/settings — 查看订阅与时间\n"
            "/time HH:MM — 设置发送时间\n"
            "/tz 地区/城市 — 设置时区，如 Asia/Shanghai\n"
            "/lang zh|en — 切换语言\n"
            "/stats — 统计（管理员）"
        ),
        "en": (
            "Commands:\n"
            "/search words — search the news (filters: source:NAME cat:CATEGORY since:7d)\n"
            "{more}"
            "/latest [n] — the n newest articles\n"
            "/digest [date] — what is new since the last digest (or a day's articles)\n"
            "/subscribe [categories, sources, keywords, !excluded] — get the daily digest\n"
            "/unsubscribe — stop the daily digest\n"
            "/settings — what this chat gets and when\n"
            "/time HH:MM — digest time\n"
            "/tz Area/City — time zone, e.g. Asia/Shanghai\n"
            "/lang zh|en — language\n"
            "/stats — statistics (admins)"
        ),
    },
    # the help's line for /more, where pages are not turned with buttons (the console)
    "help_more": {"zh": "/more — 搜索结果的下一页\n", "en": "/more — the next page of a search\n"},
    "unknown": {"zh": "未知命令 {command}。发送 /help 查看可用命令。", "en": "Unknown command {command}. Send /help for the list."},
    "not_command": {"zh": "请发送命令，例如 /search {example}。发送 /help 查看全部命令。", "en": "Send a command, e.g. /search {example}. /help lists them."},
    "search_usage": {"zh": "用法：/search 关键词，例如 /search {example}", "en": "Usage: /search words, e.g. /search {example}"},
    "search_bad": {"zh": "无法搜索：{reason}", "en": "Cannot search: {reason}"},
    "search_more": {"zh": "发送 /more 查看下一页", "en": "Send /more for the next page"},
    "search_last_page": {"zh": "已是最后一页（共 {pages} 页）。", "en": "That was the last page ({pages} in all)."},
    "search_found": {"zh": "找到 {total} 篇（第 {page}/{pages} 页）", "en": "{total} found (page {page}/{pages})"},
    "search_none": {"zh": "没有找到与“{query}”相关的文章。", "en": "Nothing found for “{query}”."},
    "search_past_end": {"zh": "没有第 {page} 页：这次搜索共 {pages} 页。",
                        "en": "There is no page {page}: this search has {pages}."},
    "more_first": {"zh": "请先搜索，例如 /search {example}，再发送 /more 翻页。",
                   "en": "Search first, e.g. /search {example}, then send /more for the next page."},
    "more_buttons": {"zh": "翻页请点搜索结果下方的“上一页”“下一页”按钮。",
                     "en": "To page, press Previous / Next under the search results."},
    "share_to_channel": {"zh": "分享到频道", "en": "Share in channel"},
    "search_shared": {"zh": "{user} 分享了搜索结果", "en": "{user} shared these results"},
    "search_query": {"zh": "搜索：{query}", "en": "Search: {query}"},  # what was searched, where it is not seen
    # Slack: a private channel the app is not in cannot get its digest
    "invite_first": {"zh": "我还不在这个私有频道里：请先用 /invite @{bot} 邀请我，再订阅。",
                     "en": "I am not in this private channel yet: /invite @{bot} first, then subscribe."},
    "page_previous": {"zh": "上一页", "en": "Previous"},
    "page_next": {"zh": "下一页", "en": "Next"},
    "search_expired": {"zh": "这次搜索已过期，请重新搜索。", "en": "That search has expired; please search again."},
    "latest_usage": {"zh": "用法：/latest [1-20]", "en": "Usage: /latest [1-20]"},
    "latest_none": {"zh": "还没有文章。", "en": "No articles yet."},
    "digest_empty": {"zh": "自 {since} 以来还没有新文章。/latest 查看最近收录的文章。",
                     "en": "Nothing new since {since}. /latest shows the newest stored."},
    "digest_filtered": {"zh": "自 {since} 以来的新文章都不符合本聊天的订阅内容（/settings 查看）。",
                        "en": "Nothing new since {since} matches this chat's subscription (see /settings)."},
    "digest_day_filtered": {"zh": "{date} 没有符合本聊天订阅内容的文章（/settings 查看）。",
                            "en": "Nothing published on {date} matches this chat's subscription (see /settings)."},
    "subscribe_bad": {"zh": "无法订阅：{reason}", "en": "Cannot subscribe: {reason}"},
    "subscribe_too_long": {"zh": "订阅内容太多：最多 {most} 项，每个词最多 40 个字。",
                           "en": "Too much to subscribe to: at most {most} entries, 40 characters a word."},
    "digest_day_empty": {"zh": "{date} 没有文章。", "en": "No articles published on {date}."},
    "digest_usage": {"zh": "用法：/digest 或 /digest YYYY-MM-DD，例如 /digest 2021-04-20",
                     "en": "Usage: /digest or /digest YYYY-MM-DD, e.g. /digest 2021-04-20"},
    "subscribed": {
        "zh": "已订阅：每天 {time}（{tz}）发送摘要。{filter}",
        "en": "Subscribed: the digest comes every day at {time} ({tz}). {filter}",
    },
    "unsubscribed": {"zh": "已取消订阅。", "en": "Unsubscribed."},
    "not_subscribed": {"zh": "本聊天没有订阅。发送 /subscribe 订阅。", "en": "This chat is not subscribed. Send /subscribe."},
    "settings": {
        "zh": "订阅：{state}\n发送时间：{time}\n时区：{tz}\n语言：中文\n{filter}",
        "en": "Subscription: {state}\nDigest time: {time}\nTime zone: {tz}\nLanguage: English\n{filter}",
    },
    "on": {"zh": "开", "en": "on"},
    "off": {"zh": "关", "en": "off"},
    "filter_all": {"zh": "内容：全部新闻", "en": "Content: all news"},
    # a subscription's filter in words: "分类：科技；来源：每经网；关键词：比特币；排除：广告"
    "filter_categories": {"zh": "分类：{items}", "en": "categories: {items}"},
    "filter_sources": {"zh": "来源：{items}", "en": "sources: {items}"},
    "filter_keywords": {"zh": "关键词：{items}", "en": "keywords: {items}"},
    "filter_excluded": {"zh": "排除：{items}", "en": "excluded: {items}"},
    "filter_items_joiner": {"zh": "、", "en": ", "},
    "filter_parts_joiner": {"zh": "；", "en": "; "},
    "time_usage": {"zh": "用法：/time HH:MM，例如 /time 08:30", "en": "Usage: /time HH:MM, e.g. /time 08:30"},
    "time_set": {"zh": "摘要将在每天 {time}（{tz}）发送。", "en": "The digest will come every day at {time} ({tz})."},
    "time_set_unsubscribed": {"zh": "发送时间已设为每天 {time}（{tz}）。本聊天还没有订阅：发送 /subscribe 后生效。",
                              "en": "Digest time set to {time} ({tz}). This chat is not subscribed: /subscribe to get it."},
    "tz_usage": {"zh": "用法：/tz 地区/城市，例如 /tz Asia/Shanghai", "en": "Usage: /tz Area/City, e.g. /tz Europe/Berlin"},
    "tz_bad": {"zh": "未知时区 {tz}。请用 IANA 名称，例如 Asia/Shanghai。", "en": "Unknown time zone {tz}. Use an IANA name, e.g. Europe/Berlin."},
    "tz_set": {"zh": "时区已设为 {tz}，摘要在当地 {time} 发送。", "en": "Time zone set to {tz}; the digest comes at {time} local time."},
    "tz_set_unsubscribed": {"zh": "时区已设为 {tz}。本聊天还没有订阅：发送 /subscribe 后，摘要在当地 {time} 发送。",
                            "en": "Time zone set to {tz}. This chat is not subscribed: /subscribe, and the digest comes at {time} local time."},
    "lang_usage": {"zh": "用法：/lang zh 或 /lang en", "en": "Usage: /lang zh or /lang en"},
    "lang_set": {"zh": "语言已设为中文。", "en": "Language set to English."},
    "stats_denied": {"zh": "只有管理员可以查看统计。", "en": "Only admins can see the statistics."},
    "stats": {
        "zh": "文章：{articles}（近似重复 {near}）\n来源：{sources}（出错 {failing}）\n聊天：{chats}（订阅 {subscribed}）\n今日已发送：{sent}",
        "en": "Articles: {articles} ({near} near-duplicates)\nSources: {sources} ({failing} failing)\nChats: {chats} ({subscribed} subscribed)\nSent today: {sent}",
    },
    "error": {"zh": "出错了，请稍后再试。", "en": "Something went wrong; please try again later."},
    "argument_too_long": {"zh": "命令内容太长：最多 {most} 个字。", "en": "That is too long: at most {most} characters."},
    "slow_down": {"zh": "命令太频繁，请一分钟后再试。", "en": "Too many commands; please wait a minute."},
    # -- the library's errors: the code a `QueryError` carries is its key here; its
    # English text is also the exception's message (the CLI and the logs print it)
    "query_bad_since": {
        "zh": "无法识别 since:{value}，请写日期（since:2021-04-01）或时长（since:7d、since:12h）",
        "en": "since:{value} — write a date (since:2021-04-01) or a span (since:7d, since:12h)",
    },
    "query_empty": {
        "zh": "没有可搜索的词，请给出关键词，例如 {example} 或 source:{example_source}",
        "en": "nothing to search for: give a word, e.g. {example} or source:{example_source}",
    },
    "query_subscribe_since": {
        "zh": "{word}：订阅不接受 since:，每份摘要都包含上一份之后的新文章（since: 用于 /search）",
        "en": "{word}: a subscription takes no since: — each digest brings what is new since the one before "
              "(since: is for /search)",
    },
    "query_exclude_empty": {
        "zh": "{word}：感叹号后请写要排除的词，例如 !广告",
        "en": "{word}: write the word to exclude after the !, e.g. !广告",
    },
    "query_field_empty": {
        "zh": "{word}：冒号后请写名称，例如 cat:科技 或 source:{example_source}",
        "en": "{word}: write a name after the colon, e.g. cat:科技 or source:{example_source}",
    },
    "query_since_range": {  # the years are digest.dates.MIN_YEAR and MAX_YEAR
        "zh": "since:{value} 超出范围，请写 1970 至 2100 年之间的日期",
        "en": "since:{value} is out of range: write a date between the years 1970 and 2100",
    },
    # -- search results as plain text (the Telegram page shows search_found alone)
    "search_found_capped": {
        "zh": "{matched} 篇含这些词，在最新的 {candidates} 篇中找到 {total} 篇（第 {page}/{pages} 页）",
        "en": "{matched} contain these words; {total} found among the newest {candidates} (page {page}/{pages})",
    },
    "search_truncated": {"zh": "，查询过长已截断", "en": "; the query was too long and was cut"},
    "search_no_page": {"zh": "没有第 {page} 页：共 {pages} 页。", "en": "There is no page {page}: {pages} in all."},
    # -- the daily digest, on every renderer
    "digest_title": {"zh": "{day} 每日摘要", "en": "Daily digest, {day}"},
    "digest_preview_title": {"zh": "{day} 摘要预览", "en": "Digest preview, {day}"},
    "digest_title_zone": {"zh": "{title}（{zone}）", "en": "{title} ({zone})"},
    "digest_nothing_new": {"zh": "没有新文章。", "en": "Nothing new."},
    "digest_covers_first": {"zh": "{start} 至 {end} 的新文章", "en": "New from {start} to {end}"},
    "digest_covers_since": {"zh": "自 {start} 至 {end} 收到的新文章", "en": "Arrived from {start} to {end}"},
    "digest_also_reported": {"zh": "（另有 {count} 篇相似报道）", "en": " ({count} similar reports)"},
    "digest_source": {"zh": "来源：{source}", "en": "Source: {source}"},
    "digest_original": {"zh": "原文", "en": "source"},  # the link to the article
    "digest_other": {"zh": "其他", "en": "Other"},  # the section of stories without a category
    "digest_more": {"zh": "【更多】", "en": "More"},  # the stories shown by title only
    "digest_left_out": {"zh": "另有 {count} 篇未列出，可用 /search 查找。", "en": "{count} more not listed; /search finds them."},
    # -- one article's summary as text (`digestbot summarize`)
    "article_date_from_file": {"zh": "（无发布日期，取自文件修改时间）", "en": " (no publication date: the file's modification time)"},
    "article_headings": {"zh": "小标题：{headings}", "en": "Headings: {headings}"},
    "article_headings_joiner": {"zh": "｜", "en": " | "},
    "article_summary": {"zh": "摘要：", "en": "Summary:"},
    "article_title_only": {"zh": "摘要：（正文只有标题）", "en": "Summary: (the body only repeats the title)"},
    "article_keywords": {"zh": "关键词：{keywords}", "en": "Keywords: {keywords}"},
    "list_joiner": {"zh": "、", "en": ", "},
    "article_link": {"zh": "链接：{url}", "en": "Link: {url}"},
    "article_file": {"zh": "文件：{path}", "en": "File: {path}"},
    # -- a platform's command menu (Telegram's "/" list), one key per router command
    "command_start": {"zh": "开始", "en": "Start"},
    "command_help": {"zh": "帮助", "en": "Help"},
    "command_search": {"zh": "搜索新闻", "en": "Search the news"},
    "command_latest": {"zh": "最新文章", "en": "The newest articles"},
    "command_digest": {"zh": "自上次摘要以来的新文章", "en": "What is new since the last digest"},
    "command_subscribe": {"zh": "订阅每日摘要", "en": "Get the daily digest"},
    "command_unsubscribe": {"zh": "取消订阅", "en": "Stop the daily digest"},
    "command_settings": {"zh": "订阅设置", "en": "What this chat gets and when"},
    "command_time": {"zh": "设置发送时间", "en": "Digest time"},
    "command_tz": {"zh": "设置时区", "en": "Time zone"},
    "command_lang": {"zh": "语言 zh|en", "en": "Language zh|en"},
    "command_stats": {"zh": "统计（管理员）", "en": "Statistics (admins)"},
    # -- the console
    "console_hint": {"zh": "digestbot 控制台：输入 /help 查看命令，Ctrl-D 退出。",
                     "en": "digestbot console: type /help for the commands, Ctrl-D to quit."},
}


def say(key: str, language: str, **values: object) -> str:
    """The text `key` in `language` (Chinese when unknown), filled with `values` (and
    the `EXAMPLES` a text may show). A `commands` value is how the platform spells a
    command before its name: the texts say `/search`, Slack's is `/news search`."""
    commands = str(values.pop("commands", "/"))
    texts = _TEXTS[key]
    template = texts.get(language, texts["zh"])
    if commands != "/":  # before the values go in: what a user typed is never rewritten
        template = _COMMAND_IN_TEXT.sub(lambda m: commands + m.group(1), template)
    return template.format(**{**EXAMPLES, **values})


def keys() -> list[str]:
    """Every key of the catalogue, for tests that check each has both languages."""
    return list(_TEXTS)


# a command named in a text: `/search` after a space or at the start, not inside a path or URL
_COMMAND_IN_TEXT = re.compile(
    r"(?<![\w/:.])/(" + "|".join(sorted([k.removeprefix("command_") for k in _TEXTS if k.startswith("command_")]
                                        + ["more"], key=len, reverse=True)) + r")\b")
