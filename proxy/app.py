"""The aiohttp application: shared state set up in startup/cleanup hooks, the proxy's own endpoints
under /-/, and the catch-all route that forwards everything else to the upstream."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
from aiohttp import web
from yarl import URL

from . import __version__, logs, pages, websocket
from .forward import Proxy, cookie_modes, public_host_header, public_scheme
from .metrics import Metrics
from .modes import Modes, UnknownMode, parse as parse_modes
from .pipeline import Pipeline, build_pipeline
from .rules import RulesStore
from .settings import Settings
from .transforms.debugview import build_debug_pipeline
from .urls import is_local_path, mode_prefix, safe_local_target, same_origin_path, split_mode_prefix, with_prefix

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
PIPELINE = web.AppKey("pipeline", Pipeline)
METRICS = web.AppKey("metrics", Metrics)
PROXY = web.AppKey("proxy", Proxy)
DEBUG_PROXY = web.AppKey("debug_proxy", Proxy)  # the same proxy with the debug view's pipeline
CLIENT = web.AppKey("client", aiohttp.ClientSession)
WEBSOCKET_CLIENT = web.AppKey("websocket_client", aiohttp.ClientSession)  # the same pool, with trace hooks
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
RULES = web.AppKey("rules", RulesStore)
RULES_WATCH = web.AppKey("rules_watch", asyncio.Task)
IN_FLIGHT = web.AppKey("in_flight", dict)  # the requests being handled (see server.py's drain)

STATIC_DIR = Path(__file__).parent / "static"


def _log_accelerators() -> None:
    from . import convert
    from .transforms import aria, trad_markup
    if trad_markup.ACCELERATOR is not None:
        log.info("Traditional script: compiled markup accelerator in use")
    else:  # still correct, only slower: say how to get it
        log.warning("Traditional script: pure-Python markup step (the C accelerator was not built: reinstall "
                    "with a C compiler present, or unset A11Y_PROXY_NO_EXTENSIONS); Traditional pages cost more")
    if convert.dictionary_tool() is not None:
        log.info("Traditional script: OpenCC's dictionaries merged per conversion step")
    else:  # (the same conversions, OpenCC's calls about twice as slow)
        log.warning("Traditional script: OpenCC's dictionaries as its configurations group them (the opencc "
                    "package has no opencc_dict tool to read them with); Traditional pages cost more")
    if aria.ACCELERATOR is not None:
        log.info("Landmark repairs: compiled measuring walk in use")
    else:
        log.warning("Landmark repairs: pure-Python measuring walk (the C accelerator was not built: reinstall "
                    "with a C compiler present, or unset A11Y_PROXY_NO_EXTENSIONS); every page costs ~1 ms more")


def create_app(settings: Settings, pipeline: Pipeline | None = None) -> web.Application:
    # client_max_size only limits bodies the app reads itself; proxied bodies are streamed, never read whole.
    app = web.Application(client_max_size=settings.limits.search_body_max_bytes, handler_args={
        # A connection that has not sent a whole request head within client_idle is closed: aiohttp starts
        # its keep-alive timer when the connection opens, and partial header bytes do not restart it.
        "keepalive_timeout": settings.timeouts.client_idle,
        # One header line (and the request line) up to 8 KiB, at most 100 of them; the sum is
        # limits.request_headers_bytes, checked per request (nginx: large_client_header_buffers 4 8k).
        "max_line_size": 8190, "max_field_size": 8190, "max_headers": 100,
        # The access line's form (text with the request id, or JSON: proxy/logs.py); whether there is one at
        # all is the runner's access_log (settings.access_log).
        **logs.handler_args(settings.log_format),
    }, middlewares=[logs.request_id_middleware(settings.is_trusted, in_flight := {})])
    app[IN_FLIGHT] = in_flight
    app.on_response_prepare.append(logs.add_request_id_header)
    app[SETTINGS] = settings
    app[PIPELINE] = pipeline or build_pipeline(settings)
    app[METRICS] = Metrics()
    app[RULES] = RulesStore(settings.rules_dir)
    app[RULES].load()  # at construction, so a broken rules folder is reported before the server listens
    _log_accelerators()
    app.on_startup.append(_quiet_accept_errors)
    app.on_startup.append(_start_client)
    app.on_startup.append(_watch_rules)
    app.on_cleanup.append(_close_client)
    app.on_cleanup.append(_stop_watching_rules)

    app.router.add_get("/-/health", health)
    app.router.add_get("/-/metrics", metrics)
    app.router.add_get("/-/set/{modes}", set_modes)
    app.router.add_get("/-/toggle/{token}", toggle_mode)
    if settings.debug_view:  # off: /-/debug/ is just an unknown mode (404)
        app.router.add_get(r"/-/debug{tail:(?:/[\s\S]*)?}", debug_view)
    app.router.add_route("*", "/-/convert", convert_texts)  # Traditional script for script-written text
    app.router.add_get(r"/-/static/trad-live.{config:s2t|s2tw|s2twp|s2hk}.js", trad_live_script)  # before static
    if STATIC_DIR.is_dir():
        app.router.add_static("/-/static/", STATIC_DIR, append_version=False)
    # Everything else, including /-/<modes>/... (valid or not: the proxy reports unknown modes), is proxied.
    # [\s\S], not '.': a path may hold an encoded newline (%0A), which is still the portal's to answer.
    app.router.add_route("*", r"/{tail:[\s\S]*}", forward)
    return app


async def _start_client(app: web.Application) -> None:
    settings = app[SETTINGS]
    timeouts = settings.timeouts
    # total=None: downloads may take long; a stalled upstream is caught by the read timeout instead.
    timeout = aiohttp.ClientTimeout(total=None, connect=timeouts.connect, sock_connect=timeouts.connect,
                                    sock_read=timeouts.read)
    connector = aiohttp.TCPConnector(limit=settings.limits.upstream_connections, ttl_dns_cache=60)

    def session(connector: aiohttp.BaseConnector, **more) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False,  # bytes pass through as the upstream sent them
            cookie_jar=aiohttp.DummyCookieJar(),  # cookies belong to each reader, never to the proxy
            # aiohttp reads a response ahead until twice read_bufsize is buffered: that is the read-ahead that lets
            # a response up to response_buffer_bytes free its upstream connection before a slow reader takes it.
            read_bufsize=max(64 * 1024, settings.limits.response_buffer_bytes // 2),
            skip_auto_headers=("User-Agent",), trust_env=False, **more)

    # Proxied requests note the upstream's status for the access line themselves (Proxy.ask_upstream: tracing
    # would cost every request); WebSocket handshakes through the trace hooks, on a pool of their own (a socket
    # holds its connection for its whole life: sharing the pages' pool, a few idle ones starved every page),
    # and never following a redirect (only the configured upstream is contacted; browsers follow none either).
    client = session(connector)
    app[CLIENT] = client
    app[WEBSOCKET_CLIENT] = session(
        aiohttp.TCPConnector(limit=settings.limits.websocket_connections, ttl_dns_cache=60),
        trace_configs=[logs.trace_config(), websocket.no_redirects()])
    # Threads, not only one per core: a page that runs up to its time budget must not hold up small pages.
    app[EXECUTOR] = ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 2)), thread_name_prefix="pipeline")
    variant_key = hashlib.sha1(f"{__version__}|{settings}".encode()).hexdigest()
    app[PROXY] = Proxy(settings, app[PIPELINE], client, app[METRICS], app[RULES], variant_key, app[EXECUTOR],
                       app[WEBSOCKET_CLIENT])
    app[DEBUG_PROXY] = Proxy(settings, build_debug_pipeline(settings), client, app[METRICS], app[RULES],
                             variant_key + "-debug", app[EXECUTOR], app[WEBSOCKET_CLIENT])


async def _quiet_accept_errors(app: web.Application) -> None:
    """Out of file descriptors, asyncio logs every failed accept() with a traceback: tens of thousands of lines
    a minute under a connection flood.  Count them all, log one line every ten seconds."""
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    last_logged = [float("-inf"), 0]  # time of the last line, failures since

    def handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        if context.get("message", "").startswith("socket.accept() out of system resource"):
            app[METRICS].accept_errors.inc()
            last_logged[1] += 1
            now = loop.time()
            if now - last_logged[0] >= 10:
                log.error("cannot accept new connections: %s (%d time(s) since the last report); raise the open "
                          "files limit (ulimit -n) or add replicas", context.get("exception"), last_logged[1])
                last_logged[:] = [now, 0]
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


async def _watch_rules(app: web.Application) -> None:
    store, seconds = app[RULES], app[SETTINGS].rules_reload_seconds

    async def watch() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                errors_before = len(store.errors)
                if store.load():
                    app[METRICS].rule_reloads.labels("loaded").inc()
                elif store.errors and len(store.errors) != errors_before:
                    app[METRICS].rule_reloads.labels("rejected").inc()
            except Exception:  # a watcher that dies silently would freeze the rules: log and go on
                log.exception("rules: reload failed")

    if store.directory is not None and seconds > 0:
        app[RULES_WATCH] = asyncio.create_task(watch())


async def _stop_watching_rules(app: web.Application) -> None:
    task = app.get(RULES_WATCH)
    if task is not None:
        task.cancel()


async def _close_client(app: web.Application) -> None:
    await app[WEBSOCKET_CLIENT].close()  # (each session closes its own pool)
    await app[CLIENT].close()
    app[EXECUTOR].shutdown(wait=False, cancel_futures=True)


async def forward(request: web.Request) -> web.StreamResponse:
    return await request.app[PROXY].handle(request)


async def debug_view(request: web.Request) -> web.StreamResponse:
    """/-/debug/<path>: the page as served, every landmark and repair outlined with its rule or heuristic."""
    target = request.raw_path[len("/-/debug"):]
    target = target if target.startswith("/") else "/" + target
    response = await request.app[DEBUG_PROXY].handle(request.clone(rel_url=URL(target, encoded=True)))
    if not response.prepared:
        location = response.headers.get("Location", "")
        if is_local_path(location):  # stay in the debug view ('//host' and 'http://...' are somewhere else)
            response.headers["Location"] = same_origin_path("/-/debug" + location)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


async def health(request: web.Request) -> web.Response:
    # Host-agnostic on purpose: load balancers probe by IP address.
    # The process that answered: with `serve --workers N`, which worker (for operators, and for tests that
    # must know every worker is up).
    return web.json_response({"status": "ok", "version": __version__, "process": os.getpid()},
                             headers={"Cache-Control": "no-store"})


async def metrics(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    asker = request.remote
    if settings.is_trusted(asker) and "X-Forwarded-For" in request.headers:
        # Relayed by our load balancer: who asks is the address it names last (its own peer), not itself;
        # else every reader the front relays could read the metrics when metrics_allow names the front.
        asker = ",".join(request.headers.getall("X-Forwarded-For")).split(",")[-1].strip()
    if not settings.may_read_metrics(asker):
        raise web.HTTPForbidden(text="metrics are not open to this address (metrics_allow)\n")
    body, content_type = request.app[METRICS].exposition()
    response = web.Response(body=body, headers={"Cache-Control": "no-store"})
    response.headers["Content-Type"] = content_type
    return response


# --- Traditional script for the text a page's own scripts write (proxy/static/trad-live.js) ---------------

async def trad_live_script(request: web.Request) -> web.Response:
    """/-/static/trad-live.<config>.js: the script trad mode puts first in <head>, with the variant's
    character tables (built once per process, off the loop).  Its URL carries a version: cached for a year."""
    from .transforms.trad import live_script, live_version

    config = request.match_info["config"]
    body, etag = await asyncio.get_running_loop().run_in_executor(request.app[EXECUTOR], live_script, config)
    versioned = request.query.get("v") == live_version(config)
    headers = {"ETag": etag, "X-Content-Type-Options": "nosniff",
               "Cache-Control": "public, max-age=31536000, immutable" if versioned else "public, max-age=3600"}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    response = web.Response(body=body, headers=headers, content_type="application/javascript", charset="utf-8")
    response.enable_compression()
    return response


async def convert_texts(request: web.Request) -> web.Response:
    """POST /-/convert {variant, page, texts}: trad-live.js's batches, converted by the page's own converter
    (the variant it names and the site's phrases, found through the rules by the page's path), as the
    server converts a page: {texts} in the same shape.  Same-origin requests only (Sec-Fetch-Site, or an
    Origin naming the Host): never a conversion service for other sites.  Bounded by limits.convert_*."""
    import json

    from .convert import FORWARD_CONFIGS, get_converter
    from .transforms.trad import convert_live
    from .urls import Authority

    settings, counted = request.app[SETTINGS], request.app[METRICS].live_conversions
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

    def answer(status: int, result: str, message: str) -> web.Response:
        counted.labels(result).inc()
        return web.json_response({"error": message}, status=status, headers=headers)

    if request.method != "POST":
        return web.json_response({"error": "POST only"}, status=405, headers={**headers, "Allow": "POST"})
    host = public_host_header(request, settings)
    if settings.host_for(host) is None:
        return answer(421, "refused", "not a host this proxy serves")
    def same_origin() -> bool:  # a browser's own word first; else (older browsers) the Origin it sends
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:
            return site == "same-origin"
        origin = request.headers.get("Origin", "")
        try:
            return origin.startswith(("http://", "https://")) and Authority.parse(URL(origin).raw_authority) == host
        except ValueError:
            return False

    if not same_origin():
        return answer(403, "refused", "same-origin requests only")
    if request.content_type != "application/json":
        return answer(415, "bad", "application/json only")
    limit = settings.limits.convert_body_max_bytes
    if request.content_length is not None and request.content_length > limit:
        return answer(413, "too-large", f"at most {limit} bytes (limits.convert_body_max_bytes)")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(settings.timeouts.client_body):
            while chunk := await request.content.readany():
                size += len(chunk)
                if size > limit:
                    return answer(413, "too-large", f"at most {limit} bytes (limits.convert_body_max_bytes)")
                chunks.append(chunk)
    except TimeoutError:
        return answer(408, "bad", "request body too slow")
    try:
        data = json.loads(b"".join(chunks))
        variant, page, texts = data["variant"], data.get("page", "/"), data["texts"]
        if variant not in FORWARD_CONFIGS or not isinstance(page, str) or not page.startswith("/") \
                or len(page) > 4096 or not isinstance(texts, list) or not all(
                    isinstance(t, str) or (isinstance(t, list) and t and all(isinstance(p, str) for p in t))
                    for t in texts):
            raise ValueError
    except (ValueError, KeyError, TypeError, RecursionError):  # (RecursionError: '[' nested 100,000 deep)
        return answer(400, "bad", "expected {variant: s2t|s2tw|s2twp|s2hk, page: path, texts: [string or [string]]}")
    count = sum(1 if isinstance(t, str) else len(t) for t in texts)
    if count > settings.limits.convert_max_texts:
        return answer(413, "too-large", f"at most {settings.limits.convert_max_texts} texts (limits.convert_max_texts)")
    try:
        rules = request.app[PROXY].page_rules(URL.build(path=page))
    except ValueError:
        return answer(400, "bad", "page: not a path")
    # The converter off the loop: the first one of a variant and site is built (0.1-0.2 s, its dictionaries read).
    loop = asyncio.get_running_loop()
    converter = await loop.run_in_executor(request.app[EXECUTOR], get_converter, variant,
                                           tuple(sorted(rules.trad.phrases.items())))
    if size > 16 * 1024:  # a large batch is converted off the loop (OpenCC: about 20 MB/s)
        out = await loop.run_in_executor(request.app[EXECUTOR], convert_live, converter, texts)
    else:
        out = convert_live(converter, texts)
    try:
        body = json.dumps({"texts": out}, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate came in (and went back as it was)
        body = json.dumps({"texts": out}).encode("ascii")
    counted.labels("ok").inc()
    return web.Response(body=body, headers=headers, content_type="application/json", charset="utf-8")


# --- mode toggles: set the cookie, send the reader back to the same page in the new modes ---------------

def _current_modes(request: web.Request, target: str) -> Modes:
    split = split_mode_prefix(target)
    if split.modes_text is not None:
        try:
            return parse_modes(split.modes_text)
        except UnknownMode:
            pass
    stored = cookie_modes(request, request.app[SETTINGS])
    if stored is not None:
        return stored
    host = request.app[SETTINGS].host_for(public_host_header(request, request.app[SETTINGS]))
    return host.modes if host else Modes()


def _go(request: web.Request, modes: Modes, target: str) -> web.Response:
    settings = request.app[SETTINGS]
    path = split_mode_prefix(target).rest  # may be '//host' again ('/-/trad//host'): same_origin_path sees to it
    response = web.Response(status=303, headers={"Location": same_origin_path(with_prefix(path, mode_prefix(modes))),
                                                 "Cache-Control": "private, no-store"})
    # Another site may link here (SameSite=Lax lets a top-level navigation carry and set cookies): it gets the
    # page in those modes, by the prefixed URL, but never changes what this reader chose for every later visit.
    if request.headers.get("Sec-Fetch-Site") != "cross-site":
        response.set_cookie(settings.cookie_name, str(modes), max_age=settings.cookie_max_age, path="/",
                            samesite="Lax", httponly=True, secure=public_scheme(request, settings) == "https")
    return response


async def set_modes(request: web.Request) -> web.Response:
    target = safe_local_target(request.query.get("next"))
    try:
        modes = parse_modes(request.match_info["modes"])
    except UnknownMode as exc:
        return request.app[PROXY].own_page(404, pages.unknown_modes(exc.token), Modes())
    return _go(request, modes, target)


async def toggle_mode(request: web.Request) -> web.Response:
    target = safe_local_target(request.query.get("next"))
    current = _current_modes(request, target)
    try:
        modes = current.toggled(request.match_info["token"])
    except UnknownMode as exc:
        return request.app[PROXY].own_page(404, pages.unknown_modes(exc.token), current)
    return _go(request, modes, target)
