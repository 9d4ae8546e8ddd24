"""WebSocket relay: a real upstream WebSocket behind the proxy on loopback, a real client in front."""
from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from proxy.settings import Timeouts

CLOSED_BY_UPSTREAM = 4001
CLOSED_BY_READER = web.AppKey("closed_by_reader", asyncio.Future)  # the close code the upstream received


def chat_upstream() -> web.Application:
    """A service-desk chat: it says who it saw, echoes text and bytes, and hangs up on 'bye'."""
    app = web.Application()

    async def chat(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Origin") not in (None, f"http://{request.host}"):
            return web.Response(status=403, text="foreign origin")
        ws = web.WebSocketResponse(protocols=("chat.v2", "chat.v1"))
        await ws.prepare(request)
        await ws.send_json({"path": request.path_qs, "cookie": request.headers.get("Cookie"),
                            "origin": request.headers.get("Origin"), "host": request.host,
                            "forwarded_host": request.headers.get("X-Forwarded-Host"), "protocol": ws.ws_protocol})
        async for message in ws:
            if message.type == WSMsgType.TEXT and message.data == "bye":
                await ws.close(code=CLOSED_BY_UPSTREAM, message=b"bye")
            elif message.type == WSMsgType.TEXT and message.data == "drop":  # gone without a close (a crash)
                request.transport.abort()
                break
            elif message.type == WSMsgType.TEXT:
                await ws.send_str("echo:" + message.data)
            elif message.type == WSMsgType.BINARY:
                await ws.send_bytes(message.data[::-1])
        if not app[CLOSED_BY_READER].done():
            app[CLOSED_BY_READER].set_result(ws.close_code)
        return ws

    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=403, text="no chat for you")

    async def jump(request: web.Request) -> web.Response:  # an open redirect, as portals have
        raise web.HTTPFound(request.query["to"])

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<p>页</p>", content_type="text/html")

    app.router.add_get("/chat", chat)
    app.router.add_get("/private-chat", refuse)
    app.router.add_get("/jump", jump)
    app.router.add_get("/page.html", page)
    return app


@pytest.fixture
async def chat(serve, proxy):
    app = chat_upstream()
    app[CLOSED_BY_READER] = asyncio.get_running_loop().create_future()
    upstream = await serve(app)
    # A short read timeout: a chat that is quiet for longer must stay open all the same.
    proxied = await proxy(upstream, timeouts=Timeouts(connect=2.0, read=0.5, total=5.0))
    return app, upstream, proxied


async def test_messages_go_both_ways_and_the_upstream_sees_the_reader(chat, http):
    app, upstream, proxied = chat
    async with http.ws_connect(proxied.replace("http", "ws") + "/-/trad/chat?room=1", protocols=("chat.v1",),
                               headers={"Cookie": "session=abc", "Origin": proxied}) as ws:
        hello = json.loads((await ws.receive(timeout=5)).data)
        assert hello["path"] == "/chat?room=1"  # the mode prefix is the proxy's, not the portal's
        assert hello["cookie"] == "session=abc" and hello["protocol"] == "chat.v1" and ws.protocol == "chat.v1"
        assert hello["origin"] == upstream and hello["host"] == upstream.split("//")[1]
        assert hello["forwarded_host"] == proxied.split("//")[1]
        await asyncio.sleep(1.0)  # quiet for twice the read timeout
        await ws.send_str("你好")
        assert (await ws.receive(timeout=5)).data == "echo:你好"
        await ws.send_bytes(b"\x00\x01\x02")
        assert (await ws.receive(timeout=5)).data == b"\x02\x01\x00"
        big = "长" * 200_000
        await ws.send_str(big)
        assert (await ws.receive(timeout=5)).data == "echo:" + big
    assert await asyncio.wait_for(app[CLOSED_BY_READER], 5) == aiohttp.WSCloseCode.OK


@pytest.mark.parametrize("ending, code", [("bye", CLOSED_BY_UPSTREAM), ("drop", 1014)], ids=["closed", "dropped"])
async def test_upstream_closing_closes_the_reader_with_its_code(chat, http, ending, code):
    """The portal's close reaches the reader with its code; its side gone without a close frame ('drop': a crash)
    reaches the reader as 1014 (bad gateway), so a chat client reconnects, not 1000 (done), which it takes as the
    end of the conversation."""
    _app, _upstream, proxied = chat
    async with http.ws_connect(proxied.replace("http", "ws") + "/chat") as ws:
        await ws.receive(timeout=5)
        await ws.send_str(ending)
        closing = await ws.receive(timeout=5)
        assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
        assert ws.close_code == code


async def test_a_reader_who_vanishes_closes_the_upstream_too(chat, http):
    """No close handshake, just a dropped connection (a phone going out of coverage): the relay must not keep
    the portal's side open."""
    app, _upstream, proxied = chat
    host, port = proxied.split("//")[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /chat HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() + b"\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    status = await asyncio.wait_for(reader.readline(), 5)
    assert status.startswith(b"HTTP/1.1 101")
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.transport.abort()
    assert await asyncio.wait_for(app[CLOSED_BY_READER], 5) is not None
    for _ in range(50):  # bounded: 5 s
        async with http.get(proxied + "/-/metrics") as response:
            metrics = await response.text()
        if "a11y_proxy_websockets_open 0.0" in metrics:
            break
        await asyncio.sleep(0.1)
    assert "a11y_proxy_websockets_open 0.0" in metrics


async def test_refusal_and_unreachable_upstream_are_answered(chat, http, proxy):
    _app, _upstream, proxied = chat
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(proxied.replace("http", "ws") + "/private-chat")
    assert refused.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:  # the upstream's own Origin check still works
        await http.ws_connect(proxied.replace("http", "ws") + "/chat", headers={"Origin": "http://evil.example"})
    assert foreign.value.status == 403
    gone = await proxy("http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(aiohttp.WSServerHandshakeError) as failed:
        await http.ws_connect(gone.replace("http", "ws") + "/chat")
    assert failed.value.status == 502
    async with http.get(proxied + "/-/metrics") as response:
        metrics = await response.text()
    assert 'a11y_proxy_websockets_total{outcome="refused"} 2.0' in metrics


async def test_a_redirected_handshake_is_not_followed(chat, http, serve):
    """Only the configured upstream is contacted: a portal's open redirect must not connect the proxy to another
    host (an internal service) and relay it to the reader.  Browsers follow no WebSocket redirect either."""
    app, _upstream, proxied = chat
    reached = []

    async def internal(request: web.Request) -> web.StreamResponse:
        reached.append(request.path)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("internal service")
        return ws

    other = web.Application()
    other.router.add_get("/{tail:.*}", internal)
    elsewhere = await serve(other)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(proxied.replace("http", "ws") + f"/jump?to={elsewhere}/admin")
    assert refused.value.status == 502 and reached == []


async def test_idle_websockets_leave_the_pages_their_connections(serve, proxy, http):
    """WebSockets hold an upstream connection for their whole life, in a pool of their own: as many idle ones as
    the pages' pool holds still leave pages served (sharing it, four idle sockets made every page wait, then 504)."""
    from proxy.settings import Limits

    app = chat_upstream()
    app[CLOSED_BY_READER] = asyncio.get_running_loop().create_future()
    upstream = await serve(app)
    proxied = await proxy(upstream, limits=Limits(upstream_connections=4, websocket_connections=4),
                          timeouts=Timeouts(connect=1.0))
    sockets = [await http.ws_connect(proxied.replace("http", "ws") + "/chat") for _ in range(4)]
    try:
        async with http.get(proxied + "/page.html") as response:
            assert response.status == 200
        with pytest.raises(aiohttp.WSServerHandshakeError) as full:  # the fifth: past websocket_connections
            await http.ws_connect(proxied.replace("http", "ws") + "/chat")
        assert full.value.status == 502
    finally:
        for socket in sockets:
            await socket.close()
