"""Screen-reader repairs in real Chromium, on small portal-like pages (tests/fixtures/repairs/): axe-core finds
no landmark, region, bypass, language, title, frame, viewport, motion or naming violation through the proxy
(and no rule violated more often than upstream); Chromium's accessibility tree shows the landmarks; plain mode
with the toolbar off is pixel-identical to upstream; the skip link appears on focus and leads into main.
"""
from __future__ import annotations

import re
import struct
import zlib

import pytest
from aiohttp import web

from proxy.settings import Toolbar
from tests.conftest import FIXTURES, ROOT

pytestmark = pytest.mark.browser

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PAGES = FIXTURES / "repairs"
# What the repairs promise to leave at zero (axe-core rule ids; every landmark-* rule is added at run time).
STRUCTURE = ["region", "bypass", "html-has-lang", "html-lang-valid", "html-xml-lang-mismatch", "valid-lang",
             "document-title", "frame-title", "meta-viewport", "marquee", "meta-refresh"]
NAMES = {  # rule groups of the names repairs
    "image-alt": ["image-alt", "input-image-alt", "area-alt", "role-img-alt"],
    "link-name": ["link-name"],
    "label": ["label", "select-name"],
    "button-name": ["button-name", "input-button-name"],
}
# Rules the repairs could break if they were careless (roles on the wrong element, names where none may be).
SAFETY = ["aria-allowed-role", "aria-prohibited-attr", "presentation-role-conflict", "list", "listitem",
          "aria-required-children", "aria-required-parent", "duplicate-id-aria", "nested-interactive",
          "aria-hidden-focus", "empty-heading", "heading-order", "label-title-only", "landmark-unique"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
LANDMARK_ROLES = ("banner", "navigation", "main", "contentinfo", "search", "complementary", "region", "form")


def name_rules() -> list[str]:
    return [rule for group in NAMES.values() for rule in group]


# --- helpers shared with the corpus test -------------------------------------------------------------------

def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.skip(f"axe-core is not installed at {AXE_JS} (tests/run.sh runs npm install)")
    return AXE_JS.read_text(encoding="utf-8")


def run_axe(page, source: str, rules: list[str] | None = None, frames: bool = True) -> dict[str, int]:
    """{rule id: nodes} of axe-core's violations on the loaded page (only `rules` when given, else the usual
    WCAG 2.x A/AA and best-practice tags).  With frames, axe also runs in every frame, as audit.py does."""
    inject(page, source, frames)
    options = {"resultTypes": ["violations"], "iframes": frames}
    options["runOnly"] = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": AXE_TAGS}
    found = page.evaluate("async (options) => (await axe.run(document, options)).violations"
                          ".map(v => [v.id, v.nodes.length])", options)
    return {rule: count for rule, count in found}


def inject(page, source: str, frames: bool = True) -> None:
    for frame in page.frames if frames else [page.main_frame]:
        try:
            if frame.evaluate("typeof axe") == "undefined":
                frame.evaluate(source + "\n;void 0")
        except Exception:  # a frame that went away or cannot run script
            if frame == page.main_frame:
                raise


def axe_landmark_rules(page) -> list[str]:
    return page.evaluate("() => axe.getRules().map(r => r.ruleId).filter(id => id.startsWith('landmark-'))")


def ax_landmarks(page) -> list[tuple[str, str]]:
    """(role, name) of every landmark in Chromium's accessibility tree (CDP Accessibility.getFullAXTree)."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("Accessibility.enable")
        tree = session.send("Accessibility.getFullAXTree")
    finally:
        session.detach()
    found = []
    for node in tree.get("nodes", []):
        role = (node.get("role") or {}).get("value")
        if not node.get("ignored") and role in LANDMARK_ROLES:
            found.append((role, ((node.get("name") or {}).get("value") or "").strip()))
    return found


def new_violations(upstream: dict[str, int], proxied: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Rules violated on more nodes through the proxy than upstream: {rule: (upstream, proxy)}."""
    return {rule: (upstream.get(rule, 0), count) for rule, count in proxied.items() if count > upstream.get(rule, 0)}


# --- the fixture site ---------------------------------------------------------------------------------------

def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def fixture_site() -> web.Application:
    """The fixture pages as a portal: HTML from tests/fixtures/repairs, images drawn on the fly (so the proxy's
    alt texts never show as broken-image text and the screenshots compare what readers see)."""

    async def page(request: web.Request) -> web.Response:
        path = PAGES / request.match_info["name"]
        if not path.is_file() or path.suffix != ".html":
            raise web.HTTPNotFound()
        body = path.read_bytes()
        if "lang" in request.query:  # the same page with its language declared right
            body = re.sub(rb'(xml:)?lang="en"', lambda m: m.group(0).replace(b'"en"', b'"zh-CN"'), body)
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    async def image(request: web.Request) -> web.Response:
        seed = zlib.crc32(request.match_info["name"].encode())
        color = (seed & 0x7F, (seed >> 8) & 0x7F, 128 + ((seed >> 16) & 0x7F))
        return web.Response(body=png(8, 8, color), content_type="image/png")

    async def other(request: web.Request) -> web.Response:
        return web.Response(text="<p>示范</p>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/images/{name}", image)
    app.router.add_get("/{name:[a-z]+\\.html}", page)
    app.router.add_get("/{tail:.*}", other)
    return app


FIXTURE_PAGES = ["article.html", "home.html", "login.html"]
# No motion upstream, so screenshots compare.  The article is taken with its language declared right: where
# the proxy corrects a wrong lang="en" on a Chinese page, Chromium rightly picks Chinese glyph forms.
STILL_PAGES = ["article.html?lang", "login.html"]


@pytest.fixture(scope="module")
def site(servers):
    upstream = servers.serve(fixture_site())
    return upstream, servers.proxy(upstream, toolbar=Toolbar(enabled=False))


@pytest.fixture(scope="module")
def context(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1, locale="zh-CN")
    yield context
    context.close()


def load(context, url: str):
    page = context.new_page()
    page.goto(url, wait_until="load")
    return page


@pytest.mark.parametrize("name", FIXTURE_PAGES)
def test_no_structural_or_naming_violation_and_nothing_worse(site, context, name):
    """One full axe run (WCAG 2.x A/AA and best-practice) on each side: the repaired rules are at zero through
    the proxy, and no rule at all is violated on more nodes than upstream."""
    upstream, proxied = site
    source = axe_source()
    results = []
    for base in (upstream, proxied):
        page = load(context, f"{base}/{name}")
        try:
            results.append(run_axe(page, source))
            promised = STRUCTURE + axe_landmark_rules(page) + name_rules()
        finally:
            page.close()
    before, after = results
    assert any(rule in before for rule in promised), f"{name}: the fixture should need repairs"
    assert {rule: n for rule, n in after.items() if rule in promised} == {}, f"{name}: upstream had {before}"
    assert new_violations(before, after) == {}


def test_accessibility_tree_shows_the_landmarks(site, context):
    _, proxied = site
    page = load(context, f"{proxied}/article.html")
    try:
        found = ax_landmarks(page)
    finally:
        page.close()
    roles = [role for role, _ in found]
    assert roles.count("main") == 1 and roles.count("banner") == 1 and roles.count("contentinfo") == 1
    assert ("navigation", "主导航") in found and ("navigation", "当前位置") in found
    assert "search" in roles
    assert ("main", "关于开展2026年市民健康体检服务的通知") in found


@pytest.mark.parametrize("name", STILL_PAGES)
def test_plain_mode_looks_exactly_like_upstream(site, context, name, tmp_path):
    upstream, proxied = site
    shots = []
    for label, base in (("upstream", upstream), ("proxy", proxied)):
        page = load(context, f"{base}/{name}")
        try:
            path = tmp_path / f"{label}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
            shots.append(path.read_bytes())
        finally:
            page.close()
    assert shots[0] == shots[1], f"{name}: screenshots differ (see {tmp_path})"


def test_skip_link_shows_on_focus_and_leads_into_main(site, context):
    _, proxied = site
    page = load(context, f"{proxied}/article.html")
    try:
        hidden_box = page.locator("a.a11y-proxy-skip").bounding_box()
        assert hidden_box["width"] <= 1 and hidden_box["height"] <= 1
        page.keyboard.press("Tab")
        focused = page.evaluate("() => [document.activeElement.className, document.activeElement.textContent]")
        assert focused == ["a11y-proxy-skip", "跳到主要内容"]
        box = page.locator("a.a11y-proxy-skip").bounding_box()
        assert box["width"] > 80 and box["height"] > 20 and box["x"] >= 0 and box["y"] >= 0
        assert page.evaluate("() => getComputedStyle(document.activeElement).clipPath") == "none"
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        inside = page.evaluate("() => !!document.activeElement.closest('[role=main], main')")
        assert inside, "after the skip link, the next Tab stop is inside main"
    finally:
        page.close()


def test_debug_view_renders_outlines(site, context):
    _, proxied = site
    page = load(context, f"{proxied}/-/debug/article.html")
    try:
        legend = page.locator("#a11y-proxy-debug").inner_text()
        outline = page.evaluate("() => getComputedStyle(document.querySelector('[data-a11y-proxy-kind=landmark]'))"
                                ".outlineStyle")
    finally:
        page.close()
    assert "landmark main" in legend and "heuristic landmarks" in legend
    assert outline == "solid"
