"""A busy, hostile day on loopback: slow readers and slow writers beside ordinary readers, script-fetched
fragments, untyped downloads, pages over the time and memory budgets, oversized headers, and the log lines
and metrics each case leaves.  Every loop is bounded in count and time."""
from __future__ import annotations

import asyncio
import logging
import statistics
import time

import aiohttp
import pytest
from aiohttp import web

from proxy.settings import Limits, Timeouts

BIG = 48 * 1024 * 1024  # more than loopback's socket buffers hold, so a reader who never reads stalls the sender
CHUNK = b"x" * (256 * 1024)
PAGE = ("<!DOCTYPE html><html lang=zh-CN><head><meta charset=utf-8><title>首页</title></head><body>"
        "<div class=nav><a href=/a.html>国家政策</a></div><div class=content><h1>通知</h1><p>来源：市政府</p></div>"
        "</body></html>")
FRAGMENT = '<li><a href="/a.html" title="国家">国家发展</a><span>2024-01-02</span></li><li><a href="/b.html">来源</a></li>'


def upstream_app(seen: list) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)

    async def page(request: web.Request) -> web.Response:
        seen.append((request.method, request.path))
        return web.Response(text=PAGE, content_type="text/html")

    async def cacheable(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html", headers={
            "ETag": '"p1"', "Last-Modified": "Mon, 07 Dec 2026 00:00:00 GMT", "Cache-Control": "public, max-age=600"})

    async def fragment(request: web.Request) -> web.Response:
        return web.Response(text=FRAGMENT, content_type="text/html")

    async def big(request: web.Request) -> web.StreamResponse:
        seen.append((request.method, request.path))
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream",
                                               "Content-Length": str(BIG)})
        await response.prepare(request)
        try:
            for _ in range(BIG // len(CHUNK)):
                await response.write(CHUNK)
        except ConnectionError:  # the proxy hung up on a reader who went away: nothing to report here
            pass
        return response

    async def export(request: web.Request) -> web.StreamResponse:
        # An untyped download at a page-like path, whose bytes trickle: the reader must see the first at once.
        response = web.StreamResponse()
        response.content_type = "application/octet-stream"
        await response.prepare(request)
        await response.write(b"PK\x03\x04 first bytes of a spreadsheet")
        await asyncio.sleep(3)
        await response.write(b"the rest")
        return response

    async def post(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append((request.method, request.path, len(body)))
        return web.Response(text=f"got {len(body)}")

    async def stall(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(30)
        return web.Response(text="late")

    app.router.add_get("/", page)
    app.router.add_get("/a.html", page)
    app.router.add_get("/cacheable.html", cacheable)
    app.router.add_get("/list.html", fragment)
    app.router.add_get("/big.bin", big)
    app.router.add_get("/export", export)
    app.router.add_post("/form", post)
    app.router.add_get("/stall.html", stall)
    app.router.add_get("/{tail:[\\s\\S]*}", page)
    return app


@pytest.fixture
async def site(serve, proxy):
    seen: list = []
    upstream = await serve(upstream_app(seen))
    return upstream, seen


async def raw_request(port: int, head: str, body: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1024)
    writer.write(head.encode("latin-1") + body)
    await writer.drain()
    return reader, writer


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def timed_gets(http: aiohttp.ClientSession, url: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.monotonic()
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
            assert response.status == 200
            await response.read()
        times.append(time.monotonic() - started)
    return times


# --- slow clients cost their own connection, not everyone's ------------------------------------------------

async def test_ordinary_readers_unhurt_by_100_slow_readers_and_100_slow_writers(site, proxy, http):
    upstream, seen = site
    proxied = await proxy(upstream)  # default settings: what an operator gets
    port = port_of(proxied)
    hangers = []
    for _ in range(100):  # readers who ask for a large download and never read it
        hangers.append(await raw_request(port, "GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    for _ in range(100):  # writers who announce a form and send one byte of it
        hangers.append(await raw_request(
            port, "POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                  "Content-Length: 1000\r\n\r\n", b"q"))
    try:
        await asyncio.sleep(1.0)  # let every download fill the pipes and stall
        times = await timed_gets(http, proxied + "/a.html", 40)
        times.sort()
        p99 = times[int(len(times) * 0.99) - 1]
        print(f"ordinary requests beside 200 slow clients: p50 {times[len(times) // 2]:.3f} s, p99 {p99:.3f} s")
        assert p99 < 1.0, times
        assert not [s for s in seen if s[0] == "POST"], "a slow writer's request reached the upstream"
    finally:
        for _, writer in hangers:
            writer.close()


async def test_slow_writers_take_no_upstream_connection(site, proxy, http):
    upstream, seen = site
    proxied = await proxy(upstream, limits=Limits(upstream_connections=2))
    hangers = [await raw_request(port_of(proxied),
                                 "POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n\r\n", b"a=1")
               for _ in range(10)]
    try:
        times = await timed_gets(http, proxied + "/a.html", 5)
        assert max(times) < 2.0
        # A writer who finishes is forwarded whole.
        reader, writer = hangers[0]
        writer.write(b"x" * 47)
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 5)
        assert status.startswith(b"HTTP/1.1 200")
        assert ("POST", "/form", 50) in seen
    finally:
        for _, writer in hangers:
            writer.close()


async def test_stalled_request_body_gets_408_and_is_counted(site, proxy, http, caplog):
    upstream, seen = site
    proxied = await proxy(upstream, timeouts=Timeouts(client_body=0.5))
    # (the path as sent, escaped: decoded, '%0A' would start a forged line in the text log)
    forged = "/form%0A2026-12-07%2009:00:00,000%20ERROR%20proxy.server:%20FORGED%1b[2J"
    reader, writer = await raw_request(port_of(proxied),
                                       f"POST {forged} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n", b"a")
    try:
        with caplog.at_level(logging.INFO, logger="proxy.forward"):
            status = await asyncio.wait_for(reader.readline(), 5)
        assert status.startswith(b"HTTP/1.1 408")
        lines = [r.getMessage() for r in caplog.records if "timeouts.client_body" in r.getMessage()]
        assert lines and lines[0].startswith(forged) and "\n" not in lines[0] and "\x1b" not in lines[0]
    finally:
        writer.close()
    assert not [s for s in seen if s[0] == "POST"]
    async with http.get(proxied + "/-/metrics") as response:
        assert 'a11y_proxy_client_timeouts_total{kind="body"} 1.0' in await response.text()


async def test_large_upload_streams_and_arrives_whole(site, proxy, http):
    upstream, seen = site
    proxied = await proxy(upstream, limits=Limits(request_buffer_bytes=64 * 1024))
    body = b"y" * (3 * 1024 * 1024 + 5)

    async def chunks():
        for start in range(0, len(body), 100_000):
            yield body[start:start + 100_000]

    async with http.post(proxied + "/form", data=chunks()) as response:  # chunked: no length known ahead
        assert response.status == 200 and await response.text() == f"got {len(body)}"
    async with http.post(proxied + "/form", data=body) as response:
        assert await response.text() == f"got {len(body)}"


async def test_reader_who_stops_reading_is_hung_up_on_and_frees_the_upstream(site, proxy, http, caplog):
    upstream, seen = site
    proxied = await proxy(upstream, limits=Limits(upstream_connections=2), timeouts=Timeouts(client_send=1.0))
    hangers = [await raw_request(port_of(proxied), "GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
               for _ in range(2)]
    try:
        with caplog.at_level(logging.INFO, logger="proxy.forward"):
            await asyncio.sleep(3.0)  # the pool is held by the two, until client_send hangs up on them
            times = await timed_gets(http, proxied + "/a.html", 3)
        assert max(times) < 2.0
        assert any("timeouts.client_send" in r.getMessage() for r in caplog.records)
    finally:
        for _, writer in hangers:
            writer.close()
    async with http.get(proxied + "/-/metrics") as response:
        assert 'a11y_proxy_client_timeouts_total{kind="send"} 2.0' in await response.text()


async def test_small_responses_free_the_upstream_before_a_slow_reader_takes_them(serve, proxy, http):
    # 600 KB responses fit the read-ahead: readers who never read them hold no upstream connection.
    payload = b"z" * 600_000

    async def medium(request):
        return web.Response(body=payload, content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/m.bin", medium)
    async def ok(request):
        return web.Response(text="ok")

    app.router.add_get("/ok", ok)
    proxied = await proxy(await serve(app), limits=Limits(upstream_connections=2))
    hangers = [await raw_request(port_of(proxied), "GET /m.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
               for _ in range(6)]
    try:
        await asyncio.sleep(0.5)
        times = await timed_gets(http, proxied + "/ok", 3)
        assert max(times) < 2.0
    finally:
        for _, writer in hangers:
            writer.close()


async def test_connection_that_never_finishes_its_headers_is_closed(site, proxy):
    upstream, _ = site
    proxied = await proxy(upstream, timeouts=Timeouts(client_idle=0.5))
    reader, writer = await raw_request(port_of(proxied), "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    started = time.monotonic()
    data = await asyncio.wait_for(reader.read(), 5)  # EOF: the proxy hung up
    assert data == b"" and time.monotonic() - started < 3
    writer.close()


# --- fragments a page's script fetches stay fragments ----------------------------------------------------

@pytest.mark.parametrize("headers", [{"X-Requested-With": "XMLHttpRequest"}, {"Sec-Fetch-Dest": "empty"}, {}])
@pytest.mark.parametrize("modes", ["", "/-/trad", "/-/trad+elder+contrast", "/-/reader", "/-/elder"])
async def test_fragment_stays_a_fragment(site, proxy, http, headers, modes):
    upstream, _ = site
    proxied = await proxy(upstream)
    async with http.get(proxied + modes + "/list.html", headers=headers) as response:
        assert response.status == 200
        text = await response.text()
        assert "X-Requested-With" in response.headers["Vary"] and "Sec-Fetch-Dest" in response.headers["Vary"]
    for added in ("<html", "<head", "<body", "a11y-proxy", "role=", "<main", "<meta", "<link", "<style"):
        assert added not in text, (added, text)
    if "trad" in modes:
        expected = FRAGMENT.replace("国家", "國家").replace("发展", "發展").replace("来源", "來源")
    else:
        expected = FRAGMENT
    expected = expected.replace('href="/', f'href="{modes}/') if modes else expected
    assert text == expected


async def test_whole_page_fetched_by_script_gets_no_toolbar_but_is_converted(site, proxy, http):
    upstream, _ = site
    proxied = await proxy(upstream)
    async with http.get(proxied + "/-/trad+elder/a.html", headers={"X-Requested-With": "XMLHttpRequest"}) as response:
        text = await response.text()
    assert "國家政策" in text and "a11y-proxy-toolbar" not in text and "a11y-proxy-skip" not in text
    async with http.get(proxied + "/-/trad+elder/a.html") as response:  # the same page, navigated to
        assert "a11y-proxy-toolbar" in await response.text()


# --- downloads are never held ------------------------------------------------------------------------------

async def test_untyped_download_shows_its_first_bytes_at_once(site, proxy, http):
    upstream, _ = site
    proxied = await proxy(upstream)
    started = time.monotonic()
    async with http.get(proxied + "/export") as response:
        first = await asyncio.wait_for(response.content.readany(), 2)
        assert first.startswith(b"PK\x03\x04") and time.monotonic() - started < 2
        rest = await response.read()
    assert first + rest == b"PK\x03\x04 first bytes of a spreadsheetthe rest"


# --- time and memory budgets -------------------------------------------------------------------------------

async def test_page_over_the_time_budget_goes_out_as_sent(site, proxy, http, caplog):
    upstream, _ = site
    proxied = await proxy(upstream, timeouts=Timeouts(transform=1e-6))
    with caplog.at_level(logging.WARNING, logger="proxy.forward"):
        async with http.get(proxied + "/-/trad/a.html") as response:
            assert response.status == 200 and await response.text() == PAGE
    assert any("timeouts.transform" in r.getMessage() for r in caplog.records)
    async with http.get(proxied + "/-/metrics") as response:
        assert 'a11y_proxy_responses_total{outcome="passthrough-budget"} 1.0' in await response.text()
    # Untransformed for this moment's sake: no cache keeps it, and no upstream validator confirms it later.
    async with http.get(proxied + "/-/trad/cacheable.html") as response:
        assert await response.text() == PAGE and not_for_keeping(response.headers)


async def test_memory_budget_streams_pages_untransformed_when_full(site, proxy, http):
    upstream, _ = site
    proxied = await proxy(upstream, limits=Limits(transform_memory_bytes=100))
    async with http.get(proxied + "/a.html") as response:
        assert await response.text() == PAGE  # over the budget: as the upstream sent it
    async with http.get(proxied + "/-/metrics") as response:
        text = await response.text()
    assert 'a11y_proxy_responses_total{outcome="stream-memory"} 1.0' in text
    assert "a11y_proxy_transform_bytes_held 0.0" in text  # everything taken was given back
    async with http.get(proxied + "/cacheable.html") as response:
        assert await response.text() == PAGE and not_for_keeping(response.headers)


async def test_a_transform_that_fails_sends_the_page_as_sent(site, proxy, http, monkeypatch, caplog):
    from proxy.pipeline import Pipeline

    def broken(self, html, page):
        raise RuntimeError("a bug of ours")

    upstream, _ = site
    proxied = await proxy(upstream)
    monkeypatch.setattr(Pipeline, "render", broken)
    with caplog.at_level(logging.ERROR, logger="proxy.forward"):
        async with http.get(proxied + "/-/trad/cacheable.html") as response:
            assert response.status == 200 and await response.text() == PAGE
            assert not_for_keeping(response.headers)
    assert any("transform failed" in r.getMessage() and r.exc_info for r in caplog.records)
    async with http.get(proxied + "/-/metrics") as response:
        assert 'a11y_proxy_responses_total{outcome="passthrough-error"} 1.0' in await response.text()


def not_for_keeping(headers) -> bool:
    return headers.get("Cache-Control") == "no-store" and "ETag" not in headers and "Last-Modified" not in headers


# --- request heads, odd paths, logs ------------------------------------------------------------------------

async def test_oversized_request_headers_get_431(site, proxy, http):
    upstream, seen = site
    proxied = await proxy(upstream)
    headers = {f"X-Filler-{i}": "v" * 4000 for i in range(10)}  # 40 KB in all, each line legal
    async with http.get(proxied + "/a.html", headers=headers) as response:
        assert response.status == 431
        assert "<main" in await response.text()
    async with http.get(proxied + "/a.html", headers={"X-Huge": "v" * 20000}) as response:
        assert response.status in (400, 431)  # one line over 8 KiB: refused by the parser
    assert ("GET", "/a.html") not in seen


async def test_encoded_newline_in_path_reaches_the_upstream(site, proxy, http):
    upstream, seen = site
    proxied = await proxy(upstream)
    async with http.get(proxied + "/x%0Ay.html") as response:
        assert response.status == 200
    assert ("GET", "/x\ny.html") in seen


async def test_metrics_allow_list_and_debug_view_switch(site, proxy, http):
    import ipaddress
    upstream, _ = site
    closed = await proxy(upstream, metrics_allow=(ipaddress.ip_network("10.0.0.0/8"),), debug_view=False)
    async with http.get(closed + "/-/metrics") as response:
        assert response.status == 403
    async with http.get(closed + "/-/debug/a.html") as response:
        assert response.status == 404
    opened = await proxy(upstream, metrics_allow=(ipaddress.ip_network("127.0.0.0/8"),))
    async with http.get(opened + "/-/metrics") as response:
        assert response.status == 200
    async with http.get(opened + "/-/debug/a.html") as response:
        assert response.status == 200
    # Behind a trusted front named in metrics_allow, what counts is the address the front relays for.
    front = ipaddress.ip_network("127.0.0.0/8")
    relayed = await proxy(upstream, metrics_allow=(front, ipaddress.ip_network("10.9.0.0/16")), trusted_proxies=(front,))
    for forwarded, status in (("203.0.113.9", 403), ("10.9.0.5, 203.0.113.9", 403), ("203.0.113.9, 10.9.0.5", 200),
                              (None, 200)):  # (None: the front itself asks, or a scraper inside the allowed network)
        async with http.get(relayed + "/-/metrics", headers={"X-Forwarded-For": forwarded} if forwarded else {}) as r:
            assert r.status == status, forwarded
    untrusted = await proxy(upstream, metrics_allow=(front,))
    async with http.get(untrusted + "/-/metrics", headers={"X-Forwarded-For": "203.0.113.9"}) as response:
        assert response.status == 200  # (from a peer that is not a trusted front, the header means nothing)


async def test_get_head_and_304_of_a_page_vary_alike(serve, proxy, http):
    async def page(request):
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(text=PAGE, content_type="text/html", headers={
            "ETag": '"v1"', "Last-Modified": "Mon, 07 Dec 2026 00:00:00 GMT", "Accept-Ranges": "bytes"})

    app = web.Application()
    app.router.add_route("*", "/p.html", page)
    proxied = await proxy(await serve(app))
    described = ("Vary", "ETag", "Last-Modified", "Accept-Ranges", "Content-Type", "Content-Encoding")
    for path in ("/p.html", "/-/trad/p.html"):
        async with http.get(proxied + path) as response:
            got = {name: response.headers.get(name) for name in described}
        async with http.head(proxied + path) as response:  # HEAD describes exactly what GET sends
            assert {name: response.headers.get(name) for name in described} == got, path
    vary, etag = got["Vary"], got["ETag"]
    proxied = proxied + "/-/trad"
    async with http.get(proxied + "/p.html", headers={"If-None-Match": etag}) as response:
        assert response.status == 304
        assert response.headers["Vary"] == vary and response.headers["ETag"] == etag


async def test_what_the_mode_cookie_may_rewrite_varies_on_it(serve, proxy, http):
    """Without a mode prefix the cookie chooses the modes: a stylesheet (elder, contrast) or the rules' trad.json
    data (Traditional) sent as it is to this reader is rewritten for another, so caches must key on Cookie;
    what no mode rewrites (an image, other JSON) need not."""
    from tests.conftest import ROOT

    async def static(request):
        name = request.match_info["name"]
        kind = {"css": "text/css", "json": "application/json", "png": "image/png"}[name.rsplit(".", 1)[1]]
        return web.Response(body=b"{}" if kind.endswith("json") else b"body { font-size: 12px }", content_type=kind)

    app = web.Application()
    app.router.add_get("/{name:.*}", static)
    proxied = await proxy(await serve(app), rules_dir=ROOT / "rules", upstream_aliases=("www.shifan.gov.cn",))
    for path, varies in (("/a.css", True), ("/api/list.json", True), ("/other.json", False), ("/logo.png", False)):
        async with http.get(proxied + path) as response:
            assert response.status == 200
            assert ("Cookie" in response.headers.get("Vary", "")) is varies, path


async def test_a_range_of_a_rewritten_page_is_the_whole_page(serve, proxy, http):
    """A Range request for a page the proxy rewrites gets the whole rewritten page (200): bytes of the page as
    the portal has it are no range of what this URL sends.  Ranges of what passes through stay ranges."""
    body = PAGE.encode()

    async def resource(request):
        kind = "text/html" if request.path.endswith(".html") else "application/pdf"
        asked = request.headers.get("Range")
        if asked:
            start, end = (int(n) for n in asked.split("=")[1].split("-"))
            return web.Response(status=206, body=body[start:end + 1], content_type=kind,
                                headers={"Content-Range": f"bytes {start}-{end}/{len(body)}", "ETag": '"r1"'})
        return web.Response(body=body, content_type=kind, headers={"ETag": '"r1"'})

    app = web.Application()
    app.router.add_get("/{name}", resource)
    proxied = await proxy(await serve(app))
    async with http.get(proxied + "/-/trad/p.html") as response:
        whole = await response.read()
    async with http.get(proxied + "/-/trad/p.html", headers={"Range": "bytes=0-99", "If-Range": '"r1"'}) as response:
        assert response.status == 200 and "Content-Range" not in response.headers and await response.read() == whole
    async with http.get(proxied + "/-/trad/file.pdf", headers={"Range": "bytes=0-99"}) as response:
        assert response.status == 206 and await response.read() == body[:100]


async def test_reader_cancelling_a_download_logs_no_error(site, proxy, caplog):
    upstream, _ = site
    proxied = await proxy(upstream)
    with caplog.at_level(logging.DEBUG):
        for _ in range(5):
            reader, writer = await raw_request(port_of(proxied), "GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            await reader.read(100_000)
            writer.transport.abort()  # RST, as a browser cancelling a download may
        await asyncio.sleep(0.5)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


async def test_upstream_timeout_before_headers_is_logged(site, proxy, http, caplog):
    upstream, _ = site
    proxied = await proxy(upstream, timeouts=Timeouts(read=0.5))
    with caplog.at_level(logging.WARNING, logger="proxy.forward"):
        async with http.get(proxied + "/stall.html") as response:
            assert response.status == 504
    assert any("no response within" in r.getMessage() for r in caplog.records)


async def test_accept_failures_are_counted_and_logged_once_per_interval(site, proxy, http, caplog):
    upstream, _ = site
    proxied = await proxy(upstream)
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()
    with caplog.at_level(logging.ERROR):
        for _ in range(1000):
            handler(loop, {"message": "socket.accept() out of system resource", "exception": OSError(24, "EMFILE")})
    lines = [r for r in caplog.records if "cannot accept" in r.getMessage()]
    assert len(lines) == 1
    async with http.get(proxied + "/-/metrics") as response:
        assert "a11y_proxy_accept_errors_total 1000.0" in await response.text()


async def test_ordinary_page_stays_fast_while_a_huge_page_transforms(serve, proxy, http):
    huge = "<!DOCTYPE html><html><head><title>图片</title></head><body>" + "".join(
        f'<a href="/p{i}.html"><img src="/i/{i}.png"></a>' for i in range(10_000)) + "</body></html>"

    async def big(request):
        return web.Response(text=huge, content_type="text/html")

    async def small(request):
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/huge.html", big)
    app.router.add_get("/a.html", small)
    proxied = await proxy(await serve(app))
    heavy = [asyncio.create_task(http.get(proxied + f"/-/trad+elder/huge.html?{i}")) for i in range(2)]
    await asyncio.sleep(0.2)  # both huge pages are in the pipeline now
    times = await timed_gets(http, proxied + "/-/trad+elder/a.html", 10)
    for task in heavy:
        response = await task
        assert response.status == 200
        await response.read()
        response.release()
    print("ordinary page latency while huge pages transform:", [round(t, 3) for t in times])
    assert statistics.median(times) < 1.0 and max(times) < 2.0, times


async def test_time_budget_counts_from_when_a_thread_takes_the_page_up(serve, proxy, http):
    # More pages at once than pipeline threads: the later ones wait for a thread longer than the budget, and
    # must still be rewritten (the budget is for the transforms, not for the queue).
    heavy = "<!DOCTYPE html><html><head><title>列表</title></head><body>" + "".join(
        f'<div class="item"><a href="/p{i}.html">第{i}条 国家政策</a><img src="/i/{i}.png"></div>'
        for i in range(1500)) + "</body></html>"

    async def page(request):
        return web.Response(text=heavy, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    proxied = await proxy(await serve(app), timeouts=Timeouts(transform=1.5))
    started = time.monotonic()
    responses = await asyncio.gather(*(http.get(proxied + f"/-/trad/list.html?{i}") for i in range(16)))
    texts = [await r.text() for r in responses]
    elapsed = time.monotonic() - started
    assert all("國家政策" in t for t in texts)
    async with http.get(proxied + "/-/metrics") as response:
        metrics = await response.text()
    assert 'outcome="passthrough-budget"' not in metrics
    print(f"16 heavy pages at once: {elapsed:.2f} s in all, none over the budget")
