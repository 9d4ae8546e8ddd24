"""Elder mode: stylesheets rewritten (not just the root size), spacing, targets, calm pages — on strings,
through the proxy, and measured in real Chromium."""
from __future__ import annotations

import statistics

import pytest
from aiohttp import web
from yarl import URL

from proxy.css import Scale, rewrite_style_attribute, rewrite_stylesheet
from proxy.modes import parse as parse_modes
from proxy.pipeline import Page, build_pipeline
from proxy.settings import Settings
from tests.conftest import FIXTURES

SCALE = Scale.for_step(150)


# --- stylesheets -------------------------------------------------------------------------------------

@pytest.mark.parametrize("declaration, expected", [
    ("font-size:12px", "font-size:24px"),  # floor: small print comes up to 24px at the default step
    ("font-size:20px", "font-size:30px"),  # larger text keeps its proportion
    ("font-size:14pt", "font-size:28px"),
    ("font-size:small", "font-size:24px"),
    ("font-size:x-large", "font-size:36px"),
    ("font-size:.8em", "font-size:max(.8em, 24px)"),
    ("font-size:120%", "font-size:max(120%, 24px)"),
    ("font-size:calc(1em + 2px)", "font-size:max(calc(1em + 2px), 24px)"),
    ("font-size:inherit", "font-size:inherit"),
    ("font-size:30px !important", "font-size:45px !important"),
    ("font:bold 12px/18px 宋体", "font:bold 24px/18px 宋体"),
    ("height:30px", "min-height:30px"),
    ("height:1.6em", "min-height:1.6em"),  # one line in the font's size holds no second line either
    ("height:50%", "height:50%"),  # layout's, as are viewport units
    ("height:10vh", "height:10vh"),
    ("max-height:100px", "max-height:none"),
    ("height:auto", "height:auto"),
    ("*zoom:1;font-size:12px", "*zoom:1;font-size:24px"),
    # A zero size hides text on purpose (an icon's label, the gap between inline blocks), whatever its unit.
    ("font-size:0", "font-size:0"),
    ("font-size:0px", "font-size:0px"),
    ("font-size:0em", "font-size:0em"),
    ("font-size:0rem", "font-size:0rem"),
    ("font-size:0PT !important", "font-size:0PT !important"),
    ("font-size:0%", "font-size:0%"),
    ("font-size:0.0px;color:red", "font-size:0.0px;color:red"),
    ("font:0px/0 a", "font:0px/0 a"),
    # Fixed heights in calc() and its kin, and in logical properties, grow as height does.
    ("height:calc(3em + 10px)", "min-height:calc(3em + 10px)"),
    ("height:-webkit-calc((1em + 2px) * 2)", "min-height:-webkit-calc((1em + 2px) * 2)"),
    ("height:min(3em, 40px)", "min-height:min(3em, 40px)"),
    ("height:clamp(20px, 2em, 3rem)", "min-height:clamp(20px, 2em, 3rem)"),
    ("max-height:max(2em, 30px)", "max-height:none"),
    ("height:calc(100% - 10px)", "height:calc(100% - 10px)"),  # layout's, as is a percentage alone
    ("height:calc(10vh + 1em)", "height:calc(10vh + 1em)"),
    ("height:calc(var(--h) + 1px)", "height:calc(var(--h) + 1px)"),  # unknown
    ("height:calc(0px)", "height:calc(0px)"),  # a box hidden at no height, as height:0
    ("block-size:30px", "min-block-size:30px"),
    ("BLOCK-SIZE: 2em", "min-block-size: 2em"),
    ("block-size:calc(1em + 4px)", "min-block-size:calc(1em + 4px)"),
    ("max-block-size:40px", "max-block-size:none"),
    ("block-size:0", "block-size:0"),
    ("min-block-size:30px", "min-block-size:30px"),
])
def test_declarations(declaration, expected):
    assert rewrite_style_attribute(declaration, SCALE, "div") == expected


def test_stylesheet_keeps_zero_sizes_and_relaxes_every_fixed_height():
    # Fast path and tinycss2 (a comment sends the block through tinycss2 whole) agree.
    for comment in ("", "/**/"):
        out = rewrite_stylesheet(f".nav{{font-size:0px{comment}}} .nav li{{display:inline-block;font-size:14px}}"
                                 f" .ico span{{font-size:0em}} .a{{height:calc(2em + 6px);overflow:hidden{comment}}}"
                                 f" .b{{{comment}block-size:30px;max-block-size:3em}} img{{block-size:30px}}", SCALE)
        assert out == (f".nav{{font-size:0px{comment}}} .nav li{{display:inline-block;font-size:24px}}"
                       f" .ico span{{font-size:0em}} .a{{min-height:calc(2em + 6px);overflow:hidden{comment}}}"
                       f" .b{{{comment}min-block-size:30px;max-block-size:none}} img{{block-size:30px}}")


def test_steps_scale_differently():
    sizes = {step: rewrite_style_attribute("font-size:30px", Scale.for_step(step), "p") for step in (125, 150, 175, 200)}
    assert sizes == {125: "font-size:37.5px", 150: "font-size:45px", 175: "font-size:52.5px", 200: "font-size:60px"}
    assert rewrite_style_attribute("font-size:10px", Scale.for_step(200), "p") == "font-size:32px"


def test_replaced_elements_keep_their_boxes():
    assert rewrite_style_attribute("height:20px", SCALE, "img") == "height:20px"
    out = rewrite_stylesheet("img.logo{height:20px} .imgbox{height:20px} a img{height:9px}", SCALE)
    assert out == "img.logo{height:20px} .imgbox{min-height:20px} a img{height:9px}"


def test_one_line_boxes_that_hide_overflow_may_wrap():
    # A title beside a floated date, cut at the box's edge: enlarged, it must wrap rather than run under the date.
    out = rewrite_stylesheet(".list li{height:28px;overflow:hidden;white-space:nowrap}", SCALE)
    assert out == ".list li{min-height:28px;overflow:hidden;white-space:normal}"
    out = rewrite_stylesheet(".t{text-overflow:ellipsis; white-space: nowrap !important}", SCALE)
    assert out == ".t{text-overflow:ellipsis; white-space: normal !important}"
    assert rewrite_style_attribute("white-space:nowrap;overflow:hidden", SCALE, "td") == \
        "white-space:normal;overflow:hidden"
    # nowrap alone (a menu item, a date) is kept: nothing of it is hidden, so it does not need to wrap.
    assert rewrite_stylesheet(".nav li{float:left;white-space:nowrap}", SCALE) == ".nav li{float:left;white-space:nowrap}"
    # So is visually hidden text's (wrapped in its 1px box, screen readers run the words together).
    sr_only = ".sr-only{position:absolute;width:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"
    assert rewrite_stylesheet(sr_only, SCALE) == sr_only


def test_positioned_boxes_shown_as_they_are_go_back_in_the_flow():
    out = rewrite_stylesheet(".top .links{position:absolute;left:10px;top:0;font-size:13px}", SCALE)
    assert out == ".top .links{position:static;left:10px;top:0;font-size:24px;clear:both}"
    assert rewrite_stylesheet(".s{position: absolute; right: 7%}", SCALE) == ".s{position: static; right: 7%;clear:both}"
    kept = [".drop{position:absolute;top:29px;display:none}",  # a menu shown on hover
            ".sr{position:absolute;clip:rect(0 0 0 0)}",  # visually hidden
            ".off{position:absolute;left:-9999px}",  # parked off the page
            ".bg{position:absolute;left:0;z-index:-1}",  # a background layer
            ".pop{position:absolute;top:0;z-index:999}",  # laid over the page on purpose
            ".suggest{position:absolute;top:54px;z-index:10}",  # a drop-down
            ".mid{position:absolute;left:50%;transform:translateX(-50%)}",  # centred on itself
            ".play{position:absolute;left:50%;margin-left:-40px}",
            ".cover{position:absolute;top:0;left:0;width:100%;height:100%}",  # filling its box
            ".arrow{position:absolute;top:40%;background:url(a.png)}",  # drawn by an image
            ".tit:before{content:\"\";position:absolute;left:0;top:8px;width:30px}",  # decoration
            ".video iframe, .video .item{position:absolute;top:0}",  # a frame
            ".slides img{position:absolute;top:0}",  # slides laid on each other
            ".fade{position:absolute;top:0;opacity:0}",
            ".fixed{position:fixed;top:0}", ".rel{position:relative;top:2px}"]
    for css in kept:
        assert rewrite_stylesheet(css, SCALE) == css
    # A search field and its button pinned in a row go back in the flow together (the button alone would land under
    # the field, over its neighbours).
    assert rewrite_stylesheet(".s input,.s button{position:absolute;top:0}", SCALE) == \
        ".s input,.s button{position:static;top:0;clear:both}"
    # A style attribute is mostly a script's (a loading layer, a tooltip placed where the mouse is): left alone.
    assert rewrite_style_attribute("position:absolute;left:910px;top:406px", SCALE, "div") == \
        "position:absolute;left:910px;top:406px"
    assert rewrite_stylesheet(".a{position:absolute}", None) == ".a{position:absolute}"  # (URL rewriting only)


def test_one_line_menu_items_keep_their_words_whole():
    # 110px held 信息公开 at 16px; at 32px the word broke in two: the width becomes a minimum, with room around.
    out = rewrite_stylesheet(".nav a{float:left;display:block;width:110px;height:40px;line-height:40px}", SCALE)
    assert out == (".nav a{float:left;display:block;min-width:110px;min-height:40px;line-height:40px;"
                   "padding-left:.5em;padding-right:.5em}")
    out = rewrite_stylesheet(".tab li{display:inline-block;width:90px;height:30px;line-height:30px;padding:0 4px}", SCALE)
    assert out == ".tab li{display:inline-block;min-width:90px;min-height:30px;line-height:30px;padding:0 4px}"
    kept = [".bar{width:1000px;height:30px;line-height:30px}",  # a block, not an item in a row: its width is layout
            ".d{float:left;width:12px;height:12px;line-height:12px}",  # a dot, not a label
            ".i{float:left;width:90px;height:30px;line-height:30px;background:url(i.png)}",  # an icon
            ".s{float:left;width:90px;height:30px;line-height:30px;background-position:0 -30px}",  # a sprite
            ".n{float:left;width:90px;height:30px;line-height:30px;border-radius:50%}",  # a badge
            ".c{float:left;width:90px;/*height:30px;line-height:30px*/}",
            "input.q{float:left;width:200px;height:30px;line-height:30px}"]  # a field
    for css in kept:
        assert "min-width" not in rewrite_stylesheet(css, SCALE), css


def test_rule_for_images_and_boxes_alike_relaxes_the_boxes():
    # The button keeps the field's fixed height at HEAD, so its wrapped text was cut off (issue 16).
    out = rewrite_stylesheet(".s input,.s button{height:28px;overflow:hidden}", SCALE)
    assert out == (".s input,.s button{height:28px;overflow:hidden}\n"
                   ".s button{min-height:28px;overflow:hidden;height:auto}")
    out = rewrite_stylesheet("/* a, b */ .logo li, .logo li img{height:120px !important}", SCALE)
    assert out.endswith("\n.logo li{min-height:120px !important;height:auto !important}")
    # The subject of a selector decides: an image's caption is not an image.
    assert rewrite_stylesheet(".pic img + p{height:20px}", SCALE) == ".pic img + p{min-height:20px}"
    assert rewrite_stylesheet("a img, img.logo{height:20px}", SCALE) == "a img, img.logo{height:20px}"
    assert rewrite_stylesheet("img, .x{width:10px}", SCALE) == "img, .x{width:10px}"  # nothing to relax


def test_stylesheet_keeps_everything_else():
    css = ('@charset "gbk";\n@import url(/css/b.css);\n/* keep me */\nbody{font-size:12px;*zoom:1;_height:1px;'
           'filter:alpha(opacity=50)}\n@media screen{.a{font-size:14px}}\n@font-face{font-family:x;src:url(f.woff)}\n'
           '@keyframes spin{from{height:10px}}\n.bad{font-size:12px\\9;;color:}\n.x{color:red')

    def rewrite_url(url: str, is_import: bool) -> str | None:
        return "/-/elder" + url if is_import and url.startswith("/") else None

    out = rewrite_stylesheet(css, SCALE, rewrite_url)
    assert out.startswith("\n@import url(/-/elder/css/b.css);")  # @charset gone with its ';'
    assert "/* keep me */" in out
    assert "body{font-size:24px;*zoom:1;_height:1px;filter:alpha(opacity=50)}" in out
    assert "@media screen{.a{font-size:24px}}" in out
    assert "@keyframes spin{from{height:10px}}" in out
    assert ".x{color:red" in out


# --- the page ----------------------------------------------------------------------------------------

def render(html: str, modes: str = "elder", **fields) -> str:
    settings = Settings()
    page = Page(url=URL("http://www.shifan.gov.cn/a.html"), modes=parse_modes(modes), settings=settings, **fields)
    return build_pipeline(settings).render(html, page)


def test_page_styles_scaled_and_elder_sheet_linked():
    out = render((FIXTURES / "elder" / "page.html").read_text(encoding="utf-8"), "elder-200")
    assert '<html lang="zh-CN" class="a11y-proxy-elder a11y-proxy-elder-200">' in out
    assert ".notice { font-size: 32px;" in out
    assert 'style="font-size:32px"' in out  # 9pt
    assert '<font style="font-size:32px">' in out  # <font size=2>
    assert out.index('href="/css/site.css"') < out.index('href="/-/static/elder.css"')  # ours wins the cascade


def test_calm_page():
    out = render((FIXTURES / "elder" / "page.html").read_text(encoding="utf-8"))
    assert "<marquee" not in out and "滚动通知" in out
    assert "飘窗广告" not in out
    assert "下载APP客户端" not in out
    assert "附件下载：办事指南.pdf" in out  # an attachment is not a lure
    assert "<video autoplay" not in render("<video autoplay src='a.mp4'></video>")


def test_content_is_never_removed_as_an_ad():
    article = "<div class='ad-wrap' style='position:absolute'>" + "正文内容很长。" * 100 + "</div>"
    assert "正文内容很长" in render(f"<body>{article}</body>")


def test_foreign_base_gets_absolute_asset_url():
    out = render("<html><head><base href='https://mail.example.com/'></head><body>x</body></html>",
                 public_origin="https://a11y.example.gov.cn")
    assert 'href="https://a11y.example.gov.cn/-/static/elder.css"' in out


def test_plain_mode_untouched():
    html = "<html><head><style>body{font-size:12px}</style></head><body><font size=2>x</font></body></html>"
    out = render(html, "")
    assert "font-size:12px" in out and 'size="2"' in out
    assert "a11y-proxy-elder" not in out and "elder.css" not in out



def test_floating_names_are_found_as_by_the_pattern_without_lookahead():
    """_FLOATING_INSIDE looks ahead for a first letter of its names before trying them: it must find exactly what
    the pattern without the lookahead finds.  Every name must start with one of those letters, and the letters as a
    class must match (case-insensitively) exactly the characters the names' first letters match, all of Unicode."""
    import re

    from proxy.transforms import elder

    group = elder._FLOATING.pattern.split(r"(^|[\s_-])(", 1)[1].rsplit(r")($|", 1)[0]
    depth, names, start = 0, [], 0
    for index, char in enumerate(group + "|"):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            names.append(group[start:index])
            start = index + 1
    letters = set(re.search(r"\(\?=\[(\w+)\]\)", elder._FLOATING_INSIDE.pattern).group(1))
    assert {name[0] for name in names} == letters
    everything = "".join(map(chr, range(0x110000)))
    as_class = re.findall(f"[{''.join(sorted(letters))}]", everything, re.I)
    as_literals = re.findall("|".join(sorted(letters)), everything, re.I)
    assert as_class == as_literals
    without = re.compile(elder._FLOATING.pattern.replace(r"(^|[\s_-])", r"[\s_-]", 1), re.I)
    samples = ["float", "FloatAd", "piaochuang1", "pop-up", "Ad", "ads", "layer_ad", "gg", "GUANGGAO", "header",
               "adverts", "floatwindow", "fudong", "COUPLET", "duilian", "tanchuang", "adv", "loading", "title-float",
               "nav_ad_2", "padding", "\u212aad", "ad\u0131", "advert_x"]
    for sample in samples:
        for text in (f"\n{sample}\n", f"\nx-{sample}\n", f"\nx {sample}9\n", f"\n{sample}-x\n"):
            assert bool(without.search(text)) == bool(elder._FLOATING_INSIDE.search(text)), text


@pytest.mark.parametrize("text", [
    "display:none", "color: red; margin:0 4%", " visibility: visible; position: fixed; width: 100%;",
    "font-family: 宋体, SimSun;", "line-height:1.5; font-size:14px; padding:10px 0", "height:53px", "Height:1px",
    "max-height : 3em ;color:red", "font:12px/1 a", "x:1;font-size:9pt;y:2", "background:url(a.png)", "a:b;;c:d",
    "FONT-SIZE:12PX", "white-space:nowrap;overflow:hidden", "width:100px;line-height:20px;height:20px",
    "color:red\r\nfont-size:12px", "", ";", "font-size:/**/12px", "font\\-size:12px",
    "font-size:0px", "font-size:0EM !important", "font-size:-0%;x:1", "font-size:.0pt", "font-size:0",
    "block-size:30px", "Max-Block-Size : 3em ;color:red", "block-size:10%", "block-size:0px",
    "height:calc(2em + 4px)", "max-height:min(3em, 40px)", "block-size:clamp(1em, 20px, 2em)",
])
def test_style_attributes_rewritten_declaration_by_declaration_as_through_tinycss2(text):
    """A declaration list no size or height declaration of which is written plainly comes back as it was (the
    short cut before the per-declaration loop); either way, what tinycss2 would make of it."""
    import tinycss2

    from proxy import css

    for tag in ("div", "img"):
        expected = tinycss2.serialize(css._rewrite_declaration_tokens(
            tinycss2.parse_component_value_list(css._unwrapped(text), skip_comments=False), SCALE,
            tag in css._REPLACED, None))
        assert rewrite_style_attribute(text, SCALE, tag) == expected


def test_lure_words_found_as_by_the_pattern():
    """_says_lure (character checks, then _find) answers what _LURE_TEXT.search does, and _find what str.find does,
    on texts made of the words' own characters (a first character met more than 16 times included)."""
    import random

    from proxy.transforms import elder

    rng = random.Random(7)
    alphabet = "扫码下载載立即APPpp充值在线支付购买抽奖客户端手机版 \n"
    words = list(elder._LURE_WORDS) + ["下载", "下載", "下载APP", "下載 客户端", "下" * 20 + "载"]
    for _ in range(3000):
        parts = [rng.choice(alphabet) for _ in range(rng.randrange(0, 60))]
        for _ in range(rng.randrange(0, 3)):
            parts.insert(rng.randrange(0, len(parts) + 1), rng.choice(words)[:rng.randrange(1, 8)])
        text = "".join(parts)
        assert elder._says_lure(text) == (elder._LURE_TEXT.search(text) is not None), text
        for word in ("下载", "扫码下载", "充值", "下" * 3):
            start = rng.randrange(0, len(text) + 2)
            assert elder._find(text, word, start) == text.find(word, start), (text, word, start)
    for text in ("下" * 40 + "载", "下 " * 40 + "下载APP", "下 " * 40, "扫" * 17 + "扫码下载"):
        assert elder._says_lure(text) == (elder._LURE_TEXT.search(text) is not None), text
        for start in (0, 5, 16, 17, 30, len(text)):
            assert elder._find(text, "下载", start) == text.find("下载", start)
            assert elder._find(text, "扫码下载", start) == text.find("扫码下载", start)

# --- through the proxy --------------------------------------------------------------------------------

def portal() -> web.Application:
    page = (FIXTURES / "elder" / "page.html").read_bytes()
    css = (FIXTURES / "elder" / "site.css").read_bytes()

    async def html(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html", charset="utf-8")

    async def stylesheet(request: web.Request) -> web.Response:
        return web.Response(body=css, content_type="text/css", headers={"ETag": '"css1"'})

    async def gbk_stylesheet(request: web.Request) -> web.Response:
        body = '@charset "gbk";\n.x{font-family:"宋体";font-size:12px}'.encode("gb18030")
        return web.Response(body=body, headers={"Content-Type": "text/css"})

    app = web.Application()
    app.router.add_get("/", html)
    app.router.add_get("/css/site.css", stylesheet)
    app.router.add_get("/css/gbk.css", gbk_stylesheet)
    return app


async def test_linked_stylesheets_rewritten_in_elder_mode_only(serve, proxy, http):
    upstream = await serve(portal())
    proxied = await proxy(upstream)
    identity = {"Accept-Encoding": "identity"}
    async with http.get(proxied + "/-/elder/css/site.css", headers=identity) as response:
        css = (await response.read()).decode()
        assert response.headers["Content-Type"] == "text/css; charset=utf-8"
        assert response.headers["ETag"].startswith('W/"css1.a11y-')
    assert "body { font-size: 24px; font-family: \"SimSun\"; margin: 0; *zoom: 1; }" in css
    assert ".box { min-height: 40px; overflow: hidden; _height: 40px; }" in css
    async with http.get(proxied + "/-/elder/css/gbk.css", headers=identity) as response:
        assert (await response.read()).decode() == '\n.x{font-family:"宋体";font-size:24px}'
    for path in ("/css/site.css", "/-/trad/css/site.css"):
        async with http.get(proxied + path, headers=identity) as response:
            assert await response.read() == (FIXTURES / "elder" / "site.css").read_bytes()


# --- what a reader sees, in Chromium ----------------------------------------------------------------------

MEASURE = """() => {
  const sizes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const text = node.textContent.trim();
    const element = node.parentElement;
    if (!text || !element.getClientRects().length) continue;
    const style = getComputedStyle(element);
    for (let i = 0; i < text.length; i++) sizes.push(parseFloat(style.fontSize));
  }
  const clipped = [...document.querySelectorAll('body *')].filter(e => {
    const s = getComputedStyle(e);
    return /hidden|clip/.test(s.overflowY) && e.scrollHeight > e.clientHeight + 1 && e.innerText.trim();
  }).map(e => e.className || e.tagName);
  const lineHeights = [...document.querySelectorAll('p, li, td')].map(e => {
    const s = getComputedStyle(e); return parseFloat(s.lineHeight) / parseFloat(s.fontSize); });
  const nav = [...document.querySelectorAll('.nav a')].map(a => a.getBoundingClientRect())
      .map(r => [r.width, r.height]);
  return {sizes, clipped, lineHeights, nav, scrollWidth: document.documentElement.scrollWidth,
          cursor: getComputedStyle(document.body).cursor,
          underline: getComputedStyle(document.querySelector('.nav a')).textDecorationLine};
}"""


@pytest.fixture(scope="module")
def elder_site(servers):
    upstream = servers.serve(portal())
    return upstream, servers.proxy(upstream)


@pytest.mark.browser
def test_reader_sees_larger_text_nothing_clipped(elder_site, chromium):
    upstream, proxied = elder_site
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(upstream + "/")
        before = page.evaluate(MEASURE)
        results = {}
        for step in (150, 200):
            page.goto(f"{proxied}/-/elder{'' if step == 150 else f'-{step}'}/")
            results[step] = page.evaluate(MEASURE)
    finally:
        page.close()
    after = results[150]
    assert statistics.median(before["sizes"]) < 16
    assert statistics.median(after["sizes"]) >= 24
    ordered = sorted(after["sizes"])
    assert ordered[len(ordered) // 10] >= 20  # 10th percentile
    assert sum(size < 18 for size in after["sizes"]) / len(after["sizes"]) <= 0.02
    assert statistics.median(results[200]["sizes"]) > statistics.median(after["sizes"])
    assert after["clipped"] == [], after["clipped"]
    assert min(after["lineHeights"]) >= 1.5 - 1e-6
    assert all(w >= 44 and h >= 44 for w, h in after["nav"]), after["nav"]
    assert after["scrollWidth"] <= max(1280, before["scrollWidth"])
    assert "cursor-arrow.svg" in after["cursor"]
    assert after["underline"] == "underline"
