"""WebSocket relay: an Upgrade request is passed to the upstream as a WebSocket of its own, and messages
are copied both ways until either side closes.

Portals use WebSockets for live chat with their service desk (在线咨询) and for notices; without a relay
those stop working behind the proxy.  Nothing in a message is rewritten: the modes are about pages, and a
message's format is the portal's own.  The upstream sees what it would see from the reader directly:
its own Host and Origin (a portal that checks Origin would refuse ours), the reader's cookies and
subprotocols, and X-Forwarded-* (from ``headers.upstream_request_headers``).
"""
from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import WSMsgType, web
from yarl import URL

from .metrics import Metrics

log = logging.getLogger("a11y_proxy.websocket")

HEARTBEAT_SECONDS = 30.0  # pings on idle connections, so load balancers and NAT do not drop them
CLOSE_SECONDS = 10.0


def is_websocket_upgrade(request: web.Request) -> bool:
    connection = {token.strip().lower() for token in request.headers.get("Connection", "").split(",")}
    return request.method == "GET" and "upgrade" in connection and \
        request.headers.get("Upgrade", "").strip().lower() == "websocket"


def handshake_headers(headers, *, public_origin: str, upstream_origin: str):
    """The upstream request's headers: the handshake's own fields are made anew by the client, and an
    Origin that is the proxy's own becomes the upstream's (the page the reader has open is the portal's)."""
    for name in ("Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions",
                 "Sec-WebSocket-Protocol", "Sec-WebSocket-Accept", "Content-Length", "Accept-Encoding"):
        headers.popall(name, None)
    if headers.get("Origin", "").rstrip("/").lower() == public_origin.lower():
        headers["Origin"] = upstream_origin
    return headers


class RedirectRefused(aiohttp.ClientError):
    """The upstream answered a WebSocket handshake with a redirect: not followed (see no_redirects)."""


def no_redirects() -> aiohttp.TraceConfig:
    """Trace hooks that stop a session at the first redirect: aiohttp's ws_connect always follows them, and a
    portal's open redirect would otherwise connect the proxy to any host its network reaches."""

    async def refuse(session, context, params) -> None:
        raise RedirectRefused(f"redirected ({params.response.status}) to {params.response.headers.get('Location')!r}")

    trace = aiohttp.TraceConfig()
    trace.on_request_redirect.append(refuse)
    return trace


async def relay(request: web.Request, client: aiohttp.ClientSession, upstream_url: URL, headers,
                metrics: Metrics) -> web.StreamResponse:
    """Open the upstream WebSocket first, so a refusal reaches the reader as the upstream's answer."""
    protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    target = upstream_url.with_scheme("wss" if upstream_url.scheme == "https" else "ws")
    try:
        upstream = await client.ws_connect(target, headers=headers, protocols=protocols,
                                           heartbeat=HEARTBEAT_SECONDS)
    except aiohttp.WSServerHandshakeError as exc:
        log.info("websocket %s refused by the upstream: %s", target, exc.status)
        metrics.websockets.labels("refused").inc()
        return web.Response(status=exc.status if 400 <= exc.status < 600 else 502,
                            text="The portal refused this WebSocket.\n")
    except RedirectRefused as exc:
        log.warning("websocket %s %s: not followed", target, exc)
        metrics.websockets.labels("refused").inc()
        return web.Response(status=502, text="The portal sent this WebSocket elsewhere.\n")
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        log.warning("websocket %s failed: %r", target, exc)
        metrics.websockets.labels("failed").inc()
        return web.Response(status=502, text="The portal cannot be reached.\n")

    reader = web.WebSocketResponse(protocols=[upstream.protocol] if upstream.protocol else (),
                                   heartbeat=HEARTBEAT_SECONDS)
    copies: list[asyncio.Future] = []
    try:
        await reader.prepare(request)
        metrics.websockets.labels("opened").inc()
        metrics.websockets_open.inc()
        try:
            copies = [asyncio.ensure_future(_copy(reader, upstream)), asyncio.ensure_future(_copy(upstream, reader))]
            done, _pending = await asyncio.wait(copies, return_when=asyncio.FIRST_COMPLETED)
            first = next(iter(done))
            code = first.result() if first.exception() is None else aiohttp.WSCloseCode.INTERNAL_ERROR
            # Whoever closed first, the other side learns the same close code (where one may be sent).  A
            # connection dropped without a close (1006: no code may be sent on) is no deliberate close: the
            # reader learns 1014 (bad gateway: its chat client reconnects), the portal 1001 (the reader is gone).
            if code is None or not 1000 <= code < 5000 or code in (1004, 1005, 1006, 1015):
                dropped = code == 1006 or code is None
                code = aiohttp.WSCloseCode.OK if not dropped else (
                    1014 if first is copies[1] else aiohttp.WSCloseCode.GOING_AWAY)
            for side in (reader, upstream):
                if not side.closed:
                    await asyncio.wait_for(side.close(code=code), CLOSE_SECONDS)
        finally:
            metrics.websockets_open.dec()
    except (asyncio.TimeoutError, ConnectionError):
        pass  # a side that went away without a close handshake: nothing more to tell it
    finally:
        # Also when the reader's connection drops and this handler is cancelled: no copy and no upstream
        # connection may outlive the relay.
        for copy in copies:
            copy.cancel()
        if not upstream.closed:
            await upstream.close()
    return reader


async def _copy(source, destination) -> int | None:
    """Copy messages until source closes; returns its close code."""
    async for message in source:
        if message.type == WSMsgType.TEXT:
            await destination.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await destination.send_bytes(message.data)
        elif message.type == WSMsgType.ERROR:
            log.info("websocket error: %r", source.exception())
            return aiohttp.WSCloseCode.INTERNAL_ERROR
    return source.close_code
