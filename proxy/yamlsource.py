"""YAML loading that remembers where every value came from.

Config and rule files are validated into typed objects at load time; every error names the file, the
line and the problem.  PyYAML's composer already knows each node's position, so we build plain Python
values from the node graph and keep a side table of positions keyed by the value's path.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class SourceError(ValueError):
    """A problem in a config or rule file, with its position."""

    def __init__(self, file: str, line: int, problem: str):
        # Line 0: about the file (or folder) as a whole.
        super().__init__(f"{file}:{line}: {problem}" if line else f"{file}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem


@dataclass
class Located:
    """A parsed YAML document plus the line of each value, addressed by path (tuple of keys/indices)."""

    file: str
    data: Any
    lines: dict[tuple, int]

    def line(self, path: tuple) -> int:
        # Walk up until a recorded position is found (every node is recorded, so this ends quickly).
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: tuple, problem: str) -> SourceError:
        return SourceError(self.file, self.line(path), problem)


# The tags a config or rule file may use (implicitly, as plain values resolve, or written out): YAML's plain
# values and collections.  Anything else (!!python/..., !!binary, !!set, a local !foo) is refused by name.
_PLAIN_TAGS = {yaml.ScalarNode: {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null",
                                                                         "timestamp")},
               yaml.SequenceNode: {"tag:yaml.org,2002:seq"}, yaml.MappingNode: {"tag:yaml.org,2002:map"}}
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that config and rule files do not accept."""


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing anchors and aliases as it composes: no file of ours needs them, and an alias
    is how a few hundred bytes expand into millions of values (or into a value that contains itself)."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if event.anchor is not None:
            what = "alias" if isinstance(event, yaml.AliasEvent) else "anchor"
            sign = "*" if what == "alias" else "&"
            raise _Refused(problem=f"YAML {what} {sign}{event.anchor} is not supported (anchors, aliases and "
                                   "merge keys are refused): write the value out", problem_mark=event.start_mark)
        return super().compose_node(parent, index)


def _build(node: yaml.Node, path: tuple, lines: dict[tuple, int], file: str) -> Any:
    line = node.start_mark.line + 1
    lines[path] = line
    if node.tag not in _PLAIN_TAGS[type(node)]:
        if node.tag == _MERGE_TAG:
            raise SourceError(file, line, "merge keys (<<) are not supported: write the values out "
                                          "(quote '<<' to mean the text)")
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise SourceError(file, line, f"unsupported YAML tag {tag}: only plain values, lists and mappings")
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _build(key_node, path + ("<key>",), {}, file)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise SourceError(file, key_node.start_mark.line + 1, "a mapping key must be a plain value")
            if key in out:
                raise SourceError(file, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            out[key] = _build(value_node, path + (key,), lines, file)
            lines[path + (key,)] = key_node.start_mark.line + 1  # errors about a key point at the key
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), lines, file) for i, item in enumerate(node.value)]
    # Scalars: the safe constructor resolves ints, bools, nulls and floats the usual YAML way.
    try:
        return _SCALARS.construct_object(node)
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # e.g. !!int abc
        raise SourceError(file, line, f"invalid value: {getattr(exc, 'problem', None) or exc}") from None
    finally:
        _SCALARS.constructed_objects.clear()  # (it would keep every node of every file loaded, for ever)


_SCALARS = yaml.SafeLoader("")


def load_text(text: str, file: str) -> Located:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except _Refused as exc:
        raise SourceError(file, exc.problem_mark.line + 1, exc.problem) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise SourceError(file, line, f"invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise SourceError(file, 1, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise SourceError(file, 1, "invalid YAML: nested too deeply") from None
    lines: dict[tuple, int] = {}
    try:
        data = {} if node is None else _build(node, (), lines, file)
    except RecursionError:
        raise SourceError(file, 1, "nested too deeply") from None
    return Located(file, data, lines)


def load_file(path: Path) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(str(path), 1, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise SourceError(str(path), 1, f"cannot read: {exc.strerror}") from None
    return load_text(text, str(path))


def expect_mapping(doc: Located, path: tuple, value: Any, allowed: set[str], what: str) -> dict:
    """Check `value` is a mapping whose keys are all in `allowed`; return it."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error(path, f"{what} must be a mapping, got {type(value).__name__}")
    for key in value:
        if key not in allowed:
            raise doc.error(path + (key,), f"unknown key {key!r} in {what} (allowed: {', '.join(sorted(allowed))})")
    return value
