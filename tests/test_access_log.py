"""The access line: proxy/logs.py writes the text line itself (cheaper than aiohttp's format interpreter) and
must write exactly what aiohttp's AccessLogger makes of TEXT_ACCESS_FORMAT; JSON lines keep their fields."""
from __future__ import annotations

import json
import logging
import re

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_log import AccessLogger
from multidict import CIMultiDict

from proxy import logs

_TIME = re.compile(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected():
    logger = logging.getLogger("test.access")
    handler = Collect()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, handler.records
    logger.removeHandler(handler)


def _exchange(path: str, headers: dict, status: int, response_headers: dict):
    request = make_mocked_request("GET", path, headers=CIMultiDict(headers))
    response = web.Response(status=status, body=b"x" * 1234, headers=response_headers)
    return request, response


@pytest.mark.parametrize("path, headers, status, response_headers, duration", [
    ("/files/banner.png", {"Host": "a", "Referer": "http://a/", "User-Agent": "Mozilla/5.0 (X11)"}, 200,
     {"X-Request-ID": "4f2a"}, 0.0123456),
    ("/-/trad/%E6%96%B0%E9%97%BB/a.html?x=1&y=%20", {"Host": "a"}, 304, {}, 2.5),
    ("/", {}, 502, {"X-Request-ID": "abc"}, 0.0),
])
def test_text_line_is_aiohttps_own(collected, path, headers, status, response_headers, duration):
    logger, records = collected
    request, response = _exchange(path, headers, status, response_headers)
    AccessLogger(logger, logs.TEXT_ACCESS_FORMAT).log(request, response, duration)
    logs.TextAccessLogger(logger, logs.TEXT_ACCESS_FORMAT).log(request, response, duration)
    theirs, ours = (r.getMessage() for r in records)
    assert _TIME.search(ours) and _TIME.sub("[t]", ours) == _TIME.sub("[t]", theirs)
    assert records[1].levelno == logging.INFO and records[1].name == "test.access"


def test_text_line_start_time(collected):
    """%t is when the request started (now minus its duration), in local time with the offset."""
    logger, records = collected
    request, response = _exchange("/", {}, 200, {})
    for duration in (0.0, 61.0, 3600.5):
        AccessLogger(logger, logs.TEXT_ACCESS_FORMAT).log(request, response, duration)
        logs.TextAccessLogger(logger, logs.TEXT_ACCESS_FORMAT).log(request, response, duration)
    messages = [r.getMessage() for r in records]
    for theirs, ours in zip(messages[::2], messages[1::2]):  # (equal unless a second ticked in between)
        assert abs(_seconds(ours) - _seconds(theirs)) <= 1
    assert _seconds(messages[5]) < _seconds(messages[1]) - 3500  # an hour-long request started an hour ago


def _seconds(line: str) -> int:
    import datetime

    text = _TIME.search(line).group()[1:-1]
    return int(datetime.datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").timestamp())


def test_json_line_fields(collected):
    logger, records = collected
    request, response = _exchange("/a.html?q=1", {"User-Agent": "ua"}, 200, {})
    request[logs.FACTS] = {"request_id": "r1", "upstream_status": 200, "cache": "hit"}
    logs.JSONAccessLogger(logger, "").log(request, response, 0.01234)
    line = json.loads(logs.JSONFormatter().format(records[0]))
    assert {k: line[k] for k in ("message", "level", "logger", "remote", "method", "path", "status", "bytes",
                                 "duration_ms", "user_agent", "request_id", "upstream_status", "cache")} == {
        "message": "access", "level": "info", "logger": "test.access", "remote": None, "method": "GET",
        "path": "/a.html?q=1", "status": 200, "bytes": 0, "duration_ms": 12.34, "user_agent": "ua",
        "request_id": "r1", "upstream_status": 200, "cache": "hit"}


def test_text_logger_refuses_another_format():
    with pytest.raises(ValueError):
        logs.TextAccessLogger(logging.getLogger("test.access"), "%a %t")
