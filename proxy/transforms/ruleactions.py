"""Rule files at work: every rule's selector, then its actions, on the page (site knowledge first).

A rule is a selector plus actions (see ``proxy.rules.ACTIONS``).  An action that would give an element
semantics it cannot have is refused and reported (in ``page.notes``, the log and the debug view) rather
than applied: no landmark role on a data table's cells, no second main, no banner inside main, no name on
an element that may not have one.  Where the element's own semantics stand in the way but a neutral box
around it can carry the role (a data table, a list), the box carries it.

After the rules, the ``toolbar_links`` heuristic rewires the portal's own 繁体版 / 长者版 / 无障碍 links that
no rule matched, by their text.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from lxml import etree

from ..document import Document
from ..pipeline import Page
from ..rules import Rule
from .aria import ACCELERATOR as MEASURING
from .aria import (HEADINGS, LANDMARK_ROLES, SINGLE_ROLES, TOP_LEVEL_ROLES, RepairTransform, Repairs, TextAppends,
                   describe, drop, explicit_role, find_landmarks, heuristic, is_data_table, iter_elements, landmark_of,
                   place_landmark, role_allowed, squash, tag_of, text_of)
from .pagefixes import XML_LANG, neutralize

SKIP_TRAD = "data-a11y-skip-trad"  # the trad transform leaves elements with this attribute unconverted
TOOLBAR_ANCHOR = "#a11y-proxy-toolbar"
_NAMEABLE = frozenset({"a", "button", "input", "select", "textarea", "nav", "aside", "section", "form", "main",
                       "header", "footer", "table", "fieldset", "details", "dialog", "iframe", "frame", "img",
                       "area", "video", "audio", "object", "embed", "meter", "progress", "output", "summary",
                       "article", "figure", "ul", "ol", "dl", "svg", "math"})
_FOCUSABLE = etree.XPath("boolean(self::a[@href] | self::button | self::input | self::select | self::textarea"
                         " | self::*[@tabindex])")


def toggle_href(mode: str, page: Page) -> str:
    if mode == "toolbar":
        return TOOLBAR_ANCHOR
    return f"/-/toggle/{mode}?next={quote(page.public_path, safe='/')}"


def rewire(el, mode: str, page: Page) -> etree._Element | None:
    """Point the portal's own mode link at the proxy's toggle; its scripts (onclick...) no longer run."""
    link = el if tag_of(el) in ("a", "area") else next(iter_elements(el, "a"), None)
    if link is None or (mode == "toolbar" and not page.settings.toolbar.enabled):
        return None  # no toolbar to jump to: the portal's own link stays as it was
    link.set("href", toggle_href(mode, page))
    for attribute in list(link.attrib):
        if attribute.lower().startswith("on") or attribute.lower() == "target":
            del link.attrib[attribute]
    return link


class ApplyRules(RepairTransform):
    name = "rules"

    def apply(self, doc: Document, page: Page) -> None:
        log = self.log(page)
        removals: list = []
        known = KnownLandmarks(doc)
        for rule in page.rules.rules:
            try:
                found = rule.xpath(doc.root)
            except etree.XPathError as exc:
                log.note(f"{rule.source}: selector {rule.selector!r} failed: {exc}")
                continue
            elements = [e for e in found if isinstance(e, etree._Element) and isinstance(e.tag, str)] \
                if isinstance(found, list) else []
            if not elements:
                if log.explain:
                    log.note(f"{rule.source}: {rule.selector!r} matched nothing on this page")
                continue
            for el in elements:
                Actions(doc, page, log, rule, removals, known).apply(el)
        appends = TextAppends()  # (the text after each removed element is joined once, at the end)
        for el in removals:
            drop(el, appends)
        appends.flush()
        if page.rules.heuristic("toolbar_links"):
            self.toolbar_links(doc, page, log)
        log.finish()

    @staticmethod
    def toolbar_links(doc: Document, page: Page, log: Repairs) -> None:
        for link in toggle_candidates(doc.root):
            href = (link.get("href") or "").strip()
            if href.startswith(("/-/toggle/", "/-/set/", TOOLBAR_ANCHOR)):
                continue  # a rule did it already
            text = squash("".join(link.itertext())).replace(" ", "")
            mode = _TOGGLE_TEXTS.get(text)
            scripted = not href or href.startswith(("#", "javascript:")) or link.get("onclick") is not None \
                or "stranlink" in (link.get("id") or "").lower()
            if mode and scripted and rewire(link, mode, page) is not None:
                log.mark(link, f"toggle {mode}", heuristic("toolbar_links"))


# Links whose short text could be a mode switch (the XPath preselects in C; _TOGGLE_TEXTS decides).
# /descendant::a rather than //a: libxml2 turns //a into one descendant walk only when the step has no
# predicate; with one, it collects every node of the page first.  The translate() test (does the text hold
# any first character of the words below?) reads each link's text once, and rules out nearly every link
# before the nine contains() do: 0.5 -> 0.2 ms on the 100 KB page, the same links on every corpus page.
_TOGGLE_CANDIDATES = etree.XPath(
    "/descendant::a[translate(., '繁长关适老敬无正', '') != .][string-length(normalize-space(.)) <= 8]"
    "[contains(., '繁') or contains(., '长者') or contains(., '关怀') or contains(., '适老') or contains(., '老年')"
    " or contains(., '敬老') or contains(., '无障碍') or contains(., '正体') or contains(., '正體')]")
_TOGGLE_WORDS = ("繁", "长者", "关怀", "适老", "老年", "敬老", "无障碍", "正体", "正體")
_XPATH_SPACE = re.compile("[ \t\r\n]+")  # (normalize-space()'s white space: not Unicode's)


def toggle_candidates(root) -> list:
    """_TOGGLE_CANDIDATES: in one C walk where it was built (a sixth of the XPath's time), which finds the
    links whose text holds one of the words; string-length(normalize-space(.)) <= 8 is then told of those."""
    if MEASURING is None:
        return _TOGGLE_CANDIDATES(root)
    return [link for link in MEASURING.containing(root, ("a",), _TOGGLE_WORDS)
            if len(_XPATH_SPACE.sub(" ", "".join(link.itertext())).strip(" \t\r\n")) <= 8]


_TOGGLE_TEXTS = {
    **dict.fromkeys(("繁体", "繁體", "繁体版", "繁體版", "繁体中文", "繁體中文", "中文繁体", "中文繁體", "转繁体",
                     "转繁体版", "轉繁體", "繁", "正体", "正體"), "trad"),
    **dict.fromkeys(("长者版", "长者模式", "关怀版", "适老版", "适老化", "老年版", "长者助手", "关怀模式", "敬老版",
                     "长者浏览"), "elder"),
    **dict.fromkeys(("无障碍", "无障碍浏览", "无障碍版", "无障碍阅读", "无障碍模式", "无障碍工具", "无障碍工具条",
                     "信息无障碍", "无障碍辅助"), "toolbar"),
}


def outermost_landmark_around(el) -> tuple | None:
    """(element, role) of the outermost landmark el lies in, or None: the one first in document order."""
    found = None
    for ancestor in el.iterancestors():
        role = landmark_of(ancestor)
        if role:
            found = (ancestor, role)
    return found


class KnownLandmarks:
    """The page's landmarks while the rules run, found again only after an action that may have changed them
    (a rule giving role=main to thousands of elements looked for every landmark of the page each time)."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.found: list | None = None

    def all(self) -> list[tuple]:
        if self.found is None:
            self.found = find_landmarks(self.doc.root)
        return self.found

    def changed(self) -> None:
        self.found = None


class Actions:
    """Applies one rule's actions to one element."""

    def __init__(self, doc: Document, page: Page, log: Repairs, rule: Rule, removals: list,
                 known: KnownLandmarks):
        self.doc, self.page, self.log, self.rule, self.removals = doc, page, log, rule, removals
        self.known = known

    def refuse(self, el, why: str) -> None:
        self.log.note(f"{self.rule.source}: {describe(el)}: {why}")

    def apply(self, el) -> None:
        actions, source = self.rule.actions, self.rule.source
        if actions.get("elder_remove"):
            pass  # elder mode's business
        if actions.get("remove"):
            self.removals.append(el)
            self.log.note(f"{source}: {describe(el)} removed")
            self.log.count += 1
            return
        role = actions.get("role")
        if role is not None:
            self.role(el, role, actions.get("label"), actions.get("heading"))
        elif "label" in actions:
            self.label(el, actions["label"])
        if "heading" in actions and role in (None, "heading"):
            if role is None:
                self.heading(el, actions["heading"])
        if "alt" in actions:
            self.alt(el, actions["alt"])
        if "title" in actions:
            el.set("title", actions["title"])
            self.known.changed()  # (a title names a section or form: a landmark now)
            self.log.mark(el, f"title “{actions['title']}”", source)
        if "lang" in actions:
            el.set("lang", actions["lang"])
            if el.get(XML_LANG) is not None:
                el.set(XML_LANG, actions["lang"])
            self.log.mark(el, f"lang={actions['lang']}", source)
        if actions.get("neutralize"):
            self.known.changed()
            for what in neutralize(el) or ["nothing moving found"]:
                self.log.mark(el, what, source)
        if "toggle" in actions:
            link = rewire(el, actions["toggle"], self.page)
            if link is None:
                off = actions["toggle"] == "toolbar" and not self.page.settings.toolbar.enabled
                self.refuse(el, "toggle toolbar: the toolbar is off in the config, the link stays as it was" if off
                            else "toggle: no link here")
            else:
                self.log.mark(link, f"toggle {actions['toggle']}", source)
        if actions.get("skip_trad"):
            el.set(SKIP_TRAD, "")
            self.log.mark(el, "not converted to Traditional", source)

    # --- roles ---

    def role(self, el, role: str, label: str | None, level: int | None) -> None:
        source = self.rule.source
        if role in LANDMARK_ROLES:
            self.landmark(el, role, label)
        elif role == "heading":
            self.heading(el, level or 2)
        elif role in ("presentation", "none"):
            if _FOCUSABLE(el):
                self.refuse(el, f"role={role} on a focusable element would conflict (presentation-role-conflict)")
            elif tag_of(el) == "table" and is_data_table(el):
                self.refuse(el, f"role={role} refused: a data table (header cells, caption or summary)")
            elif not role_allowed(el, role):
                self.refuse(el, f"role={role} is not allowed on <{tag_of(el)}>")
            else:
                el.set("role", role)
                self.known.changed()
                self.log.mark(el, f"role={role}", source)
        else:
            current = explicit_role(el)
            if not role_allowed(el, role) or current not in ("", "none", "presentation", role):
                self.refuse(el, f"role={role} is not allowed on <{tag_of(el)}>"
                            + (f" with role={current}" if current else ""))
                return
            el.set("role", role)
            if label:
                el.set("aria-label", label)
            self.known.changed()
            self.log.mark(el, f"role={role}" + (f" “{label}”" if label else ""), source)

    def landmark(self, el, role: str, label: str | None) -> None:
        if landmark_of(el) == role:
            if label:
                el.set("aria-label", label)
                self.known.changed()
            self.log.mark(el, f"landmark {role}" + (f" “{label}”" if label else ""), self.rule.source, "landmark")
            return
        if role in SINGLE_ROLES:
            other = next((e for e, r in self.known.all() if r == role and e is not el), None)
            if other is not None:
                self.refuse(el, f"landmark {role} refused: the page has one already ({describe(other)})")
                return
        if role in TOP_LEVEL_ROLES:
            inside = outermost_landmark_around(el)
            if inside is not None:
                self.refuse(el, f"landmark {role} refused: it would be inside landmark {inside[1]} "
                                f"({describe(inside[0])})")
                return
            holds = next(((e, r) for e, r in find_landmarks(el) if e is not el and r in TOP_LEVEL_ROLES), None)
            if holds is not None:
                self.refuse(el, f"landmark {role} refused: it holds landmark {holds[1]} ({describe(holds[0])})")
                return
        if role == "region" and not label:
            label = next((text_of(h, 40) for h in el.iter(*HEADINGS)), "") or None
            if not label:
                self.refuse(el, "landmark region needs a label (a region without a name is not a landmark)")
                return
        carrier = place_landmark(el, role, label)
        if carrier is None:
            self.refuse(el, f"landmark {role} refused: <{tag_of(el)}> can neither take the role nor be wrapped")
            return
        self.known.changed()
        self.log.mark(carrier, f"landmark {role}" + (f" “{label}”" if label else "")
                      + (" (on a box around it: its own semantics stay)" if carrier is not el else ""),
                      self.rule.source, "landmark")

    def heading(self, el, level: int) -> None:
        if tag_of(el) in HEADINGS:
            self.log.mark(el, f"already a heading (<{tag_of(el)}>), left alone", self.rule.source)
            return
        if not role_allowed(el, "heading") or explicit_role(el) not in ("", "none", "presentation", "heading"):
            self.refuse(el, f"heading refused: <{tag_of(el)}> cannot be a heading")
            return
        el.set("role", "heading")
        el.set("aria-level", str(level))
        self.known.changed()
        self.log.mark(el, f"heading level {level}", self.rule.source)

    # --- names ---

    def label(self, el, label: str) -> None:
        tag = tag_of(el)
        source = self.rule.source
        if tag in ("img", "area") or (tag == "input" and (el.get("type") or "").lower() == "image"):
            el.set("alt", label)
            self.log.mark(el, f"alt “{label}”", source)
        elif tag in ("iframe", "frame"):
            el.set("title", label)
            self.log.mark(el, f"title “{label}”", source)
        elif tag in _NAMEABLE or explicit_role(el) not in ("", "none", "presentation", "generic"):
            el.set("aria-label", label)
            self.known.changed()  # (a name makes a section or form a landmark)
            self.log.mark(el, f"name “{label}”", source)
        else:
            self.refuse(el, f"label refused: a plain <{tag}> may not have a name (aria-label); give it a role too")

    def alt(self, el, alt: str) -> None:
        tag = tag_of(el)
        if tag in ("img", "area") or (tag == "input" and (el.get("type") or "").lower() == "image"):
            targets = [el]
        else:
            targets = list(iter_elements(el, "img"))
        if not targets:
            self.refuse(el, "alt: no image here")
        for image in targets:
            image.set("alt", alt)
            self.log.mark(image, f"alt “{alt}”" if alt else "alt=\"\" (decoration)", self.rule.source)
