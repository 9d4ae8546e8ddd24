"""The reader's toolbar in real Chromium, in front of the demo portal with the bundled rules: every toggle
changes the page (with JavaScript on and off), keyboard only, the accessibility tree, axe-core, layout
(pushes the portal down, never over it), target sizes and contrast, and the portal's own links."""
from __future__ import annotations

import re

import pytest

from proxy.demo.portal import create_portal_app
from proxy.settings import Toolbar as ToolbarSettings
from proxy.transforms.contrast import contrast_ratio
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

ARTICLE = "/xxgk/2026/art_1001.html"  # 头发, 面条, 心理发展 ... and a real article for the reader view
RULES = ROOT / "rules"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BAR = "#a11y-proxy-toolbar"


def _proxy(servers, upstream: str, **settings) -> str:
    return servers.proxy(upstream, rules_dir=RULES, upstream_aliases=("www.shifan.gov.cn",), **settings)


@pytest.fixture(scope="module")
def demo(servers):
    upstream = servers.serve(create_portal_app())
    return upstream, _proxy(servers, upstream)


@pytest.fixture(scope="module")
def contexts(chromium):
    """A browser context with JavaScript on and one with it off (cookies cleared by each test)."""
    made = {js: chromium.new_context(java_script_enabled=js, viewport={"width": 1280, "height": 900})
            for js in (True, False)}
    yield made
    for context in made.values():
        context.close()


@pytest.fixture
def open_page(contexts):
    """open_page(js=True) -> a fresh page in a context without cookies; closed after the test."""
    pages = []

    def _open(js: bool = True):
        context = contexts[js]
        context.clear_cookies()
        page = context.new_page()
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.close()


# --- helpers ------------------------------------------------------------------------------------------

def follow(page, selector: str) -> None:
    """Click a toolbar control and wait for the page it leads to (the toggle answers 303 to this page)."""
    with page.expect_navigation(wait_until="load"):
        page.click(selector)


def control(label: str) -> str:
    return f"{BAR} a.a11y-proxy-tb-link:text-is('{label}')"


def current(page) -> list[str]:
    return page.eval_on_selector_all(f"{BAR} a[aria-current='true']",
                                     "els => els.map(e => e.textContent.replace('✓', '').trim())")


def computed(page, selector: str, *properties: str) -> dict:
    return page.eval_on_selector(selector, "(el, props) => { const s = getComputedStyle(el);"
                                           " return Object.fromEntries(props.map(p => [p, s[p]])); }",
                                 list(properties))


def px(value: str) -> float:
    return float(value.removesuffix("px"))


def rgb(value: str) -> str:
    numbers = [int(float(n)) for n in re.findall(r"[\d.]+", value)[:3]]
    return "#" + "".join(f"{n:02x}" for n in numbers)


def press_accesskey(page, letter: str) -> None:
    """Alt+Shift+letter as the operating system delivers it (Playwright's keyboard.press leaves out the
    unmodified text Chromium matches accesskeys on, so the key events go through CDP)."""
    session = page.context.new_cdp_session(page)
    code = {"key": letter.upper(), "code": f"Key{letter.upper()}", "windowsVirtualKeyCode": ord(letter.upper()),
            "modifiers": 1 | 8}  # Alt | Shift
    with page.expect_navigation(wait_until="load"):
        session.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", "unmodifiedText": letter.lower(),
                                                "text": letter.upper(), **code})
        session.send("Input.dispatchKeyEvent", {"type": "char", "unmodifiedText": letter.lower(),
                                                "text": letter.upper(), **code})
        session.send("Input.dispatchKeyEvent", {"type": "keyUp", **code})
    session.detach()


def focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement;
        return {text: (e.textContent || '').replace('✓', '').trim(), id: e.id, cls: e.className,
                inBar: !!e.closest('#a11y-proxy-toolbar'), tag: e.tagName}; }""")


# --- every toggle, with and without JavaScript ----------------------------------------------------------

@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_each_toggle_changes_the_page(demo, open_page, js):
    upstream, proxied = demo
    page = open_page(js)
    path = ARTICLE + "?from=list"
    page.goto(proxied + path)
    paragraph = ".article .content p"
    plain_size = px(computed(page, paragraph, "fontSize")["fontSize"])
    plain_bar_size = px(computed(page, control("长者版"), "fontSize")["fontSize"])
    assert current(page) == ["简体"]
    assert "头发" in page.inner_text(".article")

    follow(page, control("繁体"))  # 简 -> 繁
    assert page.url == f"{proxied}/-/trad{path}"  # the same page (path and query), in Traditional
    assert "頭髮" in page.inner_text(".article") and "头发" not in page.inner_text(".article")
    assert page.inner_text(f"{BAR} .a11y-proxy-tb-title") == "無障礙工具欄"
    assert "繁體" in page.inner_text(f"{BAR} .a11y-proxy-trad-notice")  # the notice, in the toolbar
    assert current(page) == ["繁體", "通用繁體"]

    follow(page, control("香港繁體"))  # a Traditional variant
    assert page.url == f"{proxied}/-/trad-hk{path}"
    assert current(page) == ["繁體", "香港繁體"]

    follow(page, control("長者版"))  # elder: text really grows, the toolbar with it
    assert page.url == f"{proxied}/-/trad-hk+elder{path}"
    elder_size = px(computed(page, paragraph, "fontSize")["fontSize"])
    assert elder_size >= 24 and elder_size > plain_size
    assert px(computed(page, control("長者版"), "fontSize")["fontSize"]) == pytest.approx(1.5 * plain_bar_size)
    assert current(page) == ["繁體", "香港繁體", "長者版", "150%"]

    follow(page, control("200%"))  # a text-size step
    assert page.url == f"{proxied}/-/trad-hk+elder-200{path}"
    assert px(computed(page, paragraph, "fontSize")["fontSize"]) > elder_size
    assert px(computed(page, control("長者版"), "fontSize")["fontSize"]) == pytest.approx(2 * plain_bar_size)

    follow(page, control("高對比度"))  # contrast: the scheme applies to the page and to the toolbar
    assert page.url == f"{proxied}/-/trad-hk+elder-200+contrast{path}"
    body = computed(page, "body", "backgroundColor", "color")
    assert (rgb(body["backgroundColor"]), rgb(body["color"])) == ("#000000", "#ffffff")
    assert rgb(computed(page, BAR, "backgroundColor")["backgroundColor"]) == "#000000"

    follow(page, control("黑底黃字"))  # a scheme
    assert rgb(computed(page, paragraph, "color")["color"]) == "#ffff00"
    assert current(page) == ["繁體", "香港繁體", "長者版", "200%", "高對比度", "黑底黃字"]

    follow(page, f"{BAR} a[accesskey='y']")  # reader view (閲讀模式 in Hong Kong script): the article alone
    assert page.url == f"{proxied}/-/trad-hk+elder-200+contrast-yb+reader{path}"
    assert "敬老月" in page.inner_text("main h1")
    assert page.query_selector(".nav") is None and page.query_selector(BAR) is not None
    assert page.evaluate("document.body.firstElementChild.id") == "a11y-proxy-toolbar"

    follow(page, control("重置"))  # reset: plain again, same page
    assert page.url == f"{proxied}{path}"
    assert current(page) == ["简体"]
    assert px(computed(page, paragraph, "fontSize")["fontSize"]) == plain_size
    cookie = next(c for c in page.context.cookies() if c["name"] == "a11y_modes")
    assert cookie["value"] == "plain" and cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_the_choice_persists_in_the_cookie(demo, open_page, js):
    upstream, proxied = demo
    page = open_page(js)
    page.goto(proxied + "/xxgk/list.html")
    follow(page, control("长者版"))
    assert page.url == f"{proxied}/-/elder/xxgk/list.html"
    page.goto(proxied + ARTICLE)  # a plain link later: served in the reader's modes
    assert page.url == f"{proxied}/-/elder{ARTICLE}"
    assert current(page) == ["简体", "长者版", "150%"]


def test_script_keeps_the_fragment(demo, open_page):
    upstream, proxied = demo
    page = open_page(js=True)
    page.goto(f"{proxied}{ARTICLE}#a11y-proxy-main")
    follow(page, control("长者版"))
    assert page.url == f"{proxied}/-/elder{ARTICLE}#a11y-proxy-main"
    page = open_page(js=False)  # without script: same page, top of it (documented)
    page.goto(f"{proxied}{ARTICLE}#a11y-proxy-main")
    follow(page, control("长者版"))
    assert page.url == f"{proxied}/-/elder{ARTICLE}"


# --- keyboard only ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_keyboard_only(demo, open_page, js):
    upstream, proxied = demo
    page = open_page(js)
    page.goto(proxied + ARTICLE)
    order = []
    for _ in range(8):
        page.keyboard.press("Tab")
        order.append(focused(page))
    assert order[0]["cls"] == "a11y-proxy-skip"  # the skip link first
    assert [f["text"] for f in order[1:7]] == ["简体", "繁体", "长者版", "高对比度", "阅读模式", "重置"]
    assert all(f["inBar"] for f in order[1:7]) and not order[7]["inBar"]  # then the portal
    # The focused control is plainly visible, and the shortcuts show while focus is in the toolbar.
    page.keyboard.press("Shift+Tab")
    style = computed(page, ":focus", "outlineStyle", "outlineWidth", "backgroundColor")
    assert style["outlineStyle"] == "solid" and px(style["outlineWidth"]) >= 3
    keys = page.query_selector(f"{BAR} .a11y-proxy-tb-keys")
    assert keys.is_visible() and "Alt+Shift+Z" in keys.inner_text()
    # Back to 长者版 and Enter: elder mode on the same page.
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
    assert focused(page)["text"] == "长者版"
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    assert page.url == f"{proxied}/-/elder{ARTICLE}"
    order = []
    for _ in range(9):
        page.keyboard.press("Tab")
        order.append(focused(page)["text"])
    assert order[3:9] == ["长者版", "125%", "150%", "175%", "200%", "高对比度"]  # the steps follow their switch
    # The documented shortcuts: Alt+Shift+G contrast, Alt+Shift+J Traditional, Alt+Shift+C reset.
    press_accesskey(page, "g")
    assert page.url == f"{proxied}/-/elder+contrast{ARTICLE}"
    press_accesskey(page, "j")
    assert page.url == f"{proxied}/-/trad+elder+contrast{ARTICLE}"
    press_accesskey(page, "c")
    assert page.url == f"{proxied}{ARTICLE}"


# tabindex values as HTML's rules for parsing integers read them: "2px" is 2, " 1.5" is 1, "+3" is 3, "0.5" is 0
# (XPath's number() makes "2px" no number and "0.5" positive; int() refuses "1.5").
TABINDEX_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>办事指南</title></head>
<body><header><a href="/">首页</a></header><main><h1>办事指南</h1><p>正文。</p>
<a href="/apply" tabindex="{value}">在线申请</a></main></body></html>"""


@pytest.mark.parametrize("value", ["2px", " 1.5", "+3", "0.5"])
def test_skip_link_and_toolbar_come_first_whatever_the_page_tabindex(servers, open_page, value):
    """Whatever tabindex form the page uses, the first Tab stop is the skip link and the next six are the
    toolbar; then the portal, its positively indexed link first where the browser reads a positive value."""
    from aiohttp import web

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=TABINDEX_PAGE.format(value=value), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    proxied = _proxy(servers, servers.serve(app))
    tab = open_page(js=False)
    tab.goto(proxied + "/guide.html")
    order = []
    for _ in range(8):
        tab.keyboard.press("Tab")
        order.append(focused(tab))
    assert order[0]["cls"] == "a11y-proxy-skip", order
    assert [f["text"] for f in order[1:7]] == ["简体", "繁体", "长者版", "高对比度", "阅读模式", "重置"]
    assert order[7]["text"] == ("在线申请" if value != "0.5" else "首页")


def test_tabindex_is_read_as_chromium_reads_it(chromium):
    """aria.tabindex_of against the tabIndex Chromium gives a <div> (-1 where it reads no value)."""
    import random

    from proxy.transforms.aria import tabindex_of

    rng = random.Random(7)
    values = ["1", " 2 ", "2px", "1.5", "+1", "-1", "-0", "0.5", "abc", "", "0x1", "\u00a01", "\u30001", "\x0b1",
              "\f3", "1e3", "０１", "00000000000000000007", "2147483647", "2147483648", "-2147483648", "-2147483649",
              "99999999999", "1" * 5000, "+-1", "- 1", "٣"]
    values += ["".join(rng.choice("0123456789+- \t\n.x") for _ in range(rng.randint(0, 5))) for _ in range(300)]
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_content("<body></body>")
        theirs = page.evaluate("""values => values.map(v => { const d = document.createElement('div');
            d.setAttribute('tabindex', v); return d.tabIndex; })""", values)
    finally:
        context.close()
    for value, read in zip(values, theirs):
        ours = tabindex_of(value)
        assert (-1 if ours is None else ours) == read, repr(value[:40])


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_portal_links_lead_to_the_toggles_and_the_toolbar(demo, open_page, js):
    upstream, proxied = demo
    page = open_page(js)
    page.goto(proxied + "/xxgk/list.html")
    follow(page, ".topbar a:text-is('繁体版')")
    assert page.url == f"{proxied}/-/trad/xxgk/list.html"
    follow(page, control("重置"))
    follow(page, ".topbar a:text-is('长者版')")
    assert page.url == f"{proxied}/-/elder/xxgk/list.html"
    page.click(".topbar a:text-is('无障碍浏览')")  # to the toolbar: focus moves there
    assert page.url.endswith("#a11y-proxy-toolbar")
    assert page.evaluate("document.activeElement.id") == "a11y-proxy-toolbar"
    page.keyboard.press("Tab")
    assert focused(page)["inBar"] and focused(page)["text"] == "简体"


# --- what assistive technology gets -----------------------------------------------------------------------

def test_accessibility_tree_shows_the_toolbar_region_and_the_landmarks(demo, open_page):
    upstream, proxied = demo
    page = open_page(js=False)
    page.goto(proxied + ARTICLE)
    session = page.context.new_cdp_session(page)
    nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    session.detach()
    by_id = {n["nodeId"]: n for n in nodes}

    def value(node, key):
        return (node.get(key) or {}).get("value")

    landmarks = [(value(n, "role"), value(n, "name") or "") for n in nodes if not n.get("ignored") and value(
        n, "role") in ("banner", "navigation", "main", "contentinfo", "search", "region", "complementary", "form")]
    assert landmarks[0] == ("region", "无障碍工具栏")  # first, before the portal's own landmarks
    roles = {role for role, _ in landmarks}
    assert {"banner", "navigation", "main", "contentinfo", "search"} <= roles
    assert len(landmarks) == len(set(landmarks))  # every role/name pair once
    region = next(n for n in nodes if value(n, "role") == "region" and value(n, "name") == "无障碍工具栏")
    assert "Alt+Shift+Z 长者版" in value(region, "description")

    def descendants(node):
        for child in node.get("childIds", []):
            yield by_id[child]
            yield from descendants(by_id[child])

    inside = [n for n in descendants(region) if value(n, "role") == "link"]
    assert [value(n, "name") for n in inside] == ["简体", "繁体", "长者版", "高对比度", "阅读模式", "重置"]
    shortcuts = {value(n, "name"): next((p["value"]["value"] for p in n.get("properties", [])
                                         if p["name"] == "keyshortcuts"), None) for n in inside}
    assert shortcuts["长者版"] and shortcuts["长者版"].lower().endswith("+z")
    # No landmark inside the toolbar, and the toolbar inside no other landmark.
    assert not [n for n in descendants(region) if value(n, "role") in {r for r, _ in landmarks}]


AXE_IN_TOOLBAR = """async () => {
  const result = await axe.run({include: ['#a11y-proxy-toolbar']},
                               {rules: {'color-contrast-enhanced': {enabled: true}}});
  return result.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(' '))}));
}"""
AXE_WHOLE_PAGE = """async () => {
  const result = await axe.run(document);
  return result.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(' '))}));
}"""
LANDMARK_RULES = {"region", "landmark-unique", "landmark-no-duplicate-banner", "landmark-no-duplicate-main",
                  "landmark-no-duplicate-contentinfo", "landmark-one-main", "landmark-banner-is-top-level",
                  "landmark-main-is-top-level", "landmark-contentinfo-is-top-level",
                  "landmark-complementary-is-top-level", "accesskeys", "duplicate-id", "duplicate-id-aria",
                  "bypass", "aria-allowed-attr", "aria-allowed-role", "nested-interactive"}


@pytest.mark.parametrize("modes", ["", "trad+elder-200+contrast-yb", "elder-125+contrast-bw", "contrast-by+reader",
                                   "trad-twp+contrast", "trad-hk+elder-175"])
def test_axe_finds_nothing_in_the_toolbar(demo, open_page, modes):
    if not AXE.exists():
        pytest.skip("axe-core is not installed (tests/run.sh installs it with npm)")
    upstream, proxied = demo
    page = open_page(js=True)
    page.goto(proxied + (f"/-/{modes}" if modes else "") + ARTICLE)
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(AXE_IN_TOOLBAR) == []  # every rule, AAA contrast (7:1) included
    # On the whole page, the toolbar breaks no landmark rule and is named in no violation.
    whole = page.evaluate(AXE_WHOLE_PAGE)
    assert [v for v in whole if v["id"] in LANDMARK_RULES] == []
    assert [v for v in whole if any("a11y-proxy-t" in n for n in v["nodes"])] == []


# --- layout, size, contrast --------------------------------------------------------------------------------

BOXES = """() => { const box = s => { const e = document.querySelector(s); if (!e) return null;
  const r = e.getBoundingClientRect(); return {top: r.top + scrollY, bottom: r.bottom + scrollY, left: r.left,
  right: r.right, height: r.height}; };
  return {bar: box('#a11y-proxy-toolbar'), topbar: box('.topbar'), header: box('.header'), nav: box('.nav'),
          footer: box('.footer'), position: document.getElementById('a11y-proxy-toolbar') &&
          getComputedStyle(document.getElementById('a11y-proxy-toolbar')).position,
          height: document.documentElement.scrollHeight}; }"""


def overlaps(a: dict, b: dict) -> bool:
    return a["top"] < b["bottom"] - 0.5 and b["top"] < a["bottom"] - 0.5 and a["left"] < b["right"] and \
        b["left"] < a["right"]


@pytest.mark.parametrize("modes", ["", "elder", "trad+elder-200", "contrast-yb"])
def test_toolbar_pushes_the_portal_down_and_never_covers_it(demo, open_page, modes):
    upstream, proxied = demo
    page = open_page(js=False)
    page.goto(upstream + "/")
    before = page.evaluate(BOXES)
    page.goto(proxied + (f"/-/{modes}" if modes else "") + "/")
    after = page.evaluate(BOXES)
    bar = after["bar"]
    assert after["position"] == "static"
    assert bar["top"] == 0 and bar["height"] >= 44
    for part in ("topbar", "header", "nav", "footer"):
        assert not overlaps(bar, after[part]), part
    assert after["topbar"]["top"] >= bar["bottom"] - 0.5  # the portal starts below the toolbar
    if not modes:  # in plain mode the portal is exactly where it was, moved down by the toolbar's height
        for part in ("topbar", "header", "nav"):
            assert after[part]["top"] == pytest.approx(before[part]["top"] + bar["height"], abs=1), part


def test_position_bottom(demo, servers, open_page):
    upstream, _ = demo
    bottom = _proxy(servers, upstream, toolbar=ToolbarSettings(position="bottom"))
    page = open_page(js=False)
    page.goto(upstream + "/")
    before = page.evaluate(BOXES)
    page.goto(bottom + "/")
    after = page.evaluate(BOXES)
    assert after["header"]["top"] == pytest.approx(before["header"]["top"], abs=1)
    assert after["bar"]["top"] >= after["footer"]["bottom"] - 0.5
    page.keyboard.press("Tab")
    assert focused(page)["cls"] == "a11y-proxy-skip"  # the skip link still first


def test_no_toolbar_when_disabled(demo, servers, open_page):
    upstream, _ = demo
    off = _proxy(servers, upstream, toolbar=ToolbarSettings(enabled=False))
    page = open_page(js=False)
    page.goto(off + "/xxgk/list.html")
    assert page.query_selector(BAR) is None
    assert page.query_selector("link[href='/-/static/toolbar.css']") is None
    follow(page, ".topbar a:text-is('繁体版')")  # the portal's own link still toggles
    assert page.url == f"{off}/-/trad/xxgk/list.html"
    assert page.query_selector(BAR) is None


MEASURE_CONTROLS = """() => [...document.querySelectorAll('#a11y-proxy-toolbar a')].map(a => {
  const r = a.getBoundingClientRect(), s = getComputedStyle(a);
  return {text: a.textContent, width: r.width, height: r.height, color: s.color, background: s.backgroundColor,
          size: parseFloat(s.fontSize)}; })"""


@pytest.mark.parametrize("modes", ["", "elder-125", "contrast", "contrast-bw", "contrast-yb", "contrast-by",
                                   "elder-200+contrast-by"])
def test_targets_and_contrast(demo, open_page, modes):
    upstream, proxied = demo
    page = open_page(js=False)
    page.goto(proxied + (f"/-/{modes}" if modes else "") + ARTICLE)
    controls = page.evaluate(MEASURE_CONTROLS)
    assert len(controls) >= 6
    for c in controls:
        assert c["width"] >= 44 and c["height"] >= 44, c
        assert contrast_ratio(rgb(c["color"]), rgb(c["background"])) >= 7, c
        assert c["size"] >= 16, c
    bar = computed(page, BAR, "color", "backgroundColor")
    assert contrast_ratio(rgb(bar["color"]), rgb(bar["backgroundColor"])) >= 7
    # Focused, each control keeps 7:1 and gets a solid outline.
    for n in range(len(controls)):
        page.focus(f"{BAR} a >> nth={n}")
        style = computed(page, ":focus", "color", "backgroundColor", "outlineStyle", "outlineWidth")
        assert contrast_ratio(rgb(style["color"]), rgb(style["backgroundColor"])) >= 7, style
        assert style["outlineStyle"] == "solid" and px(style["outlineWidth"]) >= 3


def test_portal_css_cannot_reach_in(demo, servers, open_page):
    """A hostile portal stylesheet (every <a>, <ul>, <section> restyled with !important) changes nothing."""
    from aiohttp import web

    hostile = ("<!DOCTYPE html><html><head><title>样式冲突</title><style>"
               "a{color:#ccc!important;font-size:9px!important;display:none!important}"
               "ul,li{margin:40px!important;float:right!important}"
               "section{position:fixed!important;top:0!important;opacity:.1!important}"
               "#a11y-proxy-toolbar a.a11y-proxy-tb-link{color:#eee!important}"
               "*{line-height:8px!important}</style></head>"
               "<body><div class='main'><h1>页面标题</h1><p>正文。</p></div></body></html>")

    async def page_handler(request):
        return web.Response(text=hostile, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page_handler)
    proxied = servers.proxy(servers.serve(app))
    page = open_page(js=False)
    page.goto(proxied + "/")
    style = computed(page, control("长者版"), "color", "fontSize", "display", "lineHeight")
    assert rgb(style["color"]) == "#0b2e5c" and style["fontSize"] == "16px"
    assert style["display"] in ("flex", "inline-flex")  # inline-flex, blockified inside the flex list item
    assert px(style["lineHeight"]) == 24  # 1.5, not the portal's 8px
    assert page.is_visible(control("长者版"))
    assert computed(page, BAR, "position", "opacity") == {"position": "static", "opacity": "1"}
