"""Parse an HTML page once into an lxml tree and serialize it once, keeping what the reader sees.

libxml2's HTML parser is fast and forgiving, but it differs from browsers in ways that lose text on real
portals; ``prepare_markup`` and ``parse`` make up for each of them.

- It drops everything after ``</html>`` (portals append scripts and whole blocks there), and it drops
  ``</br>`` (browsers read it as ``<br>``).  A single regex pass over the markup, which skips comments and
  raw-text elements, fixes both before parsing, the way the HTML standard's tree builder would:
  ``</body>``/``</html>`` only switch insertion modes, so removing them keeps later content in <body>;
  ``</br>`` becomes ``<br>``.
- It keeps characters in the tree that XML cannot hold (C0 controls other than tab, LF and CR; U+FFFE,
  U+FFFF), raw or written as character references (``&#1;``, ``&#xFFFF;``), and lxml then refuses to copy
  such a string anywhere (``el.set("aria-label", title)`` raises "All strings must be XML compatible").
  ``parse`` replaces them once, right after parsing, when the markup holds any: see ``_clean_tree``.
- It stops parsing, silently but for a FATAL entry in its error log, at 2,048 levels of nesting
  (``huge_tree``; 256 without): the element at that depth, everything inside it and the whole rest of the
  page are lost.  Editors of real portals leave thousands of ``<font>`` tags unclosed.  ``parse`` reads the
  error log after each parse (a copy of at most ~100 entries: the fast path costs nothing measurable) and,
  only when the parser stopped early, parses again through a target that has no depth limit and rebuilds
  the page no deeper than Blink builds it (513 levels), keeping every element that carries meaning and all
  text in order (see "flattening" below).
"""
from __future__ import annotations

import re
import threading

from html import escape as html_escape

from lxml import etree

# One alternation, scanned left to right: things to skip over intact, or the end tags we repair.  The bodies
# of comments and raw text are matched "unrolled" (runs without '-' or '<' at C speed, then one character that
# does not end them) rather than with a lazy .*? that tries the end at every character: 0.44 -> 0.20 ms on the
# 100 KB page, the same matches (checked on every corpus, fixture and demo page and 100,000 random strings).
# Most of the remaining time went into trying every branch, case-insensitively, at each of the page's '<'s:
# '<' is matched once, a plain character class after it (the first letters of the names, and the one other
# character, U+017F 'ſ', that re.I matches to an 's') turns away ordinary tags at once, and only the names
# are matched with (?i:): 0.19 -> 0.13 ms, the same matches as the one-flag pattern on every corpus, fixture
# and demo page and 200,000 random strings (mixed case, 'ſ', 'İ', 'K' included).
_PRE_PARSE = re.compile(
    r"<(?:"
    # comments (conditional ones too; <!--> and --!> as the HTML standard reads them)
    r"!--(?:-?>|[^-]*(?:-(?!-!?>)[^-]*)*(?:--!?>|\Z))"
    # raw text: never touched.  A start tag that no '>' ever closes runs to the end: what follows cannot hold
    # an end tag to repair (each ends in '>'), and failing there instead made every later '<script' scan the
    # rest of the page again ('<script ' 20,000 times: 2 s; under 1 ms now)
    r"|(?=[sStTxX\u017f])(?i:(script|style|textarea|title|xmp))\b[^>]*(?:>|\Z)"
    r"[^<]*(?:<(?!/(?i:\1)\s*>)[^<]*)*(?:</(?i:\1)\s*>|\Z)"
    r"|/(?=[bBhH])(?i:(body|html)|br)\s*>"  # group 2: </body>, </html>, to drop; else a stray </br>
    r")",
    re.S,
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


def _repair_end_tags(html: str) -> str:
    """html with </body> and </html> dropped and stray </br> as <br>, outside comments and raw text.  The
    matches are read in a loop and only the few repairs cut the text (a page has about a hundred comments and
    scripts to skip, and re.sub would call back into Python for each of them: a quarter of the scan's time)."""
    parts: list[str] = []
    last = 0
    for match in _PRE_PARSE.finditer(html):
        start = match.start()
        if html[start + 1] == "/":  # the end-tag branch (comments and raw text start '<!' or '<' + a letter)
            parts.append(html[last:start])
            if match.group(2) is None:
                parts.append("<br>")
            last = match.end()
    if not parts:
        return html
    parts.append(html[last:])
    return "".join(parts)


def prepare_markup(html: str) -> str:
    """The markup as handed to libxml2 (content after </html> kept, </br> as <br>, no XML declaration)."""
    return _prepare(html)[0]


def _prepare(html: str) -> tuple[str, bytes, bool]:
    """(markup, its UTF-8 bytes for libxml2, whether the parsed tree may hold characters XML cannot hold)."""
    html = _XML_DECLARATION.sub("", html, count=1)
    markup = _repair_end_tags(html)
    try:
        data = markup.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (a Python-side decoding artefact): pairs joined, the rest U+FFFD
        markup = markup.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        data = markup.encode("utf-8")
    # Nearly always False: three scans at C speed over the bytes and text we have anyway (0.35 ms for the
    # 330 KB of the 20 corpus pages, which take 6.9 ms to parse).  Never a false "no": every such character
    # in the tree was written raw or as a numeric reference.
    suspect = (len(data.translate(None, _C0_BYTES)) != len(data) or "\ufffe" in markup or "\uffff" in markup
               or _BAD_REF.search(data) is not None)
    return markup, data, suspect


# --- characters XML cannot hold ------------------------------------------------------------------------
#
# libxml2 keeps them in the tree (C0 controls other than tab, LF and CR; U+FFFE, U+FFFF), raw or decoded
# from ``&#1;``/``&#xFFFF;``, and lxml then refuses to copy any string holding one ("All strings must be XML
# compatible"): one in a <title>, a heading or an image title made a transform fail and the page went out
# untransformed.  NUL, lone surrogates and references to surrogates, to 0 or past U+10FFFF already become
# U+FFFD in libxml2, as in browsers.  What browsers do with the others (Chromium 156, checked): a raw U+0001
# and ``&#1;`` both stay in the DOM and are drawn as a visible box one character wide, U+FFFE likewise, and
# ``document.title`` (the tab, what screen readers announce) shows a space for a C0 control.  So parse()
# replaces them in the tree, right after parsing, where the context is exact:
#   - U+000C (form feed) becomes a space everywhere: it is HTML whitespace (also to CSS and JavaScript);
#   - in text, attribute values, comments, styles and other raw text, the others become U+FFFD, the visible
#     mark that something unshowable stood there;
#   - in <title>, C0 controls become spaces, as document.title has them;
#   - in <script>, a JavaScript escape (``\u0001``) keeps string literals, regular expressions and JSON
#     meaning the same (vertical tab, JavaScript whitespace, becomes a space); character references are not
#     decoded in scripts (nor in styles, comments, xmp, iframe, noembed, noframes), so ``&#1;`` there stays.
# This runs only when prepare() saw such a character or reference in the markup.
_C0_BYTES = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))
_BAD_REF = re.compile(  # numeric references to 1-8, 11, 12, 14-31, 0xFFFE, 0xFFFF (the parser decodes them)
    rb"&#(?:0*(?:[1-8]|1[124-9]|2[0-9]|3[01]|6553[45])(?![0-9])"
    rb"|[xX]0*(?:[1-8bBcCeEfF]|1[0-9a-fA-F]|[fF]{3}[eEfF])(?![0-9a-fA-F]))")
_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _replace(text: str, context: str) -> str:
    def one(match: re.Match) -> str:
        code = ord(match.group(0))
        if code == 0x0C or (code == 0x0B and context == "script"):
            return " "
        if context == "script" and code:
            return f"\\u{code:04x}"
        if context == "title" and code < 0x20:
            return " "
        return "\ufffd"

    return _BAD_CHAR.sub(one, text)


def _clean_tree(root: etree._Element) -> None:
    """Characters XML cannot hold, replaced in every string of the tree (see above)."""
    nodes = list(root.itersiblings(preceding=True)) + list(root.iter()) + list(root.itersiblings())
    for node in nodes:
        tag = node.tag
        if isinstance(tag, str):
            context = "script" if tag == "script" else "title" if tag == "title" else "text"
            if node.text and _BAD_CHAR.search(node.text):
                node.text = _replace(node.text, context)
            items = node.items()
            if any(_BAD_CHAR.search(name) or _BAD_CHAR.search(value) for name, value in items):
                _clean_attributes(node, items)
        elif node.text and _BAD_CHAR.search(node.text):  # comment, processing instruction
            node.text = _replace(node.text, "text")
        if node.tail and _BAD_CHAR.search(node.tail):
            node.tail = _replace(node.tail, "text")


def _clean_attributes(node: etree._Element, items: list[tuple[str, str]]) -> None:
    try:
        for name, value in items:
            if _BAD_CHAR.search(value):
                node.set(name, _replace(value, "text"))
            if _BAD_CHAR.search(name):
                raise ValueError(name)
        return
    except ValueError:  # a name lxml will not take as it is ("ti\x01tle", or "@click" holding a bad value)
        pass
    # lxml cannot even remove such an attribute by name: start again with all of them, and leave out what
    # lxml refuses (only on pages whose attribute names hold control characters, i.e. binary junk)
    node.attrib.clear()
    for name, value in items:
        try:
            node.set(_replace(name, "text"), _replace(value, "text"))
        except ValueError:
            pass


# --- parsing ---------------------------------------------------------------------------------------------

_OPTIONS = dict(encoding="utf-8", remove_blank_text=False, remove_comments=False, remove_pis=False,
                default_doctype=False, collect_ids=False, huge_tree=True)

# One parser per thread, not one per module: pages are parsed in the executor's worker threads, and an lxml
# parser is not meant to be shared between threads.  Its libxml2 parser context and its error log hold the
# state of the parse in progress; parse() reads that log after each parse, and with a shared parser one
# thread would read another thread's log (or lxml would serialize every parse on the parser's lock).
_THREAD = threading.local()


def _parser(kind: str = "tree") -> etree.HTMLParser:
    parser = getattr(_THREAD, kind, None)
    if parser is None:
        # Plain etree elements, not lxml.html's classes: element proxies are created for every node a
        # transform touches, and the HtmlElement class lookup costs more than the parse itself on link-heavy
        # portal pages.
        parser = etree.HTMLParser(**_OPTIONS) if kind == "tree" else etree.HTMLParser(target=_Flattener(), **_OPTIONS)
        setattr(_THREAD, kind, parser)
    return parser


class UnparseableHTML(ValueError):
    """Nothing an HTML parser can make a page of, or a page that cannot be parsed without losing part of it:
    the caller sends it as it came (an expected outcome, not a failure: no traceback is called for)."""


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
    """Parse page text.  Raises UnparseableHTML (a ValueError) when there is nothing an HTML parser can make a
    page of, or when the page cannot be parsed without losing part of it (the caller then sends it as it came).
    No other exception comes out of here for any input text."""
    markup, data, suspect = _prepare(html)
    if not markup.strip():
        raise UnparseableHTML("empty document")
    root, stopped = _parse(data)
    if stopped:
        # libxml2 gave up part way (in practice: nesting deeper than it allows) and the rest of the page is
        # missing from the tree.  Rebuild the page without the depth limit, flattened (see below), and parse
        # that; if even that stops early, the page cannot be rewritten without losing text.
        data = _flatten(data)
        root, stopped = _parse(data)
        if stopped:
            raise UnparseableHTML(f"the HTML parser stopped early even after flattening: {stopped}")
    if root is None or root.tag != "html":
        raise UnparseableHTML("parser returned no <html> element")
    if suspect:
        _clean_tree(root)
    return Document(root)


def _parse(data: bytes) -> tuple[etree._Element | None, str]:
    """(root, '') or (partial root, the fatal error that stopped the parser part way)."""
    parser = _parser()
    try:
        root = etree.fromstring(data, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError) as exc:
        raise UnparseableHTML(f"unparseable HTML: {exc}") from None
    for error in parser.error_log:  # at most ~100 entries: libxml2 stops recording after that (not fatal ones)
        if error.level == etree.ErrorLevels.FATAL:
            return root, f"{error.message.strip()} (line {error.line})"
    return root, ""


# --- flattening what nests too deep ----------------------------------------------------------------------
#
# What Blink does (kMaximumHTMLParserDOMTreeDepth = 512; checked in Chromium 156): with more than 512 elements
# open, a new element is attached to the parent of the current node, so the DOM is never more than 513
# elements deep (html counted as 1) and no element is lost.  3,000 or 100,000 unclosed <font>s followed by
# <div id=footer><a>link</a> FOOTER</div> give a 513-deep tree holding every <font>; the div is at depth 513,
# its link becomes its sibling, and the text after the link goes back into the div, *before* the link: the
# reader hears "FOOTER" then "link".
#
# The flattening here keeps Blink's bound and all elements that carry meaning, but never reorders text:
# - Unclosed formatting tags are what real pages pile up (editors leave thousands of <font>s open): once
#   FORMATTING_DEPTH elements are open, further formatting elements (font, span, b, ...) are dropped, tags only,
#   their text staying where it is.  This leaves room below them, so a footer after 3,000 open <font>s keeps
#   its own structure: <div class=footer><a>link</a> text</div> as written.
# - Any other element that would sit deeper than MAX_DEPTH + 1 is attached higher up, to the deepest element
#   where it can go (as in Blink).
# - Text, comments and elements are only ever appended at the end of the document built so far (the next
#   node goes into the deepest open element that is still last in document order), so the page reads in
#   its source order.  Formatting that a dropped or moved element gave its text is lost with it.
MAX_DEPTH = 512
FORMATTING_DEPTH = 256
_FORMATTING = frozenset(("font", "span", "b", "i", "u", "s", "strike", "tt", "big", "small", "em", "strong",
                         "sub", "sup", "nobr", "mark", "ins", "del", "cite", "q", "abbr", "acronym", "blink"))

_VOID = frozenset(("area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
                   "input", "keygen", "link", "meta", "param", "source", "track", "wbr"))
_RAW_TEXT = frozenset(("script", "style", "xmp", "iframe", "noembed", "noframes"))  # their text is not escaped


class _Node:
    __slots__ = ("tag", "attrib", "children", "parent", "depth")

    def __init__(self, tag: str, attrib: dict):
        self.tag = tag
        self.attrib = attrib
        self.children: list = []  # _Node, or str for text, or ("comment", text) / ("pi", target, data)
        self.parent: _Node | None = None
        self.depth = 0  # html is 0


class _Flattener:
    """A parser target: libxml2's tree as its SAX events describe it (the depth limit is in libxml2's own
    tree builder, which a target replaces), flattened as described above."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.top: list = []  # doctype, comments and the html element, in order
        self.open: list[bool] = []  # per open element (libxml2's stack): kept (True) or dropped
        self.kept: list[_Node] = []  # the open elements that are kept
        self.last: list[_Node] = []  # html, its last child, that one's last child...: where appending keeps order

    def _append(self, parent: _Node, item) -> None:
        parent.children.append(item)
        del self.last[parent.depth + 1:]
        if isinstance(item, _Node):
            item.parent, item.depth = parent, parent.depth + 1
            self.last.append(item)

    def _target(self) -> _Node:
        """The innermost open element that is still last in document order."""
        node = self.kept[-1]
        while not (node.depth < len(self.last) and self.last[node.depth] is node):
            node = node.parent
        return node

    def doctype(self, name, public_id, system_url) -> None:
        self.top.append(("doctype", name, public_id, system_url))

    def start(self, tag, attrib) -> None:
        if not self.kept:
            if any(isinstance(item, _Node) for item in self.top):  # a second root: libxml2 never sends one
                self.open.append(False)
                return
            node = _Node(tag, dict(attrib))
            self.top.append(node)
            self.last = [node]
        elif tag in _FORMATTING and len(self.kept) >= FORMATTING_DEPTH:
            self.open.append(False)
            return
        else:
            parent = self._target()
            while parent.depth >= MAX_DEPTH and parent.parent is not None:  # the new node 513 deep at most
                parent = parent.parent
            node = _Node(tag, dict(attrib))
            self._append(parent, node)
        self.open.append(True)
        self.kept.append(node)

    def end(self, tag) -> None:
        if self.open and self.open.pop():
            self.kept.pop()

    def _add(self, item) -> None:
        if self.kept:
            self._append(self._target(), item)
        elif not isinstance(item, str) or item.strip():  # outside <html>: comments, and text if any
            self.top.append(item)

    def data(self, text) -> None:
        self._add(text)

    def comment(self, text) -> None:
        self._add(("comment", text))

    def pi(self, target, data=None) -> None:
        self._add(("pi", target, data))

    def close(self) -> list:
        top = self.top
        self.reset()
        return top


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;")


def _flatten(data: bytes) -> bytes:
    """The page as libxml2 reads it, written out again flattened (see above): no element deeper than
    MAX_DEPTH + 1 (html counted as 1), every character of text in its place."""
    parser = _parser("flatten")
    try:
        top = etree.fromstring(data, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError) as exc:
        raise UnparseableHTML(f"unparseable HTML: {exc}") from None
    finally:
        parser.target.reset()
    out: list[str] = []
    for item in top:
        if isinstance(item, _Node):
            _write(item, out)
        elif isinstance(item, str):
            out.append(_escape_text(item))
        else:
            _write_other(item, out)
    return "".join(out).encode("utf-8")


def _write_other(item: tuple, out: list[str]) -> None:
    if item[0] == "comment":
        out.append(f"<!--{item[1]}-->")
    elif item[0] == "pi":
        out.append(f"<?{item[1]} {item[2] or ''}>")
    else:  # doctype
        _, name, public_id, system_url = item
        text = f"<!DOCTYPE {name or 'html'}"
        if public_id:
            text += f' PUBLIC "{public_id}"'
            if system_url:
                text += f' "{system_url}"'
        elif system_url:
            text += f' SYSTEM "{system_url}"'
        out.append(text + ">")


def _write(root: _Node, out: list[str]) -> None:
    """Markup for a node tree, without recursion (trees here are at most MAX_DEPTH + 1 deep, but Python's
    own limit is not far above that)."""
    out.append(_start_tag(root))
    stack = [(root, iter(root.children), root.tag in _RAW_TEXT)]
    while stack:
        node, children, raw = stack[-1]
        for child in children:
            if type(child) is str:
                out.append(child if raw else _escape_text(child))
            elif type(child) is _Node:
                out.append(_start_tag(child))
                if child.tag == "plaintext":  # everything after <plaintext> is its text: nothing may follow it
                    out.append("".join(text for text in child.children if type(text) is str))
                    return
                if child.tag not in _VOID:
                    stack.append((child, iter(child.children), child.tag in _RAW_TEXT))
                    break
            else:
                _write_other(child, out)
        else:
            stack.pop()
            if node.tag not in _VOID:
                out.append(f"</{node.tag}>")


def _start_tag(node: _Node) -> str:
    if not node.attrib:
        return f"<{node.tag}>"
    attributes = "".join(f' {name}="{_escape_attribute(value)}"' for name, value in node.attrib.items())
    return f"<{node.tag}{attributes}>"


def serialize(doc: Document) -> str:
    # Serialize the whole tree (doctype and comments around <html> included) with etree: lxml.html's
    # tostring drops <meta http-equiv=Content-Type>, which pages need to declare their charset.
    markup = etree.tostring(doc.root.getroottree(), encoding="unicode", method="html")
    if next(doc.root.iter("xmp", "noembed", "noframes"), None) is not None:  # 0.7 µs a page: rarely any
        markup = _RAW_SERIALIZED.sub(_unescape_raw, markup)
    return markup


# libxml2 (2.14) parses <xmp>, <noembed> and <noframes> as raw text, as browsers do (``<xmp>a<b>&amp;</xmp>``
# holds the text ``a<b>&amp;``), but its serializer escapes their text like any other (``a&lt;b&gt;&amp;amp;``),
# which browsers then show as written: <xmp> is displayed, so the reader saw the entities.  Their text goes
# back out as it came in.  (<iframe> content, raw text too and never displayed, is left escaped: the trad
# markup step reads it as ordinary text.)
_RAW_SERIALIZED = re.compile(
    r"<(script|style)\b[^>]*>.*?</\1>"  # never touched: scripts may well write "<xmp>" in a string
    r"|(<(xmp|noembed|noframes)\b[^>]*>)(.*?)(</\3>)", re.S)
_ESCAPED = re.compile("&(lt|gt|amp);")


def _unescape_raw(match: re.Match) -> str:
    if match.group(2) is None or "&" not in match.group(4):
        return match.group(0)
    text = _ESCAPED.sub(lambda m: {"lt": "<", "gt": ">", "amp": "&"}[m.group(1)], match.group(4))
    return match.group(2) + text + match.group(5)


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
    parts = [html_escape(container.text, quote=False)] if container.text else []
    parts += [etree.tostring(child, encoding="unicode", method="html", with_tail=True) for child in container]
    return "".join(parts)
