"""The request path, top to bottom:

    admit -> resolve modes -> fetch upstream -> decide whether to transform -> decode
          -> transforms in order -> encode -> respond

Everything that is not transformed (images, downloads, Range replies, HTML over the size limit, pages
that fail to decode) streams through byte for byte with its headers, minus hop-by-hop ones.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from dataclasses import dataclass
from typing import Callable

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from . import codec, document, logs, pages
from .cache import Entry, Remembered, Revalidations, TransformCache, cache_key, validators_of
from .headers import (add_vary, etag_suffix, rewrite_response_headers, strip_hop_by_hop, transformed_etag,
                      upstream_if_none_match, upstream_request_headers)
from .metrics import Metrics
from .modes import Modes, UnknownMode, parse as parse_modes
from .convert import get_converter, reverse_config
from .pipeline import OverBudget, Page, Pipeline, is_whole_document, trad_config_for
from .search import path_matches, simplify_pairs
from .transforms.stylesheets import linked_stylesheet
from .transforms.trad import converter_for
from .transforms.trad_json import convert_json_text
from .websocket import handshake_headers, is_websocket_upgrade
from .websocket import relay as websocket_relay
from .rules import PageRules, RulesStore
from .settings import PublicHost, Settings
from .urls import Authority, UpstreamLinks, mode_prefix, same_origin_path, split_mode_prefix, with_prefix

log = logging.getLogger(__name__)

_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Labels that upstreams put on HTML by mistake; we sniff these (WHATWG MIME sniffing's HTML signatures).
_SNIFFABLE_TYPES = ("", "text/plain", "application/octet-stream")
_HTML_SIGNATURE = re.compile(
    rb"^\s*<(?:!doctype\s+html|html|head|body|script|iframe|h1|div|font|table|a|style|title|b|br|p|!--)[\s>/]", re.I)
# Items of a list or table with nothing around them can only be a piece of a page, whoever asked for them.
_LIST_PIECE = re.compile(r"\ufeff?\s*(?:<!--.*?-->\s*)*<(?:li|tr|td|th|tbody|thead|option|optgroup|dd|dt)[\s>]",
                         re.I | re.S)
_PAGE_LIKE_PATH = re.compile(r"(/|\.s?html?|\.jsp|\.aspx?|\.php|/[^./]*)$", re.I)


# --- 1. admit and resolve modes ----------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    modes: Modes
    prefix: str  # the mode prefix links on this page keep ('' when modes came from cookie or host)
    path_qs: str  # upstream path and query, raw (percent-encoding as the reader sent it)
    from_cookie_or_host: bool  # the response depends on the mode cookie: caches must Vary on it


def public_scheme(request: web.Request, settings: Settings) -> str:
    if settings.is_trusted(request.remote):
        # The last value: the one our trusted front wrote (one that appends keeps what the reader sent before it).
        forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        if forwarded in ("http", "https"):
            return forwarded
    return request.scheme


class MalformedHost(web.HTTPBadRequest):
    """A Host (or trusted X-Forwarded-Host) that is not host[:port]: 400 with the proxy's own page.

    Raised, so that every caller of public_host_header (the proxy, the toggles) answers the same way."""

    def __init__(self, value: str):
        super().__init__(
            text=pages.bad_request(f"Host 请求头无效：{value[:200]!r}（应为 主机名[:端口]）。"),
            content_type="text/html", headers={"Cache-Control": "no-store"})


# Every request's Host is parsed: a bounded memo (readers send a few distinct values; Authority is immutable).
_parse_authority = functools.lru_cache(maxsize=1024)(Authority.parse)


def public_host_header(request: web.Request, settings: Settings) -> Authority:
    """The host[:port] the reader used to reach us, validated and normalised (see urls.Authority): what
    is matched against public_hosts and, once matched, sent on as X-Forwarded-Host and used as the page's
    public origin.  Raises MalformedHost for anything else ('localhost:@evil.example', two Host fields)."""
    if settings.is_trusted(request.remote) and "X-Forwarded-Host" in request.headers:
        value = request.headers["X-Forwarded-Host"].split(",")[-1].strip()  # (the front's own: see public_scheme)
    else:
        values = request.headers.getall("Host", [])
        value = values[0] if len(values) == 1 else ""  # none, or two that disagree about who we are
    authority = _parse_authority(value)
    if authority is None:
        raise MalformedHost(value)
    return authority


def cookie_modes(request: web.Request, settings: Settings) -> Modes | None:
    raw = request.cookies.get(settings.cookie_name)
    if raw is None:
        return None
    try:
        return parse_modes(raw)
    except UnknownMode:
        return None  # a stale or forged cookie is ignored, never an error for the reader


def is_navigation(request: web.Request) -> bool:
    """A top-level page load (never XHR/fetch, which must keep getting what they asked for)."""
    if request.method not in ("GET", "HEAD"):
        return False
    mode = request.headers.get("Sec-Fetch-Mode")
    if mode is not None:
        return mode == "navigate" and request.headers.get("Sec-Fetch-Dest", "document") in ("document", "iframe", "frame")
    if request.headers.get("X-Requested-With"):
        return False
    return "text/html" in request.headers.get("Accept", "")


def fetched_by_script(request: web.Request) -> bool:
    """XHR/fetch: what comes back goes into a page already rewritten, by the page's own script."""
    return _fetched_by_script(request.headers)


def _fetched_by_script(headers) -> bool:
    return headers.get("X-Requested-With", "").lower() == "xmlhttprequest" or headers.get("Sec-Fetch-Dest") == "empty"


# Per-request storage: what a revalidation record of this request is keyed on (the key itself, and its digest,
# are made only when a record may exist or is made).
REVALIDATION_INPUTS = web.RequestKey("revalidation_inputs", tuple)
# A 304 updates the stored response's headers, except those that describe the body we already hold.
_NOT_FROM_304 = {"content-length", "content-encoding", "content-type", "transfer-encoding", "content-range"}


# What a rewritten body's response never carries from the upstream's: its length, coding and digests, byte
# ranges, and the date validator (a cache revalidating by date would get the upstream's 304 and keep a page
# rewritten under other rules or settings; the weak, per-variant ETag is the validator of a rewritten body).
_NOT_WITH_A_REWRITE = ("Content-Encoding", "Content-Length", "Content-MD5", "Digest", "Accept-Ranges", "Last-Modified")


class PassThrough(Exception):
    """This body goes out as the upstream sent it: why, the metric outcome, and the log level it deserves."""

    def __init__(self, outcome: str, reason: str, level: int = logging.WARNING):
        super().__init__(reason)
        self.outcome = outcome
        self.level = level


class ClientTooSlow(Exception):
    """The reader stalled: sending us a request body (kind 'body') or taking our response ('send')."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class MemoryBudget:
    """Bytes of HTML held for rewriting by all requests of this process together (limits.transform_memory_bytes).

    Touched only from the event loop's thread, so plain integers suffice."""

    def __init__(self, capacity: int, gauge):
        self.capacity = capacity
        self.held = 0
        self.gauge = gauge

    def take(self, size: int) -> bool:
        if self.held + size > self.capacity:
            return False
        self.held += size
        self.gauge.set(self.held)
        return True

    def give_back(self, size: int) -> None:
        self.held -= size
        self.gauge.set(self.held)


class Redirect(Exception):
    def __init__(self, location: str, vary_cookie: bool):
        self.location = location
        self.vary_cookie = vary_cookie


def resolve_route(request: web.Request, settings: Settings, host: PublicHost) -> Route:
    """Which modes this request is served in, and which upstream path it asks for.

    Raises UnknownMode for a bad prefix, Redirect when the reader should land on the canonical URL.
    """
    raw = request.raw_path
    split = split_mode_prefix(raw)
    if split.modes_text is not None:
        modes = parse_modes(split.modes_text)
        prefix = mode_prefix(modes)
        canonical = with_prefix(split.rest, prefix)
        if canonical != raw and request.method in ("GET", "HEAD"):
            # One URL per mode set: '/-/elder+trad/x' -> '/-/trad+elder/x', '/-/plain/x' -> '/x'.
            raise Redirect(canonical, vary_cookie=False)
        return Route(modes, prefix, split.rest, from_cookie_or_host=False)
    stored = cookie_modes(request, settings)
    if stored is not None and not stored.plain and is_navigation(request):
        raise Redirect(with_prefix(raw, mode_prefix(stored)), vary_cookie=True)
    modes = stored if stored is not None else host.modes
    return Route(modes, "", raw, from_cookie_or_host=True)


# --- 2..8. the proxy handler -------------------------------------------------------------------------

class Proxy:
    def __init__(self, settings: Settings, pipeline: Pipeline, client: aiohttp.ClientSession, metrics: Metrics,
                 rules: RulesStore, variant_key: str, executor=None,
                 websocket_client: aiohttp.ClientSession | None = None):
        self.settings = settings
        self.pipeline = pipeline
        self.client = client
        self.websocket_client = websocket_client or client
        self.metrics = metrics
        self.rules = rules
        self.upstream_hosts = (settings.upstream.host or "",) + settings.upstream_aliases  # (for the rules)
        self.variant_key = variant_key  # proxy version + settings: with the rules version, part of every ETag
        self.executor = executor
        self.memory = MemoryBudget(settings.limits.transform_memory_bytes, metrics.transform_bytes_held)
        self.cache = TransformCache(settings.cache_max_bytes, metrics, settings.limits.compress_min_bytes)
        # One record per request seen (~1 KB each), as many as a full cache of 16 KB pages could answer.
        self.revalidations = Revalidations(max(1024, settings.cache_max_bytes // (16 * 1024)))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        settings = self.settings
        # Absolute-form targets ("GET http://elsewhere/ HTTP/1.1") are what open proxies follow: refuse.
        if not request.raw_path.startswith("/"):
            return self.own_page(400, pages.bad_request("此服务不是通用代理，不接受绝对地址请求。"), Modes())
        header_bytes = sum(len(name) + len(value) + 4 for name, value in request.raw_headers)
        if header_bytes > settings.limits.request_headers_bytes:
            log.info("request headers of %d bytes refused (limits.request_headers_bytes %d)", header_bytes,
                     settings.limits.request_headers_bytes)
            self.metrics.response("refused-headers")
            return self.own_page(431, pages.bad_request("请求头过大。"), Modes())
        host_header = public_host_header(request, settings)
        host = settings.host_for(host_header)
        if host is None:
            return self.own_page(421, pages.misdirected(host_header), Modes())
        try:
            route = resolve_route(request, settings, host)
        except UnknownMode as exc:
            return self.own_page(404, pages.unknown_modes(exc.token), Modes())
        except Redirect as redirect:
            return self.redirect(redirect)
        scheme = public_scheme(request, settings)
        links = UpstreamLinks(settings.upstream_hosts(), route.prefix)
        suffix = etag_suffix(f"{self.variant_key}|{self.rules.version}|{route.modes.canonical()}|{route.prefix}")

        headers = upstream_request_headers(
            request.headers, peer=request.remote, trusted_peer=settings.is_trusted(request.remote),
            public_scheme=scheme, public_host=host_header, upstream_host=settings.upstream.raw_authority,
            accept_encoding=codec.accepted_upstream_encodings(request.headers.get("Accept-Encoding")),
            cookie_name=settings.cookie_name, request_id=logs.current_request_id())
        # Live chat and the like: relayed message by message, as they are.  (No Upgrade field, no handshake:
        # the common case is answered without parsing Connection.)
        if "Upgrade" in request.headers and is_websocket_upgrade(request):
            headers = handshake_headers(headers, public_origin=f"{scheme}://{host_header}",
                                        upstream_origin=settings.upstream_origin)
            upstream_url = URL(settings.upstream_origin + route.path_qs, encoded=True)
            return await websocket_relay(request, self.websocket_client, upstream_url, headers, self.metrics)
        own_etag_asked = "If-None-Match" in headers and "a11y-" in headers["If-None-Match"]
        if "If-None-Match" in headers:
            value = upstream_if_none_match(headers.pop("If-None-Match"), suffix)
            if value:
                headers["If-None-Match"] = value
        try:  # a small body is read whole before an upstream connection is taken: see request_body
            body = await self.request_body(request)
        except ClientTooSlow:
            return self.client_too_slow(request, route)
        path_qs = route.path_qs
        rules_seen = None
        if route.modes.trad is not None:  # what the reader typed in Traditional goes back in Simplified
            path_qs, body, rules_seen = self.simplify_search(request, route, headers, body)
        upstream_url = URL(settings.upstream_origin + path_qs, encoded=True)
        remembered = self.ask_if_changed(request, route, upstream_url, headers, body, f"{scheme}://{host_header}")

        try:
            upstream = await self.ask_upstream(request.method, upstream_url, headers, body)
            if remembered is not None:
                self.metrics.cache_revalidations.labels(str(upstream.status)).inc()
                if upstream.status == 304:  # the page we rewrote last time is still the page: a cache hit
                    found = self.cache.lookup(remembered.entry_key, codec.choose_encoding(
                        request.headers.get("Accept-Encoding")) or "")
                    if found is not None:
                        try:
                            return self.revalidated(request, route, remembered, upstream, links, host_header,
                                                    scheme, suffix, *found)
                        finally:
                            upstream.release()
                    upstream.release()  # evicted meanwhile: ask again, without the condition
                    for name in remembered.validators:
                        headers.popall(name, None)
                    upstream = await self.ask_upstream(request.method, upstream_url, headers, body)
            if upstream.status == 206 and request.method == "GET" and body is None \
                    and self.kind_of(upstream, route, upstream_url) not in (None, "sniff"):
                # Bytes of the page as the portal has it are no range of the page we send at this URL
                # (RFC 9110 section 14.2 lets a server ignore Range): the whole page, rewritten, instead.
                upstream.release()
                for name in ("Range", "If-Range"):
                    headers.popall(name, None)
                upstream = await self.ask_upstream(request.method, upstream_url, headers, body)
        except ClientTooSlow:
            return self.client_too_slow(request, route)
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
            log.warning("upstream %s: no response within the timeouts (connect %ss, read %ss)", upstream_url,
                        settings.timeouts.connect, settings.timeouts.read)
            self.metrics.upstream_errors.labels("timeout").inc()
            return self.own_page(504, pages.upstream_failed(504, with_prefix(route.path_qs, route.prefix)), route.modes,
                                 upstream_url, route.prefix)
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("upstream %s failed: %s", upstream_url, exc)
            self.metrics.upstream_errors.labels("connect").inc()
            return self.own_page(502, pages.upstream_failed(502, with_prefix(route.path_qs, route.prefix)), route.modes,
                                 upstream_url, route.prefix)
        try:
            return await self.respond(request, route, upstream, upstream_url, links, host_header, scheme, suffix,
                                      own_etag_asked, rules_seen)
        finally:
            upstream.release()

    async def ask_upstream(self, method: str, url: URL, headers: CIMultiDict, body) -> aiohttp.ClientResponse:
        """One upstream request; its status (or the exception's name) goes to the request's access line.
        Noted here rather than through the session's trace hooks: tracing costs every request ~10% of a
        pass-through's CPU (Trace objects and four signals).  WebSocket handshakes keep the hooks (app.py)."""
        try:
            upstream = await self.client.request(method, url, headers=headers, data=body, allow_redirects=False)
        except BaseException as exc:  # as aiohttp's on_request_exception: any way the request failed
            logs.note(upstream_error=type(exc).__name__)
            raise
        logs.note(upstream_status=upstream.status)
        return upstream

    async def respond(self, request, route: Route, upstream: aiohttp.ClientResponse, upstream_url: URL,
                      links: UpstreamLinks, host_header: str, scheme: str, suffix: str,
                      own_etag_asked: bool, rules_seen: tuple | None = None) -> web.StreamResponse:
        settings = self.settings
        headers = strip_hop_by_hop(upstream.headers)
        rewrite_response_headers(headers, links=links, request_url=upstream_url, public_host=host_header,
                                 public_scheme=scheme)
        headers.add("Via", f"{upstream.version.major}.{upstream.version.minor} a11y-proxy")
        if upstream.status == 304 and own_etag_asked:
            # A revalidation of a page we rewrote: the 304 carries the same ETag and Vary as the 200 did.
            if "ETag" in headers:
                headers["ETag"] = transformed_etag(headers["ETag"], suffix)
            add_vary(headers, *self.page_vary(route))

        kind = self.decide(request, upstream, route, upstream_url)
        if kind is None:
            content_type = upstream.headers.get("Content-Type", "")
            if request.method == "HEAD" and _is_html_type(content_type) and upstream.status not in (206, 304):
                # HEAD of a page: describe what GET would send (UTF-8, our ETag, length unknown, same Vary).
                for name in _NOT_WITH_A_REWRITE:
                    headers.popall(name, None)
                headers["Content-Type"] = "text/html; charset=utf-8"
                if "ETag" in headers:
                    headers["ETag"] = transformed_etag(headers["ETag"], suffix)
                add_vary(headers, *self.page_vary(route))
            elif route.from_cookie_or_host and self.rewritten_in_some_mode(content_type, upstream_url):
                # Sent as it is in these modes, rewritten in others the cookie (or another host) may choose.
                add_vary(headers, "Cookie")
            self.metrics.response("stream")
            return await self.stream(request, upstream, headers, b"")
        # (not needed for what streams through: most requests; looked up already by simplify_search, usually)
        page_rules = self.page_rules(upstream_url, rules_seen)

        # 5. decode: read the body up to the limit; anything larger streams through untouched.
        limit = {"json": settings.limits.json_max_bytes, "css": settings.limits.css_max_bytes}.get(
            kind, settings.limits.html_max_bytes)
        if upstream.content_length is not None and upstream.content_length > limit:
            log.warning("%s: HTML of %d bytes over html_max_bytes; streamed untransformed", upstream_url,
                        upstream.content_length)
            self.metrics.response("stream-oversize")
            return await self.stream(request, upstream, headers, b"")
        taken = 0
        try:
            try:
                first = b""
                if kind == "sniff":
                    # An untyped response may be a download: decide on the first bytes that arrive, never hold it.
                    first = await upstream.content.readany()
                    prefix = codec.decompress_prefix(first, content_coding(upstream.headers), 1024)
                    if not _HTML_SIGNATURE.match(prefix[:1024]):
                        self.metrics.response("stream")
                        return await self.stream(request, upstream, headers, first)
                raw, complete, taken = await self.read_bounded(upstream, limit, first)
            except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
                status = 504 if isinstance(exc, asyncio.TimeoutError) else 502
                log.warning("%s: reading the page failed: %r", upstream_url, exc)
                self.metrics.upstream_errors.labels("timeout" if status == 504 else "read").inc()
                return self.own_page(status, pages.upstream_failed(status, with_prefix(route.path_qs, route.prefix)),
                                     route.modes, upstream_url, route.prefix)
            if not complete:
                if len(raw) > limit:
                    log.warning("%s: HTML over html_max_bytes (%d); streamed untransformed", upstream_url, limit)
                    self.metrics.response("stream-oversize")
                else:
                    log.warning("%s: %d bytes of HTML already held for rewriting (limits.transform_memory_bytes); "
                                "streamed untransformed", upstream_url, self.memory.held)
                    self.metrics.response("stream-memory")
                    not_for_keeping(headers)
                return await self.stream(request, upstream, headers, raw)
            return await self.rewrite(request, route, upstream, upstream_url, headers, kind, raw, limit, page_rules,
                                      host_header, scheme, suffix)
        finally:
            self.memory.give_back(taken)

    async def rewrite(self, request, route: Route, upstream: aiohttp.ClientResponse, upstream_url: URL,
                      headers: CIMultiDict, kind: str, raw: bytes, limit: int, page_rules: PageRules,
                      host_header: str, scheme: str, suffix: str) -> web.StreamResponse:
        """Steps 5-8 on a body read whole: decode, transform within the time budget, encode, respond; a page
        rewritten before with exactly these inputs is a lookup in the transform cache instead."""
        by_script = fetched_by_script(request)
        in_frame = request.headers.get("Sec-Fetch-Dest") in ("iframe", "frame")
        public_origin = f"{scheme}://{host_header}"
        # Exactly what the output depends on (the settings are in variant_key, the rules in their version).
        key = cache_key(kind, raw, content_coding(upstream.headers), upstream.headers.get("Content-Type", ""),
                        str(upstream_url), route.modes.canonical(), route.prefix, public_origin,
                        f"{in_frame}|{by_script}", f"{self.variant_key}|{self.rules.version}")
        coding = codec.choose_encoding(request.headers.get("Accept-Encoding")) or ""
        keep = "no-store" not in upstream.headers.get("Cache-Control", "").lower()

        async def render() -> Entry:
            return await self.render(kind, raw, limit, upstream, upstream_url, route, page_rules, public_origin,
                                     in_frame, by_script, coding)

        transform_started = time.monotonic()
        try:
            entry, out, used, hit = await self.cache.get_or_render(key, coding, render, keep)
        except PassThrough as reason:
            log.log(reason.level, "%s: %s; sent untransformed", upstream_url, reason)
            self.metrics.response(reason.outcome)
            if reason.outcome in ("passthrough-budget", "stream-memory"):  # (this moment's, not the page's)
                not_for_keeping(headers)
            return await self.stream(request, upstream, headers, raw)
        except Exception:  # a page we cannot rewrite still reaches the reader, exactly as sent
            log.exception("%s: transform failed; sent untransformed", upstream_url)
            self.metrics.response("passthrough-error")
            not_for_keeping(headers)
            return await self.stream(request, upstream, headers, raw)
        if not hit:
            self.metrics.transform_seconds.observe(time.monotonic() - transform_started)
        logs.note(cache="hit" if hit else "miss", transform_ms=round((time.monotonic() - transform_started) * 1000, 2))
        inputs = request.get(REVALIDATION_INPUTS)
        if inputs is not None:
            self.remember(inputs, key, upstream, keep)
        return self.send_rewritten(request, route, upstream.status, upstream.reason, upstream.headers, headers,
                                   entry, out, used, suffix)

    def send_rewritten(self, request, route: Route, status: int, reason: str, upstream_headers, headers: CIMultiDict,
                       entry: Entry, out: bytes, used: str, suffix: str) -> web.Response:
        """8. respond with a rewritten body (fresh or from the cache: the same headers either way)."""
        for name in _NOT_WITH_A_REWRITE:
            headers.popall(name, None)
        media = {"html": "text/html", "sniff": "text/html", "css": "text/css"}.get(entry.kind) or \
            upstream_headers.get("Content-Type", "application/json").split(";")[0]
        headers["Content-Type"] = f"{media}; charset=utf-8"
        etag = transformed_etag(upstream_headers.get("ETag"), suffix)
        if etag:
            headers["ETag"] = etag
        if used:
            headers["Content-Encoding"] = used
        if entry.kind in ("html", "sniff"):
            add_vary(headers, *self.page_vary(route))
        else:
            add_vary(headers, "Accept-Encoding", *(["Cookie"] if route.from_cookie_or_host else []))
        self.metrics.response("fragment" if entry.fragment else "transformed")
        return web.Response(status=status, reason=reason, headers=headers, body=out)

    # --- revalidation: a repeat view costs the upstream a 304 and us a cache hit ---

    def ask_if_changed(self, request: web.Request, route: Route, upstream_url: URL, headers: CIMultiDict, body,
                       public_origin: str) -> Remembered | None:
        """For a plain GET whose response we rewrote before, add that response's validators to the upstream
        request (and return the record); None otherwise.  The record is keyed by everything the rewrite
        depends on except the body, plus the reader's own Cookie and Authorization, so it only ever serves
        the reader it was made for."""
        if not self.cache.enabled or request.method != "GET" or body is not None or any(
                name in headers for name in ("If-None-Match", "If-Modified-Since", "If-Match", "Range")):
            return None
        url = str(upstream_url)
        # What the record's key is made of, put together only when a record may exist (below) or is made
        # (rewrite): a binary streamed through needs neither.  The headers are not changed until then.
        request[REVALIDATION_INPUTS] = parts = (request.headers, route, url, public_origin, headers, self.rules.version)
        if not self.revalidations.may_have(url):  # (most requests: images, scripts, pages seen the first time)
            return None
        remembered = self.revalidations.get(cache_key(*self.revalidation_inputs(parts)))
        if remembered is None or remembered.entry_key not in self.cache.entries or not remembered.matches(headers):
            return None
        headers.update(remembered.validators)
        return remembered

    def revalidation_inputs(self, parts: tuple) -> tuple:
        reader_headers, route, url, public_origin, headers, rules_version = parts
        return ("revalidate", url, route.modes.canonical(), route.prefix, public_origin,
                reader_headers.get("Sec-Fetch-Dest", ""), str(_fetched_by_script(reader_headers)),
                headers.get("Cookie", ""), headers.get("Authorization", ""), headers.get("Accept-Encoding", ""),
                headers.get("Accept-Language", ""), f"{self.variant_key}|{rules_version}")

    def remember(self, parts: tuple, entry_key: bytes, upstream: aiohttp.ClientResponse, keep: bool) -> None:
        inputs = self.revalidation_inputs(parts)
        revalidation_key = cache_key(*inputs)
        validators = validators_of(upstream.headers)
        varied = varied_values(upstream.headers, parts[4])
        if not keep or upstream.status != 200 or not validators or "Set-Cookie" in upstream.headers or varied is None:
            self.revalidations.drop(revalidation_key)
            return
        self.revalidations.put(revalidation_key, Remembered(entry_key, upstream.status, upstream.reason,
                                                            CIMultiDict(upstream.headers), validators, inputs[1],
                                                            varied))

    def revalidated(self, request, route: Route, remembered: Remembered, upstream: aiohttp.ClientResponse,
                    links: UpstreamLinks, host_header: str, scheme: str, suffix: str, entry: Entry, out: bytes,
                    used: str) -> web.Response:
        """The upstream said 304 to our own question: the stored response, its headers updated from the 304
        (RFC 9111 section 4.3.4), with the cached rewrite as its body."""
        logs.note(cache="revalidated")
        merged = CIMultiDict(remembered.headers)
        # (each name once, in the 304's order: a set's order would differ from process to process)
        for name in dict.fromkeys(k.lower() for k in upstream.headers.keys() if k.lower() not in _NOT_FROM_304):
            values = upstream.headers.getall(name)
            merged.popall(name, None)
            for value in values:
                merged.add(name, value)
        headers = strip_hop_by_hop(merged)
        rewrite_response_headers(headers, links=links, request_url=upstream.url, public_host=host_header,
                                 public_scheme=scheme)
        headers.add("Via", f"{upstream.version.major}.{upstream.version.minor} a11y-proxy")
        return self.send_rewritten(request, route, remembered.status, remembered.reason, merged, headers, entry,
                                   out, used, suffix)

    async def render(self, kind: str, raw: bytes, limit: int, upstream: aiohttp.ClientResponse, upstream_url: URL,
                     route: Route, page_rules: PageRules, public_origin: str, in_frame: bool, by_script: bool,
                     coding: str) -> Entry:
        """Decode, transform and encode one body (a cache miss).  Raises PassThrough when the page is to go
        out as the upstream sent it."""
        try:
            decoded = codec.decompress(raw, content_coding(upstream.headers), limit)
        except codec.UndecodableBody as exc:
            raise PassThrough("passthrough-undecodable", str(exc)) from None
        # The memory budget held the bytes as they came; what decompression added is held too, while the page
        # is rewritten (a 17 KB gzip page may be 7 MB of HTML).
        grown = max(0, len(decoded) - len(raw))
        if not self.memory.take(grown):
            log.warning("%s: %d bytes of HTML already held for rewriting (limits.transform_memory_bytes); "
                        "sent untransformed", upstream_url, self.memory.held)
            raise PassThrough("stream-memory", "memory budget", logging.DEBUG)
        try:
            return await self.render_decoded(kind, decoded, upstream, upstream_url, route, page_rules,
                                             public_origin, in_frame, by_script, coding)
        finally:
            self.memory.give_back(grown)

    async def render_decoded(self, kind: str, decoded: bytes, upstream: aiohttp.ClientResponse, upstream_url: URL,
                             route: Route, page_rules: PageRules, public_origin: str, in_frame: bool,
                             by_script: bool, coding: str) -> Entry:
        settings = self.settings
        if kind == "sniff" and not _HTML_SIGNATURE.match(decoded[:1024]):
            raise PassThrough("stream", "not HTML after all", logging.DEBUG)
        try:
            if kind == "css":
                text, charset = codec.css_decode(decoded, upstream.headers.get("Content-Type"))
            else:
                text, charset = codec.sniff_and_decode(decoded, upstream.headers.get("Content-Type"))
        except codec.UndecodableBody as exc:  # (a 'replacement' charset: rewriting it would destroy it)
            raise PassThrough("passthrough-undecodable", str(exc), logging.INFO) from None
        # What a script fetched goes into a page that is rewritten already: it stays a fragment.
        fragment = kind in ("html", "sniff") and (
            by_script or (not is_whole_document(text) and _LIST_PIECE.match(text) is not None))

        # 6..7. transforms in order, off the event loop (parsing a large page takes milliseconds), within
        # the time budget: a page that takes longer goes out as sent instead of occupying a worker.
        # The budget counts from when a pipeline thread takes the page up, not from the wait for a free thread
        # (a busy minute queues pages; it must not send them all out untransformed).
        budget = settings.timeouts.transform
        page = Page(url=upstream_url, modes=route.modes, settings=settings, prefix=route.prefix,
                    rules=page_rules, source_charset=charset, public_origin=public_origin,
                    in_frame=in_frame, fragment=fragment)
        try:
            # Past the budget the thread stops at its next transform; the reader waits no longer than that.
            forms = await within_budget(self.executor, budget, self.transform_and_encode, kind, text, page, coding)
        except (OverBudget, asyncio.TimeoutError):
            raise PassThrough("passthrough-budget", f"transforms took over {budget}s (timeouts.transform)") from None
        except document.UnparseableHTML as exc:  # nothing an HTML parser can make a page of (empty, binary junk)
            raise PassThrough("passthrough-error", str(exc), logging.INFO) from None
        if forms is None:
            raise PassThrough("passthrough-error", "nothing to rewrite", logging.INFO)
        return Entry(forms, fragment, kind)

    def transform_and_encode(self, kind: str, text: str, page: Page, coding: str,
                             started: Callable[[], None]) -> dict[str, bytes] | None:
        """In an executor thread: the transform, then UTF-8 and the reader's compression (both cost too)."""
        page.deadline = time.monotonic() + self.settings.timeouts.transform
        started()
        result = self.transform(kind, text, page)
        if result is None:
            return None
        out = result.encode("utf-8")
        forms = {"": out}
        if coding and len(out) >= self.settings.limits.compress_min_bytes:
            forms[coding] = codec.compress(out, coding)
        return forms

    @staticmethod
    def page_vary(route: Route) -> list[str]:
        """What a rewritten page depends on besides its URL, the same on GET, HEAD and 304: the coding; the
        fetch destination (frames get no toolbar; script fetches stay fragments); the cookie's modes."""
        return ["Accept-Encoding", "Sec-Fetch-Dest", "X-Requested-With", *(["Cookie"] if route.from_cookie_or_host
                                                                           else [])]

    def transform(self, kind: str, text: str, page: Page) -> str | None:
        """The body transforms; None means 'send the original' (e.g. JSON that does not parse)."""
        if kind == "json":
            return convert_json_text(text, converter_for(page))
        if kind == "css":
            return linked_stylesheet(text, page)
        return self.pipeline.render(text, page)

    def rewritten_in_some_mode(self, content_type: str, upstream_url: URL) -> bool:
        """Whether a response of this type at this URL is rewritten in some mode: pages (in every mode),
        stylesheets (elder, contrast), JSON on the rules' trad.json paths (Traditional)."""
        media = content_type.split(";")[0].strip().lower()
        if _is_html_type(media) or media == "text/css":
            return True
        return _is_json_type(media) and path_matches(upstream_url.path, self.page_rules(upstream_url).trad.json)

    def decide(self, request: web.Request, upstream: aiohttp.ClientResponse, route: Route,
               upstream_url: URL) -> str | None:
        """'html' to transform, 'sniff' to look at the bytes first, 'json' for rule-listed JSON in trad
        mode, None to stream through."""
        if request.method == "HEAD" or upstream.status in (204, 206, 304) or upstream.status < 200:
            return None
        return self.kind_of(upstream, route, upstream_url)

    def kind_of(self, upstream: aiohttp.ClientResponse, route: Route, upstream_url: URL) -> str | None:
        """What decide() makes of a response with a body, by its type and URL."""
        content_type = upstream.headers.get("Content-Type", "")
        if _is_html_type(content_type):
            return "html"
        if (route.modes.elder is not None or route.modes.contrast is not None) \
                and content_type.split(";")[0].strip().lower() == "text/css":
            # Pages size text in px and fade text with opacity in their stylesheets: elder mode enlarges
            # the text there, contrast mode makes it opaque.
            return "css"
        if route.modes.trad is not None and _is_json_type(content_type) \
                and path_matches(upstream.url.path, self.page_rules(upstream_url).trad.json):
            return "json"
        if content_type.split(";")[0].strip().lower() in _SNIFFABLE_TYPES and "Content-Disposition" not in upstream.headers \
                and _PAGE_LIKE_PATH.search(upstream.url.path):
            return "sniff"
        return None

    async def read_bounded(self, upstream: aiohttp.ClientResponse, limit: int,
                           first: bytes) -> tuple[bytes, bool, int]:
        """Read the body (after `first`) within the total timeout: (bytes, whole body?, bytes taken from the
        memory budget).  Stops early past `limit` or when the process holds too much HTML already."""
        chunks: list[bytes] = []
        size = 0
        content = upstream.content

        async def read() -> bool:
            nonlocal size
            # Whatever has arrived, as it is (readany): a body that came in with one read of the socket stays one
            # piece, not cut into pieces and joined again.  (What arrived was held in memory already; the client
            # session reads ahead no further than twice its read_bufsize.)
            chunk = first or await content.readany()
            while chunk:
                chunks.append(chunk)
                if not self.memory.take(len(chunk)):
                    return False
                size += len(chunk)
                if size > limit:
                    return False
                chunk = await content.readany()
            return True

        try:
            async with asyncio.timeout(self.settings.timeouts.total):  # (wait_for would make read() a task of its own)
                complete = await read()
        except BaseException:
            self.memory.give_back(size)
            raise
        return b"".join(chunks), complete, size

    async def stream(self, request: web.Request, upstream: aiohttp.ClientResponse, headers: CIMultiDict,
                     already_read: bytes) -> web.StreamResponse:
        """Send the upstream response as it came: status, headers, and the body's bytes unchanged.

        The client session reads ahead up to limits.response_buffer_bytes while the reader is slow, so a
        response that fits frees its upstream connection at once; a reader who leaves our writes unread
        for timeouts.client_send is hung up on, which frees the upstream connection of a larger one."""
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
        if upstream.content_length is not None and "Content-Length" in headers:
            response.content_length = upstream.content_length
        try:
            with_body = request.method != "HEAD" and upstream.status not in (204, 304)
            # What of the body came in with the upstream's headers (all of a small file, usually) goes out in one
            # write with our headers: one send, and one wake-up of the reader, instead of two.  With nothing
            # arrived yet the headers go at once, as before (a stream whose first bytes come later: SSE, polls).
            first = already_read or (upstream.content.read_nowait() if with_body else b"")
            response._send_headers_immediately = not first  # aiohttp's own switch (web.Response turns it off)
            await response.prepare(request)
            if with_body:
                if first:
                    await self.send(response, first)
                # iter_any: whatever has arrived, in one write (fewer, larger writes than fixed chunks).
                if not upstream.content.is_eof():  # (a whole body that came in with the headers was `first`)
                    async for chunk in upstream.content.iter_any():
                        await self.send(response, chunk)
            await response.write_eof()
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            # The reader went away (closed the tab, cancelled a download): nothing left to do.
            log.debug("client closed the connection during %s", request.raw_path)
        except ClientTooSlow:
            log.info("%s: reader left %ss of our writes unread (timeouts.client_send); connection closed",
                     request.raw_path, self.settings.timeouts.client_send)
            self.metrics.client_timeouts.labels("send").inc()
            if request.transport is not None:
                request.transport.close()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            # Headers are gone already: cut the connection so the reader sees a failed download, not a short file.
            log.warning("upstream stream broke: %r", exc)
            if request.transport is not None:
                request.transport.close()
        return response

    async def send(self, response: web.StreamResponse, chunk: bytes) -> None:
        try:
            async with asyncio.timeout(self.settings.timeouts.client_send):
                await response.write(chunk)
        except TimeoutError:
            raise ClientTooSlow("send") from None

    async def request_body(self, request: web.Request):
        """The reader's request body: bytes when it fits limits.request_buffer_bytes (read whole before any
        upstream connection is taken, so a reader who sends slowly costs only their own connection, as
        nginx's request buffering does), else an async iterator that streams it; None without a body.
        Either way, a reader silent for timeouts.client_body raises ClientTooSlow."""
        if not request.body_exists:
            return None
        limit = self.settings.limits.request_buffer_bytes
        chunks: list[bytes] = []
        size = 0
        if request.content_length is None or request.content_length <= limit:
            while True:
                chunk = await self._read_client(request)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:  # a chunked body larger than the buffer: stream the rest
                    break
        return _chunks(b"".join(chunks), self._client_chunks(request))

    async def _read_client(self, request: web.Request) -> bytes:
        try:
            async with asyncio.timeout(self.settings.timeouts.client_body):
                return await request.content.readany()
        except TimeoutError:
            raise ClientTooSlow("body") from None

    async def _client_chunks(self, request: web.Request):
        while chunk := await self._read_client(request):
            yield chunk

    def client_too_slow(self, request: web.Request, route: Route) -> web.Response:
        log.info("%s: request body stalled for %ss (timeouts.client_body); 408", request.raw_path,
                 self.settings.timeouts.client_body)
        self.metrics.client_timeouts.labels("body").inc()
        response = self.own_page(408, pages.bad_request("发送请求内容超时，请重试。"), route.modes,
                                 prefix=route.prefix)
        response.force_close()
        return response

    def simplify_search(self, request: web.Request, route: Route, headers: CIMultiDict, body):
        """Trad mode, search requests: query and urlencoded form values converted back to Simplified."""
        path, _, query = route.path_qs.partition("?")
        ruleset = self.rules.current
        rules_path = URL(path, encoded=True).path
        rules = ruleset.for_page(self.upstream_hosts, rules_path)
        listed = path_matches(path, rules.trad.search)
        converter = get_converter(reverse_config(trad_config_for(route.modes, rules, self.settings)))
        new_query = simplify_pairs(query, converter, every_value=listed) if query else None
        path_qs = f"{path}?{new_query}" if new_query is not None else route.path_qs
        form = request.content_type == "application/x-www-form-urlencoded"
        if isinstance(body, bytes) and form and len(body) <= self.settings.limits.search_body_max_bytes:
            text = body.decode("latin-1")  # urlencoded bodies are ASCII; latin-1 round-trips any byte
            new_body = simplify_pairs(text, converter, every_value=listed)
            if new_body is not None:
                body = new_body.encode("latin-1")
                headers["Content-Length"] = str(len(body))
        return path_qs, body, (ruleset, rules_path, rules)

    def page_rules(self, url: URL, seen: tuple | None = None) -> PageRules:
        """The rules for the page at `url`; `seen`, (rule set, path, its rules) looked up earlier in this request,
        is the answer when the rule set and the path are the same (for_page costs ~20 us)."""
        current = self.rules.current
        path = url.path
        if seen is not None and seen[0] is current and seen[1] == path:
            return seen[2]
        return current.for_page(self.upstream_hosts, path)

    # --- the proxy's own responses ---

    def redirect(self, redirect: Redirect) -> web.Response:
        # Built from the reader's path: never '//host', always a legal header value.
        response = web.Response(status=302 if redirect.vary_cookie else 301,
                                headers={"Location": same_origin_path(redirect.location)})
        if redirect.vary_cookie:
            response.headers["Cache-Control"] = "private, no-store"
            response.headers["Vary"] = "Cookie"
        return response

    def own_page(self, status: int, html: str, modes: Modes, url: URL | None = None,
                 prefix: str = "") -> web.Response:
        """One of our pages (an error), in the reader's modes; with the route's prefix, the toolbar's switches
        keep to the URL's modes as they do on the portal's pages."""
        url = url or self.settings.upstream
        page = Page(url=url, modes=modes, settings=self.settings, rules=self.page_rules(url), prefix=prefix)
        try:
            html = self.pipeline.render(html, page)
        except Exception:  # our own page must always go out, even if a transform trips on it
            log.exception("rendering the proxy's own page failed")
        return web.Response(status=status, text=html, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})


class _TakenUp:
    """Called once, by the pipeline thread that takes a page up: notes when (time.monotonic(), the event loop's
    clock), and tells the event loop if it asked to be told (see within_budget)."""

    __slots__ = ("at", "tell")

    def __init__(self) -> None:
        self.at: float | None = None
        self.tell: Callable[[], None] | None = None

    def __call__(self) -> None:
        self.at = time.monotonic()
        tell = self.tell  # read after `at` is written: see within_budget
        if tell is not None:
            tell()


async def within_budget(executor, budget: float, work: Callable, *args):
    """work(*args, started) in an executor thread, which calls started() when it takes the work up; raises
    TimeoutError once `budget` seconds have passed since then (a wait for a free thread does not count).

    The event loop wakes once, when the work is done.  It does not need to know when a thread took the work up
    unless the budget could have run out: the first check comes `budget` seconds after submitting, and moves
    the deadline to `budget` after the start the thread noted; only for work still queued then does it ask the
    thread to tell it when it starts (a second wake-up).  The thread writes `at` before reading `tell` and the
    loop writes `tell` before reading `at` again, so one of them sees the other's write (both may: the check
    is then made twice, to the same deadline)."""
    loop = asyncio.get_running_loop()
    taken = _TakenUp()
    job = loop.run_in_executor(executor, work, *args, taken)
    timeout = asyncio.timeout(None)
    watching = True

    def check() -> None:
        if not watching or timeout.expired():  # (a check the thread asked for may come after the budget ran out)
            return
        if taken.at is None:
            taken.tell = tell
            if taken.at is None:
                return  # still queued: the thread tells us when it takes the work up
        timeout.reschedule(taken.at + budget)

    def tell() -> None:  # in the pipeline thread
        if watching:
            loop.call_soon_threadsafe(check)

    timer = loop.call_at(loop.time() + budget, check)
    try:
        async with timeout:
            return await job
    finally:
        watching = False
        timer.cancel()


def content_coding(headers) -> str:
    """The codings applied to a body, in order, over every Content-Encoding line ('gzip' twice is 'gzip, gzip',
    as RFC 9110 section 5.3 reads repeated fields)."""
    return ", ".join(headers.getall("Content-Encoding", ()))


def not_for_keeping(headers: CIMultiDict) -> None:
    """A page sent as the upstream sent it because of this moment (a busy minute's time or memory budget, a
    failure of ours) where it is rewritten otherwise: no cache keeps it, and no validator of the upstream's
    lets a later conditional request confirm it as the page at this URL."""
    for name in ("ETag", "Last-Modified", "Cache-Control", "Expires"):
        headers.popall(name, None)
    headers["Cache-Control"] = "no-store"


def varied_values(response_headers, request_headers) -> tuple[tuple[str, str], ...] | None:
    """(name, the request's value) for each header the response's Vary names; None for Vary: * (no request
    is known to match it)."""
    names = dict.fromkeys(token.strip().lower() for value in response_headers.getall("Vary", ())
                          for token in value.split(",") if token.strip())
    if "*" in names:
        return None
    return tuple((name, ",".join(request_headers.getall(name, ()))) for name in names)


async def _chunks(first: bytes, rest):
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def _is_json_type(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media.endswith("json") or media.endswith("javascript") or media in ("text/plain", "")


def _is_html_type(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in _HTML_TYPES
