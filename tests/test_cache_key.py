"""cache.cache_key: a 256-bit digest (SHA-256 or BLAKE2b, whichever this CPU computes faster) of the inputs, each
length-prefixed."""
from __future__ import annotations

import hashlib

from proxy import cache
from proxy.cache import cache_key


def framed(*parts) -> bytes:
    out = b""
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        out += len(data).to_bytes(8, "little") + data
    return out


def test_key_is_a_256_bit_digest_of_the_length_prefixed_inputs():
    parts = ("html", b"<p>\xe4\xb8\xad</p>" * 5000, "", "text/html; charset=utf-8", "http://x/a.html?n=1", "\ud800")
    key = cache_key(*parts)
    assert len(key) == 32 and key == cache_key(*parts)
    assert key in (hashlib.sha256(framed(*parts)).digest(),
                   hashlib.blake2b(framed(*parts), digest_size=32).digest())
    assert cache._new_digest().name in ("sha256", "blake2b")


def test_no_two_different_lists_digest_alike():
    keys = {cache_key(*parts) for parts in [("ab", "c"), ("a", "bc"), ("abc",), ("abc", ""), ("", "abc"), ()]}
    assert len(keys) == 6


def test_fastest_digest_is_one_of_the_two():
    for _ in range(3):
        assert cache._fastest_digest()(b"x").name in ("sha256", "blake2b")
