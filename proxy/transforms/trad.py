"""Traditional script (the `trad` mode): OpenCC phrase conversion that markup cannot break.

Character-table toolbars and node-by-node converters turn ``<a>心理</a>发展`` into 心理髮展, because
neither half alone shows the phrase 发展.  Here each run of text that a reader sees as one piece (a
block's text with its inline descendants) is converted as one string, and the result is mapped back
onto the text pieces it came from.  All runs and readable attributes of a page go to OpenCC in one
batched call.  The visible text is exactly OpenCC's on the plain text, and the markup keeps its shape.

Two steps.  On the tree (``apply``): the page language, option values kept for submission, the
machine-conversion notice, and comment markers around every subtree that is never converted.  On the
serialized page (``apply_markup``, after every tree transform): the conversion itself, by
``trad_markup.convert_markup``, which finds the runs with a few regex passes instead of a Python walk
over every node (that walk cost several times the OpenCC call on large pages).
"""
from __future__ import annotations

import re

from lxml import etree

from ..convert import LANG_TAGS, get_converter
from ..document import Document, serialize
from ..modes import Modes
from ..pipeline import Page, Stateless
from .trad_markup import COMMENT_LT, RAW_TEXT_TAGS, SKIP_END_TEXT, SKIP_START_TEXT, convert_markup

# Never converted: code, program text, things submitted back to the server, and embedded languages.
# (Raw-text elements such as <script> need no marker: the markup step always passes over them.)
SKIP_TAGS = frozenset("script style code kbd samp textarea template svg math xmp plaintext var".split())
_MARKED_TAGS = tuple(sorted(SKIP_TAGS - set(RAW_TEXT_TAGS))) + ("pre",)
_CODE_CLASS = re.compile(r"\b(code|highlight|lang(uage)?-|brush|prettyprint|hljs)", re.I)
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_CHINESE_LANG = re.compile(r"^(zh|cmn|yue|wuu|hak|nan|gan|hsn|cdo|cjy)(-|$)", re.I)
_SIMPLIFIED_LANG = re.compile(r"^(zh|cmn)(-(cn|sg|my|hans(-\w+)?))?$", re.I)

DEFAULT_NOTICE = "本页由简体中文自动转换为繁体中文，仅供参考，内容以简体原文为准。"
NOTICE_CLASS = "a11y-proxy-trad-notice"
SKIP_MARK = "data-a11y-skip-trad"  # set by rules (skip_trad) and by the proxy's own markup
# Elements without content: a skipped one gets its end marker after it, not inside.
VOID_TAGS = frozenset("area base br col embed hr img input link meta param source track wbr keygen frame basefont".split())

# Attribute-axis queries, one per attribute: libxml2 answers each in a fraction of a millisecond, where a
# predicate such as //*[@a or @b] costs ten times more on a large page.
_TRANSLATE = etree.XPath("//*/@translate")
_SKIP_MARKED = etree.XPath(f"//*/@{SKIP_MARK}")
_LANG = etree.XPath("//*/@lang")


def skipped_elements(root: etree._Element, rule_skips: set, langs: list) -> set:
    """Every element whose subtree is never converted (raw-text elements aside: see _MARKED_TAGS).
    langs: the page's lang attribute values (_LANG)."""
    skipped = set(rule_skips)
    for element in root.iter(*_MARKED_TAGS):  # a <pre> only when it holds code
        if element.tag != "pre" or _CODE_CLASS.search(element.get("class", "")) or element.find("code") is not None:
            skipped.add(element)
    skipped.update(value.getparent() for value in _SKIP_MARKED(root))
    skipped.update(value.getparent() for value in _TRANSLATE(root) if value.strip().lower() == "no")
    for value in langs:
        element = value.getparent()
        lang = value.strip()
        # Non-Chinese parts are left alone; <html lang> is often wrong on portals, so it is ignored.
        if lang and element.tag not in ("html", "body") and not _CHINESE_LANG.match(lang):
            skipped.add(element)
    return skipped


def prepare_tree(root: etree._Element, rule_skips: set, langs: list | None = None) -> set:
    """What the markup step needs to find its way (trad_markup's docstring): each outermost skipped
    subtree wrapped in markers, and no "<" inside comments (commented-out markup is common).
    Returns the skipped elements."""
    for comment in root.iter(etree.Comment):
        text = comment.text
        if text and "<" in text:
            comment.text = text.replace("<", COMMENT_LT)
    skipped = skipped_elements(root, rule_skips, _LANG(root) if langs is None else langs)
    if root in rule_skips or (root.get("translate") or "").strip().lower() == "no":
        skipped = {root}
    for element in skipped:
        if _inside_skipped(element, skipped):  # only the outermost ones get markers
            continue
        start, end = etree.Comment(SKIP_START_TEXT), etree.Comment(SKIP_END_TEXT)
        if element is root:  # the whole page: the markers go just inside <html>
            root.insert(0, start)
            root.append(end)
            continue
        element.addprevious(start)
        if element.tag not in VOID_TAGS:
            # The end marker goes inside, after the content: only the end tag (no attributes) is left out.
            # After the element it would have to take over the element's tail (text that is converted),
            # and lxml refuses to move a tail holding a control character, which its parser lets in.
            element.append(end)
            continue
        try:
            end.tail, element.tail = element.tail, None  # the tail is text after the element: not skipped
        except ValueError:  # a control character: the tail stays, and is left unconverted with the element
            pass
        element.addnext(end)
    return skipped


def _inside_skipped(element: etree._Element, skipped: set) -> bool:
    return any(ancestor in skipped for ancestor in element.iterancestors())


def converter_for(page: Page):
    """The OpenCC converter for this page: its variant, with its site's phrases."""
    return get_converter(page.trad_config, tuple(sorted(page.rules.trad.phrases.items())))


def convert_document(doc: Document, converter, rule_skips: set = frozenset()) -> str:
    """The whole conversion of a parsed page, as the pipeline does it (for tests and benchmarks)."""
    prepare_tree(doc.root, set(rule_skips))
    return convert_markup(serialize(doc), converter)


def _protect_option_values(root: etree._Element) -> None:
    """An <option> without value submits its text: keep submitting the original Simplified text."""
    for option in root.iter("option"):
        if option.get("value") is None and option.text and HAN.search(option.text):
            try:
                option.set("value", "".join(option.itertext()))
            except ValueError:  # a control character lxml will not write: its text stays unconverted
                option.set(SKIP_MARK, "")


def _set_languages(root: etree._Element, config: str, langs: list, skipped: set) -> None:
    """The page, and its Simplified Chinese parts, now say Traditional (parts left unconverted keep theirs)."""
    tag = LANG_TAGS.get(config, "zh-Hant")
    if root not in skipped:
        root.set("lang", tag)
        if root.get("xml:lang") is not None:
            root.set("xml:lang", tag)
    for value in langs:
        element = value.getparent()
        if _SIMPLIFIED_LANG.match(value.strip()) and element not in skipped \
                and not _inside_skipped(element, skipped):
            element.set("lang", tag)
            # HTML allows xml:lang only beside an equal lang (and ignores it alone): keep the pair equal.
            if element.get("xml:lang") is not None:
                element.set("xml:lang", tag)


class TraditionalScript(Stateless):
    name = "trad"
    fragment_safe = True  # a list fetched by script is converted like the page it goes into

    def enabled(self, modes: Modes) -> bool:
        return modes.trad is not None

    def apply(self, doc: Document, page: Page) -> None:
        """The tree step: everything but the conversion itself, which needs the finished page."""
        options = page.rules.trad
        skip = {element for rule in options.skip for element in rule.xpath(doc.root)}
        _protect_option_values(doc.root)
        if not page.fragment:  # the page a fragment goes into has its notice already
            self._insert_notice(doc, options.notice)
        langs = _LANG(doc.root)  # one query for both uses: each whole-tree query costs on a large page
        skipped = prepare_tree(doc.root, skip, langs)
        _set_languages(doc.root, page.trad_config, langs, skipped)

    def apply_markup(self, markup: str, page: Page) -> str:
        """The markup step, after every tree transform (so text they insert is converted too)."""
        return convert_markup(markup, converter_for(page))

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
