"""The reader's toolbar: its markup in every mode, where it goes, its stylesheet, and the toggles it links to
(with the portal's own 繁体版 / 长者版 / 无障碍浏览 links) through the proxy in front of the demo portal.

What a reader sees and does with it in real Chromium is in tests/test_toolbar_browser.py.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from yarl import URL

from proxy import document
from proxy.convert import get_converter
from proxy.demo.portal import create_portal_app
from proxy.modes import parse as parse_modes
from proxy.pipeline import Page, build_pipeline
from proxy.settings import Settings, Toolbar as ToolbarSettings
from proxy.transforms import toolbar as tb
from proxy.transforms.contrast import SCHEMES, contrast_ratio
from tests.conftest import ROOT

PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>示范页面</title></head>
<body>
<div class="header"><h1>示范市人民政府</h1></div>
<div class="main"><h2>通知公告</h2><p>关于做好头发护理和面条供应工作的通知，请各单位认真落实。</p>
<p>这是正文的第二段，内容较长，用来让正文成为页面的主要内容。</p></div>
<div class="footer">版权所有：示范市人民政府</div>
</body></html>"""
URL_ = URL("http://www.shifan.gov.cn/xxgk/a.html?page=2&t=1")


def render(html: str = PAGE, modes: str = "", settings: Settings | None = None, **fields) -> str:
    settings = settings or Settings()
    parsed = parse_modes(modes)
    prefix = fields.pop("prefix", f"/-/{parsed.canonical()}" if parsed.canonical() else "")
    page = Page(url=fields.pop("url", URL_), modes=parsed, settings=settings, prefix=prefix, **fields)
    return build_pipeline(settings).render(html, page)


def tree(html: str) -> etree._Element:
    return document.parse(html).root


def bar_of(html: str) -> etree._Element:
    found = tree(html).xpath("//*[@id='a11y-proxy-toolbar']")
    assert len(found) == 1, f"{len(found)} toolbars"
    return found[0]


def links(bar: etree._Element) -> list[etree._Element]:
    return bar.xpath(".//a")


def text(el: etree._Element) -> str:
    return "".join(t for t in el.itertext()).replace("✓", "").strip()


def by_text(bar: etree._Element, label: str) -> etree._Element:
    found = [a for a in links(bar) if text(a) == label]
    assert len(found) == 1, (label, [text(a) for a in links(bar)])
    return found[0]


def target(href: str) -> tuple[str, str]:
    """'/-/toggle/elder?next=%2F...' -> ('/-/toggle/elder', '/decoded/next')."""
    parts = urlsplit(href)
    return parts.path, parse_qs(parts.query)["next"][0]


def current(bar: etree._Element) -> list[str]:
    return [text(a) for a in links(bar) if a.get("aria-current") == "true"]


# --- markup -------------------------------------------------------------------------------------------

def test_plain_page_gets_a_named_region_right_after_the_skip_link():
    out = render()
    root = tree(out)
    body = root.find("body")
    first, second = body[0], body[1]
    assert first.get("class") == "a11y-proxy-skip"  # the skip link stays the first focusable element
    assert second.get("id") == "a11y-proxy-toolbar" and second.tag == "section"
    # A region landmark: a <section> with a name (aria-labelledby to its visible title), not <nav>, not role=toolbar.
    assert second.get("role") is None
    title = root.xpath(f"//*[@id='{second.get('aria-labelledby')}']")[0]
    assert text(title) == "无障碍工具栏"
    keys = root.xpath(f"//*[@id='{second.get('aria-describedby')}']")[0]
    assert "Alt+Shift+Z 长者版" in text(keys) and keys.get("hidden") is not None
    assert second.get("lang") == "zh-CN"
    # Nothing before the first focusable element but the skip link; the toolbar holds real links only.
    assert [text(a) for a in links(second)] == ["简体", "繁体", "长者版", "高对比度", "阅读模式", "重置"]
    assert current(second) == ["简体"]


def test_every_control_is_a_link_to_a_toggle_endpoint_with_this_page_as_next():
    bar = bar_of(render())
    expected = {"简体": "/-/set/plain", "繁体": "/-/set/trad", "长者版": "/-/toggle/elder",
                "高对比度": "/-/toggle/contrast", "阅读模式": "/-/toggle/reader", "重置": "/-/set/plain"}
    for label, path in expected.items():
        endpoint, next_ = target(by_text(bar, label).get("href"))
        assert endpoint == path, label
        assert next_ == "/xxgk/a.html?page=2&t=1", label  # same path and query
    assert all("&" not in a.get("href").split("?", 1)[1] for a in links(bar))  # next is one encoded value


@pytest.mark.parametrize("modes, on, options", [
    ("trad", ["繁体", "通用繁体"], ["通用繁体", "台湾正体", "台湾用语", "香港繁体"]),
    ("trad-hk", ["繁体", "香港繁体"], ["通用繁体", "台湾正体", "台湾用语", "香港繁体"]),
    ("elder", ["简体", "长者版", "150%"], ["125%", "150%", "175%", "200%"]),
    ("elder-200", ["简体", "长者版", "200%"], ["125%", "150%", "175%", "200%"]),
    ("contrast-yb", ["简体", "高对比度", "黑底黄字"], ["黑底白字", "白底黑字", "黑底黄字", "黄底黑字"]),
    ("reader", ["简体", "阅读模式"], []),
])
def test_state_and_choices_follow_the_modes(modes, on, options):
    out = render(modes=modes)
    bar = bar_of(out)
    if modes.startswith("trad"):
        # The labels are in the reader's script by now: compare through the same conversion.
        convert = get_converter({"trad": "s2t", "trad-hk": "s2hk"}[modes]).convert
        on, options = [convert(n) for n in on], [convert(n) for n in options]
    assert current(bar) == on
    groups = bar.xpath(".//ul[@aria-labelledby]")
    if not options:
        assert groups == []
        return
    assert len(groups) == 1
    label = tree(out).xpath(f"//*[@id='{groups[0].get('aria-labelledby')}']")[0]
    assert text(label)  # the list of choices is named (字号, 配色, 繁体字形)
    assert [text(a) for a in groups[0].xpath(".//a")] == options
    for choice in groups[0].xpath(".//a"):
        endpoint, _ = target(choice.get("href"))
        assert endpoint.startswith("/-/set/")  # a choice sets exactly that value (idempotent)
        parse_modes(endpoint.removeprefix("/-/set/"))  # and names a valid mode set


def test_switches_turn_the_mode_off_from_any_setting():
    bar = bar_of(render(modes="elder-175+contrast-by"))
    assert target(by_text(bar, "长者版").get("href"))[0] == "/-/toggle/elder-175"
    assert target(by_text(bar, "高对比度").get("href"))[0] == "/-/toggle/contrast-by"
    # A toggle of the setting that is on turns it off (proxy.modes.Modes.toggled).
    assert parse_modes("elder-175+contrast-by").toggled("elder-175") == parse_modes("contrast-by")
    step = by_text(bar, "125%")
    assert target(step.get("href"))[0] == "/-/set/elder-125+contrast-by"
    assert target(step.get("href"))[1] == "/-/elder-175+contrast-by/xxgk/a.html?page=2&t=1"


def test_choices_keep_the_other_modes():
    bar = bar_of(render(modes="trad-tw+elder+reader"))
    hrefs = {text(a): target(a.get("href"))[0] for a in links(bar)}
    assert hrefs["簡體"] == "/-/set/elder+reader"
    assert hrefs["香港繁體"] == "/-/set/trad-hk+elder+reader"
    assert hrefs["200%"] == "/-/set/trad-tw+elder-200+reader"


def test_site_variant_is_the_default_choice():
    settings = Settings(trad_variant="s2hk")
    bar = bar_of(render(modes="trad", settings=settings))
    labels = [text(a) for a in bar.xpath(".//ul[@aria-labelledby]//a")]
    assert labels[0] == "香港繁體" and len(labels) == 4 and "通用繁體" in labels
    assert current(bar) == ["繁體", "香港繁體"]


def test_labels_are_in_the_readers_script():
    out = render(modes="trad-tw")
    bar = bar_of(out)
    assert text(bar.xpath("//*[@id='a11y-proxy-toolbar-title']")[0]) == "無障礙工具欄"
    assert "長者版" in [text(a) for a in links(bar)]
    assert bar.get("lang", "").startswith("zh-Hant")
    assert "快捷鍵" in out


def test_trad_notice_moves_into_the_toolbar():
    out = render(modes="trad")
    root = tree(out)
    notices = root.xpath("//*[contains(@class, 'a11y-proxy-trad-notice')]")
    assert len(notices) == 1
    notice = notices[0]
    assert notice.xpath("ancestor::*[@id='a11y-proxy-toolbar']")
    assert notice.get("style") is None and notice.get("role") == "note"
    assert "繁體" in text(notice)
    body = root.find("body")
    assert body[0].get("class") == "a11y-proxy-skip" and body[1].get("id") == "a11y-proxy-toolbar"


def test_position_bottom_and_disabled():
    bottom = Settings(toolbar=ToolbarSettings(position="bottom"))
    body = tree(render(settings=bottom)).find("body")
    assert body[-1].get("id") == "a11y-proxy-toolbar" and "a11y-proxy-toolbar-bottom" in body[-1].get("class")
    assert body[0].get("class") == "a11y-proxy-skip"
    off = render(settings=Settings(toolbar=ToolbarSettings(enabled=False)), modes="trad")
    assert "a11y-proxy-toolbar" not in off and "toolbar.css" not in off
    assert "a11y-proxy-trad-notice" in off  # the notice stays where trad put it


def test_stylesheet_linked_first_so_its_layer_wins():
    out = render(modes="elder+contrast")
    links_in_head = tree(out).xpath("//head/link/@href")
    assert links_in_head[0] == "/-/static/toolbar.css"
    assert links_in_head[-1] == "/-/static/contrast-wb.css"  # the contrast sheet stays last (its own rule)
    assert tree(out).xpath("//head/*[1]")[0].tag == "meta"  # the charset declaration stays first


def test_foreign_base_gets_absolute_asset_url():
    html = PAGE.replace("<title>", "<base href='https://mail.example.com/'><title>")
    out = render(html, public_origin="https://a11y.example.gov.cn")
    assert 'href="https://a11y.example.gov.cn/-/static/toolbar.css"' in out


def test_no_toolbar_in_fragments_framesets_or_twice():
    assert "a11y-proxy-toolbar" not in render("<li><a href='/a'>一条新闻</a></li>")
    frameset = "<html><head><title>框架</title></head><frameset cols='50%,50%'><frame src='/a'></frameset></html>"
    assert "a11y-proxy-toolbar" not in render(frameset)
    twice = render(render())
    assert twice.count('id="a11y-proxy-toolbar"') == 1


def test_positive_tabindex_pages_keep_the_toolbar_right_after_the_skip_link():
    html = PAGE.replace('<h2>通知公告</h2>', '<h2>通知公告</h2><a href="/x" tabindex="3">办事</a>')
    bar = bar_of(render(html))
    assert {a.get("tabindex") for a in links(bar)} == {"1"}


def test_portal_accesskeys_on_our_letters_are_removed():
    html = PAGE.replace("<h2>通知公告</h2>", '<h2>通知公告</h2><a href="/s" accesskey="Z">搜索</a>'
                        '<a href="/h" accesskey="1">首页</a>')
    out = render(html)
    root = tree(out)
    keys = [k.lower() for k in root.xpath("//@accesskey")]
    assert sorted(keys) == ["1", "c", "g", "j", "y", "z"]  # unique, ours and the portal's other ones
    bar = bar_of(out)
    assert {text(a): a.get("accesskey") for a in links(bar) if a.get("accesskey")} == {
        "繁体": "j", "长者版": "z", "高对比度": "g", "阅读模式": "y", "重置": "c"}
    # In Traditional, the script shortcut sits on 简体 (the link that switches back).
    bar = bar_of(render(modes="trad"))
    assert [text(a) for a in links(bar) if a.get("accesskey") == "j"] == ["簡體"]


def test_reader_view_keeps_the_toolbar_above_the_article():
    body = tree(render(modes="reader")).find("body")
    kids = [el for el in body if isinstance(el.tag, str)]
    assert kids[0].get("id") == "a11y-proxy-toolbar"
    assert any(el.tag == "main" for el in kids[1:])


def test_own_error_pages_get_the_toolbar_too():
    from proxy.pages import unknown_modes
    out = render(unknown_modes("bogus"), url=URL("http://www.shifan.gov.cn/"))
    assert 'id="a11y-proxy-toolbar"' in out
    assert len(tree(out).xpath("//main | //*[@role='main']")) == 1


# --- the stylesheet -------------------------------------------------------------------------------------

CSS = (ROOT / "proxy" / "static" / "toolbar.css").read_text(encoding="utf-8")


def _declarations(css: str) -> list[tuple[str, str]]:
    body = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return re.findall(r"([^{}]+)\{([^{}]*)\}", body)


def test_stylesheet_is_one_layer_scoped_to_the_toolbar_and_all_important():
    stripped = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S).strip()
    assert stripped.startswith("@layer a11y-proxy-toolbar {") and stripped.endswith("}")
    for selectors, block in _declarations(CSS):
        selectors = selectors.strip()
        if selectors.startswith("@") or not block.strip():
            continue
        for selector in selectors.split(","):
            assert "#a11y-proxy-toolbar" in selector, selector
        for declaration in filter(str.strip, block.split(";")):
            if declaration.strip().startswith("--"):
                continue  # custom properties: the palette, read through var()
            assert declaration.strip().endswith("!important"), (selectors, declaration)
    assert "position: static !important" in CSS  # pushes the page down; never fixed/absolute over it
    assert not re.search(r"position:\s*(fixed|absolute|sticky)", CSS)


def _palette(selector_part: str) -> dict[str, str]:
    block = next(b for s, b in _declarations(CSS) if selector_part in s and "--a11y-tb-fg" in b)
    return dict(re.findall(r"--a11y-tb-([\w-]+):\s*(#[0-9a-f]{6})", block))


@pytest.mark.parametrize("scheme", ["default", *SCHEMES])
def test_every_colour_pair_reaches_7_to_1(scheme):
    palette = _palette("#a11y-proxy-toolbar.a11y-proxy-toolbar" if scheme == "default"
                       else f"a11y-proxy-contrast-{scheme} ")
    pairs = [("fg", "bg"), ("link", "link-bg"), ("current-fg", "current-bg"), ("focus-fg", "focus-bg"),
             ("note-fg", "note-bg"), ("outline", "bg"), ("link", "bg")]
    for fg, bg in pairs:
        ratio = contrast_ratio(palette[fg], palette[bg])
        assert ratio >= 7, (scheme, fg, bg, round(ratio, 2))


@pytest.mark.parametrize("key", list(SCHEMES))
def test_contrast_palettes_are_the_schemes(key):
    scheme, palette = SCHEMES[key], _palette(f"a11y-proxy-contrast-{key} ")
    assert (palette["fg"], palette["bg"], palette["link"], palette["focus-bg"]) == (
        scheme.fg, scheme.bg, scheme.link, scheme.focus)
    assert tb.CONTRAST_LABELS[key] == scheme.name


def test_elder_steps_enlarge_the_toolbar():
    for step in (125, 150, 175, 200):
        assert re.search(rf"html\.a11y-proxy-elder-{step} #a11y-proxy-toolbar \S+ \{{ font-size: {step}% !important; }}",
                         CSS), step


# --- through the proxy, in front of the demo portal -------------------------------------------------------

RULES = ROOT / "rules"


@pytest.fixture
async def demo(serve, proxy):
    upstream = await serve(create_portal_app())
    return await proxy(upstream, rules_dir=RULES, upstream_aliases=("www.shifan.gov.cn",))


def get(http, url: str, **kwargs):
    """One request as a browser's first hop sees it: no redirect followed, the body uncompressed."""
    headers = {"Accept-Encoding": "identity", **kwargs.pop("headers", {})}
    return http.get(url, headers=headers, allow_redirects=False, **kwargs)


def _hrefs(html: str) -> dict[str, str]:
    root = tree(html)
    return {text(a): a.get("href") for a in root.xpath("//div[@class='topbar']//a")}


async def test_portal_links_are_rewired_to_the_toggles_and_the_toolbar(demo, http):
    async with get(http, demo + "/xxgk/list.html?page=2") as response:
        html = (await response.read()).decode()
    portal = _hrefs(html)
    assert portal["繁体版"] == "/-/toggle/trad?next=/xxgk/list.html%3Fpage%3D2"
    assert portal["长者版"] == "/-/toggle/elder?next=/xxgk/list.html%3Fpage%3D2"
    assert portal["无障碍浏览"] == "#a11y-proxy-toolbar"
    assert 'id="a11y-proxy-toolbar"' in html  # the target of 无障碍浏览 is on the page
    root = tree(html)
    rewired = root.xpath("//div[@class='topbar']//a[@href='#a11y-proxy-toolbar' or starts-with(@href, '/-/')]")
    assert all(a.get("onclick") is None for a in rewired)  # the portal's scripts no longer run on them
    # Following the portal's 繁体版 link: same page, in Traditional, cookie set.
    async with get(http, demo + portal["繁体版"]) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/-/trad/xxgk/list.html?page=2"
    async with get(http, demo + "/-/trad/xxgk/list.html?page=2") as response:
        page = (await response.read()).decode()
    assert _hrefs(page)["長者版"] == "/-/toggle/elder?next=/-/trad/xxgk/list.html%3Fpage%3D2"


async def test_toggle_returns_to_the_same_page_and_sets_the_cookie(demo, http):
    async with get(http, demo + "/xxgk/list.html?page=2") as response:
        bar = bar_of((await response.read()).decode())
    href = by_text(bar, "长者版").get("href")
    async with get(http, demo + href) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/-/elder/xxgk/list.html?page=2"
        assert response.headers["Cache-Control"] == "private, no-store"
        cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("a11y_modes=elder;")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "max-age"} <= attributes and "secure" not in attributes
    assert re.search(r"SameSite=Lax", cookie)
    # The next page shows the new state; every toolbar link there goes back to that page.
    async with get(http, demo + "/-/elder/xxgk/list.html?page=2") as response:
        bar = bar_of((await response.read()).decode())
    assert current(bar) == ["简体", "长者版", "150%"]
    assert {target(a.get("href"))[1] for a in links(bar)} == {"/-/elder/xxgk/list.html?page=2"}
    # 重置: back to plain, the cookie says so (a later plain link is then served plain).
    async with get(http, demo + by_text(bar, "重置").get("href")) as response:
        assert response.headers["Location"] == "/xxgk/list.html?page=2"
        assert response.headers["Set-Cookie"].startswith("a11y_modes=plain;")


async def test_another_site_cannot_change_what_the_reader_chose(demo, http):
    """A link from another site (Sec-Fetch-Site: cross-site; SameSite=Lax lets a top-level navigation set cookies)
    leads to the page in those modes by its prefixed URL, but stores nothing: the reader's own choice stays."""
    for endpoint in ("/-/set/trad-hk+elder-200+contrast-by+reader", "/-/toggle/reader"):
        async with get(http, demo + endpoint + "?next=/xxgk/list.html", headers={"Sec-Fetch-Site": "cross-site"}) as r:
            assert r.status == 303 and r.headers["Location"].startswith("/-/") and "Set-Cookie" not in r.headers
    for site in ("same-origin", "none"):  # the toolbar, the portal's own rewired links; a typed or bookmarked URL
        async with get(http, demo + "/-/set/elder?next=/xxgk/list.html", headers={"Sec-Fetch-Site": site}) as r:
            assert r.headers["Set-Cookie"].startswith("a11y_modes=elder;")


async def test_the_toolbar_of_an_error_page_keeps_the_urls_modes(serve, proxy, http):
    """The proxy's own 502 under /-/elder/: its switches act on the modes of that URL, as on the portal's pages
    (without the prefix, 长者版, shown as on, turned elder on, and 高对比度 dropped it)."""
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the upstream refuses
    proxied = await proxy(f"http://127.0.0.1:{port}")
    async with get(http, proxied + "/-/elder/xxgk/list.html?page=2") as response:
        assert response.status == 502
        bar = bar_of((await response.read()).decode())
    assert {target(a.get("href"))[1] for a in links(bar)} == {"/-/elder/xxgk/list.html?page=2"}
    async with get(http, proxied + by_text(bar, "长者版").get("href")) as response:
        assert response.headers["Location"] == "/xxgk/list.html?page=2"  # elder off
    async with get(http, proxied + by_text(bar, "高对比度").get("href")) as response:
        assert response.headers["Location"] == "/-/elder+contrast/xxgk/list.html?page=2"


async def test_cookie_modes_redirect_plain_links_to_the_prefixed_page(demo, http):
    async with get(http, demo + "/-/toggle/trad?next=/xxgk/list.html") as response:
        assert response.status == 303
    async with get(http, demo + "/xxgk/2026/art_1001.html", headers={"Accept": "text/html", "Sec-Fetch-Mode": "navigate",
                                                                  "Sec-Fetch-Dest": "document"}) as response:
        assert response.status == 302
        assert response.headers["Location"] == "/-/trad/xxgk/2026/art_1001.html"


async def test_cookie_is_secure_behind_a_trusted_https_front(serve, proxy, http):
    upstream = await serve(create_portal_app())
    trusted = await proxy(upstream, rules_dir=RULES, trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    untrusted = await proxy(upstream, rules_dir=RULES)
    headers = {"X-Forwarded-Proto": "https"}
    async with get(http, trusted + "/-/toggle/elder?next=/a.html", headers=headers) as response:
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie
        assert response.headers["Location"] == "/-/elder/a.html"
    async with get(http, untrusted + "/-/toggle/elder?next=/a.html", headers=headers) as response:
        assert "Secure" not in response.headers["Set-Cookie"]  # X-Forwarded-Proto from an untrusted peer


async def test_next_must_stay_on_the_proxy(demo, http):
    for bad in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        async with get(http, demo + "/-/set/elder", params={"next": bad}) as response:
            assert response.headers["Location"] == "/-/elder/", bad


async def test_static_files_are_served(demo, http):
    for name, kind in (("toolbar.css", "text/css"), ("toolbar.js", "javascript")):
        async with get(http, f"{demo}/-/static/{name}") as response:
            assert response.status == 200 and kind in response.headers["Content-Type"]


async def test_toolbar_off_in_settings(serve, proxy, http):
    upstream = await serve(create_portal_app())
    off = await proxy(upstream, rules_dir=RULES, toolbar=ToolbarSettings(enabled=False))
    async with get(http, off + "/") as response:
        html = (await response.read()).decode()
    assert "a11y-proxy-toolbar\"" not in html.replace('href="#a11y-proxy-toolbar"', "")
    # The portal's own 繁体版 / 长者版 links still toggle (a portal can turn our toolbar off and keep its links).
    portal = _hrefs(html)
    assert portal["繁体版"].startswith("/-/toggle/trad?") and portal["长者版"].startswith("/-/toggle/elder?")
