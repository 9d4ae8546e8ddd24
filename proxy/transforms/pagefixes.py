"""Page-level repairs: the page's language, a zoomable viewport, no motion (marquee, timed refresh,
auto-playing media), and a title.

Each is one heuristic that rule files may switch off (``heuristics: {page_language: false}``).
"""
from __future__ import annotations

import re

from lxml import etree

from ..document import Document
from ..pipeline import Page
from .aria import ACCELERATOR as MEASURING
from .aria import (HEADINGS, RepairTransform, Repairs, drop, hidden, heuristic, iter_elements, main_landmarks,
                   squash, tag_of, text_of)

_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
XML_LANG = "xml:lang"  # how lxml's HTML parser names the attribute
PAGE_LANG = "zh-Hans"  # the portals behind the proxy publish in Simplified Chinese


def valid_lang(value: str | None) -> bool:
    return bool(value) and bool(_LANG_TAG.match(value.strip()))


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_ASCII_LETTERS = bytes(range(ord("A"), ord("Z") + 1)) + bytes(range(ord("a"), ord("z") + 1))
_LANG_ATTRIBUTES = etree.XPath("//body//*/@lang/..")  # //body//*[@lang], through the (faster) attribute axis


def lang_attributed(root) -> list:
    """_LANG_ATTRIBUTES: the elements inside <body> with a lang attribute, in document order.  In one C walk
    where it was built and the page has one body (as the parser makes it), a third of the XPath's time."""
    if MEASURING is not None:
        bodies = root.iter("body")
        body = next(bodies, None)
        if body is None:
            return []
        if next(bodies, None) is None:
            return [el for el, _, _ in MEASURING.with_attributes(body, ("lang",)) if el is not body]
    return _LANG_ATTRIBUTES(root)


_NO_TEXT_TAGS = ("script", "style", "noscript", "template", "textarea")
_NO_TEXT = frozenset(_NO_TEXT_TAGS)


def text_sample(root, sample: int) -> str:
    """At least `sample` characters of root's text (or all of it), scripts and styles left out: the walk stops
    once the sample is big enough, so a long page costs no more than a short one.  In one C call where the
    accelerator was built (the walk's Python loop was half of this transform on most portal pages)."""
    if MEASURING is not None:
        return MEASURING.text_sample(root, sample, _NO_TEXT_TAGS)
    return text_sample_in_python(root, sample)


def text_sample_in_python(root, sample: int) -> str:
    """text_sample, the reference (tests/test_measure.py holds _measure.c to it)."""
    parts: list[str] = []
    size = 0
    stack = [root]
    while stack and size < sample:
        el = stack.pop()
        if el.text:
            parts.append(el.text)
            size += len(el.text)
        for child in el:
            if child.tail:
                parts.append(child.tail)
                size += len(child.tail)
            if child.tag.__class__ is str and child.tag not in _NO_TEXT:
                stack.append(child)
    return "".join(parts)


def _script_counts(doc: Document, sample: int = 1500) -> tuple[int, int]:
    """(Han characters, Latin letters) in a sample of the page's text (scripts and styles left out)."""
    body = doc.root.find("body")
    text = text_sample(body, sample) if body is not None else ""
    # Counted without a list of runs: what removing the Han characters takes off the length, and the ASCII
    # letters (the only [A-Za-z]) as UTF-8 bytes, deleted in one C pass (half the time of the two findall()s).
    han = len(text) - len(_HAN.sub("", text))
    data = text.encode("utf-8", "surrogatepass")
    return han, len(data) - len(data.translate(None, _ASCII_LETTERS))


def is_chinese_text(han: int, latin: int) -> bool:
    # One Han character is about a word; a Latin word about five letters.
    return han >= 5 and han * 5 >= latin


class PageBasics(RepairTransform):
    """<html lang>, invalid lang attributes, viewport zoom, marquee, meta refresh, autoplay."""

    name = "page"

    def apply(self, doc: Document, page: Page) -> None:
        log = self.log(page)
        rules = page.rules
        if rules.heuristic("page_language"):
            self.language(doc, log)
        if rules.heuristic("viewport"):
            for meta in iter_elements(doc.root, "meta"):
                if (meta.get("name") or "").strip().lower() == "viewport":
                    fixed = zoomable_viewport(meta.get("content") or "")
                    if fixed is not None:
                        meta.set("content", fixed)
                        log.mark(meta, "viewport allows zoom", heuristic("viewport"))
        if rules.heuristic("marquee"):
            for marquee in list(iter_elements(doc.root, "marquee")):
                still_marquee(marquee)
                log.mark(marquee, "marquee stopped (content kept)", heuristic("marquee"))
        if rules.heuristic("meta_refresh"):
            for meta in list(iter_elements(doc.root, "meta")):
                if (meta.get("http-equiv") or "").strip().lower() == "refresh":
                    what = no_timed_refresh(meta)
                    if what:
                        page.notes.append(f"page: meta refresh {what} ({heuristic('meta_refresh')})")
                        log.count += 1
        if rules.heuristic("autoplay"):
            for media in iter_elements(doc.root, "video", "audio"):
                if media.get("autoplay") is not None:
                    del media.attrib["autoplay"]
                    media.set("controls", media.get("controls") or "")
                    log.mark(media, "autoplay off (controls shown)", heuristic("autoplay"))
        log.finish()

    @staticmethod
    def language(doc: Document, log: Repairs) -> None:
        root = doc.root
        lang = (root.get("lang") or "").strip()
        han, latin = _script_counts(doc)
        chinese = is_chinese_text(han, latin) or (han + latin < 20 and not lang)
        if "_" in lang and valid_lang(lang.replace("_", "-")):
            lang = lang.replace("_", "-")
            root.set("lang", lang)
            log.mark(root, f"lang={lang} (was written with _)", heuristic("page_language"))
        if chinese and not (valid_lang(lang) and lang.lower().split("-")[0] == "zh"):
            was = root.get("lang")
            root.set("lang", PAGE_LANG)
            log.mark(root, f"lang={PAGE_LANG}" + (f" (was {was!r})" if was is not None else ""),
                     heuristic("page_language"))
        elif not valid_lang(lang) and not chinese:
            root.set("lang", "en")
            log.mark(root, "lang=en (the text is in Latin letters)", heuristic("page_language"))
        lang = root.get("lang")
        xml_lang = root.get(XML_LANG)
        if xml_lang is not None and xml_lang.strip().lower().split("-")[0] != lang.lower().split("-")[0]:
            root.set(XML_LANG, lang)
            log.mark(root, f"xml:lang={lang} (matches lang)", heuristic("page_language"))
        for el in lang_attributed(root):
            if not valid_lang(el.get("lang")):
                value = el.get("lang")
                if "_" in value and valid_lang(value.replace("_", "-")):
                    el.set("lang", value.replace("_", "-"))
                else:
                    del el.attrib["lang"]  # not a language (lang="table1"): the page's language applies
                log.mark(el, f"invalid lang={value!r} fixed", heuristic("page_language"))


def zoomable_viewport(content: str) -> str | None:
    """The viewport content without what blocks pinch zoom (user-scalable=no, maximum-scale < 5), or None
    when nothing needs changing."""
    parts = [p.strip() for p in re.split(r"[,;]", content) if p.strip()]
    kept = []
    changed = False
    for part in parts:
        key, _, value = part.partition("=")
        key, value = key.strip().lower(), value.strip().lower()
        if key == "user-scalable" and value in ("no", "0", "false"):
            changed = True
            continue
        if key == "maximum-scale":
            try:
                if float(value) < 5:
                    changed = True
                    continue
            except ValueError:
                changed = True
                continue
        kept.append(part)
    return ", ".join(kept) if changed else None


_MARQUEE_ONLY = ("behavior", "direction", "scrollamount", "scrolldelay", "loop", "truespeed", "onmouseover",
                 "onmouseout", "onstart", "onfinish", "onbounce", "hspace", "vspace", "bgcolor", "width", "height")


def still_marquee(marquee) -> None:
    """<marquee> -> a box with the same content that does not move.  Its size stays; when a fixed height
    would cut the (no longer scrolling) content off, the box scrolls instead, so nothing is hidden."""
    style = []
    width, height = marquee.get("width"), marquee.get("height")
    if width:
        style.append(f"width:{_css_length(width)}")
    if height:
        style.append(f"height:{_css_length(height)};overflow:auto")
    if marquee.get("bgcolor"):
        style.append(f"background-color:{marquee.get('bgcolor')}")
    for attribute in _MARQUEE_ONLY:
        marquee.attrib.pop(attribute, None)
    marquee.tag = "div"
    own = marquee.get("style")
    marquee.set("style", ";".join(["display:block"] + style) + (";" + own if own else ""))


def _css_length(value: str) -> str:
    value = value.strip()
    return value + "px" if value.isdigit() else value


_REFRESH = re.compile(r"^\s*(\d+(?:\.\d*)?)?\s*(?:[;,]\s*(?:url\s*=\s*)?(.*))?$", re.I | re.S)


def no_timed_refresh(meta) -> str | None:
    """A timed redirect becomes an immediate one; a timed reload is removed.  Returns what was done."""
    match = _REFRESH.match(meta.get("content") or "")
    if not match:
        return None
    delay, url = match.group(1), (match.group(2) or "").strip().strip("'\"")
    if delay is None or float(delay) == 0:
        return None
    if url:
        meta.set("content", f"0; url={url}")
        return f"redirect after {delay}s made immediate"
    drop(meta)
    return f"reload every {delay}s removed"


def neutralize(el) -> list[str]:
    """Stop the motion in and under el (a rule's `neutralize: true`).  Returns what was done."""
    done = []
    if tag_of(el) == "meta":
        if (el.get("http-equiv") or "").lower() == "refresh":
            drop(el)
            done.append("meta refresh removed")
        return done
    for marquee in [m for m in el.iter("marquee")]:
        still_marquee(marquee)
        done.append("marquee stopped")
    for media in [m for m in el.iter("video", "audio")]:
        if media.get("autoplay") is not None:
            del media.attrib["autoplay"]
            media.set("controls", "")
            done.append("autoplay off")
    return done


class PageTitle(RepairTransform):
    """An empty or missing <title> filled from the main heading (runs after the landmarks)."""

    name = "title"

    def apply(self, doc: Document, page: Page) -> None:
        if not page.rules.heuristic("page_title"):
            return
        head = doc.head
        title = head.find("title")
        if title is None:
            title = next(iter_elements(doc.root, "title"), None)
        if title is not None and squash(title.text):
            return
        text = main_heading(doc)
        if not text:
            return
        log = self.log(page)
        if title is None:
            title = etree.SubElement(head, "title")
        title.text = text
        log.mark(title, "title from the main heading", heuristic("page_title"))
        log.finish()


def main_heading(doc: Document) -> str:
    """The text of the page's main heading: the first h1 (in main first), then any first heading, then
    main's first line of text."""
    main = main_landmarks(doc.root)
    body = doc.root.find("body")
    scopes = ([main[0]] if main else []) + ([body] if body is not None else [])
    for scope in scopes:
        for level in HEADINGS:
            for heading in scope.iter(level):
                if not hidden(heading):
                    text = text_of(heading, 120)
                    if text:
                        return text
    if main:
        text = text_of(main[0], 60)
        return text.split(" ")[0] if text else ""
    return ""
