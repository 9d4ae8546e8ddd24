"""Parse once, serialize once: malformed portal markup survives the round trip with its visible text."""
from __future__ import annotations

import re

import pytest
from lxml import etree

from proxy import document
from tests.conftest import FIXTURES


def visible_text(html: str) -> str:
    """Text a reader sees, as the HTML standard's tree builder would place it (scripts and styles excluded)."""
    root = etree.fromstring(html.encode(), etree.HTMLParser(encoding="utf-8"))
    body = root.find("body")
    parts = []
    for node in body.iter():
        if node.tag in ("script", "style") or not isinstance(node.tag, str):
            if node.tail:
                parts.append(node.tail)
            continue
        parts.append(node.text or "")
        parts.append(node.tail or "")
    return re.sub(r"\s+", "", "".join(parts))


@pytest.fixture(scope="module")
def malformed() -> tuple[str, str]:
    source = (FIXTURES / "malformed.html").read_text(encoding="utf-8")
    return source, document.serialize(document.parse(source))


def test_doctype_and_comments_kept(malformed):
    source, out = malformed
    assert out.startswith('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"')
    assert "<!-- saved from portal -->" in out
    assert "<!--[if lt IE 9]><script src=\"/js/html5shiv.js\"></script><![endif]-->" in out
    assert "<?xml" not in out  # an XML declaration before HTML means nothing to browsers


def test_script_style_and_textarea_contents_untouched(malformed):
    source, out = malformed
    assert 'if (a < b && c > d) { document.write("<p>写入</p></body></html>"); }' in out
    assert "var s = '</div>';" in out
    assert "p > a { color: red } /* </p> */" in out
    assert "&lt;/body&gt;文本框</textarea>" in out  # same characters, escaped as the serializer must


def test_entities_and_stray_end_tags(malformed):
    source, out = malformed
    assert "第一段&amp;符号&lt;标签&gt;中文<br>第二行" in out  # </BR> is a line break, as in browsers
    assert "<wb:share-button" in out


def test_content_after_html_and_second_html_kept(malformed):
    source, out = malformed
    body = out.split("<body>", 1)[1]
    for text in ("结束标签之后的内容", "第二个html里的文字", "var after = 1;"):
        assert text in body
    assert out.count("<body") == 1 and out.rstrip().endswith("</body></html>")


def test_visible_text_is_the_same(malformed):
    source, out = malformed
    before = visible_text(document.prepare_markup(source))
    assert visible_text(out) == before
    for text in ("第一段", "块在段落里", "字体包块", "未闭合的span", "单元格", "第二格", "结束标签之后的内容"):
        assert text in visible_text(out)


def test_round_trip_is_stable(malformed):
    source, out = malformed
    assert document.serialize(document.parse(out)) == out


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_empty_document_is_an_error(text):
    with pytest.raises(ValueError):
        document.parse(text)


def test_fragment_gets_a_document_shape():
    doc = document.parse("<p>只有一段")
    assert doc.root.tag == "html" and doc.body is not None
    assert "只有一段" in document.serialize(doc)


def test_charset_declaration_updated():
    for head in ('<meta charset="gb2312">', '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=GBK">', ""):
        doc = document.parse(f"<html><head>{head}<title>t</title></head><body>x</body></html>")
        document.set_charset_utf8(doc)
        out = document.serialize(doc).lower()
        assert "utf-8" in out and "gb" not in out
