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

import functools
import hashlib
from importlib import metadata
import json
import logging
import re
import struct
from pathlib import Path

import opencc
from lxml import etree

from ..convert import FORWARD_CONFIGS, LANG_TAGS, Converter, get_converter
from ..document import Document, serialize
from ..modes import Modes
from ..pipeline import Page, Stateless, proxy_asset_url
from .aria import ACCELERATOR as MEASURING
from .trad_markup import COMMENT_LT, RAW_TEXT_TAGS, SKIP_END_TEXT, SKIP_START_TEXT, convert_markup, map_back_all

log = logging.getLogger(__name__)

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


class Marks:
    """The attributes of a page that say what is converted, as (element, value) in document order: lang,
    translate and SKIP_MARK.  In one C walk where it was built (a fifth of the three XPaths' time)."""

    def __init__(self, root: etree._Element):
        self.lang: list[tuple] = []
        self.translate: list[tuple] = []
        self.skip: list[tuple] = []
        if MEASURING is not None:
            lists = {"lang": self.lang, "translate": self.translate, SKIP_MARK: self.skip}
            for element, name, value in MEASURING.with_attributes(root.getroottree().getroot(), tuple(lists)):
                lists[name].append((element, value))
            return
        for found, query in ((self.lang, _LANG), (self.translate, _TRANSLATE), (self.skip, _SKIP_MARKED)):
            found += [(value.getparent(), str(value)) for value in query(root)]


def skipped_elements(root: etree._Element, rule_skips: set, marks: Marks) -> set:
    """Every element whose subtree is never converted (raw-text elements aside: see _MARKED_TAGS)."""
    skipped = set(rule_skips)
    for element in root.iter(*_MARKED_TAGS):  # a <pre> only when it holds code
        if element.tag != "pre" or _CODE_CLASS.search(element.get("class", "")) or element.find("code") is not None:
            skipped.add(element)
    skipped.update(element for element, _ in marks.skip)
    skipped.update(element for element, value in marks.translate if value.strip().lower() == "no")
    for element, value in marks.lang:
        lang = value.strip()
        # Non-Chinese parts are left alone; <html lang> is often wrong on portals, so it is ignored.
        if lang and element.tag not in ("html", "body") and not _CHINESE_LANG.match(lang):
            skipped.add(element)
    return skipped


def prepare_tree(root: etree._Element, rule_skips: set, marks: Marks | None = None) -> set:
    """What the markup step needs to find its way (trad_markup's docstring): each outermost skipped
    subtree wrapped in markers, and no "<" inside comments (commented-out markup is common).
    Returns the skipped elements."""
    for comment in root.iter(etree.Comment):
        text = comment.text
        if text and "<" in text:
            comment.text = text.replace("<", COMMENT_LT)
    skipped = skipped_elements(root, rule_skips, Marks(root) if marks is None else marks)
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
        if option.get("value") is not None:
            continue
        if len(option) and option.find(".//script") is not None:
            option.set(SKIP_MARK, "")  # what its script writes is part of what it submits: left as it is
            continue
        # HTML's option value is its text with ASCII whitespace stripped and collapsed: the value written must be
        # what the browser submitted, not the source's line breaks and indentation.
        text = "".join(option.itertext()) if len(option) else option.text or ""
        if HAN.search(text):
            try:
                option.set("value", _ASCII_WHITESPACE.sub(" ", text).strip(" \t\n\f\r"))
            except ValueError:  # a control character lxml will not write: its text stays unconverted
                option.set(SKIP_MARK, "")


_ASCII_WHITESPACE = re.compile(r"[ \t\n\f\r]+")


def _set_languages(root: etree._Element, config: str, langs: list[tuple], skipped: set) -> None:
    """The page, and its Simplified Chinese parts, now say Traditional (parts left unconverted keep theirs)."""
    tag = LANG_TAGS.get(config, "zh-Hant")
    if root not in skipped:
        root.set("lang", tag)
        if root.get("xml:lang") is not None:
            root.set("xml:lang", tag)
    for element, value in langs:
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
        for element in skip:  # marked, so the page's script-written text is skipped alike (trad-live.js)
            element.set(SKIP_MARK, "")
        _protect_option_values(doc.root)
        if not page.fragment:  # the page a fragment goes into has its notice already (and the live script)
            self._insert_notice(doc, options.notice)
            insert_live_script(doc, page)
        marks = Marks(doc.root)  # one walk for both uses: each whole-tree query costs on a large page
        skipped = prepare_tree(doc.root, skip, marks)
        _set_languages(doc.root, page.trad_config, marks.lang, skipped)

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


# --- Text the page's own scripts write (docs/traditional.md, "Text written by the page's scripts") -------
#
# The conversion above is exact on the HTML the upstream sends, but portals write text with scripts
# (document.write source lines, AJAX lists, client-rendered columns).  In trad mode every whole page gets
# /-/static/trad-live.<config>.js first in <head>: it watches the document, sends the Simplified text that
# scripts add to POST /-/convert (proxy/app.py), and writes OpenCC's conversion back.  The script file is
# the template proxy/static/trad-live.js with this variant's character tables filled in (below), so the
# browser can tell, without a request, whether a text may need converting at all.

LIVE_TEMPLATE = Path(__file__).resolve().parent.parent / "static" / "trad-live.js"
LIVE_PATH = "/-/static/trad-live.{config}.js"
LIVE_MARK = "trad-live"  # the script tag's data-a11y-proxy value
CONVERT_PATH = "/-/convert"
# The CJK ideograph blocks (URO, extension A, compatibility, extensions B-H): where OpenCC's keys are.
HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
# Compatibility ideographs: s2t's normalization step maps them to their unified forms; never STCharacters keys.
_COMPATIBILITY = ((0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def insert_live_script(doc: Document, page: Page) -> None:
    """The script, first in <head> (after a charset declaration), synchronous: it must be observing before
    any of the portal's scripts runs, so that what document.write puts in the page while it loads is seen.
    Its tag carries what the conversion needs (variant, the page's path for the site's rules, the limits of
    /-/convert, the rules' skip selectors), never taken from a cookie."""
    config = page.trad_config
    head = doc.head
    limits = page.settings.limits
    script = etree.Element("script", {
        "src": proxy_asset_url(doc, page, live_script_url(config)),
        "data-a11y-proxy": LIVE_MARK,
        "data-variant": config,
        "data-page": page.url.path or "/",
        "data-limits": f"{limits.convert_body_max_bytes} {limits.convert_max_texts}",
    })
    selectors = ", ".join(rule.selector for rule in page.rules.trad.skip)
    if selectors:
        script.set("data-skip", selectors)
    index = 0
    if len(head) and head[0].tag == "meta" and (head[0].get("charset") is not None or (
            head[0].get("http-equiv") or "").lower() == "content-type"):
        index = 1
    script.tail = "\n"
    head.insert(index, script)


def live_script_url(config: str) -> str:
    """The script's URL for a variant, versioned by its content's inputs (so it can be cached for a year)."""
    return LIVE_PATH.format(config=config) + "?v=" + live_version(config)


@functools.lru_cache(maxsize=8)
def live_version(config: str) -> str:
    try:
        opencc_version = metadata.version("OpenCC")
    except metadata.PackageNotFoundError:  # not installed as a distribution
        opencc_version = getattr(opencc, "__version__", "")
    return hashlib.sha1(LIVE_TEMPLATE.read_bytes() + f"|{config}|{opencc_version}".encode()).hexdigest()[:12]


@functools.lru_cache(maxsize=8)
def live_script(config: str) -> tuple[bytes, str]:
    """(the script for a variant, its ETag).  Without readable OpenCC tables the script still works: it
    then converts only what scripts write once the page has loaded, and what document.write writes."""
    if config not in FORWARD_CONFIGS:
        raise KeyError(config)
    text = LIVE_TEMPLATE.read_text(encoding="utf-8")
    try:
        tables = live_tables(config)
    except (OSError, ValueError) as exc:
        log.warning("trad-live.js: OpenCC's character table is unreadable (%s); script-written text is converted "
                    "only after the page has loaded", exc)
        tables = {}
    for name in ("strict", "more"):
        bmp, astral = tables.get(name, ("", ""))
        text = text.replace(f'"" /*@{name}*/', json.dumps(bmp, ensure_ascii=False), 1)
        text = text.replace(f'"" /*@{name}-astral*/', json.dumps(astral, ensure_ascii=False), 1)
    text = text.replace("true /*@any-han*/", "true" if not tables or config == "s2twp" else "false", 1)
    body = text.encode("utf-8")
    return body, '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


def live_tables(config: str) -> dict[str, tuple[str, str]]:
    """The character classes trad-live.js tests text with, as (BMP part, astral part) of a regex class
    ("strict", and "more": what "broad" adds to it):

    * strict: Simplified-only characters (simplified_only) that this variant changes on their own.  The
      server's conversion never leaves one in a page, so while the page is still loading, when the parser's
      nodes (already converted) and the portal's inline scripts' nodes cannot be told apart, a text with
      one of these is script-written and needs converting; a text without one is left (its request is saved).
    * broad: after loading, what may change at all: every character the variant changes on its own, plus
      every STCharacters key with several candidates (干 乾/幹, 后 後, 台 臺…, whose conversion depends on
      the phrase).  Empty (any Han character) for s2twp, whose phrase tables also change words written in
      characters shared by both scripts (文件 → 檔案, 打印 → 列印).
    """
    alone = _converted_alone(get_converter(config).convert)
    changed = {c for c, out in alone.items() if out != c}
    strict = simplified_only() & changed
    broad = set() if config == "s2twp" else changed | st_ambiguous()
    return {"strict": _regex_class(strict), "more": _regex_class(broad - strict)}


def _converted_alone(convert) -> dict[str, str]:
    """Each CJK character converted on its own (one OpenCC call)."""
    chars = [chr(c) for start, end in HAN_RANGES for c in range(start, end + 1)]
    out = convert("\n".join(chars)).split("\n")
    if len(out) != len(chars):
        raise ValueError("OpenCC changed the number of lines")
    return dict(zip(chars, out))


def _regex_class(chars: set[str]) -> tuple[str, str]:
    """Characters as the inside of a regex class, ranges written a-b: (BMP part, astral part)."""
    parts: tuple[list[str], list[str]] = ([], [])
    codes = sorted(map(ord, chars))
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        part = parts[codes[i] > 0xFFFF]
        if j - i >= 2:
            part.append(f"{chr(codes[i])}-{chr(codes[j])}")
        else:
            part.extend(map(chr, codes[i:j + 1]))
        i = j + 1
    return "".join(parts[0]), "".join(parts[1])


def st_characters_path() -> Path:
    """Where the installed opencc package keeps its STCharacters table: beside the s2t configuration that
    OpenCC itself loads (the path it reports), else in the package's data folder."""
    try:
        reported = getattr(opencc.OpenCC("s2t"), "config", None)
    except Exception:
        reported = None
    if reported and Path(reported).is_absolute():
        return Path(reported).parent / "STCharacters.ocd2"
    return Path(opencc.__file__).resolve().parent / "clib" / "share" / "opencc" / "STCharacters.ocd2"


def ocd2_values(path: Path) -> list[list[str]]:
    """The candidate lists of an OpenCC .ocd2 dictionary (all of them, in key order of its trie).

    The file is the marisa trie of the keys, then the values: item count and buffer length (uint32 LE),
    the buffer (NUL-terminated UTF-8 strings), then per item its count of candidates (uint16) and each
    candidate's byte length with its NUL (uint16).  Where the trie ends is found by the values' own
    structure, which must account for every byte to the end of the file.  Raises ValueError if not."""
    data = path.read_bytes()
    if not data.startswith(b"OPENCC_MARISA_"):
        raise ValueError(f"{path}: not an OpenCC marisa dictionary")
    for start in range(len(data) - 8):
        count, total = struct.unpack_from("<II", data, start)
        end = start + 8 + total
        if not 0 < count < 1_000_000 or end > len(data) or data[end - 1] != 0:
            continue
        try:
            items, position, cursor = [], end, start + 8
            for _ in range(count):
                (number,) = struct.unpack_from("<H", data, position)
                lengths = struct.unpack_from(f"<{number}H", data, position + 2)
                position += 2 + 2 * number
                values = []
                for length in lengths:
                    if length == 0 or data[cursor + length - 1] != 0:
                        raise ValueError
                    values.append(data[cursor:cursor + length - 1].decode("utf-8"))
                    cursor += length
                items.append(values)
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            continue
        if position == len(data) and cursor == end:
            return items
    raise ValueError(f"{path}: no value table found (has OpenCC's .ocd2 format changed?)")


@functools.lru_cache(maxsize=1)
def _st_table() -> tuple[dict[str, str], list[list[str]]]:
    """STCharacters: each key's conversion alone, and all value lists.  The keys are found by converting
    every CJK character alone with s2t, which is STCharacters alone for single characters (its phrase
    tables have no one-character keys; its normalization maps only compatibility ideographs, left out).
    A key whose first candidate is itself is not found, and needs no finding."""
    path = st_characters_path()
    if not path.exists():
        raise FileNotFoundError(f"OpenCC's STCharacters table is not at {path} (the opencc package at "
                                f"{opencc.__file__} keeps its data elsewhere now: see trad.st_characters_path)")
    items = ocd2_values(path)
    alone = _converted_alone(get_converter("s2t").convert)
    return {c: out for c, out in alone.items() if out != c and not _compatibility(c)}, items


def _compatibility(char: str) -> bool:
    return any(start <= ord(char) <= end for start, end in _COMPATIBILITY)


@functools.lru_cache(maxsize=1)
def simplified_only() -> frozenset[str]:
    """Characters OpenCC's STCharacters table maps only to other characters (国 → 國, 来 → 來, 头 → 頭):
    what a page in Traditional script should never show.  Not 后 (後, 后), 里 (裏, 里), 干 (幹, 乾, 干),
    广 (廣, 广): those are Traditional characters too.

    A key is matched to its candidate list by its first candidate (what OpenCC converts it to alone); where
    several lists share that first candidate (余 and 馀 both → 餘), the key counts as mapping to itself when
    any of them holds it, which is what OpenCC's source tables say for every such key."""
    keys, items = _st_table()
    by_first: dict[str, list[list[str]]] = {}
    for values in items:
        by_first.setdefault(values[0], []).append(values)
    return frozenset(c for c, out in keys.items() if not any(c in values for values in by_first.get(out, ())))


@functools.lru_cache(maxsize=1)
def st_ambiguous() -> frozenset[str]:
    """STCharacters keys with several candidates that include themselves (后 → 後/后, 台 → 台/臺/颱): the
    characters whose conversion depends on the phrase around them."""
    keys, items = _st_table()
    several = {values[0] for values in items if len(values) > 1 and values[0] not in keys}  # 台: key first
    return frozenset((set(keys) - simplified_only()) | several)


def convert_live(converter: Converter, texts: list) -> list:
    """What POST /-/convert answers: each item converted as the server converts a page.  An item is a
    string (a readable attribute value, a lone text) or a list of strings (the text nodes of one run of
    text, which a reader sees as one piece: converted joined, then cut back into the pieces, exactly as
    trad_markup does across inline tags).  Strings that are not valid Unicode (lone surrogates) are left."""
    runs = [[item] if isinstance(item, str) else item for item in texts]
    joined = ["".join(run) for run in runs]
    convertible = [i for i, text in enumerate(joined) if not text.isascii() and _encodable(text)]
    out: list = list(texts)
    converted = converter.convert_many([joined[i] for i in convertible])
    split = []
    for i, text in zip(convertible, converted):
        if isinstance(texts[i], str):
            out[i] = text
        elif len(runs[i]) == 1:
            out[i] = [text]
        else:
            split.append((i, text))
    for (i, _), pieces in zip(split, map_back_all(converter, [(runs[i], text) for i, text in split])):
        out[i] = pieces
    return out


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
