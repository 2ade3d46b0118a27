"""The `digestbot` command: the library's subcommands plus `run`, the bot itself."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from digest import cli as library_cli
from digest.errors import DigestError

from .config import BotConfig
from .errors import describe
from .logs import Mask, mask_logs

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The library's parser with the `run` subcommand added."""
    parser = library_cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    run_cmd = commands.add_parser(
        "run", help="run the bot: poll sources, send daily digests, answer commands",
        description="Run the bot: polls DIGESTBOT_SOURCES every DIGESTBOT_POLL_MINUTES, sends each "
        "subscribed chat its digest at its time, answers commands. With TELEGRAM_BOT_TOKEN set it "
        "talks to Telegram; with no credentials it runs on the console (commands on stdin).",
    )
    run_cmd.add_argument("-v", "--verbose", action="store_true", help="log every event")
    run_cmd.set_defaults(run=_run, log_level=logging.WARNING)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (see `digest.cli.main`)."""
    return library_cli.main(argv, parser=build_parser())


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


if __name__ == "__main__":
    sys.exit(main())
