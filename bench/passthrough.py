"""Pass-through benchmark: the proxy against the direct upstream, measured in the same run.

How to run (from the repository root, or from anywhere: the script finds the `proxy` package itself):

    python3 bench/passthrough.py            # 8 connections, 1 s warm-up + 5 s per measurement (~40 s)
    python3 bench/passthrough.py --quick    # ~1 s per measurement, a smoke run (~15 s)
    python3 bench/passthrough.py --connections 16 --duration 10 --json out.json

What happens:

1. An upstream aiohttp server is started in its own process on 127.0.0.1 (an OS-chosen free port). It serves
   three resources made up by this script: a ~60 KB Chinese government-portal-like HTML page
   (text/html; charset=utf-8), a 200 KB binary labelled image/png, and a 10 MiB binary.
2. The proxy (`proxy.app.create_app`, access log off, no rule folder, exactly what `a11y-proxy serve --upstream`
   runs) is started in a second process in front of it, and the script waits until it answers `/-/health`.
3. Each resource is fetched once directly and once through the proxy as a sanity check: both must answer 200,
   and the binaries must come through byte for byte.
4. For each resource the load generator runs a warm-up, then a measurement directly against the upstream, then
   the same (same connection count, same duration) through the proxy. The load generator is `wrk --latency`
   when /usr/bin/wrk exists (Debian package `wrk`), else a built-in loop of N concurrent aiohttp client
   workers, bounded both by time and by request count. wrk takes whole seconds only, so with wrk the duration and
   warm-up are rounded up to whole seconds. No Accept-Encoding is sent unless `--gzip` is given.

So the upstream, the proxy and the load generator run in three processes with three event loops.

Reading the table:

* `ratio` = proxy req/s / direct req/s. 1.00 means the proxy costs no throughput; 0.50 means clients get half
  the requests per second they would get from the upstream itself. For HTML the proxy parses and rewrites the
  page (the accessibility pipeline), so a ratio well below 1 is expected there; binaries only stream through.
* `p50 x` / `p99 x` = proxy latency / direct latency at the median and at the 99th percentile. 1.0 means no
  added latency; 3.0 means requests take three times as long through the proxy.

Absolute numbers depend heavily on the machine: on the 2-core box this was written on, the load generator,
the upstream and the proxy (one Python process each, plus the proxy's pipeline threads) compete for the same
two cores, so the proxy run also steals CPU from the upstream it fronts. Compare ratios between runs on the
same machine, not the absolute req/s with other machines. The built-in aiohttp load generator is itself
CPU-bound Python and saturates well before wrk does, which compresses the ratios towards 1; prefer wrk.

Exit status: 0 when the benchmark ran, 1 when the sanity check failed or a server could not be started,
2 for bad arguments.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python3 bench/passthrough.py`: make the `proxy` package importable
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"  # everything stays on loopback
WRK = "/usr/bin/wrk"
KiB = 1024
MiB = 1024 * KiB

STARTUP_TIMEOUT = 30.0  # seconds for a server process to bind and answer
REQUEST_TIMEOUT = 30.0  # seconds for one request of the load generator or the sanity check
BUILTIN_MAX_REQUESTS = 2_000_000  # count bound of the built-in load loop, next to its time bound


# --- the resources ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Resource:
    name: str  # shown in the table
    path: str  # at the upstream (and so at the proxy)
    content_type: str


RESOURCES = (
    Resource("html 60KB", "/news/index.html", "text/html; charset=utf-8"),
    Resource("png 200KB", "/images/banner.png", "image/png"),
    Resource("bin 10MiB", "/files/archive.bin", "application/octet-stream"),
)


def make_portal_html(target_bytes: int = 60 * KiB, seed: int = 2024) -> bytes:
    """A deterministic page shaped like a municipal government portal: header, navigation, news lists,
    a table of notices, a service grid, a long footer. Grows by sections until it reaches target_bytes."""
    rng = random.Random(seed)
    words = ("关于", "进一步", "加强", "做好", "全市", "安全生产", "工作", "的", "通知", "实施意见", "政务公开",
             "优化", "营商环境", "重点", "任务", "分工", "方案", "公示", "人民政府", "办公室", "印发", "年度",
             "财政", "预算", "执行情况", "乡村振兴", "民生实事", "项目", "进展", "统计", "公报", "疫情防控",
             "高质量发展", "数字政府", "建设", "规划", "解读", "政策", "问答", "招聘", "事业单位", "公告")
    depts = ("市发展和改革委员会", "市教育局", "市财政局", "市人力资源和社会保障局", "市生态环境局",
             "市住房和城乡建设局", "市交通运输局", "市卫生健康委员会", "市市场监督管理局", "市统计局")

    def title() -> str:
        return "".join(rng.choice(words) for _ in range(rng.randint(5, 11)))

    def date() -> str:
        return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    def news_list(heading: str, n: int) -> str:
        items = "\n".join(
            f'      <li><a href="/xxgk/{rng.randint(100000, 999999)}.html" target="_blank" title="{t}">{t}</a>'
            f'<span class="date">{date()}</span></li>'
            for t in (title() for _ in range(n)))
        return (f'  <div class="news-box">\n    <div class="box-title"><h2>{heading}</h2>'
                f'<a class="more" href="/xwzx/">更多&gt;&gt;</a></div>\n    <ul class="list">\n{items}\n    </ul>\n  </div>\n')

    def notice_table(n: int) -> str:
        rows = "\n".join(
            f'      <tr><td>{i + 1}</td><td><a href="/zwgk/tzgg/{rng.randint(1000, 9999)}.html">{title()}</a></td>'
            f'<td>{rng.choice(depts)}</td><td>{date()}</td></tr>' for i in range(n))
        return ('  <table class="notice" width="100%" border="0" cellspacing="0" cellpadding="0">\n'
                '    <tr><th>序号</th><th>标题</th><th>发布机构</th><th>发布日期</th></tr>\n'
                f'{rows}\n  </table>\n')

    def service_grid() -> str:
        cells = "\n".join(
            f'      <a class="svc" href="javascript:void(0)" onclick="window.open(\'/bsfw/{i}\')">'
            f'<img src="/images/icon{i}.png" width="48" height="48"><span>{rng.choice(words)}{rng.choice(words)}</span></a>'
            for i in range(12))
        return f'  <div class="service">\n    <div class="box-title"><h2>办事服务</h2></div>\n{cells}\n  </div>\n'

    head = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
            '<html xmlns="http://www.w3.org/1999/xhtml">\n<head>\n'
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />\n'
            '<meta name="SiteName" content="某某市人民政府门户网站" />\n<meta name="ColumnName" content="新闻中心" />\n'
            '<title>新闻中心_某某市人民政府门户网站</title>\n'
            '<link rel="stylesheet" type="text/css" href="/css/common.css" />\n'
            '<script type="text/javascript" src="/js/jquery-1.8.3.min.js"></script>\n'
            '<style type="text/css">body{margin:0;font:12px/1.5 "宋体",SimSun;color:#333}'
            '.list li{height:28px;overflow:hidden}.date{float:right;color:#999}</style>\n</head>\n<body>\n'
            '<div class="top"><div class="w1200"><span>欢迎访问某某市人民政府门户网站</span>'
            '<a href="/wza/">无障碍</a> | <a href="javascript:;">长者模式</a> | <a href="/en/">English</a></div></div>\n'
            '<div class="header"><img src="/images/logo.png" /><form action="/search" method="get">'
            '<input type="text" name="q" value="请输入关键词" /><input type="image" src="/images/search.png" /></form></div>\n'
            '<div class="nav"><ul>' + "".join(
                f'<li><a href="/{p}/">{n}</a></li>' for p, n in (
                    ("", "首页"), ("xwzx", "新闻中心"), ("zwgk", "政务公开"), ("bsfw", "办事服务"),
                    ("hdjl", "互动交流"), ("zjmc", "走进某某"), ("ztzl", "专题专栏"))) + '</ul></div>\n'
            '<div class="main w1200">\n')
    foot = ('</div>\n<div class="footer"><p>主办：某某市人民政府办公室　承办：某某市大数据中心</p>'
            '<p>地址：某某市人民路1号　邮编：000000　联系电话：0000-12345678</p>'
            '<p><a href="https://beian.miit.gov.cn/">某ICP备00000000号-1</a>　'
            '<img src="/images/gongan.png" />某公网安备 00000000000000号　网站标识码：0000000000</p>'
            '<script type="text/javascript">document.write(unescape("%3Cspan id=\'_ideConac\'%3E%3C/span%3E"));</script>'
            '</div>\n</body>\n</html>\n')
    sections: list[str] = []
    body = ""
    while len((head + body + foot).encode()) < target_bytes:
        kind = len(sections) % 4
        if kind == 0:
            sections.append(news_list(rng.choice(("要闻动态", "部门动态", "区县动态", "图片新闻")), 15))
        elif kind == 1:
            sections.append(notice_table(12))
        elif kind == 2:
            sections.append(news_list(rng.choice(("通知公告", "政策解读", "人事信息", "招标采购")), 12))
        else:
            sections.append(service_grid())
        body = "".join(sections)
    return (head + body + foot).encode("utf-8")


def make_bodies() -> dict[str, bytes]:
    rng = random.Random(7)
    png = b"\x89PNG\r\n\x1a\n" + rng.randbytes(200 * KiB - 8)  # a PNG signature in front of noise
    return {RESOURCES[0].path: make_portal_html(), RESOURCES[1].path: png, RESOURCES[2].path: rng.randbytes(10 * MiB)}


# --- the two server processes --------------------------------------------------------------------------

def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(1024)
    return sock


def _exit_with_parent(parent_pid: int) -> Callable:
    """An on_startup hook: if the benchmark process dies without cleaning up (SIGKILL), stop this server too."""
    async def start(app) -> None:
        async def watch() -> None:
            while os.getppid() == parent_pid:
                await asyncio.sleep(0.5)
            os.kill(os.getpid(), signal.SIGTERM)  # run_app turns SIGTERM into a graceful exit

        task = asyncio.get_running_loop().create_task(watch())

        async def stop(_app) -> None:
            task.cancel()

        app.on_cleanup.append(stop)
    return start


def _log_to(log_file: str, name: str) -> None:
    """Child processes log warnings and errors to a file: clients cut off when a measurement ends make the
    servers complain, which would drown the progress lines. The parent sums the file up at the end."""
    import logging

    logging.basicConfig(level=logging.WARNING, filename=log_file,
                        format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")


def upstream_main(conn, parent_pid: int, log_file: str) -> None:
    """Child process: the synthetic upstream portal. Sends its port through conn, then serves until told to stop."""
    from aiohttp import web

    _log_to(log_file, "upstream")

    bodies = make_bodies()
    types = {r.path: r.content_type for r in RESOURCES}

    async def serve(request: web.Request) -> web.Response:
        body = bodies.get(request.path)
        if body is None:
            return web.Response(status=404, text="not found")
        response = web.Response(body=body)
        response.headers["Content-Type"] = types[request.path]
        response.headers["Cache-Control"] = "max-age=60"
        return response

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/{tail:.*}", serve)
    app.on_startup.append(_exit_with_parent(parent_pid))
    sock = _listening_socket()
    conn.send(sock.getsockname()[1])
    conn.close()
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)


def proxy_main(conn, parent_pid: int, log_file: str, upstream_port: int) -> None:
    """Child process: the proxy, as `a11y-proxy serve --upstream` runs it but with the access log off."""
    from aiohttp import web

    from proxy.app import create_app
    from proxy.settings import Settings, parse_upstream

    _log_to(log_file, "proxy")
    sock = _listening_socket()
    port = sock.getsockname()[1]
    settings = Settings(upstream=parse_upstream(f"http://{HOST}:{upstream_port}"), listen_host=HOST,
                        listen_port=port, access_log=False)
    app = create_app(settings)
    app.on_startup.append(_exit_with_parent(parent_pid))
    conn.send(port)
    conn.close()
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)


class Servers:
    """Starts the upstream and the proxy processes; always stops them again (context manager)."""

    def __init__(self, log_file: str) -> None:
        self.log_file = log_file
        self._ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no event loop or state inherited
        self._processes: list[multiprocessing.process.BaseProcess] = []
        self.upstream_port = 0
        self.proxy_port = 0

    def __enter__(self) -> "Servers":
        try:
            self.upstream_port = self._start("upstream", upstream_main)
            _wait_until_answers(f"http://{HOST}:{self.upstream_port}/health", "upstream")
            self.proxy_port = self._start("proxy", proxy_main, self.upstream_port)
            _wait_until_answers(f"http://{HOST}:{self.proxy_port}/-/health", "proxy")
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _start(self, name: str, target: Callable, *args: Any) -> int:
        receive, send = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(target=target, args=(send, os.getpid(), self.log_file, *args), name=f"bench-{name}",
                                    daemon=True)
        process.start()
        self._processes.append(process)
        send.close()  # only the child holds the sending end now, so its death shows as EOF here
        try:
            if not receive.poll(STARTUP_TIMEOUT):
                raise StartupError(f"the {name} process did not report its port within {STARTUP_TIMEOUT:.0f} s")
            return int(receive.recv())
        except EOFError:
            raise StartupError(f"the {name} process exited before listening (exit code {process.exitcode})") from None
        finally:
            receive.close()

    def stop(self) -> None:
        for process in reversed(self._processes):  # proxy first, then its upstream
            if process.is_alive():
                process.terminate()  # SIGTERM: aiohttp shuts down gracefully
        for process in reversed(self._processes):
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)
        self._processes.clear()


class StartupError(RuntimeError):
    pass


def _no_env_proxy_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore http_proxy: loopback only


def _wait_until_answers(url: str, name: str) -> None:
    opener = _no_env_proxy_opener()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last_error = exc
        time.sleep(0.1)
    raise StartupError(f"the {name} did not answer {url} within {STARTUP_TIMEOUT:.0f} s ({last_error})")


# --- sanity check -----------------------------------------------------------------------------------------

def sanity_check(direct_base: str, proxy_base: str) -> list[str]:
    """Fetch each resource both ways; return the problems found (none: the comparison is meaningful)."""
    opener = _no_env_proxy_opener()
    problems = []
    for resource in RESOURCES:
        bodies = {}
        for label, base in (("direct", direct_base), ("proxy", proxy_base)):
            try:
                with opener.open(base + resource.path, timeout=REQUEST_TIMEOUT) as response:
                    bodies[label] = response.read()
                    if response.status != 200:
                        problems.append(f"{resource.name} {label}: HTTP {response.status}")
            except urllib.error.HTTPError as exc:
                problems.append(f"{resource.name} {label}: HTTP {exc.code}")
            except (urllib.error.URLError, OSError) as exc:
                problems.append(f"{resource.name} {label}: {exc}")
        if len(bodies) == 2:
            direct, proxied = bodies["direct"], bodies["proxy"]
            if resource.content_type.startswith("text/html"):
                print(f"  {resource.name}: {len(direct):,} bytes direct, {len(proxied):,} bytes after rewriting")
            elif hashlib.sha256(direct).digest() != hashlib.sha256(proxied).digest():
                problems.append(f"{resource.name}: the proxy changed the bytes ({len(direct):,} -> {len(proxied):,})")
            else:
                print(f"  {resource.name}: {len(direct):,} bytes, identical through the proxy")
    return problems


# --- load generators --------------------------------------------------------------------------------------

@dataclass
class Measurement:
    requests: int  # completed with a 200
    errors: int  # failed, timed out or not 200
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float


# wrk calls done() once at the end; latency percentiles are in microseconds, the duration too.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %d %.3f %.3f %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


class WrkLoad:
    name = "wrk"

    def __init__(self, connections: int, threads: int, headers: dict[str, str]) -> None:
        self.connections = connections
        self.threads = max(1, min(threads, connections))
        self.headers = headers
        self._script = tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-", delete=False)
        self._script.write(WRK_SCRIPT)
        self._script.close()

    def close(self) -> None:
        Path(self._script.name).unlink(missing_ok=True)

    def run(self, url: str, seconds: float) -> Measurement:
        whole_seconds = max(1, math.ceil(seconds))  # wrk only takes whole seconds
        command = [WRK, "-t", str(self.threads), "-c", str(self.connections), "-d", f"{whole_seconds}s",
                   "--latency", "--timeout", f"{REQUEST_TIMEOUT:.0f}s", "-s", self._script.name]
        for key, value in self.headers.items():
            command += ["-H", f"{key}: {value}"]
        command.append(url)
        # subprocess.run kills wrk if anything (Ctrl-C included) interrupts the wait.
        done = subprocess.run(command, capture_output=True, text=True, timeout=whole_seconds + REQUEST_TIMEOUT + 10)
        for line in done.stdout.splitlines():
            if line.startswith("BENCH_RESULT "):
                requests, duration_us, p50_us, p99_us, bad_status, socket_errors = map(float, line.split()[1:])
                seconds_run = duration_us / 1e6
                ok = max(0, int(requests - bad_status))  # wrk counts non-2xx/3xx answers as completed requests
                return Measurement(requests=ok, errors=int(bad_status + socket_errors), seconds=seconds_run,
                                   rps=ok / seconds_run if seconds_run else 0.0,
                                   p50_ms=float(p50_us) / 1000, p99_ms=float(p99_us) / 1000)
        raise RuntimeError(f"wrk gave no result (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


class BuiltinLoad:
    """N aiohttp client workers in this process, each looping request after request on its own connection
    until the time is up (or BUILTIN_MAX_REQUESTS have been made)."""

    name = "built-in aiohttp client"

    def __init__(self, connections: int, headers: dict[str, str]) -> None:
        self.connections = connections
        self.headers = headers

    def close(self) -> None:
        pass

    def run(self, url: str, seconds: float, next_url: Callable[[], str] | None = None) -> Measurement:
        """next_url, when given, names the URL of each request instead of `url` (bench/throughput.py: a new
        query string per request)."""
        return asyncio.run(asyncio.wait_for(self._run(url, seconds, next_url), seconds + REQUEST_TIMEOUT + 10))

    async def _run(self, url: str, seconds: float, next_url: Callable[[], str] | None = None) -> Measurement:
        import aiohttp

        latencies: list[float] = []
        errors = 0
        connector = aiohttp.TCPConnector(limit=self.connections)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                         headers=self.headers, skip_auto_headers=("Accept-Encoding", "User-Agent"),
                                         trust_env=False) as session:
            start = time.perf_counter()
            deadline = start + seconds

            async def worker() -> None:
                nonlocal errors
                while time.perf_counter() < deadline and len(latencies) + errors < BUILTIN_MAX_REQUESTS:
                    began = time.perf_counter()
                    try:
                        async with session.get(next_url() if next_url is not None else url) as response:
                            async for _chunk in response.content.iter_chunked(256 * KiB):
                                pass  # read the whole body, as a client would, without keeping it
                            ok = response.status == 200
                    except (aiohttp.ClientError, asyncio.TimeoutError):
                        ok = False
                    if ok:
                        latencies.append(time.perf_counter() - began)
                    else:
                        errors += 1

            await asyncio.gather(*(worker() for _ in range(self.connections)))
            elapsed = time.perf_counter() - start
        latencies.sort()
        return Measurement(requests=len(latencies), errors=errors, seconds=elapsed,
                           rps=len(latencies) / elapsed if elapsed else 0.0,
                           p50_ms=_percentile(latencies, 50) * 1000, p99_ms=_percentile(latencies, 99) * 1000)


def _percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


# --- the run ----------------------------------------------------------------------------------------------

def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Accept-Encoding": "gzip"} if args.gzip else {}
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and os.access(WRK, os.X_OK))
    load = WrkLoad(args.connections, args.threads, headers) if use_wrk else BuiltinLoad(args.connections, headers)
    results = []
    log_fd, log_file = tempfile.mkstemp(prefix="bench-passthrough-", suffix=".log")
    os.close(log_fd)
    try:
        with Servers(log_file) as servers:
            direct_base = f"http://{HOST}:{servers.upstream_port}"
            proxy_base = f"http://{HOST}:{servers.proxy_port}"
            print(f"upstream {direct_base}  proxy {proxy_base}  load: {load.name}, {args.connections} connections, "
                  f"{args.warmup:g} s warm-up + {args.duration:g} s each, {os.cpu_count()} CPUs")
            problems = sanity_check(direct_base, proxy_base)
            if problems:
                raise StartupError("sanity check failed:\n  " + "\n  ".join(problems))
            for resource in RESOURCES:
                row: dict[str, Any] = {"resource": resource.name, "path": resource.path}
                for label, base in (("direct", direct_base), ("proxy", proxy_base)):
                    url = base + resource.path
                    if args.warmup > 0:
                        load.run(url, args.warmup)
                    measured = load.run(url, args.duration)
                    row[label] = dataclasses.asdict(measured)
                    print(f"  {resource.name:<10} {label:<6} {measured.rps:9.1f} req/s  p50 {measured.p50_ms:8.2f} ms"
                          f"  p99 {measured.p99_ms:8.2f} ms  ({measured.requests} ok, {measured.errors} errors)",
                          flush=True)
                direct, proxied = row["direct"], row["proxy"]
                row["ratios"] = {"rps": _ratio(proxied["rps"], direct["rps"]),
                                 "p50": _ratio(proxied["p50_ms"], direct["p50_ms"]),
                                 "p99": _ratio(proxied["p99_ms"], direct["p99_ms"])}
                results.append(row)
    finally:
        load.close()
        kept_log = summarize_server_log(log_file)
    return {"generator": load.name, "connections": args.connections, "duration_s": args.duration,
            "warmup_s": args.warmup, "accept_encoding": headers.get("Accept-Encoding"), "cpus": os.cpu_count(),
            "python": sys.version.split()[0], "server_log": kept_log, "results": results}


def summarize_server_log(log_file: str) -> str | None:
    """Print how much the servers logged; delete an empty log, keep (and return the path of) one with lines."""
    path = Path(log_file)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []
    counts: dict[str, int] = {}
    for line in lines:
        parts = line.split()
        if len(parts) >= 4 and parts[3] in ("WARNING", "ERROR", "CRITICAL"):  # date time process LEVEL ...
            counts[f"{parts[2]} {parts[3].lower()}"] = counts.get(f"{parts[2]} {parts[3].lower()}", 0) + 1
    if not lines:
        path.unlink(missing_ok=True)
        return None
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or f"{len(lines)} line(s)"
    print(f"servers logged {summary} (clients cut off at the end of each measurement cause some): {path}",
          file=sys.stderr)
    return str(path)


def print_table(report: dict[str, Any]) -> None:
    def ms(m: dict) -> str:
        return f"{m['p50_ms']:.2f} / {m['p99_ms']:.2f}"

    header = (f"{'resource':<10} {'direct req/s':>12} {'proxy req/s':>12} {'ratio':>6}  "
              f"{'direct p50/p99 ms':>19} {'proxy p50/p99 ms':>19} {'p50 x':>6} {'p99 x':>6}")
    print()
    print(header)
    print("-" * len(header))
    for row in report["results"]:
        d, p, r = row["direct"], row["proxy"], row["ratios"]
        print(f"{row['resource']:<10} {d['rps']:>12.1f} {p['rps']:>12.1f} {r['rps']:>6.2f}  "
              f"{ms(d):>19} {ms(p):>19} {r['p50']:>6.2f} {r['p99']:>6.2f}")
    errors = sum(row[side]["errors"] for row in report["results"] for side in ("direct", "proxy"))
    if errors:
        print(f"note: {errors} request(s) failed or were not 200; see the lines above")
    print("ratio = proxy req/s / direct req/s (1.00 = no throughput lost); p50 x, p99 x = proxy latency / direct "
          "latency (1.00 = none added)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per resource and side (5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up before each measurement (1)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (8)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 s per measurement, short warm-up")
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    parser.add_argument("--generator", choices=("auto", "wrk", "builtin"), default="auto",
                        help="load generator: wrk if installed (auto), or force one")
    parser.add_argument("--threads", type=int, default=1,
                        help="wrk threads (1: leaves the second core to the servers)")
    parser.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip (the proxy then compresses "
                        "the rewritten HTML; the upstream never compresses)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 1.0, 0.5
    if args.duration <= 0 or args.warmup < 0 or args.connections < 1 or args.threads < 1:
        parser.error("--duration must be > 0, --warmup >= 0, --connections and --threads >= 1")
    if args.generator == "wrk" and not os.access(WRK, os.X_OK):
        parser.error(f"{WRK} not found (Debian: apt-get install wrk)")
    return args


def _nan_to_none(value: Any) -> Any:
    """NaN (no successful request) is not JSON: write null instead."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def _raise_keyboard_interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt  # SIGTERM: unwind through the finally blocks that stop the servers


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        report = run_benchmark(args)
    except StartupError as exc:
        print(f"passthrough: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("passthrough: interrupted; servers stopped", file=sys.stderr)
        return 130
    print_table(report)
    if args.json:
        Path(args.json).write_text(json.dumps(_nan_to_none(report), indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
