"""convert.py gives OpenCC each step's group of dictionaries as one merged dictionary where that converts the
same (the module's docstring): held here to OpenCC's own configurations, on every key of every dictionary, on
keys run together, on all CJK characters in a row and on the corpus; and the merging rule itself to OpenCC on
random small dictionaries in random groups."""
from __future__ import annotations

import json
import random
from pathlib import Path

import opencc
import pytest

from proxy import convert

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "pages"
CONFIGS = convert.FORWARD_CONFIGS + tuple(convert.REVERSE_CONFIGS.values())
PHRASES = (("示范市", "示範巿"), ("鼠标", "滑鼠標"), ("头", "頭部"), ("广州", "廣州府"), ("发展", "發"))


def test_the_package_has_its_dictionary_tool():
    """Without opencc_dict the configurations are OpenCC's own: the same conversion, twice as slow.  A new wheel
    that drops or moves the tool fails here rather than quietly slowing every page."""
    assert convert.dictionary_tool() is not None
    text = convert._dictionary_text(str(convert.share_dir() / "STCharacters.ocd2"))
    assert text and "\t" in text


@pytest.mark.parametrize("config", convert.FORWARD_CONFIGS)
def test_page_conversions_use_merged_dictionaries(config):
    base = json.loads(convert.config_file(config).read_text(encoding="utf-8"))
    share = convert.share_dir()

    def absolute(node):
        if node.get("type") == "ocd2":
            return {**node, "file": str(share / node["file"])}
        return {**node, "dicts": [absolute(child) for child in node.get("dicts", [])]}

    for step in base["conversion_chain"] + [base.get("segmentation", {})]:
        if step.get("dict", {}).get("type") == "group":
            assert convert._flat_entries(absolute(step["dict"])) is not None, step


def _keys(config: str) -> list[str]:
    keys = []
    for path in convert.dictionary_files(config):
        keys += convert._parse_entries(convert._dictionary_text(str(path)))
    return keys


def _samples(config: str) -> list[str]:
    """Texts that exercise every entry: each key alone (a line each), keys run together at random (a longest
    match across their boundary), every CJK character in a row, and the corpus pages."""
    keys = _keys(config) + [source for source, _ in PHRASES]
    rng = random.Random(config)
    run_together = ["".join(rng.choice(keys) for _ in range(rng.randrange(2, 5))) for _ in range(20000)]
    han = "".join(chr(c) for start, end in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
                  for c in range(start, end + 1))
    samples = ["\n".join(keys), "\n".join(run_together), "".join(run_together[:3000]), han]
    if CORPUS.is_dir():
        samples += [path.read_bytes().decode("utf-8", "replace") for path in sorted(CORPUS.glob("*.html"))]
    return samples


@pytest.mark.parametrize("config", CONFIGS)
def test_merged_dictionaries_convert_as_opencc_configures(config):
    for phrases in ((), PHRASES):
        merged = convert.Converter(config, phrases)
        reference = convert.Converter(config, phrases, merged=False)
        for text in _samples(config):
            assert merged.convert(text) == reference.convert(text), (config, phrases, text[:80])


def test_without_the_tool_the_configuration_is_opencc_own(monkeypatch):
    monkeypatch.setattr(convert, "dictionary_tool", lambda: None)
    convert._dictionary_text.cache_clear()
    try:
        text = "心理发展和理发，头发很干燥；示范市的鼠标"
        for config in ("s2t", "s2twp"):
            for phrases in ((), PHRASES):
                assert convert.Converter(config, phrases).convert(text) == \
                    convert.Converter(config, phrases, merged=False).convert(text)
    finally:
        convert._dictionary_text.cache_clear()



def test_converters_built_one_after_another_keep_their_own_phrases():
    """Every merged dictionary is read from an in-memory file whose /proc/self/fd path the next converter's may
    reuse: each converter must keep the entries it was built with."""
    converters = [(index, convert.Converter(config, ((f"示范市{index}", f"示範巿{index}"),)))
                  for index, config in enumerate(convert.FORWARD_CONFIGS * 2)]
    for index, converter in converters:
        assert converter.convert(f"示范市{index}，示范市{index + 1}") == f"示範巿{index}，示範市{index + 1}"

# --- the merging rule, against OpenCC itself ----------------------------------------------------------------

def _text_node(entries: dict[str, str]) -> dict:
    return {"type": "text", convert.TEXT: "".join(f"{key}\t{value}\n" for key, value in sorted(entries.items()))}


def _merged_node(entries: dict[str, str]) -> dict:
    """A text dictionary of _flat_entries' lines, as convert.py writes one."""
    return {"type": "text", convert.TEXT: "".join(entries[key] for key in sorted(entries))}


def _opencc_for(node: dict) -> opencc.OpenCC:
    """OpenCC with `node` (text dictionaries in memory, groups) as its one conversion step."""
    with convert._memory_files() as put:
        def written(item):
            if convert.TEXT in item:
                return {"type": "text", "file": put(item[convert.TEXT], "d.txt")}
            return {**item, "dicts": [written(child) for child in item["dicts"]]}

        config = {"name": "test", "conversion_chain": [{"dict": written(node)}]}
        return opencc.OpenCC(put(json.dumps(config, ensure_ascii=False), "config.json"))


def test_a_later_key_extending_an_earlier_one_keeps_the_short_circuit():
    """短路 (short_circuit): the first dictionary with any match wins, even with a shorter key; merged, the longer
    key would win.  Such a group is left as it is."""
    group = {"type": "group", "match_policy": "short_circuit",
             "dicts": [_text_node({"甲": "A"}), _text_node({"甲乙": "B"})]}
    assert _opencc_for(group).convert("甲乙") == "A乙"
    assert convert._flat_entries(group) is None
    union = {**group, "match_policy": "union"}
    assert _opencc_for(union).convert("甲乙") == "B"
    assert _opencc_for(_merged_node(convert._flat_entries(union))).convert("甲乙") == "B"


def test_merging_rule_holds_for_random_groups():
    """Random dictionaries over four characters in random union / short_circuit groups: wherever _flat_entries
    merges a group, the merged dictionary converts every text as OpenCC converts the group."""
    rng = random.Random(13)
    alphabet = "甲乙丙丁"
    merged_groups = 0

    def dictionary():
        keys = {"".join(rng.choice(alphabet) for _ in range(rng.choice((1, 1, 2, 2, 3))))
                for _ in range(rng.randrange(1, 5))}
        return _text_node({key: rng.choice("ABCDEFGH") + str(rng.randrange(10)) for key in keys})

    def group(depth):
        children = [group(depth + 1) if depth < 2 and rng.random() < 0.3 else dictionary()
                    for _ in range(rng.randrange(1, 4))]
        return {"type": "group", "match_policy": rng.choice(("union", "short_circuit")), "dicts": children}

    texts = ["".join(rng.choice(alphabet + "x") for _ in range(rng.randrange(1, 12))) for _ in range(60)]
    for _ in range(150):
        node = group(0)
        entries = convert._flat_entries(node)
        if entries is None:
            continue
        merged_groups += 1
        reference, merged = _opencc_for(node), _opencc_for(_merged_node(entries))
        for text in texts:
            assert merged.convert(text) == reference.convert(text), (node, text)
    assert merged_groups > 50
