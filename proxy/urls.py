"""Mapping between the reader's URLs (on the proxy) and the upstream's.

Public URLs have two forms: the plain upstream path (``/a/b.html?x=1``) and the canonical mode form
(``/-/trad+elder/a/b.html?x=1``).  Everything the proxy serves itself also lives under ``/-/``; its
endpoint names never collide with mode names.
"""
from __future__ import annotations

import ipaddress
import re
import string
from urllib.parse import unquote
from dataclasses import dataclass

from yarl import URL

from . import modes as modes_mod

PROXY_ROOT = "/-/"


@dataclass(frozen=True)
class PrefixSplit:
    modes_text: str | None  # the mode segment, e.g. "trad+elder", or None when the path has no prefix
    rest: str  # the upstream path, always starting with "/"


def split_mode_prefix(path: str) -> PrefixSplit:
    """'/-/trad+elder/a/b' -> ('trad+elder', '/a/b'); a path outside '/-/' -> (None, path).

    The proxy's own endpoints under '/-/' are routed before this is asked, so any other first
    segment there is a mode list (perhaps an invalid one, which the caller reports).
    """
    if not path.startswith(PROXY_ROOT):
        return PrefixSplit(None, path)
    segment, slash, rest = path[len(PROXY_ROOT):].partition("/")
    segment = segment.split("?", 1)[0]
    return PrefixSplit(unquote(segment), "/" + rest if slash else "/" + path.partition("?")[1] + path.partition("?")[2])


def mode_prefix(modes: modes_mod.Modes) -> str:
    """'/-/trad+elder' for a mode set, '' for plain."""
    text = modes.canonical()
    return f"{PROXY_ROOT}{text}" if text else ""


def with_prefix(path_and_query: str, prefix: str) -> str:
    return prefix + path_and_query if prefix else path_and_query


# --- same-origin paths: every Location and href the proxy builds from what a reader sent ------------------
#
# A browser reads a URL reference with the WHATWG URL parser, which before anything else strips leading and
# trailing C0 controls and spaces, removes every tab, CR and LF, and (in http/https URLs) treats a backslash as
# a slash.  A reference that then starts with '/' names another host if and only if its second character is
# '/' or '\' as well: '/\evil.com', '/<TAB>/evil.com' and '//evil.com' all leave the site, while '/' followed
# by anything else keeps the base URL's host, whatever comes later ('/.//x' included).  Percent-encoded forms
# ('/%2F%2Fevil.com', '/%5Cevil.com', '/%09/evil.com') are never decoded by the parser, so they stay paths on
# this host (the upstream may decode them; that is within its own path space).

_C0_OR_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = re.compile("[\t\n\r]")
# Kept as they are in a Location: RFC 3986's unreserved and reserved characters ('%' only as a %XX escape).
# Everything else (controls, DEL, space, '"<>\^`{|}', non-ASCII) is percent-encoded as UTF-8, which also makes
# the value a legal header field (aiohttp refuses to send controls or DEL at all).
_URI_CHARS = frozenset(string.ascii_letters + string.digits + "-._~" + "!$&'()*+,;=" + ":@/?#[]")
_HEX = frozenset(string.hexdigits)


def _as_browser_reads(reference: str) -> str:
    return _TAB_OR_NEWLINE.sub("", reference.strip(_C0_OR_SPACE)).replace("\\", "/")


def is_local_path(reference: str | None) -> bool:
    """Whether a browser reads `reference` as a path on the current host ('/x'), not '//host', '/\\host',
    'scheme:...' or a relative path."""
    seen = _as_browser_reads(reference or "")
    return seen.startswith("/") and not seen.startswith("//")


def _percent_encode(text: str) -> str:
    out = []
    for i, char in enumerate(text):
        if char in _URI_CHARS:
            out.append(char)
        elif char == "%" and text[i + 1:i + 2] in _HEX and text[i + 2:i + 3] in _HEX and text[i + 1:i + 3]:
            out.append(char)  # an existing escape: the reader's bytes, kept as they are
        else:  # surrogateescape: raw non-UTF-8 bytes of a request line come back as the same bytes
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogateescape"))
    return "".join(out)


def same_origin_path(target: str | None) -> str:
    """The one gate for every Location and href the proxy builds from reader input (canonical and cookie
    redirects, toggles, the debug view, retry links, upstream redirects made local): a path on this origin
    that is also a legal header value, whatever `target` holds.

    Characters outside RFC 3986 are percent-encoded (so no tab, CR/LF or backslash is left for a browser to
    strip or read as a slash); a target that is not a path gets a leading '/'.  A path that starts with '//'
    ('/-/plain//x', an upstream redirect to 'http://upstream//x') cannot be sent as it is, since '//x' names
    the host x.  It becomes '/.//x': the WHATWG parser has taken the host from the base URL by the time it
    sees the second character ('.'), and its dot-segment removal then gives the path '//x' on this host, so
    the reader reaches exactly the path asked for (RFC 3986 resolution, in curl or Python, gives the same).
    Collapsing to '/x' would be safe too, but would send the upstream a different path than the one asked for.
    """
    path = _percent_encode(target or "")
    if not path.startswith("/"):
        path = "/" + path
    if path.startswith("//"):
        path = "/." + path
    return path


def safe_local_target(target: str | None) -> str:
    """A toggle's `next`: a path on this host as given, or '/' for anything a browser would read otherwise
    ('//host', '/\\host', '/<TAB>/host', 'scheme:...', a relative path).  Callers still pass the Location
    they build from it through `same_origin_path` (the mode prefix is taken off, and what is left may be
    '//host')."""
    if not is_local_path(target):
        return "/"
    return (target or "").strip(_C0_OR_SPACE)


# --- Host headers -------------------------------------------------------------------------------------

_REG_NAME = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_PORT = re.compile(r"[0-9]{1,5}")


class Authority(str):
    """A validated Host (or X-Forwarded-Host) value, normalised: 'name[:port]' with the name in lower case,
    an IPv6 address bracketed and compressed, the port as a plain number.  It is the string itself (what
    goes downstream as the public host, in X-Forwarded-Host and the page's origin) with the parts as
    attributes: `host`, `port` (None when absent), and `name` (the host without a trailing dot, for matching).
    """

    host: str
    port: int | None

    def __new__(cls, host: str, port: int | None = None) -> "Authority":
        authority = super().__new__(cls, host if port is None else f"{host}:{port}")
        authority.host, authority.port = host, port
        return authority

    @classmethod
    def parse(cls, text: str | None) -> "Authority | None":
        """RFC 9110 Host = uri-host [':' port]: a reg-name, an IPv4 address or an [IPv6] literal, then
        ':' and 1..65535, nothing else.  None for anything malformed (userinfo, a path, a second colon,
        a space, an empty value, a zone id, an IPvFuture literal)."""
        if not isinstance(text, str) or not text:
            return None
        if text.startswith("["):
            literal, bracket, rest = text[1:].partition("]")
            if not bracket or "%" in literal:
                return None
            try:
                host = f"[{ipaddress.IPv6Address(literal).compressed}]"
            except ValueError:
                return None
        else:
            host, colon, port_text = text.partition(":")
            rest = colon + port_text
            if not _REG_NAME.fullmatch(host):
                return None
            host = host.lower()
        port = None
        if rest:
            if not rest.startswith(":") or not _PORT.fullmatch(rest[1:]):
                return None
            port = int(rest[1:])
            if not 1 <= port <= 65535:
                return None
        return cls(host, port)

    @property
    def name(self) -> str:
        return self.host.rstrip(".") if not self.host.startswith("[") else self.host


# What yarl raises on malformed URLs (IndexError from its authority parsing, UnicodeError from IDNA): such a
# URL names no upstream and is left as it is.
_MALFORMED_URL = (ValueError, IndexError, UnicodeError)


_DEFAULT_PORTS = {"http": 80, "https": 443}


class UpstreamLinks:
    """Rewrites URLs that point at the upstream so the reader stays on the proxy.

    Absolute upstream URLs become root-relative paths (valid on any public host name the proxy
    answers to).  Navigational URLs (links, forms, frames, redirects) also keep the page's mode
    prefix; resources (images, scripts) do not, so HTTP caches hold one copy of each.
    """

    def __init__(self, upstream_hosts: set[str], prefix: str):
        self.hosts = upstream_hosts
        self.prefix = prefix

    def rewrite(self, value: str, navigational: bool) -> str | None:
        """The rewritten URL, or None if `value` does not change."""
        text = value.strip()
        if not text:
            return None
        lowered = text[:12].lower()
        if text.startswith("//") or lowered.startswith(("http://", "https://")):
            try:  # yarl parses lazily: a malformed authority ('//][@') fails in the host lookup, not here
                url = URL(("http:" if text.startswith("//") else "") + text)
                upstream = self._is_upstream(url)
            except _MALFORMED_URL:
                return None
            if not upstream:
                return None
            local = url.raw_path or "/"
            # 'http://upstream//x' is a link to the upstream; '//x' would be one to the host x.
            local = same_origin_path(with_prefix(local, self.prefix) if navigational else local)
            return local + _query_as_written(text)
        if navigational and self.prefix and text.startswith("/") and not text.startswith(PROXY_ROOT):
            return self.prefix + text
        return None

    def _is_upstream(self, url: URL) -> bool:
        """Whether an absolute URL names the upstream (or an alias): 'host' entries are the host on its scheme's
        default port, 'host:port' entries that port; 'http://host:80/' is 'http://host/' (and so matches both)."""
        host = (url.host or "").lower()
        default = url.explicit_port is None or url.port == _DEFAULT_PORTS.get(url.scheme)
        return (default and host in self.hosts) or f"{host}:{url.port}" in self.hosts

    def rewrite_location(self, value: str, request_url: URL) -> str:
        """A Location/Content-Location header: resolve against the upstream request, then rewrite."""
        try:
            absolute = request_url.join(URL(value.strip()))
            upstream = absolute.is_absolute() and self._is_upstream(absolute)
        except _MALFORMED_URL:
            return value
        if not upstream:
            return value
        local = absolute.raw_path_qs or "/"
        if absolute.raw_fragment:
            local += "#" + absolute.raw_fragment
        # An upstream redirect to 'http://upstream//evil.com/' (a trailing-slash redirect echoing the path
        # a reader asked for) must not become 'Location: //evil.com/'.
        return same_origin_path(with_prefix(local, self.prefix))

    def rewrite_refresh(self, value: str, request_url: URL) -> str:
        """'5; url=/next' style values (Refresh header and <meta http-equiv=refresh>)."""
        match = _REFRESH_URL.search(value)
        if not match:
            return value
        target = match.group(2)
        new = self.rewrite_location(target, request_url)
        return value[:match.start(2)] + new + value[match.end(2):] if new != target else value


def _query_as_written(url: str) -> str:
    """An absolute URL's query and fragment ('?...#...', or ''), as the relative '/s?q=...' is kept: yarl would
    encode a non-ASCII query in UTF-8, where a browser uses the page's charset (the links transform encodes it so
    for a legacy page), and turn a malformed escape ('%zz') into another ('%25zz').  Tabs and newlines are dropped
    and ASCII that is no URL character encoded, as browsers do (so it is safe in an unquoted CSS url())."""
    start = _QUERY_OR_FRAGMENT.search(url)
    if start is None:
        return ""
    rest = _TAB_OR_NEWLINE.sub("", url[start.start():])
    return _NOT_URL_ASCII.sub(lambda match: f"%{ord(match.group(0)):02X}", rest)


_QUERY_OR_FRAGMENT = re.compile("[?#]")
_NOT_URL_ASCII = re.compile("[^" + re.escape("".join(sorted(_URI_CHARS | {"%"}))) + "\x80-\U0010ffff]")
_REFRESH_URL = re.compile(r"""(url\s*=\s*['"]?)([^'"\s;]+)""", re.I)
