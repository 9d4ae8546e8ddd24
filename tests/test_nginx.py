"""Behind a real nginx HTTP cache, configured as README.md advises: one cached copy per mode set, never a page
in one script served to a reader of the other, and WebSockets through the cache as well."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp import web
from yarl import URL

from tests.test_websocket import CLOSED_BY_READER, chat_upstream
from tests.harness import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PAGE = "<!DOCTYPE html><html lang='zh-CN'><head><title>通知</title></head><body><main><p>头发与面条的发展</p></main></body></html>"

CONFIG = """
user root;
worker_processes 1;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy-temp; fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  proxy_cache_path {tmp}/cache levels=1:2 keys_zone=pages:1m max_size=20m inactive=10m use_temp_path=off;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass {proxy};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_cache pages;
      proxy_cache_key $scheme$host$request_uri$cookie_a11y_modes;
      add_header X-Cache-Status $upstream_cache_status always;
    }}
  }}
}}
"""


async def start_nginx(tmp: Path, proxy_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    (tmp / "nginx.conf").write_text(CONFIG.format(tmp=tmp, port=port, proxy=proxy_url), encoding="utf-8")
    process = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):  # bounded: 5 s
        if process.poll() is not None:
            raise RuntimeError(f"nginx did not start: {process.stderr.read().decode(errors='replace')}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            await asyncio.sleep(0.05)
    process.kill()
    raise RuntimeError("nginx did not listen within 5 s")


@pytest.fixture
async def cached(serve, proxy, tmp_path):
    """nginx (cache) -> a11y-proxy -> a portal that counts how often its page is fetched."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (tests/run.sh installs it)")
    fetched = []

    async def news(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return web.Response(text=PAGE, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "public, max-age=300"})

    app = chat_upstream()
    app[CLOSED_BY_READER] = asyncio.get_running_loop().create_future()
    app.router.add_get("/news.html", news)
    proxied = await proxy(await serve(app))
    process, front = await start_nginx(tmp_path, proxied)
    yield front, fetched
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


async def get(http, url: str, **headers) -> tuple[str, str]:
    async with http.get(url, headers={"Accept": "*/*", **headers}, allow_redirects=False) as response:
        assert response.status == 200, (url, response.status)
        return await response.text(), response.headers.get("X-Cache-Status")


async def test_prefixed_pages_are_cached_once_per_mode_set(cached, http):
    front, fetched = cached
    plain, first = await get(http, front + "/news.html")
    trad, second = await get(http, front + "/-/trad/news.html")
    trad_again, third = await get(http, front + "/-/trad/news.html")
    plain_again, fourth = await get(http, front + "/news.html")
    assert (first, second, third, fourth) == ("MISS", "MISS", "HIT", "HIT")
    assert "头发与面条的发展" in plain and plain_again == plain
    assert "頭髮與麪條的發展" in trad and trad_again == trad
    assert fetched == ["/news.html", "/news.html"]  # the portal saw one request per representation


async def test_unprefixed_pages_follow_the_mode_cookie_through_the_cache(cached, http):
    front, fetched = cached
    async with http.get(front + "/-/set/trad?next=/news.html", allow_redirects=False) as response:
        assert response.status in (302, 303) and response.headers.get("X-Cache-Status") in (None, "BYPASS", "MISS")
    cookie = http.cookie_jar.filter_cookies(URL(front))["a11y_modes"].value
    trad, first = await get(http, front + "/news.html")  # sends the cookie: a fetch, so no redirect
    trad_again, second = await get(http, front + "/news.html")
    http.cookie_jar.clear()
    plain, third = await get(http, front + "/news.html")  # another reader, no cookie: never the cached trad copy
    plain_again, fourth = await get(http, front + "/news.html")
    assert cookie == "trad" and (first, second, third, fourth) == ("MISS", "HIT", "MISS", "HIT")
    assert "頭髮與麪條的發展" in trad and trad_again == trad
    assert "头发与面条的发展" in plain and plain_again == plain
    assert len(fetched) == 2


async def test_websockets_pass_through_the_cache(cached, http):
    front, _fetched = cached
    async with http.ws_connect(front.replace("http", "ws") + "/-/elder/chat") as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["path"] == "/chat"
        await ws.send_str("你好")
        assert (await ws.receive(timeout=5)).data == "echo:你好"
