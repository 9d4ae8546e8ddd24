"""Rule files (rules/*.yaml): per-site, per-page-type repairs, validated into typed objects at load time.

A rule file describes one site (matched by upstream host) or, without `hosts`, the default set that
applies everywhere.  Each rule is a selector (CSS or XPath) plus actions, the way an HTML rewriter
pairs a selector with a handler; built-in heuristics are more of the same.  Every problem is reported
as ``file:line: problem``, all of them at once, so a rule author fixes a file in one pass.
"""
from __future__ import annotations

import fnmatch
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cssselect import GenericTranslator, SelectorError
from lxml import etree

from .modes import MODE_NAMES, PLAIN_TOKEN, TRAD_VARIANTS
from .yamlsource import Located, SourceError, load_file

log = logging.getLogger(__name__)

LANDMARK_ROLES = ("banner", "navigation", "main", "complementary", "contentinfo", "search", "region")
OTHER_ROLES = ("presentation", "none", "heading", "list", "listitem", "img", "button", "link", "dialog", "alert")
ROLES = LANDMARK_ROLES + OTHER_ROLES
# Where a rewired portal link leads: a mode toggle, back to plain, or to the proxy's own toolbar.
TOGGLES = MODE_NAMES + (PLAIN_TOKEN, "toolbar")
HEURISTICS = ("landmarks", "skip_link", "page_language", "page_title", "image_alt", "link_names", "form_labels",
              "frame_titles", "layout_tables", "viewport", "marquee", "meta_refresh", "autoplay", "toolbar_links")
TRAD_VARIANT_NAMES = tuple(v for v in TRAD_VARIANTS.values() if v)

# Action keys a rule may carry, with what each expects (used for validation and the JSON Schema).
ACTIONS = {
    "role": "one of the ARIA roles above; landmark roles may take a label",
    "label": "accessible name (aria-label) for the element",
    "alt": "alt text for images ('' marks an image as decoration)",
    "title": "title attribute, e.g. for iframes",
    "heading": "heading level 1-6 for a visual heading",
    "lang": "BCP 47 language tag for this part of the page",
    "remove": "true: take the element out (floating ads, pop-ups)",
    "neutralize": "true: keep the content, stop the motion (marquee, auto-play, meta refresh)",
    "toggle": "rewire the portal's own link: trad, elder, contrast, reader, plain, or toolbar (jump to it)",
    "skip_trad": "true: never convert this part to Traditional script",
    "elder_remove": "true: remove in elder mode only (ads, download and payment lures)",
}
_RULE_KEYS = {"select", "xpath", "comment", *ACTIONS}
_TOP_KEYS = {"site", "hosts", "trad", "heuristics", "rules", "pages", "comment"}
_PAGE_KEYS = {"name", "paths", "rules", "comment"}
_TRAD_KEYS = {"variant", "phrases", "skip", "search", "json", "notice"}

_CSS = GenericTranslator()


@dataclass(frozen=True)
class Rule:
    selector: str  # as written, for the debug view
    xpath: etree.XPath
    actions: dict[str, Any]
    source: str  # "file:line"


@dataclass(frozen=True)
class PageType:
    name: str
    paths: tuple[str, ...]
    rules: tuple[Rule, ...]

    def matches(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.paths)


@dataclass(frozen=True)
class TradOptions:
    variant: str | None = None
    phrases: dict[str, str] = field(default_factory=dict)
    skip: tuple[Rule, ...] = ()
    search: tuple[str, ...] = ()  # path patterns whose query / form body is converted back to Simplified
    json: tuple[str, ...] = ()  # path patterns whose JSON/JSONP string values are converted
    notice: str | None = None


@dataclass(frozen=True)
class SiteRules:
    file: str
    name: str
    hosts: tuple[str, ...]  # empty: the default set
    trad: TradOptions
    heuristics: dict[str, bool]
    rules: tuple[Rule, ...]
    pages: tuple[PageType, ...]


@dataclass(frozen=True)
class PageRules:
    """Everything the rules say about one page: what the pipeline's transforms consult."""

    rules: tuple[Rule, ...] = ()
    page_type: str | None = None
    sites: tuple[str, ...] = ()
    trad: TradOptions = TradOptions()
    heuristics: dict[str, bool] = field(default_factory=dict)

    def heuristic(self, name: str) -> bool:
        return self.heuristics.get(name, True)


class RuleSet:
    def __init__(self, sites: list[SiteRules]):
        self.sites = sites

    def for_page(self, hosts: str | tuple[str, ...], path: str) -> PageRules:
        """Rules for a page of the upstream known by `hosts` (its host name and aliases)."""
        names = [h.lower() for h in ((hosts,) if isinstance(hosts, str) else hosts)]
        default = [s for s in self.sites if not s.hosts]
        specific = [s for s in self.sites
                    if any(fnmatch.fnmatchcase(name, pattern) for pattern in s.hosts for name in names)]
        rules: list[Rule] = []
        page_type = None
        heuristics: dict[str, bool] = {}
        trad = TradOptions()
        for site in default + specific:  # a site's own file refines the defaults
            rules.extend(site.rules)
            heuristics.update(site.heuristics)
            trad = _merge_trad(trad, site.trad)
            for page in site.pages:
                if page.matches(path):
                    rules.extend(page.rules)
                    page_type = page.name
                    break
        return PageRules(tuple(rules), page_type, tuple(s.name for s in default + specific), trad, heuristics)


EMPTY = RuleSet([])


def _merge_trad(base: TradOptions, more: TradOptions) -> TradOptions:
    return TradOptions(
        variant=more.variant or base.variant,
        phrases={**base.phrases, **more.phrases},
        skip=base.skip + more.skip,
        search=base.search + more.search,
        json=base.json + more.json,
        notice=more.notice if more.notice is not None else base.notice,
    )


# --- loading and validation --------------------------------------------------------------------------

class RuleErrors(Exception):
    def __init__(self, errors: list[SourceError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def compile_selector(css: str | None, xpath: str | None) -> etree.XPath:
    if xpath is not None:
        return etree.XPath(xpath)
    return etree.XPath(_CSS.css_to_xpath(css or ""))


# A page with nothing on it: every XPath is tried on it once at load, so one that can only fail (an undefined
# namespace prefix or function) or that gives a number or a string instead of elements is reported with its
# file:line instead of failing on every page.
_EMPTY_PAGE = etree.fromstring("<html><head><title></title></head><body></body></html>", etree.HTMLParser())


def selector_problem(compiled: etree.XPath) -> str | None:
    """Why a compiled selector cannot select elements, or None."""
    try:
        found = compiled(_EMPTY_PAGE)
    except etree.XPathError as exc:
        return str(exc)
    if not isinstance(found, list):
        return f"it gives {_kind(found)}, not elements (a node-set such as //div[@class='x'])"
    return None


# A rule file's host: a host name, IPv4 address or name pattern (fnmatch: *, ?, [...]), optionally :port, as
# the upstream and its aliases are named.  A URL or a path could never match.
# (No re.I: the JSON Schema has the same text as its pattern, and JSON Schema patterns take no flags.)
_HOST_PATTERN = re.compile(r"[A-Za-z0-9*?\[\]!_.-]+(?::[0-9*?\[\]!-]+)?")
# Trad phrases go into OpenCC's text dictionary, one "simplified<TAB>traditional" per line: white space in
# either would split or corrupt the entry.
_SPACE = re.compile(r"\s")


class _Checker:
    """Collects every error of one file instead of stopping at the first."""

    def __init__(self, doc: Located):
        self.doc = doc
        self.errors: list[SourceError] = []

    def error(self, path: tuple, problem: str) -> None:
        self.errors.append(self.doc.error(path, problem))

    def mapping(self, path: tuple, value: Any, allowed: set[str], what: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a mapping, got {_kind(value)}")
            return {}
        for key in value:
            if key not in allowed:
                self.error(path + (key,), f"unknown key {key!r} in {what} (allowed: {', '.join(sorted(allowed))})")
        return value

    def strings(self, path: tuple, value: Any, what: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(path, f"{what} must be a string or a list of strings")
            return ()
        return tuple(value)

    def rule(self, path: tuple, raw: Any) -> Rule | None:
        raw = self.mapping(path, raw, _RULE_KEYS, "a rule")
        if not raw:
            if raw == {}:
                self.error(path, "a rule needs 'select' (CSS) or 'xpath'")
            return None
        css, xpath = raw.get("select"), raw.get("xpath")
        if (css is None) == (xpath is None):
            self.error(path, "a rule needs exactly one of 'select' (CSS) or 'xpath'")
            return None
        if not isinstance(css if css is not None else xpath, str):
            self.error(path + ("select" if css is not None else "xpath",), "a selector must be a string")
            return None
        try:
            compiled = compile_selector(css, xpath)
        except SelectorError as exc:
            self.error(path + ("select",), f"invalid CSS selector {css!r}: {exc}")
            return None
        except etree.XPathSyntaxError as exc:
            self.error(path + ("xpath",), f"invalid XPath {xpath!r}: {exc}")
            return None
        problem = selector_problem(compiled)
        if problem is not None:
            key = "select" if css is not None else "xpath"
            self.error(path + (key,), f"invalid {'CSS selector' if css is not None else 'XPath'} "
                                      f"{css if css is not None else xpath!r}: {problem}")
            return None
        actions = {k: v for k, v in raw.items() if k in ACTIONS}
        if not actions:
            self.error(path, f"a rule needs at least one action ({', '.join(ACTIONS)})")
        self._check_actions(path, actions)
        return Rule(css if css is not None else xpath, compiled, actions, f"{self.doc.file}:{self.doc.line(path)}")

    def _check_actions(self, path: tuple, actions: dict) -> None:
        role = actions.get("role")
        if role is not None and role not in ROLES:
            self.error(path + ("role",), f"unknown role {role!r} (known: {', '.join(ROLES)})")
        for key in ("label", "alt", "title", "lang"):
            if key in actions and not isinstance(actions[key], str):
                self.error(path + (key,), f"{key} must be a string")
        if "lang" in actions and isinstance(actions["lang"], str) and not _looks_like_lang(actions["lang"]):
            self.error(path + ("lang",), f"lang {actions['lang']!r} is not a language tag like zh-Hans or en")
        heading = actions.get("heading")
        if heading is not None and (not isinstance(heading, int) or isinstance(heading, bool)
                                    or heading not in range(1, 7)):
            self.error(path + ("heading",), f"heading must be a level from 1 to 6 (a whole number), got {heading!r}")
        for key in ("remove", "neutralize", "skip_trad", "elder_remove"):
            if key in actions and not isinstance(actions[key], bool):
                self.error(path + (key,), f"{key} must be true or false")
        toggle = actions.get("toggle")
        if toggle is not None and toggle not in TOGGLES:
            self.error(path + ("toggle",), f"unknown toggle {toggle!r} (known: {', '.join(TOGGLES)})")


def _kind(value: Any) -> str:
    for kind, name in ((bool, "true or false"), (str, "a string"), (list, "a list"), (dict, "a mapping"),
                       ((int, float), "a number")):
        if isinstance(value, kind):
            return name
    return "nothing" if value is None else type(value).__name__


def _looks_like_lang(tag: str) -> bool:
    parts = tag.split("-")
    return bool(parts[0]) and parts[0].isalpha() and 2 <= len(parts[0]) <= 3 and all(p.isalnum() for p in parts)


def load_site(doc: Located) -> SiteRules:
    """Validate one parsed rule file; raise RuleErrors listing every problem."""
    check = _Checker(doc)
    data = check.mapping((), doc.data, _TOP_KEYS, "a rule file")
    name = data.get("site", Path(doc.file).stem)
    if not isinstance(name, str):
        check.error(("site",), "site must be a string")
        name = Path(doc.file).stem
    hosts = _load_hosts(check, data["hosts"]) if "hosts" in data else ()
    heuristics: dict[str, bool] = {}
    for key, value in check.mapping(("heuristics",), data.get("heuristics"), set(HEURISTICS), "heuristics").items():
        if not isinstance(value, bool):
            check.error(("heuristics", key), f"heuristic {key} must be true or false")
        elif key in HEURISTICS:
            heuristics[key] = value
    trad = _load_trad(check, data.get("trad"))
    rules = _load_rules(check, ("rules",), data.get("rules"))
    pages = []
    raw_pages = data.get("pages")
    if raw_pages is not None and not isinstance(raw_pages, list):
        check.error(("pages",), "pages must be a list of page types")
        raw_pages = []
    for i, raw_page in enumerate(raw_pages or []):
        page = check.mapping(("pages", i), raw_page, _PAGE_KEYS, "a page type")
        if not page:
            continue
        if "paths" not in page:
            check.error(("pages", i), "a page type needs 'paths' (path patterns such as /art/*.html)")
        paths = check.strings(("pages", i, "paths"), page.get("paths", []), "paths")
        _check_paths(check, ("pages", i, "paths"), paths)
        pages.append(PageType(str(page.get("name", f"page{i + 1}")), paths,
                              _load_rules(check, ("pages", i, "rules"), page.get("rules"))))
    if check.errors:
        raise RuleErrors(check.errors)
    return SiteRules(doc.file, name, tuple(h.lower() for h in hosts), trad, heuristics, rules, tuple(pages))


def _load_hosts(check: _Checker, raw: Any) -> tuple[str, ...]:
    hosts = check.strings(("hosts",), raw, "hosts")
    if raw == []:
        # (without any host a file is the default set, for every site: leaving hosts out says that plainly)
        check.error(("hosts",), "hosts is empty: name the site's hosts, or leave hosts out for rules that "
                                "apply to every site")
    for i, host in enumerate(hosts):
        if not _HOST_PATTERN.fullmatch(host):
            check.error(("hosts", i) if isinstance(raw, list) else ("hosts",),
                        f"host {host!r} must be a host name such as www.example.gov.cn or a pattern such as "
                        "*.example.gov.cn, optionally with :port (no scheme or path)")
    return hosts


def _check_paths(check: _Checker, path: tuple, patterns: tuple[str, ...]) -> None:
    for i, pattern in enumerate(patterns):
        if not pattern.startswith("/"):  # (matched against the request's path, which always starts with /)
            check.error(path + (i,), f"path pattern {pattern!r} must start with /")


def _load_rules(check: _Checker, path: tuple, raw: Any) -> tuple[Rule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        check.error(path, "rules must be a list")
        return ()
    return tuple(r for i, item in enumerate(raw) if (r := check.rule(path + (i,), item)) is not None)


def _load_trad(check: _Checker, raw: Any) -> TradOptions:
    data = check.mapping(("trad",), raw, _TRAD_KEYS, "trad")
    variant = data.get("variant")
    if variant is not None and variant not in TRAD_VARIANT_NAMES:
        check.error(("trad", "variant"), f"unknown variant {variant!r} (known: {', '.join(TRAD_VARIANT_NAMES)})")
        variant = None
    phrases: dict[str, str] = {}
    raw_phrases = data.get("phrases")
    if raw_phrases is not None:
        if not isinstance(raw_phrases, dict):
            check.error(("trad", "phrases"), "phrases must map Simplified phrases to their Traditional form")
        else:
            for simplified, traditional in raw_phrases.items():
                if not isinstance(simplified, str) or not isinstance(traditional, str):
                    check.error(("trad", "phrases", simplified), "each phrase maps a string to a string")
                elif not simplified or not traditional or _SPACE.search(simplified + traditional):
                    check.error(("trad", "phrases", simplified),
                                f"phrase {simplified!r}: {traditional!r}: a phrase and its Traditional form must "
                                "not be empty or contain spaces, tabs or line breaks")
                else:
                    phrases[simplified] = traditional
    skip = []
    for i, selector in enumerate(check.strings(("trad", "skip"), data.get("skip", []), "skip")):
        try:
            skip.append(Rule(selector, compile_selector(selector, None), {"skip_trad": True},
                             f"{check.doc.file}:{check.doc.line(('trad', 'skip', i))}"))
        except SelectorError as exc:
            check.error(("trad", "skip", i), f"invalid CSS selector {selector!r}: {exc}")
    search = check.strings(("trad", "search"), data.get("search", []), "search")
    _check_paths(check, ("trad", "search"), search)
    json_paths = check.strings(("trad", "json"), data.get("json", []), "json")
    _check_paths(check, ("trad", "json"), json_paths)
    notice = data.get("notice")
    if notice is not None and not isinstance(notice, str):
        check.error(("trad", "notice"), "notice must be a string")
        notice = None
    return TradOptions(variant, phrases, tuple(skip), search, json_paths, notice)


def rule_files(directory: Path) -> list[Path]:
    """The rule files of a folder: *.yaml and *.yml, without hidden files (an editor's .#site.yaml lock or
    backup is not a rule file), as the start-up check (cli.check_rules) counts them."""
    return sorted(path for path in list(directory.glob("*.yaml")) + list(directory.glob("*.yml"))
                  if not path.name.startswith("."))


def load_rules_dir(directory: Path) -> tuple[RuleSet, list[SourceError]]:
    """Every rule file of a folder.  Files with errors are left out and their errors returned; a folder that is
    not there is an error (0 rules, silently, would undo every site's repairs)."""
    sites: list[SiteRules] = []
    errors: list[SourceError] = []
    if not directory.is_dir():
        return RuleSet(sites), [SourceError(str(directory), 0, "the rules folder is missing or not a folder")]
    for path in rule_files(directory):
        try:
            sites.append(load_site(load_file(path)))
        except RuleErrors as exc:
            errors.extend(exc.errors)
        except SourceError as exc:
            errors.append(exc)
    return RuleSet(sites), errors


def check_rules_dir(directory: Path) -> tuple[list[str], int]:
    """(every error as 'file:line: problem', number of files) for `a11y-proxy check-rules`."""
    if not directory.is_dir():
        return [f"{directory}: not a folder"], 0
    _, errors = load_rules_dir(directory)
    return [str(e) for e in errors], len(rule_files(directory))


class RulesStore:
    """The rule set in force, reloaded when files change; a broken new file never replaces a good set."""

    def __init__(self, directory: Path | None):
        self.directory = directory
        self.current = EMPTY
        self.errors: list[SourceError] = []
        self.version = 0
        self._stamp: tuple = ()

    def _fingerprint(self) -> tuple | None:
        """The rule files' names, times and sizes; None when the folder is gone (unlike an empty one)."""
        if self.directory is None:
            return ()
        if not self.directory.is_dir():
            return None
        stamps = []
        for p in rule_files(self.directory):
            try:
                stat = p.stat()
            except OSError:
                continue
            stamps.append((p.name, stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def load(self) -> bool:
        """(Re)load if files changed.  True when a new rule set took effect."""
        stamp = self._fingerprint()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        if self.directory is None:
            return False
        rules, errors = load_rules_dir(self.directory)
        self.errors = errors
        if errors:
            for error in errors:
                log.error("rules: %s", error)
            if self.version:  # keep the last good set in force
                log.error("rules: keeping the previous rule set (%d problem(s) in the new files)", len(errors))
                return False
            # First load: serve with the files that are valid rather than with none.
        self.current = rules
        self.version += 1
        log.info("rules: %d file(s) loaded from %s", len(rules.sites), self.directory)
        return True


def json_schema() -> dict:
    """The published JSON Schema of rule files (docs/rules.schema.json), built from the same tables
    the validator uses, so the two cannot drift apart."""
    string_list = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}

    def list_of(pattern: str) -> dict:  # one string or a non-empty list of them, each matching pattern
        item = {"type": "string", "pattern": pattern}
        return {"oneOf": [item, {"type": "array", "items": item, "minItems": 1}]}

    paths = list_of("^/")
    no_space = {"type": "string", "pattern": r"^\S+$"}  # (as _SPACE checks: OpenCC's dictionary lines)
    rule = {
        "type": "object",
        "additionalProperties": False,
        "oneOf": [{"required": ["select"]}, {"required": ["xpath"]}],
        "properties": {
            "select": {"type": "string", "description": "CSS selector (cssselect)"},
            "xpath": {"type": "string", "description": "XPath 1.0 expression"},
            "comment": {"type": "string"},
            "role": {"enum": list(ROLES), "description": ACTIONS["role"]},
            "label": {"type": "string", "description": ACTIONS["label"]},
            "alt": {"type": "string", "description": ACTIONS["alt"]},
            "title": {"type": "string", "description": ACTIONS["title"]},
            "heading": {"type": "integer", "minimum": 1, "maximum": 6, "description": ACTIONS["heading"]},
            "lang": {"type": "string", "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$", "description": ACTIONS["lang"]},
            "remove": {"type": "boolean", "description": ACTIONS["remove"]},
            "neutralize": {"type": "boolean", "description": ACTIONS["neutralize"]},
            "toggle": {"enum": list(TOGGLES), "description": ACTIONS["toggle"]},
            "skip_trad": {"type": "boolean", "description": ACTIONS["skip_trad"]},
            "elder_remove": {"type": "boolean", "description": ACTIONS["elder_remove"]},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://a11y-proxy.invalid/rules.schema.json",
        "title": "a11y-proxy rule file",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "site": {"type": "string", "description": "the site's name, for logs and the debug view"},
            "comment": {"type": "string"},
            "hosts": {**list_of(f"^(?:{_HOST_PATTERN.pattern})$"),
                      "description": "upstream host names (glob patterns, optionally :port); omit for the default set"},
            "heuristics": {"type": "object", "additionalProperties": False,
                           "properties": {h: {"type": "boolean"} for h in HEURISTICS}},
            "trad": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "variant": {"enum": list(TRAD_VARIANT_NAMES)},
                    "phrases": {"type": "object", "propertyNames": no_space, "additionalProperties": no_space,
                                "description": "Simplified phrase -> Traditional form, longest match first"},
                    "skip": {**string_list, "description": "CSS selectors never converted"},
                    "search": {**paths, "description": "path patterns of search endpoints"},
                    "json": {**paths, "description": "path patterns of JSON/JSONP responses to convert"},
                    "notice": {"type": "string"},
                },
            },
            "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
            "pages": {
                "type": "array",
                "items": {
                    "type": "object", "additionalProperties": False, "required": ["paths"],
                    "properties": {
                        "name": {"type": "string"},
                        "comment": {"type": "string"},
                        "paths": {**paths, "description": "path patterns, e.g. /xxgk/*/art_*.html"},
                        "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
                    },
                },
            },
        },
        "$defs": {"rule": rule},
    }
