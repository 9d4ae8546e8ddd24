"""Chinese script conversion with OpenCC: one converter per configuration, built once and reused.

Site phrase dictionaries (proper and place names OpenCC gets wrong for a portal) are added to OpenCC's
own dictionary chain through a generated configuration, so they take part in OpenCC's longest-match
segmentation exactly like its built-in phrases, rather than being patched in afterwards.

OpenCC reads a configuration and its text dictionaries from files.  Ours are never written to disk: they
are anonymous in-memory files (Linux memfd_create), which OpenCC opens as /proc/self/fd/N and reads whole
while the converter is built; then they are closed.  So a read-only root filesystem (docker run --read-only,
Kubernetes' readOnlyRootFilesystem) and an unusable TMPDIR change nothing.  Only where memfd_create is
missing (not Linux) is a private temporary folder used, and removed as soon as the converter is built.

Each step's group of dictionaries (phrases, then characters; the site's phrases joined to them) is given to
OpenCC as one dictionary with the same entries, where that is exact (see _flat_entries): OpenCC looks a group
up child by child at every character, and one merged dictionary converts the same text in half the time (0.9
-> 0.4 ms warm, 1.9 -> 0.85 ms with the CPU caches cold, on the 100 KB page's text), and a converter with site
phrases takes half the memory (s2t 17 -> 9 MB). The entries are read from OpenCC's .ocd2 files by the opencc
package's own dictionary tool (opencc_dict), once per file; where that tool is missing or fails, the
configuration is OpenCC's own, which converts identically, only slower.

The generated configuration names OpenCC's own dictionaries by absolute path.  Where they are is asked of
the opencc package (the configuration file it resolves for a name), never assumed; check() verifies at start
that every file our configurations name is there, and tests/test_image.py fails if the package changes it.
"""
from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
import tempfile
from contextlib import ExitStack, contextmanager
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


class ConversionSetupError(Exception):
    """OpenCC's data are not where the opencc package says, or cannot be read: the proxy cannot start."""


@functools.lru_cache(maxsize=None)
def share_dir() -> Path:
    """The folder of OpenCC's configurations and dictionaries, as the opencc package resolves it: where the
    configuration file it loads for 's2t' is (the `config` attribute of an OpenCC object)."""
    try:
        resolved = Path(opencc.OpenCC("s2t").config)
    except Exception as exc:  # the native library says why (missing file, bad JSON)
        raise ConversionSetupError(f"OpenCC cannot load its configuration 's2t': {exc}") from None
    if not resolved.is_absolute() or not resolved.is_file():
        raise ConversionSetupError(f"the opencc package ({opencc.__version__}) no longer reports where its "
                                   f"configurations are (got {str(resolved)!r}); see convert.py")
    return resolved.parent


def config_file(config: str) -> Path:
    """The JSON file OpenCC loads for a configuration name ('s2t')."""
    path = share_dir() / f"{config}.json"
    if not path.is_file():
        raise ConversionSetupError(f"OpenCC configuration {path} is missing (opencc {opencc.__version__})")
    return path


def dictionary_files(config: str) -> list[Path]:
    """Every dictionary file a configuration names, as absolute paths (they sit beside the configuration)."""
    base = config_file(config)
    found: list[Path] = []

    def walk(node: dict) -> None:
        if node.get("type") in ("ocd2", "ocd", "text"):
            found.append(base.parent / node["file"])
        for child in node.get("dicts", []):
            walk(child)

    data = json.loads(base.read_text(encoding="utf-8"))
    for step in data.get("normalization", []) + data.get("conversion_chain", []):
        walk(step["dict"])
    if "segmentation" in data:
        walk(data["segmentation"]["dict"])
    return found


def check() -> None:
    """At start: OpenCC's data for every configuration we use are where the package says, and a converter
    with site phrases can be built here (in memory).  Raises ConversionSetupError saying what is wrong."""
    for config in FORWARD_CONFIGS + tuple(REVERSE_CONFIGS.values()):
        for path in dictionary_files(config):
            if not os.access(path, os.R_OK):
                raise ConversionSetupError(f"OpenCC dictionary {path} (of {config}) is missing or unreadable")
    try:
        sample = Converter("s2t", (("示范市", "示範巿"),)).convert("示范市")
    except Exception as exc:
        raise ConversionSetupError(f"cannot build a converter with site phrases: {exc}") from None
    if sample != "示範巿":
        raise ConversionSetupError(f"site phrases are not applied by this OpenCC ({opencc.__version__}): "
                                   f"示范市 -> {sample}")


class Converter:
    def __init__(self, config: str, phrases: tuple[tuple[str, str], ...] = (), merged: bool = True):
        """merged=False: each step's dictionaries as OpenCC's configuration groups them (the reference the tests
        hold the merged dictionaries to; the same conversion, slower)."""
        self.config = config
        self._opencc = _opencc_built(config, phrases, merged) if phrases or merged else opencc.OpenCC(config)

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


@contextmanager
def _memory_files():
    """Write text into files that live only in memory; yield a function text -> path that OpenCC can open.
    Falls back to a private temporary folder (removed at exit) where memfd_create is missing."""
    with ExitStack() as stack:
        if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
            def put(text: str, name: str) -> str:
                fd = os.memfd_create(f"a11y-proxy-{name}", os.MFD_CLOEXEC)
                stack.callback(os.close, fd)
                data = memoryview(text.encode("utf-8"))
                while data:
                    data = data[os.write(fd, data):]
                return f"/proc/self/fd/{fd}"
        else:  # pragma: no cover - not Linux
            folder = tempfile.mkdtemp(prefix="a11y-proxy-opencc-")
            stack.callback(shutil.rmtree, folder, True)

            def put(text: str, name: str) -> str:
                path = os.path.join(folder, name)
                with open(path, "w", encoding="utf-8") as file:
                    file.write(text)
                return path
        yield put


def _opencc_built(config: str, phrases: tuple[tuple[str, str], ...], merged: bool = True) -> opencc.OpenCC:
    """An OpenCC converter that is `config` with a text dictionary of site phrases (if any) joined to the phrase
    dictionaries of its first (Simplified -> Traditional) step and of its segmentation; later steps (regional
    variants) keep the site's chosen forms unchanged through an identity dictionary.  With merged, each group of
    dictionaries that can be is one dictionary (see the module's docstring)."""
    source = config_file(config)
    share = source.parent
    base = json.loads(source.read_text(encoding="utf-8"))
    site = {"type": "text", TEXT: "".join(f"{s}\t{t}\n" for s, t in phrases)}
    keep = {"type": "text", TEXT: "".join(f"{t}\t{t}\n" for _, t in phrases)}

    def absolute(node: dict) -> dict:
        node = copy.deepcopy(node)
        if node.get("type") in ("ocd2", "ocd", "text"):
            node["file"] = str(share / node["file"])
        node["dicts"] = [absolute(d) for d in node.get("dicts", [])]
        if not node["dicts"]:
            del node["dicts"]
        return node

    def joined(first: dict, node: dict) -> dict:
        # union: the longest match across the site's phrases and OpenCC's wins, as within OpenCC itself.
        return {"type": "group", "match_policy": "union", "dicts": [first, node]} if phrases else node

    for step in base.get("normalization", []):
        step["dict"] = absolute(step["dict"])
    if "segmentation" in base:
        base["segmentation"]["dict"] = joined(site, absolute(base["segmentation"]["dict"]))
    for index, step in enumerate(base["conversion_chain"]):
        step["dict"] = joined(site if index == 0 else keep, absolute(step["dict"]))
    holders = base.get("normalization", []) + base["conversion_chain"] + [base.get("segmentation", {})]
    if merged:
        for holder in holders:
            if holder.get("dict", {}).get("type") == "group":
                entries = _flat_entries(holder["dict"])
                if entries is not None:
                    holder["dict"] = {"type": "text", TEXT: "".join(entries[key] for key in sorted(entries))}
    if not phrases and not any(TEXT in holder.get("dict", {}) for holder in holders):
        return opencc.OpenCC(config)  # nothing to add or merge (no dictionary tool): OpenCC's own configuration
    with _memory_files() as put:
        def written(node: dict) -> dict:
            if TEXT in node:
                return {"type": "text", "file": put(node[TEXT], "dictionary.txt")}
            if "dicts" in node:
                node["dicts"] = [written(child) for child in node["dicts"]]
            return node

        for holder in holders:
            if "dict" in holder:
                holder["dict"] = written(holder["dict"])
        # OpenCC reads the configuration and every dictionary while it is built: the files can go after.
        return opencc.OpenCC(put(json.dumps(base, ensure_ascii=False), "config.json"))


TEXT = "a11y-proxy text"  # a dictionary node's text, in memory until the configuration is written


def _flat_entries(node: dict) -> "dict[str, str] | None":
    """One dictionary that converts as `node` does, as {key: its line in OpenCC's text format}, or None where
    that cannot be made (or told) exact.

    OpenCC converts by longest match: at each position, the longest key the text there starts with.  A group
    whose match_policy is "union" matches the longest key of any of its dictionaries, an earlier dictionary's
    entry winning a key they share: exactly one dictionary of all their entries, earlier ones first.  A group
    whose policy is "short_circuit" takes its first dictionary that has any match, even a shorter one than a
    later dictionary would give (phrases, then single characters): the same as one dictionary of all entries
    unless a later dictionary has a key that extends an earlier one's (then the later, longer key would win).
    That is checked here, key by key; where it happens the group is left as it is.  Groups of groups alike."""
    kind = node.get("type")
    if kind == "text":
        text = node[TEXT] if TEXT in node else None
        return None if text is None else _parse_entries(text)
    if kind == "ocd2":
        text = _dictionary_text(node["file"])
        return None if text is None else _parse_entries(text)
    if kind != "group" or node.get("match_policy") not in ("union", "short_circuit"):
        return None
    children = [_flat_entries(child) for child in node.get("dicts", [])]
    if not children or any(child is None for child in children):
        return None
    merged: dict[str, str] = {}
    for child in children:
        if node["match_policy"] == "short_circuit" and merged:
            for key in child:
                if any(key[:length] in merged for length in range(1, len(key))):
                    return None  # a longer key behind a shorter one: the order of the lookups matters
        for key, line in child.items():
            merged.setdefault(key, line)
    return merged


def _parse_entries(text: str) -> "dict[str, str] | None":
    """{key: its line} of a dictionary in OpenCC's text format (a key, a tab, its values; a line each), or None
    for anything else (a blank line but the last, a line without values, a key twice)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    entries: dict[str, str] = {}
    for line in lines:
        key, tab, values = line.partition("\t")
        if not tab or not key or not values.strip() or key in entries:
            return None
        entries[key] = line + "\n"
    return entries


def dictionary_tool() -> "Path | None":
    """The opencc package's own opencc_dict (it reads the package's .ocd2 files), or None: two folders above the
    configurations, in bin/, as the wheel lays it out."""
    tool = share_dir().parent.parent / "bin" / "opencc_dict"
    return tool if os.access(tool, os.X_OK) else None


@functools.lru_cache(maxsize=64)
def _dictionary_text(path: str) -> "str | None":
    """An .ocd2 dictionary in OpenCC's text format, written to a pipe by opencc_dict (nothing on disk), or None
    where the tool is missing or fails.  Once per file and process (the package's few dictionaries)."""
    tool = dictionary_tool()
    if tool is None:
        return None
    try:
        done = subprocess.run([str(tool), "-i", path, "-o", "/dev/stdout", "-f", "ocd2", "-t", "text"],
                              capture_output=True, timeout=60, check=False)
        text = done.stdout.decode("utf-8")
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return None
    return text if done.returncode == 0 and text else None
