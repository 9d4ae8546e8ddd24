"""Logs operators can ship: plain text (the default) or one JSON object per line (`log_format: json`,
`--log-format json`, `$A11Y_PROXY_LOG_FORMAT`), and a request id that ties a request's lines together.

Every request gets an id: the `X-Request-ID` a trusted front (one of `trusted_proxies`) sent, else a new one.
It goes back to the reader in the response's `X-Request-ID`, on to the upstream in the request's, into the
access line and into every log line written while the request is handled (a contextvar carries it).

An access line in JSON holds: time, level, logger, message ("access"), request_id, remote, method, path,
status, bytes, duration_ms, and, when they apply, upstream_status, transform_ms and cache (hit, miss,
revalidated: the transform cache).  Any other line: time, level, logger, message, request_id when inside a
request, and the exception's traceback as one string ("exc").
"""
from __future__ import annotations

import contextvars
import datetime
import json
import logging
import math
import re
import secrets
import sys
import time
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

FORMATS = ("text", "json")
HEADER = "X-Request-ID"
# What we accept from a trusted front as an id: short, printable, no separators that would confuse a log.
_VALID_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$")
# The text access line: aiohttp's usual one with the request id at the end.
TEXT_ACCESS_FORMAT = '%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i" %Tfs id=%{X-Request-ID}o'

FACTS = web.RequestKey("log_facts", dict)
_current: contextvars.ContextVar[dict | None] = contextvars.ContextVar("a11y_proxy_request", default=None)

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


def note(**facts: Any) -> None:
    """Record facts about the request being handled (upstream status, transform time, cache result) for its
    access line.  Outside a request, nothing happens."""
    current = _current.get()
    if current is not None:
        current.update(facts)


def request_id_for(request: web.Request, trusted: bool) -> str:
    """The id of this request: a trusted front's X-Request-ID if well-formed, else a new random one."""
    if trusted:
        given = request.headers.get(HEADER, "").strip()
        if _VALID_ID.match(given):
            return given
    return secrets.token_hex(16)  # 128 random bits, 32 hex digits (uuid4().hex cost several times more)


def request_id_middleware(is_trusted, in_flight: dict | None = None):
    """An aiohttp middleware: choose the request id, make it current for the request's log lines, and send it
    back to the reader.  `is_trusted(peer)` says whose X-Request-ID we keep.  With `in_flight`, each request is
    in that dict (by id: a request is a mapping, not hashable) while it is handled (the drain cuts those that
    outlast it: proxy/server.py)."""

    @web.middleware
    async def middleware(request: web.Request, handler):
        facts = {"request_id": request_id_for(request, is_trusted(request.remote))}
        request[FACTS] = facts
        token = _current.set(facts)
        if in_flight is not None:
            in_flight[id(request)] = request
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers[HEADER] = facts["request_id"]
            raise
        finally:
            _current.reset(token)
            if in_flight is not None:
                in_flight.pop(id(request), None)
        if not response.prepared:  # a streamed response set its headers itself (see on_response_prepare)
            response.headers[HEADER] = facts["request_id"]
        return response

    return middleware


async def add_request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: streamed responses (and WebSocket handshakes) carry the id too."""
    facts = request.get(FACTS)
    if facts is not None and HEADER not in response.headers:
        response.headers[HEADER] = facts["request_id"]


def current_request_id() -> str | None:
    current = _current.get()
    return current.get("request_id") if current else None


# --- upstream status: from the client session's trace hooks, so the request path needs no bookkeeping ----

def trace_config():
    import aiohttp

    config = aiohttp.TraceConfig()

    async def on_request_end(_session, _context, params) -> None:
        note(upstream_status=params.response.status)

    async def on_request_exception(_session, _context, params) -> None:
        note(upstream_error=type(params.exception).__name__)

    config.on_request_end.append(on_request_end)
    config.on_request_exception.append(on_request_exception)
    return config


# --- formatting ----------------------------------------------------------------------------------------

class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record written while the request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = current_request_id()
            if request_id is not None:
                record.request_id = request_id
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line; extra fields given to the logger (extra={...}) become keys."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """(Re)configure the root logger: one handler on stderr in the chosen format.  Called at start, and again
    once the settings (which may name a format) are known."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_a11y_proxy", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._a11y_proxy = True  # type: ignore[attr-defined]
    handler.setFormatter(JSONFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())


class _AccessLogger(AbstractAccessLogger):
    """One access record per request, handed straight to the logger's filters and handlers: Logger.info would
    also walk the stack for the caller's file and line, which no access line shows (a third of its cost)."""

    def emit(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self.logger.handle(self.logger.makeRecord(self.logger.name, logging.INFO, "(access)", 0, message, (), None,
                                                  extra=extra))

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


class TextAccessLogger(_AccessLogger):
    """aiohttp's access_log_class for `log_format: text`: the line aiohttp's AccessLogger makes from
    TEXT_ACCESS_FORMAT, written out directly (its general format interpreter, with a time zone computed and
    a date formatted for every line, cost more than the rest of a streamed request's logging)."""

    def __init__(self, logger: logging.Logger, log_format: str = TEXT_ACCESS_FORMAT) -> None:
        super().__init__(logger, log_format)
        if log_format != TEXT_ACCESS_FORMAT:
            raise ValueError(f"TextAccessLogger writes {TEXT_ACCESS_FORMAT!r} only, not {log_format!r}")
        self._second: int | None = None
        self._second_text = ""

    def _start_time(self, duration: float) -> str:
        """%t: when the request started, local time, '[07/Dec/2026:09:41:18 +0000]'; formatted once a second."""
        second = math.floor(time.time() - duration)
        if second != self._second:
            offset = datetime.timedelta(seconds=time.localtime(second).tm_gmtoff)
            self._second_text = datetime.datetime.fromtimestamp(second, datetime.timezone(offset)).strftime(
                "[%d/%b/%Y:%H:%M:%S %z]")
            self._second = second
        return self._second_text

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        remote = request.remote
        headers = request.headers
        version = request.version
        self.emit(f'{remote if remote is not None else "-"} {self._start_time(time)} '
                  f'"{request.method} {request.path_qs} HTTP/{version.major}.{version.minor}" '
                  f'{response.status} {response.body_length} "{headers.get("Referer", "-")}" '
                  f'"{headers.get("User-Agent", "-")}" {time:06f}s id={response.headers.get(HEADER, "-")}')


class JSONAccessLogger(_AccessLogger):
    """aiohttp's access_log_class for `log_format: json`: one record per request with the request's facts."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        facts = dict(request.get(FACTS) or {})
        try:
            size = response.body_length
        except Exception:
            size = None
        fields = {"remote": request.remote, "method": request.method, "path": request.raw_path,
                  "status": response.status, "bytes": size, "duration_ms": round(time * 1000, 2),
                  "user_agent": request.headers.get("User-Agent")}
        fields.update(facts)
        self.emit("access", fields)


def handler_args(fmt: str) -> dict[str, Any]:
    """What create_app passes to aiohttp's request handler for the access log in this format (these win over
    the runner's defaults; the runner still decides whether there is an access log at all)."""
    if fmt == "json":
        return {"access_log_class": JSONAccessLogger}
    return {"access_log_class": TextAccessLogger, "access_log_format": TEXT_ACCESS_FORMAT}
