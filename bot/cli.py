"""The `digestbot` command: its parser (the library's commands plus `run`, the bot itself) and
what the process sets up before any command runs: `.env`, logging, one error line on failure."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from dotenv import find_dotenv, load_dotenv

from digest import __version__
from digest import cli as library_cli
from digest.cli import print_error
from digest.errors import DigestError

from .config import BotConfig
from .errors import describe
from .logs import Mask, mask_logs

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The `digestbot` parser: the library's commands, then `run`."""
    return _parser_and_commands()[0]


def commands() -> dict[str, argparse.ArgumentParser]:
    """Each command's parser by name, in the order `digestbot --help` lists them."""
    return _parser_and_commands()[1]


def _parser_and_commands() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="digestbot", description="Chinese news digests: summarise, ingest, search, post."
    )
    parser.add_argument("--version", action="version", version=f"digestbot {__version__}")
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND")
    library_cli.add_commands(subcommands)
    run_cmd = subcommands.add_parser(
        "run", help="run the bot: poll sources, send daily digests, answer commands",
        description="Run the bot: polls DIGESTBOT_SOURCES every DIGESTBOT_POLL_MINUTES, sends each "
        "subscribed chat its digest at its time, answers commands. With TELEGRAM_BOT_TOKEN set it "
        "talks to Telegram; with no credentials it runs on the console (commands on stdin). With PORT "
        "(or DIGESTBOT_HTTP_PORT) set it serves GET /healthz there. Stops on SIGINT/SIGTERM.",
    )
    run_cmd.add_argument("-v", "--verbose", action="store_true", help="log every event")
    run_cmd.set_defaults(run=_run, log_level=logging.WARNING)
    manifest_cmd = subcommands.add_parser(
        "slack-manifest", help="print the Slack app manifest for this deployment",
        description="Print the Slack app manifest (YAML) to create the app from: HTTP mode with the "
        "bot's public address (--url), or Socket Mode (--socket). The slash command is SLACK_COMMAND "
        "(default /news).",
    )
    mode = manifest_cmd.add_mutually_exclusive_group()
    mode.add_argument("--url", help="the bot's public base address, e.g. https://news.example.com")
    mode.add_argument("--socket", action="store_true", help="Socket Mode: no public address")
    manifest_cmd.set_defaults(run=_slack_manifest)
    return parser, dict(subcommands.choices)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `digestbot`; returns the exit status (0 ok, 1 some input failed or the bot stopped
    on an error, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    # the deployment's .env in the working folder (or above it); the environment itself wins
    load_dotenv(find_dotenv(usecwd=True))
    level = _log_level(args, os.environ.get("DIGESTBOT_LOG_LEVEL", ""))
    if level is None:
        print_error(f"DIGESTBOT_LOG_LEVEL: not a level (DEBUG, INFO, WARNING, ERROR): "
                    f"{os.environ['DIGESTBOT_LOG_LEVEL']!r}")
        return 2
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args))
    except DigestError as exc:
        print_error(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `digestbot ... | head`
        return 0


def _log_level(args: argparse.Namespace, named: str) -> int | None:
    """The most verbose of `-v` (INFO), DIGESTBOT_LOG_LEVEL and the command's default: one-shot
    commands print their own errors; a long-running one (`run`) sets `log_level` to keep its
    warnings (a dead feed, a 429). None when the variable names no level."""
    levels = [logging.INFO if getattr(args, "verbose", False) else getattr(args, "log_level", logging.ERROR)]
    if named.strip():
        value = logging.getLevelName(named.strip().upper())
        if not isinstance(value, int):
            return None
        levels.append(value)
    return min(levels)


def _run(args: argparse.Namespace) -> int:
    from .app import run

    config = BotConfig.from_env()
    mask = Mask(config.secrets)
    mask_logs(mask)  # before anything logs a URL with the token in it
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # APScheduler logs two lines per run of every job (the drain runs every 2 s): our
        # jobs log what they did; its lines are for DEBUG
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        return asyncio.run(run(config))
    except DigestError:
        raise
    except Exception as exc:  # a bug: its traceback through the masked log, then the one error line
        log.critical("digestbot stopped by an unexpected error", exc_info=True)
        raise DigestError(mask(describe("the bot", exc))) from None


def _slack_manifest(args: argparse.Namespace) -> int:
    from .slack_manifest import as_yaml, filled

    if args.url is not None and not args.url.startswith("https://"):
        print_error(f"--url: Slack sends requests to https:// addresses only: {args.url!r}")
        return 2
    if args.url is None and not args.socket:
        print("digestbot: no --url: replace https://YOUR-HOST with the bot's public address (or use --socket)",
              file=sys.stderr)
    command = (os.environ.get("SLACK_COMMAND") or "").strip() or None
    sys.stdout.write(as_yaml(filled(url=args.url, socket_mode=args.socket, command=command)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
