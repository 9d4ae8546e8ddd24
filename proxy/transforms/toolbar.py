"""The reader's toolbar (无障碍工具栏): plain links that switch the modes, in the page, working without JavaScript.

What the reader gets, at the top of <body> (right after the skip link) or at its end::

    <section id="a11y-proxy-toolbar" aria-labelledby=... aria-describedby=(the shortcuts)>
      无障碍工具栏  [简体] [繁体] [长者版] [高对比度] [阅读模式] [重置]
                     (a mode that is on shows its choices next to it: 字号 125% 150% 175% 200%,
                      配色 黑底白字 白底黑字 黑底黄字 黄底黑字, 繁体 通用繁体 台湾正体 台湾用语 香港繁体)
      快捷键：Alt+Shift+J 简体/繁体 … (shown while focus is in the toolbar; the region's description)
      本页由简体中文自动转换为繁体中文… (trad mode: the conversion notice, moved here)
    </section>

Design (docs/toolbar.md says why):

* Every control is a real link: ``/-/toggle/<token>?next=<this page>`` for the on/off switches and
  ``/-/set/<modes>?next=<this page>`` for a choice within a mode (idempotent: 175% always means 175%).  The
  endpoints set the cookie and send the reader back to the same path and query (proxy/app.py).
* State: ``aria-current="true"`` on the link of what is on (the mode, the step, the scheme, the script),
  plus a visible ✓ and a thicker border (not colour alone).  Not ``role=button``/``aria-pressed``: these
  links navigate, and without script a link cannot honour the Space key a button promises.
* Named region (``<section>`` with a name), not ``<nav>`` (it is not site navigation) nor ``role=toolbar``
  (that composite widget needs script-driven arrow keys).  It sits at <body> level, outside every landmark
  the repairs placed, so it adds one top-level landmark and nests in none.
* Keyboard: the skip link stays the first focusable element; the toolbar's links come next (with
  ``tabindex=1`` when the page orders focus with positive tabindex, as the skip link does).  Shortcuts are
  ``accesskey`` (browser-native, no script): Alt+Shift+letter in Chromium and Firefox, Control+Option+letter
  on macOS; the portal's own accesskeys on the same letters are removed, so ours are reliable.
* Written in Simplified Chinese: ``TraditionalScript`` runs after this transform and converts the labels
  to the reader's script.  The trad notice it inserts at the top of <body> is then moved into the toolbar by
  ``ToolbarNotice``, which runs right after ``TraditionalScript``.
* Styled by /-/static/toolbar.css (same origin, so a 'self'-only CSP allows it), linked first in <head>:
  every rule is ``!important`` inside ``@layer a11y-proxy-toolbar``, which beats the portal's CSS whatever
  its specificity and the contrast sheet's layer (declared later); scoped to ``#a11y-proxy-toolbar``, with an
  ``all: revert`` reset so portal rules cannot reach in.  Static positioning: it pushes the page down.
* /-/static/toolbar.js is an optional enhancement: it keeps the page's #fragment across a toggle and hides
  the toolbar inside frames whose top page has one.  Nothing depends on it.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, replace
from html import escape
from urllib.parse import quote

from lxml import etree

from ..document import Document
from ..modes import CONTRAST_SCHEMES, ELDER_STEPS, PLAIN, Modes
from ..pipeline import Page, proxy_asset_url, Stateless
from .aria import ACCELERATOR as MEASURING
from .aria import tabindex_of
from .contrast import SCHEMES

TOOLBAR_ID = "a11y-proxy-toolbar"
TITLE_ID = "a11y-proxy-toolbar-title"
KEYS_ID = "a11y-proxy-toolbar-keys"
CLASS = "a11y-proxy-toolbar"
PREFIX = "a11y-proxy-tb"  # class prefix of everything inside
STYLESHEET = "/-/static/toolbar.css"
SCRIPT = "/-/static/toolbar.js"
MARK = "data-a11y-proxy"  # the proxy's own <link>s carry it (reader mode keeps them)
NOTICE_CLASS = "a11y-proxy-trad-notice"  # what TraditionalScript inserts (proxy/transforms/trad.py)
SKIP_CLASS = "a11y-proxy-skip"  # the skip link (proxy/transforms/skiplink.py)

TITLE = "无障碍工具栏"

# Shortcut letters (accesskey): pinyin initials, none of them a browser's or a screen reader's own
# Alt+Shift combination (Chrome takes Alt+Shift+T/B/I/A, Alt+D/E/F; screen readers use Insert/CapsLock).
KEY_SCRIPT, KEY_ELDER, KEY_CONTRAST, KEY_READER, KEY_RESET = "j", "z", "g", "y", "c"
SHORTCUTS = ((KEY_SCRIPT, "简体/繁体"), (KEY_ELDER, "长者版"), (KEY_CONTRAST, "高对比度"), (KEY_READER, "阅读模式"),
             (KEY_RESET, "重置"))
KEYS_TEXT = ("快捷键：" + "，".join(f"Alt+Shift+{k.upper()} {label}" for k, label in SHORTCUTS)
             + "（苹果电脑用 Control+Option+字母）。")

# Labels of the Traditional variants (OpenCC configurations), as the toolbar offers them.
TRAD_LABELS = {"s2t": "通用繁体", "s2tw": "台湾正体", "s2twp": "台湾用语", "s2hk": "香港繁体"}
TRAD_ORDER = ("s2t", "s2tw", "s2twp", "s2hk")
# Contrast scheme names: as proxy/transforms/contrast.py names its schemes (白底黑字...).
CONTRAST_LABELS = {key: scheme.name for key, scheme in SCHEMES.items()}

# What the page says about focus: tabindex and accesskey attribute nodes (the attribute axis is the fastest
# search libxml2 offers: a third of an element search with an attribute predicate, on portal pages).
# (/descendant::*/@x walks the elements only; //@x looks for attributes on every node, text too)
_FOCUS_ATTRIBUTES = etree.XPath("/descendant::*/@tabindex | /descendant::*/@accesskey")


def focus_attributes(root) -> list[tuple]:
    """(element, "tabindex" or "accesskey", value) for every such attribute of root's document, in document
    order: in one C walk where it was built (a fifth of the XPath's time), else _FOCUS_ATTRIBUTES."""
    if MEASURING is not None:
        return MEASURING.with_attributes(root.getroottree().getroot(), ("tabindex", "accesskey"))
    return [(value.getparent(), value.attrname, str(value)) for value in _FOCUS_ATTRIBUTES(root)]


_HAS_TOOLBAR = etree.XPath(f"boolean(//section/@id[.='{TOOLBAR_ID}'])")
_HAS_TITLE = etree.XPath("boolean(//title)")


def has_toolbar(root) -> bool:
    if MEASURING is not None:  # (a third of the XPath's time)
        return MEASURING.has_value(root.getroottree().getroot(), ("section",), "id", TOOLBAR_ID)
    return _HAS_TOOLBAR(root)


@dataclass(frozen=True)
class Control:
    text: str
    href: str
    current: bool = False
    accesskey: str | None = None


def toggle_url(token: str, next_: str) -> str:
    """A link to /-/toggle/<token>; next_ is this page's public path, already URL-encoded."""
    return f"/-/toggle/{token}?next={next_}"


def set_url(modes: Modes, next_: str) -> str:
    return f"/-/set/{modes}?next={next_}"


def _site_variant(page: Page) -> str:
    return page.rules.trad.variant or page.settings.trad_variant


class Toolbar(Stateless):
    name = "toolbar"

    def enabled(self, modes: Modes) -> bool:
        return True  # every mode; Settings.toolbar.enabled is checked per page

    def apply(self, doc: Document, page: Page) -> None:
        settings = page.settings.toolbar
        if not settings.enabled or not _is_page(doc) or page.in_frame:
            return  # (a page inside a frame belongs to a page that already has the toolbar)
        body = doc.body
        if has_toolbar(doc.root):
            return  # already there (a page rendered twice, or one that copies ours)
        attributes = focus_attributes(doc.root)
        bar = build(page, ordered_focus=any(name == "tabindex" and (tabindex_of(value) or 0) > 0 for _, name, value in attributes))
        _free_accesskeys([el for el, name, _ in attributes if name == "accesskey"], page)
        if settings.position == "bottom":
            bar.set("class", f"{CLASS} {CLASS}-bottom")
            bar.tail = "\n"
            body.append(bar)
        else:
            skip = body[0] if len(body) and body[0].get("class") == SKIP_CLASS else None
            if skip is not None:
                bar.tail, skip.tail = skip.tail, "\n"
                body.insert(1, bar)
            else:
                bar.tail, body.text = body.text, "\n"
                body.insert(0, bar)
        _link_stylesheet(doc, page)
        page.notes.append(f"toolbar: {settings.position}")


def _is_page(doc: Document) -> bool:
    """A page a reader navigates to, not a frameset nor a fragment fetched by a script (those have no
    doctype, no <head> content and no <title>; a toolbar in them would appear inside the page that loads them)."""
    root = doc.root
    if root.find("body") is None or root.find("frameset") is not None:
        return False
    head = root.find("head")
    if root.getroottree().docinfo.doctype:
        return True
    return head is not None and len(head) > 0 or _HAS_TITLE(root)


def _free_accesskeys(elements: list, page: Page) -> None:
    ours = {key for key, _ in SHORTCUTS}
    for el in elements:
        keys = (el.get("accesskey") or "").lower().split()
        if any(k in ours for k in keys):
            del el.attrib["accesskey"]
            page.notes.append(f"toolbar: the page's accesskey {'/'.join(keys)} removed (the toolbar's shortcut)")


def _link_stylesheet(doc: Document, page: Page) -> None:
    """First in <head> (after the charset declaration): our layer is declared before any other, so its
    important rules win over the portal's and the contrast sheet's."""
    head = doc.head
    link = etree.Element("link", {"rel": "stylesheet", "href": proxy_asset_url(doc, page, STYLESHEET),
                                  MARK: "toolbar"})
    link.tail = "\n"
    index = 0
    for i, child in enumerate(head):
        if child.tag == "meta" and (child.get("charset") is not None
                                    or (child.get("http-equiv") or "").lower() == "content-type"):
            index = i + 1
            break
    head.insert(index, link)


# --- the markup ---------------------------------------------------------------------------------------

def controls(page: Page) -> list[tuple[Control, str, list[Control]]]:
    """The toolbar's controls in order: (switch, options-label, options shown next to it)."""
    return _controls(page.modes, quote(page.public_path, safe="/"), _site_variant(page), page.trad_config)


def _controls(modes: Modes, next_: str, site: str, now: str | None) -> list[tuple[Control, str, list[Control]]]:
    """controls() from what they depend on: the modes, this page's path (URL-encoded), the site's variant of
    Traditional script and the one the page is in."""
    items: list[tuple[Control, str, list[Control]]] = []

    # Script: 简体 | 繁体, and when Traditional is on, its variants.
    trad_on = modes.trad is not None
    items.append((Control("简体", set_url(replace(modes, trad=None), next_), current=not trad_on,
                          accesskey=KEY_SCRIPT if trad_on else None), "", []))
    variants: list[Control] = []
    if trad_on:
        choices = [("", site)] + [(config, config) for config in TRAD_ORDER if config != site]
        for value, config in choices:
            variants.append(Control(TRAD_LABELS.get(config, config), set_url(replace(modes, trad=value), next_),
                                    current=now == config))
    items.append((Control("繁体", set_url(replace(modes, trad=modes.trad if trad_on else ""), next_),
                          current=trad_on, accesskey=None if trad_on else KEY_SCRIPT), "繁体字形", variants))

    # Elder: the switch, and its text-size steps when on.
    elder_on = modes.elder is not None
    steps = [Control(f"{step}%", set_url(replace(modes, elder=step), next_), current=modes.elder == step)
             for step in ELDER_STEPS] if elder_on else []
    items.append((Control("长者版", toggle_url(f"elder-{modes.elder}" if elder_on else "elder", next_),
                          current=elder_on, accesskey=KEY_ELDER), "字号", steps))

    # Contrast: the switch, and its schemes when on.
    contrast_on = modes.contrast is not None
    schemes = [Control(CONTRAST_LABELS.get(key, key), set_url(replace(modes, contrast=key), next_),
                       current=modes.contrast == key) for key in CONTRAST_SCHEMES] if contrast_on else []
    items.append((Control("高对比度", toggle_url(f"contrast-{modes.contrast}" if contrast_on else "contrast", next_),
                          current=contrast_on, accesskey=KEY_CONTRAST), "配色", schemes))

    items.append((Control("阅读模式", toggle_url("reader", next_), current=modes.reader, accesskey=KEY_READER), "", []))
    items.append((Control("重置", set_url(PLAIN, next_), accesskey=KEY_RESET), "", []))
    return items


def _link(control: Control, ordered_focus: bool) -> str:
    attributes = f'href="{escape(control.href)}" class="{PREFIX}-link"'
    text = escape(control.text)
    if control.current:
        attributes += ' aria-current="true"'
        text = f'<span class="{PREFIX}-mark" aria-hidden="true">✓</span>{text}'
    if control.accesskey:
        attributes += f' accesskey="{control.accesskey}"'
    if ordered_focus:
        attributes += ' tabindex="1"'
    return f"<a {attributes}>{text}</a>"


def markup(page: Page, ordered_focus: bool = False) -> str:
    """The toolbar's HTML for this page (Simplified text; the trad transform converts it)."""
    template = _markup(page.modes, _site_variant(page), page.trad_config, ordered_focus)
    return template.replace(_NEXT, quote(page.public_path, safe="/"))


# Where this page's path goes in the toolbar's markup, made once per mode set (a private-use character: no
# label, mode name or URL of ours holds one, and escape() leaves it as it is, as it leaves the quoted path).
_NEXT = "\ue000"


@functools.lru_cache(maxsize=256)
def _markup(modes: Modes, site: str, now: str | None, ordered_focus: bool) -> str:
    rows = []
    for n, (switch, options_label, options) in enumerate(_controls(modes, _NEXT, site, now)):
        row = f'<li class="{PREFIX}-item">{_link(switch, ordered_focus)}'
        if options:
            label_id = f"{PREFIX}-options-{n}"
            row += (f'\n<span id="{label_id}" class="{PREFIX}-label">{escape(options_label)}</span>'
                    f'\n<ul class="{PREFIX}-options" aria-labelledby="{label_id}">'
                    + "".join(f'<li class="{PREFIX}-option">{_link(o, ordered_focus)}</li>\n' for o in options)
                    + "</ul>")
        rows.append(row + "</li>\n")
    return (f'<section id="{TOOLBAR_ID}" class="{CLASS} {CLASS}-top" aria-labelledby="{TITLE_ID}" '
            f'aria-describedby="{KEYS_ID}" tabindex="-1" lang="zh-CN" {MARK}="toolbar">\n'
            f'<div class="{PREFIX}-inner">\n'
            f'<p id="{TITLE_ID}" class="{PREFIX}-title">{TITLE}</p>\n'
            f'<ul class="{PREFIX}-items">\n{"".join(rows)}</ul>\n'
            f'<p id="{KEYS_ID}" class="{PREFIX}-keys" hidden="">{escape(KEYS_TEXT)}</p>\n'
            f'</div>\n<script src="{SCRIPT}" defer="" {MARK}="toolbar"></script>\n</section>')


def build(page: Page, ordered_focus: bool = False) -> etree._Element:
    """The toolbar element: a copy of the tree made once per mode set, with this page's path put into its
    links (the same element as parsing markup(page); copying the tree in C and setting a dozen hrefs costs
    less than parsing the markup again for every page)."""
    bar = copy.deepcopy(_tree(page.modes, _site_variant(page), page.trad_config, ordered_focus))
    path = quote(page.public_path, safe="/")
    for link in bar.iter("a"):
        link.set("href", link.get("href").replace(_NEXT, path))
    return bar


@functools.lru_cache(maxsize=256)
def _tree(modes: Modes, site: str, now: str | None, ordered_focus: bool) -> etree._Element:
    # Shared by every page with these modes, on every thread: it is only ever copied, never changed.
    return etree.fromstring(_markup(modes, site, now, ordered_focus))


class ToolbarNotice(Stateless):
    """Runs right after TraditionalScript: moves its machine-conversion notice into the toolbar."""

    name = "toolbar-notice"

    def enabled(self, modes: Modes) -> bool:
        return modes.trad is not None

    def apply(self, doc: Document, page: Page) -> None:
        body = doc.root.find("body")
        if body is None:
            return
        bar = next((el for el in body if isinstance(el.tag, str) and el.get("id") == TOOLBAR_ID), None)
        notice = next((el for el in body if isinstance(el.tag, str) and NOTICE_CLASS in (el.get("class") or "")),
                      None)
        if bar is None or notice is None:
            return
        inner = bar.find("div")
        if inner is None:
            return
        if notice.tail and notice.tail.strip():
            previous = notice.getprevious()
            if previous is not None:
                previous.tail = (previous.tail or "") + notice.tail
            else:
                body.text = (body.text or "") + notice.tail
        body.remove(notice)
        notice.attrib.pop("style", None)  # toolbar.css styles it (with the toolbar, in every mode)
        notice.set("class", f"{NOTICE_CLASS} {PREFIX}-notice")
        notice.tail = "\n"
        inner.append(notice)
