"""The transform cache: a rewritten page is a pure function of its inputs, so a view of a page that was
rewritten before costs a lookup, not a transform.

The key is a digest of exactly what the pipeline's output depends on: the upstream's body bytes and the
headers that decide how they are decoded, the upstream URL, the modes and prefix, the public origin, whether
the page is a frame, a fragment or a whole page, the rules version and the settings.  The body is in the key,
not only the URL, so a page that changed, or one personalised for a reader, can never be answered with
another's entry: two readers share an entry only when the portal sent them the same bytes.

Entries hold the encoded forms (identity, gzip, br) the readers asked for, so a hit costs no compression
either.  The cache is bounded in bytes with least-recently-used eviction; concurrent misses for one key
transform once (single flight).  It lives in one process and is touched only from its event loop.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from . import codec

ENTRY_OVERHEAD = 256  # bytes counted per entry besides its bodies (key, bookkeeping)


@dataclass
class Entry:
    """One rewritten body, in the encodings asked for so far ('' is identity), and what it is."""

    forms: dict[str, bytes] = field(default_factory=dict)
    fragment: bool = False  # rendered as a fragment (for the response metrics)
    kind: str = "html"  # html, sniff, css or json: what the body is

    @property
    def size(self) -> int:
        return ENTRY_OVERHEAD + sum(len(body) for body in self.forms.values())


def _fastest_digest() -> Callable[[], "hashlib._Hash"]:
    """SHA-256 where the CPU computes it in hardware (x86 SHA-NI, ARMv8's SHA-2 instructions: ~1.7 GB/s, twice
    BLAKE2b's speed), else BLAKE2b (~0.9 GB/s; SHA-256 in software is nearly half that).  Both give 256-bit,
    collision-resistant digests; which one is chosen once per process (hashing 64 KB a few times each, about
    a millisecond), and keys never leave the process.  A cold page's key digests its whole body (~100 KB)."""
    sample = bytes(range(256)) * 256
    candidates = {"sha256": hashlib.sha256, "blake2b": lambda data=b"": hashlib.blake2b(data, digest_size=32)}
    best = {}
    for _ in range(5):
        for name, make in candidates.items():
            started = time.perf_counter()
            make(sample).digest()
            elapsed = time.perf_counter() - started
            best[name] = min(best.get(name, elapsed), elapsed)
    return candidates["sha256"] if best["sha256"] < best["blake2b"] else candidates["blake2b"]


_new_digest = _fastest_digest()


def cache_key(*parts: bytes | str) -> bytes:
    """A digest of the inputs; each part is length-prefixed so no two different lists digest alike."""
    digest = _new_digest()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.digest()


class TransformCache:
    def __init__(self, max_bytes: int, metrics, compress_min_bytes: int = 1024) -> None:
        self.max_bytes = max_bytes
        self.compress_min_bytes = compress_min_bytes  # smaller bodies are sent as they are
        self.metrics = metrics
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.bytes_held = 0
        self.pending: dict[bytes, asyncio.Future] = {}

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    async def get_or_render(self, key: bytes, coding: str, render: Callable[[], Awaitable[Entry]],
                            keep: bool) -> tuple[Entry, bytes, str, bool]:
        """(entry, body, the coding it is in ('' when too small to compress), was it a hit).

        `render` makes the entry with its identity body, or raises (nothing is cached then); `keep` False
        renders without storing (no-store responses)."""
        entry = self.entries.get(key)
        while entry is None and key in self.pending:  # someone is rendering this very page: wait for theirs
            failure = await asyncio.shield(self.pending[key])
            if failure is not None:
                # Their render of these very inputs failed (over the time budget, a page the pipeline cannot
                # take): ours would too.  Everyone waiting gets that at once, instead of each trying in turn.
                self.metrics.cache_requests.labels("miss").inc()
                raise failure
            entry = self.entries.get(key)  # (None if theirs was not kept, or they left: then one of us tries)
        if entry is not None:
            self.metrics.cache_requests.labels("hit").inc()
            self.entries.move_to_end(key)
            return (entry, *self._form(key, entry, coding), True)
        self.metrics.cache_requests.labels("miss").inc()
        if not keep or not self.enabled:
            entry = await render()
            return (entry, *self._form(key, entry, coding), False)
        done = asyncio.get_running_loop().create_future()
        self.pending[key] = done
        failure = None
        try:
            entry = await render()
            self._store(key, entry)
            return (entry, *self._form(key, entry, coding), False)
        except Exception as exc:  # (not a cancellation: a reader who left says nothing about the page)
            failure = exc
            raise
        finally:
            del self.pending[key]
            done.set_result(failure)

    def lookup(self, key: bytes, coding: str) -> tuple[Entry, bytes, str] | None:
        """The entry for `key` (counted as a hit) in `coding`, or None when it is not held (any more)."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        self.metrics.cache_requests.labels("hit").inc()
        self.entries.move_to_end(key)
        return (entry, *self._form(key, entry, coding))

    def _form(self, key: bytes, entry: Entry, coding: str) -> tuple[bytes, str]:
        identity = entry.forms[""]
        if not coding or len(identity) < self.compress_min_bytes:
            return identity, ""
        body = entry.forms.get(coding)
        if body is None:
            body = encode(identity, coding)
            if self.entries.get(key) is entry:
                entry.forms[coding] = body
                self.bytes_held += len(body)
                self._evict()
        return body, coding

    def _store(self, key: bytes, entry: Entry) -> None:
        if entry.size > self.max_bytes:
            return
        self.entries[key] = entry
        self.bytes_held += entry.size
        self._evict()

    def _evict(self) -> None:
        while self.bytes_held > self.max_bytes and self.entries:
            _, oldest = self.entries.popitem(last=False)
            self.bytes_held -= oldest.size
            self.metrics.cache_evictions.inc()
        self.metrics.cache_bytes.set(self.bytes_held)


def encode(body: bytes, coding: str) -> bytes:
    return codec.compress(body, coding) if coding else body


# --- revalidation: a repeat view costs a 304 from the upstream and a cache hit ----------------------------

@dataclass
class Remembered:
    """What the upstream sent for a request the last time, to ask it "still this?" (If-None-Match /
    If-Modified-Since) and, on 304, answer with the cached rewrite of that very response."""

    entry_key: bytes  # the transform cache's key of the rewritten body
    status: int
    reason: str
    headers: object  # the upstream's response headers (a CIMultiDict; never with Set-Cookie)
    validators: dict[str, str]  # request headers that ask the upstream whether it changed
    url: str = ""  # the upstream URL asked for
    # The request's values of the headers the response's Vary names: a 304 may only stand for the stored
    # response on a request that matches them (RFC 9111 section 4.1), a mobile reader's page is not a desktop's.
    varied: tuple[tuple[str, str], ...] = ()

    def matches(self, headers) -> bool:
        return all(",".join(headers.getall(name, ())) == value for name, value in self.varied)


class Revalidations:
    """Remembered responses by request (URL, modes, origin, and the reader's own Cookie and Authorization:
    a record is only ever used for the reader it was made for), least recently used first out."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self.items: OrderedDict[bytes, Remembered] = OrderedDict()
        self.urls: Counter[str] = Counter()  # upstream URLs with a record: the others need no key at all

    def may_have(self, url: str) -> bool:
        return url in self.urls

    def get(self, key: bytes) -> Remembered | None:
        found = self.items.get(key)
        if found is not None:
            self.items.move_to_end(key)
        return found

    def put(self, key: bytes, remembered: Remembered) -> None:
        self.drop(key)
        self.items[key] = remembered
        self.urls[remembered.url] += 1
        while len(self.items) > self.max_items:
            _, oldest = self.items.popitem(last=False)
            self._forget_url(oldest.url)

    def drop(self, key: bytes) -> None:
        gone = self.items.pop(key, None)
        if gone is not None:
            self._forget_url(gone.url)

    def _forget_url(self, url: str) -> None:
        self.urls[url] -= 1
        if self.urls[url] <= 0:
            del self.urls[url]


def validators_of(headers) -> dict[str, str]:
    """The conditional request headers a response's validators allow (empty: it gave none)."""
    found = {}
    if headers.get("ETag"):
        found["If-None-Match"] = headers["ETag"]
    if headers.get("Last-Modified"):
        found["If-Modified-Since"] = headers["Last-Modified"]
    return found
