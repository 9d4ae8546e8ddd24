"""Traditional mode over every real portal page of ../shared/corpus, end to end in real Chromium (scripts off):
what a reader sees through /-/trad-t/ and /-/trad-twp/ is OpenCC's conversion of what the portal shows, line by
line, and the page's title is converted too.

The oracle is OpenCC on each line of the upstream page's visible text (innerText puts a line break at every
block the browser lays out as one; OpenCC never joins a phrase across a line break).  The proxy cuts runs at
block *tags*, so a portal whose CSS lays a block tag out inline (or an inline tag out as a block) could make
the two differ at that boundary; on the 20 corpus pages nothing does (21 743 characters in s2t, 21 776 in
s2twp, where some runs change length: all identical), and the test holds every page to that.  No phrase on
these pages is split by inline markup, so this checks that all text is converted, in place, and nothing else;
test_trad_conformance is the test that tells phrase conversion apart.  Runs when ../shared is present (it is
beside the project in CI); says so and skips otherwise.
"""
from __future__ import annotations

import pytest

from proxy.convert import get_converter
from tests.conftest import CORPUS_PAGES
from tests.harness import corpus_behind_proxy, normalize, visible_text

pytestmark = [pytest.mark.corpus, pytest.mark.browser]


@pytest.fixture(scope="module")
def corpus_site(servers):
    with corpus_behind_proxy(servers, CORPUS_PAGES, "Traditional mode over real portal pages not checked") as site:
        yield site


def differing(got: str, expected: str) -> int:
    """Characters that differ (s2t keeps lengths; a length difference counts in full)."""
    return sum(a != b for a, b in zip(got, expected)) + abs(len(got) - len(expected))


@pytest.mark.parametrize("mode, config, lang", [("trad-t", "s2t", "zh-Hant"), ("trad-twp", "s2twp", "zh-Hant-TW")])
@pytest.mark.parametrize("name", CORPUS_PAGES or ["(corpus absent)"])
def test_page_reads_as_opencc_converts_it(corpus_site, js_off, name, mode, config, lang):
    upstream, proxied = corpus_site
    convert = get_converter(config).convert
    page = js_off.new_page()
    try:
        page.goto(f"{upstream}/{name}", wait_until="load")
        lines = visible_text(page).split("\n")
        title = page.title()
        page.goto(f"{proxied}/-/{mode}/{name}", wait_until="load")
        got = normalize(visible_text(page))
        got_title, got_lang = page.title(), page.evaluate("document.documentElement.lang")
    finally:
        page.close()
    expected = normalize("\n".join(convert(line) for line in lines))
    assert expected and got_lang == lang
    assert got_title == convert(title) or not title.strip()
    if got != expected:
        share = 1 - differing(got, expected) / len(expected)
        at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        pytest.fail(f"{share:.2%} of {len(expected)} characters as OpenCC converts them; first difference at {at}: "
                    f"proxy {got[max(0, at - 20):at + 20]!r} vs OpenCC {expected[max(0, at - 20):at + 20]!r}")
