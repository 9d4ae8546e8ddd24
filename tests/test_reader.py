"""Reader view (the `reader` mode): the main content alone.  On small strings and a TRS-style article page
(tests/fixtures/reader_trs.html), through the proxy, in real Chromium with JavaScript off, combined with
trad, elder and contrast, and over every article page of the corpus."""
from __future__ import annotations

import csv
import re
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web
from lxml import etree
from yarl import URL

from proxy import document
from proxy.modes import parse as parse_modes
from proxy.pipeline import Page, build_pipeline
from proxy.rules import PageRules, RuleSet, load_site
from proxy.settings import Settings
from proxy.transforms.reader import extract, full_page_href, is_attachment, parse_date
from proxy.yamlsource import load_text
from tests.conftest import FIXTURES, SHARED

SETTINGS = Settings()
ARTICLE_PATH = "/xxgk/tzgg/202611/t20261120_1002.html"
ARTICLE_URL = "http://www.shifan.gov.cn" + ARTICLE_PATH
TRS = (FIXTURES / "reader_trs.html").read_text(encoding="utf-8")

# What the TRS fixture's reader view must show, and what it must not (site furniture).
BODY_TEXTS = ["各区人民政府，市政府各部门、各直属机构", "全市集中供暖时间为2026年11月15日至2027年3月15日",
              "各区要建立困难群众供暖保障台账", "请各单位认真贯彻落实", "东城区"]
FURNITURE = ["政务服务", "相关新闻", "示范市召开冬季安全生产工作会议", "版权所有", "ICP备", "广告", "当前位置",
             "打印本页", "关闭窗口", "浏览次数", "分享到", "字号", "繁体版", "English"]


def render(html: str, modes: str = "reader", url: str = ARTICLE_URL, prefix: str | None = None,
           rules_yaml: str | None = None) -> str:
    parsed = parse_modes(modes)
    if prefix is None:
        prefix = f"/-/{parsed.canonical()}" if parsed.canonical() else ""
    rules = PageRules()
    if rules_yaml:
        rules = RuleSet([load_site(load_text(rules_yaml, "site.yaml"))]).for_page(URL(url).host, URL(url).path)
    page = Page(url=URL(url), modes=parsed, settings=SETTINGS, prefix=prefix, rules=rules)
    return build_pipeline(SETTINGS).render(html, page)


def root_of(html: str) -> etree._Element:
    return document.parse(html).root


def text_of(el) -> str:
    return re.sub(r"\s+", "", "".join(el.itertext()))


def article_of(html: str) -> etree._Element:
    root = root_of(html)
    mains = root.findall(".//main")
    assert len(mains) == 1
    articles = mains[0].findall(".//article")
    assert len(articles) == 1
    return articles[0]


# --- the TRS-style article ----------------------------------------------------------------------------

def test_trs_article_title_date_source_body():
    out = render(TRS)
    article = article_of(out)
    assert [text_of(h) for h in root_of(out).iter("h1")] == ["示范市关于做好2026年冬季供暖工作的通知"]
    time = article.find(".//time")
    assert time.get("datetime") == "2026-11-20T09:30" and time.text == "2026-11-20 09:30"
    meta = article.find("p[@class='a11y-proxy-reader-meta']")
    assert "来源：示范市住房和城乡建设局" in text_of(meta)
    body = article.find("div[@class='a11y-proxy-reader-body']")
    body_text = text_of(body)
    for expected in BODY_TEXTS:
        assert expected in body_text
    article_text = text_of(article)
    for furniture in FURNITURE:
        assert furniture not in article_text, furniture
    assert article_text.count("示范市关于做好2026年冬季供暖工作的通知") == 1  # the title once, in the h1


def test_trs_article_structure_kept_presentation_dropped():
    body = article_of(render(TRS)).find("div[@class='a11y-proxy-reader-body']")
    assert [text_of(h) for h in body.iter("h2")] == ["一、供暖时间", "二、工作要求"]
    assert len(body.findall(".//ol/li")) == 3
    tables = body.findall(".//table")
    assert len(tables) == 1, "the data table stays, the layout table goes"
    assert text_of(tables[0].find("caption")) == "各区供暖报修电话"
    assert [text_of(th) for th in tables[0].iter("th")] == ["区", "报修电话"]
    images = body.findall(".//img")
    assert [img.get("src") for img in images] == ["/images/heating-2026.jpg", "/images/chart-2026.png"]
    assert images[0].get("alt") == "供热企业检修管网" and images[1].get("alt")  # every image has an alt
    for el in body.iter():
        assert el.tag not in ("font", "span", "script", "style", "center", "form", "iframe"), el.tag
        assert not set(el.attrib) - {"href", "src", "alt", "colspan", "rowspan", "scope", "class", "lang"}, \
            (el.tag, el.attrib)


def test_trs_article_attachments_and_previous_next():
    article = article_of(render(TRS))
    section = article.find("section[@class='a11y-proxy-reader-attachments']")
    assert text_of(section.find("h2")) == "附件"
    links = [(a.get("href"), text_of(a)) for a in section.iter("a")]
    assert links == [("/-/reader/xxgk/tzgg/P020261120_1.pdf", "1.示范市2026年冬季供暖实施方案"),
                     ("/-/reader/xxgk/tzgg/P020261120_2.docx", "2.困难群众供暖补贴申请表"),
                     ("/-/reader/xxgk/tzgg/P020261120_3.xls", "3.供热企业名录.xls")]
    assert "（PDF）" in text_of(section) and "（DOCX）" in text_of(section)
    pager = article.find("nav[@class='a11y-proxy-reader-pager']")
    assert pager.get("aria-label")
    items = [(text_of(li), li.find("a").get("href")) for li in pager.iter("li")]
    assert items == [("上一篇：关于2026年秋季森林防火工作的通知", "/-/reader/xxgk/tzgg/201611/t20261119_1001.html"),
                     ("下一篇：关于开展冬季燃气安全检查的通告", "/-/reader/xxgk/tzgg/201611/t20261121_1003.html")]


def test_head_keeps_essentials_drops_portal_styles_and_scripts():
    root = root_of(render(TRS))
    head = root.find("head")
    assert text_of(head.find("title")) == "示范市关于做好2026年冬季供暖工作的通知_示范市人民政府门户网站"
    assert head.find("meta[@http-equiv='Content-Type']") is not None
    assert head.find("meta[@name='viewport']") is not None
    assert head.find("style") is None
    stylesheets = [link.get("href") for link in head.iter("link")]
    assert "/css/portal.css" not in stylesheets and "/css/article.css" not in stylesheets
    assert "/-/static/reader.css" in stylesheets
    assert all(href.startswith("/-/static/") for href in stylesheets)
    scripts = [s.get("src") for s in root.iter("script")]
    assert all(src and src.startswith("/-/static/") for src in scripts), scripts  # only the proxy's own
    body = root.find("body")
    assert body.get("onload") is None and body.get("bgcolor") is None
    assert "a11y-proxy-reader" in root.get("class")


def test_base_is_kept():
    out = render('<html><head><base href="/xxgk/"><title>t</title></head><body><div id="zoom"><p>'
                 + "正文内容，" * 30 + "</p></div></body></html>")
    assert root_of(out).find("head/base").get("href") == "/-/reader/xxgk/"


def test_a_grid_of_short_cells_keeps_its_table_whatever_wraps_the_text():
    """A headerless grid of figures whose editor wrapped each cell's text in a <div> is data, as the same grid
    without the <div>s is; cells that hold several blocks or long text are layout, read as a run of blocks."""
    text = "<p>" + "根据《示范市政府信息公开规定》，现将有关事项通知如下，请各单位认真贯彻执行。" * 3 + "</p>"
    rows = [("序号", "单位", "金额（万元）"), ("1", "市教育局", "120"), ("2", "市卫健委", "80")]
    grid = "<table border=1>" + "".join("<tr>" + "".join(f"<td><div>{c}</div></td>" for c in row) + "</tr>"
                                        for row in rows) + "</table>"
    layout = ("<table><tr><td><div>导航</div><div>首页</div></td><td><div>" + "正文" * 40 + "</div></td></tr>"
              "<tr><td><div>栏目</div><div>通知</div></td><td><div>" + "附件" * 40 + "</div></td></tr></table>")
    page = ('<!DOCTYPE html><html lang="zh-CN"><head><title>通知</title></head><body><div id="zoom">'
            f"{text}{grid}{text}{layout}</div></body></html>")
    tables = article_of(render(page)).findall(".//table")
    assert len(tables) == 1 and [text_of(td) for td in tables[0].iter("td")] == [c for row in rows for c in row]


def test_link_back_to_the_full_page():
    out = render(TRS, "trad+elder+reader")
    back = root_of(out).find(".//main//p[@class='a11y-proxy-reader-back']/a")
    assert back.get("href") == "/-/trad+elder" + ARTICLE_PATH
    assert root_of(render(TRS)).find(".//main//p[@class='a11y-proxy-reader-back']/a").get("href") == ARTICLE_PATH
    # Reader mode from the cookie (no prefix): a plain link would come back to reader mode; toggle it off.
    page = Page(url=URL(ARTICLE_URL + "?a=1"), modes=parse_modes("reader"), settings=SETTINGS, prefix="")
    assert full_page_href(page) == f"/-/toggle/reader?next={ARTICLE_PATH}%3Fa%3D1"
    # /-/reader//evil.example/x is a page of the portal (one an attacker may send a link to): its way back must
    # not be '//evil.example/x', a link to another site.
    for modes, prefix, back in (("reader", "/-/reader", "/.//evil.example/x"),
                                ("trad+reader", "/-/trad+reader", "/-/trad//evil.example/x")):
        page = Page(url=URL("http://www.example.gov.cn//evil.example/x"), modes=parse_modes(modes), settings=SETTINGS,
                    prefix=prefix)
        assert full_page_href(page) == back


# --- finding the content ------------------------------------------------------------------------------

HANWEB = """<html><head><title>市教育局召开全市教育工作会议 - 示范市教育局</title></head><body>
<div class="top"><a href="/">首页</a><a href="/a">机构概况</a><a href="/b">政策文件</a><a href="/c">办事服务</a></div>
<table width="100%"><tr><td class="left"><ul class="list">{LIST}</ul></td><td>
<div class="bt_content"><div class="title">市教育局召开全市教育工作会议</div>
<table class="info"><tr><td>发布日期：2026年11月20日</td><td>信息来源：示范市教育局</td><td>浏览次数：99</td></tr></table>
<div id="zoom"><p>　　11月19日，市教育局召开全市教育工作会议，总结今年工作，部署明年任务。</p>
<p>　　会议指出，要坚持立德树人，推进教育优质均衡发展，办好人民满意的教育。</p>
<p>　　会议要求，各地各校要抓好安全稳定工作，确保校园平安。</p></div></div>
</td></tr></table>
<div class="foot">主办：示范市教育局　地址：示范市人民路1号　电话：0000-12345678　示ICP备00000002号</div>
</body></html>""".replace("{LIST}", "".join(f'<li><a href="/n/{i}.html">第{i}条教育新闻的标题文字比较长一些</a></li>'
                                            for i in range(30)))


def test_hanweb_page_without_metadata_date_and_source_from_text():
    article = article_of(render(HANWEB))
    assert text_of(article.find("h1")) == "市教育局召开全市教育工作会议"
    assert article.find(".//time").get("datetime") == "2026-11-20"
    assert "来源：示范市教育局" in text_of(article)
    text = text_of(article)
    assert "会议要求，各地各校要抓好安全稳定工作" in text
    assert "第1条教育新闻" not in text and "ICP备" not in text and "机构概况" not in text and "浏览次数" not in text


def test_main_landmark_is_where_content_is_looked_for():
    html = """<html><head><title>t</title></head><body>
    <div class="side"><p>%s</p></div>
    <main><h1>政务公开指南</h1><div class="text"><p>%s</p><p>%s</p></div></main></body></html>""" % (
        "侧栏里的长篇说明文字，" * 30, "主要内容第一段，讲的是政务公开。" * 5, "主要内容第二段，讲的是办事指南。" * 5)
    doc = document.parse(html)
    article = extract(doc, Page(url=URL(ARTICLE_URL), modes=parse_modes("reader"), settings=SETTINGS))
    assert article.found_by == "landmark"
    text = text_of(article_of(render(html)))
    assert "主要内容第一段" in text and "主要内容第二段" in text and "侧栏里的长篇说明文字" not in text


def test_rule_that_marks_main_wins():
    rules = "hosts: [www.shifan.gov.cn]\nrules:\n  - select: div.story\n    role: main\n"
    html = """<html><head><title>t</title></head><body><div class="story"><p>规则指定的短正文。</p></div>
    <div id="zoom"><p>%s</p></div></body></html>""" % ("自动判断会选中的很长的段落，" * 30)
    text = text_of(article_of(render(html, rules_yaml=rules)))
    assert "规则指定的短正文" in text and "自动判断会选中的很长的段落" not in text


def test_text_directly_in_a_zoom_div_and_lazy_images():
    html = """<html><head><title>正文直接写在容器里 - 某县政府</title></head><body>
    <div class="nav"><a href="/">首页</a></div>
    <div id="zoom">　　第一段正文，没有段落标记，用换行分隔。<br><br>　　第二段正文，同样如此，内容较长一些。<br>
    <img src="/images/loading.gif" data-src="/images/real.jpg" alt="现场照片"></div></body></html>"""
    article = article_of(render(html))
    assert text_of(article.find("h1")) == "正文直接写在容器里"
    assert "第二段正文" in text_of(article)
    assert [img.get("src") for img in article.iter("img")] == ["/images/real.jpg"]


def test_subtitle_under_the_title():
    html = """<html><head><title>t</title></head><body><div class="article">
    <h1 class="content_title">区长主持召开座谈会</h1><h2 class="content_subtitle">打造优质产业生态 推动联合创新</h2>
    <div class="info">发布时间：2026-11-20</div><div id="zoom"><p>%s</p></div></div></body></html>""" % (
        "会议强调，要坚持创新驱动，推动产业发展。" * 8)
    article = article_of(render(html))
    assert text_of(article.find("h1")) == "区长主持召开座谈会"
    assert text_of(article.find("p[@class='a11y-proxy-reader-subtitle']")) == "打造优质产业生态推动联合创新"
    assert text_of(article).count("打造优质产业生态") == 1


def test_page_without_an_article_still_gets_a_simple_view():
    for html in ("<html><head><title>首页</title></head><body><ul><li><a href='/a'>链接</a></li></ul></body></html>",
                 "<html><head><title>空</title></head><body></body></html>", "<p>只有一句话。</p>"):
        article = article_of(render(html))
        assert len(article.findall("h1")) == 1


def test_one_main_one_article_one_h1_and_languages_kept():
    html = """<html><head><title>t</title></head><body><main><article><h1>标题</h1><p>%s</p>
    <p><span lang="en">An English sentence.</span></p><h1>第二个一级标题</h1><p>%s</p></article></main></body></html>""" % (
        "第一段正文，内容充实。" * 10, "第二段正文，内容充实。" * 10)
    root = root_of(render(html))
    article_of(render(html))  # exactly one <main> holding one <article>
    assert len(root.findall(".//h1")) == 1
    assert root.find(".//span[@lang='en']").text == "An English sentence."


def test_frameset_page_is_left_alone():
    html = ("<html><head><title>t</title></head><frameset cols='50%,50%'><frame src='/a.html'>"
            "<frame src='/b.html'></frameset></html>")
    out = render(html)
    assert root_of(out).find("frameset") is not None and "<main" not in out


def test_parse_date():
    assert parse_date("2023-08-19 10∶08") == ("2023-08-19 10:08", "2023-08-19T10:08")
    assert parse_date("2026年11月20日") == ("2026-11-20", "2026-11-20")
    assert parse_date("2026/1/5 8:05:09") == ("2026-01-05 08:05:09", "2026-01-05T08:05:09")
    assert parse_date("2026.11.20") == ("2026-11-20", "2026-11-20")
    assert parse_date("第2026号") is None and parse_date("2026-13-40") is None


def test_attachment_links():
    for href in ("/a/b.pdf", "/a/P020.DOCX", "x.xls?v=1", "/files/%E9%99%84%E4%BB%B6.zip", "/a/b.ofd"):
        assert is_attachment(href), href
    for href in ("/a/b.html", "/a/pdf/", "javascript:void(0)", "/download.jsp?id=1"):
        assert not is_attachment(href), href


# --- combined with the other modes --------------------------------------------------------------------

def test_trad_converts_the_reader_view():
    out = render(TRS, "trad+reader")
    article = article_of(out)
    assert text_of(article.find("h1")) == "示範市關於做好2026年冬季供暖工作的通知"
    assert "發佈時間：" in text_of(article) or "發布時間：" in text_of(article)
    assert "各區要建立困難羣衆供暖保障臺賬" in text_of(article) or "各區要建立困難群眾供暖保障台賬" in text_of(article)
    assert "閱讀模式" in text_of(root_of(out).find(".//main"))


def test_elder_and_contrast_sheets_are_kept_with_reader():
    head = root_of(render(TRS, "elder-175+contrast-yb+reader")).find("head")
    hrefs = [link.get("href") for link in head.iter("link")]
    assert hrefs.index("/-/static/elder.css") < hrefs.index("/-/static/reader.css") < \
        hrefs.index("/-/static/contrast-yb.css")
    classes = root_of(render(TRS, "elder-175+contrast-yb+reader")).get("class").split()
    assert {"a11y-proxy-elder-175", "a11y-proxy-reader", "a11y-proxy-contrast-yb"} <= set(classes)


# --- through the proxy --------------------------------------------------------------------------------

def portal_app() -> web.Application:
    async def article(request: web.Request) -> web.Response:
        return web.Response(text=TRS, content_type="text/html")

    async def other(request: web.Request) -> web.Response:
        return web.Response(text="<!DOCTYPE html><title>其他</title><p>其他页面</p>", content_type="text/html")

    app = web.Application()
    app.router.add_get(ARTICLE_PATH, article)
    app.router.add_get("/{tail:.*}", other)
    return app


async def test_through_the_proxy(serve, proxy, http):
    upstream = await serve(portal_app())
    base = await proxy(upstream)
    plain = {"Accept-Encoding": "identity"}
    async with http.get(f"{base}/-/reader{ARTICLE_PATH}", headers=plain) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        html = await response.text()
    assert text_of(article_of(html).find("h1")) == "示范市关于做好2026年冬季供暖工作的通知"
    async with http.get(f"{base}/-/static/reader.css", headers=plain) as response:
        assert response.status == 200 and response.content_type == "text/css"
    async with http.get(f"{base}{ARTICLE_PATH}", headers=plain) as response:  # plain mode: the whole page
        assert "相关新闻" in await response.text()


# --- in real Chromium ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(servers):
    upstream = servers.serve(portal_app())
    return upstream, servers.proxy(upstream)


READER_FIGURES = """() => {
  const main = document.querySelector('main');
  const p = main.querySelector('.a11y-proxy-reader-body p');
  const s = getComputedStyle(p);
  const img = main.querySelector('.a11y-proxy-reader-body img');
  return {text: main.innerText, fontSize: parseFloat(s.fontSize), lineHeight: parseFloat(s.lineHeight),
          columnWidth: main.getBoundingClientRect().width, imageWidth: img.getBoundingClientRect().width,
          scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
          whole: [...document.body.children].filter(e => e.id !== 'a11y-proxy-toolbar')
                   .map(e => e.innerText).join(' ')};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("modes,min_px", [("reader", 20), ("elder+reader", 24), ("trad+reader", 20)])
def test_reader_view_in_chromium_with_javascript_off(site, js_off, modes, min_px):
    _, proxied = site
    page = js_off.new_page()
    try:
        page.goto(f"{proxied}/-/{modes}{ARTICLE_PATH}", wait_until="load")
        figures = page.evaluate(READER_FIGURES)
    finally:
        page.close()
    text, whole = re.sub(r"\s+", "", figures["text"]), re.sub(r"\s+", "", figures["whole"])
    if modes.startswith("trad"):
        assert "示範市關於做好2026年冬季供暖工作的通知" in text and "上一篇" in text
        return
    assert "示范市关于做好2026年冬季供暖工作的通知" in text and "2026-11-20" in text
    for expected in BODY_TEXTS + ["附件", "1.示范市2026年冬季供暖实施方案", "上一篇：关于2026年秋季森林防火工作的通知",
                                  "下一篇：关于开展冬季燃气安全检查的通告", "查看完整页面"]:
        assert expected in text, expected
    for furniture in FURNITURE:
        assert furniture not in whole, furniture
    assert figures["fontSize"] >= min_px and figures["lineHeight"] >= 1.5 * figures["fontSize"]
    assert figures["columnWidth"] <= 40 * figures["fontSize"]  # one readable column
    assert figures["imageWidth"] <= figures["columnWidth"]
    assert figures["scrollWidth"] <= figures["clientWidth"]  # no horizontal scrolling


AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_ALL = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
    'wcag22aa', 'wcag2aaa', 'best-practice']}, resultTypes: ['violations']});
  return result.violations.map(v => v.id + ' ' + v.nodes.map(n => n.target.join(' ')).join(', '));
}"""


@pytest.mark.browser
@pytest.mark.parametrize("modes", ["reader", "trad+elder+contrast-yb+reader"])
def test_axe_finds_nothing_in_the_reader_view(site, js_on, modes):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (npm install)")
    _, proxied = site
    page = js_on.new_page()
    try:
        page.goto(f"{proxied}/-/{modes}{ARTICLE_PATH}", wait_until="load")
        page.evaluate(AXE.read_text(encoding="utf-8"))
        violations = page.evaluate(AXE_ALL)
    finally:
        page.close()
    assert violations == []


# --- over the corpus ----------------------------------------------------------------------------------

def _article_pages() -> list[str]:
    manifest = SHARED / "corpus" / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with manifest.open(encoding="utf-8") as handle:
        return [row["file"] for row in csv.DictReader(handle, delimiter="\t") if row["kind"] == "article"]


ARTICLE_PAGES = _article_pages()


@pytest.fixture(scope="module")
def corpus_site(servers):
    from tests.harness import corpus_behind_proxy

    with corpus_behind_proxy(servers, ARTICLE_PAGES, "reader mode over real portal pages not checked") as site:
        yield site


@pytest.mark.corpus
@pytest.mark.parametrize("name", ARTICLE_PAGES or ["(corpus absent)"])
def test_corpus_article_page_reader_view(corpus_site, name):
    upstream, proxied = corpus_site
    with urllib.request.urlopen(f"{upstream}/{name}", timeout=30) as response:
        original = document.parse(response.read().decode(response.headers.get_content_charset() or "utf-8",
                                                          "replace"))
    with urllib.request.urlopen(f"{proxied}/-/reader/{name}", timeout=30) as response:
        assert response.status == 200
        html = response.read().decode("utf-8")
    article = article_of(html)
    title = text_of(article.find("h1"))
    meta_title = original.root.find(".//meta[@name='ArticleTitle']")
    if meta_title is not None:
        assert title == re.sub(r"\s+", "", meta_title.get("content"))
    assert len(title) >= 4
    assert article.find(".//time") is not None, "no publication date found"
    body = article.find("div[@class='a11y-proxy-reader-body']")
    body_text = text_of(body)
    prose = len(re.findall(r"[，。；]", body_text))
    # Every article's body text is found; 015-hongshan's body is a single picture, which must be there.
    assert (len(body_text) >= 200 and prose >= 5) or (body.find(".//img") is not None and len(body_text) < 50), \
        f"{name}: {len(body_text)} characters, {prose} sentence marks"
    everything = text_of(article)
    for footer in ("ICP备", "版权所有", "网站标识码", "主办单位"):
        assert footer not in everything, footer
