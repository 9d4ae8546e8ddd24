"""The bundled demo portal (proxy/demo): pages, encodings, search, login and the odd upstream habits."""
from __future__ import annotations

import gzip
import re
from urllib.parse import urlsplit

import aiohttp
import pytest

from proxy.demo.portal import create_portal_app, start_portal

# Redundant under the project's asyncio_mode = "auto"; keeps the file runnable in strict mode too.
pytestmark = pytest.mark.asyncio

HTML_UTF8 = "text/html; charset=utf-8"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("path", "content_type"), [
    ("/", HTML_UTF8),
    ("/index.html", HTML_UTF8),
    ("/xxgk/list.html", HTML_UTF8),
    ("/xxgk/list_2.html", HTML_UTF8),
    ("/xxgk/2026/art_1001.html", HTML_UTF8),
    ("/xxgk/2026/art_1002.html", HTML_UTF8),
    ("/search?q=%E9%9D%A2%E6%9D%A1", HTML_UTF8),
    ("/gb/notice.html", "text/html; charset=gb2312"),
    ("/gz/news.html", HTML_UTF8),
    ("/files/guide.pdf", "application/pdf"),
    ("/images/logo.png", "image/png"),
    ("/images/banner.png", "image/png"),
    ("/images/spacer.gif", "image/gif"),
    ("/css/main.css", "text/css; charset=utf-8"),
    ("/login", HTML_UTF8),
    ("/api/news.json", "application/json; charset=utf-8"),
])
async def test_pages_answer_with_their_content_type(aiohttp_client, path, content_type):
    client = await aiohttp_client(create_portal_app())
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == content_type
    assert await resp.read()


async def test_home_page_has_the_legacy_portal_markup(aiohttp_client):
    client = await aiohttp_client(create_portal_app())
    html = await (await client.get("/")).text()
    for needle in ('onclick="zh_tran(\'t\')">繁体版</a>', 'id="wza" onclick="aria.start()">无障碍浏览</a>',
                   'onclick="aria.oldFixedStart()">长者版</a>', '<div class="header">', '<div class="nav">',
                   '<a href="/">首页</a>', '<form action="/search" method="get"><input name="q">',
                   "<marquee", 'style="font-size:12px"', '<link href="/css/main.css"',
                   "版权所有", "主办单位", "ICP备", "网站标识码", 'href="https://www.gov.cn/"',
                   'href="http://www.shifan.gov.cn/'):
        assert needle in html, needle
    assert "role=" not in html and "<main" not in html  # landmarks are the proxy's job
    assert re.search(r"<img(?![^>]*\balt=)[^>]*>", html)  # images without alt


async def test_article_has_the_phrases_the_conversion_cares_about(aiohttp_client):
    client = await aiohttp_client(create_portal_app())
    html = await (await client.get("/xxgk/2026/art_1001.html")).text()
    for needle in ("头发", "皇后", "面条", "心理发展", "锡山区", "信息公开", '<a href="#">心理</a>发展',
                   "<th>", "发布时间", "来源", 'href="/files/guide.pdf"', 'src="/images/spacer.gif"',
                   "上一篇", "下一篇"):
        assert needle in html, needle
    assert re.search(r'<img[^>]*\balt="[^"]+"', html)


async def test_gb_page_is_served_in_gb18030(aiohttp_client):
    client = await aiohttp_client(create_portal_app())
    resp = await client.get("/gb/notice.html")
    body = await resp.read()
    text = body.decode("gb18030")
    assert "通知公告" in text and "镕" in text
    assert 'charset=gb2312"' in text
    assert body.decode("gbk") == text  # nothing outside GBK, so a GBK decoder copes too
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


async def test_gzip_page_is_always_compressed(aiohttp_client):
    client = await aiohttp_client(create_portal_app(), auto_decompress=False)
    resp = await client.get("/gz/news.html", headers={"Accept-Encoding": "identity"})
    assert resp.status == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Content-Type"] == HTML_UTF8
    body = await resp.read()
    assert body[:2] == b"\x1f\x8b"
    html = gzip.decompress(body).decode("utf-8")
    assert html.lstrip().startswith("<!DOCTYPE html") and "冬季安全生产" in html


async def test_binary_assets(aiohttp_client):
    client = await aiohttp_client(create_portal_app())
    pdf = await (await client.get("/files/guide.pdf")).read()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    for path in ("/images/logo.png", "/images/banner.png"):
        assert (await (await client.get(path)).read()).startswith(PNG_SIGNATURE), path
    gif = await (await client.get("/images/spacer.gif")).read()
    assert gif.startswith(b"GIF89a") and len(gif) == 43


async def test_static_files_revalidate_with_etag_and_last_modified(aiohttp_client):
    client = await aiohttp_client(create_portal_app())
    resp = await client.get("/css/main.css")
    etag, last_modified = resp.headers["ETag"], resp.headers["Last-Modified"]
    assert "font-size: 12px" in await resp.text()
    again = await client.get("/css/main.css", headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag
    since = await client.get("/css/main.css", headers={"If-Modified-Since": last_modified})
    assert since.status == 304
    changed = await client.get("/css/main.css", headers={"If-None-Match": '"something-else"'})
    assert changed.status == 200


async def test_search_by_get_and_post(aiohttp_client):
    client = await aiohttp_client(create_portal_app())
    by_get = await (await client.get("/search", params={"q": "面条"})).text()
    by_post = await (await client.post("/search", data={"q": "面条"})).text()
    for html in (by_get, by_post):
        assert "共找到 1 条结果" in html
        assert 'href="/xxgk/2026/art_1001.html"' in html
    several = await (await client.get("/search", params={"q": "示范市"})).text()
    assert int(re.search(r"共找到 (\d+) 条结果", several).group(1)) > 5


async def test_search_finds_the_gb_and_gzip_pages_too(aiohttp_client):
    client = await aiohttp_client(create_portal_app())
    html = await (await client.get("/search", params={"q": "镕"})).text()
    assert 'href="/gb/notice.html"' in html
    html = await (await client.get("/search", params={"q": "冬季 安全生产"})).text()
    assert 'href="/gz/news.html"' in html


async def test_search_nonsense_and_escaping(aiohttp_client):
    client = await aiohttp_client(create_portal_app())
    html = await (await client.get("/search", params={"q": "zzqx不存在的词"})).text()
    assert "共找到 0 条结果" in html
    html = await (await client.get("/search", params={"q": '<script>alert("x")</script>'})).text()
    assert "&lt;script&gt;" in html and '<script>alert("x")' not in html


async def test_login_flow(aiohttp_client):
    client = await aiohttp_client(create_portal_app())
    form = await (await client.get("/login")).text()
    assert 'name="username"' in form and 'name="password"' in form

    not_yet = await client.get("/my", allow_redirects=False)
    assert not_yet.status == 302 and not_yet.headers["Location"] == "/login"

    wrong = await client.post("/login", data={"username": "张三", "password": "nope"}, allow_redirects=False)
    assert wrong.status == 200 and "SID" not in wrong.cookies

    resp = await client.post("/login", data={"username": "张三", "password": "demo"}, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/my"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("SID=") and "HttpOnly" in cookie and "Path=/" in cookie

    my = await client.get("/my")
    assert my.status == 200
    html = await my.text()
    assert "欢迎" in html and "张三" in html

    await client.get("/logout", allow_redirects=False)
    assert (await client.get("/my", allow_redirects=False)).status == 302


async def test_news_json(aiohttp_client):
    client = await aiohttp_client(create_portal_app())
    items = await (await client.get("/api/news.json")).json()
    assert {"title": "示范市开展“敬老月”系列便民服务活动", "url": "/xxgk/2026/art_1001.html",
            "date": "2026-11-20"} in items
    assert all(set(item) == {"title", "url", "date"} for item in items)
    assert [item["date"] for item in items] == sorted((item["date"] for item in items), reverse=True)


async def test_unknown_path_is_an_html_404(aiohttp_client):
    client = await aiohttp_client(create_portal_app())
    for path in ("/no/such/page.html", "/_templates/page.html", "/_data/articles.json"):
        resp = await client.get(path)
        assert resp.status == 404, path
        assert resp.headers["Content-Type"] == HTML_UTF8
        assert "页面不存在" in await resp.text()


async def test_every_link_on_the_site_resolves(aiohttp_client):
    """Crawl from the home page: no on-site link or resource may 404 (the demo should feel whole)."""
    client = await aiohttp_client(create_portal_app())
    seen: set[str] = set()
    queue = ["/"]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        resp = await client.get(path)
        assert resp.status == 200, path
        if not resp.headers["Content-Type"].startswith("text/html"):
            continue
        html = (await resp.read()).decode("gb18030" if "gb2312" in resp.headers["Content-Type"] else "utf-8")
        for url in re.findall(r'(?:href|src|action)="([^"]*)"', html):
            parts = urlsplit(url)
            if parts.scheme in ("javascript", "mailto") or url.startswith("#") or not url:
                continue
            if parts.netloc and parts.netloc != "www.shifan.gov.cn":
                continue  # the one third-party link
            if parts.path.startswith("/"):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert {"/xxgk/2026/art_1011.html", "/gb/notice.html", "/files/guide.pdf", "/login"} <= seen


async def test_start_portal_binds_a_free_loopback_port():
    runner, port = await start_portal()
    try:
        assert port > 0
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/") as resp:
                assert resp.status == 200
                assert "示范市人民政府" in await resp.text()
    finally:
        await runner.cleanup()
