"""The proxy against a real upstream aiohttp server, both on loopback: faithful forwarding, streaming,
cookies, redirects, encodings, charsets, failures, and the mode prefix."""
from __future__ import annotations

import asyncio
import sys
import gzip
import hashlib
import os
import re
import time
import zlib

import aiohttp
import brotli
import pytest
from aiohttp import web

from proxy.settings import Limits, PublicHost, Timeouts
from proxy import modes as modes_mod
from tests.harness import free_port

PDF_PATH = web.AppKey("pdf_path", object)
FILLER = "为深入贯彻落实党中央、国务院关于优化营商环境的决策部署，进一步提升政务服务水平。" * 20
BINARY = os.urandom(1024 * 1024 + 17)
PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>首页</title></head>
<body>
<a id="abs" href="{origin}/xxgk/list.html?page=2#top">列表</a>
<a id="root" href="/xxgk/art.html">文章</a>
<a id="rel" href="art2.html">相对</a>
<a id="third" href="https://www.gov.cn/zhengce/">中国政府网</a>
<img id="img" src="{origin}/images/logo.png">
<form id="form" action="/search" method="get"><input name="q"></form>
<p>欢迎访问</p>
<p>{filler}</p>
</body></html>
"""


def upstream_app() -> web.Application:
    """A small portal-like upstream exercising what the proxy must keep intact."""
    routes = web.RouteTableDef()

    @routes.get("/")
    async def home(request: web.Request) -> web.Response:
        origin = f"http://{request.host}"
        return web.Response(text=PAGE.format(origin=origin, filler=FILLER), content_type="text/html",
                            headers={"ETag": '"home-v1"', "Cache-Control": "max-age=60"})

    @routes.get("/etag.html")
    async def etag_page(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"e1"':
            return web.Response(status=304, headers={"ETag": '"e1"'})
        return web.Response(text="<p>版本一</p>", content_type="text/html", headers={"ETag": '"e1"'})

    @routes.get("/bin")
    async def binary(request: web.Request) -> web.StreamResponse:
        return web.Response(body=BINARY, content_type="application/octet-stream", headers={"ETag": '"bin1"'})

    @routes.get("/file.pdf")
    async def pdf(request: web.Request) -> web.FileResponse:
        return web.FileResponse(request.app[PDF_PATH])

    @routes.get("/huge")
    async def huge(request: web.Request) -> web.StreamResponse:
        # 200 MiB generated on the fly: neither side ever holds it whole.
        size = 200 * 1024 * 1024
        response = web.StreamResponse(headers={"Content-Type": "application/zip"})
        response.content_length = size
        await response.prepare(request)
        chunk = bytes(range(256)) * 1024
        sent = 0
        while sent < size:
            await response.write(chunk)
            sent += len(chunk)
        return response

    @routes.post("/echo-form")
    async def echo_form(request: web.Request) -> web.Response:
        form = await request.post()
        return web.json_response({k: form.getall(k) for k in form.keys()})

    @routes.post("/upload")
    async def upload(request: web.Request) -> web.Response:
        reader = await request.multipart()
        digests = {}
        async for part in reader:
            digest = hashlib.sha256()
            while chunk := await part.read_chunk(65536):
                digest.update(chunk)
            digests[part.name] = [part.filename, digest.hexdigest()]
        return web.json_response(digests)

    @routes.post("/raw")
    async def raw(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response({"sha256": hashlib.sha256(body).hexdigest(), "length": len(body),
                                  "content_length": request.headers.get("Content-Length"),
                                  "te": request.headers.get("Transfer-Encoding")})

    @routes.get("/headers")
    async def headers(request: web.Request) -> web.Response:
        return web.json_response(dict(request.headers))

    @routes.post("/login")
    async def login(request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("password") != "secret":
            return web.Response(status=403, text="no")
        response = web.HTTPFound(f"http://{request.host}/my?welcome=1")
        response.set_cookie("SID", "abc123", domain=request.host.split(":")[0], path="/my", httponly=True)
        response.headers.add("Set-Cookie", "pref=1; Path=/; Secure; SameSite=None")
        raise response

    @routes.get("/my")
    async def my(request: web.Request) -> web.Response:
        if request.cookies.get("SID") != "abc123":
            raise web.HTTPFound("/login")
        return web.Response(text="<p>欢迎您，张三</p>", content_type="text/html")

    @routes.get("/moved")
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://{request.host}/xxgk/new.html?a=1",
                            headers={"Refresh": f"0; url=http://{request.host}/r", "Content-Location": "/cl"})

    @routes.get("/away")
    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound("https://www.gov.cn/")

    @routes.get("/gzip.html")
    async def gzipped(request: web.Request) -> web.Response:
        body = gzip.compress(PAGE.format(origin=f"http://{request.host}", filler=FILLER).encode())
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"})

    @routes.get("/br.html")
    async def brotlied(request: web.Request) -> web.Response:
        body = brotli.compress(PAGE.format(origin=f"http://{request.host}", filler=FILLER).encode())
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "br"})

    @routes.get("/deflate.html")
    async def deflated(request: web.Request) -> web.Response:
        body = zlib.compress("<p>压缩</p>".encode())
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8",
                                                "Content-Encoding": "deflate"})

    @routes.get("/gz.js")
    async def gz_js(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(b"var a = 1;" * 100), headers={
            "Content-Type": "application/javascript", "Content-Encoding": "gzip"})

    @routes.get("/broken-gzip.html")
    async def broken_gzip(request: web.Request) -> web.Response:
        return web.Response(body=b"\x1f\x8bnot really gzip", headers={
            "Content-Type": "text/html", "Content-Encoding": "gzip"})

    @routes.get("/gbk.html")
    async def gbk(request: web.Request) -> web.Response:
        text = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
                "<title>通知公告</title></head><body><p>关于做好镕基项目申报工作的通知</p>"
                '<a id="q" href="/search?q=通知&amp;x=1">搜索</a></body></html>')
        return web.Response(body=text.encode("gb18030"), headers={"Content-Type": "text/html"})

    @routes.get("/bad-bytes.html")
    async def bad_bytes(request: web.Request) -> web.Response:
        return web.Response(body="<p>正常</p>".encode() + b"\xff\xfe\xfa" + "<p>之后</p>".encode(),
                            headers={"Content-Type": "text/html; charset=utf-8"})

    @routes.get("/mislabeled.html")
    async def mislabeled(request: web.Request) -> web.Response:
        return web.Response(body=b"<!DOCTYPE html><html><body><a href='/x'>x</a></body></html>",
                            headers={"Content-Type": "text/plain"})

    @routes.get("/big.html")
    async def big(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>" + "<p>大段文字</p>" * 5000 + "</body></html>",
                            content_type="text/html")

    @routes.get("/stall")
    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(text="late")

    @routes.get("/stall-body")
    async def stall_body(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        await response.write(b"<html><body>start")
        await asyncio.sleep(30)
        return response

    @routes.get("/xxgk/{name}")
    async def any_page(request: web.Request) -> web.Response:
        return web.Response(text=f"<p>{request.match_info['name']}</p><a href='/next.html'>下一篇</a>",
                            content_type="text/html")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.add_routes(routes)
    return app


@pytest.fixture
async def site(serve, proxy, tmp_path):
    app = upstream_app()
    pdf = tmp_path / "file.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + os.urandom(300_000) + b"\n%%EOF\n")
    app[PDF_PATH] = pdf
    upstream = await serve(app)
    return upstream, await proxy(upstream)


async def test_binary_is_byte_identical_with_headers(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/bin") as response:
        body = await response.read()
        assert response.status == 200
        assert body == BINARY
        assert response.headers["Content-Length"] == str(len(BINARY))
        assert response.headers["ETag"] == '"bin1"'
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert "a11y-proxy" in response.headers["Via"]


async def test_pdf_range_and_head(site, http):
    upstream, proxied = site
    async with http.get(upstream + "/file.pdf") as direct:
        original = await direct.read()
    async with http.get(proxied + "/file.pdf", headers={"Range": "bytes=100-199"}) as response:
        assert response.status == 206
        assert await response.read() == original[100:200]
        assert response.headers["Content-Range"] == f"bytes 100-199/{len(original)}"
    async with http.head(proxied + "/file.pdf") as response:
        assert response.status == 200
        assert response.headers["Content-Length"] == str(len(original))
        assert await response.read() == b""


async def test_gzip_non_html_passes_through_compressed(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/gz.js", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(await response.read()) == b"var a = 1;" * 100


async def test_200_mib_download_streams_with_bounded_memory(tmp_path, serve, http):
    """The proxy runs as its own process so its peak memory (VmHWM) is its alone."""
    upstream = await serve(upstream_app())
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "--log-level", "WARNING", "serve", "--workers", "1", "--upstream", upstream,
        "--listen", f"127.0.0.1:{port}", cwd=str(_root()))
    try:
        await _wait_healthy(http, f"http://127.0.0.1:{port}")
        baseline = _peak_rss_kib(process.pid)
        received = 0
        digest = hashlib.sha256()
        async with http.get(f"http://127.0.0.1:{port}/huge") as response:
            assert response.status == 200
            assert response.headers["Content-Length"] == str(200 * 1024 * 1024)
            async for chunk in response.content.iter_chunked(1 << 20):
                received += len(chunk)
                digest.update(chunk)
        assert received == 200 * 1024 * 1024
        expected = hashlib.sha256()
        chunk = bytes(range(256)) * 1024
        for _ in range(200 * 4):
            expected.update(chunk)
        assert digest.hexdigest() == expected.hexdigest()
        grown_mib = (_peak_rss_kib(process.pid) - baseline) / 1024
        assert grown_mib < 40, f"proxy peak memory grew by {grown_mib:.0f} MiB for a 200 MiB download"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_large_upload_streams_and_keeps_content_length(site, http):
    upstream, proxied = site
    payload = os.urandom(20 * 1024 * 1024)
    async with http.post(proxied + "/raw", data=payload, headers={"Content-Type": "application/octet-stream"}) as r:
        result = await r.json()
    assert result["sha256"] == hashlib.sha256(payload).hexdigest()
    assert result["content_length"] == str(len(payload))

    async def chunks():
        for i in range(0, len(payload), 1 << 20):
            yield payload[i:i + (1 << 20)]

    async with http.post(proxied + "/raw", data=chunks()) as r:  # chunked request body stays chunked
        result = await r.json()
    assert result["sha256"] == hashlib.sha256(payload).hexdigest()
    assert result["te"] == "chunked"


async def test_post_form_and_multipart_upload(site, http):
    upstream, proxied = site
    async with http.post(proxied + "/echo-form", data={"name": "张三", "tags": "甲"}) as response:
        assert await response.json() == {"name": ["张三"], "tags": ["甲"]}
    blob = os.urandom(3 * 1024 * 1024)

    def form() -> aiohttp.FormData:
        files = aiohttp.FormData()
        files.add_field("doc", blob, filename="申请表.pdf", content_type="application/pdf")
        files.add_field("note", "备注")
        return files

    async with http.post(proxied + "/upload", data=form()) as response:
        digests = await response.json()
    async with http.post(upstream + "/upload", data=form()) as response:
        assert digests == await response.json()  # the upstream sees exactly what a direct upload gives it
    assert digests["doc"][1] == hashlib.sha256(blob).hexdigest()
    assert digests["note"][1] == hashlib.sha256("备注".encode()).hexdigest()


async def test_login_flow_cookies_rewritten_and_forwarded(site, http):
    upstream, proxied = site
    async with http.post(proxied + "/login", data={"user": "z", "password": "secret"},
                         allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == "/my?welcome=1"  # upstream origin -> stays on the proxy
        cookies = response.headers.getall("Set-Cookie")
    sid = next(c for c in cookies if c.startswith("SID="))
    assert "Domain" not in sid  # upstream's domain is not ours; loopback gets a host-only cookie
    assert "Path=/" in sid and "Path=/my" not in sid  # reachable under mode prefixes too
    assert "HttpOnly" in sid
    pref = next(c for c in cookies if c.startswith("pref="))
    assert "Secure" not in pref and "SameSite=Lax" in pref  # plain-HTTP public side would drop a Secure cookie
    async with http.get(proxied + "/my") as response:
        assert response.status == 200
        assert "欢迎您" in (await response.read()).decode()
    async with http.get(proxied + "/-/trad/my") as response:  # same login under a mode prefix
        assert response.status == 200


async def test_cookie_domain_rewritten_to_public_host(serve, proxy, http):
    upstream = await serve(upstream_app())
    proxied = await proxy(upstream, public_hosts=(PublicHost("a11y.example.gov.cn"),))
    async with http.post(proxied + "/login", data={"password": "secret"}, allow_redirects=False,
                         headers={"Host": "a11y.example.gov.cn"}) as response:
        sid = next(c for c in response.headers.getall("Set-Cookie") if c.startswith("SID="))
    assert "Domain=a11y.example.gov.cn" in sid


async def test_request_headers_forwarded_without_hop_by_hop(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/headers", headers={
            "Connection": "keep-alive, X-Secret", "X-Secret": "drop me", "Keep-Alive": "timeout=5",
            "Proxy-Authorization": "Basic x", "X-Custom": "kept", "X-Forwarded-For": "6.6.6.6",
            "Cookie": "a11y_modes=trad; SID=1", "Accept-Encoding": "gzip, zstd"}) as response:
        seen = {k.lower(): v for k, v in (await response.json()).items()}
    assert seen["x-custom"] == "kept"
    for gone in ("x-secret", "keep-alive", "proxy-authorization"):
        assert gone not in seen
    assert seen["host"] == upstream.split("//")[1]
    assert seen["x-forwarded-for"] == "127.0.0.1"  # an untrusted client cannot forge the chain
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"].startswith("127.0.0.1:")
    assert "a11y-proxy" in seen["via"]
    assert seen["cookie"] == "SID=1"  # our mode cookie never reaches the upstream
    assert seen["accept-encoding"] == "gzip"  # only codings we can undo


async def test_trusted_front_extends_forwarded_chain(serve, proxy, http):
    import ipaddress
    upstream = await serve(upstream_app())
    proxied = await proxy(upstream, trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    async with http.get(proxied + "/headers", headers={"X-Forwarded-For": "203.0.113.9",
                                                       "X-Forwarded-Proto": "https"}) as response:
        seen = {k.lower(): v for k, v in (await response.json()).items()}
    assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "https"


async def test_redirect_headers_rewritten_and_third_party_kept(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/moved", allow_redirects=False) as response:
        assert response.headers["Location"] == "/xxgk/new.html?a=1"
        assert response.headers["Refresh"] == "0; url=/r"
        assert response.headers["Content-Location"] == "/cl"
    async with http.get(proxied + "/-/trad+elder/moved", allow_redirects=False) as response:
        assert response.headers["Location"] == "/-/trad+elder/xxgk/new.html?a=1"
    async with http.get(proxied + "/away", allow_redirects=False) as response:
        assert response.headers["Location"] == "https://www.gov.cn/"


def test_the_upstream_is_known_whichever_way_its_default_port_is_written():
    from yarl import URL

    from proxy.urls import UpstreamLinks

    here = URL("http://portal.gov.cn/a")
    for hosts in ({"portal.gov.cn"}, {"portal.gov.cn:80"}):  # the upstream configured without and with ':80'
        links = UpstreamLinks(hosts, "/-/trad")
        for value in ("http://portal.gov.cn/x", "http://portal.gov.cn:80/x", "//portal.gov.cn:80/x", "HTTP://Portal.gov.cn/x"):
            assert links.rewrite_location(value, here) == "/-/trad/x", (hosts, value)
            assert links.rewrite(value, navigational=True) == "/-/trad/x", (hosts, value)
        for value in ("http://portal.gov.cn:8080/x", "http://portal.gov.cn.evil/x", "http://evil/portal.gov.cn:80/"):
            assert links.rewrite_location(value, here) == value, (hosts, value)
    links = UpstreamLinks({"portal.gov.cn"}, "")
    assert links.rewrite_location("https://portal.gov.cn:443/x", here) == "/x"
    assert links.rewrite_location("https://portal.gov.cn:80/x", here) == "https://portal.gov.cn:80/x"
    assert UpstreamLinks({"portal.gov.cn:8080"}, "").rewrite("http://portal.gov.cn:8080/x", True) == "/x"


async def test_links_rewritten_and_prefix_kept(site, http):
    upstream, proxied = site
    plain = {"Accept-Encoding": "identity"}
    async with http.get(proxied + "/-/trad/", headers=plain) as response:
        html = (await response.read()).decode()
    assert 'id="abs" href="/-/trad/xxgk/list.html?page=2#top"' in html
    assert 'id="root" href="/-/trad/xxgk/art.html"' in html
    assert 'id="rel" href="art2.html"' in html  # resolves under the prefix by itself
    assert 'id="third" href="https://www.gov.cn/zhengce/"' in html
    assert 'id="img" src="/images/logo.png"' in html  # resources lose the origin but not gain a prefix
    assert 'action="/-/trad/search"' in html
    async with http.get(proxied + "/", headers=plain) as response:
        html = (await response.read()).decode()
    assert 'id="abs" href="/xxgk/list.html?page=2#top"' in html
    assert 'id="root" href="/xxgk/art.html"' in html


@pytest.mark.parametrize("path", ["/gzip.html", "/br.html"])
async def test_compressed_html_is_decoded_transformed_and_recompressed(site, http, path):
    upstream, proxied = site
    for accept, decode in (("br", brotli.decompress), ("gzip", gzip.decompress), ("identity", lambda b: b)):
        async with http.get(proxied + "/-/trad" + path, headers={"Accept-Encoding": accept}) as response:
            raw = await response.read()
            assert response.headers.get("Content-Encoding", "identity") == accept
            assert response.headers["Content-Length"] == str(len(raw))
            assert "Accept-Encoding" in response.headers["Vary"]
        html = decode(raw).decode()
        assert 'href="/-/trad/xxgk/art.html"' in html


async def test_deflate_and_broken_gzip(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/deflate.html", headers={"Accept-Encoding": "identity"}) as response:
        assert "压缩" in (await response.read()).decode()
    async with http.get(proxied + "/broken-gzip.html", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status == 200  # a broken page still reaches the reader, as sent
        assert await response.read() == b"\x1f\x8bnot really gzip"


async def test_gbk_page_decoded_and_sent_as_utf8(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/gbk.html") as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        html = (await response.read()).decode("utf-8")
    assert "<title>通知公告</title>" in html
    assert "关于做好镕基项目申报工作的通知" in html
    assert 'content="text/html; charset=utf-8"' in html
    assert "gb2312" not in html
    # The portal reads its queries in GBK, as the browser sent them from the GBK page.
    assert 'href="/search?q=%CD%A8%D6%AA&amp;x=1"' in html


async def test_undecodable_bytes_never_fail(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/bad-bytes.html") as response:
        assert response.status == 200
        html = (await response.read()).decode("utf-8")
    assert "正常" in html and "之后" in html


async def test_mislabeled_html_is_sniffed(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/-/trad/mislabeled.html") as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "href=\"/-/trad/x\"" in (await response.read()).decode()


async def test_html_over_limit_streams_untouched(serve, proxy, http):
    upstream = await serve(upstream_app())
    proxied = await proxy(upstream, limits=Limits(html_max_bytes=10_000))
    async with http.get(upstream + "/big.html") as direct:
        original = await direct.read()
    async with http.get(proxied + "/-/trad/big.html") as response:
        assert await response.read() == original


async def test_upstream_down_gives_accessible_502(proxy, http):
    proxied = await proxy(f"http://127.0.0.1:{free_port()}")
    async with http.get(proxied + "/-/trad/some/page.html") as response:
        assert response.status == 502
        html = (await response.read()).decode()
    assert '<html lang="zh-' in html
    assert re.search(r"<title>[^<]+</title>", html)
    assert html.count("<main") == 1
    assert 'href="/-/trad/some/page.html"' in html  # retry link keeps the reader's modes


async def test_stalled_upstream_gives_504_within_timeout(serve, proxy, http):
    upstream = await serve(upstream_app())
    proxied = await proxy(upstream, timeouts=Timeouts(connect=2, read=1, total=3))
    for path in ("/stall", "/stall-body"):
        started = time.monotonic()
        async with http.get(proxied + path) as response:
            assert response.status == 504, path
            assert "<main" in (await response.read()).decode()
        assert time.monotonic() - started < 3


async def test_open_proxy_requests_refused(site):
    upstream, proxied = site
    host, port = proxied.split("//")[1].split(":")
    for request in ("GET http://www.example.com/ HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: evil.example.com\r\n\r\n",
                    "GET / HTTP/1.1\r\n\r\n"):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request.encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        assert status_line.split()[1] in (b"400", b"421"), (request, status_line)


async def test_cookie_modes_redirect_navigations_not_xhr(site, http):
    upstream, proxied = site
    cookie = {"Cookie": "a11y_modes=trad+elder"}
    async with http.get(proxied + "/xxgk/a.html?x=1", allow_redirects=False,
                        headers={**cookie, "Accept": "text/html", "Sec-Fetch-Mode": "navigate"}) as response:
        assert response.status == 302
        assert response.headers["Location"] == "/-/trad+elder/xxgk/a.html?x=1"
        assert "Cookie" in response.headers["Vary"]
    async with http.get(proxied + "/xxgk/a.html", allow_redirects=False,
                        headers={**cookie, "Accept": "*/*", "Sec-Fetch-Mode": "cors"}) as response:
        assert response.status == 200
        assert "Cookie" in response.headers["Vary"]
    async with http.get(proxied + "/xxgk/a.html", allow_redirects=False,
                        headers={**cookie, "Accept": "text/html", "X-Requested-With": "XMLHttpRequest"}) as r:
        assert r.status == 200


async def test_toggle_sets_cookie_and_returns_to_same_page(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/-/toggle/trad?next=/xxgk/a.html%3Fp%3D2", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/-/trad/xxgk/a.html?p=2"
        cookie = response.headers["Set-Cookie"]
        assert "a11y_modes=trad" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    async with http.get(proxied + "/-/toggle/elder?next=/-/trad/xxgk/a.html", allow_redirects=False) as response:
        assert response.headers["Location"] == "/-/trad+elder/xxgk/a.html"
    async with http.get(proxied + "/-/toggle/trad?next=/-/trad+elder/x", allow_redirects=False) as response:
        assert response.headers["Location"] == "/-/elder/x"
    async with http.get(proxied + "/-/set/plain?next=/-/trad+elder/x", allow_redirects=False) as response:
        assert response.headers["Location"] == "/x"
        assert "a11y_modes=plain" in response.headers["Set-Cookie"]
    for evil in ("//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com", "javascript:alert(1)"):
        http.cookie_jar.clear()
        async with http.get(proxied + "/-/toggle/trad", params={"next": evil}, allow_redirects=False) as response:
            assert response.headers["Location"] == "/-/trad/", evil


async def test_prefix_is_canonical_and_unknown_modes_listed(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/-/elder+trad/x?y=1", allow_redirects=False) as response:
        assert response.status == 301
        assert response.headers["Location"] == "/-/trad+elder/x?y=1"
    async with http.get(proxied + "/-/plain/x", allow_redirects=False) as response:
        assert response.headers["Location"] == "/x"
    async with http.get(proxied + "/-/bigfont/x") as response:
        assert response.status == 404
        html = (await response.read()).decode()
    for token in modes_mod.all_tokens():
        assert f"<code>{token}</code>" in html


async def test_etag_distinct_per_mode_and_revalidates(site, http):
    upstream, proxied = site
    tags = {}
    for prefix in ("", "/-/trad", "/-/elder"):
        async with http.get(proxied + prefix + "/etag.html") as response:
            tags[prefix] = response.headers["ETag"]
    assert len(set(tags.values())) == 3
    for prefix, tag in tags.items():
        async with http.get(proxied + prefix + "/etag.html", headers={"If-None-Match": tag}) as response:
            assert response.status == 304
            assert response.headers["ETag"] == tag
    # Another mode's ETag must not validate this mode's representation.
    async with http.get(proxied + "/-/trad/etag.html", headers={"If-None-Match": tags["/-/elder"]}) as response:
        assert response.status == 200


async def test_head_of_html_page(site, http):
    upstream, proxied = site
    async with http.head(proxied + "/-/trad/") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.headers["ETag"].startswith('W/"home-v1.a11y-')


async def test_health_and_metrics(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/-/health", headers={"Host": "10.1.2.3"}) as response:
        assert (await response.json())["status"] == "ok"
    async with http.get(proxied + "/") as response:
        await response.read()
    async with http.get(proxied + "/-/metrics") as response:
        text = (await response.read()).decode()
    assert 'a11y_proxy_responses_total{outcome="transformed"}' in text


# --- helpers ----------------------------------------------------------------------------------------

def _root():
    from pathlib import Path
    return Path(__file__).resolve().parent.parent


async def _wait_healthy(http, base: str) -> None:
    for _ in range(100):
        try:
            async with http.get(base + "/-/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("proxy did not start")


def _peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


async def test_host_default_modes_like_a_big5_gateway(serve, proxy, http):
    from proxy.modes import parse as parse_modes
    upstream = await serve(upstream_app())
    proxied = await proxy(upstream, public_hosts=(PublicHost("www.example.gov.cn"),
                                                  PublicHost("big5.example.gov.cn", parse_modes("trad"))))
    plain = {"Accept-Encoding": "identity"}
    async with http.get(proxied + "/", headers={**plain, "Host": "big5.example.gov.cn"}) as response:
        html = (await response.read()).decode()
        assert "Cookie" in response.headers["Vary"]
    assert 'lang="zh-Hant"' in html and "歡迎訪問" in html
    assert 'href="/xxgk/art.html"' in html  # the host carries the mode: links need no prefix
    async with http.get(proxied + "/", headers={**plain, "Host": "www.example.gov.cn"}) as response:
        assert "欢迎访问" in (await response.read()).decode()
    async with http.get(proxied + "/", headers={**plain, "Host": "big5.example.gov.cn",
                                                "Cookie": "a11y_modes=plain"}) as response:
        assert "欢迎访问" in (await response.read()).decode()  # the reader's own choice wins


async def test_pages_in_frames_get_no_toolbar_and_a_distinct_main(site, http):
    upstream, proxied = site
    async with http.get(proxied + "/xxgk/a.html", headers={"Sec-Fetch-Dest": "iframe"}) as response:
        framed = (await response.read()).decode()
        assert "Sec-Fetch-Dest" in response.headers["Vary"]
    async with http.get(proxied + "/xxgk/a.html", headers={"Sec-Fetch-Dest": "document"}) as response:
        top = (await response.read()).decode()
    assert 'id="a11y-proxy-toolbar"' in top and 'id="a11y-proxy-toolbar"' not in framed
    assert "/xxgk/a.html" in framed.split('role="main"', 1)[1].split(">", 1)[0] or \
        'aria-label="/xxgk/a.html"' in framed or "（/xxgk/a.html）" in framed


async def test_streamed_headers_are_not_held_for_a_late_body(serve, proxy, http):
    """What passes through goes out with the first bytes that came with the upstream's headers, in one write;
    a body that has not started yet (server-sent events, long polls) must not hold the headers back."""
    released = asyncio.Event()

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await released.wait()  # the first event only once the reader has seen the headers
        await response.write(b"data: 1\n\n")
        return response

    upstream = web.Application()
    upstream.router.add_get("/events", events)
    proxied = await proxy(await serve(upstream))
    async with asyncio.timeout(10):
        async with http.get(proxied + "/events") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/event-stream"
            released.set()
            assert await response.content.readline() == b"data: 1\n"
