"""Rule files: validation with file:line errors, the published schema, matching, and reloading."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
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
