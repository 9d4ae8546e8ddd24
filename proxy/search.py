"""The reverse path of Traditional mode: what a reader types goes back to the portal in Simplified.

A reader types 經濟 into the portal's search box; the portal's index holds 经济.  For requests to
search endpoints (listed in rules, or recognised by their parameter names), query-string values and
urlencoded form values are converted Traditional -> Simplified.  Other parameters keep their exact
bytes, and values keep the encoding the browser used (UTF-8, or GBK for forms of legacy pages).
"""
from __future__ import annotations

import fnmatch
import re
from urllib.parse import quote_plus, unquote_to_bytes

# Parameter names portals use for the words a reader searches for.
SEARCH_PARAMETERS = frozenset({
    "q", "query", "keyword", "keywords", "searchword", "search_word", "searchkey", "searchtext", "search",
    "kw", "wd", "word", "words", "key", "text", "sw", "qt", "title", "content", "s",
})
_HAN_OR_ESCAPE = re.compile(r"%[89a-fA-F][0-9a-fA-F]|[^\x00-\x7f]")


def path_matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def simplify_pairs(encoded: str, converter, every_value: bool) -> str | None:
    """Convert the values of an application/x-www-form-urlencoded string; None if nothing changed.

    every_value: convert all values (a listed search endpoint); otherwise only search-named parameters.
    """
    changed = False
    pairs = encoded.split("&")
    for index, pair in enumerate(pairs):
        name, equals, value = pair.partition("=")
        if not equals or not _HAN_OR_ESCAPE.search(value):
            continue
        if not every_value and _decode(name)[0].lower() not in SEARCH_PARAMETERS:
            continue
        text, encoding = _decode(value)
        simplified = converter.convert(text)
        if simplified != text:
            try:
                pairs[index] = f"{name}={quote_plus(simplified, encoding=encoding)}"
                changed = True
            except UnicodeEncodeError:  # the portal's charset cannot carry it: leave the reader's text
                continue
    return "&".join(pairs) if changed else None


def _decode(value: str) -> tuple[str, str]:
    raw = unquote_to_bytes(value.replace("+", " "))
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace"), "gb18030"
