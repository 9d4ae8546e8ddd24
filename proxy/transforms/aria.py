"""What the screen-reader repairs share: ARIA-in-HTML knowledge, text measurement, and the repair log.

Nothing here changes a page by itself.  The repair transforms (``ruleactions``, ``pagefixes``, ``tables``,
``names``, ``landmarks``, ``skiplink``) use it to decide what an element already means to assistive
technology, whether a role may be put on it without conflicting with its native semantics, how much
(link) text it holds, and to record every repair with the rule (``file:line``) or heuristic that made it,
for the debug view.
"""
from __future__ import annotations

import os
import re
from itertools import accumulate
from operator import sub
from typing import Iterator

from lxml import etree

from ..modes import Modes
from ..pipeline import Stateless

# The compiled measuring walk (_measure.c), built by `pip install` where a C compiler is present;
# measure_in_python is the reference and the fallback.  A11Y_PROXY_NO_EXTENSIONS=1 turns it off.
ACCELERATOR = None
if not os.environ.get("A11Y_PROXY_NO_EXTENSIONS"):
    try:
        from . import _measure as ACCELERATOR
    except ImportError:
        pass

# --- ARIA and HTML semantics --------------------------------------------------------------------------

LANDMARK_ROLES = frozenset({"banner", "navigation", "main", "complementary", "contentinfo", "search", "region",
                            "form"})
# Landmarks ARIA allows only at the top level (never inside another landmark), and at most once each
# (complementary may repeat).
TOP_LEVEL_ROLES = frozenset({"banner", "main", "contentinfo", "complementary"})
SINGLE_ROLES = ("banner", "main", "contentinfo")

# Elements that take any role (ARIA in HTML, as axe-core's aria-allowed-role checks it).  Table parts are
# listed because a layout table's cells are generic once the table is role=presentation.
_ANY_ROLE = frozenset({
    "div", "span", "p", "table", "tbody", "thead", "tfoot", "tr", "td", "th", "center", "font", "b", "i", "u",
    "s", "strike", "big", "small", "strong", "em", "address", "blockquote", "pre", "tt", "code", "cite", "q",
    "sub", "sup", "mark", "ins", "del", "abbr", "dfn", "kbd", "samp", "var", "bdi", "bdo", "time", "data",
    "nobr", "marquee",
})
_SOME_ROLES = {
    "section": frozenset({"banner", "complementary", "contentinfo", "main", "navigation", "search", "none",
                          "presentation", "alert", "dialog", "group", "note", "status"}),
    "article": frozenset({"main", "region", "none", "presentation", "document", "application", "feed"}),
    "aside": frozenset({"region", "search", "none", "presentation", "note", "feed"}),
    "form": frozenset({"search", "none", "presentation", "form"}),
    "header": frozenset({"none", "presentation", "group"}),
    "footer": frozenset({"none", "presentation", "group"}),
    "nav": frozenset({"none", "presentation"}),
    "ul": frozenset({"none", "presentation", "group", "menu", "menubar", "tablist", "toolbar", "tree", "listbox",
                     "directory", "radiogroup"}),
    "ol": frozenset({"none", "presentation", "group", "menu", "menubar", "tablist", "toolbar", "tree", "listbox",
                     "directory", "radiogroup"}),
    "li": frozenset({"none", "presentation", "menuitem", "option", "tab", "treeitem", "separator", "radio"}),
    "dl": frozenset({"group", "list", "none", "presentation"}),
    "dt": frozenset({"listitem"}),
    "fieldset": frozenset({"none", "presentation", "radiogroup"}),
    "iframe": frozenset({"application", "document", "img", "none", "presentation"}),
    "h1": frozenset({"none", "presentation", "tab"}),
}
for _h in ("h2", "h3", "h4", "h5", "h6"):
    _SOME_ROLES[_h] = _SOME_ROLES["h1"]

_TABLE_PARTS = frozenset({"tbody", "thead", "tfoot", "tr", "td", "th"})
# Parents inside which a wrapper box cannot go: the parser would move it, or the list/table would break.
_NO_WRAP_PARENTS = frozenset({"table", "tbody", "thead", "tfoot", "tr", "ul", "ol", "dl", "select", "colgroup",
                              "optgroup", "menu", "html", "head", "frameset"})

# Native landmark elements and their role (header/footer/aside only when not scoped, see implicit_role).
_NATIVE = {"header": "banner", "footer": "contentinfo", "nav": "navigation", "main": "main",
           "aside": "complementary", "section": "region", "form": "form"}
# An ancestor that scopes <header>/<footer> to itself, as browsers and axe-core compute it.
_SCOPING_TAGS = frozenset({"article", "aside", "main", "nav", "section"})
_SCOPING_ROLES = frozenset({"article", "complementary", "main", "navigation", "region"})
# Roles that are "just a box": a repair may replace them (a layout table's presentation role).
GENERIC_ROLES = frozenset({"", "none", "presentation", "generic"})
KNOWN_ROLES = frozenset({
    "alert", "alertdialog", "application", "article", "banner", "blockquote", "button", "caption", "cell",
    "checkbox", "code", "columnheader", "combobox", "complementary", "contentinfo", "definition", "deletion",
    "dialog", "directory", "document", "emphasis", "feed", "figure", "form", "generic", "grid", "gridcell",
    "group", "heading", "img", "image", "insertion", "link", "list", "listbox", "listitem", "log", "main",
    "marquee", "math", "menu", "menubar", "menuitem", "menuitemcheckbox", "menuitemradio", "meter", "navigation",
    "none", "note", "option", "paragraph", "presentation", "progressbar", "radio", "radiogroup", "region", "row",
    "rowgroup", "rowheader", "scrollbar", "search", "searchbox", "separator", "slider", "spinbutton", "status",
    "strong", "subscript", "superscript", "switch", "tab", "table", "tablist", "tabpanel", "term", "textbox",
    "time", "timer", "toolbar", "tooltip", "tree", "treegrid", "treeitem",
})
# Phrasing parents: a wrapper inserted inside them must be a <span>, or the browser's parser would
# close the parent (a <div> inside <p> ends the paragraph).
PHRASING = frozenset({"p", "span", "a", "font", "b", "i", "u", "s", "strong", "em", "small", "big", "label",
                      "h1", "h2", "h3", "h4", "h5", "h6", "sub", "sup", "cite", "q", "abbr", "code", "nobr",
                      "tt", "strike", "button", "dt", "caption", "legend", "pre"})
_NOT_RENDERED = frozenset({"script", "style", "noscript", "template", "head", "title", "meta", "link", "base",
                           "param", "source", "track", "datalist"})
# Elements that count as content even without text (axe-core's "visual content").
_MEDIA = frozenset({"img", "iframe", "frame", "object", "embed", "video", "audio", "canvas", "svg", "input",
                    "select", "textarea", "button", "progress", "meter"})
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_COUNTED = _MEDIA | {"a", "area"}  # (Measure: the tags whose elements count as a link or a medium)


def tag_of(el) -> str:
    """The element's tag ('' for comments and processing instructions); the HTML parser lowercases tags."""
    tag = el.tag
    return tag if isinstance(tag, str) else ""


def explicit_role(el) -> str:
    """The first role token a browser would use ('' when none)."""
    raw = el.get("role")
    if not raw:
        return ""
    for token in raw.lower().split():
        if token in KNOWN_ROLES:
            return token
    return ""


# HTML's rules for parsing integers (https://html.spec.whatwg.org/#rules-for-parsing-integers): ASCII
# whitespace, an optional sign, ASCII digits; whatever follows the digits is ignored ("2px" is 2, "1.5" is 1).
_HTML_INTEGER = re.compile(r"[\t\n\f\r ]*([+-]?)0*([0-9]+)")
_INT_RANGE = range(-2 ** 31, 2 ** 31)  # (a value past a 32-bit int is no value to Chromium: checked in the tests)


def tabindex_of(value: str | None) -> int | None:
    """The tab index a browser reads from a tabindex attribute's value; None where it reads none (the element
    then keeps its default focus behaviour).  The skip link and the toolbar go first in the focus order
    exactly when this is positive for some element of the page."""
    match = _HTML_INTEGER.match(value) if value else None
    if match is None:
        return None
    sign, digits = match.groups()
    if len(digits) > 10:  # (out of range; and int() refuses strings of over 4,300 digits)
        return None
    number = -int(digits) if sign == "-" else int(digits)
    return number if number in _INT_RANGE else None


def has_name(el) -> bool:
    return bool((el.get("aria-label") or "").strip() or (el.get("aria-labelledby") or "").strip()
                or (el.get("title") or "").strip())


def _scoped(el) -> bool:
    for ancestor in el.iterancestors():
        role = explicit_role(ancestor)
        if role in _SCOPING_ROLES or (not role and tag_of(ancestor) in _SCOPING_TAGS):
            return True
    return False


def implicit_role(el) -> str:
    tag = tag_of(el)
    native = _NATIVE.get(tag)
    if native is None:
        return ""
    if tag in ("header", "footer"):
        return "" if _scoped(el) else native
    if tag == "aside":
        return native if has_name(el) or not _scoped(el) else ""
    if tag in ("section", "form"):
        return native if has_name(el) else ""
    return native


def role_of(el) -> str:
    return explicit_role(el) or implicit_role(el)


def landmark_of(el) -> str:
    """The landmark role el is exposed with, or ''.  region and form landmarks need a name."""
    role = role_of(el)
    if role in ("region", "form") and not has_name(el):
        return ""
    return role if role in LANDMARK_ROLES else ""


_LANDMARK_TAGS = ("header", "footer", "nav", "main", "aside", "section", "form")
_ROLES = etree.XPath("descendant-or-self::*/@role")


_MAIN_LANDMARKS = etree.XPath("//main | //*/@role[.='main']/..")  # (attribute axis: no predicate on every element)


def main_landmarks(root) -> list:
    """Every <main> and role=main element of root's document, in document order.  One C walk where it was
    built (about a quarter of the XPath's time, which libxml2 answers in two walks), else the XPath."""
    if ACCELERATOR is not None:
        root = root.getroottree().getroot()  # (the XPath's // starts at the document, whatever root is)
        return [el for el in ACCELERATOR.elements_with(root, ("main",), ("role",))
                if el.tag == "main" or el.get("role") == "main"]
    return _MAIN_LANDMARKS(root)

_FEW_LANDMARKS = 200


def find_landmarks(root) -> list[tuple]:
    """Every landmark under root (root included), in document order: [(element, role)]."""
    if ACCELERATOR is not None:  # (one C walk, in document order: no sort)
        ordered = ACCELERATOR.elements_with(root, _LANDMARK_TAGS, ("role",))
        return [(el, role) for el in ordered if (role := landmark_of(el))]
    # Two single passes (a C-level tag filter, an attribute query) and a sort of the few candidates: an
    # XPath union of eight paths walks the tree eight times and took 60 ms on a 2 MB page.
    candidates = dict.fromkeys(root.iter(*_LANDMARK_TAGS))
    candidates.update(dict.fromkeys(value.getparent() for value in _ROLES(root)))
    if len(candidates) <= _FEW_LANDMARKS:
        ordered = sorted(candidates, key=document_position)
    else:  # (each position costs its depth and sibling indexes: with thousands, one pass over the tree is less)
        ordered = [el for el in root.iter() if el in candidates]
    found = []
    for el in ordered:
        role = landmark_of(el)
        if role:
            found.append((el, role))
    return found


def document_position(el) -> list[int]:
    """el's child indexes from the root down: sorting by them puts elements in document order."""
    path = []
    parent = el.getparent()
    while parent is not None:
        path.append(parent.index(el))
        el, parent = parent, parent.getparent()
    path.reverse()
    return path


def role_allowed(el, role: str) -> bool:
    """May `role` be set on el without conflicting with what el natively is?"""
    tag = tag_of(el)
    if tag in _ANY_ROLE:
        if tag == "table" and role not in ("none", "presentation") and is_data_table(el):
            return False  # a data table keeps its table semantics: wrap it instead
        if tag in _TABLE_PARTS:
            table = nearest_table(el)
            return table is not None and explicit_role(table) in ("none", "presentation")
        return True
    allowed = _SOME_ROLES.get(tag)
    return allowed is not None and role in allowed


def is_data_table(table) -> bool:
    """Markup that says 'data table': header cells, a caption, summary, thead/tfoot, headers/scope.

    Only the table's own rows count: a header cell of a table nested inside it says nothing about it.
    """
    if (table.get("summary") or "").strip():
        return True
    for child in table:
        tag = tag_of(child)
        if tag in ("caption", "thead", "tfoot"):
            return True
    for cell in own_parts(table, ("th", "td")):
        if cell.tag == "th" or cell.get("headers") is not None or cell.get("scope") is not None:
            return True
    return False


def nearest_table(el):
    for ancestor in el.iterancestors("table"):
        return ancestor
    return None


def own_parts(table, tags: tuple[str, ...]) -> Iterator:
    """The elements of these tags whose nearest table is `table` (its own rows or cells), in document order.
    Tables nested in it are skipped whole: asking each cell for its nearest table made pages of tables nested
    in tables quadratic."""
    walker = etree.iterwalk(table, events=("start",))
    next(walker)  # the table itself
    for _, el in walker:
        tag = el.tag
        if tag == "table":
            walker.skip_subtree()
        elif tag in tags:
            yield el


# --- visibility and text -----------------------------------------------------------------------------

_DISPLAY_NONE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\s*(?:!\s*important\s*)?(?:;|$)",
                           re.I)
# What does not count as a visible character.  Counted as runs with a regex: str.translate with a deletion
# table looks every character up in a dict (0.88 ms for the 22,700 characters of a 100 KB page's texts, 0.30
# this way).
_WS_RUNS = re.compile("[ \t\n\r\f\v\xa0\u3000\u200b\ufeff]+")
_SPACES = re.compile(r"[\s\u3000\xa0]+")
_ASCII_SPACE = " \t\n\r\f\v"


def hidden(el) -> bool:
    """Hidden from everyone by its own markup (stylesheets are not consulted)."""
    attributes = el.attrib
    if not attributes:
        return False
    if "hidden" in attributes or (attributes.get("aria-hidden") or "").strip().lower() == "true":
        return True
    style = attributes.get("style")
    if style and _DISPLAY_NONE.search(style):
        return True
    return el.tag == "input" and (attributes.get("type") or "").strip().lower() == "hidden"


def chars(text: str | None) -> int:
    """Visible characters of a text (whitespace does not count)."""
    if not text or not text.strip(_ASCII_SPACE):  # (most tails are line breaks and indents)
        return 0
    return len(text) - sum(map(len, _WS_RUNS.findall(text)))


def squash(text: str | None) -> str:
    return _SPACES.sub(" ", text or "").strip()


# Between a page's own title and the site's name in <title>: '文章标题_示范市人民政府', 'A | B', 'A - B'.
_TITLE_SEPARATORS = re.compile(r"\s*(?:[_|｜—–]+|\s-\s|--+|－)\s*")


def title_parts(root) -> list[str]:
    """The parts of the page's <title>, split where portals join the page's title and the site's name."""
    title = root.find("head/title")
    return [part for part in _TITLE_SEPARATORS.split(squash(title.text if title is not None else "")) if part]


def text_of(el, limit: int = 200) -> str:
    """The rendered-ish text of el (scripts, styles and hidden parts left out), whitespace squashed.  The walk
    stops once it has twice the limit in visible characters (in C where it was built: text_of_in_python)."""
    if ACCELERATOR is not None and el.tag.__class__ is str:
        return squash(ACCELERATOR.text_of(el, limit, hidden))[:limit]
    return text_of_in_python(el, limit)


def text_of_in_python(el, limit: int = 200) -> str:
    """text_of, the reference (tests/test_measure.py holds _measure.c to it): a stack, not recursion, as
    pages nest deep."""
    parts: list[str] = []
    size = 0
    if el.text and tag_of(el) not in _NOT_RENDERED:
        parts.append(el.text)
        size += chars(el.text)
    stack = [(iter(el), None)]  # children left to read, and the element whose tail follows them
    while stack and size <= limit * 2:
        children, owner = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if owner is not None and owner.tail:
                parts.append(owner.tail)
                size += chars(owner.tail)
        elif isinstance(child.tag, str) and child.tag not in _NOT_RENDERED and not hidden(child):
            if child.tag == "img" and (child.get("alt") or "").strip():
                parts.append(child.get("alt"))
            if child.text:
                parts.append(child.text)
                size += chars(child.text)
            stack.append((iter(child), child))  # its children next, then its tail
        elif child.tail:
            parts.append(child.tail)
            size += chars(child.tail)
    return squash("".join(parts))[:limit]


class Stat:
    """What a subtree holds: visible characters, how many of them are link text, links, media."""

    __slots__ = ("text", "link_text", "links", "media", "frames")

    def __init__(self, text: int = 0, link_text: int = 0, links: int = 0, media: int = 0, frames: int = 0):
        self.text = text
        self.link_text = link_text
        self.links = links
        self.media = media  # images with a name (or none yet), form fields, frames, video...
        self.frames = frames

    @property
    def content(self) -> bool:
        return self.text > 0 or self.media > 0

    @property
    def weight(self) -> float:
        """How much reading matter: link text counts a quarter (menus and link lists are not the content)."""
        return (self.text - self.link_text) + 0.25 * self.link_text


_EMPTY = Stat()


# Elements that hidden() could find hidden by their own markup (the attributes and the one tag it reads).
_MAY_HIDE = etree.XPath("descendant-or-self::*/@style/.. | descendant-or-self::*/@hidden/.. | "
                        "descendant-or-self::*/@aria-hidden/.. | descendant-or-self::input")


class Measure:
    """Per-element statistics of the visible parts of a tree (hidden and non-rendered subtrees left out),
    computed in one walk: ``order`` (element -> document order), ``sequence`` (elements in order), ``end``
    (element -> order of its last descendant), ``m[el]`` (a Stat), and subtree totals by document order
    (``text``, ``link_text``, ``links``, ``media``, ``frames``).

    The walk is measure_in_python's, or the same walk in C (_measure.c) where it was built: the landmark
    repairs' largest single cost on a page, and nothing but counting.  A Stat is made only for an element
    asked about."""

    def __init__(self, root):
        (self.sequence, self.order, self.end, self.through, self.text, self.link_text, self.links, self.media,
         self.frames) = (ACCELERATOR.measure(root, hidden) if ACCELERATOR is not None else measure_in_python(root))
        self._stats: dict = {}

    def text_through(self, el) -> int:
        """Visible characters from the start of the tree to the end of el."""
        return self.through[self.end[el]]

    def __getitem__(self, el) -> Stat:
        stat = self._stats.get(el)
        if stat is None:
            index = self.order.get(el)
            if index is None:
                return _EMPTY
            stat = self._stats[el] = Stat(self.text[index], self.link_text[index], self.links[index],
                                          self.media[index], self.frames[index])
        return stat

    def weight(self, el) -> float:
        """self[el].weight, without a Stat (the landmark repairs ask it a few hundred times a page)."""
        index = self.order.get(el)
        if index is None:
            return _EMPTY.weight
        link_text = self.link_text[index]
        return (self.text[index] - link_text) + 0.25 * link_text

    def size(self, el) -> int:
        """Visible characters, ten for each medium: what a block shows (landmarks.Segmenter.size)."""
        index = self.order.get(el)
        return 0 if index is None else self.text[index] + 10 * self.media[index]

    def contains(self, outer, inner) -> bool:
        """inner is outer or inside it (both measured)."""
        if outer not in self.order or inner not in self.order:
            return any(a is outer for a in inner.iterancestors()) or inner is outer
        return self.order[outer] <= self.order[inner] <= self.end[outer]


def measure_in_python(root) -> tuple:
    """Measure's walk, the reference (tests/test_measure.py holds _measure.c to it): (sequence, order, end,
    through, text, link_text, links, media, frames), with ``through`` the visible characters up to and
    including each element's own.

    The walk is libxml2's (root.iter(), every node in document order): an element whose parent was not
    measured lies in a hidden subtree.  Subtree totals are differences of running sums over the document
    order (an element's subtree is the run order[el]..end[el]), so nothing is added up in a Python loop per
    element."""
    order: dict = {root: 0}
    sequence: list = [root]
    parents: list[int] = [-1]
    # Visible characters of each element's text and its children's tails (whitespace does not count).
    own: list[int] = [chars(root.text)]
    in_link: list[bool] = [False]
    links: list[int] = []  # the elements (by document order) that are a link, a medium, a frame: few
    media: list[int] = []
    frames: list[int] = []
    # Elements whose own attributes could hide them (one attribute-axis query: most have none to look at).
    may_hide = set(_MAY_HIDE(root))
    get_order, not_rendered, counted = order.get, _NOT_RENDERED, _COUNTED
    nodes = root.iter()  # every node in document order, walked by libxml2 (hidden ones told apart below)
    next(nodes)
    for node in nodes:
        parent_index = get_order(node.getparent())
        if parent_index is None:  # inside a hidden subtree
            continue
        own[parent_index] += chars(node.tail)
        tag = node.tag
        if tag.__class__ is not str:  # a comment or PI: only its tail is text
            continue
        if tag in not_rendered or node in may_hide and hidden(node):
            continue  # its subtree is left out (its nodes have no measured parent)
        index = len(sequence)
        order[node] = index
        sequence.append(node)
        parents.append(parent_index)
        linked = in_link[parent_index]
        if tag in counted:  # (one set lookup for the few tags that count: links, media, frames)
            if tag == "a" or tag == "area":
                if node.get("href") is not None:
                    links.append(index)
                    linked = True
            elif tag == "img":
                alt = node.get("alt")
                if alt is None or alt.strip():
                    media.append(index)
            else:
                media.append(index)
                if tag == "iframe" or tag == "frame":
                    frames.append(index)
        own.append(chars(node.text))
        in_link.append(linked)
    ends = list(range(len(sequence)))  # the last descendant of each: from the last element up
    for index in range(len(sequence) - 1, 0, -1):
        parent_index = parents[index]
        if ends[index] > ends[parent_index]:
            ends[parent_index] = ends[index]
    through = list(accumulate(own))
    before = [0] + through[:-1]  # characters before each element's own

    def totals(values: list[int]) -> list[int]:
        """Each element's subtree total of values: a difference of running sums (C loops, no Python one)."""
        running = list(accumulate(values))
        return list(map(sub, map(running.__getitem__, ends), [0] + running[:-1]))

    def counts(indexes: list[int]) -> list[int]:
        """Each element's subtree count of the given elements."""
        if not indexes:
            return [0] * len(sequence)
        ones = [0] * len(sequence)
        for index in indexes:
            ones[index] = 1
        return totals(ones)

    through_ends = list(map(through.__getitem__, ends))
    return (sequence, order, dict(zip(sequence, ends)), through, list(map(sub, through_ends, before)),
            totals([o if linked else 0 for o, linked in zip(own, in_link)]), counts(links), counts(media),
            counts(frames))


# --- the repair log (for notes and the debug view) -----------------------------------------------------

WHY = "data-a11y-proxy-why"  # debug view only: what was repaired on this element, and by what
KIND = "data-a11y-proxy-kind"  # debug view only: 'landmark' or 'repair'


def describe(el) -> str:
    """A short CSS-like name of an element for notes: div#content.main."""
    if el is None:
        return "?"
    tag = tag_of(el) or "?"
    out = tag
    if el.get("id"):
        out += "#" + el.get("id").strip()
    classes = (el.get("class") or "").split()
    if classes:
        out += "." + ".".join(classes[:2])
    return out


class Repairs:
    """Records what one transform did to a page: a count, problems in page.notes, and (in the debug view)
    the provenance of each repair on the element itself."""

    def __init__(self, page, explain: bool, transform: str):
        self.page = page
        self.explain = explain
        self.transform = transform
        self.count = 0

    def mark(self, el, what: str, source: str, kind: str = "repair") -> None:
        self.count += 1
        if self.explain and el is not None:
            entry = f"{what} ← {source}"
            previous = el.get(WHY)
            el.set(WHY, f"{previous}\n{entry}" if previous else entry)
            if kind == "landmark" or el.get(KIND) != "landmark":
                el.set(KIND, kind)

    def note(self, text: str) -> None:
        """A problem worth telling the rule author (a refused rule action, a selector that matched nothing)."""
        self.page.notes.append(f"{self.transform}: {text}")

    def finish(self) -> None:
        if self.count:
            self.page.notes.append(f"{self.transform}: {self.count} repair(s)")


class RepairTransform(Stateless):
    """Base of the repair transforms: on in every mode; `explaining()` gives the debug view's variant,
    which leaves provenance attributes on each repaired element."""

    name = "repair"

    def __init__(self, explain: bool = False):
        self.explain = explain

    def enabled(self, modes: Modes) -> bool:
        return True

    def explaining(self) -> "RepairTransform":
        return type(self)(explain=True)

    def log(self, page) -> Repairs:
        return Repairs(page, self.explain, self.name)


def heuristic(name: str) -> str:
    return f"heuristic {name}"


# --- small tree edits ----------------------------------------------------------------------------------

def can_wrap(el) -> bool:
    parent = el.getparent()
    return parent is not None and tag_of(parent) not in _NO_WRAP_PARENTS and tag_of(el) not in (
        "li", "dt", "dd", "tr", "td", "th", "tbody", "thead", "tfoot", "option", "body", "html", "head")


def place_landmark(el, role: str, label: str | None = None):
    """Expose el as landmark `role` (named `label`), on el itself when its semantics allow that role,
    else on a display:contents box around it.  Returns the element that carries the role, or None when
    neither is possible (a list item, a table row)."""
    tag = tag_of(el)
    native = _NATIVE.get(tag)
    if native == role and not explicit_role(el) and (tag not in ("header", "footer", "aside") or not _scoped(el)):
        if label and not has_name(el):
            el.set("aria-label", label)
        return el
    if role == "region" and tag == "section" and not explicit_role(el):
        el.set("aria-label", label or "")
        return el
    if explicit_role(el) in GENERIC_ROLES and role_allowed(el, role) and not (
            tag == "table" and is_data_table(el)):
        el.set("role", role)
        if label:
            el.set("aria-label", label)
        return el
    if not can_wrap(el):
        return None
    box = wrap([el])
    box.set("role", role)
    if label:
        box.set("aria-label", label)
    return box


def wrap(elements: list, tag: str = "") -> etree._Element:
    """Put consecutive sibling elements (with their tails) into a new box that does not render
    (display: contents), so a role can be given without touching the elements' own semantics or layout."""
    first = elements[0]
    parent = first.getparent()
    if not tag:
        tag = "span" if tag_of(parent) in PHRASING else "div"
    box = etree.Element(tag)
    box.set("class", "a11y-proxy-box")
    box.set("style", "display:contents")
    first.addprevious(box)  # (not parent.insert(parent.index(first)): index() walks every sibling before)
    # Every node from the first element to the last, comments and processing instructions between them too:
    # leaving one behind would move its tail text after the box, out of reading order.
    run, node, last = [first], first, elements[-1]
    while node is not last:
        node = node.getnext()
        if node is None:  # not consecutive after all: move just the elements given
            run = list(elements)
            break
        run.append(node)
    for el in run:
        box.append(el)  # moves el, with its tail
    return box


def wrap_text(parent, index: int) -> etree._Element | None:
    """Wrap a run of text (parent.text when index == -1, else parent[index].tail) into a display:contents span."""
    if index >= 0:
        return wrap_tail(parent[index])
    box = _text_box()
    box.text, parent.text = parent.text, None
    parent.insert(0, box)
    box.tail = None
    return box


def wrap_tail(owner) -> etree._Element:
    """Wrap the text after owner (its tail) into a display:contents span right after it."""
    box = _text_box()
    box.text, owner.tail = owner.tail, None
    owner.addnext(box)
    return box


def _text_box() -> etree._Element:
    box = etree.Element("span")
    box.set("class", "a11y-proxy-box")
    box.set("style", "display:contents")
    return box


def drop(el, appends: "TextAppends | None" = None) -> None:
    """Remove el from the tree, keeping the text that follows it.  With appends (many drops in a row), that
    text is added to the text before it at appends.flush()."""
    parent = el.getparent()
    if parent is None:
        return
    previous = el.getprevious()
    if appends is not None:
        appends.move(el, "tail", *((parent, "text") if previous is None else (previous, "tail")))
    elif el.tail:
        tail = el.tail
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


class TextAppends:
    """Text to be added at the end of elements' text or tail while many elements are dropped or unwrapped,
    kept aside and joined once (flush).  Dropping thousands of siblings one after another adds each one's
    tail to the same text before them: adding it there at once copied that growing text every time, which
    made pages of many removed blocks quadratic."""

    def __init__(self):
        # (element, "text" or "tail") -> [pieces, visible?]; a piece is a string or another pieces list
        # (what travels with a dropped element's tail is added whole, not copied).
        self.pending: dict = {}

    def move(self, source, source_where: str, target, target_where: str) -> None:
        """Add source's text or tail (and what is pending for it) to the end of target's text or tail."""
        text = getattr(source, source_where)
        moved = self.pending.pop((source, source_where), None)
        if not text and moved is None:
            return
        entry = self.pending.setdefault((target, target_where), [[], False])
        if text:
            entry[0].append(text)
            entry[1] = entry[1] or chars(text) > 0
        if moved is not None:
            entry[0].append(moved[0])
            entry[1] = entry[1] or moved[1]

    def visible(self, el, where: str) -> bool:
        """Does el's text or tail, with what is pending for it, hold a visible character?"""
        entry = self.pending.get((el, where))
        return chars(getattr(el, where)) > 0 or (entry is not None and entry[1])

    def flush(self) -> None:
        for (node, where), (pieces, _) in self.pending.items():
            setattr(node, where, (getattr(node, where) or "") + "".join(_flatten(pieces)))
        self.pending.clear()


def _flatten(pieces: list) -> list[str]:
    """The strings of nested pieces lists, in order (a stack: a chain of moves nests them deep)."""
    out: list[str] = []
    stack = [iter(pieces)]
    while stack:
        piece = next(stack[-1], None)
        if piece is None:
            stack.pop()
        elif isinstance(piece, str):
            out.append(piece)
        else:
            stack.append(iter(piece))
    return out


def iter_elements(root, *tags: str) -> Iterator:
    """Elements of the given tags (of every tag if none), in document order: lxml's iter, which with tag
    names yields only elements, without a Python step per element."""
    return root.iter(*tags) if tags else root.iter(etree.Element)
