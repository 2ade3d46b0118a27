"""Identity of articles: canonical URLs and content hashes."""

from __future__ import annotations

import pytest

from digest.fingerprint import article_uid, canonical_url, content_hash


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://News.Example.com/a/1", "https://news.example.com/a/1"),
        ("https://news.example.com:443/a/1/", "https://news.example.com/a/1"),
        ("http://news.example.com:8080/a", "http://news.example.com:8080/a"),
        ("https://news.example.com/a?utm_source=x&id=2&spm=3&b=1#comments", "https://news.example.com/a?b=1&id=2"),
        ("https://news.example.com", "https://news.example.com/"),
        (" https://news.example.com/a ", "https://news.example.com/a"),
        ("ftp://news.example.com/a", None),
        ("javascript:alert(1)", None),
        ("/relative/path", None),
        ("http://[::1", None),
        ("", None),
        (None, None),
    ],
)
def test_canonical_url(url: str | None, canonical: str | None) -> None:
    assert canonical_url(url) == canonical


def test_content_hash_ignores_spacing_punctuation_and_case() -> None:
    assert content_hash("银行 下调利率！", "Rates fell.\n利率下调。") == content_hash("银行下调利率", "rates fell 利率下调")
    assert content_hash("银行下调利率", "利率下调") != content_hash("银行下调利率", "利率上调")


def test_the_uid_is_the_url_when_there_is_one() -> None:
    assert article_uid("https://a.example/x?utm_medium=rss", "t", "b") == "https://a.example/x"
    assert article_uid(None, "t", "b") == "sha1:" + content_hash("t", "b")
    assert article_uid("not a url", "t", "b").startswith("sha1:")
