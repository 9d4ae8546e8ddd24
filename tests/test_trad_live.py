"""Traditional script for text the page's own scripts write (issue 14): the server side.

* POST /-/convert: same-origin only, bounded (limits.convert_body_max_bytes, limits.convert_max_texts),
  never cached, counted in metrics, and converting exactly as the page's conversion does: the variant the
  request names, the site's phrases (found through the rules by the page's path), runs of text across inline
  markup as one phrase;
* the script trad mode puts first in <head> of whole pages (never into fragments), with what the
  conversion needs on its tag, and served cacheable from /-/static/;
* the character tables the script tests text with, from OpenCC's STCharacters: the "strict" class never
  matches what the server's own conversion leaves in a page, so a page whose scripts write nothing costs no
  conversion request.

What a reader sees in real Chromium is in tests/test_trad_live_browser.py.
"""
from __future__ import annotations

import json
import re

import pytest
from aiohttp import web
from lxml import etree
from yarl import URL

from proxy import document
from proxy.convert import FORWARD_CONFIGS, get_converter
from proxy.modes import parse as parse_modes
from proxy.pipeline import Page, build_pipeline
from proxy.settings import Limits, Settings
from proxy.transforms import trad
from proxy.transforms.trad_markup import RAW_TEXT_TAGS, TEXT_ATTRIBUTES
from tests.conftest import CORPUS, CORPUS_PAGES, ROOT

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>示范市首页</title></head>
<body><div id="english">头发 stays</div><p><a href="/a">心理</a>发展，示范市人民政府</p></body></html>"""
FRAGMENT = '<li><a href="/x">示范市通知</a></li>'
SAME = {"Sec-Fetch-Site": "same-origin"}
RULES = """site: 测试站
hosts: ["127.0.0.1"]
trad:
  phrases: {示范市: 示範巿}
  skip: ["#english"]
"""


@pytest.fixture
async def site(serve, proxy, tmp_path):
    async def page(request):
        return web.Response(text=PAGE, content_type="text/html")

    async def fragment(request):
        return web.Response(text=FRAGMENT, content_type="text/html")

    app = web.Application()
    app.router.add_get("/page.html", page)
    app.router.add_get("/list.html", fragment)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "site.yaml").write_text(RULES, encoding="utf-8")
    return await proxy(await serve(app), rules_dir=rules)


async def convert(http, base, texts, variant="s2t", page="/page.html", headers=SAME, **extra):
    response = await http.post(base + "/-/convert", data=json.dumps({"variant": variant, "page": page, "texts": texts}),
                               headers={"Content-Type": "application/json", **headers}, **extra)
    return response, (await response.json() if response.content_type == "application/json" else None)


# --- the endpoint -------------------------------------------------------------------------------------

async def test_converts_like_the_page_with_the_sites_phrases(http, site):
    response, body = await convert(http, site, ["示范市", ["心理", "发展"], "头发", ["<b>", "abc"]])
    assert response.status == 200
    assert body == {"texts": ["示範巿", ["心理", "發展"], "頭髮", ["<b>", "abc"]]}
    assert response.headers["Cache-Control"] == "no-store"
    # The page itself converts the same phrase the same way (the server met it first there).
    html = await (await http.get(site + "/-/trad/page.html")).text()
    assert "<title>示範巿首頁</title>" in html and "心理</a>發展，示範巿人民政府" in html
    # Another site (no rule for its path's host is involved: the phrases belong to the proxy's upstream).
    assert (await convert(http, site, ["示范市"], page="/other/path?x=1"))[1] == {"texts": ["示範巿"]}


@pytest.mark.parametrize("variant", FORWARD_CONFIGS)
async def test_each_variant_is_the_variants_converter(http, site, variant):
    texts = ["软件和硬件的信息", ["U", "盘里的", "文件"], "头发"]
    response, body = await convert(http, site, texts, variant=variant)
    assert response.status == 200
    converter = get_converter(variant, (("示范市", "示範巿"),))
    assert body["texts"][0] == converter.convert(texts[0])
    assert "".join(body["texts"][1]) == converter.convert("".join(texts[1]))  # a run: cut back into its pieces
    assert len(body["texts"][1]) == 3
    assert body["texts"][2] == converter.convert("头发")


async def test_runs_match_the_servers_markup_conversion(http, site):
    """A run of text nodes converts as the server converts the same text split by the same inline tags."""
    pieces = ["关于", "心理", "发展和", "头", "发护理的通知"]
    _, body = await convert(http, site, [pieces], variant="s2twp")
    expected = get_converter("s2twp", (("示范市", "示範巿"),))
    page = "<p>" + "".join(f"<span>{p}</span>" for p in pieces) + "</p>"
    converted = trad.convert_document(document.parse(page), expected)
    assert "".join(f"<span>{p}</span>" for p in body["texts"][0]) in converted


async def test_same_origin_only(http, site):
    host = URL(site).raw_authority
    ok = [SAME, {"Origin": site}, {"Origin": f"https://{host}"}]  # (the scheme is a front's business)
    refused = [{}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "none"},
               {"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": site + ".evil.example"},
               {"Origin": site.replace("127.0.0.1", "localhost")},
               # A browser's Sec-Fetch-Site is believed before its Origin.
               {"Sec-Fetch-Site": "cross-site", "Origin": site}, {"Origin": "http://[::1"}]
    for headers in ok:
        assert (await convert(http, site, ["头发"], headers=headers))[0].status == 200, headers
    for headers in refused:
        response, body = await convert(http, site, ["头发"], headers=headers)
        assert response.status == 403 and body == {"error": "same-origin requests only"}, headers
        assert response.headers["Cache-Control"] == "no-store"
    # Only hosts the proxy serves (a page on another name is not a page of ours).
    response, _ = await convert(http, site, ["头发"], headers={"Host": "elsewhere.example", "Origin": "http://elsewhere.example"})
    assert response.status == 421


async def test_bounded_input(http, serve, proxy):
    async def nothing(request):
        return web.Response(text="")

    app = web.Application()
    app.router.add_get("/", nothing)
    base = await proxy(await serve(app), limits=Limits(convert_body_max_bytes=4096, convert_max_texts=10))
    assert (await convert(http, base, ["头发"] * 10))[0].status == 200
    response, body = await convert(http, base, ["头发"] * 11)
    assert response.status == 413 and "convert_max_texts" in body["error"]
    response, body = await convert(http, base, [["头", "发"]] * 6)  # every piece of a run counts
    assert response.status == 413
    response, body = await convert(http, base, ["头发" * 800])  # 4.8 KB of text
    assert response.status == 413 and "convert_body_max_bytes" in body["error"]

    async def chunks():  # no Content-Length: counted while read
        yield b'{"variant": "s2t", "texts": ["'
        for _ in range(10):
            yield "头发".encode() * 100
        yield b'"]}'

    response = await http.post(base + "/-/convert", data=chunks(), headers={"Content-Type": "application/json", **SAME})
    assert response.status == 413
    assert Limits().convert_body_max_bytes == 256 * 1024 and Limits().convert_max_texts == 2000
    # JSON nested deeper than the parser goes, within the size limit: refused like any malformed body, not a 500.
    response = await http.post(base + "/-/convert", data=b"[" * 2000 + b"]" * 2000,
                               headers={"Content-Type": "application/json", **SAME})
    assert response.status == 400


async def test_malformed_requests(http, site):
    for body in ([], {"variant": "s2x", "texts": []}, {"variant": "s2t"}, {"variant": "s2t", "texts": "头发"},
                 {"variant": "s2t", "texts": [1]}, {"variant": "s2t", "texts": [[]]}, {"variant": "s2t", "texts": [["a", 2]]},
                 {"variant": "s2t", "texts": [], "page": "relative"}, {"variant": "s2t", "texts": [], "page": 3}):
        response = await http.post(site + "/-/convert", data=json.dumps(body),
                                   headers={"Content-Type": "application/json", **SAME})
        assert response.status == 400, body
    response = await http.post(site + "/-/convert", data=b"{not json", headers={"Content-Type": "application/json", **SAME})
    assert response.status == 400
    response = await http.post(site + "/-/convert", data=b'{"variant":"s2t","texts":[]}',
                               headers={"Content-Type": "text/plain", **SAME})  # what a cross-site form can send
    assert response.status == 415
    response = await http.get(site + "/-/convert", headers=SAME)
    assert response.status == 405 and response.headers["Allow"] == "POST"
    # An empty batch, and text that is not valid Unicode (a lone surrogate from a broken page), are answered.
    assert (await convert(http, site, []))[1] == {"texts": []}
    response = await http.post(site + "/-/convert", data=b'{"variant":"s2t","texts":["\\ud800\\u5934","\\u5934\\u53d1"]}',
                               headers={"Content-Type": "application/json", **SAME})
    assert response.status == 200 and await response.json() == {"texts": ["\ud800头", "頭髮"]}


async def test_counted_in_metrics(http, site):
    await convert(http, site, ["头发"])
    await convert(http, site, ["头发"], headers={"Origin": "http://evil.example"})
    await http.post(site + "/-/convert", data=b"[", headers={"Content-Type": "application/json", **SAME})
    metrics = await (await http.get(site + "/-/metrics")).text()
    for result in ("ok", "refused", "bad"):
        assert re.search(rf'a11y_proxy_convert_requests_total{{result="{result}"}} 1\.0', metrics), result


# --- the script on the page -----------------------------------------------------------------------------

async def test_script_first_in_head_of_whole_pages_only(http, site):
    html = await (await http.get(site + "/-/trad-hk/page.html")).text()
    head = etree.HTML(html).find("head")
    first = [child for child in head if isinstance(child.tag, str)][:2]
    assert first[0].tag == "meta" and first[0].get("charset") == "utf-8"
    script = first[1]
    assert script.tag == "script" and script.get("data-a11y-proxy") == "trad-live"
    assert re.fullmatch(r"/-/static/trad-live\.s2hk\.js\?v=[0-9a-f]{12}", script.get("src"))
    assert script.get("data-variant") == "s2hk" and script.get("data-page") == "/page.html"
    assert script.get("data-limits") == "262144 2000" and script.get("data-skip") == "#english"
    assert script.get("defer") is None and script.get("async") is None  # it must see the page's first writes
    # The rules' skipped parts carry the mark the script reads too.
    assert re.search(r'<div id="english" data-a11y-skip-trad="">头发 stays</div>', html)
    # Not in fragments (converted by the server; the page they go into has the script), not in other modes.
    fragment = await (await http.get(site + "/-/trad/list.html", headers={"X-Requested-With": "XMLHttpRequest"})).text()
    assert "trad-live" not in fragment
    for path in ("/page.html", "/-/elder/page.html"):
        assert "trad-live" not in await (await http.get(site + path)).text()


def test_no_script_in_what_a_script_fetched():
    """A whole page fetched by a script is a fragment too (page.fragment): converted, never given the script."""
    settings = Settings()
    page = Page(url=URL("http://127.0.0.1/page.html"), modes=parse_modes("trad"), settings=settings, fragment=True)
    out = build_pipeline(settings).render(PAGE, page)
    assert "trad-live" not in out and "心理</a>發展" in out
    page = Page(url=URL("http://127.0.0.1/page.html"), modes=parse_modes("trad"), settings=settings)
    assert build_pipeline(settings).render(PAGE, page).count('data-a11y-proxy="trad-live"') == 1


async def test_script_is_served_cacheable(http, site):
    html = await (await http.get(site + "/-/trad/page.html")).text()
    src = re.search(r'src="(/-/static/trad-live\.s2t\.js\?v=\w+)"', html).group(1)
    response = await http.get(site + src)
    body = await response.read()
    assert response.status == 200 and response.content_type == "application/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert b"/*@" not in body and b'var ANY_HAN = false' in body  # the tables are filled in
    assert "头".encode() in body and "國".encode() not in body
    again = await http.get(site + src, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304
    unversioned = await http.get(site + "/-/static/trad-live.s2t.js")
    assert unversioned.status == 200 and unversioned.headers["Cache-Control"] == "public, max-age=3600"
    assert b"var ANY_HAN = true" in await (await http.get(site + "/-/static/trad-live.s2twp.js")).read()
    # The template itself is valid on its own (no tables: it converts only what loads after the page).
    raw = await http.get(site + "/-/static/trad-live.js")
    assert raw.status == 200 and b'true /*@any-han*/' in await raw.read()
    assert (await http.get(site + "/-/static/trad-live.s2x.js")).status == 404
    gz = await http.get(site + src, headers={"Accept-Encoding": "gzip"})
    assert gz.headers.get("Content-Encoding") == "gzip" and len(await gz.read()) < len(body) * 0.6


# --- the character tables ----------------------------------------------------------------------------

def test_simplified_only_from_openccs_table():
    path = trad.st_characters_path()
    assert path.is_file(), (f"OpenCC's STCharacters table is not at {path}: the opencc package keeps its data "
                            "elsewhere now; fix trad.st_characters_path")
    only = trad.simplified_only()
    assert set("国来维头发们这门") <= only
    # Traditional characters too (STCharacters lists them among their own candidates): never counted.
    assert not set("后里干广台余于范着") & only
    assert not set("國來維頭髮") & only
    assert 3000 < len(only) < 5000
    assert set("后里干广台") <= trad.st_ambiguous() and not trad.st_ambiguous() & only


@pytest.mark.parametrize("config", FORWARD_CONFIGS)
def test_strict_class_never_matches_the_servers_own_output(config):
    """Why a page whose scripts write nothing costs no request: while it loads, the script sends only text
    with a "strict" character, and the server's conversion leaves none (outside the parts it skips), on the
    demo portal's pages and every corpus page."""
    strict = _class(trad.live_tables(config)["strict"])
    converter = get_converter(config, (("锡山区", "錫山區"),))
    pages = sorted((ROOT / "proxy" / "demo" / "site").rglob("*.html")) + [CORPUS / name for name in CORPUS_PAGES]
    found = {}
    for path in pages:
        raw = path.read_bytes()
        text = raw.decode("utf-8") if _utf8(raw) else raw.decode("gb18030", "replace")
        doc = document.parse(text)
        out = etree.HTML(trad.convert_document(doc, converter))
        for where, value in _readable(out):
            if strict.search(value):
                found[f"{path.name} {where}"] = value[:60]
    assert found == {}
    # And it does match what a script writes: the lines.
    for line in ("来源：昌平区文化委", "二维码", "中国上海", "头发"):
        assert strict.search(line), line


def test_broad_class_catches_every_change_of_the_variant():
    """After loading, text is sent when it holds a "broad" character: for s2t, s2tw and s2hk, any text
    without one converts to itself (checked on every run of text of the demo and corpus pages)."""
    runs = []
    for path in sorted((ROOT / "proxy" / "demo" / "site").rglob("*.html")) + [CORPUS / name for name in CORPUS_PAGES]:
        raw = path.read_bytes()
        text = raw.decode("utf-8") if _utf8(raw) else raw.decode("gb18030", "replace")
        runs += [value for _, value in _readable(etree.HTML(text))]
    assert len(runs) > 100
    for config in ("s2t", "s2tw", "s2hk"):
        broad = _class(trad.live_tables(config)["strict"], trad.live_tables(config)["more"])
        convert = get_converter(config).convert
        missed = [run for run in runs if not broad.search(run) and convert(run) != run]
        assert missed == [], config
    assert trad.live_tables("s2twp")["more"] == ("", "")  # s2twp: any Han character (文件 -> 檔案)


def _class(*parts) -> re.Pattern:
    return re.compile("[" + "".join(bmp + astral for bmp, astral in parts) + "]")


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_NOT_TEXT = trad.SKIP_TAGS | set(RAW_TEXT_TAGS) | {"noscript", "iframe"}


def _readable(root):
    """(where, text) for every text node a reader sees and every readable attribute value, outside the
    parts the server leaves alone (<title> is included: it is what document.title reads)."""
    skipped = trad.skipped_elements(root, set(), trad.Marks(root))

    def hidden(element) -> bool:
        return any(e in skipped or e.tag in _NOT_TEXT for e in (element, *element.iterancestors()))

    for node in root.iter():
        parent = node.getparent()
        if node.tail and parent is not None and not hidden(parent):
            yield f"after {node.tag}", node.tail
        if not isinstance(node.tag, str) or hidden(node):
            continue
        if node.text:
            yield node.tag, node.text
        for name, value in node.attrib.items():
            if name in TEXT_ATTRIBUTES:
                yield f"{node.tag}@{name}", value
