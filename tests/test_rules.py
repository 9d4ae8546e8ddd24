"""Rule files: validation with file:line errors, the published schema, matching, and reloading."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from proxy.rules import RulesStore, json_schema, load_rules_dir
from tests.conftest import ROOT

BAD = """site: 坏
hosts: [a.gov.cn]
rulez: []
rules:
  - select: "div..x"
    role: banner
  - xpath: "//div[@"
    role: main
  - select: div.nav
    role: navigaton
    heading: 9
  - select: p
pages:
  - name: x
    paths: ["art/*.html"]
"""


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxy", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_bundled_rules_are_valid():
    result = run_cli("check-rules", "rules")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_every_error_reported_with_file_and_line(tmp_path):
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "syntax.yaml").write_text("a: [1\n", encoding="utf-8")
    (tmp_path / "dup.yaml").write_text("site: x\nsite: y\n", encoding="utf-8")
    result = run_cli("check-rules", str(tmp_path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    bad = str(tmp_path / "bad.yaml")
    expected = [
        f"{bad}:3: unknown key 'rulez'",
        f"{bad}:5: invalid CSS selector 'div..x'",
        f"{bad}:7: invalid XPath '//div[@'",
        f"{bad}:10: unknown role 'navigaton'",
        f"{bad}:11: heading must be a level from 1 to 6",
        f"{bad}:12: a rule needs at least one action",
        f"{bad}:15: path pattern 'art/*.html' must start with /",
        f"{tmp_path / 'syntax.yaml'}:2: invalid YAML",
        f"{tmp_path / 'dup.yaml'}:2: duplicate key 'site'",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, lines)


def test_published_schema_is_current_and_agrees_with_validator(tmp_path):
    published = json.loads((ROOT / "docs" / "rules.schema.json").read_text(encoding="utf-8"))
    assert published == json_schema(), "run: a11y-proxy rules-schema > docs/rules.schema.json"
    validator = jsonschema.Draft202012Validator(published)
    for path in (ROOT / "rules").glob("*.yaml"):
        validator.validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert list(validator.iter_errors(yaml.safe_load(BAD)))
    # What loading refuses beyond types, the schema refuses too (an editor shows it while the file is written).
    for bad in ("hosts: []", "hosts: ['https://www.example.gov.cn/']", "trad: {phrases: {'发 展': 發展}}",
                "trad: {phrases: {发展: ''}}", "trad: {json: [api/*.json]}", "pages: [{paths: art/*.html}]"):
        assert list(validator.iter_errors(yaml.safe_load(bad))), bad
        errors = load_rules_text(tmp_path, bad)
        assert errors, bad
    for good in ("hosts: [WWW.Example.gov.cn, '*.example.gov.cn:8080']", "trad: {phrases: {发展: 發展}}"):
        assert not list(validator.iter_errors(yaml.safe_load(good))) and not load_rules_text(tmp_path, good), good


def load_rules_text(folder, text: str) -> list:
    path = folder / "one" / "site.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    return load_rules_dir(path.parent)[1]


def test_rules_match_site_and_page_type():
    rules, errors = load_rules_dir(ROOT / "rules")
    assert not errors
    article = rules.for_page(("127.0.0.1", "www.shifan.gov.cn"), "/xxgk/2026/art_1001.html")
    assert article.page_type == "article"
    assert article.sites == ("通用规则", "示范市人民政府")
    assert article.trad.phrases["锡山区"] == "錫山區"
    assert any(r.actions.get("role") == "main" for r in article.rules)
    other_site = rules.for_page("www.other.gov.cn", "/xxgk/2026/art_1001.html")
    assert other_site.page_type is None and other_site.sites == ("通用规则",)
    assert not any(r.actions.get("role") == "banner" for r in other_site.rules)


def test_reload_keeps_last_good_set(tmp_path):
    good = tmp_path / "site.yaml"
    good.write_text("hosts: [a.gov.cn]\nrules:\n  - select: div.top\n    role: banner\n", encoding="utf-8")
    store = RulesStore(tmp_path)
    assert store.load() and store.version == 1
    assert len(store.current.for_page("a.gov.cn", "/").rules) == 1

    good.write_text("hosts: [a.gov.cn]\nrules:\n  - select: div.top\n    role: bannr\n", encoding="utf-8")
    _touch_later(good)
    assert not store.load()
    assert store.errors and "bannr" in str(store.errors[0])
    assert store.current.for_page("a.gov.cn", "/").rules[0].actions["role"] == "banner"  # still the good one

    good.write_text("hosts: [a.gov.cn]\nrules:\n  - select: div.top\n    role: region\n    label: 顶部\n",
                    encoding="utf-8")
    _touch_later(good)
    assert store.load() and store.version == 2
    assert store.current.for_page("a.gov.cn", "/").rules[0].actions["role"] == "region"


def _touch_later(path: Path) -> None:
    stamp = time.time() + 5
    os.utime(path, (stamp, stamp))


# --- YAML that rule and config files do not accept: a file:line error, never a traceback -----------------

# Each: (file text, line of the error, what the error says).
UNSUPPORTED_YAML = {
    "merge-key": ("site: x\nrules:\n  - <<: {role: main}\n    select: div\n", 3, "merge keys (<<)"),
    "merge-key-alias": ("base: &b {role: main}\nrules:\n  - <<: *b\n    select: div\n", 1, "anchor &b"),
    "local-tag": ("site: x\nhosts: !foo bar\n", 2, "unsupported YAML tag !foo"),
    "python-tag": ("site: !!python/object/apply:os.system ['true']\n", 1, "unsupported YAML tag !!python/"),
    "typed-wrongly": ("site: x\nrules:\n  - select: p\n    heading: !!int two\n", 4, "invalid value"),
    "self-reference": ("site: x\nrules: &x [*x]\n", 2, "anchor &x"),
    # Billion laughs: 229 bytes that expand to a million values.
    "billion-laughs": ("comment: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"x{n}: &{n} [" + ",".join([f"*{p}"] * 10) + "]\n" for p, n in zip("abcde", "bcdef")), 1, "anchor &a"),
    "nested-too-deeply": ("rules: " + "[" * 2000 + "]" * 2000 + "\n", 1, "nested too deeply"),
}


@pytest.mark.parametrize("name", UNSUPPORTED_YAML)
def test_unsupported_yaml_is_a_located_error(tmp_path, name):
    text, line, problem = UNSUPPORTED_YAML[name]
    (tmp_path / "site.yaml").write_text(text, encoding="utf-8")
    started = time.monotonic()
    _, errors = load_rules_dir(tmp_path)
    if name == "billion-laughs":
        assert time.monotonic() - started < 0.5  # (it took seconds, on the event loop, at each reload)
    assert [(e.file, e.line) for e in errors] == [(str(tmp_path / "site.yaml"), line)], errors
    assert problem in errors[0].problem


def test_check_rules_reports_unsupported_yaml_by_file_and_line(tmp_path):
    for name, (text, _, _) in UNSUPPORTED_YAML.items():
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    result = run_cli("check-rules", str(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    for name, (_, line, problem) in UNSUPPORTED_YAML.items():
        assert any(f"{tmp_path / name}.yaml:{line}: " in error and problem in error
                   for error in result.stderr.splitlines()), (name, result.stderr)


def test_reload_keeps_the_rules_when_a_file_is_unsupported_yaml(tmp_path, caplog):
    (tmp_path / "site.yaml").write_text(GOOD_SITE, encoding="utf-8")
    store = RulesStore(tmp_path)
    assert store.load()
    for name, (text, line, _) in UNSUPPORTED_YAML.items():
        bad = tmp_path / "site.yaml"
        bad.write_text(text, encoding="utf-8")
        _touch_later(bad)
        caplog.clear()
        assert not store.load(), name
        assert store.current.for_page("a.gov.cn", "/").rules[0].actions["role"] == "banner"
        assert f"{bad}:{line}: " in caplog.text and "keeping the previous rule set" in caplog.text


GOOD_SITE = "hosts: [a.gov.cn]\nrules:\n  - select: div.top\n    role: banner\n"


# --- what the validator refuses, each at its line --------------------------------------------------------

@pytest.mark.parametrize("text, lines, problem", [
    # XPath that can only fail, or that gives no elements: elder and reader would fail on every page.
    ("rules:\n  - xpath: '//ns:div'\n    elder_remove: true\n", [2], "Undefined namespace prefix"),
    ("rules:\n  - xpath: 'count(//div)'\n    role: main\n", [2], "gives a number, not elements"),
    ("rules:\n  - xpath: 'string(//title)'\n    role: main\n", [2], "gives a string, not elements"),
    ("rules:\n  - xpath: 'no-such-function(//div)'\n    remove: true\n", [2], "invalid XPath"),
    # Phrases go into OpenCC's tab-separated dictionary: white space would split an entry.
    ("trad:\n  phrases:\n    发 展: 發 展\n    \"政府\\t信息\": 政府信息\n    公开: ''\n    \"\": 空\n", [3, 4, 5, 6],
     "must not be empty or contain spaces"),
    # Host lists that can never match, or that make a site's file apply to every site.
    ("hosts: ['https://www.shifan.gov.cn/']\nrules: [{select: p, remove: true}]\n", [1], "must be a host name"),
    ("hosts:\n  - www.shifan.gov.cn\n  - www.shifan.gov.cn/xxgk\n", [3], "must be a host name"),
    ("hosts: []\nrules: [{select: p, remove: true}]\n", [1], "hosts is empty"),
    ("rules:\n  - select: h2.title\n    heading: 2.0\n", [3], "heading must be a level from 1 to 6"),
    ("rules:\n  - select: h2.title\n    heading: true\n", [3], "heading must be a level from 1 to 6"),
    ("trad:\n  search:\n    - search\n  json: [api/*.json]\n", [3, 4], "must start with /"),
])
def test_rules_that_could_never_work_are_refused_at_their_line(tmp_path, text, lines, problem):
    (tmp_path / "site.yaml").write_text(text, encoding="utf-8")
    rules, errors = load_rules_dir(tmp_path)
    assert [e.line for e in errors] == lines, errors
    assert all(problem in e.problem for e in errors), errors
    assert rules.sites == []


def test_what_the_validator_still_accepts(tmp_path):
    (tmp_path / "site.yaml").write_text(
        "hosts: ['*.shifan.gov.cn', 'www.shifan.gov.cn:8080', '10.0.0.7', 'shifan.gov.c[no]']\n"
        "trad:\n  phrases: {锡山区: 錫山區}\n  search: [/search, '/*.do']\n  json: [/api/*.json]\n"
        "rules:\n  - xpath: \"//a/@onclick[contains(., 'x')]/..\"\n    remove: true\n"
        "  - xpath: '//div[1] | //p'\n    heading: 2\n"
        "  - select: 'div.nav > a'\n    role: link\n", encoding="utf-8")
    rules, errors = load_rules_dir(tmp_path)
    assert not errors
    assert len(rules.for_page("news.shifan.gov.cn", "/").rules) == 3
    assert len(rules.for_page("www.shifan.gov.cn:8080", "/").rules) == 3
    assert rules.for_page("www.other.gov.cn", "/").rules == ()


def test_a_bad_rule_never_costs_a_page_its_elder_and_reader_modes():
    """Rules that got past validation (older files, rules built in code) and fail or select no elements are
    skipped by elder and reader, as by ApplyRules: the rest of the page's transforms still run."""
    from lxml import etree
    from yarl import URL

    from proxy.modes import parse as parse_modes
    from proxy.pipeline import Page, build_pipeline
    from proxy.rules import PageRules, Rule
    from proxy.settings import Settings

    def rule(xpath: str, **actions) -> Rule:
        return Rule(xpath, etree.XPath(xpath), actions, "site.yaml:1")

    rules = PageRules(rules=(rule("//ns:div", elder_remove=True, role="main"),
                             rule("count(//div)", elder_remove=True, role="main"),
                             rule("//div[@class='ad']/@class", elder_remove=True),
                             rule("//div[@class='ad']", elder_remove=True)))
    html = ("<html><head><title>t</title></head><body><div class='ad'>广告位招租</div><div class='main'><h1>通知</h1>"
            + "<p>" + "各区人民政府，市政府各部门要做好供暖保障工作。" * 20 + "</p></div></body></html>")
    settings = Settings()
    for modes in ("elder", "reader"):
        page = Page(url=URL("http://www.shifan.gov.cn/a.html"), modes=parse_modes(modes), settings=settings,
                    rules=rules)
        out = build_pipeline(settings).render(html, page)
        assert "供暖保障" in out
        if modes == "elder":
            assert "广告位招租" not in out and "elder" in out  # the good rule ran, and elder's styles are in
        else:
            assert "<main" in out or 'role="main"' in out


# --- the rules folder at reload ---------------------------------------------------------------------------

def test_hidden_files_are_not_rule_files_at_start_or_at_reload(tmp_path):
    (tmp_path / "site.yaml").write_text(GOOD_SITE, encoding="utf-8")
    store = RulesStore(tmp_path)
    assert store.load()
    (tmp_path / ".#site.yaml").write_text("rules: [{select: p, remove: true}]\n", encoding="utf-8")  # Emacs lock
    (tmp_path / ".site.yaml.swp.yml").write_text("{{{", encoding="utf-8")
    assert not store.load()  # nothing changed that counts
    assert [s.file for s in store.current.sites] == [str(tmp_path / "site.yaml")] and not store.errors
    rules, errors = load_rules_dir(tmp_path)
    assert len(rules.sites) == 1 and not errors
    result = run_cli("check-rules", str(tmp_path))
    assert result.returncode == 0 and "1 rule file(s) OK" in result.stdout, result.stderr


def test_a_rules_folder_gone_at_reload_keeps_the_last_good_rules(tmp_path, caplog):
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "site.yaml").write_text(GOOD_SITE, encoding="utf-8")
    store = RulesStore(folder)
    assert store.load()
    folder.rename(tmp_path / "rules.old")  # an operator's mv, or a ConfigMap swap gone wrong
    caplog.clear()
    assert not store.load()
    assert len(store.current.for_page("a.gov.cn", "/").rules) == 1  # still the good set, not 0 rules
    assert [r.levelname for r in caplog.records if str(folder) in r.getMessage()] == ["ERROR"]
    assert "keeping the previous rule set" in caplog.text
    caplog.clear()
    assert not store.load() and not caplog.text  # said once, not at every check
    (tmp_path / "rules.old").rename(folder)
    (folder / "site.yaml").write_text(GOOD_SITE.replace("banner", "region\n    label: 顶部"), encoding="utf-8")
    _touch_later(folder / "site.yaml")
    assert store.load() and store.current.for_page("a.gov.cn", "/").rules[0].actions["role"] == "region"
