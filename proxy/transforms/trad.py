"""Traditional script (the `trad` mode): OpenCC phrase conversion that markup cannot break.

Character-table toolbars and node-by-node converters turn ``<a>心理</a>发展`` into 心理髮展, because
neither half alone shows the phrase 发展.  Here each run of text that a reader sees as one piece (a
block's text with its inline descendants) is converted as one string, and the result is mapped back
onto the text nodes it came from.  All runs of a page go to OpenCC in one batched call.

Mapping back: most conversions keep the length, so each node takes the same span of the output.
Where a conversion changes length (s2twp: U盘 -> 隨身碟), node boundaries are found by converting
the text before and after each boundary; a phrase that straddles a boundary goes whole to one node.
Either way the visible text is exactly OpenCC's on the plain text, and the tree keeps its shape.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from ..convert import LANG_TAGS, get_converter
from ..document import Document
from ..modes import Modes
from ..pipeline import Page

# Elements whose boundaries end a run of text (a phrase cannot continue across them in rendering).
BLOCK_TAGS = frozenset("""
address article aside blockquote body br button caption center col colgroup dd details dialog dir div dl dt
fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe img
input legend li main menu nav noscript object ol optgroup option p pre section select summary table tbody td
tfoot th thead title tr ul video audio canvas map area marquee center
""".split())
# Never converted: code, program text, things submitted back to the server, and embedded languages.
SKIP_TAGS = frozenset("script style code kbd samp textarea template svg math xmp plaintext var".split())
_CODE_CLASS = re.compile(r"\b(code|highlight|lang(uage)?-|brush|prettyprint|hljs)", re.I)
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_CHINESE_LANG = re.compile(r"^(zh|cmn|yue|wuu|hak|nan|gan|hsn|cdo|cjy)(-|$)", re.I)
_SIMPLIFIED_LANG = re.compile(r"^(zh|cmn)(-(cn|sg|my|hans(-\w+)?))?$", re.I)

# Human-readable attributes (URLs and submitted values are never touched).
TEXT_ATTRIBUTES = ("title", "alt", "placeholder", "aria-label", "aria-description", "aria-roledescription",
                   "aria-valuetext", "summary", "label", "abbr")
_META_NAMES = {"description", "keywords", "og:title", "og:description", "twitter:title", "twitter:description",
               "application-name", "apple-mobile-web-app-title"}

DEFAULT_NOTICE = "本页由简体中文自动转换为繁体中文，仅供参考，内容以简体原文为准。"
NOTICE_CLASS = "a11y-proxy-trad-notice"
SKIP_MARK = "data-a11y-skip-trad"  # set by rules (skip_trad) and by the proxy's own markup


@dataclass(slots=True)
class Slot:
    """One piece of text in the tree: an element's .text or .tail, or an attribute value."""

    element: etree._Element
    where: str  # "text", "tail", or an attribute name
    value: str

    def write(self, value: str) -> None:
        if value == self.value:
            return
        if self.where == "text":
            self.element.text = value
        elif self.where == "tail":
            self.element.tail = value
        else:
            self.element.set(self.where, value)


# Candidates for skipping, found in one XPath pass (C speed) instead of probing every element in Python.
# Found with C-level iteration and simple XPaths, one per attribute: no per-element Python probing, and no
# union expressions (libxml2 sorts a union's node-set, which costs more than the search itself).
_SKIP_TAG_LIST = tuple(sorted(SKIP_TAGS)) + ("pre",)
_SKIP_ATTRIBUTES = etree.XPath(f"//*[@translate or @{SKIP_MARK} or @lang]")


def skipped_elements(root: etree._Element, rule_skips: set) -> set:
    """Every element whose subtree is never converted."""
    skipped = set(rule_skips)
    candidates = list(root.iter(*_SKIP_TAG_LIST))
    candidates.extend(_SKIP_ATTRIBUTES(root))
    for element in candidates:
        tag = element.tag
        if tag in SKIP_TAGS or element.get(SKIP_MARK) is not None:
            skipped.add(element)
        elif (element.get("translate") or "").lower() == "no":
            skipped.add(element)
        elif tag == "pre":
            if _CODE_CLASS.search(element.get("class", "")) or element.find("code") is not None:
                skipped.add(element)
        else:
            lang = (element.get("lang") or "").strip()
            # Non-Chinese parts are left alone; <html lang> is often wrong on portals, so it is ignored.
            if lang and tag not in ("html", "body") and not _CHINESE_LANG.match(lang):
                skipped.add(element)
    return skipped


def collect_runs(root: etree._Element, skipped: set) -> list[list[Slot]]:
    """Runs of text, in document order: each run is what a reader sees as one continuous piece."""
    runs: list[list[tuple]] = []
    current: list[tuple] = []
    blocks = BLOCK_TAGS
    # The hot loop of the trad mode: plain tuples, each property read once, no calls that can be avoided.
    walker = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, element in walker:
        if event == "start":
            if element in skipped:
                if current:
                    runs.append(current)
                    current = []
                walker.skip_subtree()
                continue  # iterwalk still sends this element's "end"
            if current and element.tag in blocks:
                runs.append(current)
                current = []
            text = element.text
            if text:
                current.append((element, "text", text))
        elif event == "end":
            if current and (element.tag in blocks or element in skipped):
                runs.append(current)
                current = []
            tail = element.tail
            if tail:
                current.append((element, "tail", tail))
        else:  # comments and processing instructions: invisible, no break in the text; their tail is text
            tail = element.tail
            if tail:
                current.append((element, "tail", tail))
    if current:
        runs.append(current)
    han = HAN.search
    return [[Slot(*piece) for piece in run] for run in runs if any(han(piece[2]) for piece in run)]


_WITH_TEXT_ATTRIBUTES = etree.XPath("//*[" + " or ".join(f"@{name}" for name in TEXT_ATTRIBUTES) + "]")
_META_CONTENT = etree.XPath("//meta[@content]")
_BUTTON_VALUES = etree.XPath("//input[@value]")


def collect_attributes(root: etree._Element, skipped: set) -> list[Slot]:
    slots = []
    han = HAN.search
    for element in _WITH_TEXT_ATTRIBUTES(root):
        for name in TEXT_ATTRIBUTES:
            value = element.get(name)
            if value and han(value):
                slots.append(Slot(element, name, value))
    for meta in _META_CONTENT(root):
        name = (meta.get("name") or meta.get("property") or "").lower()
        if name in _META_NAMES and han(meta.get("content")):
            slots.append(Slot(meta, "content", meta.get("content")))
    for element in _BUTTON_VALUES(root):
        kind = (element.get("type") or "").lower()
        # A named submit button's value goes to the server: leave those as the server expects them.
        if kind in ("button", "reset") or (kind == "submit" and not element.get("name")):
            if han(element.get("value")):
                slots.append(Slot(element, "value", element.get("value")))
    if not skipped:
        return slots
    return [slot for slot in slots if not _inside(slot.element, skipped)]


def _inside(element: etree._Element, skipped: set) -> bool:
    if element in skipped:
        return True
    return any(ancestor in skipped for ancestor in element.iterancestors())


def map_back(converter, run: list[Slot], converted: str) -> list[str]:
    """Split a run's converted text into one string per slot (see the module docstring)."""
    sources = [slot.value for slot in run]
    total = sum(map(len, sources))
    if len(converted) == total:
        out, start = [], 0
        for source in sources:
            out.append(converted[start:start + len(source)])
            start += len(source)
        return out
    # Length changed: locate each boundary by converting the text before it and the text after it; the
    # output between those two points is a phrase straddling the boundary (rare; two calls per boundary).
    whole = "".join(sources)
    out, taken, offset = [], 0, 0
    for source in sources[:-1]:
        offset += len(source)
        before = _common_prefix(converter.convert(whole[:offset]), converted)
        after = len(converted) - _common_suffix(converter.convert(whole[offset:]), converted)
        before, after = max(before, taken), max(after, taken)
        # The straddling phrase goes to the earlier node, unless that node would otherwise keep text of
        # its own: so no node that had text ends up empty where it can be helped (an empty link is unnamed).
        boundary = before if converted[taken:before].strip() else max(before, min(after, len(converted)))
        out.append(converted[taken:boundary])
        taken = boundary
    out.append(converted[taken:])
    return out


def _common_suffix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[-1 - i] == b[-1 - i]:
        i += 1
    return i


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def convert_tree(root: etree._Element, converter, rule_skips: set) -> int:
    """Convert every run and readable attribute under root; returns the number of characters sent to OpenCC."""
    skipped = skipped_elements(root, rule_skips)
    runs = collect_runs(root, skipped)
    attributes = collect_attributes(root, skipped)
    texts = ["".join(slot.value for slot in run) for run in runs] + [slot.value for slot in attributes]
    converted = converter.convert_many(texts)
    for run, text in zip(runs, converted):
        for slot, value in zip(run, map_back(converter, run, text)):
            slot.write(value)
    for slot, text in zip(attributes, converted[len(runs):]):
        slot.write(text)
    return sum(map(len, texts))


def _protect_option_values(root: etree._Element) -> None:
    """An <option> without value submits its text: keep submitting the original Simplified text."""
    for option in root.iter("option"):
        if option.get("value") is None and option.text and HAN.search(option.text):
            option.set("value", "".join(option.itertext()))


_WITH_LANG = etree.XPath("//*[@lang or @*[name()='xml:lang']]")


def _set_languages(root: etree._Element, config: str) -> None:
    tag = LANG_TAGS.get(config, "zh-Hant")
    root.set("lang", tag)
    if root.get("xml:lang") is not None:
        root.set("xml:lang", tag)
    for element in _WITH_LANG(root):
        for attribute in ("lang", "xml:lang"):
            value = element.get(attribute)
            if value and _SIMPLIFIED_LANG.match(value.strip()):
                element.set(attribute, tag)


class TraditionalScript:
    name = "trad"

    def enabled(self, modes: Modes) -> bool:
        return modes.trad is not None

    def apply(self, doc: Document, page: Page) -> None:
        config = page.trad_config
        options = page.rules.trad
        converter = get_converter(config, tuple(sorted(options.phrases.items())))
        skip = {element for rule in options.skip for element in rule.xpath(doc.root)}
        _protect_option_values(doc.root)
        self._insert_notice(doc, options.notice)
        convert_tree(doc.root, converter, skip)
        _set_languages(doc.root, config)

    @staticmethod
    def _insert_notice(doc: Document, text: str | None) -> None:
        """Machine conversion is a service, not the record: say so, as Hong Kong government sites do."""
        if text == "":
            return
        notice = etree.Element("p", {"class": NOTICE_CLASS, "role": "note"})
        notice.text = text or DEFAULT_NOTICE
        style = ("margin:0;padding:4px 8px;font-size:14px;line-height:1.5;background:#fff8e1;color:#3d3000;"
                 "border-bottom:1px solid #d9c27a;text-align:center")
        notice.set("style", style)
        doc.body.insert(0, notice)
