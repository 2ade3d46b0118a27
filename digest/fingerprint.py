"""What makes two articles the same: canonical URLs, content hashes and SimHash.

- The same article (a re-crawl, a second sub-route, a second path to one file) has the
  same canonical URL, or, without a URL, the same hash of its normalised title and body.
- A near-duplicate (the same story, lightly edited) has a SimHash (Charikar; Manku et
  al., WWW 2007) within `NEAR_BITS` bits of the first one's, over its jieba words.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .text import normalise

BITS = 64
NEAR_BITS = 3  # Manku et al.: 3 of 64 bits separates near-duplicates from other pages
MIN_FEATURES = 24  # fewer distinct words than this and SimHash is noise: exact match only
NO_BAND = -1  # the bands of a text too short to fingerprint: never equal to a real band
_FIELD = 24  # bits per counter in the packed SimHash accumulator (2**24 distinct words)
_TRACKING = re.compile(r"^(utm_\w+|spm|from|src|share_\w+|fbclid|gclid)$", re.I)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str | None) -> str | None:
    """The URL with scheme and host lower-cased, default port, fragment and tracking
    parameters dropped, and the rest of the query sorted; None when not http(s)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if port and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def content_hash(title: str, body: str) -> str:
    """SHA-1 of the title and body with punctuation, spacing and case removed."""
    text = normalise(title) + "\n" + normalise(body)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def article_uid(url: str | None, title: str, body: str) -> str:
    """The identity an article is deduplicated on: its canonical URL, else its content hash."""
    return canonical_url(url) or "sha1:" + content_hash(title, body)


def simhash(features: Iterable[str]) -> int | None:
    """The 64-bit SimHash of a set of words (each counted once), or None when there are
    too few to tell texts apart."""
    distinct = set(features)
    if len(distinct) < MIN_FEATURES:
        return None
    # One big integer holds 64 counters of _FIELD bits; adding a word's spread hash
    # bumps the counter of each of its set bits at once (64x fewer Python operations).
    total = 0
    for word in distinct:
        total += _spread(word)
    half = len(distinct) / 2
    mask = (1 << _FIELD) - 1
    value = 0
    for bit in range(BITS):
        if (total >> (bit * _FIELD)) & mask > half:
            value |= 1 << bit
    return value


def bands(value: int | None) -> tuple[int, int, int, int]:
    """The four 16-bit bands of a SimHash; two hashes within 3 bits share at least one."""
    if value is None:
        return (NO_BAND,) * 4
    return tuple((value >> shift) & 0xFFFF for shift in (0, 16, 32, 48))  # type: ignore[return-value]


def distance(a: int, b: int) -> int:
    """Hamming distance between two hashes."""
    return ((a ^ b) & ((1 << BITS) - 1)).bit_count()


def to_signed(value: int) -> int:
    """A 64-bit hash as a signed integer, as SQL BIGINT columns hold it."""
    return value - (1 << BITS) if value >= 1 << (BITS - 1) else value


def to_unsigned(value: int) -> int:
    """The inverse of `to_signed`."""
    return value + (1 << BITS) if value < 0 else value


@lru_cache(maxsize=1 << 18)
def _spread(word: str) -> int:
    word_hash = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")
    spread = 0
    for byte_index in range(8):
        spread |= _SPREAD_BYTE[(word_hash >> (8 * byte_index)) & 0xFF] << (byte_index * 8 * _FIELD)
    return spread


# _SPREAD_BYTE[b] puts bit i of byte b at bit i * _FIELD: a counter of 1 per set bit.
_SPREAD_BYTE = [sum(1 << (i * _FIELD) for i in range(8) if b >> i & 1) for b in range(256)]
