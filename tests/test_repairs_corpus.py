"""Screen-reader repairs over the real portal pages of ../shared/corpus, served as an upstream, plain mode,
heuristics only (no rule files), measured with axe-core in Chromium:

* every page has exactly one main landmark (Chromium's accessibility tree);
* zero violations of landmark-*, region (all visible content inside landmarks), bypass, html-has-lang,
  document-title, frame-title, meta-viewport, marquee, meta-refresh;
* image-alt, link-name, label and button-name violations down at least 90% against the same pages straight
  from the upstream;
* no rule among those the repairs could get wrong (roles, names, lists) violated more than upstream.

axe runs on each page's own document: a page's frames are documents of their own (axe-core compares landmark
names across frames, which docs/accessibility.md discusses).  Runs when ../shared is present; skips otherwise.
"""
from __future__ import annotations

import pytest

from proxy.settings import Toolbar
from tests.conftest import CORPUS_PAGES
from tests.harness import corpus_behind_proxy
from tests.test_repairs_browser import (NAMES, SAFETY, STRUCTURE, ax_landmarks, axe_landmark_rules, axe_source,
                                        inject, name_rules, new_violations)

# Measuring all pages (two loads and two axe runs each) happens once, in the first test's setup.
pytestmark = [pytest.mark.corpus, pytest.mark.browser, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def measurements(servers, chromium):
    """{page: {"upstream": {rule: nodes}, "proxy": {rule: nodes}, "landmarks": [(role, name)]}} for every page,
    measured once for all the tests below."""
    site = corpus_behind_proxy(servers, CORPUS_PAGES, "repairs over real portal pages not measured",
                               toolbar=Toolbar(enabled=False))
    with site as (upstream, proxied):
        source = axe_source()
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1,
                                       locale="zh-CN")
        try:
            yield measure(context, source, upstream, proxied)
        finally:
            context.close()


def measure(context, source: str, upstream: str, proxied: str) -> dict:
    """Both sides of every page at once: axe findings and the landmarks the proxied page exposes."""
    results = {}
    rules = None
    for name in CORPUS_PAGES:
        # Both sides at once (two renderers work in parallel; axe starts in both before either is awaited).
        pages = {side: context.new_page() for side in ("upstream", "proxy")}
        try:
            for side, base in (("upstream", upstream), ("proxy", proxied)):
                pages[side].goto(f"{base}/{name}", wait_until="commit")
            for page in pages.values():
                page.wait_for_load_state("load")
                inject(page, source, frames=False)
            if rules is None:
                rules = STRUCTURE + axe_landmark_rules(pages["proxy"]) + name_rules() + SAFETY
            for page in pages.values():
                start_axe(page, rules)
            row = {side: axe_results(page) for side, page in pages.items()}
            row["landmarks"] = ax_landmarks(pages["proxy"])
        finally:
            for page in pages.values():
                page.close()
        results[name] = row
    return {"pages": results, "structure": [r for r in rules if r not in name_rules() and r not in SAFETY]}


def start_axe(page, rules: list[str]) -> None:
    page.evaluate("(rules) => { window.__a11yAxe = axe.run(document, {runOnly: {type: 'rule', values: rules},"
                  " resultTypes: ['violations'], iframes: false}); }", rules)


def axe_results(page) -> dict[str, int]:
    found = page.evaluate("async () => (await window.__a11yAxe).violations.map(v => [v.id, v.nodes.length])")
    return {rule: count for rule, count in found}


@pytest.mark.parametrize("name", CORPUS_PAGES or ["(corpus absent)"])
def test_page_has_one_main_and_no_structural_violation(measurements, name):
    row = measurements["pages"][name]
    roles = [role for role, _ in row["landmarks"]]
    assert roles.count("main") == 1, row["landmarks"]
    structural = {rule: n for rule, n in row["proxy"].items() if rule in measurements["structure"]}
    assert structural == {}, f"upstream had {row['upstream']}"


@pytest.mark.parametrize("name", CORPUS_PAGES or ["(corpus absent)"])
def test_page_gets_no_new_violation(measurements, name):
    row = measurements["pages"][name]
    assert new_violations(row["upstream"], row["proxy"]) == {}


def test_name_violations_down_90_percent(measurements):
    totals = {}
    for group, rules in NAMES.items():
        before = sum(row["upstream"].get(r, 0) for row in measurements["pages"].values() for r in rules)
        after = sum(row["proxy"].get(r, 0) for row in measurements["pages"].values() for r in rules)
        totals[group] = (before, after)
    before = sum(b for b, _ in totals.values())
    after = sum(a for _, a in totals.values())
    assert before > 0
    assert after <= 0.1 * before, totals
    for group, (b, a) in totals.items():
        assert a <= max(0.1 * b, 1), (group, totals)
