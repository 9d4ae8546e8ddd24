"""Parse an HTML page once into an lxml tree and serialize it once, keeping what the reader sees.

libxml2's HTML parser is fast and forgiving, but it differs from browsers in two ways that lose text
on real portals: it drops everything after ``</html>`` (portals append scripts and whole blocks there),
and it drops ``</br>`` (browsers read it as ``<br>``).  A single regex pass over the markup, which skips
comments and raw-text elements, fixes both before parsing, the way the HTML standard's tree builder
would: ``</body>``/``</html>`` only switch insertion modes, so removing them keeps later content in
<body>; ``</br>`` becomes ``<br>``.
"""
from __future__ import annotations

import re
from html import escape

from lxml import etree

# One alternation, scanned left to right: things to skip over intact, or the end tags we repair.
_PRE_PARSE = re.compile(
    r"<!--.*?(?:-->|\Z)"  # comments (conditional comments included)
    r"|<(script|style|textarea|title|xmp)\b[^>]*>.*?(?:</\1\s*>|\Z)"  # raw text: never touched
    r"|</(body|html)\s*>"  # group 2: to drop
    r"|</br\s*>",  # stray </br>
    re.I | re.S,
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


def _repair(match: re.Match) -> str:
    text = match.group(0)
    if match.group(2):
        return ""
    if text[:4].lower() == "</br":
        return "<br>"
    return text


def prepare_markup(html: str) -> str:
    html = _XML_DECLARATION.sub("", html, count=1)
    return _PRE_PARSE.sub(_repair, html)


# Plain etree elements, not lxml.html's classes: element proxies are created for every node a transform
# touches, and the HtmlElement class lookup costs more than the parse itself on link-heavy portal pages.
_PARSER = etree.HTMLParser(encoding="utf-8", remove_blank_text=False, remove_comments=False, remove_pis=False,
                           default_doctype=False, collect_ids=False, huge_tree=True)


class Document:
    """An HTML page as a tree (its doctype and top-level comments stay with the tree)."""

    def __init__(self, root: etree._Element):
        self.root = root

    @property
    def head(self) -> etree._Element:
        head = self.root.find("head")
        if head is None:
            head = etree.Element("head")
            self.root.insert(0, head)
        return head

    @property
    def body(self) -> etree._Element:
        body = self.root.find("body")
        if body is None:
            body = etree.SubElement(self.root, "body")
        return body


def parse(html: str) -> Document:
    """Parse page text.  Raises ValueError when there is nothing an HTML parser can make a page of."""
    markup = prepare_markup(html)
    if not markup.strip():
        raise ValueError("empty document")
    try:
        root = etree.fromstring(markup.encode("utf-8", "surrogatepass"), parser=_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError) as exc:
        raise ValueError(f"unparseable HTML: {exc}") from None
    if root is None or root.tag != "html":
        raise ValueError("parser returned no <html> element")
    return Document(root)


def serialize(doc: Document) -> str:
    # Serialize the whole tree (doctype and comments around <html> included) with etree: lxml.html's
    # tostring drops <meta http-equiv=Content-Type>, which pages need to declare their charset.
    return etree.tostring(doc.root.getroottree(), encoding="unicode", method="html")


def set_charset_utf8(doc: Document) -> None:
    """We always send UTF-8: make the page's own declaration say so (or add one as the first head child)."""
    found = False
    for meta in doc.root.iter("meta"):
        if meta.get("charset") is not None:
            meta.set("charset", "utf-8")
            found = True
        elif (meta.get("http-equiv") or "").lower() == "content-type":
            meta.set("content", "text/html; charset=utf-8")
            found = True
    if not found:
        meta = etree.Element("meta", charset="utf-8")
        doc.head.insert(0, meta)


# --- fragments: HTML a page's script fetches to insert into the page (a list, a panel) ---------------------

_FRAGMENT_MARK = "a11y-proxy-fragment"


def parse_fragment(html: str) -> tuple[Document, etree._Element]:
    """Parse a fragment with the same parser and repairs as a page; (document, container of the fragment).

    A marker element opens <body> first, so a fragment that starts with <script>, <style> or <meta> stays
    where it was instead of being moved into <head>; libxml2 keeps table rows and list items in place.
    """
    doc = parse(f"<html><body><{_FRAGMENT_MARK}></{_FRAGMENT_MARK}>{html}")
    body = doc.body
    marker = body.find(_FRAGMENT_MARK)
    if marker is not None:
        body.text = (body.text or "") + (marker.tail or "")
        body.remove(marker)
    return doc, body


def serialize_children(container: etree._Element) -> str:
    """The content of one element (its text and children, not its own tags), as the page serializes."""
    parts = [escape(container.text, quote=False)] if container.text else []
    parts += [etree.tostring(child, encoding="unicode", method="html", with_tail=True) for child in container]
    return "".join(parts)
