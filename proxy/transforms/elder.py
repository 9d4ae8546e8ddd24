"""Elder mode (长者版): genuinely larger text, more spacing, bigger targets, a calmer page.

Done in the HTML and CSS the browser receives, so it works with JavaScript off: font sizes in
<style> blocks, style attributes and <font size> are scaled (linked stylesheets are rewritten when
the browser fetches them through the proxy, see forward.py); a same-origin stylesheet adds spacing,
targets, focus and cursor; things that move or pop up are stopped or removed.
"""
from __future__ import annotations

import functools
import re

from lxml import etree

from ..css import FONT_SIZE_ATTRIBUTE_PX, Scale, StyleAttributes, rewrite_stylesheet
from ..document import Document
from ..modes import Modes
from ..pipeline import Page, proxy_asset_url, Stateless
from .aria import ACCELERATOR as MEASURING
from .aria import TextAppends, drop
from .links import links_for
from .skiplink import STYLE as SKIP_LINK_STYLE

STYLESHEET = "/-/static/elder.css"
# Floating windows, couplet ads and pop-ups as portal templates name them (飘窗 piaochuang, 对联 duilian...).
_FLOATING = re.compile(
    r"(^|[\s_-])(float(ing)?(ad|win|window|box|div)?|piao(chuang|fu)?|fudong|couplet|duilian|popup|pop-up|"
    r"tanchuang|advert\w*|ads?|guanggao|gg|layer_?ad|adv)($|[\s_-]|\d)", re.I)
# The same on "\n" + text + "\n": starting with a character class, the regex module scans for it in C (a third
# faster over the ids and classes of a whole page than trying each position).
# The lookahead (every name in the group starts with one of those letters) turns most separators away before the
# group's case-insensitive branches are tried one by one: a third faster on a page's ids and classes.
_FLOATING_INSIDE = re.compile(_FLOATING.pattern.replace(r"(^|[\s_-])", r"[\s_-](?=[fpcdtagl])", 1), re.I)
# Download and payment lures (a veto item of the elder-friendly design spec); attachments are not lures.
_DOWNLOADS = ("下载", "下載")
_APPS = ("APP", "App", "app", "客户端", "手机版")
_DOWNLOAD_APP = re.compile(rf"({'|'.join(_DOWNLOADS)})\s*({'|'.join(_APPS)})")
_LURE_WORDS = ("扫码下载", "立即下载APP", "充值", "在线支付", "立即购买", "抽奖")
_LURE_TEXT = re.compile("|".join((_DOWNLOAD_APP.pattern,) + _LURE_WORDS))
_FIXED_POSITION = re.compile(r"position\s*:\s*(fixed|absolute)", re.I)
# Attribute-axis queries: libxml2 answers each in a fraction of a millisecond, where //*[@style] (a predicate on
# every element) or a Python walk over every element costs several times more on a large page.
_STYLE_VALUES = etree.XPath("//*/@style")
# (Plain strings: a "smart" one carries its element, and making a Python object for each element is what costs.)
_IDS = etree.XPath("descendant::*/@id", smart_strings=False)
_CLASSES = etree.XPath("descendant::*/@class", smart_strings=False)
_WITH_ID_OR_CLASS = etree.XPath("descendant::*/@id/.. | descendant::*/@class/..")
_TEXT = etree.XPath("string()", smart_strings=False)
_WITH_DESCRIBED_IMAGE = etree.XPath("descendant::img[@alt != '']/ancestor::a")  # (in document order, once each)


def scale_for(modes: Modes) -> Scale:
    return Scale.for_step(modes.elder or 150)


# The proxy's own <style> texts that transforms before this one add (the skip link's): the same on every page,
# so scaled once per step.  (Without url() or @import, nothing in them depends on the page.)
_OWN_STYLESHEETS = frozenset(text for text in (SKIP_LINK_STYLE,)
                             if "url(" not in text.lower() and "@import" not in text.lower())


@functools.lru_cache(maxsize=16)
def _scaled_own_stylesheet(text: str, scale: Scale) -> str:
    return rewrite_stylesheet(text, scale)


def elder_stylesheet(text: str, page: Page) -> str:
    """A linked stylesheet fetched in elder mode: sizes scaled; @import keeps the mode prefix."""
    links = links_for(page)
    return rewrite_stylesheet(text, scale_for(page.modes),
                              lambda url, is_import: links.rewrite(url, navigational=is_import))


class ElderMode(Stateless):
    name = "elder"

    def enabled(self, modes: Modes) -> bool:
        return modes.elder is not None

    def apply(self, doc: Document, page: Page) -> None:
        scale = scale_for(page.modes)
        self._mark_root(doc, page.modes.elder)
        self._scale_css(doc, page, scale)
        self._calm(doc, page)
        head = doc.head
        head.append(etree.Element("link", rel="stylesheet", href=proxy_asset_url(doc, page, STYLESHEET),
                                  **{"data-a11y-proxy": "elder"}))

    @staticmethod
    def _mark_root(doc: Document, step: int) -> None:
        classes = (doc.root.get("class") or "").split()
        classes += ["a11y-proxy-elder", f"a11y-proxy-elder-{step}"]
        doc.root.set("class", " ".join(classes))

    @staticmethod
    def _scale_css(doc: Document, page: Page, scale: Scale) -> None:
        for style in doc.root.iter("style"):
            text = style.text
            if text:
                style.text = (_scaled_own_stylesheet(text, scale) if text in _OWN_STYLESHEETS
                              else elder_stylesheet(text, page))
        attributes = StyleAttributes(scale)  # each distinct value rewritten once
        for element, value in style_attributes(doc.root):
            new = attributes.rewrite(value, element.tag)
            if new != value:
                element.set("style", new)
        for font in doc.root.iter("font", "basefont"):
            size = font.get("size")
            px = _font_size_px(size)
            if px is None:
                continue
            del font.attrib["size"]
            existing = font.get("style")
            declaration = f"font-size:{scale.px(px):.0f}px"
            font.set("style", f"{existing};{declaration}" if existing else declaration)

    @staticmethod
    def _calm(doc: Document, page: Page) -> None:
        """Stop what moves; remove floating windows, pop-ups and lures (rules can name more)."""
        moving: dict[str, list] = {"marquee": [], "video": [], "audio": [], "blink": [], "bgsound": []}
        for element in doc.root.iter(*moving):  # one walk for the five
            moving[element.tag].append(element)
        for marquee in moving["marquee"]:
            marquee.tag = "div"
            for attribute in ("behavior", "direction", "scrollamount", "scrolldelay", "loop", "onmouseover",
                              "onmouseout", "truespeed"):
                marquee.attrib.pop(attribute, None)
        for media in moving["video"] + moving["audio"]:
            if media.get("autoplay") is not None:
                del media.attrib["autoplay"]
        for blink in moving["blink"]:
            blink.tag = "span"
        for sound in moving["bgsound"]:
            drop(sound)
        doomed = []
        for rule in page.rules.rules:
            if rule.actions.get("elder_remove"):
                # As ApplyRules: a rule that fails or selects no elements is skipped, never the page's elder mode.
                try:
                    found = rule.xpath(doc.root)
                except etree.XPathError:
                    continue
                if isinstance(found, list):
                    doomed.extend(e for e in found if isinstance(e, etree._Element) and isinstance(e.tag, str))
        body = doc.body
        doomed += _floating(body)
        doomed += _lures(body)
        if not doomed:
            return
        holders = _main_holders(doc)
        appends = TextAppends()  # (the text after each removed box is joined once, at the end)
        around_removed: set = set()  # elements with a removed box inside: their text may be pending
        for element in doomed:
            if element in around_removed:
                appends.flush()  # its text is measured next: with what was moved into it
            if _has_main_content(element, holders):
                continue  # never remove the page's content, whatever its class says
            _mark_up(element.getparent(), around_removed)
            drop(element, appends)
        appends.flush()


def style_attributes(root) -> list[tuple]:
    """(element, value) of every style attribute in root's document, in document order: in one C walk where
    it was built (a quarter of the XPath's time), else _STYLE_VALUES."""
    if MEASURING is not None:
        return [(element, value) for element, _, value in
                MEASURING.with_attributes(root.getroottree().getroot(), ("style",))]
    return [(value.getparent(), value) for value in _STYLE_VALUES(root)]


def _floating(body: etree._Element) -> list:
    """Floating windows, pop-ups and ads in body, in document order, found by their id or class.  Only a page
    whose ids or classes name one (each value is tested on its own: the pattern never spans a space) has its
    id'd and classed elements read."""
    if MEASURING is not None:  # (the values alone, in one C walk: a third of the two XPaths' time)
        ids, classes = MEASURING.attribute_values(body, ("id", "class"))
    else:
        ids, classes = _IDS(body), _CLASSES(body)
    if not _FLOATING_INSIDE.search("\n" + "\n".join(ids + classes) + "\n"):
        return []
    found = []
    for element in _WITH_ID_OR_CLASS(body):
        if element.tag in ("html", "body", "main", "article"):
            continue
        marker = f"{element.get('id', '')} {element.get('class', '')}"
        if _FLOATING.search(marker) and (_FIXED_POSITION.search(element.get("style", "")) or
                                         element.tag in ("div", "span", "a", "iframe", "ins", "aside")):
            found.append(element)
    return found


def _lures(body: etree._Element) -> list:
    """Download and payment lures: links whose text, then their images' descriptions, say so.  A link's text
    is a piece of the page's text; a link without a described image matches only if its text does, so unless
    the page's text does, only links with a described image are read."""
    if text_says_lure(body):
        anchors = body.iter("a")
    else:
        anchors = _WITH_DESCRIBED_IMAGE(body)
    found = []
    for anchor in anchors:
        text = "".join(anchor.itertext()) + " ".join(img.get("alt", "") for img in anchor.iter("img"))
        if _says_lure(text):
            found.append(anchor)
    return found


def text_says_lure(body: etree._Element) -> bool:
    """_says_lure of body's text: in one C pass over the text where the accelerator was built (the text is never
    made a Python string; an article with attachments says 下载 and was searched whole), else in Python."""
    if MEASURING is not None:
        return MEASURING.text_says(body, _LURE_WORDS, _DOWNLOADS, _APPS)
    return _says_lure(_TEXT(body))


def _says_lure(text: str) -> bool:
    """_LURE_TEXT.search(text) is not None, without a regex scan over the whole text: the regex module has no
    fast scan for an alternation that starts with a group (0.45 ms on a 30,000-character page), while looking
    for one character is (1 µs), and for a word only once each of its characters is there."""
    for word in _LURE_WORDS:
        if all(char in text for char in word) and _find(text, word) != -1:
            return True
    for download in _DOWNLOADS:
        if download[1] in text and download[0] in text:
            start = _find(text, download)
            while start != -1:
                if _DOWNLOAD_APP.match(text, start):
                    return True
                start = _find(text, download, start + 1)
    return False


def _find(text: str, word: str, start: int = 0) -> int:
    """text.find(word, start), by way of the first few places that hold word's first character: Python finds one
    character at memchr speed, and a Chinese word in Chinese text ten times slower (0.02-0.03 ms on a 30,000-
    character page) as its search steps through the text nearly character by character.  A first character met
    often (a page of 下) costs at most 16 steps more, then the plain search goes on from there."""
    first = word[0]
    for _ in range(16):
        start = text.find(first, start)
        if start == -1 or text.startswith(word, start):
            return start
        start += 1
    return text.find(word, start)


_MAIN_CONTENT = etree.XPath("//*/@role[.='main']/.. | //main | //article")  # (attribute axis: faster)


def _main_holders(doc: Document) -> set:
    """The elements that hold a main or article (below them): marked once, up from each, where asking every
    doomed box to search its subtree was quadratic on nested boxes.  (Those are never removed, so the marks
    stay true while the doomed go.)"""
    holders: set = set()
    for main in _MAIN_CONTENT(doc.root):
        _mark_up(main.getparent(), holders)
    return holders


def _mark_up(element, marks: set) -> None:
    """Add element and those around it to marks (up to one already there)."""
    while element is not None and element not in marks:
        marks.add(element)
        element = element.getparent()


def _has_main_content(element: etree._Element, holders: set) -> bool:
    if element.get("role") == "main" or element.tag in ("main", "article") or element in holders:
        return True
    return _longer_than(element, 400)  # an ad does not carry an article's worth of text


def _longer_than(element: etree._Element, limit: int) -> bool:
    """Is len("".join(element.itertext()).strip()) > limit?  Read only as far as needed."""
    length = 0  # of the text from its first to its last non-space character, so far
    spaces = 0  # after that last one
    for piece in element.itertext():
        if not length and not spaces:
            piece = piece.lstrip()  # (leading space never counts)
        core = piece.rstrip()
        if core:
            length += spaces + len(core)
            spaces = len(piece) - len(core)
            if length > limit:
                return True
        elif length:
            spaces += len(piece)
    return False


def _font_size_px(size: str | None) -> float | None:
    if not size:
        return None
    size = size.strip()
    try:
        if size[0] in "+-":
            level = 3 + int(size)
        else:
            level = int(size)
    except ValueError:
        return None
    return FONT_SIZE_ATTRIBUTE_PX[min(7, max(1, level))]
