"""Every real portal page of ../shared/corpus, served as an upstream in the charset it declares, comes
through the proxy in plain mode with status 200, UTF-8, and the same visible text as straight from the
upstream (both measured in real Chromium, scripts off so the text is the markup's own).

Runs when ../shared is present (it is beside the project in CI); says so and skips otherwise.
"""
from __future__ import annotations

import urllib.request

import pytest

from tests.conftest import CORPUS_PAGES
from tests.harness import corpus_behind_proxy, normalize, visible_text

pytestmark = [pytest.mark.corpus, pytest.mark.browser]


@pytest.fixture(scope="module")
def corpus_site(servers):
    with corpus_behind_proxy(servers, CORPUS_PAGES, "conformance over real portal pages not run") as site:
        yield site


@pytest.mark.parametrize("name", CORPUS_PAGES or ["(corpus absent)"])
def test_page_comes_through_with_same_visible_text(corpus_site, js_off, name):
    upstream, proxied = corpus_site
    with urllib.request.urlopen(f"{proxied}/{name}", timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        response.read().decode("utf-8")  # strictly UTF-8
    page = js_off.new_page()
    try:
        page.goto(f"{upstream}/{name}", wait_until="load")
        expected = normalize(visible_text(page))
        page.goto(f"{proxied}/{name}", wait_until="load")
        assert page.evaluate("document.characterSet") == "UTF-8"
        got = normalize(visible_text(page))
    finally:
        page.close()
    assert expected, "upstream page shows no text"
    if got != expected:
        at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        pytest.fail(f"visible text differs at {at}: proxy {got[max(0, at - 30):at + 30]!r} "
                    f"vs upstream {expected[max(0, at - 30):at + 30]!r}")
