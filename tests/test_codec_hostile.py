"""Content-encodings that do not end where their format says they end: cut bodies are never sent as whole
pages, every gzip member is read, bytes after a complete stream are ignored (as browsers ignore them), and
the zip-bomb bound holds across members.  decompress_prefix reads as much as the first bytes allow."""
from __future__ import annotations

import gzip
import random
import zlib

import brotli
import pytest
from aiohttp import web

from proxy.codec import UndecodableBody, decompress, decompress_prefix

LIMIT = 8 << 20
PAGE = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>长页</title></head><body>"
        + "".join(f"<p>第{i}段：关于做好冬季供暖工作的通知。</p>\n" for i in range(2000))
        + "<div class='footer'>页脚 网站标识码</div></body></html>").encode()


def deflate(data: bytes, raw: bool = False) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODED = {
    "gzip": ("gzip", gzip.compress(PAGE)),
    "x-gzip": ("x-gzip", gzip.compress(PAGE, compresslevel=1)),
    "deflate": ("deflate", deflate(PAGE)),
    "raw deflate": ("deflate", deflate(PAGE, raw=True)),
    "br": ("br", brotli.compress(PAGE)),
}


def cut_points(size: int) -> list[int]:
    return sorted({1, 2, 3, 9, 10, 11, 20, size // 7, size // 3, size // 2, size - 20, size - 9, size - 8,
                   size - 5, size - 4, size - 1})


@pytest.mark.parametrize("name", ENCODED)
def test_whole_bodies_decode(name):
    coding, body = ENCODED[name]
    assert decompress(body, coding, LIMIT) == PAGE
    assert decompress_prefix(body, coding, LIMIT) == PAGE


@pytest.mark.parametrize("name", ENCODED)
def test_truncated_bodies_are_refused_at_every_cut(name):
    """The issue: a body cut short was decoded as far as it went and sent as a complete page."""
    coding, body = ENCODED[name]
    for cut in cut_points(len(body)):
        with pytest.raises(UndecodableBody):
            decompress(body[:cut], coding, LIMIT)


@pytest.mark.parametrize("name", ENCODED)
def test_prefix_decodes_what_the_first_bytes_hold(name):
    coding, body = ENCODED[name]
    sizes = []
    for cut in cut_points(len(body)):
        prefix = decompress_prefix(body[:cut], coding, LIMIT)
        assert PAGE.startswith(prefix)
        sizes.append(len(prefix))
    assert sizes == sorted(sizes) and sizes[-1] > len(PAGE) // 2  # grows with the bytes; most of it near the end
    assert decompress_prefix(body[:len(body) // 2], coding, 1024) == PAGE[:1024]  # never more than asked for


def test_gzip_of_two_members_is_read_whole():
    half = len(PAGE) // 2
    body = gzip.compress(PAGE[:half]) + gzip.compress(PAGE[half:])
    assert decompress(body, "gzip", LIMIT) == PAGE == gzip.decompress(body)
    many = b"".join(gzip.compress(PAGE[i:i + 5000]) for i in range(0, len(PAGE), 5000))
    assert decompress(many, "gzip", LIMIT) == PAGE
    assert decompress_prefix(body, "gzip", LIMIT) == PAGE


def test_second_member_cut_or_corrupt_is_refused():
    first, second = gzip.compress(PAGE[:1000]), gzip.compress(PAGE[1000:])
    for cut in (2, 10, len(second) // 2, len(second) - 1):
        with pytest.raises(UndecodableBody):
            decompress(first + second[:cut], "gzip", LIMIT)
    broken = bytearray(second)
    broken[len(broken) // 2] ^= 0xFF
    with pytest.raises(UndecodableBody):
        decompress(first + bytes(broken), "gzip", LIMIT)
    assert decompress_prefix(first + second[:10], "gzip", LIMIT) == PAGE[:1000]


@pytest.mark.parametrize("name", ENCODED)
@pytest.mark.parametrize("junk", [b"\n", b"\0" * 8, b"\r\n\r\n", b"<!-- cache: 3ms -->", random.Random(7).randbytes(3000)],
                         ids=["newline", "zeros", "crlf", "comment", "random"])
def test_bytes_after_a_complete_stream_are_ignored(name, junk):
    """Chromium (GzipSourceStream, BrotliSourceStream) and Firefox (nsHTTPCompressConv) drop them."""
    coding, body = ENCODED[name]
    if coding in ("gzip", "x-gzip") and junk.startswith(b"\x1f\x8b"):
        junk = b"x" + junk  # would start another member
    assert decompress(body + junk, coding, LIMIT) == PAGE
    assert decompress_prefix(body + junk, coding, LIMIT) == PAGE


def test_corrupt_bodies_are_refused():
    for name, (coding, body) in ENCODED.items():
        if name == "raw deflate":
            continue  # no checksum in the format: a changed byte can decode to other text, as in browsers
        broken = bytearray(body)
        broken[len(broken) // 2] ^= 0x55
        with pytest.raises(UndecodableBody):
            decompress(bytes(broken), coding, LIMIT)
        assert isinstance(decompress_prefix(bytes(broken), coding, LIMIT), bytes)  # whatever came before: no error
    for coding in ("gzip", "deflate", "br"):
        with pytest.raises(UndecodableBody):
            decompress(b"<html><body>not compressed at all</body></html>", coding, LIMIT)
        assert decompress_prefix(random.Random(11).randbytes(2000), coding, LIMIT) == b""
    with pytest.raises(UndecodableBody):
        decompress(b"\x1f\x8bnot really gzip", "gzip", LIMIT)


def test_bombs_are_refused_across_members_and_codings():
    zeros = b"\0" * (LIMIT // 4 + 1)
    members = gzip.compress(zeros) * 4  # each member under the limit, all four together over it
    assert len(decompress(gzip.compress(zeros) * 3, "gzip", LIMIT)) == 3 * len(zeros)
    with pytest.raises(UndecodableBody, match="beyond"):
        decompress(members, "gzip", LIMIT)
    big = b"\0" * (LIMIT + 1)
    for coding, body in (("gzip", gzip.compress(big)), ("deflate", deflate(big)), ("br", brotli.compress(big))):
        with pytest.raises(UndecodableBody, match="beyond"):
            decompress(body, coding, LIMIT)
        assert decompress_prefix(body, coding, 4096) == b"\0" * 4096
    exact = b"a" * LIMIT
    assert decompress(gzip.compress(exact), "gzip", LIMIT) == exact
    with pytest.raises(UndecodableBody, match="beyond"):  # a bomb inside a second coding layer
        decompress(gzip.compress(brotli.compress(big)), "br, gzip", LIMIT)


class _CountingInflater:
    """zlib.decompressobj that counts the input bytes it is handed."""

    def __init__(self, fed: list[int], *args):
        self._inflater, self._fed = _real_decompressobj(*args), fed

    def decompress(self, data, max_length=0):
        self._fed.append(len(data))
        return self._inflater.decompress(data, max_length)

    def __getattr__(self, name):  # eof, unused_data, unconsumed_tail
        return getattr(self._inflater, name)


_real_decompressobj = zlib.decompressobj
EMPTY_MEMBER = gzip.compress(b"", mtime=0)  # 20 bytes


def test_many_gzip_members_are_read_in_linear_time(monkeypatch):
    """The issue: each member was handed (and zlib copied into unused_data) all the bytes after it, so
    4 MiB of 20-byte members took 10.8 s on the event loop.  Each member's input now grows with the member."""
    body = gzip.compress(b"<p>x</p>") + EMPTY_MEMBER * 4000 + gzip.compress(PAGE)
    fed: list[int] = []
    monkeypatch.setattr(zlib, "decompressobj", lambda *args: _CountingInflater(fed, *args))
    # Bytes handed to zlib: a small multiple of the body (handing each member the rest was 2000 times it) ...
    assert decompress(body, "gzip", LIMIT) == b"<p>x</p>" + PAGE
    assert len(fed) < 4100 and sum(fed) < 20 * len(body)
    # ... and for sniffing (handed a first read, tens of KB), one 4 KiB step per member at most.
    fed.clear()
    assert decompress_prefix(body, "gzip", LIMIT) == b"<p>x</p>" + PAGE
    assert len(fed) < 4100 and max(fed) <= 4096
    monkeypatch.undo()
    for coding, limit in (("gzip", LIMIT), ("gzip", 100)):  # and the bound across members holds
        with pytest.raises(UndecodableBody, match="beyond" if limit == 100 else "truncated"):
            decompress(body[:-1] if limit == LIMIT else body, coding, limit)


def test_codings_in_order_empty_bodies_and_unknown_codings():
    body = gzip.compress(brotli.compress(PAGE))
    assert decompress(body, "br, gzip", LIMIT) == PAGE
    prefix = decompress_prefix(body[: len(body) // 2], "br, gzip", LIMIT)
    assert prefix and PAGE.startswith(prefix)
    assert decompress(PAGE, "identity", LIMIT) == PAGE == decompress(PAGE, None, LIMIT)
    assert decompress(b"", "gzip", LIMIT) == b"" and decompress(b"", "br", LIMIT) == b""
    with pytest.raises(UndecodableBody):
        decompress(PAGE, "zstd", LIMIT)
    assert decompress_prefix(PAGE, "zstd", LIMIT) == b""
    assert decompress_prefix(PAGE, "", LIMIT) == PAGE and decompress_prefix(b"", "gzip", LIMIT) == b""


# --- through the proxy: what the reader gets ---------------------------------------------------------------

def hostile_upstream() -> web.Application:
    routes = web.RouteTableDef()
    gz = gzip.compress(PAGE)
    html = {"Content-Type": "text/html; charset=utf-8"}

    @routes.get("/cut.html")
    async def cut(request):
        return web.Response(body=gz[: len(gz) // 2], headers={**html, "Content-Encoding": "gzip"})

    @routes.get("/cut-br.html")
    async def cut_br(request):
        br = brotli.compress(PAGE)
        return web.Response(body=br[: len(br) // 2], headers={**html, "Content-Encoding": "br"})

    @routes.get("/members.html")
    async def members(request):
        return web.Response(body=gzip.compress(PAGE[:30000]) + gzip.compress(PAGE[30000:]),
                            headers={**html, "Content-Encoding": "gzip"})

    @routes.get("/junk.html")
    async def junk(request):
        return web.Response(body=gz + b"\n\0\0junk", headers={**html, "Content-Encoding": "gzip"})

    app = web.Application()
    app.add_routes(routes)
    return app


async def test_through_the_proxy(serve, proxy, http):
    proxied = await proxy(await serve(hostile_upstream()))
    gz, br = gzip.compress(PAGE), brotli.compress(PAGE)
    for path, sent in (("/cut.html", gz[: len(gz) // 2]), ("/cut-br.html", br[: len(br) // 2])):
        async with http.get(proxied + path, headers={"Accept-Encoding": "gzip, br"}) as response:
            assert response.status == 200
            assert await response.read() == sent  # the upstream's bytes, untouched: never a cut page as whole
    for path in ("/members.html", "/junk.html"):
        async with http.get(proxied + path, headers={"Accept-Encoding": "identity"}) as response:
            body = (await response.read()).decode()
            assert "a11y-proxy-skip" in body  # transformed
            assert "第1999段" in body and "页脚 网站标识码" in body  # to the last paragraph and the footer
