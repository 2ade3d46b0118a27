"""The library's subcommands of `digestbot`, each a thin layer over one library job; the bot's
command line (bot.cli) adds them to its parser, `python -m digest` runs them alone."""

from __future__ import annotations

import argparse
import logging
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tqdm import tqdm

from . import __version__
from .batch import summarize_lines
from .compose import DEFAULT_MAX_ITEMS, DigestFilter, Window, compose
from .dates import MAX_YEAR, MIN_YEAR, in_range
from .errors import ArticleError, DigestError
from .ingest import Ingestor
from .parse import read_article
from .query import QueryError, parse_since
from .plaintext import ArticleCard, render_daily, render_search, render_text
from .search import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, search
from .settings import Settings
from .sources import broken_files, list_sources, normalise_location, post_files, remove_source
from .store import Store
from .summarize import DEFAULT_MAX_CHARS, summarize

_PROGRESS_SECONDS = 2.0
_PROGRESS_BAR_MIN = 50  # smaller batches finish before a bar would tell anything
_LINK_SKIPPED = "a symbolic link, skipped (links in a folder are not followed)"


class Subcommands(Protocol):
    """What `ArgumentParser.add_subparsers()` returns, as far as these commands use it."""

    def add_parser(self, name: str, *, help: str | None = ..., description: str | None = ...,
                   parents: Sequence[argparse.ArgumentParser] = ...) -> argparse.ArgumentParser: ...


def add_commands(commands: Subcommands) -> None:
    """Add the library's subcommands to `commands` (what `add_subparsers()` returned); each
    sets `run`, the function that does its job and returns the exit status."""
    summarize_cmd = commands.add_parser(
        "summarize",
        help="print the digest of article files or folders, or summarise JSON lines",
        description="Summarise posts (files of any extension; folders are searched "
        "recursively for .md), or JSON lines with --jsonl.",
    )
    summarize_cmd.add_argument("paths", nargs="*", metavar="PATH", help="article file or folder")
    summarize_cmd.add_argument(
        "--max-chars", type=_positive, default=None, metavar="N",
        help=f"longest summary in characters (default {DEFAULT_MAX_CHARS})",
    )
    summarize_cmd.add_argument("--format", choices=("text", "json"), default="text")
    summarize_cmd.add_argument(
        "--jsonl", metavar="FILE", default=None,
        help='batch mode: read {"id", "text", "title"?, "max_chars"?} lines from FILE '
        '(- for stdin), write {"id", "summary", "sentences"} lines',
    )
    summarize_cmd.set_defaults(run=_summarize)

    store_options = argparse.ArgumentParser(add_help=False)
    store_options.add_argument(
        "--database", metavar="URL", default=None,
        help="SQLAlchemy URL of the store (default: DIGESTBOT_DATABASE_URL, else SQLite in DIGESTBOT_DATA_DIR)",
    )
    store_options.add_argument("-v", "--verbose", action="store_true", help="log each source and file")

    ingest_cmd = commands.add_parser(
        "ingest", parents=[store_options],
        help="read new and changed articles from posts folders, files and RSS/Atom feeds into the store",
        description="Ingest the given sources (default: DIGESTBOT_SOURCES, else seeds/). "
        "Only new and changed files are read; each article is summarised once and deduplicated.",
    )
    ingest_cmd.add_argument("sources", nargs="*", metavar="PATH|URL", help="posts folder, post file or feed URL")
    ingest_cmd.add_argument("--workers", type=_positive, default=None, metavar="N",
                            help="processes that summarise big batches (default: one per CPU)")
    ingest_cmd.set_defaults(run=_ingest)

    search_cmd = commands.add_parser(
        "search", parents=[store_options],
        help="search everything ingested (filters: source:每经网 cat:金融 since:7d)",
        description="Full-text search over the store. Words are ANDed; filters: source:NAME, "
        "cat:CATEGORY, since:7d / since:12h / since:2021-04-01.",
    )
    search_cmd.add_argument("query", nargs="+", metavar="QUERY", help="words and filters")
    search_cmd.add_argument("--limit", type=_positive, default=DEFAULT_LIMIT, metavar="N",
                            help=f"results per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})")
    search_cmd.add_argument("--page", type=_page, default=1, metavar="N", help=f"page (at most {MAX_PAGE})")
    search_cmd.add_argument("--format", choices=("text", "json"), default="text")
    search_cmd.set_defaults(run=_search)

    digest_cmd = commands.add_parser(
        "digest", parents=[store_options],
        help="print a digest: a day's stories (--date) or what arrived since (--since), by category",
        description="Compose the digest of a date in a time zone (default: today in "
        "DIGESTBOT_TIMEZONE, Asia/Shanghai), or of what was stored since a time (--since 24h), "
        "as a chat's digest covers what arrived since its last one. Near-duplicates are folded "
        "into the first report.",
    )
    when = digest_cmd.add_mutually_exclusive_group()
    when.add_argument("--date", type=_date, default=None, metavar="YYYY-MM-DD",
                      help="what was published on that day (default: today)")
    when.add_argument("--since", default=None, metavar="WHEN",
                      help="what was stored (ingested) since then: 24h, 7d, 2021-04-20 (midnight in --tz)")
    digest_cmd.add_argument("--tz", default=None, metavar="ZONE", help="IANA time zone, e.g. Europe/Berlin")
    digest_cmd.add_argument("--max-items", type=_positive, default=DEFAULT_MAX_ITEMS, metavar="N")
    digest_cmd.add_argument("--category", action="append", default=[], metavar="NAME", help="only these categories")
    digest_cmd.add_argument("--source", action="append", default=[], metavar="NAME", help="only these sources")
    digest_cmd.add_argument("--keyword", action="append", default=[], metavar="WORD", help="only articles with a word")
    digest_cmd.add_argument("--exclude", action="append", default=[], metavar="WORD", help="no articles with this word")
    digest_cmd.add_argument("--format", choices=("text", "json"), default="text")
    digest_cmd.set_defaults(run=_digest)

    sources_cmd = commands.add_parser(
        "sources", parents=[store_options],
        help="list the sources: kind, articles, last poll, failures and the last error",
        description="Each source's state: configured (in DIGESTBOT_SOURCES, polled by the bot) or "
        "one-off (named once to `digestbot ingest`), articles stored, last and next poll, failures "
        "in a row, the last error, and the files that could not be read.",
    )
    sources_cmd.add_argument("--format", choices=("text", "json"), default="text")
    sources_cmd.add_argument("--remove", metavar="LOCATION", default=None,
                             help="forget the source at this folder, file or URL (its articles stay)")
    sources_cmd.set_defaults(run=_sources)


def build_parser() -> argparse.ArgumentParser:
    """The library's own command line, `python -m digest`: its commands without the bot's `run`."""
    parser = argparse.ArgumentParser(
        prog="python -m digest", description="The digest library's commands (`digestbot` adds `run`, the bot)."
    )
    parser.add_argument("--version", action="version", version=f"digest {__version__}")
    add_commands(parser.add_subparsers(title="commands", metavar="COMMAND"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `python -m digest`; returns the exit status (0 ok, 1 some input failed, 2 usage).
    `digestbot` (bot.cli) is the product: it also reads `.env` and DIGESTBOT_LOG_LEVEL."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    # enough for -v to mean what its help says; the bot's command line sets up the rest
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.ERROR,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args))
    except DigestError as exc:
        print_error(str(exc))
        return 1
    except BrokenPipeError:  # `python -m digest ... | head`
        return 0


def _open_store(args: argparse.Namespace, settings: Settings) -> Store:
    return Store.open(args.database or settings.store_url)


def _ingest(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    store = _open_store(args, settings)
    bars: dict[str, tqdm] = {}

    def progress(where: str, done: int, total: int) -> None:
        if total < _PROGRESS_BAR_MIN:
            return
        bar = bars.get(where)
        if bar is None:
            bar = bars[where] = tqdm(total=total, desc=Path(where).name or where, unit="article",
                                     file=sys.stderr, mininterval=1.0, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    try:
        ingestor = Ingestor(store, poll_minutes=settings.poll_minutes, workers=args.workers, progress=progress,
                            keep_missing=not args.sources)  # the configured sources, not a one-off path
        report = ingestor.ingest(args.sources or list(settings.sources))
    finally:
        for bar in bars.values():
            bar.close()
        store.close()
    for where, reason in report.errors:
        print_error(f"{where}: {reason}")
    for link in report.links:
        print(f"digestbot: warning: {link}: {_LINK_SKIPPED}", file=sys.stderr)
    print(f"ingest: {report.line()}")
    return 1 if report.failed else 0


def _search(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    store = _open_store(args, settings)
    try:
        page = search(store, " ".join(args.query), page=args.page, limit=args.limit, tz=settings.zone)
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(page.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_search(page, settings.zone))
    return 0


def _digest(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        zone = ZoneInfo(args.tz) if args.tz else settings.zone
    except (ZoneInfoNotFoundError, ValueError):
        return _usage(f"digest: unknown time zone {args.tz!r} (use an IANA name such as Asia/Shanghai)")
    now = datetime.now(timezone.utc)
    if args.since is not None:
        try:
            window = Window.since(parse_since(args.since, now=now, tz=zone), now, zone)
        except QueryError:
            return _usage(f"digest: --since {args.since}: write a date (2021-04-01) or a span (24h, 7d)")
    else:
        window = Window.calendar_day(args.date or now.astimezone(zone).date(), zone)
    wanted = DigestFilter(tuple(args.category), tuple(args.source), tuple(args.keyword), tuple(args.exclude))
    store = _open_store(args, settings)
    try:
        digest = compose(store, window, digest_filter=wanted, max_items=args.max_items)
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(digest.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_daily(digest))
    return 0


def _sources(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.remove is not None:
        return _remove_source(args, settings)
    store = _open_store(args, settings)
    try:
        states = list_sources(store, settings.sources)
        broken = {s.id: broken_files(store, s.id) for s in states if s.failed_files}
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps([_source_dict(s, broken.get(s.id, [])) for s in states], ensure_ascii=False, indent=2))
        return 0
    if not states:
        print("no sources yet: run `digestbot ingest [PATH|URL ...]`")
        return 0
    for s in states:
        if s.failures:
            state = f"failing ({s.failures} in a row), next try {_when(s.next_poll_at)}"
        elif s.failed_files:
            state = f"ok, {s.failed_files} file(s) unreadable"
        else:
            state = "ok"
        print(f"[{s.id}] {s.kind:5} {s.location}" + (f" ({s.title})" if s.title else ""))
        role = "configured" if s.configured else "one-off (not in DIGESTBOT_SOURCES: not polled)"
        print(f"      {role}; {state}; {s.articles} articles; last poll {_when(s.polled_at)}; "
              f"last success {_when(s.ok_at)}")
        if s.last_error:
            print(f"      last error: {s.last_error}")
        for path, reason in broken.get(s.id, []):
            print(f"      unreadable: {path}: {reason}")
    return 0


def _remove_source(args: argparse.Namespace, settings: Settings) -> int:
    store = _open_store(args, settings)
    try:
        removed = remove_source(store, args.remove)
    finally:
        store.close()
    if not removed:
        raise DigestError(f"no source at {normalise_location(args.remove)} (`digestbot sources` lists them)")
    print(f"removed source {normalise_location(args.remove)}; its articles stay in the store")
    if normalise_location(args.remove) in {normalise_location(x) for x in settings.sources}:
        print("digestbot: warning: it is still in DIGESTBOT_SOURCES, so the bot adds it back at its next poll: "
              "take it out there too", file=sys.stderr)
    return 0


def _source_dict(s: object, broken: list[tuple[str, str]]) -> dict[str, object]:
    data = dict(vars(s))
    for key in ("polled_at", "ok_at", "next_poll_at"):
        data[key] = data[key].isoformat() if data[key] else None
    data["unreadable_files"] = [{"path": p, "reason": r} for p, r in broken]
    return data


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "never"


def _date(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None
    if not in_range(day):  # year 1 overflowed when the day's window was moved to UTC
        raise argparse.ArgumentTypeError(f"not a year from {MIN_YEAR} to {MAX_YEAR}: {value!r}")
    return day


def _summarize(args: argparse.Namespace) -> int:
    if args.jsonl is not None:
        if args.paths:
            return _usage("summarize: give either PATHs or --jsonl, not both")
        return _summarize_jsonl(args.jsonl, args.max_chars or DEFAULT_MAX_CHARS)
    if not args.paths:
        return _usage("summarize: give at least one PATH (or --jsonl FILE)")
    max_chars = args.max_chars or DEFAULT_MAX_CHARS
    failed = False
    cards: list[ArticleCard] = []
    for path, problem in _article_paths(args.paths):
        if problem:
            print_error(f"{path}: {problem}")
            failed = True
            continue
        try:
            article = read_article(path)
        except ArticleError as exc:
            print_error(str(exc))
            failed = True
            continue
        card = ArticleCard(article, summarize(article, max_chars))
        if args.format == "json":
            cards.append(card)
        else:
            print(render_text(card) + "\n", flush=True)
    if args.format == "json":
        json.dump([c.to_dict() for c in cards], sys.stdout, ensure_ascii=False, indent=2)
        print()
    return 1 if failed else 0


def _article_paths(paths: Sequence[str]) -> Iterator[tuple[Path, str | None]]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            try:
                found = post_files(path)
            except OSError as exc:
                yield path, f"cannot read the folder: {exc.strerror or exc}"
                continue
            for link in found.links:
                print(f"digestbot: warning: {link}: {_LINK_SKIPPED}", file=sys.stderr)
            if not found.paths:
                yield path, "folder holds no .md files"
            yield from ((p, None) for p in found.paths)
        elif path.exists():
            yield path, None
        else:
            yield path, "no such file or folder"


def _summarize_jsonl(source: str, max_chars: int) -> int:
    try:
        # bytes: each line is decoded alone, so one that is not UTF-8 fails alone
        stream: BinaryIO = sys.stdin.buffer if source == "-" else open(source, "rb")
    except OSError as exc:
        print_error(f"{source}: {exc.strerror or exc}")
        return 1
    name = "<stdin>" if source == "-" else source
    failed = 0
    done = 0
    started = last = time.monotonic()
    with stream:
        for result in summarize_lines(stream, max_chars):
            print(json.dumps(result.record, ensure_ascii=False), flush=False)
            done += 1
            if result.error:
                failed += 1
                print_error(f"{name}:{result.line}: {result.error}")
            now = time.monotonic()
            if now - last >= _PROGRESS_SECONDS:
                last = now
                print(f"digestbot: {done} lines summarised ({done / (now - started):.0f}/s)", file=sys.stderr)
    sys.stdout.flush()
    if done and last != started:
        elapsed = time.monotonic() - started
        print(f"digestbot: {done} lines summarised in {elapsed:.1f} s, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return number


def _page(value: str) -> int:
    number = _positive(value)
    if number > MAX_PAGE:  # 10**18 overflowed the database's offset
        raise argparse.ArgumentTypeError(f"at most {MAX_PAGE}: {value}")
    return number


def _usage(message: str) -> int:
    print_error(message)
    return 2


def print_error(message: str) -> None:
    """One `digestbot: error: …` line on stderr, the way every command reports a failure."""
    print(f"digestbot: error: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
