"""An upstream that lies, breaks and bombs, as raw bytes on loopback, and request smuggling from the reader's
side: every case gets a defined result (a status, a log line, a metric) and nothing is cut silently."""
from __future__ import annotations

import asyncio
import gzip
import zlib

import brotli
import pytest
from aiohttp import web

PARAGRAPHS = "".join(f"<p>第{i}段 政务公开</p>" for i in range(2000))
PAGE = f"<!DOCTYPE html><html><head><meta charset=utf-8><title>长页</title></head><body>{PARAGRAPHS}<footer>页脚</footer></body></html>"
PAGE_BYTES = PAGE.encode()


class RawUpstream:
    """A TCP server that answers each connection with whatever bytes a test scripted (then closes)."""

    def __init__(self) -> None:
        self.script: bytes | None = None
        self.actions: list = []
        self.requests: list[bytes] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            for action in self.actions:
                if isinstance(action, bytes):
                    writer.write(action)
                    await writer.drain()
                elif action == "reset":
                    writer.transport.abort()
                    return
                elif isinstance(action, (int, float)):
                    await asyncio.sleep(action)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def raw_upstream():
    upstream = RawUpstream()
    yield upstream, await upstream.start()
    await upstream.close()


def response_head(length: int | None, extra: str = "", content_type: str | None = "text/html; charset=utf-8") -> bytes:
    """A response head; content_type None sends none (an untyped response)."""
    lines = ["HTTP/1.1 200 OK", "Connection: close"] + ([f"Content-Type: {content_type}"] if content_type else [])
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_upstream_reset_before_headers_gives_an_accessible_502(raw_upstream, proxy, http):
    upstream, url = raw_upstream
    upstream.actions = ["reset"]
    proxied = await proxy(url)
    async with http.get(proxied + "/-/trad/x.html") as response:
        assert response.status == 502
        text = await response.text()
    assert "<main" in text and 'lang="zh-Hant' in text


async def test_page_shorter_than_its_content_length_is_never_sent_as_whole(raw_upstream, proxy, http):
    upstream, url = raw_upstream
    upstream.actions = [response_head(len(PAGE_BYTES)), PAGE_BYTES[:len(PAGE_BYTES) // 2]]
    proxied = await proxy(url)
    async with http.get(proxied + "/x.html") as response:
        assert response.status == 502  # the page broke off: say so, never a short page that looks whole
        assert "第1999段" not in await response.text()


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
async def test_truncated_compressed_page_goes_out_as_the_upstream_sent_it(raw_upstream, proxy, http, coding):
    upstream, url = raw_upstream
    packed = {"gzip": lambda b: gzip.compress(b), "deflate": zlib.compress, "br": brotli.compress}[coding](PAGE_BYTES)
    cut = packed[: len(packed) * 2 // 3]
    upstream.actions = [response_head(len(cut), f"Content-Encoding: {coding}"), cut]
    proxied = await proxy(url)
    async with http.get(proxied + "/x.html", headers={"Accept-Encoding": "gzip, deflate, br"}) as response:
        assert response.status == 200
        assert response.headers["Content-Encoding"] == coding
        assert await response.read() == cut  # byte for byte: the browser sees the same broken body it would have


async def test_two_member_gzip_page_is_rewritten_whole(raw_upstream, proxy, http):
    upstream, url = raw_upstream
    half = len(PAGE_BYTES) // 2
    packed = gzip.compress(PAGE_BYTES[:half]) + gzip.compress(PAGE_BYTES[half:])
    upstream.actions = [response_head(len(packed), "Content-Encoding: gzip"), packed]
    proxied = await proxy(url)
    async with http.get(proxied + "/x.html") as response:
        text = await response.text()
    assert "第1999段" in text and "页脚" in text and "a11y-proxy-skip" in text


async def test_gzip_bomb_is_not_inflated(raw_upstream, proxy, http):
    upstream, url = raw_upstream
    bomb = gzip.compress(b"<p>" + b"A" * (64 * 1024 * 1024))  # 64 MiB of text in ~64 KB
    upstream.actions = [response_head(len(bomb), "Content-Encoding: gzip"), bomb]
    proxied = await proxy(url)
    async with http.get(proxied + "/x.html", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status == 200 and await response.read() == bomb


async def test_upstream_that_stalls_mid_page_gives_504(raw_upstream, proxy, http):
    from proxy.settings import Timeouts
    upstream, url = raw_upstream
    upstream.actions = [response_head(len(PAGE_BYTES)), PAGE_BYTES[:1000], 5]
    proxied = await proxy(url, timeouts=Timeouts(read=0.5))
    async with http.get(proxied + "/x.html") as response:
        assert response.status == 504


async def test_huge_attribute_and_many_attributes_still_transform(raw_upstream, proxy, http):
    upstream, url = raw_upstream
    attrs = " ".join(f"data-a{i}=v" for i in range(5000))
    body = (f'<!DOCTYPE html><html><head><title>t</title></head><body><div title="{"长" * 2_000_000}">正文</div>'
            f"<p {attrs}>段落</p><footer>页脚</footer></body></html>").encode()
    upstream.actions = [response_head(len(body)), body]
    proxied = await proxy(url)
    async with http.get(proxied + "/-/trad/x.html") as response:
        text = await response.text()
    assert "頁腳" in text and "段落" in text and "a11y-proxy-skip" in text


async def test_lying_content_type_on_a_binary_is_streamed(raw_upstream, proxy, http):
    upstream, url = raw_upstream
    blob = bytes(range(256)) * 4096
    upstream.actions = [response_head(len(blob), content_type="text/html"), blob]
    proxied = await proxy(url)
    async with http.get(proxied + "/x.html") as response:
        assert response.status == 200
        body = await response.read()
    assert len(body) > 0  # decoded as best it can (the browser would do the same); never an error


# --- request smuggling: what the reader sends is never reinterpreted on the way to the upstream -------------

async def smuggle(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()


@pytest.mark.parametrize("request_bytes", [
    b"POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd",
    b"POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    b"POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n folded: header\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\nX-Bare-LF: 1\r\n\r\n",
])
async def test_smuggling_attempts_are_refused(serve, proxy, request_bytes):
    seen = []

    async def anything(request: web.Request) -> web.Response:
        seen.append(request.path)
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    proxied = await proxy(await serve(app))
    answer = await smuggle(int(proxied.rsplit(":", 1)[1]), request_bytes)
    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer[:200]
    assert "/smuggled" not in seen


async def test_malformed_link_urls_do_not_stop_the_page(raw_upstream, proxy, http):
    upstream, url = raw_upstream
    body = ('<!DOCTYPE html><html><head><title>t</title></head><body><a href="//][@">甲</a>'
            '<a href="http://][@127.0.0.1/">乙</a><img src="//[::1"><p>国家</p></body></html>').encode()
    upstream.actions = [response_head(len(body), "Location: //][@"), body]
    proxied = await proxy(url)
    async with http.get(proxied + "/-/trad/x.html") as response:
        text = await response.text()
    assert "國家" in text and "a11y-proxy-skip" in text and 'href="//][@"' in text


async def test_a_body_gzipped_twice_on_two_header_lines_is_decoded_twice(raw_upstream, proxy, http):
    """Content-Encoding on two lines is one list (RFC 9110 section 5.3): gzip, then gzip again."""
    upstream, url = raw_upstream
    packed = gzip.compress(gzip.compress(PAGE_BYTES))
    upstream.actions = [response_head(len(packed), "Content-Encoding: gzip\r\nContent-Encoding: gzip"), packed]
    proxied = await proxy(url)
    async with http.get(proxied + "/x.html") as response:
        text = await response.text()
    assert "第1999段" in text and "a11y-proxy-skip" in text


@pytest.mark.parametrize("ending", ["stall", "close"])
async def test_an_untyped_response_that_breaks_before_its_first_bytes_gets_our_error_page(raw_upstream, proxy, http,
                                                                                          ending):
    from proxy.settings import Timeouts
    upstream, url = raw_upstream
    upstream.actions = [response_head(100, content_type=None)] + ([5] if ending == "stall" else [])
    proxied = await proxy(url, timeouts=Timeouts(read=0.5))
    async with http.get(proxied + "/export") as response:  # a page-like path: the first bytes decide
        assert response.status == (504 if ending == "stall" else 502)
        assert "<main" in await response.text()  # the proxy's own accessible error page


async def test_the_memory_budget_holds_what_decompression_makes(serve, proxy, http):
    """Six 17 KB gzip pages of 7 MB each under a 1 MiB budget: held as 7 MB each, so they stream as sent (the
    budget counted 17 KB each, and all six were rewritten at once: 260 MiB more memory)."""
    from proxy.settings import Limits
    text = "<!DOCTYPE html><html><head><title>t</title></head><body>" + \
        "".join(f"<div><p>{'政务公开' * 1000}{i}</p></div>" for i in range(600)) + "</body></html>"
    packed = gzip.compress(text.encode())

    async def handler(request):
        return web.Response(body=packed, headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    proxied = await proxy(await serve(app), limits=Limits(transform_memory_bytes=1024 * 1024))
    async with http.get(proxied + "/-/trad/p.html", headers={"Accept-Encoding": "gzip"}) as response:
        assert await response.read() == packed and response.headers["Cache-Control"] == "no-store"
    async with http.get(proxied + "/-/metrics") as response:
        metrics = await response.text()
    assert 'a11y_proxy_responses_total{outcome="stream-memory"} 1.0' in metrics
    assert "a11y_proxy_transform_bytes_held 0.0" in metrics  # everything taken was given back
