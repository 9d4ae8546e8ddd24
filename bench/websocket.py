"""WebSocket relay benchmark: an echoing upstream reached directly and through the proxy, in the same run.

    python3 bench/websocket.py               # 3000 round trips and 20 000 streamed messages per path (~15 s)
    python3 bench/websocket.py --quick       # a smoke run
    python3 bench/websocket.py --json out.json

The upstream (an aiohttp WebSocket that echoes every message) and the proxy (`proxy.app.create_app`, as
`a11y-proxy serve --upstream` runs it) each run in their own process on 127.0.0.1; the client runs here.

* round trips - one 100-byte text message at a time, waiting for its echo: messages per second and the median
  round-trip time.  This is what a chat feels like.
* streaming   - 1 KiB binary messages sent without waiting, echoes read back concurrently: MB/s each way.

Ratios are proxy / direct: 1.00 means the relay costs nothing; 0.5 that it halves the rate.  The relay copies
each message once more (reader -> proxy -> portal), so the ratio says what that extra hop costs on this
machine, where the client, the proxy and the upstream share its cores.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import aiohttp  # noqa: E402
from loopback import free_port, wait_until_listening  # noqa: E402
from aiohttp import WSMsgType, web  # noqa: E402


def upstream_main(port: int) -> None:
    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type == WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        return ws

    app = web.Application()
    app.router.add_get("/echo", echo)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def proxy_main(port: int, upstream_port: int) -> None:
    import dataclasses

    from proxy.app import create_app
    from proxy.settings import Settings, parse_upstream

    settings = dataclasses.replace(Settings(access_log=False), upstream=parse_upstream(f"http://127.0.0.1:{upstream_port}"))
    web.run_app(create_app(settings), host="127.0.0.1", port=port, print=None, access_log=None)


async def round_trips(session: aiohttp.ClientSession, url: str, count: int) -> dict:
    message = "示" * 33 + "x"  # 100 bytes of UTF-8
    samples = []
    async with session.ws_connect(url) as ws:
        for _ in range(count):
            started = time.perf_counter()
            await ws.send_str(message)
            reply = await ws.receive(timeout=10)
            samples.append(time.perf_counter() - started)
            assert reply.data == message
    return {"messages_per_s": count / sum(samples), "p50_ms": statistics.median(samples) * 1000}


async def streaming(session: aiohttp.ClientSession, url: str, count: int) -> dict:
    payload = bytes(range(256)) * 4  # 1 KiB
    async with session.ws_connect(url, max_msg_size=0) as ws:
        async def read_all() -> int:
            received = 0
            for _ in range(count):
                reply = await ws.receive(timeout=30)
                received += len(reply.data)
            return received

        started = time.perf_counter()
        reader = asyncio.ensure_future(read_all())
        for _ in range(count):
            await ws.send_bytes(payload)
        received = await reader
        elapsed = time.perf_counter() - started
    assert received == count * len(payload)
    return {"mb_per_s": received / elapsed / 1e6}


async def measure(direct: str, proxied: str, trips: int, messages: int) -> dict:
    async with aiohttp.ClientSession() as session:
        await round_trips(session, direct, 50)  # warm-up, both paths
        await round_trips(session, proxied, 50)
        figures = {}
        for name, url in (("direct", direct), ("proxy", proxied)):
            figures[name] = {**await round_trips(session, url, trips), **await streaming(session, url, messages)}
    figures["ratio"] = {
        "round_trips": figures["proxy"]["messages_per_s"] / figures["direct"]["messages_per_s"],
        "p50_latency_x": figures["proxy"]["p50_ms"] / figures["direct"]["p50_ms"],
        "streaming": figures["proxy"]["mb_per_s"] / figures["direct"]["mb_per_s"],
    }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 round trips, 2000 streamed messages")
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    trips, messages = (300, 2000) if args.quick else (3000, 20000)

    upstream_port, proxy_port = free_port(), free_port()
    processes = [multiprocessing.Process(target=upstream_main, args=(upstream_port,), daemon=True),
                 multiprocessing.Process(target=proxy_main, args=(proxy_port, upstream_port), daemon=True)]
    for process in processes:
        process.start()
    try:
        asyncio.run(wait_until_listening(upstream_port))
        asyncio.run(wait_until_listening(proxy_port))
        figures = asyncio.run(measure(f"ws://127.0.0.1:{upstream_port}/echo", f"ws://127.0.0.1:{proxy_port}/echo",
                                      trips, messages))
    finally:
        for process in processes:
            process.terminate()
            process.join(5)
    direct, proxy, ratio = figures["direct"], figures["proxy"], figures["ratio"]
    print(f"WebSocket relay: {trips} round trips of 100 bytes, {messages} streamed messages of 1 KiB per path")
    print(f"{'':14}{'direct':>12}{'proxy':>12}{'ratio':>9}")
    print(f"{'round trips/s':14}{direct['messages_per_s']:12.0f}{proxy['messages_per_s']:12.0f}{ratio['round_trips']:9.2f}")
    print(f"{'p50 RTT ms':14}{direct['p50_ms']:12.3f}{proxy['p50_ms']:12.3f}{ratio['p50_latency_x']:8.2f}x")
    print(f"{'stream MB/s':14}{direct['mb_per_s']:12.1f}{proxy['mb_per_s']:12.1f}{ratio['streaming']:9.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
