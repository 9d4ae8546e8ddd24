"""Helpers for tests that drive real Chromium (sync Playwright) against real servers.

Sync Playwright needs the main thread without a running event loop, so the servers those tests need
(upstream apps and the proxy) run on an event loop in a background thread.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from aiohttp import web

from proxy.app import create_app
from proxy.settings import Settings, parse_upstream

CHROMIUM = "/usr/bin/chromium"
# As the workplace's audit tool does: headless, and no request may leave loopback.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>;127.0.0.1;localhost",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--dns-prefetch-disable",
]


class ServerThread:
    """An asyncio loop in a daemon thread that runs aiohttp apps on loopback."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runners: list[web.AppRunner] = []

    def serve(self, app: web.Application) -> str:
        async def start() -> str:
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.runners.append(runner)
            return f"http://127.0.0.1:{runner.addresses[0][1]}"

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(30)

    def proxy(self, upstream: str, **overrides) -> str:
        settings = dataclasses.replace(Settings(access_log=False), upstream=parse_upstream(upstream), **overrides)
        return self.serve(create_app(settings))

    def close(self) -> None:
        async def stop() -> None:
            for runner in reversed(self.runners):
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def free_port() -> int:
    """A port on loopback that nothing listens on now (for a server started in another process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is pid, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def serve_dir(directory: Path, script: Path) -> tuple[subprocess.Popen, str]:
    """Start the shared tools' charset-faithful static server on a free loopback port."""
    process = subprocess.Popen([sys.executable, str(script), str(directory), "--port", "0", "--quiet"],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)
    if not match:
        process.kill()
        raise RuntimeError(f"serve_dir did not start: {line!r}")
    return process, match.group(1)


@contextlib.contextmanager
def corpus_behind_proxy(servers: ServerThread, pages: list[str], what: str, **settings):
    """(upstream, proxy) base URLs: ../shared/corpus served in its declared charsets by the shared tool, the
    proxy in front.  Without the corpus (no pages), the test is skipped, saying what was not done."""
    import pytest

    from tests.conftest import CORPUS, SHARED

    if not pages:
        pytest.skip(f"no corpus at {CORPUS}: {what}")
    process, upstream = serve_dir(CORPUS, SHARED / "tools" / "serve_dir.py")
    try:
        yield upstream, servers.proxy(upstream, **settings)
    finally:
        process.terminate()
        process.wait(10)


def visible_text(page, without_proxy_additions: bool = True) -> str:
    """What a sighted reader sees as text (innerText follows CSS: hidden things are left out).

    The proxy's own additions (skip link, toolbar, notices) are taken out first, so the figure compares
    the portal's content with itself (wrappers the repairs put around portal content stay)."""
    return page.evaluate("""(strip) => {
      if (!document.body) return '';
      if (strip) document.body.querySelectorAll(
          '#a11y-proxy-toolbar, .a11y-proxy-skip, .a11y-proxy-trad-notice, [data-a11y-proxy]')
          .forEach(e => e.remove());
      return document.body.innerText;
    }""", without_proxy_additions)


def normalize(text: str) -> str:
    return re.sub(r"\s+", "", text)
