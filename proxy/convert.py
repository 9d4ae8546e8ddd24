"""Chinese script conversion with OpenCC: one converter per configuration, built once and reused.

Site phrase dictionaries (proper and place names OpenCC gets wrong for a portal) are added to OpenCC's
own dictionary chain through a generated configuration, so they take part in OpenCC's longest-match
segmentation exactly like its built-in phrases, rather than being patched in afterwards.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

import opencc

# Many strings go to OpenCC in one call, joined by a character no dictionary entry contains, so no phrase
# can span two of them.  XML forbids C0 controls in text, but libxml2's HTML parser (and JSON) let them
# through: then a noncharacter or a private-use character the text does not contain serves.
SEPARATORS = "\x1f" + "".join(map(chr, range(0xFDD0, 0xFDF0))) + "".join(map(chr, range(0xF8FF, 0xDFFF, -1)))

FORWARD_CONFIGS = ("s2t", "s2tw", "s2twp", "s2hk")
# Traditional -> Simplified for the reverse path (what readers type in search boxes).
REVERSE_CONFIGS = {"s2t": "t2s", "s2tw": "tw2s", "s2twp": "tw2sp", "s2hk": "hk2s"}
LANG_TAGS = {"s2t": "zh-Hant", "s2tw": "zh-Hant-TW", "s2twp": "zh-Hant-TW", "s2hk": "zh-Hant-HK"}

_SHARE = Path(opencc.__file__).resolve().parent / "clib" / "share" / "opencc"


class Converter:
    def __init__(self, config: str, phrases: tuple[tuple[str, str], ...] = ()):
        self.config = config
        self._opencc = opencc.OpenCC(_config_with_phrases(config, phrases) if phrases else config)

    def convert(self, text: str) -> str:
        return self._opencc.convert(text)

    def convert_many(self, texts: list[str]) -> list[str]:
        """Convert many independent strings in one OpenCC call; each converts exactly as it would alone."""
        if not texts:
            return []
        try:
            separator = separator_for("".join(texts))
        except ValueError:
            return [self.convert(t) for t in texts]
        out = self.convert(separator.join(texts)).split(separator)
        if len(out) != len(texts):  # cannot happen with OpenCC's dictionaries; never risk misplacing text
            return [self.convert(t) for t in texts]
        return out


def separator_for(text: str) -> str:
    """A character of SEPARATORS that `text` does not contain."""
    for separator in SEPARATORS:
        if separator not in text:
            return separator
    raise ValueError("the text holds every separator character")


@functools.lru_cache(maxsize=64)
def get_converter(config: str, phrases: tuple[tuple[str, str], ...] = ()) -> Converter:
    """The converter for an OpenCC config plus optional site phrases (sorted tuple, so it can be cached)."""
    return Converter(config, phrases)


def reverse_config(forward: str) -> str:
    return REVERSE_CONFIGS.get(forward, "t2s")


def _config_with_phrases(config: str, phrases: tuple[tuple[str, str], ...]) -> str:
    """Write an OpenCC config that is `config` with a text dictionary of site phrases joined to the
    phrase dictionaries of its first (Simplified -> Traditional) step and of its segmentation; later
    steps (regional variants) keep the site's chosen forms unchanged through an identity dictionary."""
    base = json.loads((_SHARE / f"{config}.json").read_text(encoding="utf-8"))
    digest = hashlib.sha1(json.dumps([config, phrases], ensure_ascii=False).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"a11y-proxy-opencc-{os.getuid()}"
    folder.mkdir(exist_ok=True)
    site_dict = folder / f"{digest}.txt"
    identity_dict = folder / f"{digest}-keep.txt"
    _write_atomically(site_dict, "".join(f"{s}\t{t}\n" for s, t in phrases))
    _write_atomically(identity_dict, "".join(f"{t}\t{t}\n" for _, t in phrases))
    site = {"type": "text", "file": str(site_dict)}
    keep = {"type": "text", "file": str(identity_dict)}

    def absolute(node: dict) -> dict:
        node = copy.deepcopy(node)
        if node.get("type") == "ocd2":
            node["file"] = str(_SHARE / node["file"])
        node["dicts"] = [absolute(d) for d in node.get("dicts", [])]
        if not node["dicts"]:
            del node["dicts"]
        return node

    for step in base.get("normalization", []):
        step["dict"] = absolute(step["dict"])
    if "segmentation" in base:
        base["segmentation"]["dict"] = {"type": "group", "match_policy": "union",
                                        "dicts": [site, absolute(base["segmentation"]["dict"])]}
    chain = base["conversion_chain"]
    for index, step in enumerate(chain):
        first = index == 0
        # union: the longest match across the site's phrases and OpenCC's wins, as within OpenCC itself.
        step["dict"] = {"type": "group", "match_policy": "union",
                        "dicts": [site if first else keep, absolute(step["dict"])]}
    path = folder / f"{digest}.json"
    _write_atomically(path, json.dumps(base, ensure_ascii=False))
    return str(path)


def _write_atomically(path: Path, text: str) -> None:
    """Several workers may build the same converter at once: never let one read a half-written file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)
