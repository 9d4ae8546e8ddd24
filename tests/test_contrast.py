"""High contrast (the `contrast` mode): the stylesheets and their colours, the transform on small strings,
through the proxy, and in real Chromium: for each of the four schemes, axe-core finds no color-contrast or
color-contrast-enhanced (7:1) violation on a portal-like page, computed colours are the scheme's (JavaScript
off), visited links and focus are in their colours, images keep theirs; and over the corpus pages.
"""
from __future__ import annotations

import os
import re
import struct
import zlib

import pytest
from aiohttp import web
from lxml import etree
from yarl import URL

from proxy import document
from proxy.modes import parse as parse_modes
from proxy.pipeline import Page, build_pipeline
from proxy.settings import Settings
from proxy.transforms.contrast import SCHEMES, STATIC, contrast_ratio, stylesheet
from tests.conftest import CORPUS_PAGES, ROOT

SETTINGS = Settings()
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CONTRAST_RULES = ["color-contrast", "color-contrast-enhanced"]


def render(html: str, modes: str = "contrast", url: str = "http://www.shifan.gov.cn/a.html") -> str:
    page = Page(url=URL(url), modes=parse_modes(modes), settings=SETTINGS)
    return build_pipeline(SETTINGS).render(html, page)


def tree(html: str) -> etree._Element:
    return document.parse(html).root


# --- the stylesheets ----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", list(SCHEMES))
def test_static_stylesheet_is_generated_from_the_scheme_table(key):
    path = STATIC / f"contrast-{key}.css"
    assert path.read_text(encoding="utf-8") == stylesheet(SCHEMES[key]), \
        "proxy/static is stale: run python3 -m proxy.transforms.contrast"


@pytest.mark.parametrize("key", list(SCHEMES))
def test_every_colour_of_a_scheme_reaches_7_to_1(key):
    scheme = SCHEMES[key]
    for name in ("fg", "link", "visited", "focus"):
        assert contrast_ratio(getattr(scheme, name), scheme.bg) >= 7, name
    # Every colour the sheet names is one of the scheme's (nothing else sneaks in).
    css = stylesheet(scheme)
    named = set(re.findall(r"#[0-9a-f]{6}\b", css, re.I))
    assert named <= {scheme.fg, scheme.bg, scheme.link, scheme.visited, scheme.focus}


def test_reader_stylesheet_colours_reach_7_to_1():
    css = (STATIC / "reader.css").read_text(encoding="utf-8")
    for colour in set(re.findall(r"(?<![-\w])color:\s*(#[0-9a-f]{6})", css, re.I)):
        assert contrast_ratio(colour, "#ffffff") >= 7, colour


def test_contrast_ratio_arithmetic():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#fff", "#000") == pytest.approx(21.0)


# --- the transform on small strings -------------------------------------------------------------------

def test_link_is_last_in_head_and_class_on_html():
    out = render("""<html class="js no-touch"><head><title>t</title><link rel="stylesheet" href="/css/a.css">
        <style>p{color:#999}</style></head><body><p>正文</p><link rel="stylesheet" href="/late.css"></body></html>""",
                 "contrast-yb")
    root = tree(out)
    head = root.find("head")
    last = head[-1]
    assert last.tag == "link" and last.get("href") == "/-/static/contrast-yb.css" and last.get("rel") == "stylesheet"
    assert root.get("class").split() == ["js", "no-touch", "a11y-proxy-contrast-yb"]


@pytest.mark.parametrize("token,key", [("contrast", "wb"), ("contrast-wb", "wb"), ("contrast-bw", "bw"),
                                       ("contrast-yb", "yb"), ("contrast-by", "by")])
def test_each_token_links_its_scheme(token, key):
    out = render("<p>正文</p>", token)
    assert f'href="/-/static/contrast-{key}.css"' in out
    assert f"a11y-proxy-contrast-{key}" in tree(out).get("class")


def test_plain_and_other_modes_get_no_stylesheet():
    for modes in ("", "trad", "elder", "reader"):
        assert "contrast-" not in render("<p>正文</p>", modes)


def test_inline_important_colours_lose_important_other_declarations_keep_it():
    out = render('<p id="a" style="color:#999 !important; width: 10px !important; background:#fff!important">x</p>'
                 '<p id="b" style="border-color: #eee ! IMPORTANT;font-size:12px">y</p>')
    styles = [tree(out).find(f".//p[@id='{i}']").get("style") for i in "ab"]
    assert styles[0] == "color:#999; width: 10px !important; background:#fff"
    assert styles[1] == "border-color: #eee;font-size:12px"


def test_partial_opacity_made_opaque_hidden_stays_hidden():
    out = render('<html><head><style>.a{opacity:.5}.b{opacity:0}.c{opacity:80%}.d{opacity:1}</style></head>'
                 '<body><p id="a" style="opacity:0.4">x</p><p id="b" style="opacity:0">y</p></body></html>')
    root = tree(out)
    assert root.find(".//style").text == ".a{opacity:1}.b{opacity:0}.c{opacity:1}.d{opacity:1}"
    assert [root.find(f".//p[@id='{i}']").get("style") for i in "ab"] == ["opacity:1", "opacity:0"]


def test_applied_after_elder_and_with_reader():
    out = render("<p>正文</p>", "elder+contrast-by")
    hrefs = [link.get("href") for link in tree(out).find("head").iter("link")]
    assert hrefs.index("/-/static/elder.css") < hrefs.index("/-/static/contrast-by.css") == len(hrefs) - 1
    out = render("<p>正文</p>", "contrast+reader")
    hrefs = [link.get("href") for link in tree(out).find("head").iter("link")]
    assert hrefs[-2:] == ["/-/static/reader.css", "/-/static/contrast-wb.css"]


# --- through the proxy --------------------------------------------------------------------------------

RED_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="80" height="40"><rect width="80" height="40" '
           'fill="#d00000"/></svg>')
BG_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#e8eef8"/>'
          '<rect width="4" height="4" fill="#ffffff"/></svg>')
PORTAL_CSS = """
body { font: 12px/1.6 sans-serif; color: #777; background: #f4f4f4 url(/img/bg.svg); margin: 0; }
.top-bar { background: linear-gradient(#e33, #a00); color: #fbb; padding: 6px; }
.top-bar a { color: #ffd0d0 !important; }
#nav { margin: 0; padding: 0; background: #1f5fa8; }
#nav li { display: inline-block; background: #2b7bd6; padding: 4px 10px; }
#nav a { color: #cfe3ff !important; text-decoration: none; font-size: 14px; }
#nav a:focus { outline: 1px dotted #ccc !important; }
a { color: #59f; } a:visited { color: #b9b; }
.banner { background: #3a87d9 url(/img/bg.svg); color: #e0efff; padding: 10px; }
.banner h1 { margin: 0; font-size: 20px; text-shadow: 1px 1px 2px #000; }
.small-grey { color: #aaa; font-size: 11px; }
.count { color: #f90; }
.mourning { filter: grayscale(100%); }
button, input[type=submit] { background: #5aa0f0; color: #e8f2ff; border: 0; }
input, select, textarea { color: #aaa; background: #fafafa; border: 1px solid #eee; }
::placeholder { color: #ddd; }
table.data th { background: #e8f0fa; color: #7a9cc0; }
table.data td { color: #999; border: 1px solid #f4f4f4; }
.footer { background: #333; color: #777; padding: 8px; }
.tiny { color: #555; font-size: 10px; }
"""
PORTAL_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>示范市人民政府 通知公告</title>
<link rel="stylesheet" href="/css/portal.css">
<style>.inline-styled { color: #c8c8c8 !important; background: #fff !important; } .faded { opacity: .5; }</style>
</head>
<body>
<div class="top-bar"><span>示范市人民政府</span> <a href="/index.html">首页</a> <a href="/en.html">English</a></div>
<ul id="nav"><li><a href="/xxgk/" id="first-link">信息公开</a></li><li><a href="/zwfw/">政务服务</a></li>
<li><a href="/visited.html" id="visited-link" style="font-size:40px">互动交流</a></li></ul>
<div class="banner" id="banner"><h1>通知公告</h1></div>
<div class="mourning" id="mourning"><img id="photo" src="/img/red.svg" alt="红色标志" width="80" height="40">
<svg id="icon" width="40" height="40" viewBox="0 0 40 40" aria-hidden="true">
<rect width="40" height="40" fill="#d00000"/></svg></div>
<p class="small-grey" id="small">发布时间：2026-11-20　来源：示范市政府办公室　浏览次数：<span class="count">128</span></p>
<p>关于做好2026年冬季供暖工作的通知。<a href="/a/1.html" id="text-link">查看全文</a></p>
<p class="inline-styled" id="inline-styled">内联样式的浅色文字</p>
<p style="color:#ddd !important; opacity: 0.4" id="translucent">半透明的说明文字</p>
<p class="faded" id="faded">淡化显示的提示</p>
<form action="/search"><label for="q">搜索</label> <input id="q" name="q" placeholder="请输入关键词">
<select name="s" id="select"><option>全部</option><option>通知</option></select>
<textarea name="t" id="textarea">意见建议</textarea> <input type="checkbox" id="c"><label for="c">仅标题</label>
<button type="submit" id="button">搜索</button> <input type="submit" value="提交" id="submit"></form>
<table class="data" id="table"><caption>办理时限</caption><tr><th>事项</th><th>时限</th></tr>
<tr><td>供暖报修</td><td>2个工作日</td></tr></table>
<div class="footer" id="footer">版权所有：示范市人民政府　<span class="tiny">网站标识码 0000000001</span></div>
</body></html>"""


def portal_app() -> web.Application:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PORTAL_PAGE, content_type="text/html")

    async def strict(request: web.Request) -> web.Response:
        # A portal whose Content-Security-Policy allows only same-origin styles: its own inline <style> is
        # blocked, the proxy's linked sheet is not.
        return web.Response(text=PORTAL_PAGE, content_type="text/html",
                            headers={"Content-Security-Policy": "default-src 'self'; style-src 'self'"})

    async def visited(request: web.Request) -> web.Response:
        return web.Response(text="<!DOCTYPE html><title>互动交流</title><p>互动交流</p>", content_type="text/html")

    async def css(request: web.Request) -> web.Response:
        return web.Response(text=PORTAL_CSS, content_type="text/css")

    async def svg(request: web.Request) -> web.Response:
        body = RED_SVG if request.match_info["name"] == "red" else BG_SVG
        return web.Response(text=body, content_type="image/svg+xml")

    app = web.Application()
    app.router.add_get("/portal.html", page)
    app.router.add_get("/strict.html", strict)
    app.router.add_get("/visited.html", visited)
    app.router.add_get("/css/portal.css", css)
    app.router.add_get("/img/{name}.svg", svg)
    return app


def prefix(key: str) -> str:
    return "/-/contrast" if key == "wb" else f"/-/contrast-{key}"


async def test_through_the_proxy_stylesheet_served_same_origin_csp_untouched(serve, proxy, http):
    upstream = await serve(portal_app())
    base = await proxy(upstream)
    plain = {"Accept-Encoding": "identity"}
    async with http.get(f"{base}/-/contrast-by/strict.html", headers=plain) as response:
        assert response.status == 200
        assert response.headers["Content-Security-Policy"] == "default-src 'self'; style-src 'self'"
        html = await response.text()
    root = tree(html)
    assert root.find("head")[-1].get("href") == "/-/static/contrast-by.css"
    assert "a11y-proxy-contrast-by" in root.get("class")
    async with http.get(f"{base}/-/static/contrast-by.css", headers=plain) as response:
        assert response.status == 200
        assert response.content_type == "text/css"
        assert await response.text() == stylesheet(SCHEMES["by"])
    async with http.get(f"{base}/portal.html", headers=plain) as response:  # plain: untouched
        assert "contrast-" not in await response.text()


async def test_linked_stylesheets_lose_partial_opacity_and_keep_the_rest(serve, proxy, http):
    """The portal's own stylesheet, requested under the mode prefix: faded text becomes opaque, hidden stays
    hidden, nothing else changes; with elder mode too its sizes are scaled as well."""
    css = ".faded { opacity: .5 } .hidden { opacity: 0 } .pct { opacity: 60% } .x { color: #777; font-size: 12px }"
    async def stylesheet_file(request: web.Request) -> web.Response:
        return web.Response(text=css, content_type="text/css")

    app = web.Application()
    app.router.add_get("/css/site.css", stylesheet_file)
    base = await proxy(await serve(app))
    plain = {"Accept-Encoding": "identity"}
    async with http.get(f"{base}/-/contrast-bw/css/site.css", headers=plain) as response:
        assert response.status == 200 and response.content_type == "text/css"
        assert await response.text() == css.replace("opacity: .5", "opacity: 1").replace("opacity: 60%", "opacity: 1")
    async with http.get(f"{base}/-/elder+contrast/css/site.css", headers=plain) as response:
        both = await response.text()
    assert "opacity: 1 }" in both and "opacity: 0 }" in both and "font-size: 12px" not in both
    async with http.get(f"{base}/css/site.css", headers=plain) as response:
        assert await response.text() == css  # plain: byte for byte


# --- in real Chromium ---------------------------------------------------------------------------------

def rgb(colour: str) -> str:
    colour = colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (0, 2, 4)))


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium's screenshots are): width, height, pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and colour_type in (2, 6) and interlace == 0
            channels = 4 if colour_type == 6 else 3
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous, i = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = previous[x]
            c = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        previous = line
    pixels = [tuple(row[x:x + 3]) for row in rows for x in range(0, stride, channels)]
    return width, height, pixels


AXE_RUN = """async (rules) => {
  const result = await axe.run(document, {runOnly: {type: 'rule', values: rules}, resultTypes: ['violations']});
  return result.violations.flatMap(v => v.nodes.map(n => v.id + ' ' + n.target.join(' ') + ': '
                                                    + n.failureSummary.replace(/\\s+/g, ' ')));
}"""


def axe_violations(page, rules=CONTRAST_RULES) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate(AXE_RUN, rules)


@pytest.fixture(scope="module")
def site(servers):
    upstream = servers.serve(portal_app())
    return upstream, servers.proxy(upstream)


@pytest.fixture(scope="module")
def axe_script():
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (npm install)")
    return AXE


STYLE_OF = """(selector) => {
  const el = document.querySelector(selector);
  const s = getComputedStyle(el);
  return {color: s.color, background: s.backgroundColor, image: s.backgroundImage, filter: s.filter,
          border: s.borderTopColor, borderStyle: s.borderTopStyle, textShadow: s.textShadow, opacity: s.opacity,
          outlineColor: s.outlineColor, outlineStyle: s.outlineStyle, outlineWidth: s.outlineWidth,
          decoration: s.textDecorationLine};
}"""
FILTERED_ANCESTORS = """(selector) => {
  const out = [];
  for (let el = document.querySelector(selector); el; el = el.parentElement) {
    const s = getComputedStyle(el);
    if (s.filter !== 'none' || s.backdropFilter !== 'none' || s.mixBlendMode !== 'normal') out.push(el.tagName);
  }
  return out;
}"""


@pytest.mark.browser
def test_upstream_fixture_really_has_contrast_failures(site, axe_script, js_on):
    """The portal-like page is a real test: as the portal sends it, axe finds low contrast all over."""
    upstream, _ = site
    page = js_on.new_page()
    try:
        page.goto(f"{upstream}/portal.html", wait_until="load")
        violations = axe_violations(page)
    finally:
        page.close()
    assert len([v for v in violations if v.startswith("color-contrast ")]) >= 8, violations


@pytest.mark.browser
@pytest.mark.parametrize("path,key", [("portal.html", key) for key in SCHEMES] + [("strict.html", "yb")])
def test_axe_finds_no_contrast_violation(site, axe_script, js_on, path, key):
    _, proxied = site
    page = js_on.new_page()
    try:
        page.goto(f"{proxied}{prefix(key)}/{path}", wait_until="load")
        assert page.evaluate("getComputedStyle(document.body).color") == rgb(SCHEMES[key].fg)
        violations = axe_violations(page)
    finally:
        page.close()
    assert violations == []


@pytest.mark.browser
@pytest.mark.parametrize("key", list(SCHEMES))
def test_computed_colours_with_javascript_off(site, js_off, key):
    _, proxied = site
    scheme = SCHEMES[key]
    fg, bg, link = rgb(scheme.fg), rgb(scheme.bg), rgb(scheme.link)
    page = js_off.new_page()
    try:
        page.goto(f"{proxied}{prefix(key)}/portal.html", wait_until="load")
        style = lambda selector: page.evaluate(STYLE_OF, selector)  # noqa: E731
        for selector in ("body", ".top-bar", "#nav li", "#banner", "#banner h1", "#small", "#small .count",
                         "#inline-styled", "#translucent", "#faded", "table caption", "#table th", "#table td",
                         "#footer", "#footer .tiny", "label"):
            got = style(selector)
            assert (got["color"], got["background"]) == (fg, bg), selector
            assert got["image"] == "none" and got["textShadow"] == "none" and got["opacity"] == "1", selector
        for selector in (".top-bar a", "#first-link", "#text-link"):
            got = style(selector)
            assert got["color"] == link and got["decoration"] == "underline", selector
        for selector in ("#q", "#select", "#textarea", "#button", "#submit"):
            got = style(selector)
            assert (got["color"], got["background"], got["border"], got["borderStyle"]) == (fg, bg, fg, "solid"), \
                selector
        assert style("#table td")["border"] == fg  # borders stay visible, in the text colour
        # Images keep their colours: no filter on them or on any box around them (the portal's grayscale too).
        for selector in ("#photo", "#icon"):
            assert page.evaluate(FILTERED_ANCESTORS, selector) == [], selector
        _, _, pixels = png_pixels(page.locator("#photo").screenshot())
        assert pixels[len(pixels) // 2] == (208, 0, 0)
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("key", list(SCHEMES))
def test_focus_outline_and_visited_links_in_their_colours(site, js_off, key):
    _, proxied = site
    scheme = SCHEMES[key]
    page = js_off.new_page()
    try:
        page.goto(f"{proxied}{prefix(key)}/portal.html", wait_until="load")
        page.focus("#first-link")
        focused = page.evaluate(STYLE_OF, "#first-link")
        assert (focused["outlineColor"], focused["outlineStyle"], focused["outlineWidth"]) == \
               (rgb(scheme.focus), "solid", "3px")
        page.focus("#q")
        assert page.evaluate(STYLE_OF, "#q")["outlineColor"] == rgb(scheme.focus)
        page.evaluate("document.activeElement.blur()")
        # :visited colours are hidden from scripts and headless Chromium keeps no history: force the state
        # through DevTools, as its "force element state" does, and read the pixels.  The underline is drawn in
        # the exact colour, so the commonest colour that is not the background is the visited colour.
        cdp = js_off.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        document_node = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": document_node, "selector": "#visited-link"})["nodeId"]
        cdp.send("CSS.forcePseudoState", {"nodeId": node, "forcedPseudoClasses": ["visited"]})
        _, _, pixels = png_pixels(page.locator("#visited-link").screenshot())
        cdp.detach()
    finally:
        page.close()
    background = tuple(int(scheme.bg[i:i + 2], 16) for i in (1, 3, 5))
    counts: dict = {}
    for pixel in pixels:
        if pixel != background:
            counts[pixel] = counts.get(pixel, 0) + 1
    commonest = max(counts, key=counts.get)
    assert "#%02x%02x%02x" % commonest == scheme.visited


# --- over the corpus (real portal pages) --------------------------------------------------------------

SCHEME_KEYS = list(SCHEMES)
# The suite checks a representative subset, each scheme on two pages (NFCMS, Hanweb, TRS, HTML5, a 信息公开
# notice with its index table, a home page, a GB2312 list with layout tables); A11Y_CONTRAST_CORPUS=all
# checks every page in every scheme (80 axe runs, about 4 minutes).  docs/contrast-and-reader.md has the table
# for all of them (python3 bench/contrast_reader.py --axe).
SUBSET = ["001-gz-article.html", "006-jiangsu-article.html", "010-beijing-whlyj-article.html",
          "013-shanghai-wsjkw-notice.html", "014-baiyun-article.html", "017-court-home.html",
          "009-foshan-article.html", "020-shmec-vote-list.html"]
if os.environ.get("A11Y_CONTRAST_CORPUS") == "all":
    CORPUS_CASES = [(name, key) for name in CORPUS_PAGES for key in SCHEME_KEYS]
else:
    CORPUS_CASES = [(name, SCHEME_KEYS[i % 4]) for i, name in enumerate(n for n in SUBSET if n in CORPUS_PAGES)]


@pytest.fixture(scope="module")
def corpus_site(servers):
    from tests.harness import corpus_behind_proxy

    with corpus_behind_proxy(servers, CORPUS_PAGES, "contrast over real portal pages not measured") as site:
        yield site


@pytest.mark.corpus
@pytest.mark.browser
@pytest.mark.parametrize("name,key", CORPUS_CASES or [("(corpus absent)", "wb")])
def test_corpus_page_has_no_contrast_violation(corpus_site, axe_script, js_on, name, key):
    _, proxied = corpus_site
    page = js_on.new_page()
    try:
        page.goto(f"{proxied}{prefix(key)}/{name}", wait_until="load")
        assert SCHEMES[key].css_class in page.evaluate("document.documentElement.className")
        violations = axe_violations(page)
    finally:
        page.close()
    assert violations == [], f"{name} in {key}"

