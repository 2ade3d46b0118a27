"""The token mask and the formatter that applies it to whole records, tracebacks included,
and the variables that configure start and error reporting."""

from __future__ import annotations

import io
import logging

import pytest

from bot.config import DEFAULT_START_RETRY_SECONDS, BotConfig
from bot.logs import Mask, MaskingFormatter, mask_logs
from digest.errors import DigestError

TOKEN = "123456:AbC-d_e"


@pytest.mark.parametrize("text, masked", [
    (f"POST https://api.telegram.org/bot{TOKEN}/getMe", "POST https://api.telegram.org/bot***/getMe"),
    ("GET /bot987:other_Token-x/getUpdates", "GET /bot***/getUpdates"),  # anyone's token, not just ours
    ("/bot123456%3AAbC-d_e/sendMessage", "/bot***/sendMessage"),
    (f"The token `{TOKEN}` was rejected", "The token `***` was rejected"),
    ("robot 42 says hi", "robot 42 says hi"),
    # Slack's tokens, and the verification token slack-bolt logs in a badly signed body
    ("auth xoxb-1-2-AbC and xapp-1-A0-9-f", "auth *** and ***"),
    ("body: token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T1&text=hi", "body: token=***&team_id=T1&text=hi"),
    ('body: {"token": "gIkuvaNzQIHg97", "type": "event_callback"}', 'body: {"token": "***", "type": "event_callback"}'),
    ("csrf_token=abc&tokens=2", "csrf_token=abc&tokens=2"),
])
def test_the_mask_hides_tokens(text: str, masked: str) -> None:
    assert Mask([TOKEN])(text) == masked


def test_a_logged_traceback_is_masked_too() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(MaskingFormatter(logging.Formatter("%(levelname)s %(message)s"), Mask(["s3cret"])))
    logger = logging.getLogger("tests.masked")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"url /bot{TOKEN}/x and s3cret")
        except RuntimeError:
            logger.error("failed at /bot%s/getMe", TOKEN, exc_info=True)
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "Traceback" in output and "RuntimeError: url /bot***/x and ***" in output
    assert TOKEN not in output and "s3cret" not in output and output.startswith("ERROR failed at /bot***/getMe")


def test_mask_logs_wraps_every_handler_once() -> None:
    handler = logging.StreamHandler(io.StringIO())
    logger = logging.getLogger("tests.library_with_own_handler")
    logger.addHandler(handler)
    kept = [(h, h.formatter) for h in logging.getLogger().handlers]  # pytest's own: put back after
    try:
        mask_logs(Mask(["a"]))
        mask_logs(Mask(["b"]))
        formatter = handler.formatter
        assert isinstance(formatter, MaskingFormatter) and not isinstance(formatter.inner, MaskingFormatter)
        assert formatter.mask("a b") == "a ***"
        assert all(isinstance(h.formatter, MaskingFormatter) for h, _ in kept)
    finally:
        logger.removeHandler(handler)
        for root_handler, original in kept:
            root_handler.setFormatter(original)  # type: ignore[arg-type]


def test_the_variables_of_start_and_error_reporting() -> None:
    config = BotConfig.from_env({"DIGESTBOT_ERROR_CHAT": " telegram:-100123 ", "DIGESTBOT_START_RETRY_SECONDS": "2.5",
                                 "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "s3cret"})
    assert config.error_chat == "telegram:-100123" and config.start_retry_seconds == 2.5
    assert config.secrets == (TOKEN, "s3cret")
    default = BotConfig.from_env({})
    assert default.error_chat is None and default.start_retry_seconds == DEFAULT_START_RETRY_SECONDS
    with pytest.raises(DigestError, match="DIGESTBOT_START_RETRY_SECONDS: not a number of seconds: 'soon'"):
        BotConfig.from_env({"DIGESTBOT_START_RETRY_SECONDS": "soon"})
