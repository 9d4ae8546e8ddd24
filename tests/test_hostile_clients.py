"""Hostile clients: the redirects and links the proxy builds from what a reader sent, and the Host and
forwarding headers it believes.

The first part is a matrix: every place the proxy writes a Location or an href from reader input (canonical
prefix redirects, cookie-mode redirects, /-/toggle and /-/set `next`, the debug view, upstream redirects
made local, the 502/504 retry links) times every form a browser might read as another site.  Each answer
must be a proper HTTP response, and every Location and link in it, resolved the way a browser resolves it,
must stay on the proxy's own origin.  Requests go over raw sockets, so nothing is normalised on the way.
"""
from __future__ import annotations

import asyncio
import dataclasses
import html
import ipaddress
import json
import re
import shutil
import socket
import subprocess
from urllib.parse import quote, urljoin, urlsplit

import pytest
from aiohttp import web
from yarl import URL

from proxy.settings import PublicHost, Timeouts, load_settings
from proxy.urls import Authority, same_origin_path

PAGE = ("<!DOCTYPE html><html lang=zh-CN><head><meta charset=utf-8><title>首页</title></head><body>"
        "<div class=content><h1>通知</h1><p>正文</p></div></body></html>")


# --- raw HTTP, and a browser's reading of a URL ---------------------------------------------------------

@dataclasses.dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]  # as sent: lower-case names, latin-1 values, every line
    body: bytes

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    def getall(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2:]
    return out


async def exchange(port: int, target: bytes, headers: list[tuple[bytes, bytes]] = (),
                   host: bytes | None = b"127.0.0.1") -> Reply | None:
    """One GET with exactly these bytes; None if no HTTP response came back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"GET " + target + b" HTTP/1.1\r\n"
    if host is not None:
        head += b"Host: " + host + b"\r\n"
    for name, value in headers:
        head += name + b": " + value + b"\r\n"
    writer.write(head + b"Connection: close\r\n\r\n")
    try:
        await writer.drain()
        data = await asyncio.wait_for(reader.read(-1), 15)
    except ConnectionError:
        data = b""
    finally:
        writer.close()
    if not re.match(rb"HTTP/[01]\.\d \d{3}", data):  # aiohttp answers a request line without a version as 0.9
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    reply = Reply(int(lines[0].split()[1]), fields, body)
    if (reply.get("transfer-encoding") or "").lower() == "chunked":
        reply.body = _dechunk(body)
    return reply


_C0_OR_SPACE = "".join(map(chr, range(0x21)))


def browser_reads(reference: str) -> str:
    """What the WHATWG URL parser does before resolving: strip leading/trailing C0 controls and spaces,
    drop tabs and newlines anywhere, read backslashes as slashes (http and https URLs)."""
    return re.sub("[\t\n\r]", "", reference.strip(_C0_OR_SPACE)).replace("\\", "/")


def off_site(base: str, reference: str) -> list[str]:
    """The resolvers (urllib, yarl) by which `reference` leaves `base`'s origin; [] when it stays."""
    origin = urlsplit(base)[:2]
    seen = browser_reads(reference)
    found = []
    if urlsplit(urljoin(base, seen))[:2] != origin:
        found.append("urllib")
    try:
        joined = URL(base).join(URL(seen))
        if (joined.scheme, joined.raw_authority) != origin:
            found.append("yarl")
    except ValueError:
        found.append("yarl-invalid")
    return found


def node_origins(pairs: list[tuple[str, str]]) -> list[str] | None:
    """The origin of each (base, reference) by Node's WHATWG URL parser, the one browsers implement;
    None without Node."""
    node = shutil.which("node")
    if node is None:
        return None
    script = ("const pairs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(pairs.map(([b, r]) => { try { return new URL(r, b).origin }"
              " catch (e) { return 'invalid' } })))")
    done = subprocess.run([node, "-e", script], input=json.dumps(pairs), capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout)


# --- the servers -----------------------------------------------------------------------------------------

def upstream_app(seen: list) -> web.Application:
    app = web.Application()

    async def anything(request: web.Request) -> web.StreamResponse:
        seen.append({"path": request.raw_path, "headers": list(request.headers.items())})
        if "echo" in request.query:  # the trailing-slash redirect of many servers: echoes the path it got
            origin = f"http://{request.host}"
            return web.Response(status=301, headers={"Location": origin + request.raw_path.split("?")[0] + "/"})
        if request.path == "/headers":
            return web.json_response(list(request.headers.items()))
        if "base" in request.query:  # a page that sets a foreign <base href>: our assets get absolute URLs
            return web.Response(text=PAGE.replace("<title>", "<base href='https://mail.example.com/'><title>"),
                                content_type="text/html")
        return web.Response(text=PAGE, content_type="text/html")

    app.router.add_route("*", r"/{tail:[\s\S]*}", anything)
    return app


def stalling_app() -> web.Application:
    app = web.Application()

    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(text="late")

    app.router.add_route("*", r"/{tail:[\s\S]*}", stall)
    return app


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- 1. the redirect matrix ------------------------------------------------------------------------------

HOSTILE = [
    "//evil.com", "///evil.com", "/\\evil.com", "\\\\evil.com", "/\t/evil.com", "/%09/evil.com", "/%5C/evil.com",
    "/%2F%2Fevil.com", "http://evil.com", "https:evil.com", "javascript:alert(1)", "/%0d%0aSet-Cookie:x",
    "/\r\nSet-Cookie:x", "/%7F/x", "/\x7f/x", "/政务公开/通知", "/%E6%94%BF%E5%8A%A1", " //evil.com",
    "/\x00/evil.com", "//evil.com/" + "a" * 6000, "/" + "a" * 6000, "/" + "a" * 9000,
]


def as_path(form: str) -> str:
    return form if form.startswith("/") else "/" + form


def raw(text: str) -> bytes:
    return text.encode("utf-8")


def next_param(value: str) -> bytes:
    return quote(value, safe="").encode()


NAVIGATE = [(b"Accept", b"text/html"), (b"Sec-Fetch-Mode", b"navigate"), (b"Sec-Fetch-Dest", b"document")]


def cases_for(form: str) -> list[tuple[str, str, bytes, list]]:
    """(entry point, server, request target, extra headers) for one hostile form."""
    path = as_path(form)
    cases = []
    for prefix in ("/-/plain", "/-/PLAIN", "/-/Trad+Elder", "/-/elder+trad"):
        cases.append((f"canonical {prefix}", "proxy", raw(prefix + path), []))
    for modes in ("trad", "trad+elder"):
        cases.append((f"cookie {modes}", "proxy", raw(path), [(b"Cookie", f"a11y_modes={modes}".encode())] + NAVIGATE))
    wraps = ("", "/-/x", "/-/trad", "/-/elder", "/-/trad+elder", "/-/plain")
    for endpoint in ("/-/toggle/trad", "/-/toggle/elder", "/-/toggle/reader", "/-/set/plain", "/-/set/trad",
                     "/-/set/elder-200"):
        for wrap in wraps:
            value = wrap + path if wrap else form
            cases.append((f"{endpoint}?next={wrap}…", "proxy", raw(endpoint + "?next=") + next_param(value), []))
        cases.append((f"{endpoint}?next=(unencoded)", "proxy", raw(endpoint + "?next=" + form), []))
    cases.append(("debug /-/plain", "proxy", raw("/-/debug/-/plain" + path), []))
    cases.append(("debug /-/Trad+Elder", "proxy", raw("/-/debug/-/Trad+Elder" + path), []))
    cases.append(("debug cookie", "proxy", raw("/-/debug" + path), [(b"Cookie", b"a11y_modes=trad")] + NAVIGATE))
    cases.append(("debug upstream redirect", "proxy", raw("/-/debug" + path + "?echo=1"), []))
    cases.append(("upstream redirect", "proxy", raw(path + "?echo=1"), []))
    cases.append(("upstream redirect /-/trad", "proxy", raw("/-/trad" + path + "?echo=1"), []))
    cases.append(("request target as is", "proxy", raw(form), []))
    for server in ("dead", "stalled"):
        cases.append((f"{server} retry link", server, raw(path), []))
        cases.append((f"{server} retry link /-/trad", server, raw("/-/trad" + path), []))
    return cases


@pytest.fixture
async def servers(serve, proxy):
    seen: list = []
    upstream = await serve(upstream_app(seen))
    return {
        "proxy": await proxy(upstream),
        "dead": await proxy(f"http://127.0.0.1:{dead_port()}"),
        "stalled": await proxy(await serve(stalling_app()), timeouts=Timeouts(connect=2, read=0.3, total=1)),
        "seen": seen,
    }


async def test_redirect_matrix_never_leaves_the_proxy(servers):
    limit = asyncio.Semaphore(24)

    async def run(case):
        entry, server, target, headers = case
        async with limit:
            return await exchange(port_of(servers[server]), target, headers)

    cases = [(form, case) for form in HOSTILE for case in cases_for(form)]
    replies = await asyncio.gather(*(run(case) for _, case in cases))

    problems: list[str] = []
    checked: list[tuple[str, str, str]] = []  # (case, base, reference) for the WHATWG oracle
    statuses: dict[int, int] = {}
    for (form, (entry, server, target, _)), reply in zip(cases, replies):
        label = f"{entry} × {form[:40]!r}"
        if reply is None:
            problems.append(f"{label}: no HTTP response")
            continue
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
        base = servers[server] + "/"
        expected = (400, 502, 504) if server != "proxy" else range(200, 500)  # 400: a target aiohttp refuses
        if reply.status not in expected:
            problems.append(f"{label}: status {reply.status}")
        if 300 <= reply.status < 400 and not reply.get("location"):
            problems.append(f"{label}: {reply.status} without Location")
        for location in reply.getall("location"):
            if not re.fullmatch(r"[\x21-\x7e]+", location):
                problems.append(f"{label}: Location not a clean header value: {location[:60]!r}")
            checked.append((label, base, location))
        for cookie in reply.getall("set-cookie"):
            if not cookie.startswith("a11y_modes="):
                problems.append(f"{label}: Set-Cookie from the request: {cookie[:60]!r}")
        if reply.status in (502, 504):
            page = reply.body.decode("utf-8", "replace")
            links = [html.unescape(href) for href in re.findall(r'href="([^"]*)"', page)]
            if "重新" not in page:  # 重新加载本页 (重新加載本頁 in Traditional)
                problems.append(f"{label}: {reply.status} page without its retry link")
            checked.extend((label, base, link) for link in links)
    for label, base, reference in checked:
        if resolvers := off_site(base, reference):
            problems.append(f"{label}: {reference[:60]!r} leaves {base} ({', '.join(resolvers)})")
    by_node = node_origins([(base, ref) for _, base, ref in checked])
    if by_node is not None:
        for (label, base, reference), origin in zip(checked, by_node):
            if origin != base.rstrip("/"):
                problems.append(f"{label}: {reference[:60]!r} resolves to {origin} in a WHATWG parser")

    off = {problem.split(":")[0] for problem in problems if "leaves" in problem or "WHATWG" in problem}
    print(f"\nredirect matrix: {len(cases)} requests, {len(checked)} Locations/links checked "
          f"({'urllib, yarl and Node WHATWG URL' if by_node is not None else 'urllib and yarl'}); "
          f"statuses {dict(sorted(statuses.items()))}; {len(problems)} problems, of which "
          f"{sum('no HTTP response' in p for p in problems)} without a response and {len(off)} cases off-site")
    assert len(cases) >= 1000 and len(checked) >= 700
    assert not problems, "\n".join(problems[:40])
    # Nothing in the matrix reached the upstream at a host other than its own (it only ever sees paths).
    assert all(record["path"].startswith("/") for record in servers["seen"])


async def test_the_reported_redirects(servers):
    """The issue's examples, one by one, with the Location each now gets."""
    port = port_of(servers["proxy"])
    expected = {
        b"/-/plain//evil.com": "/.//evil.com",
        b"/-/plain/\\evil.com": "/%5Cevil.com",
        b"/-/plain///evil.com": "/.///evil.com",
        b"/-/PLAIN//evil.com": "/.//evil.com",
        b"/-/elder+trad//evil.com": "/-/trad+elder//evil.com",
        b"/-/set/plain?next=/-/x//evil.com": "/.//evil.com",
        b"/-/toggle/trad?next=/-/trad//evil.com": "/.//evil.com",
        b"/-/set/trad?next=/%7F/x": "/-/trad/%7F/x",
        b"/-/set/trad?next=%2F%0D%0ASet-Cookie:x": "/-/trad/%0D%0ASet-Cookie:x",
        b"/-/set/plain?next=//evil.com": "/",  # not a local path: `next` falls back to the home page
        b"/-/set/plain?next=/%09/evil.com": "/",  # '/<TAB>/evil.com' once decoded: a browser drops the tab
        b"/-/debug/-/plain//evil.com": "/-/debug/.//evil.com",
    }
    for target, location in expected.items():
        reply = await exchange(port, target)
        assert reply is not None and 300 <= reply.status < 400, target
        assert reply.get("location") == location, target
    dead = await exchange(port_of(servers["dead"]), b"//evil.example/x")
    assert dead.status == 502 and 'href="/.//evil.example/x"' in dead.body.decode()


async def test_a_double_slash_path_is_kept_on_this_host(servers):
    """'/-/plain//x' lands on the upstream path '//x' (not '/x', not the host x): '/.//x' read by a browser."""
    reply = await exchange(port_of(servers["proxy"]), b"/-/plain//x.example/a?b=1")
    assert reply.get("location") == "/.//x.example/a?b=1"
    base = servers["proxy"] + "/"
    followed = urljoin(base, reply.get("location"))
    assert followed == servers["proxy"] + "//x.example/a?b=1"
    origins = node_origins([(base, reply.get("location"))])
    if origins is not None:
        assert origins == [servers["proxy"]]
    servers["seen"].clear()
    await exchange(port_of(servers["proxy"]), b"//x.example/a?b=1")
    assert servers["seen"][-1]["path"] == "//x.example/a?b=1"


def test_same_origin_path_units():
    for target, expected in [
        ("/a/b?c=d#e", "/a/b?c=d#e"), ("//evil.com", "/.//evil.com"), ("/\\evil.com", "/%5Cevil.com"),
        ("\\\\evil.com", "/%5C%5Cevil.com"), ("/\t/evil.com", "/%09/evil.com"), ("http://evil.com", "/http://evil.com"),
        ("javascript:alert(1)", "/javascript:alert(1)"), ("/\r\nSet-Cookie:x", "/%0D%0ASet-Cookie:x"),
        ("/\x7f", "/%7F"), ("/政务", "/%E6%94%BF%E5%8A%A1"), ("/a b", "/a%20b"), ("/100%", "/100%25"),
        ("/%e6%94%bf", "/%e6%94%bf"), ("", "/"), (None, "/"), ("/a\udce6", "/a%E6"),
    ]:
        assert same_origin_path(target) == expected, target


# --- 2. Host and forwarding headers ----------------------------------------------------------------------

MALFORMED_HOSTS = [b"localhost:@evil.example", b"127.0.0.1:evil.example", b"localhost:80:80", b"localhost:99999",
                   b"localhost:0", b"local host", b"localhost/x", b"evil.example#@localhost", b"", b"localhost:",
                   b"user@localhost", b"[::1", b"[::1]x", b"[fe80::1%25eth0]", b"localhost\\evil.example",
                   b"localhost?x", b"a11y.example.gov.cn:@evil.example", b"a11y.example.gov.cn:443:1"]
UNKNOWN_HOSTS = [b"evil.example", b"evil.example:8080", b"[::2]", b"10.0.0.1", b"localhost.evil.example"]


@pytest.mark.parametrize("configured", [False, True], ids=["loopback-only", "public_hosts"])
async def test_junk_hosts_are_refused_before_the_upstream(serve, proxy, configured):
    seen: list = []
    upstream = await serve(upstream_app(seen))
    hosts = (PublicHost("a11y.example.gov.cn"),) if configured else ()
    proxied = await proxy(upstream, public_hosts=hosts)
    port = port_of(proxied)
    for host in MALFORMED_HOSTS:
        for target in (b"/", b"/-/trad/a.html", b"/-/toggle/trad?next=/a.html"):
            reply = await exchange(port, target, host=host)
            assert reply is not None and reply.status == 400, (host, target, reply and reply.status)
            body = reply.body.decode("utf-8", "replace")
            assert "<main" in body and 'lang="zh-Hans"' in body and "请求无效" in body, host
    for host in UNKNOWN_HOSTS:
        reply = await exchange(port, b"/", host=host)
        assert reply is not None and reply.status == 421, host
    no_host = await exchange(port, b"/", host=None)
    assert no_host.status == 400
    twice = await exchange(port, b"/", [(b"Host", b"evil.example")],
                           host=b"a11y.example.gov.cn" if configured else b"localhost")
    assert twice is not None and twice.status == 400
    assert seen == []  # none of them reached the portal
    good = b"A11Y.Example.GOV.cn:8443" if configured else b"LocalHost:8443"
    reply = await exchange(port, b"/headers", host=good)
    assert reply.status == 200
    forwarded = dict((k.lower(), v) for k, v in json.loads(reply.body))
    assert forwarded["x-forwarded-host"] == good.decode().lower()


async def test_public_origin_is_the_validated_host(serve, proxy):
    """The origin a page's assets are pinned to (under a foreign <base href>) is the normalised Host."""
    upstream = await serve(upstream_app([]))
    proxied = await proxy(upstream)
    reply = await exchange(port_of(proxied), b"/p.html?base=1", host=b"LOCALHOST:8080")
    assert 'href="http://localhost:8080/-/static/toolbar.css"' in reply.body.decode()
    reply = await exchange(port_of(proxied), b"/p.html?base=1", host=b"localhost:@evil.example")
    assert reply.status == 400 and b"evil.example/-/static" not in reply.body


FORGED = [
    (b"Forwarded", b"for=203.0.113.9;proto=https;host=front.example"), (b"X-Real-IP", b"203.0.113.9"),
    (b"X-Forwarded-Host", b"front.example"), (b"X-Forwarded-Proto", b"https"), (b"X-Forwarded-Port", b"8443"),
    (b"X-Forwarded-Server", b"front.example"), (b"X-Forwarded-Prefix", b"//front.example"),
    (b"X-Forwarded-Ssl", b"on"), (b"X-Client-IP", b"203.0.113.9"), (b"True-Client-IP", b"203.0.113.9"),
    (b"CF-Connecting-IP", b"203.0.113.9"), (b"X-Cluster-Client-IP", b"203.0.113.9"),
    (b"X-Original-URL", b"/admin"), (b"X-Rewrite-URL", b"/admin"), (b"X-Forwarded-For", b"203.0.113.9"),
]


async def forwarded_seen(port: int) -> dict[str, str]:
    reply = await exchange(port, b"/headers", FORGED)
    assert reply is not None and reply.status == 200
    return {k.lower(): v for k, v in json.loads(reply.body)}


async def test_forged_forwarding_headers_from_clients_never_reach_the_upstream(serve, proxy):
    upstream = await serve(upstream_app([]))
    proxied = await proxy(upstream)
    seen = await forwarded_seen(port_of(proxied))
    for name, value in seen.items():
        for forged in ("203.0.113.9", "front.example", "8443", "/admin", "https", "on"):
            assert forged != value and (len(forged) < 6 or forged not in value), (name, value)
    # What the proxy says instead: the real peer, scheme and (validated) host.
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == "127.0.0.1"
    for gone in ("forwarded", "x-real-ip", "x-forwarded-port", "x-forwarded-server", "x-forwarded-prefix",
                 "x-forwarded-ssl", "x-client-ip", "true-client-ip", "cf-connecting-ip", "x-cluster-client-ip",
                 "x-original-url", "x-rewrite-url"):
        assert gone not in seen, gone


async def test_forwarding_headers_from_a_trusted_front_pass_as_sent(serve, proxy):
    upstream = await serve(upstream_app([]))
    proxied = await proxy(upstream, trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),),
                          public_hosts=(PublicHost("front.example"),))
    seen = await forwarded_seen(port_of(proxied))
    assert seen["forwarded"] == "for=203.0.113.9;proto=https;host=front.example"
    assert seen["x-real-ip"] == seen["true-client-ip"] == seen["cf-connecting-ip"] == "203.0.113.9"
    assert seen["x-forwarded-port"] == "8443" and seen["x-forwarded-prefix"] == "//front.example"
    assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "https" and seen["x-forwarded-host"] == "front.example"
    assert "x-original-url" not in seen and "x-rewrite-url" not in seen  # path overrides: from nobody


async def test_trusted_forwarded_host_is_held_to_the_same_rules(serve, proxy):
    seen: list = []
    upstream = await serve(upstream_app(seen))
    proxied = await proxy(upstream, trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),),
                          public_hosts=(PublicHost("a11y.example.gov.cn"),))
    port = port_of(proxied)
    # A list: the last value is the front's own (a front that appends keeps the reader's value before it), as
    # Werkzeug's ProxyFix reads these headers from the right.
    for value, status in ((b"a11y.example.gov.cn:@evil.example", 400), (b"localhost:80:80", 400),
                          (b"evil.example", 421), (b"A11Y.example.gov.cn:443, evil.example", 421),
                          (b"evil.example, A11Y.example.gov.cn:443", 200)):
        reply = await exchange(port, b"/headers", [(b"X-Forwarded-Host", value)], host=b"lb.internal")
        assert reply.status == status, value
    forwarded = {k.lower(): v for k, v in json.loads(reply.body)}
    assert forwarded["x-forwarded-host"] == "a11y.example.gov.cn:443"
    for value, scheme in ((b"https, http", "http"), (b"http, https", "https")):  # the scheme: also the last value
        reply = await exchange(port, b"/headers", [(b"X-Forwarded-Proto", value)], host=b"a11y.example.gov.cn")
        assert {k.lower(): v for k, v in json.loads(reply.body)}["x-forwarded-proto"] == scheme, value
    # From an untrusted peer the same header is ignored: its Host decides.
    untrusted = await proxy(await serve(upstream_app([])), public_hosts=(PublicHost("a11y.example.gov.cn"),))
    reply = await exchange(port_of(untrusted), b"/", [(b"X-Forwarded-Host", b"a11y.example.gov.cn")],
                           host=b"evil.example")
    assert reply.status == 421


def test_authority_parsing_and_host_matching(tmp_path):
    assert Authority.parse("LocalHost:08080") == "localhost:8080"
    assert Authority.parse("[0:0::1]:443").host == "[::1]"
    assert Authority.parse("example.gov.cn.").name == "example.gov.cn"
    for bad in MALFORMED_HOSTS:
        assert Authority.parse(bad.decode()) is None, bad
    config = tmp_path / "site.yaml"
    config.write_text("public_hosts:\n  - A11Y.example.gov.cn\n  - host: '[::1]:8080'\n    modes: trad\n",
                      encoding="utf-8")
    settings = load_settings(config)
    assert settings.host_for(Authority.parse("a11y.example.gov.cn:443")).name == "a11y.example.gov.cn"
    assert settings.host_for("[::1]").modes.canonical() == "trad"
    assert settings.host_for("a11y.example.gov.cn:@evil.example") is None
    assert settings.host_for(Authority.parse("evil.example")) is None
    for entry in ("'localhost:@evil.example'", "'a.gov.cn/x'", "'a b'"):
        config.write_text(f"public_hosts:\n  - {entry}\n", encoding="utf-8")
        with pytest.raises(Exception, match="not a host name"):
            load_settings(config)
