"""A skip link to main, 跳到主要内容, as the first focusable element of every page, visible when focused.

Until it has focus the link takes no space and shows nothing (clipped to nothing, out of the flow), so the
page looks exactly as upstream; on focus it appears at the top left, large and high-contrast.  Runs after
the landmarks (it needs main) and before trad (which converts its text to the reader's script).
"""
from __future__ import annotations

from urllib.parse import quote

from lxml import etree

from ..document import Document
from ..pipeline import Page
from .aria import ACCELERATOR as MEASURING
from .aria import RepairTransform, heuristic, hidden, iter_elements, main_landmarks, tabindex_of

SKIP_TEXT = "跳到主要内容"
SKIP_CLASS = "a11y-proxy-skip"
TARGET_ID = "a11y-proxy-main"
STYLE_ID = "a11y-proxy-style"
# Scoped by the a11y-proxy- prefix; !important because portal stylesheets style every <a> they see.
STYLE = (
    f"a.{SKIP_CLASS}{{position:absolute!important;left:0!important;top:0!important;width:1px!important;"
    "height:1px!important;margin:-1px!important;padding:0!important;border:0!important;overflow:hidden!important;"
    "clip:rect(0 0 0 0)!important;clip-path:inset(50%)!important;white-space:nowrap!important;"
    "display:block!important;float:none!important}"
    f"a.{SKIP_CLASS}:focus{{position:fixed!important;z-index:2147483647!important;left:.5em!important;"
    "top:.5em!important;width:auto!important;height:auto!important;margin:0!important;padding:.5em 1em!important;"
    "clip:auto!important;clip-path:none!important;overflow:visible!important;background:#fff!important;"
    "color:#0b0080!important;border:3px solid #0b0080!important;outline:3px solid #ffbf47!important;"
    "font:bold 20px/1.4 sans-serif!important;text-decoration:underline!important;"
    "box-shadow:0 0 0 6px #0b0080!important}"
)
_TABINDEX_VALUES = etree.XPath("/descendant::*/@tabindex")
_HAS_SKIP_LINK = etree.XPath(f"boolean(//a/@class[.='{SKIP_CLASS}'])")


def has_positive_tabindex(root) -> bool:
    """Whether the page orders focus with tabindex: a value a browser reads as positive on some element.  The
    values are found in one C walk where it was built (a fifth of an XPath's time), else by _TABINDEX_VALUES."""
    if MEASURING is not None:
        values = [value for _, _, value in MEASURING.with_attributes(root.getroottree().getroot(), ("tabindex",))]
    else:
        values = _TABINDEX_VALUES(root)
    return any((tabindex_of(value) or 0) > 0 for value in values)


def has_skip_link(root) -> bool:
    if MEASURING is not None:  # (a third of the XPath's time)
        return MEASURING.has_value(root.getroottree().getroot(), ("a",), "class", SKIP_CLASS)
    return _HAS_SKIP_LINK(root)


def add_style(doc: Document, css: str, style_id: str) -> None:
    existing = next((s for s in iter_elements(doc.root, "style") if s.get("id") == style_id), None)
    if existing is not None:
        return
    style = etree.SubElement(doc.head, "style")
    style.set("id", style_id)
    style.text = css


class SkipLink(RepairTransform):
    name = "skiplink"

    def apply(self, doc: Document, page: Page) -> None:
        if not page.rules.heuristic("skip_link") or doc.root.find("body") is None:
            return
        main = next((m for m in main_landmarks(doc.root) if not hidden(m)), None)
        if main is None:
            return
        body = doc.body
        if has_skip_link(doc.root):
            return
        target = main
        if "display:contents" in (main.get("style") or "").replace(" ", ""):
            # A box that renders nothing cannot be scrolled to: aim at its first child that renders.
            target = next((c for c in main if isinstance(c.tag, str) and not hidden(c)), main)
        target_id = target.get("id")
        if not target_id:
            target_id = TARGET_ID
            target.set("id", target_id)
        link = etree.Element("a")
        link.set("href", "#" + quote(target_id, safe=""))
        link.set("class", SKIP_CLASS)
        if has_positive_tabindex(doc.root):
            link.set("tabindex", "1")  # the page orders focus with tabindex: be first among them
        link.text = SKIP_TEXT
        link.tail, body.text = body.text, None
        body.insert(0, link)
        add_style(doc, STYLE, STYLE_ID)
        log = self.log(page)
        log.mark(link, "skip link to main", heuristic("skip_link"))
        log.finish()
