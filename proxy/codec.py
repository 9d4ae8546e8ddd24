"""Bytes <-> text: content-encodings (gzip, deflate, br) and character sets.

Charset resolution follows the browser's order (BOM, Content-Type, <meta> prescan, then detection) and
uses the WHATWG label table (webencodings), with GB2312/GBK widened to GB18030 and Big5 to Big5-HKSCS,
the supersets that browsers actually decode with.  Decoding never fails: bytes that are invalid in the
chosen charset become U+FFFD, as they would in the browser.
"""
from __future__ import annotations

import codecs
import gzip
import re
import zlib

import brotli
import charset_normalizer
import webencodings

DECODABLE_ENCODINGS = ("gzip", "x-gzip", "deflate", "br", "identity")


class UndecodableBody(ValueError):
    """The body's content-encoding is unknown or its compressed data is corrupt."""


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo Content-Encoding (a comma list applied in order); refuse output above max_bytes (zip bombs)."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        try:
            if coding in ("gzip", "x-gzip"):
                body = _inflate(body, zlib.MAX_WBITS | 16, max_bytes)
            elif coding == "deflate":
                try:  # RFC says zlib-wrapped; some servers send raw deflate
                    body = _inflate(body, zlib.MAX_WBITS, max_bytes)
                except zlib.error:
                    body = _inflate(body, -zlib.MAX_WBITS, max_bytes)
            elif coding == "br":
                body = _unbrotli(body, max_bytes)
            else:
                raise UndecodableBody(f"unsupported content-encoding {coding!r}")
        except (zlib.error, brotli.error, EOFError) as exc:
            raise UndecodableBody(f"corrupt {coding} body: {exc}") from None
    return body


def _inflate(data: bytes, wbits: int, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(data, max_bytes + 1)
    if len(out) > max_bytes:
        raise UndecodableBody(f"body inflates beyond {max_bytes} bytes")
    return out


def _unbrotli(data: bytes, max_bytes: int) -> bytes:
    decompressor = brotli.Decompressor()
    out = decompressor.process(data, output_buffer_limit=max_bytes + 1)
    if len(out) > max_bytes or not decompressor.can_accept_more_data():
        raise UndecodableBody(f"body inflates beyond {max_bytes} bytes")
    return out


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
    if name in ("utf-16be", "utf-16le"):
        return name.replace("16", "-16-")
    if name == "x-user-defined":
        return None
    return encoding.codec_info.name


def charset_from_content_type(content_type: str | None) -> str | None:
    match = _CONTENT_TYPE_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def sniff_charset(body: bytes, content_type: str | None) -> tuple[str, str]:
    """(python codec, how we knew) for an HTML body."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, "bom"
    codec = python_codec(charset_from_content_type(content_type))
    if codec and not codec.startswith("utf-16"):
        return codec, "header"
    # A body that is valid UTF-8 with non-ASCII text is UTF-8, whatever its <meta> says: GBK Chinese text
    # is practically never valid UTF-8, while portals that moved to UTF-8 often kept a gb2312 template meta.
    if not body.isascii() and _valid_utf8(body):
        return "utf-8", "valid-utf8"
    # Like the browser's prescan, look at the start of the document only.
    match = _META_CHARSET.search(body[:4096])
    if match:
        codec = python_codec(match.group(1).decode("ascii", "replace"))
        if codec and not codec.startswith("utf-16"):  # a meta can't truthfully claim UTF-16 in ASCII bytes
            return codec, "meta"
        if codec:
            return "utf-8", "meta"
    if _valid_utf8(body):
        return "utf-8", "valid-utf8"
    guess = charset_normalizer.from_bytes(body[:65536]).best()
    codec = python_codec(guess.encoding) if guess else None
    return (codec or "gb18030"), "detected"  # these portals' legacy charset is the likeliest fallback


def _valid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def decode(body: bytes, codec: str) -> str:
    if codec == "utf-8" and body.startswith(codecs.BOM_UTF8):
        body = body[3:]
    elif codec.startswith("utf-16") and body[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        body = body[2:]
    return body.decode(codec, errors="replace")


_CSS_CHARSET = re.compile(rb'^@charset\s+"([A-Za-z0-9._:\-]+)"\s*;')


def css_charset(body: bytes, content_type: str | None) -> str:
    """CSS Syntax 3's order: BOM, Content-Type, @charset; then valid UTF-8, else the portals' GB18030."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec
    codec = python_codec(charset_from_content_type(content_type))
    if codec:
        return codec
    match = _CSS_CHARSET.match(body)
    if match:
        codec = python_codec(match.group(1).decode("ascii"))
        if codec and not codec.startswith("utf-16"):
            return codec
    return "utf-8" if _valid_utf8(body) else "gb18030"
