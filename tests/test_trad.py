"""Traditional mode: what is converted and what never is, site phrases, lang, notice, the reverse path
for searches, and JSON — on small strings and through the proxy."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from aiohttp import web
from lxml import etree

from proxy.modes import parse as parse_modes
from proxy.pipeline import Page, build_pipeline
from proxy.rules import load_site
from proxy.settings import Settings
from proxy.transforms.trad_markup import COMMENT_LT, SKIP_END_TEXT, SKIP_START_TEXT
from proxy.yamlsource import load_text
from yarl import URL

SETTINGS = Settings()


def render(html: str, modes: str = "trad", rules_yaml: str | None = None, url: str = "http://www.shifan.gov.cn/a.html",
           **page_fields) -> str:
    page_rules = _rules(rules_yaml, url)
    page = Page(url=URL(url), modes=parse_modes(modes), settings=SETTINGS, rules=page_rules, **page_fields)
    return build_pipeline(SETTINGS).render(html, page)


def _rules(rules_yaml: str | None, url: str):
    from proxy.rules import PageRules, RuleSet
    if rules_yaml is None:
        return PageRules()
    site = load_site(load_text(rules_yaml, "site.yaml"))
    return RuleSet([site]).for_page(URL(url).host, URL(url).path)


def body_text(html: str, selector: str = "body") -> str:
    root = etree.fromstring(html.encode(), etree.HTMLParser(encoding="utf-8"))
    element = root.find(f".//{selector}") if selector != "body" else root.find("body")
    return "".join(element.itertext())


def test_phrase_split_by_markup_converts_as_one():
    out = render("<p><a href='#'>心理</a>发展，皇后的<b>头</b>发，<span>面<i>条</i></span></p>")
    assert "<a href=\"#\">心理</a>發展" in out
    assert "<b>頭</b>髮" in out
    assert "皇后" in out and "皇後" not in out


def test_readable_attributes_converted_urls_and_submitted_values_not():
    out = render("""<html><head><title>信息公开</title><meta name="description" content="头发">
        <meta name="keywords" content="面条"><meta property="og:title" content="发展"></head><body>
        <img alt="皇后头发" src="/图片/头发.png" title="头发">
        <a href="/搜索?q=头发" aria-label="搜索头发">x</a>
        <input type="text" name="q" value="头发" placeholder="请输入关键词">
        <input type="hidden" name="h" value="头发">
        <input type="submit" value="开始发送"><input type="submit" name="act" value="开始发送">
        <input type="button" value="开始发送"><form action="/发展"></form></body></html>""")
    assert "<title>信息公開</title>" in out
    assert 'content="頭髮"' in out and 'content="麪條"' in out and 'content="發展"' in out
    # URLs unchanged (the serializer writes non-ASCII in them percent-encoded, as browsers request them)
    assert 'alt="皇后頭髮"' in out and 'title="頭髮"' in out and f'src="{quote("/图片/头发.png")}"' in out
    assert f'href="{quote("/搜索?q=头发", safe="/?=")}"' in out and 'aria-label="搜索頭髮"' in out
    assert 'value="头发" placeholder="請輸入關鍵詞"' in out  # typed text is submitted back: unchanged
    assert 'type="hidden" name="h" value="头发"' in out
    assert '<input type="submit" value="開始發送">' in out
    assert 'name="act" value="开始发送"' in out  # a named submit's value reaches the server
    assert '<input type="button" value="開始發送">' in out
    assert f'action="{quote("/发展")}"' in out


@pytest.mark.parametrize("markup", [
    "<script>var a = '头发';</script>", "<style>.头发 { color: red }</style>", "<code>头发</code>",
    "<kbd>头发</kbd>", "<samp>头发</samp>", "<textarea>头发</textarea>", "<pre class='code'>头发</pre>",
    "<pre><code>头发</code></pre>", "<p translate='no'>头发</p>", "<p lang='en'>头发</p>",
    "<p data-a11y-skip-trad>头发</p>", "<div class='english'><p>头发</p></div>", "<pre class='english'>头发</pre>",
])
def test_never_converted(markup):
    out = render(f"<body>{markup}<p>头发</p></body>", rules_yaml="hosts: [www.shifan.gov.cn]\ntrad:\n  skip: [.english]\n")
    assert "头发" in out and "頭髮" in out  # the skipped copy stays, the normal one converts


def test_markup_around_text_comes_through_byte_for_byte():
    """The conversion works on the serialized page: comments (even commented-out markup), scripts holding
    tags, single-quoted values and nested skipped parts come out exactly as they went in."""
    page = ("<html><head><!--[if lt IE 9]><script src='/ie.js'></script><![endif]--><title>头发</title>"
            "<script>document.write('<p>头发</p></div>'); if (a < b) {}</script></head><body>"
            "<p>心理<!-- <div>旧的头发</div> -->发展，<a title='他说\"头发\"' data-x='头发'>头发</a></p>"
            "<pre><code>头发 <b>发展</b></code></pre><div lang='en'><p lang='zh'>头发</p><code>面条</code></div>"
            "<textarea name='t' placeholder='请输入头发'>头发</textarea></body></html>")
    out = render(page)
    assert "<!--[if lt IE 9]><script src='/ie.js'></script><![endif]-->" in out
    assert "<script>document.write('<p>头发</p></div>'); if (a < b) {}</script>" in out
    assert "心理<!-- <div>旧的头发</div> -->發展，" in out  # joined across the comment, which stays as written
    assert """title='他說"頭髮"' data-x="头发">頭髮</a>""" in out
    assert "<pre><code>头发 <b>发展</b></code></pre>" in out
    assert '<div lang="en"><p lang="zh">头发</p><code>面条</code></div>' in out  # a part in another language
    assert '<html lang="zh-Hant">' in out
    assert 'placeholder="請輸入頭髮">头发</textarea>' in out  # the hint is read, the content is submitted
    assert SKIP_START_TEXT not in out and SKIP_END_TEXT not in out and COMMENT_LT not in out


def test_whole_page_marked_not_to_translate():
    out = render('<html translate="no" lang="zh-CN"><body><p>头发</p></body></html>')
    assert "头发</p>" in out and "頭髮" not in out and SKIP_START_TEXT not in out
    assert '<html translate="no" lang="zh-CN">' in out


def test_text_holding_the_run_separator_still_converts_in_place():
    """Runs go to OpenCC joined by a separator the page does not contain.  A page holding control characters
    (the usual separator among them) has them shown as U+FFFD, as the parser now stores them, and still converts
    in place."""
    out = render("<body><p>头\x1f发</p><p>心理<b>发</b>展\x1f头发</p><p title='a\x1f头发'>面条</p></body>")
    assert "頭\ufffd發</p>" in out and "<p>心理<b>發</b>展\ufffd頭髮</p>" in out
    assert 'title="a\ufffd頭髮">麪條</p>' in out


def test_attribute_values_on_a_page_whose_text_is_all_ascii_stay_with_their_attributes():
    """No run of text to convert, only values: each value still goes back to its own attribute."""
    from proxy import document
    from proxy.convert import get_converter
    from proxy.transforms.trad import convert_document

    page = '<html><body><img src="a.png" alt="图片发展" title="头发"><div title="面条">News</div></body></html>'
    out = convert_document(document.parse(page), get_converter("s2t"))  # the toolbar would add Chinese text
    assert 'alt="圖片發展" title="頭髮"' in out and '<div title="麪條">News</div>' in out


def test_control_character_after_a_skipped_element_does_not_stop_the_conversion():
    """A control character near a skipped subtree stops nothing: the parser stores it as U+FFFD, the text after
    the skipped element is converted, and an option keeps submitting its original text."""
    out = render("<body><p>心理<code>头发</code>发展\x1f头发<img alt='头发' translate='no'>面条\x1f</p>"
                 "<select><option>选项\x1f头发</option></select></body>")
    assert "<code>头发</code>發展\ufffd頭髮" in out
    assert 'alt="头发" translate="no">麪條\ufffd' in out  # text after a void element is not part of it
    assert '<option value="选项\ufffd头发">選項\ufffd頭髮</option>' in out and SKIP_START_TEXT not in out


def test_lengths_that_change_keep_every_run_in_place():
    """s2twp changes lengths (U盘 -> 隨身碟, 内存 -> 記憶體): each run still gets exactly OpenCC's text for it,
    a phrase split by a tag goes whole to one side, and every other run stays in place."""
    page = ("<body><div><p>插入<a href='#'>U</a>盘</p><p>头发</p><p title='U盘'>内<b>存</b></p><p>面条</p>"
            "<ul>" + "".join(f"<li><a href='#'>第{i}个U</a>盘</li><li>头发</li>" for i in range(50)) + "</ul></div></body>")
    out = render(page, "trad-twp")
    assert '<p>插入<a href="#">隨身碟</a></p><p>頭髮</p><p title="隨身碟">記憶體<b></b></p><p>麵條</p>' in out
    assert all(f'<li><a href="#">第{i}個</a>隨身碟</li><li>頭髮</li>' in out for i in range(50))


def test_plain_pre_and_chinese_lang_parts_are_converted():
    out = render("<body><pre>头发</pre><p lang='zh-CN'>发展</p><p lang='zh-Hans'>面条</p></body>")
    assert "頭髮</pre>" in out and "头发" not in out.split("<body", 1)[1]
    assert '<p lang="zh-Hant">發展</p>' in out and '<p lang="zh-Hant">麪條</p>' in out


@pytest.mark.parametrize("modes, lang", [("trad", "zh-Hant"), ("trad-t", "zh-Hant"), ("trad-tw", "zh-Hant-TW"),
                                         ("trad-twp", "zh-Hant-TW"), ("trad-hk", "zh-Hant-HK")])
def test_page_language_follows_variant(modes, lang):
    out = render('<html lang="en" xml:lang="en"><body><p>发展</p></body></html>', modes)
    assert f'<html lang="{lang}" xml:lang="{lang}">' in out


def test_variants_differ_as_opencc_does():
    html = "<p id='t'>使用<a href='#'>U</a>盘打印文件，鼠标右键。</p>"
    assert "U盤" in body_text(render(html, "trad"), "p[@id='t']")
    twp = body_text(render(html, "trad-twp"), "p[@id='t']")
    assert twp.startswith("使用隨身碟") and "滑鼠" in twp
    assert "<a href=\"#\">隨身碟</a>" in render(html, "trad-twp")  # the link keeps a name


def test_site_phrases_win_even_split_by_markup():
    rules = "hosts: [www.shifan.gov.cn]\ntrad:\n  phrases:\n    示范市: 示範巿\n    锡山: 錫山\n"
    out = render("<p id='t'>示<b>范</b>市的<a href='#'>锡</a>山区</p>", rules_yaml=rules)
    assert body_text(out, "p[@id='t']") == "示範巿的錫山區"
    other_site = render("<p>示范市</p>", rules_yaml=rules, url="http://www.other.gov.cn/")
    assert "示範市" in other_site


def test_notice_configurable_and_converted():
    out = render("<body><p>x</p></body>")
    assert "a11y-proxy-trad-notice" in out and "簡體原文爲準" in out and 'role="note"' in out
    custom = render("<body><p>x</p></body>", rules_yaml="trad:\n  notice: 本页为机器转换\n")
    assert "本頁爲機器轉換" in custom
    assert "a11y-proxy-trad-notice" not in render("<body><p>x</p></body>", rules_yaml="trad:\n  notice: ''\n")
    assert "a11y-proxy-trad-notice" not in render("<body><p>x</p></body>", modes="")


def test_option_without_value_keeps_submitting_original():
    out = render("<select name='c'><option>北京</option><option value='2'>锡山</option></select>")
    assert '<option value="北京">北京</option>' in out and '<option value="2">錫山</option>' in out


def test_option_value_is_its_text_as_the_browser_submits_it():
    """HTML's option value: the text, ASCII whitespace stripped and collapsed (not a no-break space), inline elements'
    text included, comments not."""
    out = render("<select name='area'><option>\n      北京市\n    </option><option>\t全部  地区\r\n</option>"
                 "<option>河北<span>省 石家庄</span><!--旧--></option><option>\u00a0天津 </option></select>")
    assert '<option value="北京市">\n      北京市\n    </option>' in out
    assert '<option value="全部 地区">\t全部  地區\n</option>' in out
    assert '<option value="河北省 石家庄">河北<span>省 石家莊</span><!--旧--></option>' in out
    assert '<option value="\u00a0天津">\u00a0天津 </option>' in out


def test_option_with_a_script_is_left_as_it_is():
    # What the script writes is part of the option's text, and of what it submits: the server cannot know it.
    out = render("<select name='c'><option>河北<script>document.write('省')</script></option></select>")
    assert "<option data-a11y-skip-trad=\"\">河北<script>document.write('省')</script></option>" in out


def test_batched_into_few_opencc_calls(monkeypatch):
    from proxy import convert
    calls = []
    original = convert.Converter.convert
    monkeypatch.setattr(convert.Converter, "convert", lambda self, text: calls.append(text) or original(self, text))
    paragraphs = "".join(f"<p>第{i}段：<a href='#'>心理</a>发展与<b>头发</b>。</p>" for i in range(300))
    render(f"<body>{paragraphs}<img alt='头发'></body>")
    assert len(calls) == 1


# --- through the proxy ----------------------------------------------------------------------------------

def search_upstream() -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/search")
    async def search(request: web.Request) -> web.Response:
        return web.json_response({"q": request.query.get("q"), "raw": request.query_string, "page": request.query.get("page")})

    @routes.post("/search")
    async def search_post(request: web.Request) -> web.Response:
        form = await request.post()
        return web.json_response({"q": form.get("q"), "other": form.get("other")})

    @routes.get("/gbk/search")
    async def gbk_search(request: web.Request) -> web.Response:
        raw = request.rel_url.raw_query_string
        return web.json_response({"raw": raw})

    @routes.get("/gbk/form.html")
    async def gbk_form(request: web.Request) -> web.Response:
        html = '<html><head><meta charset="gb2312"></head><body><form action="/gbk/search"><input name="q"></form></body></html>'
        return web.Response(body=html.encode("gb18030"), headers={"Content-Type": "text/html"})

    @routes.get("/api/news.json")
    async def news(request: web.Request) -> web.Response:
        return web.json_response([{"title": "关于头发的通知", "url": "/xxgk/头发.html", "id": 1}])

    @routes.get("/api/news.js")
    async def news_jsonp(request: web.Request) -> web.Response:
        body = 'cb({"title": "面条", "link": "http://x/面条"});'
        return web.Response(text=body, content_type="application/javascript")

    @routes.get("/other.json")
    async def other(request: web.Request) -> web.Response:
        return web.json_response({"title": "头发"})

    @routes.get("/missing")
    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound(text="<html><body><p>页面不存在</p></body></html>", content_type="text/html")

    app = web.Application()
    app.add_routes(routes)
    return app


@pytest.fixture
async def trad_site(serve, proxy, tmp_path):
    (tmp_path / "site.yaml").write_text(
        "hosts: [127.0.0.1]\ntrad:\n  json: [/api/*]\n  search: [/gbk/search]\n", encoding="utf-8")
    upstream = await serve(search_upstream())
    return upstream, await proxy(upstream, rules_dir=tmp_path)


async def test_search_query_goes_back_simplified(trad_site, http):
    upstream, proxied = trad_site
    async with http.get(proxied + "/-/trad/search?q=" + quote("經濟發展") + "&page=2") as response:
        seen = await response.json()
    assert seen["q"] == "经济发展" and seen["page"] == "2"
    async with http.get(proxied + "/search?q=" + quote("經濟發展")) as response:  # plain mode: untouched
        assert (await response.json())["q"] == "經濟發展"
    async with http.post(proxied + "/-/trad-hk/search", data={"q": "經濟", "other": "經濟"}) as response:
        seen = await response.json()
    assert seen == {"q": "经济", "other": "經濟"}  # only search-named fields on unlisted paths


async def test_gbk_portal_forms_submit_gbk_and_listed_paths_convert(trad_site, http):
    upstream, proxied = trad_site
    async with http.get(proxied + "/-/trad/gbk/form.html", headers={"Accept-Encoding": "identity"}) as response:
        html = (await response.read()).decode()
    assert 'accept-charset="gbk"' in html
    typed = quote("經濟".encode("big5"))  # any non-UTF-8 bytes are read as the portal's legacy charset
    gbk_query = quote("經濟".encode("gb18030"))
    async with http.get(proxied + f"/-/trad/gbk/search?anything={gbk_query}") as response:
        raw = (await response.json())["raw"]
    assert raw == "anything=" + quote("经济".encode("gb18030")).replace("%20", "+")
    assert typed


async def test_json_and_jsonp_on_listed_paths(trad_site, http):
    upstream, proxied = trad_site
    async with http.get(proxied + "/-/trad/api/news.json") as response:
        data = json.loads(await response.read())
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert data == [{"title": "關於頭髮的通知", "url": "/xxgk/头发.html", "id": 1}]
    async with http.get(proxied + "/-/trad/api/news.js") as response:
        assert (await response.read()).decode() == 'cb({"title":"麪條","link":"http://x/面条"});'
    async with http.get(proxied + "/-/trad/other.json") as response:  # not listed: untouched
        assert json.loads(await response.read()) == {"title": "头发"}
    async with http.get(proxied + "/api/news.json") as response:  # plain mode: untouched
        assert json.loads(await response.read())[0]["title"] == "关于头发的通知"


async def test_proxy_pages_speak_the_readers_script(trad_site, proxy, http):
    upstream, proxied = trad_site
    async with http.get(proxied + "/-/trad/missing", headers={"Accept-Encoding": "identity"}) as response:
        assert response.status == 404
        assert "頁面不存在" in (await response.read()).decode()
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    down = await proxy(f"http://127.0.0.1:{dead}")
    async with http.get(down + "/-/trad-hk/x", headers={"Accept-Encoding": "identity"}) as response:
        html = (await response.read()).decode()
    assert response.status == 502
    assert "暫時無法連接網站" in html and 'lang="zh-Hant-HK"' in html
