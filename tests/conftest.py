"""Shared fixtures: real servers on loopback (an upstream app written per test, the proxy in front)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from proxy.app import create_app
from proxy.settings import Settings, parse_upstream

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "pages"
# The real portal pages, by file name (none when ../shared is absent: the corpus tests then skip).
CORPUS_PAGES = sorted(p.name for p in CORPUS.glob("*.html")) if CORPUS.is_dir() else []
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def check_extension_is_current(module, source_name: str) -> None:
    """A C accelerator, where built, is what setup.py builds from this checkout's source (an editable install
    builds it in place): a stale module from an older source would test the wrong code."""
    if module is None:
        pytest.skip("the C accelerator is not built here")
    built = Path(module.__file__)
    source = ROOT / "proxy" / "transforms" / source_name
    if built.parent != source.parent:
        pytest.skip("an installed (non-editable) copy: built from its own sdist")
    # (whole seconds: setuptools copies the built module into place with its time truncated)
    assert built.stat().st_mtime >= int(source.stat().st_mtime), "rebuild: pip install -e . (or setup.py build_ext -i)"


async def start_app(app: web.Application, host: str = "127.0.0.1") -> tuple[web.AppRunner, str]:
    # Short shutdown and cancelled handlers: a deliberately stalled upstream handler must not hold up teardown.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://{host}:{port}"


@pytest.fixture
async def serve():
    """serve(app) -> base URL of that app running on loopback; all stopped after the test."""
    runners: list[web.AppRunner] = []

    async def _serve(app: web.Application) -> str:
        runner, url = await start_app(app)
        runners.append(runner)
        return url

    yield _serve
    for runner in reversed(runners):
        await runner.cleanup()


ProxyFactory = Callable[..., Awaitable[str]]


@pytest.fixture
async def proxy(serve) -> ProxyFactory:
    """proxy(upstream_url, **settings) -> base URL of a proxy in front of that upstream."""

    async def _proxy(upstream_url: str, **overrides) -> str:
        settings = dataclasses.replace(Settings(access_log=False), upstream=parse_upstream(upstream_url), **overrides)
        return await serve(create_app(settings))

    return _proxy


@pytest.fixture
async def http():
    """A client that shows bytes as sent (no automatic decompression); asks for identity bodies unless a test
    sends its own Accept-Encoding."""
    async with aiohttp.ClientSession(auto_decompress=False, cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Accept-Encoding": "identity"}) as session:
        yield session


# --- real Chromium (sync Playwright) for what a reader sees -------------------------------------------

# Module scope, not session: sync Playwright keeps its event loop marked as running in the main thread
# while it is open, which would break the asyncio tests of the next module.
@pytest.fixture(scope="module")
def chromium():
    import os
    from playwright.sync_api import sync_playwright

    from tests.harness import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run must install Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def js_on(chromium):
    """A desktop-sized browser context with JavaScript."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture(scope="module")
def js_off(chromium):
    """The same without JavaScript: what the markup alone gives a reader."""
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture(scope="module")
def servers():
    from tests.harness import ServerThread

    thread = ServerThread()
    yield thread
    thread.close()
