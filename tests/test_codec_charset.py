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
    if name:  # (UTF-16 too: only a <meta> naming UTF-16 means UTF-8)
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
        if name:
            return "utf-8"
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


# --- the rules themselves, with literal answers (the reference above shares python_codec with the code) ------

NOTICE = "<p>国家政策通知</p>"
TRAD = "<p>國家政策通知</p>"
ASCII_PAGE = ('<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset={label}">'
              '<title>&#25919;&#21153;</title></head><body><p>Notice &#22269;&#23478;</p></body></html>')


@pytest.mark.parametrize("label, expected", [
    ("utf-16", "utf-16-le"), ("unicode", "utf-16-le"), ("UTF-16LE", "utf-16-le"), ("csunicode", "utf-16-le"),
    ("utf-16be", "utf-16-be"), ("utf-8", "utf-8"), ("unicode-1-1-utf-8", "utf-8"), ("gb2312", "gb18030"),
    ("x-gbk", "gb18030"), ("gb18030", "gb18030"), ("big5", "big5hkscs"), ("big5-hkscs", "big5hkscs"),
    ("hz-gb-2312", "replacement"), ("iso-2022-cn", "replacement"), ("csiso2022kr", "replacement"),
    ("x-user-defined", None), ("utf-7", None), ("bogus", None), ("", None)])
def test_python_codec_names(label, expected):
    """The issue: UTF-16 labels gave "utf--16-le", which Python decodes as UTF-16 but no startswith("utf-16")
    check recognised, so a <meta> or @charset naming UTF-16 decoded the page as UTF-16."""
    assert codec.python_codec(label) == expected


@pytest.mark.parametrize("label", ["utf-16", "unicode", "utf-16le", "utf-16be", "UTF-16"])
def test_a_meta_naming_utf16_means_utf8(label):
    """HTML prescan: "If charset is UTF-16BE/LE, then set charset to UTF-8"."""
    page = ASCII_PAGE.format(label=label).encode()
    assert codec.sniff_charset(page, "text/html") == ("utf-8", "meta")
    assert codec.sniff_and_decode(page, "text/html") == (page.decode("ascii"), "utf-8")
    short = f'<meta charset="{label}"><p>caf\xe9</p>'.encode("latin-1")  # not UTF-8: still decoded as UTF-8
    assert codec.sniff_and_decode(short, None) == (f'<meta charset="{label}"><p>caf\ufffd</p>', "utf-8")
    chinese = f'<meta charset="{label}">{NOTICE}'
    assert codec.sniff_and_decode(chinese.encode(), "text/html") == (chinese, "utf-8")


@pytest.mark.parametrize("body, content_type, expected", [
    # The header is honoured, UTF-16 included (HTML 13.2.3.2 step 4); "utf-16" and "unicode" are UTF-16LE.
    (NOTICE.encode("utf-16-le"), "text/html; charset=utf-16", "utf-16-le"),
    (NOTICE.encode("utf-16-le"), "text/html; charset=unicode", "utf-16-le"),
    (NOTICE.encode("utf-16-be"), "text/html; charset=UTF-16BE", "utf-16-be"),
    (NOTICE.encode("gbk"), "text/html; charset=gb2312", "gb18030"),
    (TRAD.encode("big5"), "text/html; charset=big5", "big5hkscs"),
    # A BOM decides first: over the header and over a <meta>.
    (codecs.BOM_UTF16_BE + NOTICE.encode("utf-16-be"), "text/html; charset=gbk", "utf-16-be"),
    (codecs.BOM_UTF16_LE + NOTICE.encode("utf-16-le"), "text/html; charset=utf-16be", "utf-16-le"),
    (codecs.BOM_UTF8 + NOTICE.encode(), "text/html; charset=utf-16", "utf-8"),
    (codecs.BOM_UTF16_LE + ('<meta charset="gbk">' + NOTICE).encode("utf-16-le"), None, "utf-16-le"),
], ids=["header utf-16", "header unicode", "header utf-16be", "header gb2312", "header big5", "bom over header",
        "bom over utf-16 header", "utf-8 bom over utf-16 header", "bom over meta"])
def test_html_charset_literal(body, content_type, expected):
    text, name = codec.sniff_and_decode(body, content_type)
    assert name == expected
    assert text.endswith(TRAD if "big5" in expected else NOTICE) and "\ufffd" not in text and "\ufeff" not in text


@pytest.mark.parametrize("body, content_type, expected, text", [
    (b'@charset "utf-16"; a{color:red}', "text/css", "utf-8", '@charset "utf-16"; a{color:red}'),
    (f'@charset "UTF-16BE"; /* {NOTICE} */'.encode(), "text/css", "utf-8", f'@charset "UTF-16BE"; /* {NOTICE} */'),
    # CSS Syntax 3.2: @charset naming UTF-16 returns UTF-8, even for bytes that are not UTF-8.
    (b'@charset "unicode"; /* caf\xe9 */', "text/css", "utf-8", '@charset "unicode"; /* caf\ufffd */'),
    (f'/* {NOTICE} */'.encode("utf-16-le"), "text/css; charset=utf-16", "utf-16-le", f'/* {NOTICE} */'),
    (codecs.BOM_UTF16_BE + '@charset "gbk"; a{}'.encode("utf-16-be"), "text/css", "utf-16-be", '@charset "gbk"; a{}'),
    (f'@charset "gbk"; /* {NOTICE} */'.encode("gbk"), "text/css", "gb18030", f'@charset "gbk"; /* {NOTICE} */'),
], ids=["@charset utf-16 ascii", "@charset utf-16be utf-8", "@charset unicode latin-1", "header utf-16",
        "bom over @charset", "@charset gbk"])
def test_css_charset_literal(body, content_type, expected, text):
    assert codec.css_decode(body, content_type) == (text, expected)
    assert codec.css_charset(body, content_type) == expected


async def test_a_page_whose_meta_names_utf16_through_the_proxy(serve, proxy, http):
    from aiohttp import web

    body = ASCII_PAGE.format(label="unicode").encode()

    async def page(request):
        return web.Response(body=body, headers={"Content-Type": "text/html"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    proxied = await proxy(await serve(app))
    async with http.get(proxied + "/-/trad/x.html") as response:
        text = await response.text()
    assert "Notice" in text and "a11y-proxy-skip" in text  # rewritten from the page's text, not UTF-16 garbage


# --- the replacement encoding -----------------------------------------------------------------------------

REPLACEMENT_LABELS = ["hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr", "csiso2022kr", "replacement"]


@pytest.mark.parametrize("label", REPLACEMENT_LABELS)
def test_replacement_labels_are_undecodable(label):
    """The issue: LookupError('unknown encoding: replacement') inside the transform, logged as a bug.  Browsers
    decode such a page to one U+FFFD (WHATWG Encoding, replacement decoder): nothing to rewrite."""
    page = f"<!DOCTYPE html><title>t</title>{NOTICE}".encode("gb18030")
    assert codec.sniff_charset(page, f"text/html; charset={label}") == ("replacement", "header")
    with pytest.raises(codec.ReplacementEncoding):
        codec.sniff_and_decode(page, f"text/html; charset={label}")
    with pytest.raises(codec.UndecodableBody):
        codec.sniff_and_decode(f'<meta charset="{label}"><p>x</p>'.encode(), "text/html")
    with pytest.raises(codec.UndecodableBody):
        codec.css_decode(b"a { color: red }", f"text/css; charset={label}")
    with pytest.raises(codec.UndecodableBody):
        codec.css_decode(f'@charset "{label}"; a {{ color: red }}'.encode(), "text/css")
    assert codec.decode(page, "replacement") == "\ufffd" and codec.decode(b"", "replacement") == ""
    assert codec.sniff_and_decode(b"", f"text/html; charset={label}") == ("", "replacement")  # empty stays empty


async def test_a_replacement_page_goes_through_untransformed(serve, proxy, http, caplog):
    import logging

    from aiohttp import web

    body = f"<!DOCTYPE html><title>t</title>{NOTICE}".encode("gb18030")

    async def page(request):
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=hz-gb-2312"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    proxied = await proxy(await serve(app))
    with caplog.at_level(logging.INFO):
        async with http.get(proxied + "/-/trad/x.html") as response:
            assert response.status == 200 and await response.read() == body  # as sent: the browser shows U+FFFD
    assert not any(record.levelno >= logging.WARNING for record in caplog.records), caplog.records
    assert any("replacement" in record.getMessage() for record in caplog.records)
