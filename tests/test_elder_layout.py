"""Elder mode's layout, in real Chromium at every step: larger text may make the page longer, but never makes text
run into other text, cuts it off, or pulls a form's controls apart (issue 16).

A fixture portal (tests/fixtures/elder_layout: a header link row pinned beside a floated menu, a menu of fixed-width
one-line items, a search field and button in a fixed-width cell, fields and buttons sized in one rule, floated dates beside one-line titles in a
fixed-width list, a fixed-height title bar, a footer link row laid over its heading, a link row one line high in
em above a heading, boxes of fixed height in calc() and in block-size) and the demo portal's home
page, each upstream and through the proxy at 125/150/175/200 %.  Overlapping text and clipped text are counted
with tools/text_overlap.js, as tools/audit_modes.py counts them on the corpus.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from proxy.demo.portal import create_portal_app
from proxy.modes import ELDER_STEPS
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parent.parent
OVERLAP_JS = (ROOT / "tools" / "text_overlap.js").read_text(encoding="utf-8")
LAYOUT = FIXTURES / "elder_layout"

# Where a form's controls are, against the box that holds them (a table cell grows with what it holds: the
# fixed-width box around the table is what a field must not leave).
CONTROLS = """(ids) => ids.map(([cell, field, button]) => {
  const box = e => { const r = document.querySelector(e).getBoundingClientRect();
                     return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  return {cell: box(cell), field: box(field), button: box(button)};
})"""


def step_path(step: int) -> str:
    return "/-/elder/" if step == 150 else f"/-/elder-{step}/"


def fixture_portal() -> web.Application:
    async def page(request: web.Request) -> web.Response:
        return web.Response(body=(LAYOUT / "portal.html").read_bytes(), content_type="text/html", charset="utf-8")

    async def stylesheet(request: web.Request) -> web.Response:
        return web.Response(body=(LAYOUT / "layout.css").read_bytes(), content_type="text/css", charset="utf-8")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/css/layout.css", stylesheet)
    return app


@pytest.fixture(scope="module")
def tab(chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    yield page
    page.close()


def measure(tab, url: str, controls: list[tuple[str, str, str]]) -> dict:
    tab.goto(url, wait_until="load")
    result = tab.evaluate(OVERLAP_JS)
    result["controls"] = tab.evaluate(CONTROLS, [list(c) for c in controls])
    result["scroll_width"] = tab.evaluate("document.documentElement.scrollWidth")
    # Menu items whose words were broken over two lines (信息公/开): a word of the menu must stay whole.
    result["broken_items"] = tab.evaluate("""() => [...document.querySelectorAll('#nav a, .nav a')].filter(a => {
      const range = document.createRange(); range.selectNodeContents(a);
      return new Set([...range.getClientRects()].filter(r => r.width >= 1).map(r => Math.round(r.top))).size > 1;
    }).map(a => a.textContent)""")
    result["title_px"] = tab.evaluate("() => { const a = document.querySelector('#news a, .list a');"
                                      " return a ? parseFloat(getComputedStyle(a).fontSize) : 0; }")
    return result


def assert_controls_hold_together(controls: list[dict], where: str) -> None:
    """Field and button inside their box, on one row: the button beside the field, not over it nor dropped under."""
    for found in controls:
        cell, field, button = found["cell"], found["field"], found["button"]
        for name, box in (("field", field), ("button", button)):
            assert box["left"] >= cell["left"] - 1 and box["right"] <= cell["right"] + 1, (where, name, found)
        assert button["left"] >= field["right"] - 1, (where, "button not beside the field", found)
        assert button["top"] < field["bottom"] and field["top"] < button["bottom"], (where, "not on one row", found)


@pytest.mark.browser
def test_fixture_portal_text_never_collides_nor_is_cut(servers, tab):
    upstream = servers.serve(fixture_portal())
    proxied = servers.proxy(upstream)
    controls = [("#head", "#q", "#go"), ("#tools", "#tools .word", "#find")]
    before = measure(tab, upstream + "/", controls)
    assert (before["pairs"], before["clipped"]) == (0, 0), before  # the fixture is sound at its own size
    for step in ELDER_STEPS:
        after = measure(tab, proxied + step_path(step), controls)
        where = f"elder {step}%"
        assert after["title_px"] >= 20, (where, after["title_px"])  # (elder mode did enlarge the text)
        assert after["pairs"] == 0, (where, after["examples"])
        assert after["clipped"] == 0, (where, after["clippedExamples"])
        assert after["scroll_width"] <= 1280, (where, after["scroll_width"])
        assert after["broken_items"] == [], (where, after["broken_items"])
        assert_controls_hold_together(after["controls"], where)


@pytest.mark.browser
def test_demo_home_page_at_every_step(servers, tab):
    upstream = servers.serve(create_portal_app())
    proxied = servers.proxy(upstream, rules_dir=ROOT / "rules", upstream_aliases=("www.shifan.gov.cn",))
    controls = [(".header", "td.search input[name=q]", "td.search input[type=submit]")]
    before = measure(tab, upstream + "/", controls)
    assert before["pairs"] == 0, before["examples"]
    for step in ELDER_STEPS:
        after = measure(tab, proxied + step_path(step), controls)
        where = f"demo home, elder {step}%"
        assert after["pairs"] == 0, (where, after["examples"])
        assert after["clipped"] <= before["clipped"], (where, after["clippedExamples"])
        assert after["scroll_width"] <= 1280, (where, after["scroll_width"])
        assert after["broken_items"] == [], (where, after["broken_items"])
        assert_controls_hold_together(after["controls"], where)
