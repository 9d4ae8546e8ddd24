"""Charset sniffing and decoding (codec.sniff_and_decode, codec.css_decode) give the same answers as sniffing
with sniff_charset / css_charset and then decoding, which decoded a UTF-8 body twice (once to validate it);
and those answer as the previous implementation did (kept here as the reference)."""
from __future__ import annotations

import codecs
import random
from pathlib import Path

import charset_normalizer
import pytest

from proxy import codec

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "pages"


# --- the reference: sniff_charset and css_charset as they were --------------------------------------------

def _reference_valid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def reference_sniff_charset(body: bytes, content_type: str | None) -> tuple[str, str]:
    for bom, name in codec._BOMS:
        if body.startswith(bom):
            return name, "bom"
    name = codec.python_codec(codec.charset_from_content_type(content_type))
    if name and not name.startswith("utf-16"):
        return name, "header"
    if not body.isascii() and _reference_valid_utf8(body):
        return "utf-8", "valid-utf8"
    match = codec._META_CHARSET.search(body[:4096])
    if match:
        name = codec.python_codec(match.group(1).decode("ascii", "replace"))
        if name and not name.startswith("utf-16"):
            return name, "meta"
        if name:
            return "utf-8", "meta"
    if _reference_valid_utf8(body):
        return "utf-8", "valid-utf8"
    guess = charset_normalizer.from_bytes(body[:65536]).best()
    name = codec.python_codec(guess.encoding) if guess else None
    return (name or "gb18030"), "detected"


def reference_css_charset(body: bytes, content_type: str | None) -> str:
    for bom, name in codec._BOMS:
        if body.startswith(bom):
            return name
    name = codec.python_codec(codec.charset_from_content_type(content_type))
    if name:
        return name
    match = codec._CSS_CHARSET.match(body)
    if match:
        name = codec.python_codec(match.group(1).decode("ascii"))
        if name and not name.startswith("utf-16"):
            return name
    return "utf-8" if _reference_valid_utf8(body) else "gb18030"


# --- bodies -------------------------------------------------------------------------------------------------

def bodies() -> list[bytes]:
    found = []
    for folder in (CORPUS, ROOT / "tests" / "fixtures"):
        if folder.is_dir():
            found += [p.read_bytes() for p in sorted(folder.rglob("*")) if p.suffix in (".html", ".htm", ".css")]
    chinese = "<p>国家政策 — 广州市人民政府</p>" * 50
    pad = "<!-- " + "x" * 5000 + " -->"
    for text in (chinese, "<p>plain ascii</p>", ""):
        for head in ("", '<meta charset="gb2312">', '<meta http-equiv="Content-Type" content="text/html; charset=big5">',
                     '<meta charset="utf-16">', '<meta charset="x-user-defined">', '<meta charset="nonsense">',
                     pad + '<meta charset="gbk">', '@charset "gbk";', '@charset "utf-16";', '@charset "bogus";'):
            page = f"<!DOCTYPE html><html><head>{head}</head><body>{text}</body></html>" if not head.startswith(
                "@") else head + "body { color: red } /* " + text + " */"
            for charset in ("utf-8", "gb18030", "big5hkscs"):
                try:
                    raw = page.encode(charset)
                except UnicodeEncodeError:
                    continue
                found += [raw, codecs.BOM_UTF8 + raw, raw[:len(raw) // 2 + 1]]
            found.append(codecs.BOM_UTF16_LE + page.encode("utf-16-le"))
            found.append(codecs.BOM_UTF16_BE + page.encode("utf-16-be"))
    found += [b"\xff\xfe", b"\xfe\xff", codecs.BOM_UTF8, b"\xe4\xb8", b"caf\xe9", b"\xc3\xa9" * 3000 + b"\xff"]
    rng = random.Random(20261207)
    alphabet = [b"<meta charset=utf-8>", b"<meta charset=gbk>", "中文".encode(), "中文".encode("gbk"), b"\xef\xbb\xbf",
                b"\x80", b"\xff", b"abc", b"@charset \"big5\";", b"\xe4"]
    for _ in range(3000):
        found.append(b"".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12))))
    for _ in range(300):
        found.append(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))))
    return found


BODIES = bodies()
CONTENT_TYPES = (None, "", "text/html", "text/html; charset=utf-8", "text/html; charset=GB2312", "text/html;charset=utf-16",
                 "text/css; charset=big5", "text/html; charset=bogus")


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_sniff_and_decode_as_sniffing_then_decoding(content_type):
    assert len(BODIES) > 3000
    for body in BODIES:
        expected = reference_sniff_charset(body, content_type)
        assert codec.sniff_charset(body, content_type) == expected, body[:80]
        text, name = codec.sniff_and_decode(body, content_type)
        assert name == expected[0]
        assert text == codec.decode(body, name), body[:80]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_css_decode_as_sniffing_then_decoding(content_type):
    for body in BODIES:
        expected = reference_css_charset(body, content_type)
        assert codec.css_charset(body, content_type) == expected, body[:80]
        text, name = codec.css_decode(body, content_type)
        assert name == expected
        assert text == codec.decode(body, name), body[:80]


def test_a_utf8_body_is_decoded_once(monkeypatch):
    body = "<!DOCTYPE html><html><head><meta charset=gb2312></head><body>国家政策</body></html>".encode() * 100
    calls = []

    class Counting(bytes):
        def decode(self, *args, **kwargs):
            calls.append(args)
            return super().decode(*args, **kwargs)

    text, name = codec.sniff_and_decode(Counting(body), "text/html")
    assert (name, text) == ("utf-8", body.decode()) and len(calls) == 1
    calls.clear()
    text, name = codec.css_decode(Counting(body), "text/css")
    assert (name, text) == ("utf-8", body.decode()) and len(calls) == 1
