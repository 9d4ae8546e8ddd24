"""Screen-reader repairs on small HTML strings: every rule action, every heuristic (and switching each one
off), the rules that keep repairs from conflicting with a page's own semantics, and idempotence."""
from __future__ import annotations

import pytest
from lxml import etree
from yarl import URL

from proxy import document
from proxy.modes import parse as parse_modes
from proxy.pipeline import Page
from proxy.rules import HEURISTICS, PageRules, RuleSet, load_site
from proxy.settings import Settings
from proxy.transforms.aria import find_landmarks, landmark_of
from proxy.transforms.landmarks import Landmarks
from proxy.transforms.names import Names
from proxy.transforms.pagefixes import PageBasics, PageTitle, zoomable_viewport
from proxy.transforms.ruleactions import ApplyRules
from proxy.transforms.skiplink import SKIP_TEXT, SkipLink
from proxy.transforms.tables import LayoutTables
from proxy.urls import mode_prefix
from proxy.yamlsource import load_text

SETTINGS = Settings()
URL_ = "http://www.shifan.gov.cn/xxgk/art_1.html?id=2"
REPAIRS = (ApplyRules, PageBasics, LayoutTables, Names, Landmarks, PageTitle, SkipLink)


def page_for(rules_yaml: str | None = None, url: str = URL_, modes: str = "") -> Page:
    rules = PageRules()
    if rules_yaml is not None:
        site = load_site(load_text(rules_yaml, "rules/site.yaml"))
        rules = RuleSet([site]).for_page(URL(url).host, URL(url).path)
    parsed = parse_modes(modes)
    return Page(url=URL(url), modes=parsed, settings=SETTINGS, prefix=mode_prefix(parsed), rules=rules)


def repair(html: str, rules_yaml: str | None = None, only=REPAIRS, page: Page | None = None,
           **kwargs) -> tuple[document.Document, Page]:
    """Parse, run the repair transforms (all, in pipeline order, or `only`), and re-parse the output."""
    page = page or page_for(rules_yaml, **kwargs)
    doc = document.parse(html)
    for transform in only:
        transform().apply(doc, page)
    return document.parse(document.serialize(doc)), page


def landmarks(doc) -> list[tuple[str, str, str]]:
    """(role, name, id-or-class of the element) of every landmark, in document order."""
    return [(role, el.get("aria-label") or "", el.get("id") or el.get("class") or el.tag)
            for el, role in find_landmarks(doc.root)]


def roles(doc) -> list[str]:
    return [role for role, _, _ in landmarks(doc)]


def one(doc, xpath: str):
    found = doc.root.xpath(xpath)
    assert len(found) == 1, (xpath, len(found))
    return found[0]


PORTAL = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>关于做好冬季供暖工作的通知_示范市人民政府</title></head>
<body>
<div class="top"><span>2026年11月26日</span> <a href="javascript:void(0)" onclick="zh_tran('t')">繁体版</a></div>
<div class="header"><a href="/"><img src="/images/logo.png"></a>
 <form action="/search"><input name="q" type="text"><input type="submit" value="搜索"></form></div>
<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li><li><a href="/bsfw/">办事服务</a></li>
 <li><a href="/hdjl/">互动交流</a></li></ul></div>
<div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a></div>
<div class="article">
 <div class="title">关于做好冬季供暖工作的通知</div>
 <div class="info">发布时间：2026-11-20 来源：市住建局</div>
 <div class="content"><p>各区县人民政府，市政府各部门：为切实做好今年冬季供暖工作，保障群众温暖过冬，现将有关事项通知如下。</p>
 <p>一、各供暖单位要在十一月十五日前完成设备检修，确保按时供暖，供暖期间室温不低于十八摄氏度。</p>
 <p>二、各区县要建立供暖投诉快速处理机制，公布投诉电话，二十四小时受理群众诉求。</p></div>
</div>
<div class="links">友情链接：<a href="https://www.gov.cn/">中国政府网</a> <a href="http://www.zj.gov.cn/">浙江省政府</a></div>
<div class="footer"><p>主办单位：示范市人民政府办公室 版权所有 网站标识码：3300000000</p>
 <p><a href="https://beian.miit.gov.cn/">浙ICP备00000000号</a></p></div>
</body></html>"""


# --- landmarks ----------------------------------------------------------------------------------------

def test_portal_page_gets_its_landmarks_and_one_main():
    doc, page = repair(PORTAL)
    found = landmarks(doc)
    assert roles(doc).count("main") == 1 and roles(doc).count("banner") == 1
    assert roles(doc).count("contentinfo") == 1
    assert ("navigation", "主导航", "nav") in found
    assert ("navigation", "当前位置", "location") in found
    assert ("search", "", "") == (found[[r for r, _, _ in found].index("search")][0], "", "")
    main = one(doc, "//*[@role='main']")
    assert main.get("class") == "article"  # the title and the date belong to the article
    assert main.get("aria-label") == "关于做好冬季供暖工作的通知"
    assert one(doc, "//*[@role='banner']").get("class") == "header"
    assert one(doc, "//*[@role='contentinfo']").get("class") == "footer"
    assert "landmarks: " in " ".join(page.notes)


def test_every_visible_block_ends_up_inside_a_landmark():
    doc, _ = repair(PORTAL)
    body = doc.body
    landmark_elements = {el for el, _ in find_landmarks(doc.root)}
    for el in body.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style") or el is body:
            continue
        own_text = (el.text or "").strip() or any((c.tail or "").strip() for c in el)
        if own_text and "a11y-proxy-skip" not in (el.get("class") or ""):
            assert el in landmark_elements or any(a in landmark_elements for a in el.iterancestors()), \
                etree.tostring(el, encoding="unicode")[:120]


def test_existing_semantics_are_kept_and_nothing_is_duplicated():
    html = """<html lang="zh"><body><header><h1>示范市</h1></header><nav><a href="/">首页</a><a href="/a">甲</a></nav>
    <main><h2>正文</h2><p>正文内容很长很长很长。</p></main><div class="footer">版权所有 示范市</div>
    <footer>网站标识码：33000</footer></body></html>"""
    doc, _ = repair(html)
    assert roles(doc).count("main") == 1 and one(doc, "//main").get("role") is None
    assert roles(doc).count("banner") == 1 and roles(doc).count("contentinfo") == 1
    assert one(doc, "//header").get("role") is None  # the page's own banner stays as it was


def test_duplicate_and_nested_top_level_landmarks_are_demoted():
    html = """<html><body><div role="banner">一</div><div role="banner">二</div>
    <div role="main"><p>正文正文正文</p><div role="contentinfo">里面的页脚</div></div></body></html>"""
    doc, _ = repair(html)
    assert roles(doc).count("banner") == 1
    assert roles(doc).count("contentinfo") <= 1
    inner = one(doc, "//div[text()='里面的页脚']")
    assert inner.get("role") != "contentinfo"  # ARIA: contentinfo never inside main


def test_landmark_names_are_unique():
    html = """<html><body><nav><a href="/a">甲</a><a href="/b">乙</a></nav><nav><a href="/c">丙</a><a href="/d">丁</a></nav>
    <div class="content"><p>正文内容。正文内容。正文内容。正文内容。</p></div></body></html>"""
    doc, _ = repair(html)
    names = [(r, n) for r, n, _ in landmarks(doc) if r == "navigation"]
    assert len(names) == 2 and len(set(names)) == 2 and all(n for _, n in names)


def test_main_by_text_density_skips_menus_and_sidebars():
    html = """<html><body><div id="wrap"><div class="left"><ul class="menu"><li><a href="/1">栏目一</a></li>
    <li><a href="/2">栏目二</a></li><li><a href="/3">栏目三</a></li><li><a href="/4">栏目四</a></li></ul></div>
    <div class="right"><h1>标题</h1><div id="zoom"><p>这是正文第一段，讲述了很多事情，内容丰富详实。</p>
    <p>这是正文第二段，继续讲述更多的事情，内容同样丰富。</p></div></div></div></body></html>"""
    doc, _ = repair(html)
    assert one(doc, "//*[@role='main']").get("class") == "right"  # widened to take in the h1
    assert ("navigation", "导航", "a11y-proxy-box") in landmarks(doc) or "navigation" in roles(doc)


def test_role_goes_on_a_neutral_box_when_the_element_cannot_take_it():
    html = """<html><body><ul class="nav"><li><a href="/">首页</a></li><li><a href="/a">新闻</a></li>
    <li><a href="/b">公开</a></li></ul><div><p>正文内容正文内容正文内容正文内容正文内容。</p></div></body></html>"""
    doc, _ = repair(html)
    ul = one(doc, "//ul")
    assert ul.get("role") is None  # the list stays a list
    box = ul.getparent()
    assert box.get("role") == "navigation" and box.get("style") == "display:contents"


def test_text_directly_in_a_container_is_covered():
    html = """<html><body><div class="header"><img src="logo.png" alt="示范市"></div>
    <div class="wrap">说明文字<div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/xw/">新闻</a></div>
    <div class="content"><p>正文内容正文内容正文内容正文内容正文内容。</p></div></div>
    </body></html>"""
    doc, _ = repair(html)
    box = one(doc, "//span[@class='a11y-proxy-box']")
    assert box.text == "说明文字" and landmark_of(box)


def test_frame_only_page_gets_main_on_the_biggest_frame():
    html = """<html><head><title>国家税务总局</title></head><body><iframe src="top.html" style="height:30px"></iframe>
    <table><tr><td><iframe src="middle.html" width="100%" height="2000"></iframe></td></tr></table>
    <div class="foot">版权所有：国家税务总局 京ICP备13021685号</div></body></html>"""
    doc, _ = repair(html)
    main = one(doc, "//*[@role='main']")
    assert main.xpath(".//iframe/@src") == ["middle.html"]


def test_frameset_gets_frame_titles_and_no_body():
    doc, _ = repair('<html><head><title>门户</title></head><frameset rows="80,*"><frame src="/top.html" name="top">'
                    '<frame src="/main.html" name="main"></frameset></html>')
    assert doc.root.find("body") is None
    assert doc.root.xpath("//frame/@title") == ["页面顶部", "主要内容"]


def test_bare_text_page_gets_a_main():
    doc, _ = repair("<html><head><title>天气</title></head><body>晴 5～12℃</body></html>")
    assert roles(doc) == ["main"]


# --- rule actions ---------------------------------------------------------------------------------------

RULES = """site: 示范
hosts: [www.shifan.gov.cn]
rules:
  - select: div.header
    role: banner
  - select: div.nav
    role: navigation
    label: 主栏目
  - select: table.data
    role: main
  - select: div.other
    role: main
  - select: div.tip
    role: region
    label: 温馨提示
  - select: div.title
    heading: 1
  - select: h2.sub
    heading: 3
  - select: img.deco
    alt: ""
  - select: iframe
    title: 地图
  - select: span.en
    lang: en
  - select: div.ad
    remove: true
  - select: marquee
    neutralize: true
  - xpath: "//a[contains(@onclick, 'zh_tran')]"
    toggle: trad
  - xpath: "//a[normalize-space(.)='长者版']"
    toggle: elder
  - xpath: "//a[normalize-space(.)='无障碍']"
    toggle: toolbar
  - select: "#english"
    skip_trad: true
  - select: div.note
    label: 不允许
  - select: div.nothing-here
    role: complementary
"""
RULED = """<html><body><div class="header"><a href="#" onclick="zh_tran('t')" target="_blank">繁体版</a>
<a href="javascript:void(0)" onclick="old()">长者版</a> <a href="#" onclick="wza()">无障碍</a>
<div class="footer-in-header">不要紧</div></div>
<div class="nav"><a href="/">首页</a></div>
<table class="data"><tr><th>机构</th><th>地址</th></tr><tr><td>医院</td><td>人民路</td></tr></table>
<div class="other">正文</div><div class="tip"><p>提示</p></div><div class="title">标题</div><h2 class="sub">副标题</h2>
<img class="deco" src="line.gif"><iframe src="/map.html"></iframe><p>Hello <span class="en">world</span></p>
<div class="ad">广告<a href="/ad">点我</a></div>尾巴<marquee behavior="scroll" width="300" height="40">滚动通知</marquee>
<div id="english">English</div><div class="note">备注</div></body></html>"""


def test_rule_actions_apply_with_their_source():
    doc, page = repair(RULED, RULES, only=(ApplyRules,))
    assert one(doc, "//div[@class='header']").get("role") == "banner"
    nav = one(doc, "//div[@class='nav']")
    assert (nav.get("role"), nav.get("aria-label")) == ("navigation", "主栏目")
    table = one(doc, "//table")
    assert table.get("role") is None, "a data table keeps its table semantics"
    assert table.getparent().get("role") == "main" and "display:contents" in table.getparent().get("style")
    tip = one(doc, "//div[@class='tip']")
    assert (tip.get("role"), tip.get("aria-label")) == ("region", "温馨提示")
    title = one(doc, "//div[@class='title']")
    assert (title.get("role"), title.get("aria-level")) == ("heading", "1")
    assert one(doc, "//h2").get("role") is None  # a real heading is left alone
    assert one(doc, "//img").get("alt") == ""
    assert one(doc, "//iframe").get("title") == "地图"
    assert one(doc, "//span[@class='en']").get("lang") == "en"
    assert not doc.root.xpath("//div[@class='ad']") and "尾巴" in "".join(doc.body.itertext())
    assert not doc.root.xpath("//marquee") and one(doc, "//div[text()='滚动通知']") is not None
    assert one(doc, "//*[@id='english']").get("data-a11y-skip-trad") == ""
    notes = "\n".join(page.notes)
    assert "rules/site.yaml:11: div.other: landmark main refused: the page has one already" in notes
    assert "label refused: a plain <div> may not have a name" in notes


def test_toggles_rewire_the_portals_own_links():
    page = page_for(RULES, modes="elder")
    doc, _ = repair(RULED, page=page, only=(ApplyRules,))
    trad, elder, toolbar = doc.root.xpath("//div[@class='header']/a")
    expected_next = "?next=/-/elder/xxgk/art_1.html%3Fid%3D2"
    assert trad.get("href") == "/-/toggle/trad" + expected_next
    assert elder.get("href") == "/-/toggle/elder" + expected_next
    assert toolbar.get("href") == "#a11y-proxy-toolbar"
    for link in (trad, elder, toolbar):
        assert link.get("onclick") is None and link.get("target") is None


def test_toolbar_links_stay_as_they_were_when_the_toolbar_is_off():
    import dataclasses

    from proxy.settings import Toolbar

    page = page_for(RULES)
    page.settings = dataclasses.replace(SETTINGS, toolbar=Toolbar(enabled=False))
    doc, _ = repair(RULED, page=page, only=(ApplyRules,))
    toolbar = doc.root.xpath("//a[normalize-space(.)='无障碍']")[0]
    assert toolbar.get("href") == "#" and toolbar.get("onclick") == "wza()"
    assert "the toolbar is off in the config" in "\n".join(page.notes)


def test_toggle_heuristic_catches_links_no_rule_matched():
    doc, _ = repair('<html><body><p><a href="javascript:;" onclick="StranBody()">繁體</a> '
                    '<a href="/elder/">长者版</a></p></body></html>', only=(ApplyRules,))
    scripted, real = doc.root.xpath("//a")
    assert scripted.get("href").startswith("/-/toggle/trad?next=")
    assert real.get("href") == "/elder/"  # a real page of the portal, not a script: left alone


def test_rules_refuse_landmarks_that_ARIA_forbids():
    rules = """rules:
  - select: div.inner
    role: banner
  - select: div.outer
    role: contentinfo
  - select: p.x
    role: presentation
  - select: a
    role: presentation
"""
    html = """<html><body><main><div class="inner">顶部</div></main><div class="outer"><main>又一个</main></div>
    <p class="x">段落</p><a href="/">首页</a></body></html>"""
    doc, page = repair(html, rules, only=(ApplyRules,))
    assert one(doc, "//div[@class='inner']").get("role") is None
    assert one(doc, "//div[@class='outer']").get("role") is None
    assert one(doc, "//p").get("role") == "presentation"
    assert one(doc, "//a").get("role") is None
    notes = "\n".join(page.notes)
    assert "it would be inside landmark main" in notes and "it holds landmark main" in notes
    assert "presentation-role-conflict" in notes


def test_elder_remove_is_left_to_elder_mode():
    doc, _ = repair('<html><body><div class="x">下载APP</div></body></html>',
                    "rules:\n  - select: div.x\n    elder_remove: true\n", only=(ApplyRules,))
    assert doc.root.xpath("//div[@class='x']")


# --- heuristics, each switchable -------------------------------------------------------------------------

def test_layout_tables_become_presentation_and_data_tables_stay():
    html = """<html><body><table id="layout"><tr><td><div>左</div></td><td><table id="inner"><tr><td>甲</td></tr>
    </table></td></tr></table><table id="data"><tr><th>姓名</th><th>电话</th></tr><tr><td>张</td><td>1</td></tr></table>
    <table id="grid"><tr><td>索引号</td><td>001</td></tr><tr><td>发布机构</td><td>市政府</td></tr></table>
    <table id="caption"><caption>表一</caption><tr><td>1</td><td>2</td></tr></table></body></html>"""
    doc, _ = repair(html, only=(LayoutTables,))
    assert one(doc, "//table[@id='layout']").get("role") == "presentation"
    assert one(doc, "//table[@id='inner']").get("role") == "presentation"  # a single cell
    for data in ("data", "grid", "caption"):
        assert one(doc, f"//table[@id='{data}']").get("role") is None, data


def test_images_named_or_marked_decorative():
    html = """<html><head><title>通知_示范市人民政府</title></head><body>
    <div class="header"><a href="/"><img id="logo" src="/images/logo.png"></a></div>
    <img id="spacer" src="/images/spacer.gif" width="1" height="1"><img id="titled" src="a.jpg" title="市长调研">
    <a href="/zwgk/"><img id="icon" src="/images/icon.png">政务公开</a>
    <a href="/zwgk/"><img id="same" src="/images/banner2.jpg"></a>
    <a href="https://bszs.conac.cn/sitename?id=1"><img id="conac" src="/images/red.png"></a>
    <img id="qr" src="/images/ewm.jpg"><img id="ws" src="x.gif" alt="  ">
    <div class="content"><img id="photo" src="/upload/2026/photo.jpg" width="600"></div></body></html>"""
    doc, _ = repair(html, only=(Names,))
    alt = {img.get("id"): img.get("alt") for img in doc.root.iter("img")}
    assert alt == {"logo": "示范市人民政府", "spacer": "", "titled": "市长调研", "icon": "", "same": "政务公开",
                   "conac": "党政机关网站标识", "qr": "二维码", "ws": "", "photo": "图片"}


def test_empty_links_buttons_fields_and_frames_get_names():
    html = """<html><body><a id="wb" href="https://weibo.com/x"></a><a id="rss" href="/rss.xml" class="rss"></a>
    <button id="sb" class="search-btn"></button><input id="ib" type="button" onclick="doSearch()">
    <form action="/search"><input id="q" name="q"><input type="image" id="img" src="go.gif"></form>
    <p>用户名：<input id="user" name="u"></p><table><tr><td>手机号：</td><td><input id="tel" name="t"></td></tr></table>
    <input id="titled" title="关键词"><input id="ph" placeholder="请输入"><label for="lab">邮箱</label><input id="lab">
    <iframe id="wx" src="https://tianqi.2345.com/plugin/widget/index.htm"></iframe>
    <iframe id="plain" src="/module/visitcount/visit.jsp"></iframe></body></html>"""
    doc, _ = repair(html, only=(Names,))
    name = {el.get("id"): el.get("aria-label") or el.get("alt") or el.get("title")
            for el in doc.root.iter("a", "button", "input", "iframe")}
    assert name["wb"] == "微博" and name["rss"] == "RSS 订阅"
    assert name["sb"] == "搜索" and name["ib"] == "搜索" and name["img"] == "搜索"
    assert name["q"] == "搜索关键词" and name["user"] == "用户名" and name["tel"] == "手机号"
    assert name["titled"] == "关键词" and doc.root.xpath("//input[@id='titled']/@aria-label") == []
    assert doc.root.xpath("//input[@id='ph' or @id='lab']/@aria-label") == []
    assert name["wx"] == "天气预报" and name["plain"] == "访问统计（无内容）"


def test_only_fields_for_words_are_a_search_forms_keywords():
    # A search form's drop-down list of columns, its date and its choices are named as anywhere else.
    html = """<html><body><form action="/search.jsp"><select id="channel" name="channel"><option>全部</option>
    <option>政策文件</option></select><select id="stype" name="searchType"><option>标题</option></select>
    <input type="date" id="from" name="startDate"><p><input type="radio" id="all" name="r"></p>
    <label>范围 <select id="labelled" name="scope"><option>全站</option></select></label><p><input type="number" id="n"></p>
    <input id="q" name="q"><input type="txt" id="odd" name="w"><textarea id="t" name="x"></textarea></form>
    <div class="search-box"><select id="outside" class="search-select"><option>全部</option></select></div>
    </body></html>"""
    doc, _ = repair(html, only=(Names,))
    name = {el.get("id"): el.get("aria-label") for el in doc.root.iter("input", "select", "textarea")}
    assert name == {"channel": "请选择", "stype": "请选择", "labelled": None, "from": "日期", "all": "选择",
                    "n": "输入", "q": "搜索关键词", "odd": "搜索关键词", "t": "搜索关键词", "outside": "请选择"}


def test_same_named_fields_get_their_rows_context():
    html = """<html><body><table><tr><td><strong>王老师</strong></td><td><span>投票</span><input type="checkbox"
    title="投票"></td></tr><tr><td><strong>李老师</strong></td><td><span>投票</span><input type="checkbox"
    title="投票"></td></tr></table></body></html>"""
    doc, _ = repair(html, only=(Names,))
    assert doc.root.xpath("//input/@aria-label") == ["投票 王老师", "投票 李老师"]


def test_page_basics_language_viewport_motion():
    html = """<html xml:lang="en" lang="en"><head><meta name="viewport" content="width=device-width,
    initial-scale=1, maximum-scale=1, user-scalable=no"><meta http-equiv="refresh" content="30">
    <meta http-equiv="Refresh" content="5; url=/new.html"></head><body><p>这是一个中文页面，内容都是中文。</p>
    <table lang="table1"><tr><td>表</td></tr></table><span lang="zh_CN">中</span>
    <video src="a.mp4" autoplay></video><marquee direction="up" height="60">滚动</marquee></body></html>"""
    doc, _ = repair(html, only=(PageBasics,))
    assert doc.root.get("lang") == "zh-Hans" and doc.root.get("xml:lang") == "zh-Hans"
    assert one(doc, "//table").get("lang") is None and one(doc, "//span").get("lang") == "zh-CN"
    assert one(doc, "//meta[@name='viewport']").get("content") == "width=device-width, initial-scale=1"
    refresh = doc.root.xpath("//meta[translate(@http-equiv, 'R', 'r')='refresh']")
    assert [m.get("content") for m in refresh] == ["0; url=/new.html"]
    assert one(doc, "//video").get("autoplay") is None and one(doc, "//video").get("controls") is not None
    moving = one(doc, "//div[text()='滚动']")
    assert "overflow:auto" in moving.get("style") and moving.get("direction") is None


@pytest.mark.parametrize(("lang", "text", "expected"), [
    (None, "中文页面的文字内容", "zh-Hans"),
    ("zh-CN", "中文页面的文字内容", "zh-CN"),
    ("en", "An English page of the portal, all in English.", "en"),
    (None, "An English page of the portal, all in English.", "en"),
    ("zh-TW", "中文頁面", "zh-TW"),
])
def test_page_language(lang, text, expected):
    attribute = f' lang="{lang}"' if lang else ""
    doc, _ = repair(f"<html{attribute}><body><p>{text}</p></body></html>", only=(PageBasics,))
    assert doc.root.get("lang") == expected


def test_viewport_that_allows_zoom_is_left_alone():
    assert zoomable_viewport("width=device-width, initial-scale=1") is None
    assert zoomable_viewport("width=device-width, maximum-scale=5") is None
    assert zoomable_viewport("width=device-width, maximum-scale=2.0, user-scalable=0") == "width=device-width"


def test_empty_title_from_the_main_heading():
    doc, _ = repair("<html><head><title> </title></head><body><main><h1>示范县人民政府</h1><p>正文</p></main>"
                    "</body></html>", only=(PageTitle,))
    assert one(doc, "//title").text == "示范县人民政府"
    doc, _ = repair("<html><head></head><body><div><h2>通知公告</h2></div></body></html>", only=(PageTitle,))
    assert one(doc, "//title").text == "通知公告"


def test_skip_link_is_the_first_focusable_element():
    doc, _ = repair(PORTAL)
    first = doc.body[0]
    assert (first.tag, first.text, first.get("class")) == ("a", SKIP_TEXT, "a11y-proxy-skip")
    target = first.get("href")[1:]
    assert one(doc, f"//*[@id='{target}']").get("role") == "main"
    assert one(doc, "//style[@id='a11y-proxy-style']") is not None
    # The page orders focus with tabindex: the skip link is still first.
    doc, _ = repair("<html><body><a href='/' tabindex='1'>首页</a><main><p>正文</p></main></body></html>",
                    only=(SkipLink,))
    assert doc.body[0].get("tabindex") == "1"


def test_skip_link_into_a_box_points_at_what_renders():
    doc, _ = repair("<html><body><p>一段很长很长很长很长很长的正文。</p><p>又一段很长很长的正文。</p></body></html>")
    main = one(doc, "//*[@role='main']")
    assert "display:contents" in main.get("style")
    assert doc.body[0].get("href") == "#" + main[0].get("id")


HEURISTIC_CASES = {
    "landmarks": ("count(//*[@role='main'])", 0.0),
    "skip_link": ("count(//a[@class='a11y-proxy-skip'])", 0.0),
    "page_language": ("string(/html/@lang)", ""),
    "page_title": ("string(//title)", ""),
    "image_alt": ("count(//img[@id='deco'][@alt])", 0.0),
    "link_names": ("count(//a[@id='empty'][@aria-label])", 0.0),
    "form_labels": ("count(//input[@id='field'][@aria-label])", 0.0),
    "frame_titles": ("count(//iframe[@title])", 0.0),
    "layout_tables": ("count(//table[@role='presentation'])", 0.0),
    "viewport": ("string(//meta[@name='viewport']/@content)", "width=device-width, user-scalable=no"),
    "marquee": ("count(//marquee)", 1.0),
    "meta_refresh": ("count(//meta[@http-equiv='refresh'])", 1.0),
    "autoplay": ("count(//video[@autoplay])", 1.0),
    "toolbar_links": ("count(//a[starts-with(@href, '/-/toggle/')])", 0.0),
}
SWITCHABLE = """<html><head><title></title><meta name="viewport" content="width=device-width, user-scalable=no">
<meta http-equiv="refresh" content="60"></head><body><div class="top"><a href="#" onclick="zh_tran()">繁体版</a></div>
<img id="deco" src="spacer.gif" width="1">
<a id="empty" href="https://weibo.com/x"></a><p>姓名：<input id="field"></p><iframe src="/x.html"></iframe>
<marquee>滚动</marquee><video autoplay src="v.mp4"></video>
<div class="content"><h1>标题</h1><p>正文正文正文正文正文正文正文正文正文正文正文正文。</p>
<table><tr><td><div>布局</div></td></tr></table></div></body></html>"""


@pytest.mark.parametrize("name", HEURISTICS)
def test_each_heuristic_can_be_switched_off(name):
    assert name in HEURISTIC_CASES, f"add a case for heuristic {name}"
    xpath, off_value = HEURISTIC_CASES[name]
    on, _ = repair(SWITCHABLE)
    off, _ = repair(SWITCHABLE, f"heuristics:\n  {name}: false\n")
    assert off.root.xpath(xpath) == off_value
    assert on.root.xpath(xpath) != off_value, f"{name} did nothing on the test page"


# --- safety ----------------------------------------------------------------------------------------------

def test_repairs_are_idempotent():
    once = document.serialize(repair(PORTAL)[0])
    twice = document.serialize(repair(once)[0])
    assert twice == once


def test_proxy_own_pages_keep_their_one_main():
    from proxy import pages

    for html in (pages.upstream_failed(502, "/a"), pages.unknown_modes("x"), pages.not_found("/x")):
        doc, _ = repair(html)
        assert roles(doc).count("main") == 1
        assert doc.body[0].get("class") == "a11y-proxy-skip"


def test_nothing_is_hidden_and_no_text_is_lost():
    doc, _ = repair(PORTAL)
    before = "".join("".join(document.parse(PORTAL).body.itertext()).split())
    after = "".join("".join(doc.body.itertext()).split()).replace(SKIP_TEXT, "", 1)
    assert after == before
    for el in doc.body.iter():
        if isinstance(el.tag, str):
            assert el.get("hidden") is None and el.get("aria-hidden") is None
            assert "none" not in (el.get("style") or "").replace("display:contents", "")


def test_debug_provenance_only_in_the_explaining_variant():
    doc, _ = repair(PORTAL, RULES)
    assert "data-a11y-proxy-why" not in document.serialize(doc)
    page = page_for(RULES)
    doc = document.parse(PORTAL)
    for transform in REPAIRS:
        transform().explaining().apply(doc, page)
    why = {el.get("class"): el.get("data-a11y-proxy-why") for el in doc.root.iter() if el.get("data-a11y-proxy-why")}
    assert why["header"] == "landmark banner ← rules/site.yaml:4"
    assert why["nav"] == "landmark navigation “主栏目” ← rules/site.yaml:6"
    assert why["footer"].startswith("landmark contentinfo ← heuristic landmarks")
    assert any("matched nothing" in note for note in page.notes)
