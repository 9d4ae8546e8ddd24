"""What follows an article and belongs to it (附件 lists, 相关附件, 扫一扫 QR codes, 打印/关闭) goes inside main
with it (issue 16): left after the element chosen as main, it ended outside every landmark, or in one that
says nothing about it.  The footer and site-wide blocks after the article stay out of main."""
from __future__ import annotations

from proxy.transforms.aria import landmark_of
from tests.test_repairs import repair, roles

ARTICLE = "<p>" + "区政府召开常务会议，研究部署下一阶段重点工作，会议要求各部门压实责任、狠抓落实。" * 8 + "</p>"
HEADER = ('<div class="top"><img src="logo.png" alt="某某区人民政府"><ul class="nav"><li><a href="/">首页</a></li>'
          '<li><a href="/a">政务公开</a></li><li><a href="/b">政务服务</a></li><li><a href="/c">互动交流</a></li></ul>'
          '</div>')
CRUMB = '<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/a">政务公开</a></div>'
FOOTER = ('<div class="foot"><p>主办单位：某某区人民政府办公室 版权所有</p><p>网站标识码：4401000001 '
          '粤ICP备12345678号</p></div>')
ATTACHMENTS = ('<div class="m-attachment"><p>附件：</p><ul><li><a href="/f/1.pdf">1. 实施方案.pdf</a></li>'
               '<li><a href="/f/2.docx">2. 申报表.docx</a></li></ul></div>')
QR = '<div class="qr-box"><p>扫一扫在手机打开当前页</p><div id="QRcode"></div></div>'


def page(middle: str) -> str:
    return f"<html><head><title>常务会议-某某区</title></head><body>{HEADER}{middle}{FOOTER}</body></html>"


def role_around(doc, xpath: str) -> str:
    el = doc.root.xpath(xpath)[0]
    for ancestor in (el, *el.iterancestors()):
        role = landmark_of(ancestor)
        if role:
            return role
    return ""


def test_attachments_and_qr_code_outside_the_article_wrapper_go_into_main():
    # The article in a wrapper of its own; its attachments and QR code after the wrapper, in the column.
    doc, _ = repair(page(f'<div class="main">{CRUMB}<div class="details-box"><div class="details-main">'
                         f'<h1>区政府召开常务会议</h1><div class="content">{ARTICLE}</div></div></div>'
                         f'{ATTACHMENTS}{QR}</div>'))
    assert roles(doc).count("main") == 1
    assert role_around(doc, "//a[@href='/f/1.pdf']") == "main"
    assert role_around(doc, "//*[@id='QRcode']/preceding-sibling::p") == "main"
    assert role_around(doc, "//h1") == "main"
    assert role_around(doc, "//div[@class='crumb']") == "navigation"
    assert role_around(doc, "//p[contains(., '版权所有')]") == "contentinfo"


def test_attachment_block_right_after_the_article_body():
    doc, _ = repair(page(f'<div class="wrap">{CRUMB}<div class="side"><ul><li><a href="/x">通知公告</a></li>'
                         f'<li><a href="/y">政策文件</a></li><li><a href="/z">规划计划</a></li></ul></div>'
                         f'<div class="col"><div class="article"><h1>区政府召开常务会议</h1>{ARTICLE}</div>'
                         '<div class="xl_annex"><span>相关附件</span><a href="/f/3.xls">名单.xls</a></div></div></div>'))
    assert roles(doc).count("main") == 1
    assert role_around(doc, "//a[@href='/f/3.xls']") == "main"
    assert role_around(doc, "//a[@href='/x']") != "main"
    assert role_around(doc, "//p[contains(., '版权所有')]") == "contentinfo"


def test_footer_and_site_blocks_after_the_article_stay_out_of_main():
    # A related-news list (not the article's) stops the tail; a footer starting with 扫一扫 is the footer.
    related = ('<div class="related"><h3>相关新闻</h3><ul>' + "".join(
        f'<li><a href="/n/{i}">区里召开第{i}次工作会议</a></li>' for i in range(6)) + '</ul></div>')
    doc, _ = repair(page(f'<div class="main">{CRUMB}<div class="box"><div class="article"><h1>区政府召开常务会议</h1>'
                         f'{ARTICLE}</div></div>{related}{ATTACHMENTS}</div>'))
    assert role_around(doc, "//a[@href='/n/0']") != "main"
    assert role_around(doc, "//a[@href='/f/1.pdf']") != "main"  # not right after the article
    doc, _ = repair(f"<html><body>{HEADER}<div class='main'>{CRUMB}<div class='box'><div class='article'>"
                    f"<h1>区政府召开常务会议</h1>{ARTICLE}</div></div></div>"
                    "<div class='footer'><p>扫一扫关注政务微信</p><p>版权所有：某某区人民政府 粤ICP备12345678号</p>"
                    "</div></body></html>")
    assert role_around(doc, "//p[contains(., '关注政务微信')]") == "contentinfo"
    assert role_around(doc, "//h1") == "main"


def test_the_tail_is_taken_once():
    html = page(f'<div class="main">{CRUMB}<div class="box"><div class="article"><h1>区政府召开常务会议</h1>'
                f'{ARTICLE}</div></div>{ATTACHMENTS}</div>')
    doc, _ = repair(html)
    from proxy import document
    again, _ = repair(document.serialize(doc))
    assert document.serialize(again) == document.serialize(doc)
    assert roles(again).count("main") == 1
