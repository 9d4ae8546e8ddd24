"""Conformance: the HTML-aware conversion gives exactly what OpenCC gives on the plain sentence, whatever
inline markup splits it.  Oracle: OpenCC itself.  Sentences: this suite's own fixtures, plus every case
of ../shared/opencc-cases/ when that folder is present (it is beside the project in CI)."""
from __future__ import annotations

import html
import json
import random

import pytest

from proxy import document
from proxy.convert import FORWARD_CONFIGS, get_converter
from proxy.transforms.trad import convert_document
from tests.conftest import FIXTURES, SHARED

TAGS = ("a", "span", "b", "font", "em", "strong", "i", "u")
WRAPPINGS_PER_SENTENCE = 6


def own_sentences() -> list[str]:
    lines = (FIXTURES / "trad_sentences.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def shared_cases(config: str) -> list[str]:
    path = SHARED / "opencc-cases" / f"{config}.json"
    if not path.is_file():
        return []
    return [case["in"] for case in json.loads(path.read_text(encoding="utf-8"))]


def wrap_randomly(text: str, rng: random.Random, depth: int = 0) -> str:
    """HTML for `text` with random spans wrapped in inline tags, sometimes nested."""
    if len(text) < 2 or depth > 2:
        return html.escape(text)
    cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(1, 4))))
    pieces = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]
    out = []
    for piece in pieces:
        if rng.random() < 0.5:
            tag = rng.choice(TAGS)
            inner = wrap_randomly(piece, rng, depth + 1) if rng.random() < 0.3 else html.escape(piece)
            out.append(f"<{tag}>{inner}</{tag}>")
        else:
            out.append(html.escape(piece))
    return "".join(out)


def convert_markup(markup: str, config: str) -> str:
    doc = document.parse(f"<html><body><p id='s'>{markup}</p></body></html>")
    converted = document.parse(convert_document(doc, get_converter(config)))
    return "".join(converted.root.find(".//p").itertext())


@pytest.mark.parametrize("config", FORWARD_CONFIGS)
def test_markup_never_changes_the_conversion(config):
    converter = get_converter(config)
    rng = random.Random(f"conformance-{config}")  # fixed seed: the same wrappings on every run
    sentences = own_sentences() + shared_cases(config)
    failures, checked = [], 0
    for sentence in sentences:
        expected = converter.convert(sentence)
        for variant in range(WRAPPINGS_PER_SENTENCE + 1):
            markup = html.escape(sentence) if variant == 0 else wrap_randomly(sentence, rng)
            got = convert_markup(markup, config)
            checked += 1
            if got != expected:
                failures.append((markup, got, expected))
    share = 100 * (checked - len(failures)) / checked
    assert not failures, f"{config}: {share:.2f}% of {checked} conversions match OpenCC; first: {failures[0]}"


def test_own_sentences_cover_the_classic_mistakes():
    converter = get_converter("s2t")
    text = converter.convert("\n".join(own_sentences()))
    for right in ("頭髮", "皇后", "心理發展", "理髮", "幹部", "後來", "裏面", "系統", "只有", "發表", "歷史"):
        assert right in text
    for wrong in ("皇後", "心理髮展", "乾部"):
        assert wrong not in text


def test_shared_cases_present_or_said():
    found = {config: len(shared_cases(config)) for config in FORWARD_CONFIGS}
    if not any(found.values()):
        pytest.skip(f"no OpenCC cases at {SHARED / 'opencc-cases'}: ran on this suite's own sentences only")
    assert all(found.values()), found
