"""The exceptions of the digest library: one base, so callers can catch them all."""

from __future__ import annotations


class DigestError(Exception):
    """Something digestbot could not do; the message says what and where."""


class ArticleError(DigestError):
    """An article file could not be read or parsed."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
