"""Mapping between the reader's URLs (on the proxy) and the upstream's.

Public URLs have two forms: the plain upstream path (``/a/b.html?x=1``) and the canonical mode form
(``/-/trad+elder/a/b.html?x=1``).  Everything the proxy serves itself also lives under ``/-/``; its
endpoint names never collide with mode names.
"""
from __future__ import annotations

import re
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


def safe_local_target(target: str | None) -> str:
    """A redirect target that can only stay on this host: a path, never '//host' or 'scheme:'."""
    if not target:
        return "/"
    target = target.strip().replace("\\", "/")
    if not target.startswith("/") or target.startswith("//") or any(ord(c) < 0x20 for c in target):
        return "/"
    return target


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
            try:
                url = URL(("http:" if text.startswith("//") else "") + text)
            except ValueError:
                return None
            if not self._is_upstream(url):
                return None
            local = url.raw_path_qs or "/"
            if url.raw_fragment:
                local += "#" + url.raw_fragment
            return with_prefix(local, self.prefix) if navigational else local
        if navigational and self.prefix and text.startswith("/") and not text.startswith(PROXY_ROOT):
            return self.prefix + text
        return None

    def _is_upstream(self, url: URL) -> bool:
        host = (url.host or "").lower()
        if url.explicit_port:
            host_port = f"{host}:{url.port}"
            return host_port in self.hosts
        return host in self.hosts

    def rewrite_location(self, value: str, request_url: URL) -> str:
        """A Location/Content-Location header: resolve against the upstream request, then rewrite."""
        try:
            absolute = request_url.join(URL(value.strip()))
        except ValueError:
            return value
        if not absolute.is_absolute() or not self._is_upstream(absolute):
            return value
        local = absolute.raw_path_qs or "/"
        if absolute.raw_fragment:
            local += "#" + absolute.raw_fragment
        return with_prefix(local, self.prefix)

    def rewrite_refresh(self, value: str, request_url: URL) -> str:
        """'5; url=/next' style values (Refresh header and <meta http-equiv=refresh>)."""
        match = _REFRESH_URL.search(value)
        if not match:
            return value
        target = match.group(2)
        new = self.rewrite_location(target, request_url)
        return value[:match.start(2)] + new + value[match.end(2):] if new != target else value


_REFRESH_URL = re.compile(r"""(url\s*=\s*['"]?)([^'"\s;]+)""", re.I)
