"""The HTML pipeline: parse once, run an ordered list of transforms over the tree, serialize once.

A transform is a small object with a name, the modes that enable it, and ``apply(doc, page)``.  The
list in ``default_transforms`` is the one place that says which transforms exist and in what order.
``render`` is the whole pipeline on a string, used by the proxy, the ``render`` command, tests and
benchmarks alike.
"""
from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol

from yarl import URL

from . import document
from .modes import Modes
from .rules import PageRules
from .settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Page:
    """What a transform may know about the page it is rewriting."""

    url: URL  # the page's URL at the upstream
    modes: Modes
    settings: Settings
    prefix: str = ""  # the mode prefix ("/-/trad+elder") that links on this page must keep, or ""
    rules: PageRules = field(default_factory=PageRules)  # what the rule files say about this page
    notes: list[str] = field(default_factory=list)  # what transforms did, for logs and the debug view
    source_charset: str = "utf-8"  # the charset the upstream sent the page in (forms keep submitting in it)
    public_origin: str = ""  # "https://a11y.example.gov.cn" as the reader reached us, when known
    in_frame: bool = False  # the browser loads this page into an <iframe>/<frame> (Sec-Fetch-Dest)
    fragment: bool = False  # a piece of HTML a script fetched (a list, a panel): it must stay a piece
    deadline: float = math.inf  # time.monotonic() after which the render gives up (the page goes out as sent)

    @property
    def public_path(self) -> str:
        """This page's path and query as the reader sees it (with the mode prefix, if any)."""
        return self.prefix + (self.url.raw_path_qs or "/")

    @property
    def legacy_charset(self) -> str | None:
        """The charset the page's forms and link queries were submitted in, when not UTF-8 (GBK, Big5...); None
        for UTF-8, and for UTF-16, whose pages submit in UTF-8 (HTML's rule for forms and URL queries)."""
        if self.source_charset.startswith(("utf-8", "utf-16")):
            return None
        return self.source_charset

    @property
    def trad_config(self) -> str | None:
        """The OpenCC config this page is converted with, or None when trad is off.

        An explicit variant in the mode ('trad-hk') wins, then the site's rule file, then the config.
        """
        return trad_config_for(self.modes, self.rules, self.settings)


def trad_config_for(modes: Modes, rules: PageRules, settings: Settings) -> str | None:
    """OpenCC config for a request: the mode's explicit variant, else the site's rules, else the config."""
    if modes.trad is None:
        return None
    return modes.trad or rules.trad.variant or settings.trad_variant


def proxy_asset_url(doc: document.Document, page: Page, path: str) -> str:
    """URL for one of the proxy's own files (/-/static/...) as it must be written into this page.

    Root-relative works everywhere, except under a <base href> pointing at another site (login pages
    of hosted mail systems do this): there the browser would fetch our file from that site.
    """
    base = doc.root.find(".//base[@href]")
    if base is not None and page.public_origin and "//" in base.get("href", "")[:10]:
        return page.public_origin + path
    return path


class Stateless:
    """Base of every transform.  One transform object serves every page, on every executor thread at once,
    so it must hold nothing about the page it is working on: what a page needs lives in objects created
    inside ``apply`` and passed down.  The pipeline seals its transforms; setting an attribute on a sealed
    one raises, so per-page state is caught by the first test that renders a page, not by a reader who
    sees another reader's text."""

    _sealed = False

    def __setattr__(self, name: str, value) -> None:
        if self._sealed:
            raise AttributeError(f"{type(self).__name__}.{name}: transforms are shared by concurrent pages and "
                                 "must not store per-page state (keep it in an object made inside apply)")
        object.__setattr__(self, name, value)

    def seal(self) -> None:
        object.__setattr__(self, "_sealed", True)


class OverBudget(Exception):
    """The page took longer than its time budget; it goes out as the upstream sent it."""


class Transform(Protocol):
    name: str

    def enabled(self, modes: Modes) -> bool: ...

    def apply(self, doc: document.Document, page: Page) -> None: ...

    # Optional: a step on the serialized page, after every transform's tree step, e.g.
    # def apply_markup(self, markup: str, page: Page) -> str: ...
    # Optional: `fragment_safe = True` for the few transforms that also run on HTML fragments (see render).


class Pipeline:
    def __init__(self, transforms: list[Transform]):
        for transform in transforms:
            if not isinstance(transform, Stateless):
                raise TypeError(f"{transform!r}: transforms derive from pipeline.Stateless")
            transform.seal()
        self.transforms = tuple(transforms)

    def render(self, html: str, page: Page) -> str:
        """Transform page text.  Raises ValueError if the text cannot be parsed as HTML, OverBudget when
        page.deadline passes (checked between transforms: each is linear in the page, so it overruns by
        at most one transform's time)."""
        if page.fragment:
            return self.render_fragment(html, page)
        doc = document.parse(html)
        enabled = [transform for transform in self.transforms if transform.enabled(page.modes)]
        return self._run(doc, page, enabled)

    def render_fragment(self, html: str, page: Page) -> str:
        """A fragment (what a script fetched to put into a page that is already rewritten) gets only what
        keeps it working in the reader's modes: links kept on the proxy, Traditional script.  Nothing is
        added (no toolbar, no landmarks, no <head>): a whole page a script fetched is treated the same."""
        enabled = [transform for transform in self.transforms
                   if getattr(transform, "fragment_safe", False) and transform.enabled(page.modes)]
        if is_whole_document(html):
            return self._run(document.parse(html), page, enabled)
        doc, container = document.parse_fragment(html)
        return self._run(doc, page, enabled, container)

    def _run(self, doc: document.Document, page: Page, enabled: list, container=None) -> str:
        # lxml makes the Python object of an element when code reaches it and drops it when nothing holds it:
        # each transform's walks would make them all again.  Held through the tree steps, they are made once
        # (1-3 % of the 100 KB page's render); a page's first _KEPT_ELEMENTS only, so a huge one costs no more.
        kept = list(islice(doc.root.iter(), _KEPT_ELEMENTS))
        for transform in enabled:
            if time.monotonic() > page.deadline:
                raise OverBudget(f"over budget before {transform.name}")
            transform.apply(doc, page)
        markup = document.serialize(doc) if container is None else document.serialize_children(container)
        del kept  # (the markup steps work on the text)
        for transform in enabled:
            if hasattr(transform, "apply_markup"):
                if time.monotonic() > page.deadline:
                    raise OverBudget(f"over budget before {transform.name}'s markup step")
                markup = transform.apply_markup(markup, page)
        return markup


_KEPT_ELEMENTS = 50_000  # element objects held through a render (about 3 MB at most)


# A whole page names one of these somewhere (a fragment never does; a page may omit them all but a title).
_DOCUMENT_TAG = re.compile(r"<(?:!doctype|html|head|body|title|frameset)[\s>/]", re.I)


def is_whole_document(html: str) -> bool:
    return _DOCUMENT_TAG.search(html) is not None


def default_transforms(settings: Settings) -> list[Transform]:
    """Every transform, in the order they run.  Later ones see the earlier ones' output."""
    from .transforms.charset import DeclareUtf8
    from .transforms.contrast import HighContrast
    from .transforms.elder import ElderMode
    from .transforms.landmarks import Landmarks
    from .transforms.links import KeepReaderOnProxy
    from .transforms.names import Names
    from .transforms.pagefixes import PageBasics, PageTitle
    from .transforms.reader import ReaderView
    from .transforms.ruleactions import ApplyRules
    from .transforms.skiplink import SkipLink
    from .transforms.tables import LayoutTables
    from .transforms.toolbar import Toolbar, ToolbarNotice
    from .transforms.trad import TraditionalScript

    return [
        KeepReaderOnProxy(),  # links, forms, frames and redirects stay on the proxy and keep the mode prefix
        # Screen-reader repairs, in every mode (docs/accessibility.md): site rules first, then heuristics.
        ApplyRules(),  # rule files' actions (landmarks, names, toggles, skip_trad...), then toolbar links
        PageBasics(),  # <html lang>, zoomable viewport, no marquee / timed refresh / autoplay
        LayoutTables(),  # layout tables -> role=presentation
        Names(),  # names for images, links, buttons, fields, frames
        Landmarks(),  # banner, navigation, search, main, contentinfo; everything visible inside one
        PageTitle(),  # empty <title> from the main heading
        SkipLink(),  # 跳到主要内容 as the first focusable element (its text is converted by trad, below)
        ElderMode(),  # larger text: scales the page's own CSS, links a same-origin elder stylesheet
        ReaderView(),  # reader mode: the main content alone (after the repairs that mark the main landmark)
        HighContrast(),  # contrast mode: a same-origin stylesheet, linked last in <head>
        Toolbar(),  # the reader's toolbar: after the skip link and the modes, before trad (its labels get converted)
        TraditionalScript(),  # marks what is never converted; converts the serialized page, after all the rest
        ToolbarNotice(),  # trad's machine-conversion notice moved into the toolbar
        DeclareUtf8(),  # we always send UTF-8
    ]


def build_pipeline(settings: Settings) -> Pipeline:
    return Pipeline(default_transforms(settings))
