"""Reader view metadata (issue 16): the date and source the page shows under its title come before its
<meta> (which often carries the last edit and the site's name), and a site or section name after a hyphen
without spaces in <title> is not part of the title."""
from __future__ import annotations

from yarl import URL

from proxy import document
from proxy.modes import parse as parse_modes
from proxy.pipeline import Page
from proxy.settings import Settings
from proxy.transforms.reader import extract

SETTINGS = Settings()
BODY = "<p>" + "会议强调，要深入学习贯彻会议精神，结合实际抓好各项工作落实，确保取得实效。" * 6 + "</p>"


def article(html: str):
    page = Page(url=URL("http://www.shifan.gov.cn/art/2021/9/6/art_1.html"), modes=parse_modes("reader"),
                settings=SETTINGS)
    return extract(document.parse(html), page)


def page(head: str, middle: str) -> str:
    return (f"<html><head>{head}</head><body><div class='top'><a href='/'>首页</a></div>"
            f"<div class='crumb'>当前位置：<a href='/'>首页</a> &gt; <a href='/zx'>工作动态</a></div>"
            f"{middle}<div class='footer'>版权所有：示范市人民政府 ICP备12345678号</div></body></html>")


def test_the_date_shown_under_the_title_over_the_metadata():
    a = article(page('<meta name="PubDate" content="2023-11-10 15:33:34"><title>编委扩大会召开-工作动态</title>',
                     f"<div class='art'><h1>民族画报社召开编委扩大会</h1><p class='info'><span>日期：2021/09/06"
                     f"</span> <span>来源：民族画报社</span></p><div class='content'>{BODY}</div></div>"))
    assert (a.date, a.datetime) == ("2021-09-06", "2021-09-06")


def test_the_date_shown_when_no_title_element_is_found():
    # The title in a plain <p>: the info line just before the body is read.
    a = article(page('<meta name="PubDate" content="2023-05-12 23:20"><title>大检查</title>',
                     "<div class='art'><p class='p1'>北京通管局组织专项斗争大检查</p>"
                     "<p class='p2'><span>发布时间：2009-09-30 10:53</span> <span>来源：北京通信管理局</span></p>"
                     f"<div class='p3'>{BODY}</div></div>"))
    assert a.date == "2009-09-30 10:53"


def test_metadata_date_when_the_page_shows_none_or_the_same_day():
    a = article(page('<meta name="PubDate" content="2024-10-21 12:51"><title>培训班举办</title>',
                     f"<div class='art'><h1>专题培训班举办</h1><div class='content'>{BODY}</div></div>"))
    assert a.date == "2024-10-21 12:51"
    a = article(page('<meta name="PubDate" content="2024-10-21 12:51"><title>培训班举办</title>',
                     "<div class='art'><h1>专题培训班举办</h1><p>发布日期：2024-10-21</p>"
                     f"<div class='content'>{BODY}</div></div>"))
    assert a.date == "2024-10-21 12:51"  # the same day: the metadata adds the time


def test_a_date_in_the_body_is_not_the_pages():
    a = article(page('<meta name="PubDate" content="2025-02-20 09:00"><title>关于召开会议的通知</title>',
                     "<div class='art'><h1>关于召开全市安全生产会议的通知</h1><p>各区人民政府：</p>"
                     f"<p>会议时间：2025年3月1日</p>{BODY}</div>"))
    assert a.date == "2025-02-20 09:00"


def test_the_source_shown_over_the_metadata():
    head = '<meta name="ContentSource" content="辽阳网站"><meta name="PubDate" content="2023-06-12 09:51">'
    a = article(page(head + "<title>比赛开幕</title>",
                     "<div class='art'><h1>现代五项比赛在弓长岭区开幕</h1><div class='info'><span>2023-06-12</span>"
                     f"<span id='laiyuan'>信息来源：辽阳日报</span></div><div class='content'>{BODY}</div></div>"))
    assert a.source == "辽阳日报"
    a = article(page(head + "<title>比赛开幕</title>",
                     f"<div class='art'><h1>现代五项比赛在弓长岭区开幕</h1><div class='content'>{BODY}</div></div>"))
    assert a.source == "辽阳网站"


def titled(title: str, extra_head: str = "", header: str = "") -> str:
    # No ArticleTitle and no heading: the title comes from <title>.
    return (f"<html><head><title>{title}</title>{extra_head}</head><body>{header}"
            f"<div class='crumb'>当前位置：<a href='/'>首页</a> &gt; <a href='/jj'>纪检</a></div>"
            f"<div class='content'>{BODY}</div></body></html>")


def test_a_section_name_after_an_unspaced_hyphen_is_cut_from_the_title():
    assert article(titled("中华人民共和国监察法-纪检")).title == "中华人民共和国监察法"


def test_a_site_name_after_an_unspaced_hyphen_is_cut_from_the_title():
    a = article(titled("全市冬季供暖工作部署会召开-示范市政府", '<meta property="og:site_name" content="示范市政府">'))
    assert a.title == "全市冬季供暖工作部署会召开"
    a = article(titled("全市冬季供暖工作部署会召开-示范市人民政府",
                       header="<div class='logo'><img src='logo.png' alt='示范市人民政府'></div>"))
    assert a.title == "全市冬季供暖工作部署会召开"


def test_hyphenated_real_titles_keep_their_hyphen():
    assert article(titled("京津冀-长三角协同发展座谈会召开")).title == "京津冀-长三角协同发展座谈会召开"
    assert article(titled("示范市2024-2025学年校历")).title == "示范市2024-2025学年校历"
    assert article(titled("中华人民共和国监察法-释义")).title == "中华人民共和国监察法-释义"
