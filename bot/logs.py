"""Keeping credentials out of every log line: a mask for text and a formatter that applies it.

httpx logs each request's URL and PTB its base URL, and a Bot API URL holds the token
(`…/bot123:secret/getMe`); an exception's message or traceback can hold it too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# any Bot API token in a URL, ours or not (`:` may arrive percent-encoded)
_BOT_TOKEN = re.compile(r"bot\d+(?::|%3A)[A-Za-z0-9_-]+", re.IGNORECASE)
HIDDEN = "***"
# any Slack token (bot, user, app-level), ours or one in a request we log
_SLACK_TOKEN = re.compile(r"\b(?:xox[a-z]|xapp)-[A-Za-z0-9-]+")
# the `token` field of a request body, form or JSON: Slack's legacy verification token,
# which slack-bolt logs with the whole body of a request whose signature fails
_TOKEN_FIELD = re.compile(r'(?<![A-Za-z_])(token=)[^&\s]+|("token"\s*:\s*")[^"]*')


class Mask:
    """Replaces `bot<id>:<secret>` with `bot***`, Slack tokens and a body's `token` field
    with `***`, and each given secret with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # longest first: a secret that contains another is hidden whole
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = _BOT_TOKEN.sub("bot" + HIDDEN, text)
        text = _SLACK_TOKEN.sub(HIDDEN, text)
        text = _TOKEN_FIELD.sub(lambda m: (m.group(1) or m.group(2)) + HIDDEN, text)
        for secret in self._secrets:
            text = text.replace(secret, HIDDEN)
        return text


class MaskingFormatter(logging.Formatter):
    """Formats a record with the handler's own formatter, then masks the whole text
    (message, exception and traceback alike)."""

    def __init__(self, inner: logging.Formatter | None, mask: Mask) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.mask = mask

    def format(self, record: logging.LogRecord) -> str:
        return self.mask(self.inner.format(record))


def mask_logs(mask: Mask) -> None:
    """Wrap the formatter of every handler there is (the root's and any library's own,
    such as jieba's) in a `MaskingFormatter`; a second call replaces the mask."""
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            current = handler.formatter
            inner = current.inner if isinstance(current, MaskingFormatter) else current
            handler.setFormatter(MaskingFormatter(inner, mask))
