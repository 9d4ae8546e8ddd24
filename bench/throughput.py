"""Throughput benchmark: nginx, the proxy's pass-through and its full mode, side by side in one run.

How to run (from the repository root; the script finds the `proxy` package itself):

    .venv/bin/python bench/throughput.py              # 10 s per row after 2 s warm-up (about 2 min)
    .venv/bin/python bench/throughput.py --quick      # 2 s per row after 1 s warm-up (about 35 s)
    .venv/bin/python bench/throughput.py --connections 32 --duration 5 --json out.json

Everything listens on 127.0.0.1 (OS-chosen free ports) and every request goes to 127.0.0.1: no traffic
leaves the machine. Every child process (nginx masters, proxies, the aiohttp upstream, wrk) is stopped at the
end, also on Ctrl-C, SIGTERM or an error (and, through PR_SET_PDEATHSIG, if this script is killed outright).

What is served
--------------
* the page: ../shared/corpus/pages/001-gz-article.html when ../shared exists (a real 84 KB gz.gov.cn article),
  sent in the charset its own <meta> declares, with that charset in the Content-Type header (re-encoded the
  way ../shared/tools/serve_dir.py does for GB2312/Big5 pages; this one declares UTF-8). Without ../shared:
  bench/passthrough.py's make_portal_html(100 KiB), UTF-8. The run prints which.
* the binary: 100 KiB of random bytes behind a PNG signature, as image/png (passes through untouched).

The upstream is nginx serving both as static files, when /usr/sbin/nginx exists: it costs almost nothing
per request (sendfile, no Python), so on a 2-core machine nearly all the CPU goes to the thing measured, and
like a real portal's web server it sends ETag/Last-Modified and answers conditional requests with 304 (the
proxy's transform cache revalidates with those). It ignores query strings, so `?n=...` gets the same page.
Without nginx the upstream is an aiohttp process serving the same files with web.FileResponse (which also
sends ETag/Last-Modified and answers 304), and row 1 is skipped with a note.

The rows
--------
1. nginx proxy_pass (binary): a second nginx, `daemon off; master_process on; worker_processes 1` (one
   process, like `serve --workers 1`, so "proxy pass-through / nginx" compares one process with one process;
   `--nginx-workers auto` to change), `proxy_pass` to the upstream over keep-alive connections, buffers big
   enough for the whole 100 KB body (no temp files), no access log. The pass-through anchor.
2. pass-through (binary): the same binary through the proxy, untouched (byte-identical: checked first).
3. plain page: the page through the proxy without modes (repairs, toolbar), the same URL every time.
4. hot full: /-/trad+elder/<page>, the same URL again and again: after the first request every one is a
   transform-cache hit (revalidated at the upstream with its ETag: a 304, then the stored rewritten page).
5. cold full: /-/trad+elder/<page>?n=<run>-<thread>-<counter>, a new query string per request, so every
   request transforms (decode, parse, all transforms, serialize, Traditional conversion, UTF-8).
   "cold full, 1 conn" is the same with one connection: its p50 is the per-page latency target.
The naive row (after row 1; --no-naive skips it): the issue's point of comparison, an aiohttp process that fetches
the page from the upstream, converts every text node with OpenCC s2t in its handler and serializes it (what one
could write in an afternoon: no repairs, no elder mode, no cache); "against the naive converter" prints the cold
and hot full rows over it.
Paired rounds: after the --workers 1 rows, nginx (row 1's, still running) and the pass-through (row 2) are measured
again back to back, `--paired` times (3; 0 for none), the order alternating, and the median of the pairs' ratios is
printed beside the target: on a shared machine rows 1 and 2, measured a minute apart, may see different loads.
Rows 2-5 run against `python -m proxy serve --workers 1` (one process, serving directly), then 2, 4 and 5
again against `--workers 2` (a supervisor and two worker processes on one port with SO_REUSEPORT). Each proxy
is started on a free port, waited for on /-/health (and, for 2 workers, until both listen), stopped with
SIGTERM and waited for. The proxies run with the repository's rules/ folder and `access_log: false`
(a config file in the temp dir); `--no-rules` leaves the rules out. The proxy is the working tree's, or with
`--commit REV` that commit's `proxy/` and `rules/`, exported with `git archive` into the temp dir (the
repository is only read): figures tied to a commit while others edit the working tree.

Load: `wrk --latency -t1 -c16` when /usr/bin/wrk exists (Debian package `wrk`), with a Lua script that puts a
per-thread counter in the query string for the cold rows; else bench/passthrough.py's aiohttp load loop, with
a new URL per request for the cold rows (itself CPU-bound Python: it saturates early and flattens ratios).
Each measurement follows a warm-up of the same kind (cold warm-ups use their own query strings, so the
measured requests still miss). No Accept-Encoding is sent: pages go out uncompressed.

Reading the output
------------------
The machine may be shared: before starting, the script samples how busy it is (`--wait-quiet SECONDS` waits
for it to go idle), and for every row it reads /proc/stat and every other process's CPU, and prints a note
naming what else ran (busy column: cores the whole machine was busy). Trust only rows where the load
generator, upstream and server explain nearly all of it (left unexplained on an idle machine: ~0.05 cores).
A row where more than 0.2 cores went elsewhere is measured again (`--retries`, default once, without its
warm-up, and only while the run is under 3.5 minutes old, 50 s with --quick); the least disturbed attempt
is kept, the others are in the JSON.

Per row: req/s, p50 and p99 latency, errors (non-200 or failed), CPU milliseconds per request spent by the
server measured (nginx or the proxy, all its processes and threads), the upstream and the load generator
(read from /proc and getrusage), and, for the proxy, what its /-/metrics counted during the measurement:
transform-cache hits and misses, upstream revalidations, and the mean time in the pipeline per transformed
page (a11y_proxy_transform_seconds: includes waiting for a pipeline thread).

The ratios the project's targets are stated in, each printed with its target and whether it is met:
* hot full / proxy pass-through of the binary, req/s, --workers 1 (target >= 0.8): a cached page should cost
  about what streaming a binary of the same size costs;
* cold full p50 at one connection (target <= 8 ms): a page nobody asked for before, one reader at a time;
* --workers 2 / --workers 1 on cold full, req/s (target >= 1.5): does the second process buy throughput;
* proxy pass-through / nginx proxy_pass, req/s (target >= 0.25): Python's streaming against C's.
Before the servers start, the page is also rendered in this process (no server, no network) step by step
(decode, parse, each transform, serialize, each markup step, UTF-8), to show where a cold request's time goes.

This machine has 2 cores, shared by the load generator (wrk: one thread), the upstream and the server
measured (one proxy process, or two workers plus the supervisor), plus the proxy's pipeline threads. So with
--workers 2 the workers compete with wrk and nginx for the same two cores: the scaling ratio is bounded by
what the other processes leave, well below 2 even for perfect scaling. Compare ratios between runs on the
same machine; absolute req/s are not portable to other machines.

Exit status: 0 when the benchmark ran (targets missed or not), 1 when a sanity check failed or a server could
not start, 2 for bad arguments, 130 when interrupted.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import hashlib
import http.client
import json
import math
import multiprocessing
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _path in (str(ROOT), str(BENCH)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import passthrough as pt  # noqa: E402  (bench/passthrough.py: load generators, page maker, helpers)
from loopback import free_port  # noqa: E402

HOST = pt.HOST  # 127.0.0.1: everything stays on loopback
KiB = pt.KiB
WRK = pt.WRK
NGINX = "/usr/sbin/nginx"
CORPUS_PAGE = ROOT.parent / "shared" / "corpus" / "pages" / "001-gz-article.html"
BINARY_PATH = "/files/banner.png"
BINARY_BYTES = 100 * KiB
FULL_MODES = "trad+elder"

STARTUP_TIMEOUT = 30.0
OTHER_LOAD_WARNING = 0.2  # cores busy that our processes do not explain: worth a note (undisturbed runs: ~0.05)
REQUEST_TIMEOUT = 10.0  # per request of wrk and of the sanity checks
STOP_TIMEOUT = 40.0  # a proxy drains up to timeouts.drain (30 s) after SIGTERM; idle, it exits at once
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A server did not start, or a sanity check failed: the figures would mean nothing."""


# --- what is served --------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I | re.S)
_GBK_LABELS = {"gb2312", "gbk", "x-gbk", "gb_2312-80", "gb_2312", "csgb2312", "chinese", "csiso58gb231280",
               "iso-ir-58", "cp936", "ms936", "windows-936"}


def declared_charset(raw: bytes) -> str | None:
    """The charset the page's own <meta> declares (as ../shared/tools/serve_dir.py reads it)."""
    head = raw[:16384]
    end = re.search(rb"</head\s*>", head, re.I)
    match = _META_CHARSET.search(head[:end.start()] if end else head)
    return match.group(1).decode("ascii", "replace").lower() if match else None


def wire_encoding(label: str | None) -> tuple[str, str]:
    """(Python codec, header label) a portal would send a page declaring `label` in (as serve_dir.py does)."""
    if label in _GBK_LABELS:
        return "gb18030", "gbk"
    if label == "gb18030":
        return "gb18030", "gb18030"
    if label in ("big5", "big5-hkscs", "cn-big5", "x-x-big5", "csbig5"):
        return "big5hkscs", "big5"
    return "utf-8", "utf-8"


@dataclass
class Site:
    root: Path  # the document root both upstreams serve
    page_path: str  # URL path of the page
    page_type: str  # its Content-Type
    page_bytes: bytes
    page_source: str  # where it came from, for the report
    binary: bytes


def prepare_site(tmp: Path) -> Site:
    www = tmp / "www"
    (www / "files").mkdir(parents=True)
    if CORPUS_PAGE.is_file():
        stored = CORPUS_PAGE.read_bytes()
        label = declared_charset(stored)
        codec, header_label = wire_encoding(label)
        try:
            text = stored.decode("utf-8")  # the corpus stores pages as UTF-8 ...
            body = text.encode(codec, "xmlcharrefreplace")  # ... a portal sends them in their declared charset
        except UnicodeDecodeError:
            body = stored  # already in its own charset
        page_path = "/" + CORPUS_PAGE.name
        source = (f"{CORPUS_PAGE.resolve()} ({len(body):,} bytes, <meta> charset {label or 'none'}, "
                  f"sent as {header_label})")
    else:
        body, header_label = pt.make_portal_html(100 * KiB), "utf-8"
        page_path = "/news/portal.html"
        source = f"bench/passthrough.py make_portal_html(100 KiB) ({len(body):,} bytes, UTF-8; no ../shared)"
    binary = b"\x89PNG\r\n\x1a\n" + random.Random(100).randbytes(BINARY_BYTES - 8)
    (www / page_path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    (www / page_path.lstrip("/")).write_bytes(body)
    (www / BINARY_PATH.lstrip("/")).write_bytes(binary)
    for path in [tmp, *tmp.rglob("*")]:  # nginx workers run as nobody when we are root: let them read
        path.chmod(0o755 if path.is_dir() else 0o644)
    return Site(www, page_path, f"text/html; charset={header_label}", body, source, binary)


# --- processes ---------------------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM if this script dies without cleaning up (Linux PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the 3rd (state) on


def descendants(pid: int) -> list[int]:
    """Every live process under pid (workers of a supervisor or an nginx master)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of pid and all its live descendants (threads included), in seconds."""
    if pid is None:
        return 0.0
    total = 0
    for each in [pid, *descendants(pid)]:
        fields = _stat_fields(each)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLK_TCK, steal / CLK_TCK


def others_cpu() -> dict[int, tuple[str, float]]:
    """{pid: (command, CPU seconds)} of every process on the machine that is not this script or under it."""
    ours = {os.getpid(), *descendants(os.getpid())}
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in ours:
            fields = _stat_fields(int(entry))
            if fields:
                try:
                    command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                        "utf-8", "replace").strip()[:100]
                except OSError:
                    command = "?"
                found[int(entry)] = (command, (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return found


def busy_others(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], seconds: float,
                least: float = 0.05) -> list[dict[str, Any]]:
    """Other processes that used at least `least` cores in between, busiest first."""
    busy = []
    for pid, (command, cpu) in after.items():
        cores = (cpu - before.get(pid, (command, 0.0))[1]) / max(seconds, 1e-9)
        if cores >= least:
            busy.append({"pid": pid, "command": command, "cores": round(cores, 2)})
    return sorted(busy, key=lambda b: -b["cores"])[:5]


def listening_sockets(port: int) -> int:
    """How many listening sockets /proc/net/tcp shows on 127.0.0.1:port (one per SO_REUSEPORT worker)."""
    wanted = f"0100007F:{port:04X}"
    count = 0
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            parts = line.split()
            if parts[1] == wanted and parts[3] == "0A":
                count += 1
    return count


def http_get(port: int, path: str, timeout: float = REQUEST_TIMEOUT) -> tuple[int, dict[str, str], bytes]:
    """One GET to 127.0.0.1:port, no proxies from the environment, no redirects followed."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def wait_until_answers(port: int, path: str, name: str, alive: Callable[[], bool], log: Path | None) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last: Any = None
    while time.monotonic() < deadline:
        if not alive():
            raise BenchError(f"{name} exited before answering{_log_tail(log)}")
        try:
            status, _, _ = http_get(port, path, timeout=2)
            if status == 200:
                return
            last = f"HTTP {status}"
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise BenchError(f"{name} did not answer {path} within {STARTUP_TIMEOUT:.0f} s ({last}){_log_tail(log)}")


def _log_tail(log: Path | None, lines: int = 8) -> str:
    if log is None or not log.exists():
        return ""
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return ("; last lines of " + str(log) + ":\n    " + "\n    ".join(tail)) if tail else ""


class ChildProcess:
    """A server started with Popen in its own session (Ctrl-C reaches only us: we stop it in order)."""

    name = "server"

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.log: Path | None = None
        self.port = 0
        self.known_pids: set[int] = set()  # the server's own children, to be sure they are gone at the end

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _spawn(self, command: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            env=env, cwd=cwd, start_new_session=True, preexec_fn=_die_with_parent)

    def remember_children(self) -> None:
        if self.alive():
            self.known_pids.update(descendants(self.process.pid))

    def stop(self, stop_signal: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        self.remember_children()
        if self.process.poll() is None:
            self.process.send_signal(stop_signal)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                print(f"  {self.name} did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM: killed", file=sys.stderr)
                self.process.kill()
                self.process.wait(10)
        for pid in self.known_pids:  # children that outlived their parent (killed master): ours to end
            fields = _stat_fields(pid)
            if fields and fields[0] != "Z":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                print(f"  {self.name}: child {pid} outlived its parent; killed", file=sys.stderr)
        self.process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


NGINX_COMMON = """daemon off;
master_process on;
worker_processes {workers};
pid "{dir}/nginx.pid";
error_log "{dir}/error.log" warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server_tokens off;
    client_body_temp_path "{dir}/client_body";
    proxy_temp_path "{dir}/proxy";
    fastcgi_temp_path "{dir}/fastcgi";
    uwsgi_temp_path "{dir}/uwsgi";
    scgi_temp_path "{dir}/scgi";
    keepalive_requests 1000000;  # wrk and the proxy keep their connections for the whole run
    keepalive_timeout 75s;
{body}
}}
"""

NGINX_UPSTREAM = """    sendfile on;
    tcp_nopush on;
    server {{
        listen {host}:{port};
        root "{root}";
        location = /health {{ return 200 "ok\\n"; }}
        location = {page_path} {{ types {{ }} default_type "{page_type}"; }}
        location /files/ {{ types {{ }} default_type image/png; }}
    }}"""

NGINX_ANCHOR = """    upstream portal {{
        server {host}:{upstream_port};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen {host}:{port};
        location / {{
            proxy_pass http://portal;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_buffer_size 16k;
            proxy_buffers 16 16k;  # 256 KiB: the 100 KB body never goes to a temp file
        }}
    }}"""


class Nginx(ChildProcess):
    def __init__(self, name: str, tmp: Path, workers: str, body_template: str, **values: Any) -> None:
        super().__init__()
        self.name = name
        self.dir = tmp / name
        self.dir.mkdir()
        self.dir.chmod(0o755)
        self.port = free_port()
        body = body_template.format(host=HOST, port=self.port, **values)
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(NGINX_COMMON.format(workers=workers, dir=self.dir, body=body))

    def start(self, probe: str) -> "Nginx":
        self._spawn([NGINX, "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.dir / "error.log")],
                    self.dir / "stdout.log")
        self.log = self.dir / "error.log"
        wait_until_answers(self.port, probe, self.name, self.alive, self.log)
        self.remember_children()
        return self


def nginx_version() -> str | None:
    if not os.access(NGINX, os.X_OK):
        return None
    done = subprocess.run([NGINX, "-v"], capture_output=True, text=True, timeout=10)
    return (done.stderr or done.stdout).strip().split("/")[-1] or "?"


def aiohttp_upstream_main(conn, parent_pid: int, log_file: str, root: str, page_path: str, page_type: str) -> None:
    """Child process (no nginx): the same files through web.FileResponse (ETag, Last-Modified, 304)."""
    from aiohttp import web

    pt._log_to(log_file, "upstream")
    files = {page_path: (Path(root) / page_path.lstrip("/"), page_type),
             BINARY_PATH: (Path(root) / BINARY_PATH.lstrip("/"), "image/png")}

    async def serve(request: web.Request) -> web.StreamResponse:
        found = files.get(request.path)
        if found is None:
            return web.Response(status=404, text="not found")
        return web.FileResponse(found[0], headers={"Content-Type": found[1]})

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/{tail:.*}", serve)
    app.on_startup.append(pt._exit_with_parent(parent_pid))
    sock = pt._listening_socket()
    conn.send(sock.getsockname()[1])
    conn.close()
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)


def naive_converter_main(conn, parent_pid: int, log_file: str, upstream_port: int) -> None:
    """Child process: the issue's point of comparison, what one could write in an afternoon: an aiohttp
    server that fetches each page from the upstream, parses it with lxml and converts every text and tail with
    OpenCC s2t in the request handler, one node at a time (no repairs, no cache, no executor)."""
    import aiohttp
    import lxml.html
    import opencc
    from aiohttp import web

    pt._log_to(log_file, "naive")
    converter = opencc.OpenCC("s2t")

    async def convert(request: web.Request) -> web.StreamResponse:
        async with request.app["client"].get(f"http://{HOST}:{upstream_port}{request.path_qs}") as upstream:
            raw = await upstream.read()
        root = lxml.html.document_fromstring(raw)
        for el in root.iter():
            if el.text and el.tag not in ("script", "style"):
                el.text = converter.convert(el.text)
            if el.tail:
                el.tail = converter.convert(el.tail)
        return web.Response(body=lxml.html.tostring(root, encoding="utf-8"), content_type="text/html",
                            charset="utf-8")

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def client(app: web.Application):
        app["client"] = aiohttp.ClientSession()
        yield
        await app["client"].close()

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/{tail:.*}", convert)
    app.cleanup_ctx.append(client)
    app.on_startup.append(pt._exit_with_parent(parent_pid))
    sock = pt._listening_socket()
    conn.send(sock.getsockname()[1])
    conn.close()
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)


class SpawnedServer:
    """A server function run in a child process (spawn): it reports its port through a pipe."""
    name = "server"

    def __init__(self, log: Path, target: Callable, args: tuple) -> None:
        self.log = log
        self.target, self.args = target, args
        self.process: multiprocessing.process.BaseProcess | None = None
        self.port = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def start(self) -> "SpawnedServer":
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=self.target, name=f"bench-{self.name}", daemon=True,
                                        args=(send, os.getpid(), str(self.log), *self.args))
        self.process.start()
        send.close()
        try:
            if not receive.poll(STARTUP_TIMEOUT):
                raise BenchError(f"the {self.name} did not report its port")
            self.port = int(receive.recv())
        except EOFError:
            raise BenchError(f"the {self.name} exited at start{_log_tail(self.log)}") from None
        finally:
            receive.close()
        wait_until_answers(self.port, "/health", self.name, self.alive, self.log)
        return self

    def stop(self) -> None:
        if self.process is not None:
            if self.process.is_alive():
                self.process.terminate()
            self.process.join(10)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(5)
            self.process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


class AiohttpUpstream(SpawnedServer):
    name = "aiohttp upstream"

    def __init__(self, tmp: Path, site: Site) -> None:
        super().__init__(tmp / "upstream.log", aiohttp_upstream_main,
                         (str(site.root), site.page_path, site.page_type))


class NaiveConverter(SpawnedServer):
    name = "naive converter"

    def __init__(self, tmp: Path, upstream_port: int) -> None:
        super().__init__(tmp / "naive.log", naive_converter_main, (upstream_port,))


class Proxy(ChildProcess):
    """`python -m proxy serve --workers N` in front of the upstream."""

    def __init__(self, tmp: Path, workers: int, upstream_port: int, rules: Path | None, source: Path = ROOT) -> None:
        super().__init__()
        self.name = f"proxy --workers {workers}"
        self.workers = workers
        self.source = source  # the folder holding the `proxy` package: the repository, or an exported commit
        self.upstream_port = upstream_port
        self.rules = rules
        self.tmp = tmp
        self.config = tmp / "proxy.yaml"
        self.config.write_text("# bench/throughput.py: one log line per request would be measured too\n"
                               "access_log: false\n")

    def start(self) -> "Proxy":
        self.port = free_port()
        command = [sys.executable, "-m", "proxy", "--log-level", "WARNING", "serve",
                   "--upstream", f"http://{HOST}:{self.upstream_port}", "--listen", f"{HOST}:{self.port}",
                   "--workers", str(self.workers), "--config", str(self.config)]
        if self.rules is not None:
            command += ["--rules", str(self.rules)]
        env = {k: v for k, v in os.environ.items()
               if not (k.lower().endswith("_proxy") or k.startswith("A11Y_PROXY_") or k == "PROMETHEUS_MULTIPROC_DIR")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(self.source), env.get("PYTHONPATH"))))
        self._spawn(command, self.tmp / f"proxy-w{self.workers}.log", env=env, cwd=self.source)
        wait_until_answers(self.port, "/-/health", self.name, self.alive, self.log)
        if self.workers > 1:  # SO_REUSEPORT: one listening socket per worker once each has bound
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while listening_sockets(self.port) < self.workers:
                if time.monotonic() > deadline or not self.alive():
                    raise BenchError(f"{self.name}: only {listening_sockets(self.port)} of {self.workers} workers "
                                     f"listen on port {self.port}{_log_tail(self.log)}")
                time.sleep(0.1)
        self.remember_children()
        return self


def export_commit(rev: str, tmp: Path) -> tuple[Path, str]:
    """`git archive` of the proxy package and rules at `rev` into tmp/src (the repository is only read), with
    the trad accelerator: the working tree's build when the commit has the same C source, else built here
    (optional: without it the proxy runs its pure-Python reference, slower). (folder, description)."""
    def git(*argv: str, **kwargs: Any) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, timeout=60, **kwargs)

    found = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if found.returncode != 0:
        raise BenchError(f"--commit {rev}: no such commit")
    commit = found.stdout.decode().strip()
    src = tmp / "src"
    src.mkdir()
    paths = [p for p in ("proxy", "rules", "setup.py", "pyproject.toml")
             if git("cat-file", "-e", f"{commit}:{p}").returncode == 0]
    archive = git("archive", "--format=tar", commit, *paths)
    if archive.returncode != 0:
        raise BenchError(f"git archive {commit} failed: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True, timeout=60)
    c_source = "proxy/transforms/_trad_scan.c"
    accelerator = "no C accelerator in this commit"
    if (src / c_source).exists():
        built = sorted((ROOT / "proxy" / "transforms").glob("_trad_scan.*.so"))
        if built and (ROOT / c_source).exists() and (ROOT / c_source).read_bytes() == (src / c_source).read_bytes():
            for so in built:
                shutil.copy2(so, src / "proxy" / "transforms" / so.name)
            accelerator = "trad accelerator: the working tree's build (same C source)"
        else:
            done = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=src,
                                  capture_output=True, timeout=300)
            ok = done.returncode == 0 and any((src / "proxy" / "transforms").glob("_trad_scan.*.so"))
            accelerator = ("trad accelerator: built for this commit" if ok else
                           "trad accelerator could not be built: the pure-Python reference runs (slower)")
    return src, f"commit {commit[:10]} (exported with git archive; {accelerator})"


# --- load generation ---------------------------------------------------------------------------------------

# One script for every wrk run. Cold rows (BENCH_COLD=1) send `?n=<run>-<thread>-<counter>`: the run tag makes
# warm-up and measurement use different URLs, the thread number keeps wrk threads apart.
WRK_SCRIPT = r"""
local cold = os.getenv("BENCH_COLD") == "1"
local run = os.getenv("BENCH_RUN") or "0"
local threads_made = 0
local counter = 0
local base = nil

function setup(thread)
  thread:set("tid", threads_made)
  threads_made = threads_made + 1
end

function init(args)
  local sep = "?"
  if string.find(wrk.path, "?", 1, true) then sep = "&" end
  base = wrk.path .. sep .. "n=" .. run .. "-" .. tostring(tid or 0) .. "-"
end

if cold then
  request = function()
    counter = counter + 1
    return wrk.format(nil, base .. counter)
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %d %.3f %.3f %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


class Load:
    """wrk, or bench/passthrough.py's aiohttp loop; `run` measures one URL for `seconds`."""

    def __init__(self, use_wrk: bool, threads: int, tmp: Path) -> None:
        self.use_wrk = use_wrk
        self.threads = threads
        self.name = f"wrk --latency -t{threads}" if use_wrk else "built-in aiohttp client (bench/passthrough.py)"
        self.script = tmp / "bench.lua"
        self.script.write_text(WRK_SCRIPT)
        self.runs = 0

    def run(self, url: str, seconds: float, connections: int, cold: bool) -> pt.Measurement:
        self.runs += 1
        tag = f"{os.getpid()}x{self.runs}"
        if not self.use_wrk:
            counter = iter(range(1, 1 << 62))
            next_url = (lambda: f"{url}?n={tag}-0-{next(counter)}") if cold else None
            return pt.BuiltinLoad(connections, {}).run(url, seconds, next_url=next_url)
        whole = max(1, math.ceil(seconds))
        command = [WRK, "-t", str(max(1, min(self.threads, connections))), "-c", str(connections), "-d", f"{whole}s",
                   "--latency", "--timeout", f"{REQUEST_TIMEOUT:.0f}s", "-s", str(self.script), url]
        env = dict(os.environ, BENCH_COLD="1" if cold else "0", BENCH_RUN=tag)
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=whole + REQUEST_TIMEOUT + 20)
        for line in done.stdout.splitlines():
            if line.startswith("BENCH_RESULT "):
                requests, duration_us, p50_us, p99_us, bad_status, socket_errors = map(float, line.split()[1:])
                elapsed = duration_us / 1e6
                ok = max(0, int(requests - bad_status))
                return pt.Measurement(requests=ok, errors=int(bad_status + socket_errors), seconds=elapsed,
                                      rps=ok / elapsed if elapsed else 0.0, p50_ms=p50_us / 1000, p99_ms=p99_us / 1000)
        raise BenchError(f"wrk gave no result (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


# --- the proxy's own counters ------------------------------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)")


def scrape_metrics(port: int) -> dict[str, float]:
    """The proxy's /-/metrics as {name{labels}: value}; {} when it cannot be read."""
    try:
        status, _, body = http_get(port, "/-/metrics")
    except OSError:
        return {}
    if status != 200:
        return {}
    values = {}
    for line in body.decode("utf-8", "replace").splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1).startswith("a11y_proxy_"):
            with contextlib.suppress(ValueError):
                values[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return values


def metrics_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What the counters counted in between (counters, histogram sums and counts; not gauges or buckets)."""
    delta = {}
    for key, value in after.items():
        name = key.split("{")[0]
        if name.endswith(("_total", "_sum", "_count")) and not name.endswith("_created"):
            change = value - before.get(key, 0.0)
            if change:
                delta[key] = round(change, 6)
    return delta


def cache_summary(delta: dict[str, float]) -> dict[str, Any]:
    def total(prefix: str, label: str | None = None) -> float:
        return sum(v for k, v in delta.items() if k.startswith(prefix) and (label is None or label in k))

    count = total("a11y_proxy_transform_seconds_count")
    seconds = total("a11y_proxy_transform_seconds_sum")
    return {"hits": int(total("a11y_proxy_cache_requests_total", 'result="hit"')),
            "misses": int(total("a11y_proxy_cache_requests_total", 'result="miss"')),
            "revalidated_304": int(total("a11y_proxy_cache_revalidations_total", 'status="304"')),
            "transforms": int(count),
            # pages that went out as the upstream sent them (over timeouts.transform, memory budget, errors)
            "untransformed": int(sum(v for k, v in delta.items() if k.startswith("a11y_proxy_responses_total")
                                     and ('outcome="passthrough' in k or 'outcome="stream-' in k))),
            "transform_mean_ms": round(seconds / count * 1000, 3) if count else None}


# --- the page alone, in this process -----------------------------------------------------------------------

def pipeline_breakdown(site: Site, rules_dir: Path | None, repeats: int, source: Path = ROOT) -> dict[str, Any]:
    """Median milliseconds of each step of one full-mode render of the page, in this process: what a cold
    request costs the proxy before any HTTP. Mirrors proxy.pipeline.Pipeline._run step by step, and times
    Pipeline.render whole too (so a drift between the two shows)."""
    from yarl import URL

    if str(source) not in sys.path[:1]:
        sys.path.insert(0, str(source))  # the same `proxy` the servers run
    from proxy import codec, document
    from proxy.modes import parse as parse_modes
    from proxy.pipeline import Page, build_pipeline
    from proxy.rules import PageRules, load_rules_dir
    from proxy.settings import Settings, parse_upstream
    from proxy.urls import mode_prefix

    settings = Settings(upstream=parse_upstream(f"http://{HOST}:8081"), rules_dir=rules_dir)
    url = URL(f"http://{HOST}:8081{site.page_path}")
    modes = parse_modes(FULL_MODES)
    rules = PageRules()
    if rules_dir is not None:
        rule_set, errors = load_rules_dir(rules_dir)
        if not errors:
            rules = rule_set.for_page((url.host or "",) + settings.upstream_aliases, url.path)
    pipeline = build_pipeline(settings)
    enabled = [t for t in pipeline.transforms if t.enabled(modes)]
    steps: dict[str, list[float]] = {}

    def page(charset: str) -> Page:
        return Page(url=url, modes=modes, settings=settings, prefix=mode_prefix(modes), rules=rules,
                    source_charset=charset, public_origin=f"http://{HOST}:8080")

    def timed(name: str, started: float) -> float:
        now = time.perf_counter()
        steps.setdefault(name, []).append((now - started) * 1000)
        return now

    whole: list[float] = []
    for round_ in range(repeats + 2):  # two warm-up rounds (OpenCC dictionaries, caches)
        steps_before = {k: len(v) for k, v in steps.items()}
        t = time.perf_counter()
        charset, _ = codec.sniff_charset(site.page_bytes, site.page_type)
        text = codec.decode(site.page_bytes, charset)
        t = timed("decode", t)
        the_page = page(charset)
        doc = document.parse(text)
        t = timed("parse", t)
        for transform in enabled:
            transform.apply(doc, the_page)
            t = timed(getattr(transform, "name", type(transform).__name__), t)
        markup = document.serialize(doc)
        t = timed("serialize", t)
        for transform in enabled:
            if hasattr(transform, "apply_markup"):
                markup = transform.apply_markup(markup, the_page)
                t = timed(f"{getattr(transform, 'name', type(transform).__name__)} (markup)", t)
        out = markup.encode("utf-8")
        timed("utf-8", t)
        started = time.perf_counter()
        pipeline.render(text, page(charset))
        if round_ < 2:  # forget the warm-up rounds
            for name, values in steps.items():
                del values[steps_before.get(name, 0):]
        else:
            whole.append((time.perf_counter() - started) * 1000)
    medians = {name: round(statistics.median(values), 3) for name, values in steps.items() if values}
    return {"modes": FULL_MODES, "repeats": repeats, "output_bytes": len(out), "steps_ms": medians,
            "steps_total_ms": round(sum(medians.values()), 3),
            "pipeline_render_ms": round(statistics.median(whole), 3) if whole else None}


# --- the run -----------------------------------------------------------------------------------------------

@dataclass
class RowSpec:
    key: str
    label: str
    server: str  # "nginx", "naive", "w1", "w2"
    path: str
    cold: bool = False
    connections: int | None = None  # None: --connections


def sanity_check_binary(port: int, name: str, site: Site) -> None:
    status, headers, body = http_get(port, BINARY_PATH)
    if status != 200 or hashlib.sha256(body).digest() != hashlib.sha256(site.binary).digest():
        raise BenchError(f"{name}: the binary came back with HTTP {status}, {len(body):,} bytes "
                         f"(expected 200 and the same {len(site.binary):,} bytes)")


def sanity_check_pages(proxy: Proxy, site: Site) -> dict[str, Any]:
    """Plain, hot and cold URLs answer 200 with rewritten HTML; full mode is Traditional; the cold URL's page
    is the same page (the upstream ignores the query)."""
    seen = {}
    for label, path in (("plain", site.page_path), ("full", f"/-/{FULL_MODES}{site.page_path}"),
                        ("full?n", f"/-/{FULL_MODES}{site.page_path}?n=sanity")):
        status, headers, body = http_get(proxy.port, path)
        if status != 200 or not headers.get("content-type", "").startswith("text/html"):
            raise BenchError(f"{proxy.name}: {path} gave HTTP {status} ({headers.get('content-type')}); "
                             f"the row would not measure a page" + (f", Location {headers['location']}"
                                                                    if "location" in headers else ""))
        seen[label] = body
    source = site.page_bytes.decode(wire_encoding(declared_charset(site.page_bytes))[0], "replace")
    if seen["plain"] == site.page_bytes:
        raise BenchError(f"{proxy.name}: the plain page came back unchanged: not rewritten{_log_tail(proxy.log, 4)}")
    full = seen["full"].decode("utf-8", "replace")
    if "广" in source and "廣" not in full:
        raise BenchError(f"{proxy.name}: the full-mode page is not in Traditional script{_log_tail(proxy.log, 4)}")
    if abs(len(seen["full?n"]) - len(seen["full"])) > 0.02 * len(seen["full"]):
        raise BenchError(f"{proxy.name}: the cold URL gave {len(seen['full?n']):,} bytes, the hot one "
                         f"{len(seen['full']):,}: not the same page")
    return {"plain_bytes": len(seen["plain"]), "full_bytes": len(seen["full"])}


def measure(spec: RowSpec, server: Any, upstream: Any, load: Load, args: argparse.Namespace, metrics: bool,
            retry_until: float) -> dict[str, Any]:
    """One row: warm-up, then the measurement; measured again (up to --retries times, while the clock is
    before retry_until) when other processes took CPU meanwhile, keeping the least disturbed attempt."""
    row = measure_once(spec, server, upstream, load, args, metrics, warmup=True)
    attempts = [row]
    while (row["cpu"]["unaccounted_cores"] > OTHER_LOAD_WARNING and len(attempts) <= args.retries
           and time.monotonic() < retry_until):
        print(f"    ({row['cpu']['unaccounted_cores']:.2f} cores busy outside our processes: measured again)",
              flush=True)
        attempts.append(measure_once(spec, server, upstream, load, args, metrics, warmup=False))
        row = min(attempts, key=lambda r: r["cpu"]["unaccounted_cores"])
    row["attempts"] = len(attempts)
    row["discarded_attempts"] = [{k: a[k] for k in ("rps", "p50_ms", "p99_ms")} | {
        "unaccounted_cores": a["cpu"]["unaccounted_cores"]} for a in attempts if a is not row]
    return row


def measure_once(spec: RowSpec, server: Any, upstream: Any, load: Load, args: argparse.Namespace, metrics: bool,
                 warmup: bool) -> dict[str, Any]:
    connections = spec.connections or args.connections
    url = f"http://{HOST}:{server.port}{spec.path}"
    if warmup and args.warmup > 0:
        load.run(url, args.warmup, connections, spec.cold)
    before = scrape_metrics(server.port) if metrics else {}
    cpu_before = (cpu_seconds(server.pid), cpu_seconds(upstream.pid))
    rusage_before = (resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF))
    others_before, machine_before = others_cpu(), machine_cpu()
    measured = load.run(url, args.duration, connections, spec.cold)
    machine_after, others_after = machine_cpu(), others_cpu()
    rusage_after = (resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF))
    cpu_after = (cpu_seconds(server.pid), cpu_seconds(upstream.pid))
    after = scrape_metrics(server.port) if metrics else {}
    loadgen = sum((a.ru_utime + a.ru_stime) - (b.ru_utime + b.ru_stime) for a, b in zip(rusage_after, rusage_before))
    cpu = {"server_s": cpu_after[0] - cpu_before[0], "upstream_s": cpu_after[1] - cpu_before[1], "loadgen_s": loadgen}
    per_request = {k.replace("_s", "_ms_per_req"): (v * 1000 / measured.requests if measured.requests else None)
                   for k, v in cpu.items()}
    cores = {k.replace("_s", "_cores"): v / measured.seconds if measured.seconds else None for k, v in cpu.items()}
    # The whole machine over the same span (a little longer than wrk's own clock): what our three processes
    # do not explain is the kernel's loopback work done outside their accounting (softirq), or other tenants.
    span = max(measured.seconds, 1e-9)
    cores["machine_busy_cores"] = (machine_after[0] - machine_before[0]) / span
    cores["machine_steal_cores"] = (machine_after[1] - machine_before[1]) / span
    cores["unaccounted_cores"] = cores["machine_busy_cores"] - sum(
        v for k, v in cores.items() if k in ("server_cores", "upstream_cores", "loadgen_cores") and v is not None)
    row = {"key": spec.key, "label": spec.label, "server": spec.server, "path": spec.path, "cold": spec.cold,
           "connections": connections, **dataclasses.asdict(measured), "cpu": {**cpu, **per_request, **cores},
           "other_processes": busy_others(others_before, others_after, span)}
    if metrics:
        delta = metrics_delta(before, after)
        row["proxy_metrics"] = delta
        row["cache"] = cache_summary(delta)
    print(f"  {spec.label:<28} {spec.server:<5} c{connections:<3} {measured.rps:9.1f} req/s  p50 {measured.p50_ms:7.2f} ms"
          f"  p99 {measured.p99_ms:7.2f} ms  ({measured.requests} ok, {measured.errors} errors)", flush=True)
    return row


def paired_rounds(anchor: Nginx, proxy: Proxy, load: Load, args: argparse.Namespace) -> dict[str, Any]:
    """Pass-through against nginx again, the two measured one right after the other, --paired times (the order
    alternating): on a machine others use too, rows 1 and 2, a minute apart, can see different loads, and their
    ratio moves with it; each pair here sees about the same.  Both are warm already (rows 1 and 2)."""
    pairs = []
    for index in range(args.paired):
        servers = [("nginx", anchor), ("proxy", proxy)]
        rps = {}
        for name, server in servers if index % 2 == 0 else servers[::-1]:
            measured = load.run(f"http://{HOST}:{server.port}{BINARY_PATH}", args.duration, args.connections, False)
            rps[name] = measured.rps if measured.requests and not measured.errors else math.nan
        pairs.append({"nginx_rps": rps["nginx"], "proxy_rps": rps["proxy"],
                      "ratio": pt._ratio(rps["proxy"], rps["nginx"])})
        print(f"  paired round {index + 1}: nginx {rps['nginx']:9.1f} req/s, pass-through w1 {rps['proxy']:9.1f} req/s"
              f" ({pairs[-1]['ratio']:.3f})", flush=True)
    ratios = [p["ratio"] for p in pairs if not math.isnan(p["ratio"])]
    return {"pairs": pairs, "median_ratio": statistics.median(ratios) if ratios else math.nan,
            "min_ratio": min(ratios, default=math.nan), "max_ratio": max(ratios, default=math.nan)}


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    began = time.monotonic()
    use_nginx = not args.no_nginx and os.access(NGINX, os.X_OK)
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and os.access(WRK, os.X_OK))
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": sys.argv, "cpus": os.cpu_count(),
        "python": sys.version.split()[0], "git": _git_state(), "connections": args.connections,
        "threads": args.threads, "duration_s": args.duration, "warmup_s": args.warmup,
        "nginx": nginx_version() if use_nginx else None, "nginx_workers": args.nginx_workers if use_nginx else None,
        "notes": [], "rows": []}
    notes: list[str] = report["notes"]
    quiet_deadline = time.monotonic() + args.wait_quiet
    while True:  # one second's sample of the machine before anything of ours runs
        busy_before = machine_cpu()[0]
        time.sleep(1.0)
        report["busy_cores_before_start"] = round(machine_cpu()[0] - busy_before, 2)
        if report["busy_cores_before_start"] <= OTHER_LOAD_WARNING or time.monotonic() >= quiet_deadline:
            break
        print(f"waiting for a quiet machine: {report['busy_cores_before_start']:.2f} cores busy", flush=True)
        time.sleep(4.0)
    report["waited_for_quiet_s"] = round(time.monotonic() - began, 1)
    if report["busy_cores_before_start"] > OTHER_LOAD_WARNING:
        notes.append(f"before the start, with none of our processes running, the machine was busy "
                     f"{report['busy_cores_before_start']:.2f} cores: something else is running; figures may be low")
    if not use_nginx:
        notes.append("row 1 (nginx proxy_pass) skipped: " + ("--no-nginx" if args.no_nginx else f"{NGINX} absent")
                     + "; the upstream is an aiohttp process")
    # Measuring a disturbed row again may not stretch the run past about 3.5 minutes (50 s with --quick).
    retry_until = time.monotonic() + (50.0 if args.quick else 210.0)
    tmp = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    try:
        with contextlib.ExitStack() as stack:
            if args.commit:
                source, report["proxy_source"] = export_commit(args.commit, tmp)
            else:
                source, report["proxy_source"] = ROOT, f"working tree at {report['git']['describe']}"
            rules = None if args.no_rules or not (source / "rules").is_dir() else source / "rules"
            report["rules"] = "rules/" if rules else None
            site = prepare_site(tmp)
            load = Load(use_wrk, args.threads, tmp)
            report.update(page=site.page_source, page_path=site.page_path, page_type=site.page_type,
                          binary_bytes=len(site.binary), generator=load.name)
            print(f"page:     {site.page_source}")
            print(f"binary:   {BINARY_PATH}, {len(site.binary):,} bytes, image/png")
            print(f"load:     {load.name}, {args.connections} connections, {args.warmup:g} s warm-up + "
                  f"{args.duration:g} s per row; {os.cpu_count()} CPUs shared by everything")
            print(f"proxy:    {report['proxy_source']}; rules: {report['rules'] or 'none'}")
            if not args.skip_breakdown:
                try:
                    report["pipeline_alone"] = pipeline_breakdown(site, rules, 5 if args.quick else 15, source)
                    alone = report["pipeline_alone"]
                    print(f"page alone in this process ({FULL_MODES}): {alone['pipeline_render_ms']:.1f} ms "
                          f"per render (median of {alone['repeats']})")
                except Exception as exc:  # internal APIs move; the HTTP figures do not depend on this
                    notes.append(f"pipeline breakdown unavailable: {exc!r}")
                    print(f"page alone: unavailable ({exc!r})", file=sys.stderr)

            if use_nginx:
                upstream = stack.enter_context(Nginx("nginx-upstream", tmp, "1", NGINX_UPSTREAM, root=site.root,
                                                     page_path=site.page_path, page_type=site.page_type))
                upstream.start("/health")
                report["upstream"] = f"nginx {report['nginx']} static files, worker_processes 1"
            else:
                upstream = stack.enter_context(AiohttpUpstream(tmp, site)).start()
                report["upstream"] = "aiohttp web.FileResponse, one process"
            print(f"upstream: {report['upstream']} on {HOST}:{upstream.port}")
            status, headers, body = http_get(upstream.port, site.page_path + "?n=check")
            if status != 200 or body != site.page_bytes:
                raise BenchError(f"the upstream does not serve the page with a query string (HTTP {status})")
            sanity_check_binary(upstream.port, "upstream", site)

            full = f"/-/{FULL_MODES}{site.page_path}"
            rows = report["rows"]
            anchor = None
            if use_nginx:  # kept running through the --workers 1 rows, for the paired rounds
                anchor = stack.enter_context(Nginx("nginx-anchor", tmp, args.nginx_workers, NGINX_ANCHOR,
                                                   upstream_port=upstream.port))
                anchor.start(BINARY_PATH)
                sanity_check_binary(anchor.port, "nginx proxy_pass", site)
                print(f"nginx proxy_pass on {HOST}:{anchor.port} (worker_processes {args.nginx_workers})")
                rows.append(measure(RowSpec("nginx_passthrough", "1 nginx proxy_pass, binary", "nginx",
                                            BINARY_PATH), anchor, upstream, load, args, metrics=False,
                                    retry_until=retry_until))
            if not args.no_naive:
                with NaiveConverter(tmp, upstream.port) as naive:
                    naive.start()
                    print(f"naive converter on {HOST}:{naive.port} (aiohttp + lxml + OpenCC s2t, one process)")
                    rows.append(measure(RowSpec("naive", "naive s2t converter, page", "naive", site.page_path),
                                        naive, upstream, load, args, metrics=False, retry_until=retry_until))
            for workers, specs in (
                    (1, [RowSpec("passthrough", "2 pass-through, binary", "w1", BINARY_PATH),
                         RowSpec("plain", "3 plain page", "w1", site.page_path),
                         RowSpec("hot_full", "4 hot full", "w1", full),
                         RowSpec("cold_full", "5 cold full", "w1", full, cold=True),
                         RowSpec("cold_full_1conn", "5 cold full, 1 connection", "w1", full, cold=True,
                                 connections=1)]),
                    (2, [RowSpec("passthrough", "2 pass-through, binary", "w2", BINARY_PATH),
                         RowSpec("hot_full", "4 hot full", "w2", full),
                         RowSpec("cold_full", "5 cold full", "w2", full, cold=True)])):
                with Proxy(tmp, workers, upstream.port, rules, source) as proxy:
                    proxy.start()
                    sanity_check_binary(proxy.port, proxy.name, site)
                    sizes = sanity_check_pages(proxy, site)
                    report.setdefault("rewritten_bytes", sizes)
                    pids = [proxy.pid, *descendants(proxy.pid)]
                    print(f"{proxy.name} on {HOST}:{proxy.port} (pids {', '.join(map(str, pids))}); "
                          f"page rewritten: plain {sizes['plain_bytes']:,} bytes, {FULL_MODES} {sizes['full_bytes']:,}")
                    for spec in specs:
                        rows.append(measure(spec, proxy, upstream, load, args, metrics=True,
                                            retry_until=retry_until))
                        if not proxy.alive():
                            raise BenchError(f"{proxy.name} exited during '{spec.label}'{_log_tail(proxy.log)}")
                    if workers == 1 and anchor is not None and args.paired > 0:
                        report["paired"] = paired_rounds(anchor, proxy, load, args)
            report["server_logs"] = summarize_logs(tmp)
    finally:
        report["elapsed_s"] = round(time.monotonic() - began, 1)
        if args.keep_logs:
            print(f"logs and configs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report["ratios"] = ratios(report)
    return report


def _git_state() -> dict[str, Any]:
    def git(*argv: str) -> str:
        try:
            return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
             if line[3:].startswith("proxy/")]
    return {"describe": (git("rev-parse", "--short", "HEAD") or "?") + (" + uncommitted changes in " +
                                                                        ", ".join(dirty) if dirty else ""),
            "commit": git("rev-parse", "HEAD"), "dirty_proxy_files": dirty}


def summarize_logs(tmp: Path) -> dict[str, Any]:
    """Warnings and errors the servers logged, by kind (numbers folded), with counts."""
    summary: dict[str, Any] = {}
    for log in sorted(tmp.rglob("*.log")):
        kinds: dict[str, int] = {}
        for line in log.read_text(errors="replace").splitlines():
            if not re.search(r"\b(WARNING|ERROR|CRITICAL|\[warn\]|\[error\]|\[crit\]|\[alert\]|\[emerg\]|Traceback)",
                             line):
                continue
            text = re.sub(r"^\S+ \S+ ", "", line)  # the date and time
            text = re.sub(r"\d+", "N", text)[:160]
            kinds[text] = kinds.get(text, 0) + 1
        if kinds:
            summary[str(log.relative_to(tmp))] = dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:8])
    return summary


def _row(report: dict[str, Any], key: str, server: str) -> dict[str, Any] | None:
    return next((r for r in report["rows"] if r["key"] == key and r["server"] == server), None)


TARGETS = (
    # (key, what, >= or <=, target, unit)
    ("hot_over_passthrough", "hot full / proxy pass-through of the binary, req/s (--workers 1)", ">=", 0.8, "x"),
    ("cold_p50_1conn_ms", "cold full p50 at one connection (--workers 1)", "<=", 8.0, "ms"),
    ("workers2_over_workers1_cold", "--workers 2 / --workers 1 on cold full, req/s", ">=", 1.5, "x"),
    ("passthrough_over_nginx", "proxy pass-through / nginx proxy_pass, req/s (--workers 1)", ">=", 0.25, "x"),
)


def ratios(report: dict[str, Any]) -> dict[str, Any]:
    def rps(key: str, server: str) -> float:
        row = _row(report, key, server)
        return row["rps"] if row and row["requests"] else math.nan

    cold1 = _row(report, "cold_full_1conn", "w1")
    values = {
        "hot_over_passthrough": pt._ratio(rps("hot_full", "w1"), rps("passthrough", "w1")),
        "cold_p50_1conn_ms": cold1["p50_ms"] if cold1 and cold1["requests"] else math.nan,
        "workers2_over_workers1_cold": pt._ratio(rps("cold_full", "w2"), rps("cold_full", "w1")),
        "passthrough_over_nginx": pt._ratio(rps("passthrough", "w1"), rps("nginx_passthrough", "nginx")),
        # not targets, for reading the others:
        "hot_over_passthrough_w2": pt._ratio(rps("hot_full", "w2"), rps("passthrough", "w2")),
        "passthrough_w2_over_nginx": pt._ratio(rps("passthrough", "w2"), rps("nginx_passthrough", "nginx")),
        "workers2_over_workers1_hot": pt._ratio(rps("hot_full", "w2"), rps("hot_full", "w1")),
        "workers2_over_workers1_passthrough": pt._ratio(rps("passthrough", "w2"), rps("passthrough", "w1")),
        "plain_over_passthrough": pt._ratio(rps("plain", "w1"), rps("passthrough", "w1")),
        "cold_over_hot": pt._ratio(rps("cold_full", "w1"), rps("hot_full", "w1")),
        "cold_full_over_naive": pt._ratio(rps("cold_full", "w1"), rps("naive", "naive")),
        "hot_full_over_naive": pt._ratio(rps("hot_full", "w1"), rps("naive", "naive")),
    }
    targets = []
    for key, what, op, target, unit in TARGETS:
        value = values[key]
        met = None if math.isnan(value) else (value >= target if op == ">=" else value <= target)
        targets.append({"key": key, "what": what, "value": value, "target": f"{op} {target:g}{' ms' if unit == 'ms' else ''}",
                        "met": met})
    return {"values": values, "targets": targets}


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def print_report(report: dict[str, Any]) -> None:
    header = (f"{'row':<28} {'proxy':<5} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'err':>4}  "
              f"{'CPU ms/req srv/up/gen':>22} {'busy':>5}  {'hit/miss/304':>15} {'transform':>9}")
    print()
    print(header)
    print("-" * len(header))
    for row in report["rows"]:
        cpu = row["cpu"]
        cpu_text = "/".join(_fmt(cpu[k], 2) for k in ("server_ms_per_req", "upstream_ms_per_req", "loadgen_ms_per_req"))
        cache = row.get("cache")
        cache_text = f"{cache['hits']}/{cache['misses']}/{cache['revalidated_304']}" if cache else ""
        transform = f"{_fmt(cache['transform_mean_ms'], 1)} ms" if cache and cache["transform_mean_ms"] else ""
        print(f"{row['label']:<28} {row['server']:<5} {row['connections']:>5} {row['rps']:>9.1f} {row['p50_ms']:>8.2f} "
              f"{row['p99_ms']:>8.2f} {row['errors']:>4}  {cpu_text:>22} {_fmt(cpu['machine_busy_cores']):>5}  "
              f"{cache_text:>15} {transform:>9}")
    disturbed = [f"{row['label']} ({row['server']}): {row['cpu']['unaccounted_cores']:.2f}"
                 + (f" (best of {row['attempts']})" if row.get("attempts", 1) > 1 else "") for row in report["rows"]
                 if (row["cpu"].get("unaccounted_cores") or 0) > OTHER_LOAD_WARNING]
    if disturbed:
        report["notes"].append("cores busy beyond what the load generator, upstream and server used (kernel "
                               "loopback work outside their accounting, or other processes): " + "; ".join(disturbed))
    untransformed = [f"{row['label']} ({row['server']}): {row['cache']['untransformed']} (wrk got {row['requests']} "
                     "answers)" for row in report["rows"] if row.get("cache", {}).get("untransformed")]
    if untransformed:
        report["notes"].append("pages the proxy sent untransformed during the measurement (a11y_proxy_responses_total "
                               "passthrough-*/stream-*, e.g. over timeouts.transform, which counts the wait for a "
                               "pipeline thread too; a backlog from the row before, whose clients are gone, still "
                               "runs): " + "; ".join(untransformed) + ". Those answers count in req/s.")
    others: dict[str, float] = {}
    for row in report["rows"]:
        for other in row.get("other_processes", []):
            key = f"pid {other['pid']} ({other['command']})"
            others[key] = max(others.get(key, 0.0), other["cores"])
    if others:
        busiest = sorted(others.items(), key=lambda kv: -kv[1])
        report["notes"].append("other processes on the machine used CPU during the rows (most in one row): "
                               + "; ".join(f"{k}: {v:.2f} cores" for k, v in busiest[:5])
                               + (f"; and {len(busiest) - 5} more (see the JSON)" if len(busiest) > 5 else ""))
    for note in report["notes"]:
        print(f"note: {note}")
    nginx = f"nginx = nginx proxy_pass (worker_processes {report['nginx_workers']}). " if report["nginx"] else ""
    print(f"proxy: w1 = serve --workers 1, w2 = serve --workers 2; {nginx}CPU ms/req: the server measured (all its processes), "
          "the upstream, the load generator. busy: cores the whole machine was busy (of "
          f"{os.cpu_count()}; includes kernel loopback work and anything else running). hit/miss/304: transform-cache look-ups and upstream 304s during the "
          "measurement; transform: mean time per transformed page in the proxy (a11y_proxy_transform_seconds).")
    alone = report.get("pipeline_alone")
    if alone:
        steps = sorted(alone["steps_ms"].items(), key=lambda kv: -kv[1])
        print(f"\nOne {alone['modes']} render in this process, no HTTP: {alone['pipeline_render_ms']:.1f} ms "
              f"(Pipeline.render; the steps below add up to {alone['steps_total_ms']:.1f} ms; output "
              f"{alone['output_bytes']:,} bytes):")
        print("  " + ", ".join(f"{name} {ms:.2f}" for name, ms in steps if ms >= 0.05))
    print()
    print(f"{'target':<66} {'measured':>9} {'target':>9}  met")
    for target in report["ratios"]["targets"]:
        unit = " ms" if target["key"].endswith("_ms") else ""
        met = {True: "yes", False: "NO", None: "n/a"}[target["met"]]
        print(f"{target['what']:<66} {_fmt(target['value'], 2 if unit else 3) + unit:>9} {target['target']:>9}  {met}")
    values = report["ratios"]["values"]
    print(f"also: hot/pass-through with --workers 2 {_fmt(values['hot_over_passthrough_w2'])}; "
          f"pass-through w2/nginx {_fmt(values['passthrough_w2_over_nginx'])}; w2/w1 hot "
          f"{_fmt(values['workers2_over_workers1_hot'])}, pass-through "
          f"{_fmt(values['workers2_over_workers1_passthrough'])}; plain/pass-through "
          f"{_fmt(values['plain_over_passthrough'])}; cold/hot {_fmt(values['cold_over_hot'])}; against the naive "
          f"converter: cold full {_fmt(values['cold_full_over_naive'])}, hot full {_fmt(values['hot_full_over_naive'])}")
    paired = report.get("paired")
    if paired:
        print(f"pass-through w1/nginx in {len(paired['pairs'])} paired rounds (measured back to back, --paired): "
              f"median {_fmt(paired['median_ratio'], 3)} (min {_fmt(paired['min_ratio'], 3)}, "
              f"max {_fmt(paired['max_ratio'], 3)})")
    errors = sum(row["errors"] for row in report["rows"])
    if errors:
        print(f"note: {errors} request(s) failed or were not 200 (see the err column)")
    for log, kinds in report.get("server_logs", {}).items():
        print(f"{log} logged: " + "; ".join(f"{n}x {text}" for text, n in kinds.items()))
    waited = report.get("waited_for_quiet_s", 0.0)
    print(f"whole run: {report['elapsed_s']:.0f} s" + (f", of which {waited:.0f} s waiting for a quiet machine"
                                                      if waited > 2 else ""))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per row (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up before each row (2)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--quick", action="store_true", help="2 s per row after 1 s warm-up (under a minute)")
    parser.add_argument("--json", metavar="FILE", help="write every figure to this JSON file")
    parser.add_argument("--generator", choices=("auto", "wrk", "builtin"), default="auto",
                        help="load generator: wrk when installed (auto), or force one")
    parser.add_argument("--nginx-workers", default="1", help="worker_processes of the nginx proxy_pass row (1; or auto)")
    parser.add_argument("--no-nginx", action="store_true", help="aiohttp upstream, no nginx row (as without nginx)")
    parser.add_argument("--no-rules", action="store_true", help="run the proxies without the repository's rules/")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive converter row (the issue's "
                        "point of comparison: aiohttp + lxml + OpenCC s2t per text node)")
    parser.add_argument("--skip-breakdown", action="store_true", help="skip the in-process render breakdown")
    parser.add_argument("--paired", type=int, default=3, metavar="N",
                        help="after the --workers 1 rows, measure nginx and the pass-through back to back N times, "
                             "alternating, for a ratio less moved by other load (3; 0: none)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="wait up to this long for the machine to be idle before starting (0)")
    parser.add_argument("--retries", type=int, default=1, help="measure a row again up to this many times when "
                        "other processes took CPU during it, keeping the least disturbed attempt (1; 0: never); "
                        "retries stop once the run is 3.5 min old (50 s with --quick)")
    parser.add_argument("--commit", metavar="REV", help="run the proxy of this commit (exported with git archive "
                        "into the temp dir) instead of the working tree: for figures tied to a commit while the "
                        "working tree is being edited")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temp dir (configs, server logs)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 2.0, 1.0
    if args.duration <= 0 or args.warmup < 0 or args.connections < 1 or args.threads < 1 or args.retries < 0:
        parser.error("--duration must be > 0, --warmup >= 0, --retries >= 0, --connections and --threads >= 1")
    if args.nginx_workers != "auto" and not args.nginx_workers.isdigit():
        parser.error("--nginx-workers: a number or auto")
    if args.generator == "wrk" and not os.access(WRK, os.X_OK):
        parser.error(f"{WRK} not found (Debian: apt-get install wrk)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, pt._raise_keyboard_interrupt)  # unwind through the finally blocks
    try:
        report = run_benchmark(args)
    except BenchError as exc:
        print(f"throughput: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("throughput: interrupted; servers stopped", file=sys.stderr)
        return 130
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(pt._nan_to_none(report), indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
