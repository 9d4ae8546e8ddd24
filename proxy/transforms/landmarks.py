"""Landmarks where the page (and its rules) have none: banner, navigation, search, main, contentinfo, and
every other visible block inside some landmark, so a screen-reader user can survey and skip the page.

The order matters and follows how sure each signal is:

1. the page's own landmarks (and those rules added) are kept; duplicates of the single ones (banner, main,
   contentinfo) and top-level landmarks nested inside others are demoted, since ARIA forbids both;
2. contentinfo from what every Chinese government footer carries (版权所有, ICP备, 网站标识码, 主办单位...);
3. search from forms (or boxes) with a search field;
4. navigation from menus (a run of links, 首页 among them, or a nav/menu class) and breadcrumbs (当前位置);
5. main, when nothing marks it, by text density: starting at <body>, descend into the child that holds most
   of the reading matter (link text counts a quarter; landmarks found so far do not count) as long as one
   child dominates and nothing but navigation precedes it, then widen to take in the page's h1;
6. banner: of the blocks before main, the one that says header (class/id), holds the logo or the search;
7. leftovers: every block outside all landmarks that shows something becomes navigation (mostly links),
   banner / contentinfo (before / after main, while those are missing), or a region named by its heading.

A role goes on the block itself when its semantics allow it (a div, a layout table), else on a
``display:contents`` box around it (a list, a data table, a text run), which changes neither the layout
nor the element's own meaning.  Finally every landmark role/name pair is made unique.
"""
from __future__ import annotations

import functools
import re
from bisect import bisect_left, bisect_right, insort
from itertools import compress, count

from lxml import etree

from ..document import Document
from ..pipeline import Page
from .aria import ACCELERATOR as MEASURING
from .aria import (HEADINGS, SINGLE_ROLES, TOP_LEVEL_ROLES, WHY, Measure, RepairTransform, Repairs, can_wrap, chars,
                   explicit_role, find_landmarks, heuristic, main_landmarks, place_landmark, squash, tag_of, text_of,
                   title_parts, wrap, wrap_tail, wrap_text)

FOOTER_TEXT = re.compile(r"版权所有|版权归|版权：|ICP备|ICP证|网站标识码|网站识别码|主办单位|主办：|承办单位|承办：|"
                         r"技术支持|公网安备|Copyright|©|All\s+Rights\s+Reserved", re.I)
# The first characters of FOOTER_TEXT's alternatives, matched the same case-insensitive way.
_FOOTER_FIRST = re.compile(r"[版网主承技公©ICA]", re.I)
_FOOTER_KEYS = ("版权", "ICP", "标识码", "识别码", "主办", "承办", "技术支持", "公网安备", "opyright", "OPYRIGHT", "©",
                "ights", "IGHTS")


# FOOTER_TEXT's alternatives that have no case, as a key with what comes before and after it (so they are found
# where the keys are, with no scan of their own), and the others as they read in lower case: where the text's
# lower case has its length and none of the three characters that re.I also takes for i or s, a match of
# FOOTER_TEXT is one of these (the last with a short regex that starts with a literal: fast).
_FOOTER_AROUND_KEYS = {"版权": (("", "所有"), ("", "归"), ("", "：")), "标识码": (("网站", ""),), "识别码": (("网站", ""),),
                       "主办": (("", "单位"), ("", "：")), "承办": (("", "单位"), ("", "：")), "技术支持": (("", ""),),
                       "公网安备": (("", ""),), "©": (("", ""),)}
_FOOTER_LOWER = ("icp备", "icp证", "copyright")
_FOOTER_LOWER_RIGHTS = re.compile(r"all\s+rights\s+reserved")
_CASE_LOOKALIKES = ("\u0130", "\u0131", "\u017f")  # İ ı ſ


def _finds(text: str, word: str) -> list[int]:
    """Where word starts in text, each start (str.find: a fast scan in C)."""
    starts = []
    start = text.find(word)
    while start != -1:
        starts.append(start)
        start = text.find(word, start + 1)
    return starts


def _finds_each(text: str, words: tuple[str, ...]) -> dict[str, list[int]]:
    """_finds of each word (in one pass over the text where the accelerator was built)."""
    if MEASURING is not None:
        return dict(zip(words, MEASURING.find_all(text, words, False)))
    return {word: _finds(text, word) for word in words}


def _text_length(el) -> int:
    """The length of el's text (its text nodes, as etree.tostring(method="text") joins them); counted in
    place, without the string, where the accelerator was built."""
    if MEASURING is not None:
        return MEASURING.text_length(el)
    return len(etree.tostring(el, method="text", encoding="unicode", with_tail=False))


def _footer_lines(text: str, keys: dict[str, list[int]]) -> list[tuple[int, int]]:
    """The spans of FOOTER_TEXT's matches in text, one per start (no alternative is a prefix of another, none
    starts inside another's match); keys: where each of _FOOTER_KEYS starts in text.  The regex itself, even
    tried only where an alternative's first character stands, cost 0.6 ms on a 100 KB page (scripts are full
    of a, c and i); this ~0.15 ms (~0.05 with the accelerator), with the same spans."""
    if any(char in text for char in _CASE_LOOKALIKES):
        lines = []  # (the slow way: re.I matches these to ASCII letters, and İ is two characters in lower case)
        for start in _FOOTER_FIRST.finditer(text):
            match = FOOTER_TEXT.match(text, start.start())
            if match is not None:
                lines.append(match.span())
        return lines
    lines = [(start - len(before), start + len(key) + len(after))
             for key, around in _FOOTER_AROUND_KEYS.items() for start in keys[key] for before, after in around
             if text.startswith(after, start + len(key)) and start >= len(before)
             and text.startswith(before, start - len(before))]
    if MEASURING is not None:
        # Without those three, a word is in the lower case where its letters are in any case (no other
        # character lowers to one of its letters): no lower-cased copy of the page's text is needed, only
        # for "all rights reserved" (whose \s is Unicode's), and only where "rights" is.
        found = MEASURING.find_all(text, _FOOTER_LOWER + ("rights",), True)
        lines += [(start, start + len(word)) for word, starts in zip(_FOOTER_LOWER, found) for start in starts]
        if found[-1]:
            lines += [match.span() for match in _FOOTER_LOWER_RIGHTS.finditer(text.lower())]
        return lines
    lower = text.lower()
    lines += [(start, start + len(word)) for word in _FOOTER_LOWER for start in _finds(lower, word)]
    lines += [match.span() for match in _FOOTER_LOWER_RIGHTS.finditer(lower)]
    return lines


def footer_line(text: str) -> bool:
    """Does the text carry a footer line?  (Substring tests first: a regex alternation is slow on long text.)"""
    return any(key in text for key in _FOOTER_KEYS) and FOOTER_TEXT.search(text) is not None


class _FooterText:
    """footer_line() of any element's text (its text nodes, as etree.tostring(method="text") joins them), from
    one scan of the page's text: each element's text is a slice of it, and a footer line (a key, and a match
    of FOOTER_TEXT) lies within the slice.  Searching each element's own text instead searched a footer
    nested 2,000 levels deep once per level.  Slices are found for the elements asked about (the children
    of those that carry a footer line), a parent's children at a time."""

    def __init__(self, root, measure: Measure):
        """measure: the page's Measure (which child of an element holds the most visible text)."""
        text = etree.tostring(root, method="text", encoding="unicode", with_tail=False)
        self.measure = measure
        self.spans = {root: (0, len(text))}
        keys = _finds_each(text, _FOOTER_KEYS)
        self.keys = _Occurrences([(start, start + len(key)) for key, starts in keys.items() for start in starts])
        self.lines = _Occurrences(_footer_lines(text, keys))

    def __call__(self, el) -> bool:
        start, end = self.span(el)
        return self.keys.within(start, end) and self.lines.within(start, end)

    def span(self, el) -> tuple[int, int]:
        """Where el's text lies in root's text (el inside root)."""
        span = self.spans.get(el)
        if span is None:
            path = [el]  # up to the nearest element with a known span
            while path[-1].getparent() not in self.spans:
                path.append(path[-1].getparent())
            for element in reversed(path):
                self._children(element.getparent())
            span = self.spans[el]
        return span

    def _children(self, parent) -> None:
        """The spans of parent's child elements: its text, then each child's text and tail, in order (the text
        of comments and PIs is not the page's).  The child holding the most text is not read: its length is
        what the others leave of the parent's.  (Reading every child's text at every level down a page nested
        thousands deep read the same text thousands of times.)"""
        start, end = self.spans[parent]
        if MEASURING is not None:  # (the same spans, in one C call: this is a Python loop per child)
            self.spans.update(MEASURING.child_spans(parent, start, end, self.measure.order, self.measure.text))
            return
        children = [child for child in parent if child.tag.__class__ is str]
        if not children:
            return
        biggest = max(children, key=lambda child: self.measure[child].text)
        lengths = {child: _text_length(child) for child in children if child is not biggest}
        tails = sum(len(child.tail or "") for child in parent)
        lengths[biggest] = end - start - len(parent.text or "") - tails - sum(lengths.values())
        position = start + len(parent.text or "")
        for child in parent:
            if child.tag.__class__ is str:
                self.spans[child] = (position, position + lengths[child])
                position += lengths[child]
            position += len(child.tail or "")


class _Occurrences:
    """Spans in a text, asked whether one lies within a range: sorted by start, with the smallest end from
    each one on."""

    def __init__(self, spans: list[tuple[int, int]]):
        spans.sort()
        self.starts = [start for start, _ in spans]
        self.first_end = [end for _, end in spans]
        for i in range(len(spans) - 2, -1, -1):
            self.first_end[i] = min(self.first_end[i], self.first_end[i + 1])

    def within(self, start: int, end: int) -> bool:
        i = bisect_left(self.starts, start)
        return i < len(self.starts) and self.first_end[i] <= end


_TOKENS = re.compile(r"[\s_\-]+")
_HEADER_WORDS = frozenset({"header", "head", "top", "banner", "masthead", "logo", "topbar", "tophead", "pagehead",
                           "siteheader", "hd", "toper", "headers", "heads", "headbox", "topbox", "top_pic"})
_FOOTER_WORDS = frozenset({"footer", "foot", "bottom", "copyright", "copy", "bq", "banquan", "ft", "footers",
                           "footbox", "bottombox", "wzbs"})
_NAV_WORDS = frozenset({"nav", "navs", "navbar", "menu", "menus", "daohang", "dh", "lanmu", "subnav", "mainnav",
                        "topnav", "sidenav", "leftnav", "navigation", "submenu", "mainmenu", "channel", "column",
                        "menubar"})
_BREADCRUMB = re.compile(r"bread|crumb|curmb|location|position|weizhi|dqwz|current|^path|navpath|local", re.I)
_BREADCRUMB_TEXT = re.compile(r"^(?:当前位置|您的位置|你的位置|您现在的位置|你现在的位置|您当前的位置|所在位置|现在位置|位置)\s*[：:]?")
_LOGO = re.compile(r"logo|biaoshi", re.I)
_SEARCH_WORDS = re.compile(r"搜索|检索|搜\s*索|search|sousuo|query|jiansuo", re.I)
_TITLE_CLASS = re.compile(r"tit|title|hd|head|bt|caption|name|lm", re.I)
# What follows an article and belongs to it: its attachments, the QR code to open it on a phone, print/close.
_TAIL_CLASS = re.compile(r"attach|annex|fujian|enclosure|appendix|download|xgfj|qrcode|qr[_-]?con|ewm|erweima|"
                         r"share|print|output", re.I)
_TAIL_TEXT = re.compile(r"^(?:相关附件|附件|附\s*件|相关文件|扫一扫|扫码|手机扫|二维码|【?打印|【?关闭|分享)")
_TAIL_SIZE = 2000  # characters: an attachment list, not a second article
_LIVE_ROLES = frozenset({"dialog", "alertdialog", "alert", "log", "status", "marquee", "timer"})
_DEFAULT_NAMES = {"navigation": "导航", "search": "站内搜索", "complementary": "侧栏", "region": "其他内容",
                  "form": "表单"}


def first_text(el, size: int = 12) -> str:
    """The first characters of el's text without whitespace, a text piece (of itertext) at a time, until there
    are size or more (a breadcrumb starts with 当前位置).  In C where it was built: first_text_in_python."""
    if MEASURING is not None and el.tag.__class__ is str:
        return MEASURING.first_text(el, size)
    return first_text_in_python(el, size)


def first_text_in_python(el, size: int = 12) -> str:
    """first_text, the reference (tests/test_measure.py holds _measure.c to it)."""
    out = ""
    for text in el.itertext():
        out += "".join(text.split())
        if len(out) >= size:
            break
    return out


def _hinted(el, words: frozenset[str]) -> bool:
    """Does el's id or class say one of words (or a word that starts with one: navbar2, footer_box)?"""
    names = (el.get("id") or "") + " " + (el.get("class") or "")
    if len(names) > 200:  # (a hostile page's megabyte classes are not kept)
        return _names_hint.__wrapped__(names, words)
    return _names_hint(names, words)


@functools.lru_cache(maxsize=4096)
def _names_hint(names: str, words: frozenset[str]) -> bool:
    """(Cached, for short names only: a page repeats its ids and classes, each asked about several times.)"""
    tokens = {w.lower() for w in _TOKENS.split(names) if w} if names != " " else set()
    if tokens & words:
        return True
    prefixes = tuple(words)
    return any(t.rstrip("0123456789") in words or t.startswith(prefixes) and len(t) <= 12 for t in tokens)


class Landmarks(RepairTransform):
    name = "landmarks"

    def apply(self, doc: Document, page: Page) -> None:
        if not page.rules.heuristic("landmarks") or doc.root.find("body") is None:  # no body: a frameset
            return
        log = self.log(page)
        Segmenter(doc, log).run()
        log.finish()
        if page.in_frame:
            # Landmark names must differ across the documents of one page, and portals often frame several
            # copies of one template: the frame's address tells them apart.
            for main in main_landmarks(doc.root):
                name = main.get("aria-label") or ""
                main.set("aria-label", f"{name}（{page.url.path}）" if name else page.url.path)


# Containers whose text cannot be boxed (the parser would move a box out of them).
_NO_TEXT_BOXES = frozenset({"tr", "table", "tbody", "thead", "tfoot", "ul", "ol", "dl", "select"})
# Landmarks that may repeat, so small blocks side by side that would each get one share one instead: an
# image link, a line of links, a caption (size: visible characters, ten per image or field).
_ROW_ROLES = frozenset({"navigation", "region"})
_ROW_BLOCK_SIZE = 60


class _Row:
    """Blocks side by side (siblings, nothing but whitespace between them) that will share one landmark."""

    def __init__(self):
        self.blocks: list = []  # the blocks, with whatever shows nothing between them, in order
        self.kind: tuple | None = None  # the (role, label, why) they share
        self.between: list = []  # what shows nothing after the last block: joins only if another block does

    def joins(self, kind) -> bool:
        return bool(self.blocks) and kind[:2] == self.kind[:2]

    def add(self, block, kind) -> None:
        self.blocks += self.between
        self.blocks.append(block)
        self.between = []
        self.kind = kind

    def clear(self) -> None:
        self.blocks, self.kind, self.between = [], None, []


def _has_own_text(el) -> bool:
    return chars(el.text) > 0


def _logo_image(img) -> bool:
    return _LOGO.search(" ".join(((img.get("src") or "").rsplit("/", 1)[-1], img.get("class") or ""))) is not None


def _heading_name(el) -> bool:
    """A heading that can name the block it is in (heading_label)."""
    if el.tag not in HEADINGS:
        return False
    text = text_of(el, 21)  # (enough to tell: text_of reads no further than it must)
    return 2 <= len(text) <= 20


_MAYBE_HOME = etree.XPath("descendant::a[contains(., '首') and contains(., '页')]")  # (home_links reads these)
_WITH_CLASS_OR_ID = etree.XPath("descendant-or-self::*/@class/.. | descendant-or-self::*/@id/..")  # (in document order)


def _titled_name(el) -> bool:
    """An element whose class or id says title, with text that can name the block it is in (heading_label)."""
    if el.tag == "a" or not _TITLE_CLASS.search(" ".join((el.get("class") or "", el.get("id") or ""))):
        return False
    text = text_of(el, 13)  # (enough to tell: text_of reads no further than it must)
    return 2 <= len(text) <= 12


class _Numbering:
    """Every element of a tree numbered in document order, once (boxes the repairs add later have no number),
    and each numbered element's subtree as a range of numbers."""

    def __init__(self, root, order: dict | None = None):
        """order: the numbering, where the accelerator made it (_measure.number)."""
        self.order = order if order is not None else dict(zip(root.iter(etree.Element), count()))
        self.last_numbered: dict = {}  # element -> the last numbered element of its subtree, once asked

    def span(self, root) -> tuple[int, int] | None:
        """The numbers of root's subtree (first, last), or None for a box made after the numbering."""
        start = self.order.get(root)
        return None if start is None else (start, self.order[self._last_numbered(root)])

    def _last_numbered(self, root):
        """The last numbered element of root's subtree in document order (root is numbered): its last
        descendant, or, where that is a box made later, the numbered element before it.  Every element on the
        way down (root's last child, its last child...) has the same one: kept for each, so nested blocks cost
        one walk down, not one each."""
        known = self.last_numbered
        chain = [root]
        while chain[-1] not in known:
            child = _last_child(chain[-1])
            if child is None:
                break
            chain.append(child)
        el = known.get(chain[-1], chain[-1])
        while el not in self.order:
            previous = el.getprevious()
            while previous is not None and previous.tag.__class__ is not str:
                previous = previous.getprevious()
            el = _last_descendant(previous) if previous is not None else el.getparent()
        for member in chain:
            known[member] = el
        return el


class _FirstInside:
    """The first element in a subtree (document order, the subtree's root included) that passes a test.
    Only candidates (a cheap preselection, in document order) can pass; they are tested when first needed,
    once, and only those inside a subtree asked about.  With the tree numbered up front, a subtree's
    candidates are found by binary search: asking about each of a thousand nested boxes costs no walk.  Boxes
    the repairs add later never pass: asked about, they answer for what they hold."""

    def __init__(self, numbering: _Numbering, candidates, test, positions: list[int] | None = None):
        """positions: the candidates' numbers, where known already."""
        self.test = test
        self.numbering = numbering
        self.candidates = list(candidates)
        self.positions = positions if positions is not None else [numbering.order[el] for el in self.candidates]
        self.passes: list[bool | None] = [None] * len(self.candidates)  # each candidate's test, once made
        # For a candidate known to fail, an index after it such that every candidate between fails too: a
        # thousand nested boxes, each asked about, do not each read through the same failing candidates.
        self.failing_to: list[int | None] = [None] * len(self.candidates)

    def __call__(self, root):
        span = self.numbering.span(root)
        if span is None:
            return self.below(root)  # a box made after the numbering
        return self._first_between(span[0], span[1])

    def _first_between(self, first: int, last: int):
        """The first candidate numbered first..last that passes, or None."""
        index = self._first_passing(bisect_left(self.positions, first), last)
        return self.candidates[index] if index < len(self.candidates) and self.positions[index] <= last else None

    def _first_passing(self, index: int, last: int) -> int:
        """The index of the first candidate from index on that passes, looking no further than the position
        last (an index past it, or len(candidates), if none passes up to there)."""
        passed_over = []
        positions, failing_to, passes = self.positions, self.failing_to, self.passes
        while index < len(positions) and positions[index] <= last:
            skip = failing_to[index]
            if skip is None:
                passed = passes[index]
                if passed is None:
                    passed = passes[index] = bool(self.test(self.candidates[index]))
                if passed:
                    break
                skip = index + 1
            passed_over.append(index)
            index = skip
        for failed in passed_over:
            failing_to[failed] = index
        return index

    def below(self, el):
        """The first element strictly inside el that passes: for a numbered el, the first in its range after
        itself (its children's ranges, in order); for a box made later, the first in its children's."""
        span = self.numbering.span(el)
        if span is not None:
            return self._first_between(span[0] + 1, span[1])
        for child in el:
            if isinstance(child.tag, str):
                found = self(child)
                if found is not None:
                    return found
        return None


def _last_child(el):
    """el's last child element, or None."""
    child = el[-1] if len(el) else None
    while child is not None and child.tag.__class__ is not str:  # (a comment or PI)
        child = child.getprevious()
    return child


def _last_descendant(el):
    """The last element in el's subtree in document order (el itself when it holds none)."""
    child = _last_child(el)
    while child is not None:
        el, child = child, _last_child(child)
    return el


class Segmenter:
    def __init__(self, doc: Document, log: Repairs):
        self.doc = doc
        self.body = doc.body
        self.log = log
        self.m = Measure(self.body)
        self.carriers: dict = {}  # element carrying a landmark role -> role
        self.role_set: set[str] = set()  # the roles in carriers (asked for every leftover block)
        self.measured: dict = {}  # carrier -> the measured element it stands for (itself, or what it wraps)
        self.measured_set: set = set()
        # Document-order positions of the measured elements, per role (sorted, one entry per carrier), and
        # the carriers whose measured element is a box the repairs made (not in the document order), with
        # the position of the nearest measured element around each box (its anchor): these answer "which
        # landmarks lie inside el" by binary search instead of a scan of every landmark, which made large
        # pages quadratic.
        self.positions: dict[str, list[int]] = {}
        self.unordered: list = []
        self.anchors: dict[str, list[int]] = {}
        self.all_positions: list[int] = []  # (the same, all roles together: most questions are about any role)
        self.all_anchors: list[int] = []
        # Per document-order position: does the element lie inside a landmark?  (Asking each element's
        # ancestors was depth times the page on deeply nested pages.)
        self.enclosed = bytearray(len(self.m.sequence))
        self.main = None  # measured element of main
        self.main_span = (0, 0)  # document order of main's first and last element
        self._home_links: list[int] | None = None
        self._holders: dict[str, set] = {}
        self._first_heading: _FirstInside | None = None  # (for heading_label, made on first use)
        self._first_titled: _FirstInside | None = None

    # --- bookkeeping ---

    def visible(self, el) -> bool:
        return el in self.m.order

    def add(self, carrier, role: str, measured=None) -> None:
        self.carriers[carrier] = role
        self.role_set.add(role)
        measured = self.measured[carrier] = measured if measured is not None else carrier
        self.measured_set.add(measured)
        position = self.m.order.get(measured)
        if position is None:
            self.unordered.append(carrier)
            anchor = self.anchor(measured)
            insort(self.anchors.setdefault(role, []), anchor)
            insort(self.all_anchors, anchor)
        else:
            insort(self.positions.setdefault(role, []), position)
            insort(self.all_positions, position)
        self.enclose(carrier)

    def enclose(self, carrier) -> None:
        """Mark the measured elements inside the carrier's landmark (for inside_landmark)."""
        order, end = self.m.order, self.m.end
        if carrier in order:  # the role is on a measured element: what is below it
            first, last = order[carrier] + 1, end[carrier]
        else:  # a box: the measured elements it holds
            inside = [child for child in carrier if child in order]
            if not inside:
                return
            first, last = order[inside[0]], end[inside[-1]]
        if first <= last:
            self.enclosed[first:last + 1] = b"\x01" * (last + 1 - first)

    def anchor(self, box) -> int:
        """Document order of the nearest measured element around a box the repairs made (<body>'s at worst):
        the box lies inside el exactly when its anchor is el or inside el."""
        order = self.m.order
        for ancestor in box.iterancestors():
            if ancestor in order:
                return order[ancestor]
        return 0

    def roles(self) -> set[str]:
        return self.role_set

    def contains(self, outer, inner) -> bool:
        return self.m.contains(outer, inner)

    def inside_landmark(self, el) -> bool:
        position = self.m.order.get(el)
        if position is not None:
            return self.enclosed[position] == 1
        return any(a in self.carriers for a in el.iterancestors())

    def holds_landmark(self, el, roles=None) -> bool:
        """A landmark (of one of roles) other than el's own lies inside el."""
        start = self.m.order.get(el)
        if start is None:
            # Not measured: hidden (no landmark is ever kept or placed inside), or a box the repairs made.
            is_box = el.get("class") == "a11y-proxy-box"
            return is_box and self._holds_landmark(el, roles, self.carriers)
        end = self.m.end[el]
        if roles is None:
            positions, anchors = self.all_positions, self.all_anchors
            index = bisect_right(positions, start)  # strictly after el: el's own role does not count
            if index < len(positions) and positions[index] <= end:
                return True
            index = bisect_left(anchors, start)  # a box right inside el counts
            return index < len(anchors) and anchors[index] <= end
        for role, positions in self.positions.items():
            if role in roles:
                index = bisect_right(positions, start)  # strictly after el: el's own role does not count
                if index < len(positions) and positions[index] <= end:
                    return True
        for role, anchors in self.anchors.items():
            if role in roles:
                index = bisect_left(anchors, start)
                if index < len(anchors) and anchors[index] <= end:
                    return True
        return False

    def _holds_landmark(self, el, roles, carriers) -> bool:
        for carrier in carriers:
            role = self.carriers[carrier]
            if (roles is None or role in roles) and carrier is not el:
                measured = self.measured[carrier]
                if measured is not el and self.contains(el, measured):
                    return True
        return False

    def is_landmark(self, el) -> bool:
        return el in self.carriers or el in self.measured_set

    def lift(self, el):
        """The outermost ancestor showing exactly what el shows (so a role lands on the block, not its list)."""
        stat = self.m[el]
        while True:
            parent = el.getparent()
            if parent is None or parent is self.body or not self.visible(parent) or self.is_landmark(parent):
                return el
            if parent is self.main:  # (a landmark's measured element was ruled out by is_landmark above)
                return el
            other = self.m[parent]
            if (other.text, other.media, other.links) != (stat.text, stat.media, stat.links):
                return el
            if self.holds_landmark(parent):
                return el
            el = parent

    def place(self, el, role: str, label: str | None, why: str):
        carrier = place_landmark(el, role, label)
        if carrier is None:
            return None
        self.add(carrier, role, el)
        self.log.mark(carrier, f"landmark {role}" + (f" “{label}”" if label else ""),
                      f"{heuristic('landmarks')}: {why}", "landmark")
        return carrier

    def weight(self, el) -> float:
        """Reading matter in el, not counting what landmarks inside it hold."""
        total = self.m.weight(el)
        start = self.m.order.get(el)
        if start is not None and not self.unordered:
            # The outermost landmarks inside el, in document order: each one's span hides those within it.
            end, sequence, ends = self.m.end[el], self.m.sequence, self.m.end
            positions = self.all_positions
            inside = positions[bisect_right(positions, start):bisect_right(positions, end)]
            covered_to, last = -1, -1
            for position in inside:
                if position > covered_to or position == last:  # (two landmarks on one element count twice)
                    measured = sequence[position]
                    total -= self.m.weight(measured)
                    covered_to, last = ends[measured], position
            return total
        for carrier in self.carriers:
            measured = self.measured[carrier]
            if measured is not el and self.contains(el, measured) and not any(
                    o is not measured and self.contains(o, measured) and self.contains(el, o)
                    for o in (self.measured[c] for c in self.carriers)):
                total -= self.m.weight(measured)
        return total

    def order(self, el) -> int:
        """Document order of el; for a box the repairs added, that of the first measured element in it, else
        of its nearest measured ancestor."""
        order = self.m.order
        if el in order:
            return order[el]
        for inner in el.iter():
            if inner in order:
                return order[inner]
        for ancestor in el.iterancestors():
            if ancestor in order:
                return order[ancestor]
        return 0

    # --- the steps ---

    def run(self) -> None:
        if not self.m[self.body].content:
            return
        self.keep_upstream()
        if "contentinfo" not in self.roles():
            self.find_contentinfo()
        self.find_search()
        self.find_navigation()
        if "main" not in self.roles():
            self.find_main()
        else:
            main = next(c for c, r in self.carriers.items() if r == "main")
            self.set_main(self.measured[main], self.measured[main])
        if "banner" not in self.roles() and self.main is not None:
            self.find_banner()
        self.cover(self.body)
        self.unique_names()

    def keep_upstream(self) -> None:
        found = [(el, role) for el, role in find_landmarks(self.body) if self.visible(el)]
        seen: set[str] = set()
        for (el, role), nested in zip(found, self.nested(el for el, _ in found)):
            if role in SINGLE_ROLES and role in seen or role in TOP_LEVEL_ROLES and nested:
                if self.demote(el, role):
                    continue
            seen.add(role)
            self.add(el, role)
            if not (el.get(WHY) or "").startswith("landmark"):  # rules mark their own
                self.log.mark(el, f"landmark {role} (the page's own)", "upstream", "landmark")

    def nested(self, elements) -> list[bool]:
        """For measured elements in document order: does each lie inside an earlier one?  One sweep with a
        stack of the open ones (asking every element of every other, as this did, is quadratic)."""
        out = []
        open_ends: list[int] = []  # where each enclosing element's subtree ends, innermost last
        for el in elements:
            position = self.m.order[el]
            while open_ends and open_ends[-1] < position:
                open_ends.pop()
            out.append(bool(open_ends))
            open_ends.append(self.m.end[el])
        return out

    def demote(self, el, role: str) -> bool:
        why = "a second " + role if role in SINGLE_ROLES else role + " inside another landmark"
        if explicit_role(el) == role:
            del el.attrib["role"]
        elif tag_of(el) in ("header", "footer", "aside") and not explicit_role(el):
            el.set("role", "none")
        else:
            return False
        self.log.mark(el, f"demoted: {why} (ARIA allows neither)", heuristic("landmarks"))
        return True

    def find_contentinfo(self) -> None:
        # Descend only into children whose text carries a footer line.
        hits: list = []
        carries_footer = _FooterText(self.body, self.m)
        stack = [self.body]
        while stack:
            el = stack.pop()
            own = MEASURING.own_text(el) if MEASURING is not None else \
                (el.text or "") + "".join(c.tail or "" for c in el)
            if el is not self.body and footer_line(own) and not self.inside_landmark(el):
                hits.append(el)
            for child in el:
                if child in self.m.order and carries_footer(child):
                    stack.append(child)
        hits.sort(key=self.order)
        hit_positions = [self.order(hit) for hit in hits]
        blocks: dict = {}
        climbed: dict = {}  # the footer lines of one footer climb the same way: each step once
        for hit in hits:
            block = self.footer_block(hit, hit_positions, climbed)
            if block is not None:
                blocks.setdefault(block, 0)
                blocks[block] += 1
        if not blocks:
            for el in reversed(self.m.sequence):
                if self.m[el].text >= 10 and el is not self.body and _hinted(el, _FOOTER_WORDS) \
                        and not self.inside_landmark(el) and not self.holds_landmark(el):
                    block = self.footer_block(el)
                    blocks[block if block is not None else el] = 1
                    break
        total = self.m[self.body].text
        for block, _ in sorted(blocks.items(), key=lambda kv: (-kv[1], self.order(kv[0]))):
            stat = self.m[block]
            after = total - self.text_before_end(block)
            if after > 0.4 * total or (stat.text > 0.6 * total and not self.m[self.body].frames):
                continue
            if self.place(self.lift(block), "contentinfo", None, "footer text (版权所有, ICP备…)") is not None:
                return

    def text_before_end(self, block) -> int:
        return self.m.text_through(block)

    def size(self, el) -> int:
        return self.m.size(el)

    def footer_block(self, el, hits=(), climbed: dict | None = None):
        """The block a footer line belongs to: climb while the parent adds other footer lines, or little.
        hits: the document-order positions of the footer lines (sorted), counted inside a block by bisection.
        climbed: where climbs from (block, footer lines counted) ended, shared by calls with the same hits
        while the landmarks stay as they are (a climb depends on nothing else)."""
        block = el
        inside = self.count_inside(el, hits) or 1
        if climbed is None:
            climbed = {}
        steps = []
        while True:
            state = (block, inside)
            if state in climbed:
                block = climbed[state]
                break
            steps.append(state)
            parent = block.getparent()
            if parent is None or parent is self.body or self.is_landmark(parent) or not self.visible(parent):
                break
            size = self.size(block)
            if hits and not self.holds_landmark(parent):
                more = self.count_inside(parent, hits)
                if more > inside and self.size(parent) <= 2 * size + 300:
                    block, inside = parent, more
                    continue
            if self.size(parent) > 1.5 * size + 50:
                break  # the parent holds much more than footer matter
            before = self.size_before(parent, block)
            if before > max(60, 0.5 * size):
                break  # ... or content before the footer (the page's own, on a small page)
            if self.holds_landmark(parent):
                break
            block = parent
        for state in steps:
            climbed[state] = block
        return None if block is self.body else block

    def count_inside(self, el, positions: list[int]) -> int:
        """How many of the (sorted) document-order positions lie in el, el included."""
        return bisect_right(positions, self.m.end[el]) - bisect_left(positions, self.m.order[el])

    def landmarks_in(self, el) -> int:
        """How many landmarks' measured elements lie in el, el's own included (el measured)."""
        start, end = self.m.order[el], self.m.end[el]
        return sum(bisect_right(found, end) - bisect_left(found, start)
                   for found in (self.all_positions, self.all_anchors))

    def size_before(self, parent, child) -> int:
        """size() of what parent shows before its child (its measured children that come first)."""
        before = 0
        for sibling in child.itersiblings(preceding=True):
            if sibling in self.m.order:
                before += self.size(sibling)
        return before

    def find_search(self) -> None:
        for form in list(self.body.iter("form")):
            if not self.visible(form) or self.is_landmark(form) or self.inside_landmark(form) and \
                    any(self.carriers.get(a) == "search" for a in form.iterancestors()):
                continue
            fields = [i for i in form.iter("input", "textarea", "select") if self.visible(i)]
            texts = [i for i in fields
                     if tag_of(i) == "input" and (i.get("type") or "text").lower() in ("text", "search")]
            if not texts or len(texts) > 3 or any((i.get("type") or "").lower() == "password" for i in fields):
                continue
            if self.m[form].text > 200:
                continue
            if self.searchy(form):
                self.place(form, "search", None, "a form with a search field")
        for field in list(self.body.iter("input")):
            if not self.visible(field) or (field.get("type") or "text").lower() not in ("text", "search"):
                continue
            if next(field.iterancestors("form"), None) is not None or self.inside_landmark(field):
                continue
            box = field.getparent()
            chosen = None
            for _ in range(3):
                if box is None or box is self.body or self.is_landmark(box):
                    break
                if self.m[box].text > 60 or self.holds_landmark(box):
                    break
                if self.searchy(box):
                    chosen = box
                    break
                box = box.getparent()
            if chosen is not None:
                self.place(self.lift(chosen), "search", None, "a search field and button")

    def searchy(self, box) -> bool:
        blob = [box.get("action") or "", box.get("id") or "", box.get("class") or "", box.get("name") or ""]
        for el in box.iter("input", "button", "a", "img", "span", "label"):
            blob += [el.get(a) or "" for a in ("value", "class", "id", "name", "placeholder", "title", "alt",
                                                 "onclick", "src")]
            blob.append(el.text or "")
        return bool(_SEARCH_WORDS.search(" ".join(blob)))

    def find_navigation(self) -> None:
        m = self.m
        # Document-order positions inside navigation and search landmarks: nothing there becomes another one.
        covered = bytearray(len(m.sequence))

        def cover(el) -> None:
            covered[m.order[el]:m.end[el] + 1] = b"\x01" * (m.end[el] + 1 - m.order[el])

        for carrier, role in self.carriers.items():
            measured = self.measured[carrier]
            if role in ("navigation", "search") and measured in m.order:
                cover(measured)
        sequence = m.sequence
        for index in compress(count(), map((2).__le__, m.links)):  # the elements with two links or more
            el = sequence[index]
            if el is self.body or self.is_landmark(el) or covered[index] or self.holds_landmark(el):
                continue
            kind = self.nav_kind(el)
            if kind is None:
                continue
            target = self.lift(el)
            carrier = self.place(target, "navigation", kind, "breadcrumb" if kind == "当前位置" else
                                 "a menu of links")
            if carrier is not None and target in m.order:
                cover(target)

    def nav_kind(self, el) -> str | None:
        """'当前位置' for a breadcrumb, '主导航' for a menu with 首页, a label for another menu, else None.
        Cheap tests (from the measured statistics) come first: this runs on every element with links."""
        m = self.m
        index = m.order.get(el)  # (its figures read where they are, no Stat made; a box made later has none)
        text, link_text, links = (m.text[index], m.link_text[index], m.links[index]) if index is not None else (0, 0, 0)
        link_share = link_text / text if text else 1.0
        loose = text - link_text
        if links <= 10 and loose <= 12 + 3 * links and (
                _BREADCRUMB.search(" ".join((el.get("id") or "", el.get("class") or "")))
                or _BREADCRUMB_TEXT.match(first_text(el))):
            return "当前位置"
        if links < 3 or link_share < 0.7 or loose > 40:
            return None
        if _hinted(el, _HEADER_WORDS) or _hinted(el, _FOOTER_WORDS):
            return None
        if link_share < 0.9 and el in self.holders("headings", _has_own_text, HEADINGS):
            return None
        if el in self.holders("logos", _logo_image, ("img",)):
            return None
        start, end = index, m.end[el]
        home_links = self.home_links()  # in document order: a binary search finds one inside el
        index = bisect_right(home_links, start - 1)
        if index < len(home_links) and home_links[index] <= end:
            return "主导航"
        if _hinted(el, _NAV_WORDS):
            return self.heading_label(el) or "导航"
        return None

    def holders(self, key: str, test, tags: tuple[str, ...]) -> set:
        """The elements of the given tags under <body> that pass test, and every element around each: el holds
        one exactly when el is in the set.  Built once per page (asking each menu to search its subtree
        made nested menus quadratic)."""
        found = self._holders.get(key)
        if found is None:
            found = self._holders[key] = set()
            for el in self.body.iter(*tags):
                if test(el):
                    while el is not None and el not in found:
                        found.add(el)
                        el = el.getparent()
        return found

    def home_links(self) -> list[int]:
        """Document-order positions of the links that say 首页 (a menu with one is the site's main menu)."""
        if self._home_links is None:
            # (In C where it was built: the links whose text holds 首; each name below has 页 as well.)
            maybe = MEASURING.containing(self.body, ("a",), ("首",)) if MEASURING is not None else \
                _MAYBE_HOME(self.body)
            self._home_links = [self.m.order[a] for a in maybe if a in self.m.order and
                                "".join("".join(a.itertext()).split()) in ("首页", "网站首页", "回到首页", "返回首页")]
        return self._home_links

    def find_main(self) -> None:
        node = self.body
        while True:
            kids = [c for c in node if isinstance(c.tag, str) and self.visible(c) and not self.is_landmark(c)]
            if not kids:
                break
            scored = [(self.weight(c), c) for c in kids]
            best_weight, best = max(scored, key=lambda s: s[0])
            total = self.weight(node)
            if total <= 0 or best_weight <= 0:
                break
            if best_weight >= 0.7 * total:
                node = best
                continue
            break
        why = "most of the page's text"
        if self.weight(self.body) <= 0:
            node, why = self.frame_main(), "the largest frame (the page has no text of its own)"
            if node is None:
                return
        elif node is not self.body:
            node = self.with_heading(self.with_preamble(node))
        if node is self.body or self.holds_landmark(node, TOP_LEVEL_ROLES):
            self.main_box(node, why)
            return
        target = self.lift(node)
        start, tail = self.article_tail(target)
        if tail and self.box_main([start] + tail, f"{why}, with what follows the article (附件, 扫一扫)",
                                 target) is not None:
            return
        if self.place(target, "main", self.main_name(target), why) is not None:
            self.set_main(target, target)
        else:
            self.box_main([target], why)

    def article_tail(self, node) -> tuple:
        """The blocks right after the article that belong to it (附件 lists, 扫一扫 QR codes, 打印/关闭): climb
        from node through wrappers it ends (nothing after it, no landmark beside it), then take the run of
        following siblings that look like an article's tail.  Returns (the element to box with them, the
        run); the run is empty when nothing follows that belongs to the article."""
        start = node
        while True:
            tail, seen_content = [], False
            for sibling in start.itersiblings():
                if not isinstance(sibling.tag, str) or not self.visible(sibling) or not self.m[sibling].content:
                    continue
                seen_content = True
                if not self.tail_block(sibling):
                    break
                tail.append(sibling)
            if tail:
                run = []  # (with what shows nothing between the article and its tail)
                for sibling in start.itersiblings():
                    if isinstance(sibling.tag, str):
                        run.append(sibling)
                    if sibling is tail[-1]:
                        break
                return (start, run) if all(can_wrap(c) for c in [start] + run) else (node, [])
            if seen_content:
                return node, []
            parent = start.getparent()
            if parent is None or parent is self.body or not self.visible(parent) or self.is_landmark(parent) \
                    or self.landmarks_in(parent) != self.landmarks_in(start) \
                    or self.size_before(parent, start) > 0:
                return node, []
            start = parent

    def tail_block(self, el) -> bool:
        """el, just after the article, belongs to it: an attachment list, a QR code, print/close links; never
        a landmark, the footer, or anything large."""
        if self.is_landmark(el) or self.holds_landmark(el) or self.size(el) > _TAIL_SIZE:
            return False
        if _hinted(el, _FOOTER_WORDS) or footer_line(text_of(el, 400)):
            return False
        if _TAIL_TEXT.match(first_text(el, 8)):
            return True
        return any(_TAIL_CLASS.search((e.get("class") or "") + " " + (e.get("id") or ""))
                   for e in (el, *(c for c in el if isinstance(c.tag, str))))

    def main_name(self, main=None) -> str | None:
        """Main is named after the page (its h1, else its title without the site name): documents in frames
        each have a main of their own, and landmark names must differ across them."""
        if main is not None:
            for heading in main.iter("h1"):
                text = text_of(heading, 60)
                if text and self.visible(heading):
                    return text
        parts = title_parts(self.doc.root)
        if len(parts) > 1:
            parts = sorted(parts[:-1], key=len, reverse=True) if len(parts) > 2 else parts[:1]
        name = parts[0] if parts else ""
        if not name:
            h1 = next((h for h in self.body.iter("h1") if self.visible(h)), None)
            name = text_of(h1, 60) if h1 is not None else ""
        return name[:60] or None

    def set_main(self, first, last) -> None:
        self.main = first
        self.main_span = (self.order(first), self.m.end.get(last, self.order(last)))

    def with_preamble(self, node):
        """Widen main over a short run of text just before it (an article's title, date and source)."""
        while True:
            parent = node.getparent()
            if parent is None or parent is self.body or self.is_landmark(parent) or \
                    self.holds_landmark(parent, TOP_LEVEL_ROLES):
                return node
            if self.landmarks_in(parent) > self.landmarks_in(node):
                return node  # a breadcrumb or menu beside it: main starts after them
            before = [c for c in node.itersiblings(preceding=True)
                      if isinstance(c.tag, str) and self.visible(c) and not self.is_landmark(c)]
            extra = self.weight(parent) - self.weight(node)
            if extra <= 5:
                node = parent  # the parent adds nothing to read: a wrapper
                continue
            text = sum(self.m[c].text for c in before)
            # An article title may carry links (分享, 打印): a heading counts as text whatever it holds.
            links = sum(self.m[c].link_text for c in before if tag_of(c) not in HEADINGS)
            if not text or links > 0.5 * text or extra > max(80.0, 0.4 * self.weight(node)):
                return node
            node = parent

    def with_heading(self, node):
        """Widen main to take in the page's first h1 when it sits just outside."""
        h1 = next((h for h in self.body.iter("h1") if self.visible(h) and not self.inside_landmark(h)
                   and text_of(h, 10)), None)
        if h1 is None or self.contains(node, h1) or self.order(h1) > self.order(node):
            return node
        ancestors = list(node.iterancestors())
        common = next((a for a in h1.iterancestors() if a in ancestors), None)
        if common is None or common is self.body or self.holds_landmark(common, TOP_LEVEL_ROLES):
            return node
        if self.weight(common) > 1.6 * self.weight(node) + 60:
            return node
        return common

    def frame_main(self):
        frames = [f for f in self.body.iter("iframe", "frame") if self.visible(f) and not self.inside_landmark(f)]

        def area(frame) -> int:
            size = 1
            for attribute, css in (("width", "width"), ("height", "height")):
                value = frame.get(attribute) or ""
                match = re.search(rf"{css}\s*:\s*(\d+)px", frame.get("style") or "")
                value = match.group(1) if match else value
                size *= int(value) if value.isdigit() else 300
            return size

        return max(frames, key=area) if frames else None

    def main_box(self, node, why: str) -> None:
        """Main is a run of node's children: box the run between the landmarks around the best one (or
        node's bare text, when that is all there is)."""
        kids = [c for c in node if isinstance(c.tag, str)]
        best = max((c for c in kids if self.visible(c) and not self.is_landmark(c)), key=self.weight, default=None)
        if best is None:
            if chars(node.text) and (node is self.body or can_wrap(node)):
                box = wrap_text(node, -1)
                box.set("role", "main")
                name = self.main_name()
                if name:
                    box.set("aria-label", name)
                self.add(box, "main")
                self.log.mark(box, "landmark main (on a box around the page's text)",
                              f"{heuristic('landmarks')}: {why}", "landmark")
            return
        i = j = kids.index(best)

        def boundary(c) -> bool:
            return self.is_landmark(c) or self.holds_landmark(c) or not can_wrap(c)

        while i > 0 and not boundary(kids[i - 1]):
            i -= 1
        while j < len(kids) - 1 and not boundary(kids[j + 1]):
            j += 1
        run = kids[i:j + 1]
        while run and not self.visible(run[0]):
            run.pop(0)
        while run and not self.visible(run[-1]):
            run.pop()
        if len(run) == 1:
            if self.place(run[0], "main", self.main_name(), why) is not None:
                self.set_main(run[0], run[0])
        elif run:
            self.box_main(run, why)

    def box_main(self, run: list, why: str, article=None):
        if not all(can_wrap(c) for c in run):
            return None
        box = wrap(run)
        box.set("role", "main")
        name = self.main_name(article)
        if name:
            box.set("aria-label", name)
        self.add(box, "main", run[0] if len(run) == 1 else box)
        self.set_main(run[0], run[-1])
        self.log.mark(box, "landmark main (on a box around the content)", f"{heuristic('landmarks')}: {why}",
                      "landmark")
        return box

    def find_banner(self) -> None:
        candidates = []
        el = self.main
        while el is not None and el is not self.body:
            for sibling in el.itersiblings(preceding=True):
                if isinstance(sibling.tag, str) and self.visible(sibling) and self.m[sibling].content \
                        and not self.is_landmark(sibling) and not self.holds_landmark(sibling, TOP_LEVEL_ROLES):
                    candidates.append(sibling)
            el = el.getparent()
        candidates.sort(key=self.order)
        best, best_score = None, 0
        for candidate in candidates:
            score = 0
            if _hinted(candidate, _HEADER_WORDS):
                score += 3
            if any(_LOGO.search(" ".join(((i.get("src") or "").rsplit("/", 1)[-1], i.get("class") or "",
                                          i.get("id") or ""))) for i in candidate.iter("img")) \
                    or any(_LOGO.search(" ".join((e.get("class") or "", e.get("id") or "")))
                           for e in candidate.iter() if isinstance(e.tag, str)):
                score += 2
            if self.holds_landmark(candidate, {"search"}):
                score += 1
            if score > best_score:
                best, best_score = candidate, score
        if best is not None:
            self.place(self.lift(best) if not self.holds_landmark(best) else best, "banner", None,
                       "the header block before main (logo, header class, search)")

    # --- everything else inside some landmark ---

    def cover(self, container) -> None:
        """Give every block of container that shows something and sits outside all landmarks a landmark.
        Blocks side by side that would each get the same navigation or region (a row of image links, a run
        of small blocks) get one together: 10,000 landmarks named 导航（2）…（10000） help no one.
        (A stack of steps rather than recursion: pages nest their blocks thousands deep.)"""
        stack = [self.cover_steps(container)]
        while stack:
            inner = next(stack[-1], None)
            if inner is None:
                stack.pop()
            else:
                stack.append(self.cover_steps(inner))

    def cover_steps(self, container):
        """cover() on one container; yields each block inside it that is to be covered before it goes on."""
        takes_text = tag_of(container) not in _NO_TEXT_BOXES
        if takes_text and container is not self.body and chars(container.text):
            yield from self.leftover(wrap_text(container, -1), text_only=True)
        row = _Row()
        for child in list(container):
            element = isinstance(child.tag, str)
            if element and (self.is_landmark(child) or child in self.carriers
                            or child.get("class") == "a11y-proxy-skip"):  # a skip link comes before all landmarks
                yield from self.place_row(row)
            elif not element or not self.visible(child):
                row.between.append(child)  # shows nothing: inside a row if blocks follow it
            elif self.holds_landmark(child):
                yield from self.place_row(row)
                yield child
            elif not self.m[child].content:
                row.between.append(child)
            else:
                yield from self.leftover_block(child, row)
            if chars(child.tail) and takes_text:
                box = wrap_tail(child)  # first: the row's box must not take this text along
                yield from self.place_row(row)
                yield from self.leftover(box, text_only=True)
        yield from self.place_row(row)

    def leftover_block(self, el, row: "_Row") -> list:
        """A block outside every landmark: a small one joins the row when it would get the same navigation
        or region, else the row gets its landmark and this block starts the next row (or gets its own
        landmark now).  (Large blocks keep a landmark each, as they always had.)  Returns what is left to
        cover (see place_leftover)."""
        kind = self.leftover_kind(el)
        in_row = kind is not None and kind[0] in _ROW_ROLES and self.size(el) <= _ROW_BLOCK_SIZE and can_wrap(el)
        if in_row and row.joins(kind):
            row.add(el, kind)
            return []
        left = self.place_row(row)
        if in_row:
            row.add(el, kind)
        elif kind is not None:  # (None: a dialog or live region, not expected inside landmarks)
            left += self.place_leftover(el, kind)
        return left

    def place_row(self, row: "_Row") -> list:
        """The row's blocks get their landmark: one block as it would alone, several on a box around them."""
        blocks, kind = row.blocks, row.kind
        row.clear()
        if len(blocks) == 1:
            return self.place_leftover(blocks[0], kind)
        if blocks:
            role, label, why = kind
            self.place(wrap(blocks), role, label, f"{why} (blocks side by side, one landmark)")
        return []

    def zone(self, el) -> str:
        if self.main is None:
            return "middle"
        main_start, main_end = self.main_span
        position = self.order(el)
        if position < main_start:
            return "top"
        if position > main_end:
            return "bottom"
        return "middle"

    def leftover(self, el, text_only: bool = False) -> list:
        kind = self.leftover_kind(el, text_only)
        return self.place_leftover(el, kind) if kind is not None else []

    def leftover_kind(self, el, text_only: bool = False) -> tuple[str, str | None, str] | None:
        """(role, label, why) for a block outside every landmark, or None for one that stays outside."""
        if explicit_role(el) in _LIVE_ROLES:
            return None  # dialogs and live regions are not expected inside landmarks
        zone = self.zone(el)
        if text_only:
            return "region", self.zone_name(zone), "text outside every landmark"
        return self.classify(el, self.m[el], zone, self.roles())

    def place_leftover(self, el, kind: tuple[str, str | None, str]) -> list:
        """Place the leftover's landmark; returns [el] when it cannot take one (a list item or table row: its
        children are to be covered one by one instead), else []."""
        return [el] if self.place(el, *kind) is None else []

    def classify(self, el, stat, zone: str, roles: set[str]) -> tuple[str, str | None, str]:
        link_share = stat.link_text / stat.text if stat.text else (1.0 if stat.links else 0.0)
        if (tag_of(el) == "form" or stat.text <= 60) and any(
                (i.get("type") or "text").lower() in ("text", "search") for i in el.iter("input")) \
                and self.searchy(el):  # (the field first: searchy reads every input, link and image inside)
            return "search", None, "a search field"
        if zone == "top" and "banner" not in roles and (link_share < 0.7 or stat.media):
            return "banner", None, "the first block before main"
        if zone == "bottom" and "contentinfo" not in roles and (footer_line(text_of(el, 400))
                                                                or _hinted(el, _FOOTER_WORDS)):
            return "contentinfo", None, "footer block after main"
        if stat.links >= 2 and link_share >= 0.6 or stat.links and not stat.text:
            kind = self.nav_kind(el)
            return "navigation", kind if kind and kind != "导航" else (self.heading_label(el) or "导航"), \
                "mostly links"
        if zone == "bottom" and "contentinfo" not in roles:
            return "contentinfo", None, "the block after main"
        if tag_of(el) == "form":
            return "form", self.heading_label(el) or ("登录" if any(
                (i.get("type") or "").lower() == "password" for i in el.iter("input")) else "表单"), "a form"
        frames = [f for f in el.iter("iframe", "frame")]
        if frames and not stat.text:
            return "region", squash(frames[0].get("title")) or "内嵌页面", "a frame outside every landmark"
        return "region", self.heading_label(el) or self.zone_name(zone), "content outside every landmark"

    @staticmethod
    def zone_name(zone: str) -> str:
        return {"top": "页面顶部", "bottom": "页面底部"}.get(zone, "其他内容")

    def heading_label(self, el) -> str | None:
        """A name for el from inside it: its first heading of 2-20 characters, else the first element below it
        whose class or id says title (tit, hd, bt...) with 2-12 characters."""
        if self._first_heading is None:
            # One numbering for both: the subtree ranges they ask for are the same.
            if MEASURING is not None:  # (the numbering and the elements with a class or id, in one C walk)
                order, titled, positions = MEASURING.number(self.body, ("class", "id"))
                numbering = _Numbering(self.body, order)
            else:
                numbering, titled, positions = _Numbering(self.body), _WITH_CLASS_OR_ID(self.body), None
            self._first_heading = _FirstInside(numbering, self.body.iter(*HEADINGS), _heading_name)
            self._first_titled = _FirstInside(numbering, titled, _titled_name, positions)
        heading = self._first_heading(el)
        if heading is not None:
            return text_of(heading, 30)
        titled = self._first_titled.below(el)
        return text_of(titled, 30) if titled is not None else None

    def unique_names(self) -> None:
        """Every landmark role/name pair once (axe landmark-unique): name the unnamed, number repeats."""
        by_role: dict[str, list] = {}
        for el, role in find_landmarks(self.body):
            if self.visible(el) or el in self.carriers:
                by_role.setdefault(role, []).append(el)
        for role, elements in by_role.items():
            if len(elements) < 2:
                continue
            used: set[str] = set()
            numbers: dict[str, int] = {}  # per name, the next number to try (those below it are taken)
            for el in elements:
                name = squash(el.get("aria-label") or el.get("title"))
                if not name and el.get("aria-labelledby"):
                    continue  # named by reference: leave it
                base = name or self.heading_label(el) or _DEFAULT_NAMES.get(role, role)
                candidate = base
                if candidate in used:
                    n = numbers.get(base, 2)
                    while (candidate := f"{base}（{n}）") in used:
                        n += 1
                    numbers[base] = n + 1
                used.add(candidate)
                if candidate != name:
                    el.set("aria-label", candidate)
                    self.log.mark(el, f"named “{candidate}” (landmark names must differ)", heuristic("landmarks"))
