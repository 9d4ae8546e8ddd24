"""The multi-replica deployment of deploy/, without containers: Debian's nginx running deploy/nginx/a11y-proxy.conf
(only its addresses, paths and cache lifetime replaced) as load balancer and HTTP cache, in front of two proxy
processes (`python -m proxy serve --workers 1`), in front of the demo portal.

While readers in every mode keep asking, each replica in turn is stopped with SIGTERM and started again: no
reader's request fails (nginx takes a refused connection to the other replica).  Each mode's variant of a page
is cached separately, a mode chosen by cookie never reaches another reader's cached page, and a rules change
reaches readers within the reload interval (pages the cache holds: within its lifetime).  Figures (stop times,
failed requests, cache hit ratio per mode) print with -s."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from proxy.demo.portal import start_portal
from tests.conftest import ROOT
from tests.harness import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SHIPPED = ROOT / "deploy" / "nginx" / "a11y-proxy.conf"
RELOAD_SECONDS = 0.5
CACHE_SECONDS = 4  # the shipped 60 s, shortened so the test sees a cached page renewed

# Every mode, on one page of the demo portal (the home page), by URL.
MODES = {
    "plain": "/",
    "trad": "/-/trad/",
    "elder": "/-/elder/",
    "contrast": "/-/contrast/",
    "reader": "/-/reader/",
    "trad+elder": "/-/trad+elder/",
}
OLD_LABEL, NEW_LABEL = "网站工具栏", "新规则给出的工具栏"
TRAD_HOST = "localhost"  # a public host whose pages are in Traditional (public_hosts: modes: trad)

WRAPPER = """
user root;
worker_processes 1;
error_log {tmp}/nginx-error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy-temp; fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  include {tmp}/a11y-proxy.conf;
}}
"""


def render_shipped_config(tmp: Path, listen_port: int, replica_ports: list[int]) -> str:
    """deploy/nginx/a11y-proxy.conf with exactly these lines replaced (each must be there, once)."""
    text = SHIPPED.read_text(encoding="utf-8")
    replacements = {
        "    server a11y-proxy:8080 max_fails=1 fail_timeout=1s;\n":
            "".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=1s;\n" for port in replica_ports),
        "    listen 80;\n": f"    listen 127.0.0.1:{listen_port};\n",
        "/var/cache/nginx/a11y ": f"{tmp}/cache ",
        "proxy_cache_valid 200 301 60s;": f"proxy_cache_valid 200 301 {CACHE_SECONDS}s;",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"deploy/nginx/a11y-proxy.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


async def wait_listening(port: int, process=None, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.returncode is not None:
            raise AssertionError(f"exited with {process.returncode}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


class Replica:
    def __init__(self, tmp: Path, port: int, upstream: str, config: Path, name: str):
        self.port, self.upstream, self.config, self.name = port, upstream, config, name
        self.log = tmp / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.stop_seconds: list[float] = []

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("A11Y_PROXY_", "PROMETHEUS_"))}
        env.update(A11Y_PROXY_TRUSTED_PROXIES="127.0.0.1/32", A11Y_PROXY_LOG_FORMAT="json", PYTHONUNBUFFERED="1")
        with open(self.log, "ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "proxy", "--log-level", "WARNING", "serve", "--workers", "1",
                "--upstream", self.upstream, "--listen", f"127.0.0.1:{self.port}", "--config", str(self.config),
                cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log)
        await wait_listening(self.port, self.process)

    async def stop(self) -> int:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), 15)
        self.stop_seconds.append(time.monotonic() - started)
        return code


@pytest.fixture
async def deployment(tmp_path):
    if not Path(NGINX).exists():
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: tests/run.sh installs Debian's nginx")
        pytest.skip("nginx is not installed (tests/run.sh installs it)")
    portal_runner, portal_port = await start_portal("127.0.0.1", 0)
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    config = tmp_path / "site.yaml"
    # As deployed: nginx is trusted (its X-Forwarded-* count), and one public host serves Traditional by default.
    config.write_text(f"rules: rules\nrules_reload_seconds: {RELOAD_SECONDS}\nupstream_aliases: [www.shifan.gov.cn]\n"
                      f"trusted_proxies: [127.0.0.1/32]\npublic_hosts: [127.0.0.1, {{host: {TRAD_HOST}, modes: trad}}]\n",
                      encoding="utf-8")
    replicas = [Replica(tmp_path, free_port(), f"http://127.0.0.1:{portal_port}", config, f"replica-{i}")
                for i in (1, 2)]
    await asyncio.gather(*(replica.start() for replica in replicas))
    port = free_port()
    (tmp_path / "a11y-proxy.conf").write_text(render_shipped_config(tmp_path, port, [r.port for r in replicas]),
                                              encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(WRAPPER.format(tmp=tmp_path), encoding="utf-8")
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await wait_listening(port, seconds=5)
        yield f"http://127.0.0.1:{port}", replicas, rules
    finally:
        nginx.terminate()
        try:
            nginx.wait(timeout=5)
        except subprocess.TimeoutExpired:
            nginx.kill()
        for replica in replicas:
            if replica.process is not None and replica.process.returncode is None:
                replica.process.kill()
                await replica.process.wait()
        await portal_runner.cleanup()


def client(**cookies: str) -> aiohttp.ClientSession:
    jar = aiohttp.CookieJar(unsafe=True)
    session = aiohttp.ClientSession(cookie_jar=jar, headers={"Accept": "*/*"})
    if cookies:
        jar.update_cookies(cookies)
    return session


async def fetch(session: aiohttp.ClientSession, url: str) -> tuple[int, str, str]:
    async with session.get(url, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=15)) as response:
        return response.status, await response.text(), response.headers.get("X-Cache-Status", "")


def looks_like(mode: str, page: str) -> bool:
    """What tells the modes' pages apart (the home page of 示范市人民政府)."""
    body = page.split("<body", 1)[-1]
    trad = "示範市人民政府" in body and "示范市人民政府" not in body
    signs = {
        "plain": "示范市人民政府" in body and "a11y-proxy-elder" not in page and "a11y-proxy-contrast" not in page,
        "trad": trad and "a11y-proxy-elder" not in page,
        "elder": "a11y-proxy-elder" in page and not trad,
        "contrast": "a11y-proxy-contrast" in page,
        "reader": "a11y-proxy-reader" in page,
        "trad+elder": trad and "a11y-proxy-elder" in page,
    }
    return signs[mode]


async def test_a_reader_cannot_choose_the_host_a_cached_page_is_made_for(deployment):
    """nginx keys its cache on the Host the reader used; the proxy picks modes by the (trusted) X-Forwarded-Host.
    The shipped config sets that header itself, so a reader who sends one naming the Traditional host gets the
    plain page, and the next plain reader too: not a Traditional page stored under the plain host."""
    front, _, _ = deployment
    port = front.rsplit(":", 1)[1]
    async with client() as reader:
        async with reader.get(front + "/", headers={"X-Forwarded-Host": f"{TRAD_HOST}:{port}"}) as response:
            assert response.status == 200 and looks_like("plain", await response.text())
        status, page, _ = await fetch(reader, front + "/")
        assert status == 200 and looks_like("plain", page)
        # The Traditional host itself still serves Traditional through nginx (else the above proves nothing).
        async with reader.get(f"http://{TRAD_HOST}:{port}/") as response:
            assert response.status == 200 and looks_like("trad", await response.text())


async def test_replicas_behind_nginx(deployment):
    front, replicas, rules = deployment
    started = time.monotonic()
    async with client() as reader:
        # 1. Each mode's variant is its own cache entry: a miss, then hits, and never another mode's page.
        pages = {}
        for mode, path in MODES.items():
            first = await fetch(reader, front + path)
            second = await fetch(reader, front + path)
            assert first[0] == second[0] == 200, (mode, first[0], second[0])
            assert (first[2], second[2]) == ("MISS", "HIT"), (mode, first[2], second[2])
            assert first[1] == second[1] and looks_like(mode, first[1]), mode
            pages[mode] = first[1]
        assert len(set(pages.values())) == len(MODES)

        # 2. A mode chosen by cookie stays that reader's: the plain reader keeps the plain copy, and vice versa.
        async with client() as chooser:
            async with chooser.get(front + "/-/set/trad?next=/", allow_redirects=False) as response:
                assert response.status == 303 and response.headers.get("X-Cache-Status") in (None, "", "BYPASS", "MISS")
            chosen = [await fetch(chooser, front + "/") for _ in range(2)]
        assert [c[2] for c in chosen] == ["MISS", "HIT"] and all(looks_like("trad", c[1]) for c in chosen)
        async with client(a11y_modes="elder") as elder_reader:
            elder = await fetch(elder_reader, front + "/")
        assert looks_like("elder", elder[1])
        plain_again = await fetch(reader, front + "/")
        assert plain_again[2] == "HIT" and plain_again[1] == pages["plain"]
        async with client(a11y_modes="trad", JSESSIONID="abc123") as logged_in:  # maybe personal: never stored
            personal = [await fetch(logged_in, front + "/") for _ in range(2)]
        assert [p[2] for p in personal] == ["BYPASS", "BYPASS"] and looks_like("trad", personal[0][1])

    # 3. Readers in every mode keep asking while each replica in turn is stopped (SIGTERM) and started again.
    outcomes: Counter = Counter()
    cache: dict[str, Counter] = {mode: Counter() for mode in MODES}
    failures: list[str] = []
    done = asyncio.Event()
    serial = iter(range(10 ** 9))

    async def read(index: int) -> None:
        modes = list(MODES)
        async with client() as session:
            n = 0
            while not done.is_set():
                mode = modes[(index + n) % len(modes)]
                cached = n % 2 == 0  # every other request a page the cache holds, else one it cannot
                url = front + MODES[mode] + ("" if cached else f"?r={next(serial)}")
                n += 1
                try:
                    status, page, cache_status = await fetch(session, url)
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    failures.append(f"{url}: {exc!r}")
                    continue
                outcomes[status] += 1
                if status != 200 or not looks_like(mode, page):
                    failures.append(f"{url}: {status}")
                if cached:
                    cache[mode][cache_status] += 1

    readers = [asyncio.create_task(read(i)) for i in range(6)]
    try:
        await asyncio.sleep(1.5)
        for replica in replicas:
            assert await replica.stop() == 0
            await asyncio.sleep(1.0)  # readers carry on with one replica
            await replica.start()
            # A rolling restart waits until the load balancer uses the new replica again before it stops the
            # next one (Kubernetes: minReadySeconds): nginx tries a refused replica again after fail_timeout (1 s).
            await asyncio.sleep(2.5)
    finally:
        done.set()
        await asyncio.gather(*readers)
    total = sum(outcomes.values()) + len([f for f in failures if ": 2" not in f])
    print(f"\nreplica stop times on SIGTERM: {', '.join(f'{r.name} {s:.2f} s' for r in replicas for s in r.stop_seconds)}")
    print(f"requests during the restarts: {sum(outcomes.values())}, failed: {len(failures)}")
    for mode, counts in cache.items():
        asked = sum(counts.values())
        from_cache = counts["HIT"] + counts["STALE"] + counts["UPDATING"]  # STALE/UPDATING: kept while renewed
        print(f"  {mode:>10}: cached URL answered from the cache {from_cache / asked:.2f} of {asked} "
              f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})")
    assert failures == [], failures[:10]
    assert sum(outcomes.values()) >= 100 and total >= 100
    # Under this load a replica drains its in-flight pages before it exits (idle: tests/test_startup.py, < 2 s).
    assert all(s < 10.0 for r in replicas for s in r.stop_seconds)

    # 4. A rules change reaches readers: uncached pages within the reload interval (from both replicas),
    #    cached ones once their cache lifetime is over.
    path = rules / "shifan.gov.cn.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(f"label: {OLD_LABEL}", f"label: {NEW_LABEL}"),
                    encoding="utf-8")
    changed = time.monotonic()
    async with client() as reader:
        fresh_seen = None
        while time.monotonic() - changed < RELOAD_SECONDS + 3:
            # Two fresh URLs in a row: round robin sends them to both replicas.
            pair = [await fetch(reader, front + f"/-/elder/?fresh={next(serial)}") for _ in range(2)]
            if all(f'aria-label="{NEW_LABEL}"' in page for _s, page, _c in pair):
                fresh_seen = time.monotonic() - changed
                break
            await asyncio.sleep(0.1)
        cached_seen = None
        while time.monotonic() - changed < RELOAD_SECONDS + CACHE_SECONDS + 5:
            _status, page, _c = await fetch(reader, front + "/-/elder/")
            if f'aria-label="{NEW_LABEL}"' in page:
                cached_seen = time.monotonic() - changed
                break
            await asyncio.sleep(0.2)
    print(f"rules change reached uncached pages after {fresh_seen:.2f} s (reload interval {RELOAD_SECONDS} s), "
          f"cached pages after {cached_seen:.2f} s (cache lifetime {CACHE_SECONDS} s)")
    assert fresh_seen is not None and fresh_seen <= RELOAD_SECONDS + 1.5
    assert cached_seen is not None and cached_seen <= RELOAD_SECONDS + CACHE_SECONDS + 3
    for replica in replicas:
        log = replica.log.read_text(encoding="utf-8")
        assert "Traceback" not in log, log[-2000:]
    print(f"the whole test: {time.monotonic() - started:.1f} s")
