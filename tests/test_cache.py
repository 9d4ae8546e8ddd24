"""The transform cache: a hit is byte for byte what a fresh render gives, any changed input misses, concurrent
misses transform once, no-store is never kept, and memory stays under the bound."""
from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp import web
from multidict import CIMultiDict

from proxy.cache import Entry, TransformCache, cache_key
from proxy.metrics import Metrics

PAGE = ("<!DOCTYPE html><html><head><meta charset=utf-8><title>通知</title></head><body><div class=nav>"
        "<a href=/a.html>国家政策</a></div><div class=content><h1>关于{n}的通知</h1><p>{filler}</p></div></body></html>")


def upstream_app(state: dict) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        n = request.query.get("n", state.get("n", "1"))
        headers = {"Cache-Control": state.get("cache_control", "max-age=60")}
        content_type = state.get("content_type", "text/html; charset=utf-8")
        body = PAGE.format(n=n, filler="政务公开。" * 400)
        return web.Response(body=body.encode("gb18030" if "gb" in content_type else "utf-8"), headers=headers,
                            content_type=content_type.split(";")[0], charset=content_type.partition("charset=")[2] or None)

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    return app


@pytest.fixture
async def site(serve):
    state: dict = {}
    return await serve(upstream_app(state)), state


async def metric(http, proxied: str, name: str) -> float:
    async with http.get(proxied + "/-/metrics") as response:
        text = await response.text()
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def fetch(http, url: str, **headers) -> tuple[bytes, dict]:
    async with http.get(url, headers=headers) as response:
        assert response.status == 200
        return await response.read(), CIMultiDict(response.headers)


@pytest.mark.parametrize("encoding", ["identity", "gzip", "br"])
async def test_a_hit_is_byte_identical_to_a_fresh_render(site, proxy, http, encoding):
    upstream, _ = site
    cached = await proxy(upstream)
    uncached = await proxy(upstream, cache_max_bytes=0)
    url = "/-/trad+elder/xxgk/a.html"
    first, first_headers = await fetch(http, cached + url, **{"Accept-Encoding": encoding})
    again, again_headers = await fetch(http, cached + url, **{"Accept-Encoding": encoding})
    fresh, fresh_headers = await fetch(http, uncached + url, **{"Accept-Encoding": encoding})
    assert first == again == fresh
    for name in ("Content-Type", "Content-Encoding", "Vary", "ETag", "Content-Length"):
        assert again_headers.get(name) == fresh_headers.get(name) == first_headers.get(name), name
    assert await metric(http, cached, 'a11y_proxy_cache_requests_total{result="hit"}') == 1
    assert await metric(http, cached, 'a11y_proxy_cache_requests_total{result="miss"}') == 1


async def test_any_changed_input_misses(site, proxy, http):
    upstream, state = site
    proxied = await proxy(upstream)
    base = proxied + "/-/trad/xxgk/a.html"
    variants = [
        (base, {}),
        (base + "?x=1", {}),  # the URL
        (proxied + "/-/trad+elder/xxgk/a.html", {}),  # the modes
        (proxied + "/xxgk/a.html", {}),  # the prefix
        (base, {"Sec-Fetch-Dest": "iframe"}),  # a frame
        (base, {"X-Requested-With": "XMLHttpRequest"}),  # a script's fetch
        (base.replace("127.0.0.1", "localhost"), {}),  # the public origin
    ]
    bodies = set()
    for url, headers in variants:
        body, _ = await fetch(http, url, **headers)
        bodies.add(body)
    assert await metric(http, proxied, 'a11y_proxy_cache_requests_total{result="miss"}') == len(variants)
    state["n"] = "2"  # the page changed at the upstream
    changed, _ = await fetch(http, base)
    assert "关於2的通知".encode() in changed or "關於2的通知".encode() in changed
    state["content_type"] = "text/html; charset=gb18030"  # same text, other bytes and charset
    await fetch(http, base)
    assert await metric(http, proxied, 'a11y_proxy_cache_requests_total{result="miss"}') == len(variants) + 2
    assert await metric(http, proxied, 'a11y_proxy_cache_requests_total{result="hit"}') == 0


async def test_rules_reload_misses(site, proxy, http, tmp_path):
    upstream, _ = site
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "site.yaml").write_text("site: 示范\nrules:\n  - select: div.nav\n    role: navigation\n", "utf-8")
    proxied = await proxy(upstream, rules_dir=rules, rules_reload_seconds=0.1)
    await fetch(http, proxied + "/a.html")
    await fetch(http, proxied + "/a.html")
    (rules / "site.yaml").write_text("site: 示范\nrules:\n  - select: div.nav\n    role: banner\n", "utf-8")
    await asyncio.sleep(1.2)  # mtime granularity and the watcher's period
    body, _ = await fetch(http, proxied + "/a.html")
    assert b'role="banner"' in body
    assert await metric(http, proxied, 'a11y_proxy_cache_requests_total{result="miss"}') == 2


async def test_concurrent_misses_transform_once(site, proxy, http):
    upstream, _ = site
    proxied = await proxy(upstream)
    results = await asyncio.gather(*(fetch(http, proxied + "/-/trad+elder/b.html") for _ in range(20)))
    assert len({body for body, _ in results}) == 1
    assert await metric(http, proxied, "a11y_proxy_transform_seconds_count") == 1


async def test_no_store_pages_are_never_kept(site, proxy, http):
    upstream, state = site
    state["cache_control"] = "no-store, private"
    proxied = await proxy(upstream)
    for _ in range(3):
        await fetch(http, proxied + "/a.html")
    assert await metric(http, proxied, 'a11y_proxy_cache_requests_total{result="miss"}') == 3
    assert await metric(http, proxied, "a11y_proxy_cache_bytes") == 0


async def test_memory_stays_under_the_bound_through_the_proxy(site, proxy, http):
    upstream, _ = site
    bound = 64 * 1024
    proxied = await proxy(upstream, cache_max_bytes=bound)
    for n in range(60):
        await fetch(http, proxied + f"/a.html?n={n}", **{"Accept-Encoding": "gzip"})
        assert await metric(http, proxied, "a11y_proxy_cache_bytes") <= bound
    assert await metric(http, proxied, "a11y_proxy_cache_evictions_total") > 0


async def test_ten_thousand_distinct_pages_stay_under_the_bound():
    metrics = Metrics()
    bound = 2 * 1024 * 1024
    cache = TransformCache(bound, metrics, compress_min_bytes=1024)
    for n in range(10_000):
        body = (f"<p>{n}</p>" * (50 + n % 400)).encode()

        async def render(body=body) -> Entry:
            return Entry({"": body})

        entry, out, used, hit = await cache.get_or_render(cache_key(str(n)), "gzip" if n % 2 else "", render, True)
        assert not hit and (out == body or used == "gzip")
        assert cache.bytes_held <= bound
        assert cache.bytes_held == sum(e.size for e in cache.entries.values())
    assert len(cache.entries) < 10_000 and metrics.cache_evictions._value.get() > 0
    # The most recent pages are still there; the oldest are gone.
    entry, out, used, hit = await cache.get_or_render(cache_key("9999"), "gzip", render, True)
    assert hit
    assert cache_key("0") not in cache.entries


async def test_render_failure_is_not_cached_and_waiters_are_released():
    metrics = Metrics()
    cache = TransformCache(1024 * 1024, metrics)
    calls = 0

    async def failing() -> Entry:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        raise ValueError("broken page")

    results = await asyncio.gather(*(cache.get_or_render(b"k", "", failing, True) for _ in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    # The waiters got the render's failure at once: the same inputs would fail again, and trying in turn made the
    # last of N identical readers of a page over the time budget wait N budgets.
    assert not cache.entries and not cache.pending and calls == 1
    with pytest.raises(ValueError):
        await cache.get_or_render(b"k", "", failing, True)
    assert calls == 2


async def test_a_reader_who_leaves_hands_the_render_to_one_who_waits():
    """The renderer's reader hung up (cancelled): that says nothing about the page, so a waiter renders it."""
    cache = TransformCache(1024 * 1024, Metrics())
    started, calls = asyncio.Event(), 0

    async def render() -> Entry:
        nonlocal calls
        calls += 1
        started.set()
        await asyncio.sleep(0.05)
        return Entry({"": b"page"}, False, "html")

    owner = asyncio.ensure_future(cache.get_or_render(b"k", "", render, True))
    await started.wait()
    waiter = asyncio.ensure_future(cache.get_or_render(b"k", "", render, True))
    await asyncio.sleep(0)
    owner.cancel()
    entry, body, _, hit = await waiter
    assert body == b"page" and not hit and calls == 2


async def test_repeat_view_costs_a_304_and_a_hit(serve, proxy, http):
    seen: list[dict] = []
    state = {"etag": '"v1"', "text": "第一版"}

    async def page(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        extra = {"Set-Cookie": "s=1"} if request.query.get("cookie") else {}
        if request.headers.get("If-None-Match") == state["etag"]:
            return web.Response(status=304, headers={"ETag": state["etag"], "Cache-Control": "max-age=5", **extra})
        body = PAGE.format(n=state["text"], filler="政务公开。" * 200)
        return web.Response(text=body, content_type="text/html",
                            headers={"ETag": state["etag"], "Cache-Control": "max-age=60", **extra})

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    proxied = await proxy(await serve(app))
    url = proxied + "/-/trad/a.html"
    first, first_headers = await fetch(http, url, Cookie="session=reader-a")
    again, again_headers = await fetch(http, url, Cookie="session=reader-a")
    assert first == again and "If-None-Match" not in seen[0] and seen[1]["If-None-Match"] == '"v1"'
    assert again_headers["Cache-Control"] == "max-age=5"  # the 304's headers update the stored ones
    assert again_headers["ETag"] == first_headers["ETag"] and first_headers["ETag"].startswith("W/\"v1.a11y-")
    assert await metric(http, proxied, 'a11y_proxy_cache_revalidations_total{status="304"}') == 1
    assert await metric(http, proxied, "a11y_proxy_transform_seconds_count") == 1
    # Another reader (another cookie) never gets reader A's record: an unconditional request.
    await fetch(http, url, Cookie="session=reader-b")
    assert "If-None-Match" not in seen[2]
    # The page changed: the upstream answers 200 to the question, and the reader gets the new page.
    state.update(etag='"v2"', text="第二版")
    changed, _ = await fetch(http, url, Cookie="session=reader-a")
    assert seen[3]["If-None-Match"] == '"v1"' and "第二版".encode() in changed
    # Responses that set cookies are never remembered.
    await fetch(http, url + "?cookie=1")
    await fetch(http, url + "?cookie=1")
    assert "If-None-Match" not in seen[5]


async def test_a_304_stands_only_for_requests_its_vary_matches(serve, proxy, http):
    """The portal sends one page to phones and another to desktops (Vary: User-Agent): a phone's repeat view
    must not be answered with the desktop rewrite the upstream's 304 (to a question the desktop's record asked)
    would otherwise confirm.  Vary: * is never remembered."""
    seen: list[dict] = []

    async def page(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        vary = "*" if request.query.get("any") else "User-Agent"
        headers = {"Last-Modified": "Mon, 07 Dec 2026 00:00:00 GMT", "Vary": vary, "Cache-Control": "no-cache"}
        if request.headers.get("If-Modified-Since"):
            return web.Response(status=304, headers=headers)
        kind = "手机版" if "Mobile" in request.headers.get("User-Agent", "") else "电脑版"
        return web.Response(text=PAGE.format(n=kind, filler="文"), content_type="text/html", headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    proxied = await proxy(await serve(app))
    url = proxied + "/-/trad/a.html"
    desktop, _ = await fetch(http, url, **{"User-Agent": "Desktop"})
    phone, _ = await fetch(http, url, **{"User-Agent": "Mobile Safari"})
    assert "電腦版".encode() in desktop and "手機版".encode() in phone
    assert "If-Modified-Since" not in seen[1]  # the desktop's record was not used for the phone
    again, _ = await fetch(http, url, **{"User-Agent": "Mobile Safari"})  # the phone's own record: a 304
    assert again == phone and seen[2].get("If-Modified-Since")
    for _ in range(2):
        await fetch(http, url + "?any=1", **{"User-Agent": "Desktop"})
    assert "If-Modified-Since" not in seen[4]


async def test_rewritten_pages_carry_no_last_modified(serve, proxy, http):
    async def page(request: web.Request) -> web.Response:
        if request.headers.get("If-Modified-Since"):
            return web.Response(status=304)
        return web.Response(text=PAGE.format(n=1, filler="文"), content_type="text/html",
                            headers={"Last-Modified": "Mon, 07 Dec 2026 00:00:00 GMT", "ETag": '"p1"'})

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    proxied = await proxy(await serve(app))
    body, headers = await fetch(http, proxied + "/-/trad/a.html")
    assert "Last-Modified" not in headers and headers["ETag"].startswith('W/"p1.a11y-')
