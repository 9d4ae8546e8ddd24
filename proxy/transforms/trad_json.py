"""Traditional script for JSON and JSONP responses (portals load news lists by AJAX), opt-in per path.

String values are converted; keys, and values that are URLs or paths, are left alone.
"""
from __future__ import annotations

import json
import re

from .trad import HAN

_JSONP = re.compile(r"^(\s*[A-Za-z_$][\w$.]*\s*\(\s*)(.*?)(\s*\)\s*;?\s*)$", re.S)
_URL_LIKE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|/|\./|\.\./)|^[\w./-]+\.(?:s?html?|jsp|aspx?|php|pdf|docx?|xlsx?|jpe?g|png|gif)$",
                       re.I)


def convert_json_text(text: str, converter) -> str | None:
    """The converted JSON/JSONP text, or None when it is not JSON we understand (then it passes as sent)."""
    match = _JSONP.match(text)
    head, payload, tail = (match.groups() if match else ("", text, ""))
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    found: list[str] = []
    _collect(data, found)
    if not found:
        return text
    converted = iter(converter.convert_many(found))
    data = _replace(data, converted)
    return head + json.dumps(data, ensure_ascii=False, separators=(",", ":")) + tail


def _wanted(value: str) -> bool:
    return bool(HAN.search(value)) and not _URL_LIKE.match(value)


def _collect(node, found: list[str]) -> None:
    if isinstance(node, str):
        if _wanted(node):
            found.append(node)
    elif isinstance(node, list):
        for item in node:
            _collect(item, found)
    elif isinstance(node, dict):
        for value in node.values():
            _collect(value, found)


def _replace(node, converted):
    if isinstance(node, str):
        return next(converted) if _wanted(node) else node
    if isinstance(node, list):
        return [_replace(item, converted) for item in node]
    if isinstance(node, dict):
        return {key: _replace(value, converted) for key, value in node.items()}
    return node
