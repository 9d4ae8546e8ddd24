"""Keep the reader on the proxy: rewrite URLs that point at the upstream, and keep the mode prefix.

Third-party URLs are never touched.  Relative URLs need no change: they resolve against the page's
public URL, which already carries the prefix.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from lxml import etree

from ..document import Document
from ..modes import Modes
from ..pipeline import Page, Stateless
from ..urls import UpstreamLinks
from .aria import ACCELERATOR as MEASURING

# (attribute, navigational?) per element.  Navigational URLs keep the mode prefix.
_NAVIGATIONAL = {
    ("a", "href"), ("area", "href"), ("form", "action"), ("iframe", "src"), ("frame", "src"),
    ("base", "href"), ("button", "formaction"), ("input", "formaction"),
}
_URL_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "data", "background", "longdesc", "cite",
                   "srcset")
_URL_ATTRIBUTE_SET = frozenset(_URL_ATTRIBUTES)


def _url_attributes(root, names: tuple[str, ...] = _URL_ATTRIBUTES):
    """(element, attribute, value) for every attribute of names (the URL attributes): in one C walk where the
    accelerator was built (_measure.with_attributes), else _url_attributes_in_python.  (Each is rewritten on
    its own: their order within an element does not matter.)"""
    if MEASURING is not None:
        return MEASURING.with_attributes(root, names)
    return _url_attributes_in_python(root, frozenset(names))


def _url_candidates(root, hosts: tuple[str, ...]) -> list[tuple]:
    """The URL and style attributes KeepReaderOnProxy.apply reads (hosts: the upstream's names, no ports).  In C
    where it was built, leaving out those the loop there would pass over (most links of a portal page lead
    elsewhere, and most styles name no host: on the 100 KB page, 20 of 330 are left), else every one; the loop's
    own tests decide either way."""
    names = _URL_ATTRIBUTES + ("style",)
    if MEASURING is not None and len(hosts) <= 32:
        return MEASURING.url_candidates(root, names, hosts, hosts)
    return _url_attributes(root, names)


def _url_attributes_in_python(root, names: frozenset[str] = _URL_ATTRIBUTE_SET):
    """_url_attributes in one pass over the elements.  An XPath union of ten attribute paths walks the tree
    ten times: 200 ms on a 2 MB page, against 40 ms here."""
    found = []
    isdisjoint = names.isdisjoint
    for element in root.iter(etree.Element):
        present = element.keys()  # (no attrib proxy: a quarter faster, most elements having no URL attribute)
        if present and not isdisjoint(present):
            for name in names.intersection(present):
                found.append((element, name, element.get(name)))
    return found


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")\s]+)\1\s*\)""", re.I)


def links_for(page: Page) -> UpstreamLinks:
    return UpstreamLinks(page.settings.upstream_hosts(), page.prefix)


def upstream_names(links: UpstreamLinks) -> tuple[str, ...]:
    """The upstream's host names as they must appear in any absolute URL that points at it (ports left off)."""
    return tuple({_PORT.sub("", host) for host in links.hosts})


_PORT = re.compile(r":[0-9]*$")
_URL_SPACE = re.compile("[\t\r\n%]")  # what URL parsing takes out of a host or decodes in it


def cannot_name(url: str, names: tuple[str, ...]) -> bool:
    """True when url, whatever it is, cannot point at a host in names: it is ASCII without tabs, newlines or
    percent escapes (nothing URL parsing could turn into a name) and holds none of them.  Most links on a
    portal page go to other sites: parsing each of them (yarl) to learn that cost more than the rest of this
    transform."""
    if not url.isascii() or _URL_SPACE.search(url):
        return False
    lowered = url.lower()
    for name in names:  # (a loop, not any() over a generator: this runs for most links of a page)
        if name in lowered:
            return False
    return True


class KeepReaderOnProxy(Stateless):
    name = "links"
    fragment_safe = True

    def enabled(self, modes: Modes) -> bool:
        return True

    def apply(self, doc: Document, page: Page) -> None:
        links = links_for(page)
        hosts = upstream_names(links)
        styles = []  # (style attributes, found in the same walk: their url(...) are rewritten below)
        for element, attribute, value in _url_candidates(doc.root, hosts):
            if attribute == "style":
                styles.append((element, value))
                continue
            # Relative URLs ("a.html", "#top", "javascript:") never change: skip them cheaply.
            if not value.startswith(("/", "h", "H", " ")) and attribute != "srcset":
                continue
            if value.startswith(("h", "H", "//")) and attribute != "srcset" and cannot_name(value, hosts):
                continue  # another site's URL (or a relative one): no need to parse it to know
            if attribute == "srcset":
                new = _rewrite_srcset(value, links)
            else:
                tag = element.tag
                navigational = (tag, attribute) in _NAVIGATIONAL or (
                    tag == "link" and attribute == "href" and "stylesheet" in (element.get("rel") or "").lower())
                new = links.rewrite(value, navigational)
            if new is not None and new != value:
                element.set(attribute, new)
        self._meta_refresh(doc, page, links)
        self._css_urls(doc, styles, links)
        if page.legacy_charset is not None:
            self._legacy_queries(doc, page.legacy_charset)

    @staticmethod
    def _legacy_queries(doc: Document, codec: str) -> None:
        """In a GBK page, a browser sends a link's non-ASCII query in GBK; the page now goes out as UTF-8,
        so write those queries percent-encoded in GBK, or the portal would receive UTF-8 it cannot read."""
        for element, attribute, value in _url_attributes(doc.root):
            if value.isascii() or "?" not in value or attribute == "srcset":
                continue
            head, _, query = value.partition("?")
            query, hash_, fragment = query.partition("#")
            encoded = _NON_ASCII.sub(lambda m: quote(m.group(0).encode(codec, errors="xmlcharrefreplace")), query)
            element.set(attribute, f"{head}?{encoded}{hash_}{fragment}")

    @staticmethod
    def _meta_refresh(doc: Document, page: Page, links: UpstreamLinks) -> None:
        for meta in doc.root.iter("meta"):
            if (meta.get("http-equiv") or "").lower() == "refresh" and meta.get("content"):
                meta.set("content", links.rewrite_refresh(meta.get("content"), page.url))

    @staticmethod
    def _css_urls(doc: Document, styles: list[tuple], links: UpstreamLinks) -> None:
        """Absolute upstream url(...) in style attributes (styles: (element, value)) and <style> blocks (rare,
        but they break images)."""
        hosts = upstream_names(links)  # (names without ports: see apply)

        def fix(text: str) -> str:
            for host in hosts:  # (most styles name no host: a plain loop, no generator)
                if host in text:
                    break
            else:
                return text
            return _CSS_URL.sub(lambda m: m.group(0).replace(
                m.group(2), links.rewrite(m.group(2), navigational=False) or m.group(2)), text)

        for element, value in styles:
            fixed = fix(value)
            if fixed != value:
                element.set("style", fixed)
        for style in doc.root.iter("style"):
            if style.text:
                style.text = fix(style.text)


def _rewrite_srcset(value: str, links: UpstreamLinks) -> str | None:
    parts = []
    changed = False
    for candidate in value.split(","):
        bits = candidate.strip().split(None, 1)
        if not bits:
            continue
        new = links.rewrite(bits[0], navigational=False)
        if new is not None:
            changed = True
            bits[0] = new
        parts.append(" ".join(bits))
    return ", ".join(parts) if changed else None
