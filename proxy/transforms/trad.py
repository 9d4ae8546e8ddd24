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
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
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


@dataclass
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


def _is_skipped(element: etree._Element, skip: set) -> bool:
    tag = element.tag
    if tag in SKIP_TAGS or element in skip:
        return True
    if element.get("translate", "").lower() == "no" or element.get(SKIP_MARK) is not None:
        return True
    lang = element.get("lang")
    if lang and tag not in ("html", "body") and not _CHINESE_LANG.match(lang.strip()):
        return True  # English or other non-Chinese parts (<html lang> is often wrong on portals; ignored)
    if tag == "pre" and (_CODE_CLASS.search(element.get("class", "")) or element.find("code") is not None):
        return True
    return False


def collect_runs(root: etree._Element, skip: set) -> list[list[Slot]]:
    """Runs of text, in document order: each run is what a reader sees as one continuous piece."""
    runs: list[list[Slot]] = []
    current: list[Slot] = []

    def end_run() -> None:
        nonlocal current
        if current:
            runs.append(current)
            current = []

    walker = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, element in walker:
        tag = element.tag
        if event in ("comment", "pi"):  # invisible, and no break in the text; but their tail is text
            if element.tail:
                current.append(Slot(element, "tail", element.tail))
            continue
        if event == "start":
            if _is_skipped(element, skip):
                end_run()
                walker.skip_subtree()
                continue  # iterwalk still sends this element's "end"
            if tag in BLOCK_TAGS:
                end_run()
            if element.text:
                current.append(Slot(element, "text", element.text))
        else:
            if tag in BLOCK_TAGS or _is_skipped(element, skip):
                end_run()
            if element.tail:
                current.append(Slot(element, "tail", element.tail))
    end_run()
    return [run for run in runs if any(_HAN.search(slot.value) for slot in run)]


def collect_attributes(root: etree._Element, skip: set) -> list[Slot]:
    slots = []
    for element in root.iter(tag=etree.Element):
        if not isinstance(element.tag, str):
            continue
        if element.tag == "meta":
            name = (element.get("name") or element.get("property") or "").lower()
            if name in _META_NAMES and element.get("content"):
                slots.append(Slot(element, "content", element.get("content")))
            continue
        for attribute in TEXT_ATTRIBUTES:
            value = element.get(attribute)
            if value and _HAN.search(value):
                slots.append(Slot(element, attribute, value))
        if element.tag == "input" and (element.get("type") or "").lower() in ("button", "submit", "reset"):
            # A named submit button's value goes to the server: leave those as the server expects them.
            value = element.get("value")
            if value and _HAN.search(value) and (element.get("type").lower() != "submit" or not element.get("name")):
                slots.append(Slot(element, "value", value))
    return [slot for slot in slots if not any(_is_skipped(a, skip) for a in _self_and_ancestors(slot.element))]


def _self_and_ancestors(element: etree._Element):
    while element is not None:
        if element.tag not in ("html", "body", "head"):
            yield element
        element = element.getparent()


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


def convert_tree(root: etree._Element, converter, skip: set) -> int:
    """Convert every run and readable attribute under root; returns the number of characters sent to OpenCC."""
    runs = collect_runs(root, skip)
    attributes = collect_attributes(root, skip)
    texts = ["".join(slot.value for slot in run) for run in runs] + [slot.value for slot in attributes]
    converted = converter.convert_many(texts)
    for run, text in zip(runs, converted):
        for slot, value in zip(run, map_back(converter, run, text)):
            slot.write(value)
    for slot, text in zip(attributes, converted[len(runs):]):
        slot.write(text)
    # An <option> without value submits its text: keep submitting the original Simplified text.
    return sum(map(len, texts))


def _protect_option_values(root: etree._Element) -> None:
    for option in root.iter("option"):
        if option.get("value") is None and option.text and _HAN.search(option.text):
            option.set("value", "".join(option.itertext()))


def _set_languages(root: etree._Element, config: str) -> None:
    tag = LANG_TAGS.get(config, "zh-Hant")
    root.set("lang", tag)
    if root.get("xml:lang") is not None:
        root.set("xml:lang", tag)
    for element in root.iter():
        if element is root or not isinstance(element.tag, str):
            continue
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
