"""The text of serialized markup converted by OpenCC as a reader sees it: phrases joined across inline tags.

Why on the markup and not on the tree: a Python walk over every node of a large page costs several times
the OpenCC call itself, while a few regular-expression passes and list operations over the serialized
page (C speed) find the same runs of text.  This is exact, not a heuristic, because the markup here is
always our own serializer's output (lxml/libxml2): tags are well formed, attribute values are quoted
with ``<`` and ``>`` escaped, text has ``<`` escaped, tag names are lower case, and only raw-text
elements (script, style) hold a bare ``<``.  The tree step (``trad.prepare_tree``) has also wrapped every
subtree that is never converted in comment markers, and written ``<`` inside comments as a private mark,
so no commented-out markup can look like a tag.

The page is split at *breaks* - block tags, raw-text elements and skipped subtrees - into chunks.  A
chunk is one run of text: its text pieces joined across the inline tags between them are what OpenCC
converts as one string.  All runs, and the readable attribute values of the tags, go to OpenCC in one
call; each converted run is cut back into the pieces it came from.
"""
from __future__ import annotations

import os
import re
import secrets
from functools import partial
from itertools import accumulate, compress
from operator import not_

from ..convert import Converter, separator_for

# The compiled accelerator (_trad_scan.c), built by `pip install` where a C compiler is present; this
# module's own code is the reference and the fallback.  A11Y_PROXY_NO_EXTENSIONS=1 turns it off.
ACCELERATOR = None
if not os.environ.get("A11Y_PROXY_NO_EXTENSIONS"):
    try:
        from . import _trad_scan as ACCELERATOR
    except ImportError:
        pass

# Elements whose boundaries end a run of text (a phrase cannot continue across them in rendering).
BLOCK_TAGS = frozenset("""
address article aside blockquote body br button caption center col colgroup dd details dialog dir div dl dt
fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe img
input legend li main menu nav noscript object ol optgroup option p pre section select summary table tbody td
tfoot th thead title tr ul video audio canvas map area marquee
""".split())
# Raw-text elements: their content is never text to convert, and may hold a bare "<".
RAW_TEXT_TAGS = ("script", "style", "textarea", "xmp", "noembed", "noframes")

# Human-readable attributes (URLs and submitted values are never touched).
TEXT_ATTRIBUTES = frozenset(("title", "alt", "placeholder", "aria-label", "aria-description",
                             "aria-roledescription", "aria-valuetext", "summary", "label", "abbr"))
META_NAMES = frozenset(("description", "keywords", "og:title", "og:description", "twitter:title",
                        "twitter:description", "application-name", "apple-mobile-web-app-title"))

# Fresh marks per process: a page cannot forge them to make its own text skip (or not skip) conversion.
_NONCE = secrets.token_hex(8)
SKIP_START_TEXT, SKIP_END_TEXT = f"a11y-proxy-skip-{_NONCE}", f"/a11y-proxy-skip-{_NONCE}"  # comment texts
SKIP_START, SKIP_END = f"<!--{SKIP_START_TEXT}-->", f"<!--{SKIP_END_TEXT}-->"
COMMENT_LT = f"a11y-proxy-lt-{_NONCE}"  # "<" inside comments, until the markup step is done


def _alternation(words) -> str:
    """A regex alternation as a prefix tree: a flat list of ~90 names costs 3x more per tag."""
    heads: dict[str, list[str]] = {}
    for word in sorted(words):
        heads.setdefault(word[0], []).append(word[1:])
    branches = []
    for head, tails in heads.items():
        if len(tails) == 1:  # a single word: written out, not nested one group per letter
            branches.append(re.escape(head + tails[0]))
            continue
        rest = [tail for tail in tails if tail]
        optional = "?" if "" in tails else ""
        branches.append(f"{re.escape(head)}(?:{_alternation(rest)}){optional}")
    return "|".join(branches)


def _up_to(end: str) -> str:
    """Everything up to `end`, written as an unrolled loop: several times faster than .*? in Python's re."""
    return rf"[^<]*+(?:<(?!{re.escape(end[1:])})[^<]*+)*+{re.escape(end)}"


# A break: a block tag, a raw-text element, or a skipped subtree, whole.  The pattern starts with a
# literal "<", so the scanner jumps from one "<" to the next; block tags, the most common, come first.
# Possessive quantifiers (*+): nothing here ever needs to backtrack, and not recording how halves the time.
_BREAK = re.compile(
    r"(<(?:/?(?:" + _alternation(BLOCK_TAGS) + r")(?=[\s/>])[^>]*+>"
    + "".join(rf"|{tag}\b[^>]*+>{_up_to(f'</{tag}>')}" for tag in RAW_TEXT_TAGS)
    + "|" + re.escape(SKIP_START[1:]) + _up_to(SKIP_END) + "))"
)
_TAG = re.compile(r"(<(?:!--.*?--|[^>]*+)>)", re.S)  # within a chunk: comments and inline tags
# Readable attributes in tags whose values are all double-quoted (lxml's choice unless a value holds a
# double quote): there ' name="' cannot occur inside another attribute's value, so no full parse is needed.
# lxml writes one space before each attribute; starting with that literal space doubles the speed.
_READABLE_VALUE = re.compile(
    '( (?:' + _alternation(TEXT_ATTRIBUTES) + ')=")([^"]*+)(")')
_ATTRIBUTE = re.compile(r"""\s([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_TAG_NAME = re.compile(r"<([a-zA-Z][^\s/>]*)")


def convert_markup(markup: str, converter: Converter) -> str:
    """Convert the text and readable attribute values of serialized markup; all else stays byte for byte."""
    separator = separator_for(markup)
    if ACCELERATOR is not None:
        stream, plan = ACCELERATOR.scan(markup, separator, SKIP_START, SKIP_END, readable_spans)
        page = ACCELERATOR.splice(plan, converter.convert(stream), partial(map_back_all, converter))
    else:
        page = convert_in_python(markup, separator, converter)
    if SKIP_START in page:  # the markers' work is done
        page = page.replace(SKIP_START, "").replace(SKIP_END, "")
    return page.replace(COMMENT_LT, "<") if COMMENT_LT in page else page


def convert_in_python(markup: str, separator: str, converter: Converter) -> str:
    """The reference implementation of the conversion (markers left in place), in regex passes and list
    operations; the accelerator does the same in one C pass each way, and the tests hold the two equal."""
    parts = _BREAK.split(markup)  # chunk, break, chunk, break, ..., chunk
    chunks = parts[0::2]
    # Only chunks and tags with non-ASCII characters can change (OpenCC maps no ASCII-only string).
    chosen = list(compress(range(len(chunks)), map(not_, map(str.isascii, chunks))))
    pieces = _TAG.split(separator.join([chunks[i] for i in chosen]))  # text, tag, text, ..., text
    texts = pieces[0::2]
    attributes = ReadableAttributes((parts, pieces), separator)

    # The runs, one after another, separated, then the values (no empty first run when there is none).
    stream = separator.join((["".join(texts)] if chosen else []) + attributes.values)
    converted = converter.convert(stream)
    runs_in, runs_out, lengths_differ = _compare_runs(stream, converted, separator, len(chosen))

    # Cut the converted runs back into pieces.  A run whose length changed (s2twp: U盘 -> 隨身碟) keeps
    # its source text here, so every other run stays aligned; it is mapped back on its own below.
    aligned = separator.join(runs_out[:len(chosen)]) if not lengths_differ else separator.join(
        source if index in lengths_differ else out
        for index, (source, out) in enumerate(zip(runs_in[:len(chosen)], runs_out)))
    starts = list(accumulate(map(len, texts), initial=0))
    pieces[0::2] = list(map(aligned.__getitem__, map(slice, starts, starts[1:])))
    attributes.put_back(runs_out[len(chosen):])
    done = "".join(pieces).split(separator)
    for position, index in enumerate(chosen):
        chunks[index] = done[position]
    for position in lengths_differ:
        chunks[chosen[position]] = _map_run(chunks[chosen[position]], runs_out[position], converter)

    parts[0::2] = chunks
    return "".join(parts)


def runs_of_text(markup: str) -> list[str]:
    """The page's convertible text as OpenCC would see it on its own (benchmarks): each run of text, and
    each readable attribute value."""
    parts = _BREAK.split(markup)
    chunks = [chunk for chunk in parts[0::2] if not chunk.isascii()]
    runs = ["".join(_TAG.split(chunk)[0::2]) for chunk in chunks]
    return runs + ReadableAttributes((parts, _TAG.split("".join(chunks))), separator_for(markup)).values


def _compare_runs(stream: str, converted: str, separator: str, count: int):
    """The runs before and after conversion, and the positions (among the first `count`, the text runs)
    of those whose length changed."""
    runs_in, runs_out = stream.split(separator), converted.split(separator)
    if len(runs_in) != len(runs_out):  # OpenCC keeps every separator; never risk misplacing text
        raise ValueError("OpenCC changed the number of runs")
    if list(map(len, runs_in[:count])) == list(map(len, runs_out[:count])):
        return runs_in, runs_out, set()
    return runs_in, runs_out, {i for i in range(count) if len(runs_in[i]) != len(runs_out[i])}


def _map_run(chunk: str, converted: str, converter: Converter) -> str:
    """A chunk whose run changed length: its text pieces take their share of the converted run."""
    pieces = _TAG.split(chunk)
    pieces[0::2] = map_back(converter, pieces[0::2], converted)
    return "".join(pieces)


# Tags never read for attributes: end tags, comments and skipped subtrees, raw-text elements.
_NO_READABLE_ATTRIBUTES = ("</", "<!", "<script", "<style", "<xmp", "<noembed", "<noframes")
# Tags that need the full parse: their readable values depend on other attributes, or they hold content.
_PARSED_WHOLE = ("<meta", "<input", "<textarea")


class ReadableAttributes:
    """The readable attribute values of a page's start tags (``owners``: lists with tags at odd indexes),
    taken out for conversion and put back.  Most tags are handled together: joined into one string and
    split at their readable values by one regular expression, at C speed."""

    def __init__(self, owners: tuple[list[str], ...], separator: str):
        self.separator = separator
        self.joined: list[tuple[list, int]] = []  # (owner, index) of tags handled together
        self.parsed: list[tuple[list, int, str, list]] = []  # (owner, index, tag, value spans)
        for owner in owners:
            for index in compress(range(1, len(owner), 2), map(not_, map(str.isascii, owner[1::2]))):
                tag = owner[index]
                if tag.startswith(_NO_READABLE_ATTRIBUTES):
                    continue
                if "'" in tag or tag.startswith(_PARSED_WHOLE):
                    # A textarea's content is submitted back, but its placeholder is for reading.
                    spans = readable_spans(tag[:tag.index(">") + 1] if tag.startswith("<textarea") else tag)
                    if spans:
                        self.parsed.append((owner, index, tag, spans))
                else:
                    self.joined.append((owner, index))
        # prefix, value, closing quote, text between, ... : the values are self.split[2::4].
        self.split = _READABLE_VALUE.split(self.separator.join([owner[i] for owner, i in self.joined]))
        self.values = self.split[2::4] + [tag[a:b] for _, _, tag, spans in self.parsed for a, b in spans]

    def put_back(self, converted: list[str]) -> None:
        count = len(self.split) // 4
        if count:
            self.split[2::4] = converted[:count]
            for (owner, index), tag in zip(self.joined, "".join(self.split).split(self.separator)):
                owner[index] = tag
        rest = iter(converted[count:])
        for owner, index, tag, spans in self.parsed:
            out, taken = [], 0
            for start, end in spans:
                out.append(tag[taken:start])
                out.append(next(rest))
                taken = end
            out.append(tag[taken:])
            owner[index] = "".join(out)


def readable_spans(tag: str) -> list[tuple[int, int]]:
    """Where in a start tag the human-readable attribute values with non-ASCII text are."""
    name_match = _TAG_NAME.match(tag)
    if name_match is None:
        return []
    name = name_match.group(1).lower()
    spans = []
    attributes = {}
    for match in _ATTRIBUTE.finditer(tag, name_match.end()):
        attribute = match.group(1).lower()
        group = 2 if match.group(2) is not None else 3 if match.group(3) is not None else 4
        attributes[attribute] = (match.group(group) or "", match.span(group))
        if attribute in TEXT_ATTRIBUTES and match.group(group) and not match.group(group).isascii():
            spans.append(match.span(group))
    if name == "meta" and "content" in attributes:
        meta_name = (attributes.get("name") or attributes.get("property") or ("", None))[0].lower()
        value, span = attributes["content"]
        if meta_name in META_NAMES and not value.isascii():
            spans.append(span)
    elif name == "input" and "value" in attributes:
        kind = attributes.get("type", ("", None))[0].lower()
        value, span = attributes["value"]
        # A named submit button's value goes to the server: leave those as the server expects them.
        if (kind in ("button", "reset") or (kind == "submit" and "name" not in attributes)) and not value.isascii():
            spans.append(span)
    return sorted(spans)


def map_back(converter: Converter, sources: list[str], converted: str, conversions=None) -> list[str]:
    """Split a run's converted text into one string per source piece.

    Most conversions keep the length, so each piece takes the same span of the output.  Where a
    conversion changes length (s2twp: U盘 -> 隨身碟), each boundary is found by converting the text
    before it and the text after it; a phrase that straddles the boundary goes whole to one piece.
    Either way the pieces joined are exactly OpenCC's conversion of the run.  Those conversions come
    from `conversions` (an iterator, see map_back_all) or from one batched OpenCC call for this run."""
    texts = boundary_texts(sources, converted)
    if not texts:
        if len(sources) == 1:
            return [converted]
        out, start = [], 0
        for source in sources:
            end = start + len(source)
            out.append(converted[start:end])
            start = end
        return out
    if conversions is None:
        conversions = iter(converter.convert_many(texts))
    out, taken = [], 0
    for _ in sources[:-1]:
        before = _common_prefix(next(conversions), converted)
        after = len(converted) - _common_suffix(next(conversions), converted)
        before, after = max(before, taken), max(after, taken)
        # The straddling phrase goes to the earlier piece, unless that piece would otherwise keep text of
        # its own: so no piece that had text ends up empty where it can be helped (an empty link is unnamed).
        boundary = before if converted[taken:before].strip() else max(before, min(after, len(converted)))
        out.append(converted[taken:boundary])
        taken = boundary
    out.append(converted[taken:])
    return out


def boundary_texts(sources: list[str], converted: str) -> list[str]:
    """What map_back converts for a run: at each boundary between pieces, the text before it and the text
    after it (nothing when the run has one piece or kept its length)."""
    if len(sources) == 1 or len(converted) == sum(map(len, sources)):
        return []
    whole, offset, texts = "".join(sources), 0, []
    for source in sources[:-1]:
        offset += len(source)
        texts += [whole[:offset], whole[offset:]]
    return texts


def map_back_all(converter: Converter, runs: list[tuple[list[str], str]]) -> list[list[str]]:
    """map_back for many runs (sources, converted run), with every boundary of every run in one OpenCC call."""
    conversions = iter(converter.convert_many([text for sources, converted in runs
                                                for text in boundary_texts(sources, converted)]))
    return [map_back(converter, sources, converted, conversions) for sources, converted in runs]


def _common_suffix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[-1 - i] == b[-1 - i]:
        i += 1
    return i


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
