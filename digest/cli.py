"""The `digestbot` command: a thin layer over the library, one subcommand per job."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from . import __version__
from .batch import summarize_lines
from .errors import ArticleError
from .parse import read_article
from .plaintext import ArticleDigest, render_text
from .summarize import DEFAULT_MAX_CHARS, summarize

_PROGRESS_SECONDS = 2.0
_POST_SUFFIXES = (".md", ".markdown")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 some input failed, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `digestbot ... | head`
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (also used to document them)."""
    parser = argparse.ArgumentParser(
        prog="digestbot", description="Chinese news digests: summarise, ingest, search, post."
    )
    parser.add_argument("--version", action="version", version=f"digestbot {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

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
    return parser


def _summarize(args: argparse.Namespace) -> int:
    if args.jsonl is not None:
        if args.paths:
            return _usage("summarize: give either PATHs or --jsonl, not both")
        return _summarize_jsonl(args.jsonl, args.max_chars or DEFAULT_MAX_CHARS)
    if not args.paths:
        return _usage("summarize: give at least one PATH (or --jsonl FILE)")
    max_chars = args.max_chars or DEFAULT_MAX_CHARS
    failed = False
    digests: list[ArticleDigest] = []
    for path, problem in _article_paths(args.paths):
        if problem:
            _error(f"{path}: {problem}")
            failed = True
            continue
        try:
            article = read_article(path)
        except ArticleError as exc:
            _error(str(exc))
            failed = True
            continue
        digest = ArticleDigest(article, summarize(article, max_chars))
        if args.format == "json":
            digests.append(digest)
        else:
            print(render_text(digest) + "\n", flush=True)
    if args.format == "json":
        json.dump([d.to_dict() for d in digests], sys.stdout, ensure_ascii=False, indent=2)
        print()
    return 1 if failed else 0


def _article_paths(paths: Sequence[str]) -> Iterator[tuple[Path, str | None]]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in _POST_SUFFIXES and p.is_file())
            if not found:
                yield path, "folder holds no .md files"
            yield from ((p, None) for p in found)
        elif path.exists():
            yield path, None
        else:
            yield path, "no such file or folder"


def _summarize_jsonl(source: str, max_chars: int) -> int:
    try:
        stream: TextIO = sys.stdin if source == "-" else open(source, encoding="utf-8-sig")
    except OSError as exc:
        _error(f"{source}: {exc.strerror or exc}")
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
                _error(f"{name}:{result.line}: {result.error}")
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


def _usage(message: str) -> int:
    _error(message)
    return 2


def _error(message: str) -> None:
    print(f"digestbot: error: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
