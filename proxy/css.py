"""Stylesheet rewriting for elder mode, with tinycss2.

Portals size their text in px, so enlarging the root font size does nothing: every font-size (in
stylesheets, <style> blocks and style attributes) is scaled here by the step's factor, with a floor
for body text.  Absolute sizes (px, pt, keywords) are computed; relative ones (em, %, rem, calc) are
left to inherit the scaled sizes and wrapped in max(..., floor) so nested small text cannot sink
below the floor.  Fixed heights become minimum heights, so enlarged text is never clipped.

Larger text needs more room: the page may grow longer, but text must never run into other text (issue 16),
and each rule below says which boxes it leaves alone.  `white-space: nowrap` becomes `normal` in a box that
hides its overflow (a one-line title beside a floated date wraps beside it instead of running under it or
being cut).  Absolutely positioned rows of text in stylesheets go back in the flow (`position: static` on a
row of its own): a row of header links or a search box pinned at fixed offsets cannot push what follows down
when its text grows, so it would grow over it.  A floated or inline-block one-line box keeps its fixed width
as a minimum (a menu item no longer breaks its word in two).  A rule for images and other boxes alike
("img, .btn {height: 30px}") is repeated for the other boxes alone, their height relaxed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import tinycss2
from tinycss2 import ast

# CSS absolute-size keywords in px at the browser's default 16px (CSS Fonts 4 table).
_KEYWORD_PX = {"xx-small": 9, "x-small": 10, "small": 13, "medium": 16, "large": 18, "x-large": 24,
               "xx-large": 32, "xxx-large": 48}
_ABSOLUTE_UNITS = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4,
                   "q": 96 / 101.6}
# Heights that do not grow with the lines of text inside: absolute lengths, and lengths in the font's size (2em
# holds one line of 1.5 line height, not the two it wraps to).  Percentages and viewport units are layout's.
_FONT_UNITS = {"em", "rem", "ex", "ch", "lh", "rlh", "cap", "ic"}
_RELATIVE_UNITS = {"em", "rem", "ex", "ch", "%", "vw", "vh", "vmin", "vmax", "lh", "rlh", "cap", "ic"}
_FIXED_HEIGHT_UNITS = set(_ABSOLUTE_UNITS) | _FONT_UNITS
# HTML <font size=N> in px at the default size.
FONT_SIZE_ATTRIBUTE_PX = {1: 10, 2: 13, 3: 16, 4: 18, 5: 24, 6: 32, 7: 48}
# Selectors we must not relax heights on: replaced content keeps its box.
_REPLACED = ("img", "iframe", "video", "embed", "object", "canvas", "svg", "input", "select", "textarea")
_MEDIA = _REPLACED[:7]  # (pinned over a slide or a frame's box; a pinned field sits in a row of controls)

# The floor is the browser default (16px) times the factor: small print comes up to what body text
# would be at this step, so the text a reader meets most is at least 24 px at the default step.
ELDER_FLOORS = {125: 20, 150: 24, 175: 28, 200: 32}


@dataclass(frozen=True)
class Scale:
    factor: float  # multiply absolute font sizes by this
    floor_px: float  # and never go below this for text

    @classmethod
    def for_step(cls, percent: int) -> "Scale":
        return cls(percent / 100, ELDER_FLOORS.get(percent, 20))

    def px(self, size: float) -> float:
        return max(size * self.factor, self.floor_px)


def _fmt(number: float) -> str:
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _tokens(text: str) -> list:
    return tinycss2.parse_component_value_list(text)


def _is_space(token) -> bool:
    return token.type in ("whitespace", "comment")


def scale_font_size(value: list, scale: Scale) -> list:
    """A font-size value (tokens) scaled; unknown forms are returned unchanged."""
    significant = [t for t in value if not _is_space(t)]
    important = _split_important(significant)
    if len(significant) != 1:
        return value
    token = significant[0]
    new: str | None = None
    if token.type in ("number", "dimension", "percentage") and token.value == 0:
        return value  # zero in any unit hides text on purpose (an icon's label, the inline-block gap trick)
    if token.type == "dimension" and token.lower_unit in _ABSOLUTE_UNITS:
        new = f"{_fmt(scale.px(token.value * _ABSOLUTE_UNITS[token.lower_unit]))}px"
    elif token.type == "ident" and token.lower_value in _KEYWORD_PX:
        new = f"{_fmt(scale.px(_KEYWORD_PX[token.lower_value]))}px"
    elif (token.type == "dimension" and token.lower_unit in _RELATIVE_UNITS) or token.type == "percentage" or (
            token.type == "ident" and token.lower_value in ("smaller", "larger")) or (
            token.type == "function" and token.lower_name in ("calc", "var", "clamp", "min")):
        new = f"max({tinycss2.serialize([token])}, {_fmt(scale.floor_px)}px)"
    if new is None:
        return value
    return _tokens(new + (" !important" if important else ""))


def _split_important(significant: list) -> bool:
    """Remove a trailing '!important' from a significant-token list; True if it was there."""
    if len(significant) >= 2 and significant[-1].type == "ident" and significant[-1].lower_value == "important" \
            and significant[-2].type == "literal" and significant[-2].value == "!":
        del significant[-2:]
        return True
    return False


def scale_font_shorthand(value: list, scale: Scale) -> list:
    """`font: italic bold 12px/18px 宋体` -> the size scaled (line height is handled globally)."""
    out = list(value)
    for index, token in enumerate(out):
        if _is_space(token):
            continue
        is_size = (token.type == "dimension" and (token.lower_unit in _ABSOLUTE_UNITS or
                                                  token.lower_unit in _RELATIVE_UNITS)) or \
            token.type == "percentage" or (token.type == "ident" and token.lower_value in _KEYWORD_PX)
        if is_size:
            out[index:index + 1] = scale_font_size([token], scale)
            return out
        if token.type in ("string",) or (token.type == "literal" and token.value == ","):
            return value  # reached the family list without a size: system font keyword etc.
    return value


def _rewrite_declaration_tokens(tokens: list, scale: Scale | None, replaced: bool,
                                rewrite_url: "UrlRewriter | None") -> list:
    """A declaration block's tokens, rewritten chunk by chunk (split at ';').

    Works on raw tokens rather than parsed declarations, so IE hacks (*zoom, _height, \\9) and other
    invalid bits that real portal CSS is full of survive unchanged next to the declarations we rewrite.
    """
    out: list = []
    chunk: list = []
    for token in tokens + [None]:
        if token is None or (token.type == "literal" and token.value == ";"):
            out.extend(_rewrite_chunk(chunk, scale, replaced) if scale is not None else chunk)
            if token is not None:
                out.append(token)
            chunk = []
        else:
            chunk.append(token)
    if rewrite_url is not None:
        _rewrite_url_tokens(out, rewrite_url)
    return out


def _rewrite_chunk(chunk: list, scale: Scale, replaced: bool) -> list:
    index = 0
    while index < len(chunk) and _is_space(chunk[index]):
        index += 1
    if index >= len(chunk) or chunk[index].type != "ident":
        return chunk  # not a declaration we know (a hack like *zoom, a nested rule, garbage)
    name_index = index
    index += 1
    while index < len(chunk) and _is_space(chunk[index]):
        index += 1
    if index >= len(chunk) or not (chunk[index].type == "literal" and chunk[index].value == ":"):
        return chunk
    name = chunk[name_index].lower_value
    index += 1
    while index < len(chunk) and chunk[index].type == "whitespace":  # keep 'font-size: 12px' spacing
        index += 1
    value = chunk[index:]
    head = chunk[:index]
    if name == "font-size":
        return head + scale_font_size(value, scale)
    if name == "font":
        return head + scale_font_shorthand(value, scale)
    if name in _FIXED_HEIGHTS and not replaced and _is_fixed_length(value):
        # A fixed box would clip the enlarged text: let it grow (min-height keeps the original size).
        if not name.startswith("max-"):
            return chunk[:name_index] + _tokens("min-" + name) + chunk[name_index + 1:]
        return head + _tokens("none")
    return chunk


# The properties that fix a box's height (the logical ones are the same in horizontal text): height becomes
# min-height, block-size min-block-size, and the maximums are lifted.
_FIXED_HEIGHTS = ("height", "max-height", "block-size", "max-block-size")


# One line that hides what does not fit (a list title beside its floated date): enlarged, the line no longer
# fits and runs under the date, or is cut.  Such a box may wrap instead (and grows: its height is a minimum).
_NOWRAP = re.compile(r"(?<![\w-])(white-space[ \t\n]*:[ \t\n]*)nowrap(?![\w-])", re.I)
_HIDES_OVERFLOW = re.compile(r"(?<![\w-])(?:overflow(?:-x)?\s*:\s*(?:hidden|clip)|text-overflow\s*:\s*ellipsis)", re.I)
# Visually hidden text (.sr-only: a 1px clipped box) keeps nowrap: wrapped, screen readers run its words together.
_CLIPPED_AWAY = re.compile(r"(?<![\w-])clip(?:-path)?\s*:", re.I)


def _unwrapped(text: str) -> str:
    """white-space:nowrap made normal in a declaration list that hides its overflow (see above)."""
    if "nowrap" not in text or _HIDES_OVERFLOW.search(text) is None or _CLIPPED_AWAY.search(text):
        return text  # (str.find first: a fast scan)
    return _NOWRAP.sub(r"\1normal", text)


# A floated or inline-block box made for one line of text (its height and line height the same px: a menu item,
# a tab, a date): its fixed width broke a larger word in two (信息公/开).  The width becomes a minimum, and a box
# without padding of its own gets half an em each side, the room between neighbours its width used to give.
# Not an icon or sprite (a url() or background position in the rule), a round badge (border-radius), a box
# narrower than 40px (dots, arrows, page numbers) nor a field (see rewrite_stylesheet).
_ONE_LINE_HEIGHT = re.compile(r"(?<![\w-])height[ \t\n]*:[ \t\n]*([0-9.]+)px", re.I)
_ONE_LINE_LINE_HEIGHT = re.compile(r"(?<![\w-])line-height[ \t\n]*:[ \t\n]*([0-9.]+)px", re.I)
_ONE_LINE_WIDTH = re.compile(r"(?<![\w-])(width[ \t\n]*:[ \t\n]*([0-9]+(?:\.[0-9]+)?)px)", re.I)
_IN_A_ROW = re.compile(r"(?<![\w-])(?:float\s*:\s*(?:left|right)|display\s*:\s*inline-block)", re.I)


def _widened(text: str) -> str:
    """A one-line box's fixed width made a minimum (see above)."""
    if "width" not in text or ("float" not in text and "inline-block" not in text):  # (str.find: fast)
        return text
    declared = _COMMENT.sub("", text) if "/*" in text else text  # (a commented-out height is no height)
    height = _ONE_LINE_HEIGHT.search(declared)
    if height is None or "url(" in declared or "radius" in declared or "background-position" in declared or \
            _IN_A_ROW.search(declared) is None:
        return text
    line = _ONE_LINE_LINE_HEIGHT.search(declared)
    if line is None or float(line.group(1)) != float(height.group(1)):
        return text
    new = _ONE_LINE_WIDTH.sub(lambda match: "min-" + match.group(1) if float(match.group(2)) >= 40 else match.group(0),
                              text)
    if new == text or "padding" in declared:
        return new
    return new + ("" if new.rstrip().endswith(";") else ";") + "padding-left:.5em;padding-right:.5em"


# Absolutely positioned boxes that are shown where they are: not hidden (display:none, visibility:hidden,
# clip, opacity:0), not pushed off or tucked behind (a negative offset, margin or z-index), not laid over the
# page on purpose (a z-index of 10 or more: overlays, pop-ups, drop-down menus), not centred on themselves (a
# transform or negative margin would shift them once in the flow), not filling the box they sit in (height
# 100%: overlays, responsive frames), not drawn by an image (url(): arrows, icons) and not decoration (:before,
# :after) nor images or frames (see rewrite_stylesheet).  The rest keep their position.
_ABSOLUTE = re.compile(r"(?<![\w-])(position[ \t\n]*:[ \t\n]*)absolute(?![\w-])", re.I)
_KEEPS_POSITION = re.compile(  # (on the lower-cased text: twice as fast as re.I)
    r"(?<![\w-])(?:display\s*:\s*none|visibility\s*:\s*hidden|clip(?:-path)?\s*:|opacity\s*:\s*0*(?:\.0*)?(?![.\d])"
    r"|z-index\s*:\s*(?:-|[1-9][0-9])|(?:top|left|right|bottom|inset|margin(?:-top|-left)?)\s*:\s*-|transform\s*:"
    r"|height\s*:\s*100%|url\()")


def _unpinned(text: str) -> str:
    """A declaration list with position:absolute made static where the box is shown as it is (see above)."""
    if "absolute" not in text or _KEEPS_POSITION.search(text.lower()):
        return text
    new, count = _ABSOLUTE.subn(r"\1static", text)
    # On a row of its own, as it sat above the flow: not squeezed into what floats beside it leave.
    return new + ("clear:both" if new.rstrip().endswith(";") else ";clear:both") if count else text


def _is_fixed_length(value: list) -> bool:
    significant = [t for t in value if not _is_space(t)]
    _split_important(significant)
    if len(significant) != 1:
        return False
    token = significant[0]
    if token.type == "function" and token.lower_name in _MATH_FUNCTIONS:
        return _fixed_math(token.arguments) is True
    return token.type == "dimension" and token.lower_unit in _FIXED_HEIGHT_UNITS and token.value > 0


# calc(3em + 10px), min(), max(), clamp(): fixed when made of fixed lengths alone (a percentage, a viewport unit
# or a var() in it is layout's, or unknown).
_MATH_FUNCTIONS = {"calc", "-webkit-calc", "-moz-calc", "min", "max", "clamp"}


def _fixed_math(tokens: list) -> bool | None:
    """True if the arguments hold fixed lengths (one positive at least), numbers and operators only; False if
    something else; None if no positive fixed length (calc(0px) hides the box as height:0 does)."""
    positive = None
    for token in tokens:
        if _is_space(token) or token.type == "number" or (
                token.type == "literal" and token.value in ("+", "-", "*", "/", ",")):
            continue
        if token.type == "dimension" and token.lower_unit in _FIXED_HEIGHT_UNITS:
            positive = positive or (token.value > 0 or None)
        elif token.type == "() block" or (token.type == "function" and token.lower_name in _MATH_FUNCTIONS):
            inner = _fixed_math(token.content if token.type == "() block" else token.arguments)
            if inner is False:
                return False
            positive = positive or inner
        else:
            return False
    return positive


def rewrite_style_attribute(text: str, scale: Scale, tag: str) -> str:
    text = _unwrapped(text)  # (not _unpinned: a style attribute's position is mostly a script's)
    return _rewrite_declarations(text, scale, tag in _REPLACED, None)


def _rewrite_declarations(text: str, scale: Scale | None, replaced: bool, rewrite_url: "UrlRewriter | None") -> str:
    """A declaration list (a style attribute, a rule's block) rewritten: what tinycss2 gives for the whole of
    it, but where the text is _PLAIN_DECLARATIONS (tinycss2 would give back each declaration as written, and
    every ';' separates two), only the declarations that can change are tokenized."""
    plain = text
    if "\r" in text or "\f" in text or "\0" in text:  # what tinycss2 makes of them first (CRLF files are common)
        plain = text.replace("\0", "\ufffd").replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    if _PLAIN_DECLARATIONS.fullmatch(plain) is None:
        tokens = tinycss2.parse_component_value_list(text, skip_comments=False)
        return tinycss2.serialize(_rewrite_declaration_tokens(tokens, scale, replaced, rewrite_url))
    if rewrite_url is None and (scale is None or _INTERESTING.search(plain) is None):
        return plain  # no declaration can change (a declaration's match is one in the whole): the common case
    chunks = plain.split(";")
    for index, chunk in enumerate(chunks):
        has_url = rewrite_url is not None and "url(" in chunk
        if scale is not None and _INTERESTING.search(chunk):
            new = None if has_url else _rewrite_plain_declaration(chunk, scale, replaced)
            if new is not None:
                chunks[index] = new
                continue
        elif not has_url:
            continue
        elif '"' not in chunk:  # its url()s are the URL tokens, and nothing else in it changes
            chunks[index] = _PLAIN_URL.sub(lambda match: _rewritten_url(match, rewrite_url), chunk)
            continue
        tokens = tinycss2.parse_component_value_list(chunk, skip_comments=False)
        chunks[index] = tinycss2.serialize(_rewrite_declaration_tokens(tokens, scale, replaced, rewrite_url))
    return ";".join(chunks)


# A URL token in a plain declaration (lower case, unquoted: see _CSS_ATOM), not the end of a longer name.
_PLAIN_URL = re.compile(r"(?<![A-Za-z0-9_\-\u0080-\U0010ffff])url\(([^\s\"'();\\\x00-\x1f\x7f]*+)\)")


def _rewritten_url(match: re.Match, rewrite_url: "UrlRewriter") -> str:
    new = rewrite_url(match.group(1), False)
    return f"url({new})" if new else match.group(0)  # (as _rewrite_url_tokens writes a URL token)


# One plain declaration (see _PLAIN_DECLARATIONS) of a size or height, in the common forms: name, the spaces
# after the colon, then one number, dimension, percentage or ident, and maybe !important.
_PLAIN_DECLARATION_PARTS = re.compile(r"([ \t\n]*+)([A-Za-z-]++)([ \t\n]*+:[ \t\n]*+)(.*)", re.S)
_PLAIN_SIZE = re.compile(r"(?:([-+]?(?:[0-9]++(?:\.[0-9]++)?|\.[0-9]++))(%|[A-Za-z]++)?|([A-Za-z-]++))[ \t\n]*+"
                         r"(?:![ \t\n]*+([Ii][Mm][Pp][Oo][Rr][Tt][Aa][Nn][Tt])[ \t\n]*+)?")


def _rewrite_plain_declaration(chunk: str, scale: Scale, replaced: bool) -> str | None:
    """What _rewrite_chunk makes of one plain declaration, worked out on its text (a tinycss2 round trip costs
    15-20 µs a declaration), or None for a form left to tinycss2 (the font shorthand, functions, several
    values).  Held to the tinycss2 path by a fuzzer over declaration lists."""
    parts = _PLAIN_DECLARATION_PARTS.fullmatch(chunk)
    if parts is None:
        return None
    name = parts.group(2).lower()
    if name != "font-size" and name not in _FIXED_HEIGHTS:
        return None
    size = _PLAIN_SIZE.fullmatch(parts.group(4))
    if size is None:
        return None
    number, unit, ident, important = size.groups()
    unit = unit.lower() if unit else None
    if name != "font-size":  # a fixed height: one positive absolute length
        if replaced or number is None or unit not in _FIXED_HEIGHT_UNITS or not float(number) > 0:
            return chunk
        if not name.startswith("max-"):
            return parts.group(1) + "min-" + name + chunk[parts.end(2):]
        return parts.group(1) + parts.group(2) + parts.group(3) + "none"
    if number is not None and float(number) == 0:
        return chunk  # zero in any unit: as scale_font_size
    if number is not None and unit in _ABSOLUTE_UNITS:
        new = f"{_fmt(scale.px(float(number) * _ABSOLUTE_UNITS[unit]))}px"
    elif ident is not None and ident.lower() in _KEYWORD_PX:
        new = f"{_fmt(scale.px(_KEYWORD_PX[ident.lower()]))}px"
    elif (number is not None and unit is not None and (unit == "%" or unit in _RELATIVE_UNITS)) or (
            ident is not None and ident.lower() in ("smaller", "larger")):
        new = f"max({(number + size.group(2)) if number is not None else ident}, {_fmt(scale.floor_px)}px)"
    else:
        return chunk  # a number, an unknown unit or keyword: left as it is
    return parts.group(1) + parts.group(2) + parts.group(3) + new + (" !important" if important else "")


class StyleAttributes:
    """Rewrites a page's style attributes, each distinct value once (a portal repeats a few values on hundreds
    of elements: 88 attributes, 27 values on a 100 KB article page)."""

    def __init__(self, scale: Scale):
        self.scale = scale
        self.done: dict[tuple[bool, str], str] = {}

    def rewrite(self, text: str, tag: str) -> str:
        key = (tag in _REPLACED, text)
        new = self.done.get(key)
        if new is None:
            new = self.done[key] = rewrite_style_attribute(text, self.scale, tag)
        return new


# Declarations that tinycss2 tokenizes and serializes back to the same characters, as a grammar small enough
# to be sure of: names, idents (non-ASCII ones too: 宋体), numbers with a unit or %, hashes, double-quoted
# strings without escapes, url() (lower case) without quotes, escapes or spaces, one level of other
# functions, each followed by whitespace, ',', '/', '!', ';', ')' or the end; a ';' only between declarations
# (none in strings or url()), so each declaration can be tokenized alone.  What it leaves out goes through
# tinycss2 whole, as before: escapes and IE hacks (\9, *zoom), comments, single quotes (tinycss2 writes them
# double), other url()s, unicode ranges, CR/FF/NUL (its preprocessing changes them), brackets, nested
# functions, the unit 'e' (written \65), and tokens written against each other ("1-2", "a.5"), which its
# serializer separates with /**/.  Every repetition is possessive and every item starts with a character no
# other can: linear on any input.
_CSS_NAME = r"[A-Za-z0-9_\-\u0080-\U0010ffff]"  # a name character (never an escape)
_CSS_IDENT = rf"(?:--|-?[A-Za-z_\u0080-\U0010ffff]){_CSS_NAME}*+"
_CSS_ATOM = (r"(?>url\([^\s\"'();\\\x00-\x1f\x7f]*+\)"
             rf"|{_CSS_IDENT}|[-+]?(?:[0-9]++(?:\.[0-9]++)?|\.[0-9]++)(?:%|(?![eE](?![A-Za-z]))[A-Za-z]++)?"
             rf'|#{_CSS_NAME}++|"[^"\\\n\r\f\x00;]*+")(?=[ \t\n,/!;)]|\Z)')
_CSS_SEPARATOR = r"(?:[ \t\n,!]|/(?!\*))"  # whitespace is tinycss2's own (CR and FF it rewrites as LF)
_CSS_VALUE = (rf"(?:{_CSS_SEPARATOR}|(?![Uu][Rr][Ll]\(){_CSS_IDENT}\((?:{_CSS_SEPARATOR}|{_CSS_ATOM})*+\)"
              rf"(?=[ \t\n,/!;]|\Z)|{_CSS_ATOM})*+")
_CSS_DECLARATION = rf"[ \t\n]*+(?:{_CSS_IDENT}[ \t\n]*+:{_CSS_VALUE})?"
_PLAIN_DECLARATIONS = re.compile(rf"{_CSS_DECLARATION}(?:;{_CSS_DECLARATION})*+")


UrlRewriter = Callable[[str, bool], "str | None"]  # (url, is_import) -> new url or None

# At-rules whose block holds rules (recurse) rather than declarations.
_GROUPING_AT_RULES = {"media", "supports", "layer", "document", "-moz-document", "container", "scope", "starting-style"}


def rewrite_stylesheet(text: str, scale: Scale | None, rewrite_url: UrlRewriter | None = None) -> str:
    """Scale a stylesheet's font sizes (if scale) and rewrite its URLs (if rewrite_url); keep the rest,
    comments, hacks and errors included, exactly as written.

    Portal stylesheets are long and mostly irrelevant to us, and tokenizing all of them in Python is
    slow: a regex scan finds the structure (braces and semicolons outside comments and strings), and
    only declaration blocks that mention a property we change (or a URL) are tokenized by tinycss2, and of
    those (see _rewrite_declarations) only the declarations that can change.
    """
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), non-overlapping
    stack: list[list] = []  # [kind, content start, has nested blocks]
    boundary = 0  # where the current prelude or statement began
    scanned, end = 0, len(text)
    while True:
        # To the next brace, or semicolon where statements end (top level, @media...): comments, strings and
        # the semicolons between declarations are passed over in C, one match for all of them.
        scan = _TO_BRACE_OR_SEMICOLON if not stack or stack[-1][0] == "rules" else _TO_BRACE
        position = scan.match(text, scanned).end()
        if position >= end:
            break
        scanned = position + 1
        char = text[position]
        if char == "{":
            if stack and stack[-1][0] != "rules":
                # A block in a block of declarations: its prelude starts after the last ';' before it.
                for match in _STRUCTURE.finditer(text, boundary, position):
                    if match.group(0) == ";":
                        boundary = match.end()
            kind = _block_kind(text[boundary:position])
            if stack:
                stack[-1][2] = True
                if stack[-1][0] in ("keyframes", "skip"):
                    kind = "skip"  # keyframe selectors (from, 50%): animations are stopped in CSS anyway
            stack.append([kind, position + 1, False, text[boundary:position]])
            boundary = position + 1
        elif char == "}":
            if not stack:
                boundary = position + 1
                continue  # a stray '}': browsers ignore it, and so do we
            kind, content_start, nested, prelude = stack.pop()
            content = text[content_start:position]
            declarations = kind == "declarations" and not nested
            if declarations:
                laid_out = content
                if scale is not None:  # (str.find first, a fast scan: the regexes only where the values are)
                    if "absolute" in content and ":after" not in prelude and ":before" not in prelude:
                        unpinned = _unpinned(laid_out)
                        if unpinned is not laid_out and not _replaced_selectors(prelude, _MEDIA)[0]:
                            laid_out = unpinned
                    if "nowrap" in content:
                        laid_out = _unwrapped(laid_out)
                    if "line-height" in content:
                        widened = _widened(laid_out)
                        if widened is not laid_out and not _replaced_selectors(prelude)[0]:  # (not a field's)
                            laid_out = widened
                sizes = scale is not None and _INTERESTING.search(content)
                rewrite = sizes or (rewrite_url is not None and "url(" in content.lower())
                if rewrite or laid_out != content:
                    # (a block whose only change is in its layout is not tokenized)
                    replaced, others = _replaced_selectors(prelude) if sizes else (False, "")
                    new = _rewrite_declarations(laid_out, scale, replaced, rewrite_url) if rewrite else laid_out
                    if new != content:
                        edits.append((content_start, position, new))
                    if replaced and others:
                        # "img, .btn {height:30px}": the image keeps its box, the button must grow with its text,
                        # so the block is repeated for the other selectors alone, heights relaxed.
                        relaxed = _rewrite_declarations(laid_out, scale, False, rewrite_url)
                        if relaxed != new:  # (and the fixed height itself undone for them)
                            undo = "height:auto !important" if "important" in content.lower() else "height:auto"
                            edits.append((position + 1, position + 1, f"\n{others}{{{relaxed};{undo}}}"))
            elif kind == "at-declarations" and rewrite_url is not None and "url(" in content.lower():
                new = _rewrite_declarations(content, None, True, rewrite_url)
                if new != content:
                    edits.append((content_start, position, new))
            boundary = position + 1
        else:  # ';' (at the top level or in a block of rules)
            statement = text[boundary:position]
            stripped = statement.lstrip().lower()
            if stripped.startswith("@charset"):
                edits.append((boundary, position + 1, ""))  # with its ';', or it would swallow the next rule
            elif stripped.startswith("@import") and rewrite_url is not None:
                tokens = tinycss2.parse_component_value_list(statement, skip_comments=False)
                new = tinycss2.serialize(_rewrite_statement(tokens, rewrite_url))
                if new != statement:
                    edits.append((boundary, position, new))
            boundary = position + 1
    if not edits:
        return text
    out, last = [], 0
    for begin, finish, replacement in sorted(edits):
        if begin < last:
            continue
        out.append(text[last:begin])
        out.append(replacement)
        last = finish
    out.append(text[last:])
    return "".join(out)


_STRUCTURE = re.compile(r"/\*.*?(?:\*/|\Z)|\"(?:\\.|[^\"\\\n])*\"?|'(?:\\.|[^'\\\n])*'?|[{};]", re.S)
# The same scan as one match each: everything up to the next structural character (or the end).
_SKIPPED = r"/\*.*?(?:\*/|\Z)|/(?!\*)|\"(?:\\.|[^\"\\\n])*+\"?|'(?:\\.|[^'\\\n])*+'?"
_TO_BRACE_OR_SEMICOLON = re.compile(rf"(?:[^{{}};/\"']++|{_SKIPPED})*+", re.S)
_TO_BRACE = re.compile(rf"(?:[^{{}}/\"']++|{_SKIPPED})*+", re.S)
_INTERESTING = re.compile(r"(?<![\w-])(font-size|font|height|max-height|block-size|max-block-size)\s*:", re.I)
_REPLACED_SELECTOR = re.compile(r"(^|[\s>+~,(])(" + "|".join(_REPLACED) + r")\b")
_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.S)
_SELECTOR_COMMA = re.compile(r",(?![^()\[\]]*[)\]])")  # (not inside :is(...) or [...])
_SUBJECT_TAG = re.compile(r"(?:^|[\s>+~])([A-Za-z][A-Za-z0-9]*)[^\s>+~]*\s*$")


def _replaced_selectors(prelude: str, tags: tuple = _REPLACED) -> tuple[bool, str]:
    """Does a rule style replaced content (an image, a frame, a field: the subject of one of its selectors is one of
    tags), and which of its selectors style something else ("" if none or all do)?"""
    lowered = prelude.lower()
    if not _REPLACED_SELECTOR.search(lowered):
        return False, ""  # (the common case: no replaced element named anywhere)
    replaced, others = False, []
    for selector in _SELECTOR_COMMA.split(_COMMENT.sub(" ", prelude)):
        subject = _SUBJECT_TAG.search(selector)
        if subject and subject.group(1).lower() in tags:
            replaced = True
        elif selector.strip():
            others.append(selector.strip())
    return replaced, ",".join(others) if replaced else ""


def _block_kind(prelude: str) -> str:
    head = prelude.lstrip()
    if not head.startswith("@"):
        return "declarations"
    keyword = re.match(r"@([-\w]+)", head)
    name = keyword.group(1).lower() if keyword else ""
    if name in _GROUPING_AT_RULES:
        return "rules"
    if name == "keyframes" or name.endswith("-keyframes"):
        return "keyframes"
    return "at-declarations"  # @font-face, @page...: URLs only


def _rewrite_statement(prelude: list, rewrite_url: UrlRewriter | None) -> list:
    """A block-less at-rule: drop @charset (we send UTF-8), keep @import's target on the proxy."""
    first = next((t for t in prelude if not _is_space(t)), None)
    if first is None or first.type != "at-keyword":
        return prelude
    if first.lower_value == "charset":
        return []
    if first.lower_value == "import" and rewrite_url is not None:
        for index, token in enumerate(prelude):
            if token.type == "url":
                new = rewrite_url(token.value, True)
                if new:
                    prelude[index] = ast.URLToken(token.source_line, token.source_column, new, f"url({new})")
                break
            if token.type == "string":
                new = rewrite_url(token.value, True)
                if new:
                    prelude[index] = ast.StringToken(token.source_line, token.source_column, new, f'"{new}"')
                break
    return prelude


def _rewrite_url_tokens(tokens: list, rewrite_url: UrlRewriter) -> bool:
    changed = False
    for index, token in enumerate(tokens):
        if token.type == "url":
            new = rewrite_url(token.value, False)
            if new:
                tokens[index] = ast.URLToken(token.source_line, token.source_column, new, f"url({new})")
                changed = True
        elif token.type == "function" and token.lower_name == "url":
            strings = [t for t in token.arguments if t.type == "string"]
            if strings:
                new = rewrite_url(strings[0].value, False)
                if new:
                    tokens[index] = ast.URLToken(token.source_line, token.source_column, new, f"url({new})")
                    changed = True
        elif hasattr(token, "content") and isinstance(getattr(token, "content", None), list):
            changed |= _rewrite_url_tokens(token.content, rewrite_url)
        elif token.type == "function":
            changed |= _rewrite_url_tokens(token.arguments, rewrite_url)
    return changed
