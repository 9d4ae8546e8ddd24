"""Bytes <-> text: content-encodings (gzip, deflate, br) and character sets.

Charset resolution follows the browser's order (BOM, Content-Type, <meta> prescan, then detection) and
uses the WHATWG label table (webencodings), with GB2312/GBK widened to GB18030 and Big5 to Big5-HKSCS,
the supersets that browsers actually decode with.  Decoding never fails: bytes that are invalid in the
chosen charset become U+FFFD, as they would in the browser.  As in browsers, a <meta> or @charset naming
UTF-16 means UTF-8 (a UTF-16 header is honoured), and a label of the "replacement" encoding (HZ,
ISO-2022-CN/KR) leaves no text to rewrite: sniff_and_decode and css_decode raise ReplacementEncoding.

Content-encodings are undone completely or not at all (``decompress``): a page is only rewritten from a
compressed body that ends where its format says it ends.

- A truncated gzip, deflate or br body (the stream stops before its end marker, or the gzip member
  before its CRC/length trailer) raises ``UndecodableBody``: what was decoded is a cut page, and
  re-sending it as a complete one would hide the cut.  The caller sends the upstream's bytes as they
  came.
- A gzip body of several members (RFC 1952 2.2: "a series of members") is decoded member after member,
  as ``gzip.decompress`` and zcat do (in time linear in the body's size); ``max_bytes`` bounds the sum over
  all members.  Note that Chromium and Firefox show only the first member (both stop reading at the end of
  the first deflate stream).
- Bytes after a complete stream that do not start another gzip member (zero padding, a stray newline
  from a template, junk) are ignored, as browsers ignore them: Chromium's GzipSourceStream drops them
  (STATE_IGNORING_EXTRA_BYTES: "matches the behavior of other browsers"), its BrotliSourceStream
  consumes and discards whatever follows the end of a brotli stream, and Firefox's nsHTTPCompressConv
  discards data after the end of a gzip/deflate stream.  Bytes that do start a gzip member (1F 8B) must
  be a complete member: a truncated or corrupt second member raises.

``decompress_prefix`` is the lenient reading for the first chunk of a body (MIME sniffing): it decodes
as much as the bytes so far allow and never raises.
"""
from __future__ import annotations

import codecs
import functools
import gzip
import re
import zlib

import brotli
import charset_normalizer
import webencodings

DECODABLE_ENCODINGS = ("gzip", "x-gzip", "deflate", "br", "identity")

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = zlib.MAX_WBITS | 16
# Input is fed to the decoders in steps of this size where a partial result must survive a later error
# (decompress_prefix, and finding where a brotli stream ends when bytes follow it).
_STEP = 4096
# The first slice of a zlib stream's input (see _inflate); small, as a gzip member can be 20 bytes.
_FIRST_PIECE = 256


class UndecodableBody(ValueError):
    """The body's content-encoding is unknown, or its compressed data is corrupt, truncated or too large."""


class _Bomb(UndecodableBody):
    pass


class ReplacementEncoding(UndecodableBody):
    """The page declares the WHATWG "replacement" encoding (a label such as hz-gb-2312, iso-2022-cn or
    iso-2022-kr): browsers decode all of it to one U+FFFD, so there is no text to rewrite."""


def _codings(content_encoding: str | None) -> list[str]:
    return [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo Content-Encoding (a comma list applied in order); refuse output above max_bytes (zip bombs).

    Raises UndecodableBody for an unknown coding, corrupt or truncated data, or output over max_bytes.
    """
    for coding in reversed(_codings(content_encoding)):
        if coding == "identity":
            continue
        if coding not in ("gzip", "x-gzip", "deflate", "br"):
            raise UndecodableBody(f"unsupported content-encoding {coding!r}")
        if not body:  # nothing was sent: nothing to undo (browsers show an empty page, not an error)
            continue
        try:
            body = _decode_one(body, coding, max_bytes, partial=False)
        except _Bomb:
            raise UndecodableBody(f"{coding} body inflates beyond {max_bytes} bytes") from None
        except (zlib.error, brotli.error, EOFError) as exc:
            raise UndecodableBody(f"corrupt {coding} body: {exc}") from None
    return body


def decompress_prefix(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """As much of the decoded body as the first bytes of a body allow (at most max_bytes), for sniffing.

    Never raises: a stream cut short gives what it decodes to so far, corrupt data gives what came
    before the corruption (b"" when it starts corrupt), and an unknown coding gives b"".
    """
    for coding in reversed(_codings(content_encoding)):
        if coding == "identity":
            continue
        if coding not in ("gzip", "x-gzip", "deflate", "br"):
            return b""
        try:
            body = _decode_one(body, coding, max_bytes, partial=True)
        except Exception:  # noqa: BLE001 - sniffing must never fail a response
            return b""
        if not body:
            return b""
    return body[:max_bytes]


def _decode_one(body: bytes, coding: str, max_bytes: int, partial: bool) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return _gunzip(body, max_bytes, partial)
    if coding == "deflate":
        # RFC 9110 says zlib-wrapped; some servers send raw deflate (browsers accept both, as here).
        try:
            out, _ = _inflate(body, zlib.MAX_WBITS, max_bytes, partial)
            if out or not partial:
                return out
        except zlib.error:
            pass
        return _inflate(body, -zlib.MAX_WBITS, max_bytes, partial)[0]
    return _unbrotli(body, max_bytes, partial)


def _inflate(data: bytes | memoryview, wbits: int, budget: int, partial: bool) -> tuple[bytes, int]:
    """One zlib/gzip/raw-deflate stream at the start of data: (output, how many bytes of data it spans).

    Whole mode raises UndecodableBody when the stream is cut short or inflates beyond budget, and
    zlib.error when corrupt.  Partial mode returns what decodes before any of these (spanning all of data).

    The input goes in as slices of a memoryview (_STEP each in partial mode; in whole mode from
    _FIRST_PIECE, doubling): zlib copies what follows the end of a stream into unused_data, so feeding
    all that was left made each member of a many-member gzip body copy the rest of the body, quadratic
    in its size.  A slice at most about twice what the stream took so far keeps that copy member-sized.
    """
    view = memoryview(data)
    inflater = zlib.decompressobj(wbits)
    parts: list[bytes] = []
    size = 0
    fed = 0
    piece = _STEP if partial else _FIRST_PIECE
    while fed < len(view):
        chunk = view[fed:fed + piece]
        try:
            out = inflater.decompress(chunk, budget + 1 - size)  # (never 0, which would mean no limit)
        except zlib.error:
            if not partial:
                raise
            break
        fed += len(chunk)
        parts.append(out)
        size += len(out)
        if size > budget:  # (also whenever input was left over: the output limit stopped it)
            if not partial:
                raise _Bomb()
            break
        if inflater.eof:
            return b"".join(parts), fed - len(inflater.unused_data)
        if not partial:
            piece *= 2
    if not partial:
        raise UndecodableBody(f"truncated or corrupt body: the compressed stream stops before its end "
                              f"({len(view)} bytes)")
    return b"".join(parts)[:budget], len(view)


def _gunzip(data: bytes, max_bytes: int, partial: bool) -> bytes:
    """Every gzip member in turn; whatever follows the last one, unless it starts a member, is ignored."""
    view = memoryview(data)  # members are read at an offset into it: no copy of the rest per member
    parts: list[bytes] = []
    size = 0
    start = 0
    while True:
        out, length = _inflate(view[start:], _GZIP_WBITS, max_bytes - size, partial)
        parts.append(out)
        size += len(out)
        start += length
        if view[start:start + 2] != _GZIP_MAGIC or (partial and size >= max_bytes):
            return b"".join(parts)


def _unbrotli(data: bytes, max_bytes: int, partial: bool) -> bytes:
    if not partial:
        decompressor = brotli.Decompressor()
        out = bytearray()
        try:
            _brotli_feed(decompressor, data, out, max_bytes)
        except brotli.error:
            # Corrupt, or a complete stream followed by other bytes (the decoder refuses input after
            # its end): find which, feeding step by step.
            return _brotli_stepwise(data, max_bytes, partial)
        if not decompressor.is_finished():
            raise UndecodableBody(f"truncated or corrupt br body: the stream stops before its end ({len(data)} bytes)")
        return bytes(out)
    return _brotli_stepwise(data, max_bytes, partial)


def _brotli_feed(decompressor, data: bytes, out: bytearray, max_bytes: int) -> None:
    """Feed data and drain the output; _Bomb past max_bytes (the decoder stops near the limit)."""
    out += decompressor.process(data, output_buffer_limit=max_bytes + 1 - len(out))
    while len(out) <= max_bytes and not decompressor.is_finished():
        more = decompressor.process(b"", output_buffer_limit=max_bytes + 1 - len(out))
        if not more:
            break
        out += more
    if len(out) > max_bytes:
        raise _Bomb()


def _brotli_stepwise(data: bytes, max_bytes: int, partial: bool) -> bytes:
    """Decode step by step, to keep what decodes before an error and to find where the stream ends."""
    decompressor = brotli.Decompressor()
    out = bytearray()
    done = 0
    try:
        for done in range(0, len(data), _STEP):
            _brotli_feed(decompressor, data[done:done + _STEP], out, max_bytes)
            if decompressor.is_finished():
                return bytes(out)
        done = len(data)
    except _Bomb:
        if partial:
            return bytes(out[:max_bytes])
        raise
    except brotli.error:
        # The error is in data[done:done + _STEP]: start again and feed that step a byte at a time, to
        # tell a stream that ends there (the rest is trailing bytes, ignored) from a corrupt one.
        decompressor = brotli.Decompressor()
        out = bytearray()
        try:
            _brotli_feed(decompressor, data[:done], out, max_bytes)
            for i in range(done, min(done + _STEP, len(data))):
                _brotli_feed(decompressor, data[i:i + 1], out, max_bytes)
                if decompressor.is_finished():
                    return bytes(out)
        except _Bomb:
            if partial:
                return bytes(out[:max_bytes])
            raise
        except brotli.error:
            if partial:
                return bytes(out)
            raise
    if partial:
        return bytes(out)
    raise UndecodableBody(f"truncated or corrupt br body: the stream stops before its end ({len(data)} bytes)")


def choose_encoding(accept_encoding: str | None) -> str | None:
    """The best coding we can produce for a client's Accept-Encoding: 'br', 'gzip' or None."""
    offered = {}
    for part in (accept_encoding or "").lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        offered[name.strip()] = q
    for coding in ("br", "gzip"):
        if offered.get(coding, offered.get("*", 0)) > 0:
            return coding
    return None


def compress(body: bytes, coding: str) -> bytes:
    if coding == "br":
        return brotli.compress(body, quality=5)  # quality 5: most of br's gain at a fraction of level 11's cost
    if coding == "gzip":
        return gzip.compress(body, compresslevel=6, mtime=0)  # mtime=0 keeps output deterministic
    raise ValueError(coding)


@functools.lru_cache(maxsize=1024)  # asked on every request; browsers send a handful of distinct values
def accepted_upstream_encodings(client_accept: str | None) -> str:
    """What we let the upstream send: the client's codings that we can also undo, so any HTML is rewritable."""
    ours = []
    for part in (client_accept or "").split(","):
        name = part.strip().split(";")[0].strip().lower()
        if name in ("gzip", "deflate", "br") and name not in ours and ";q=0" not in part.replace(" ", ""):
            ours.append(name)
    return ", ".join(ours) if ours else "identity"


# --- character sets -------------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.I)
_CONTENT_TYPE_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.I)
# Python codecs that are strict supersets of what the label names, as browsers decode them.
_WIDER = {"gbk": "gb18030", "gb2312": "gb18030", "gb18030": "gb18030", "big5": "big5hkscs"}
_UTF16 = {"utf-16le": "utf-16-le", "utf-16be": "utf-16-be"}  # (labels "utf-16" and "unicode" are UTF-16LE)
# WHATWG Encoding's "replacement" decoder: a non-empty input is one U+FFFD (the encodings behind its labels,
# such as ISO-2022-KR and HZ, were used to slip markup past filters that decode them differently).
REPLACEMENT = "replacement"


def python_codec(label: str | None) -> str | None:
    """Python codec for a WHATWG charset label, or None if the label is unknown."""
    if not label:
        return None
    encoding = webencodings.lookup(label.strip())
    if encoding is None:
        return None
    name = encoding.name.lower()
    if name in _WIDER:
        return _WIDER[name]
    if name in _UTF16:
        return _UTF16[name]  # (a name that _sniff and _css_sniff check for: a <meta> or @charset UTF-16 is UTF-8)
    if name == "x-user-defined":
        return None
    return encoding.codec_info.name


def charset_from_content_type(content_type: str | None) -> str | None:
    match = _CONTENT_TYPE_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def sniff_charset(body: bytes, content_type: str | None) -> tuple[str, str]:
    """(python codec, how we knew) for an HTML body."""
    codec, how, _ = _sniff(body, content_type)
    return codec, how


def sniff_and_decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    """(text, python codec): sniff_charset, then decode; a body found to be UTF-8 by decoding it is decoded once.

    Raises ReplacementEncoding (an UndecodableBody) for a page in the replacement encoding."""
    codec, _, text = _sniff(body, content_type)
    _refuse_replacement(codec, body)
    return (text if text is not None else decode(body, codec)), codec


def _refuse_replacement(codec: str, body: bytes) -> None:
    if codec == REPLACEMENT and body:
        raise ReplacementEncoding("the page's charset is a label of the replacement encoding: browsers show it "
                                  "as a single U+FFFD")


def _sniff(body: bytes, content_type: str | None) -> tuple[str, str, str | None]:
    """sniff_charset's answer, and the body's text when finding the answer meant decoding it as UTF-8."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, "bom", None
    # HTML's encoding sniffing algorithm (13.2.3.2), step 4: "If the transport layer specifies a character
    # encoding, and it is supported, return that encoding", UTF-16 included (only a <meta> naming UTF-16
    # is taken as UTF-8, in the prescan below).
    codec = python_codec(charset_from_content_type(content_type))
    if codec:
        return codec, "header", None
    # A body that is valid UTF-8 with non-ASCII text is UTF-8, whatever its <meta> says: GBK Chinese text
    # is practically never valid UTF-8, while portals that moved to UTF-8 often kept a gb2312 template meta.
    ascii = body.isascii()
    text = None if ascii else _utf8_text(body)
    if text is not None:
        return "utf-8", "valid-utf8", text  # (no BOM: that was the first check)
    # Like the browser's prescan, look at the start of the document only.
    match = _META_CHARSET.search(body, 0, 4096)
    if match:
        codec = python_codec(match.group(1).decode("ascii", "replace"))
        if codec and not codec.startswith("utf-16"):
            return codec, "meta", None
        if codec:  # prescan: "If charset is UTF-16BE/LE, then set charset to UTF-8" (it was read as ASCII)
            return "utf-8", "meta", None
    if ascii:  # valid UTF-8 (a body with non-ASCII bytes was found not to be, above)
        return "utf-8", "valid-utf8", None
    guess = charset_normalizer.from_bytes(body[:65536]).best()
    codec = python_codec(guess.encoding) if guess else None
    return (codec or "gb18030"), "detected", None  # these portals' legacy charset is the likeliest fallback


def _utf8_text(body: bytes) -> str | None:
    """The body decoded as UTF-8, or None when it is not valid UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode(body: bytes, codec: str) -> str:
    if codec == REPLACEMENT:
        return "\ufffd" if body else ""
    if codec == "utf-8" and body.startswith(codecs.BOM_UTF8):
        body = body[3:]
    elif codec.startswith("utf-16") and body[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        body = body[2:]
    return body.decode(codec, errors="replace")


_CSS_CHARSET = re.compile(rb'^@charset\s+"([A-Za-z0-9._:\-]+)"\s*;')


def css_charset(body: bytes, content_type: str | None) -> str:
    """CSS Syntax 3's order: BOM, Content-Type, @charset; then valid UTF-8, else the portals' GB18030."""
    return _css_sniff(body, content_type)[0]


def css_decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    """(text, python codec): css_charset, then decode; a body found to be UTF-8 by decoding it is decoded once.

    Raises ReplacementEncoding (an UndecodableBody) for a stylesheet in the replacement encoding."""
    codec, text = _css_sniff(body, content_type)
    _refuse_replacement(codec, body)
    return (text if text is not None else decode(body, codec)), codec


def _css_sniff(body: bytes, content_type: str | None) -> tuple[str, str | None]:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, None
    codec = python_codec(charset_from_content_type(content_type))
    if codec:  # (UTF-16 included: CSS Syntax 3.2 returns the header's encoding as it is)
        return codec, None
    match = _CSS_CHARSET.match(body)
    if match:
        codec = python_codec(match.group(1).decode("ascii"))
        if codec and not codec.startswith("utf-16"):
            return codec, None
        if codec:  # CSS Syntax 3.2: "if the return value was utf-16be or utf-16le, return utf-8"
            return "utf-8", _utf8_text(body)
    if body.isascii():
        return "utf-8", None
    text = _utf8_text(body)  # (no BOM: that was the first check)
    return ("utf-8", text) if text is not None else ("gb18030", None)
