"""The demo portal app: an offline stand-in for a Chinese government portal (示范市人民政府).

The pages under ``site/`` are plain UTF-8 files in the markup style of today's portals (layout tables,
pixel font sizes, images without alt, no landmarks), so the proxy has real work to do.  A few paths are
served in the awkward ways real upstreams use, on purpose:

* ``/gb/...``  stored UTF-8, served re-encoded as GB18030 with ``charset=gb2312`` (old CMS pages);
* ``/gz/...``  always gzip-compressed, whatever the client's Accept-Encoding says;
* absolute links to ``http://www.shifan.gov.cn/`` (the portal's own name, an alias for the proxy).

``/bmfw/`` (便民服务) is the modern case: most of what it shows is written by its scripts (a ``document.write``
source line and QR image, a header script's ``title``/``alt``, a column rendered from ``/data/services.json``,
a JSON API the rules do not list, an HTML fragment, the rule-listed ``/api/news.json``, ``document.title`` set
from data, a line written later), which the proxy's trad-live.js converts in Traditional mode.

Binary assets (PNG, GIF, PDF) are generated here with the standard library, so the package only ships
text files.  Paths with a segment starting with ``_`` (templates, data) are never served.
"""
from __future__ import annotations

import asyncio
import codecs
import gzip
import hashlib
import json
import re
import secrets
import struct
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from string import Template

from aiohttp import web

SITE_DIR = Path(__file__).with_name("site")
SITE_HOST = "www.shifan.gov.cn"
DEMO_PASSWORD = "demo"  # any user name works with this password

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".png": "image/png",
    ".gif": "image/gif",
    ".pdf": "application/pdf",
}

# Hanweb-style CMS markers around an article's body; the search index reads the text between them.
_CONTENT_BEGIN = "<$[信息内容]>begin"
_CONTENT_END = "<$[信息内容]>end"


# --------------------------------------------------------------------------------------------------
# Generated binary assets


def _png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    """An 8-bit RGB PNG, each row with filter type 0 (none)."""
    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


@cache
def logo_png() -> bytes:
    """240x60: red ground, a gold emblem disc, white bars where the site name would be."""
    red, gold, white = (179, 0, 0), (240, 200, 60), (255, 255, 255)

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if (x - 30) ** 2 + (y - 30) ** 2 <= 22 ** 2:
            return gold
        if 66 <= x <= 226 and (14 <= y <= 30 or (38 <= y <= 46 and x <= 190)):
            return white
        return red

    return _png(240, 60, pixel)


@cache
def banner_png() -> bytes:
    """600x120: a red-to-orange gradient with a pale sun, the usual portal banner look."""

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if (x - 520) ** 2 + (y - 40) ** 2 <= 26 ** 2:
            return (255, 236, 170)
        t = x / 599  # horizontal only: identical rows compress to almost nothing
        return (int(192 + 48 * t), int(120 * t), int(32 * t))

    return _png(600, 120, pixel)


# The classic 43-byte 1x1 transparent GIF used as a layout spacer.
SPACER_GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


@cache
def guide_pdf() -> bytes:
    """A one-page PDF 1.4 with one line of text and a Chinese /Title, with a correct xref table."""
    text = "Shifan Municipal People's Government - Service Guide for Older Residents (demo)"
    literal = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")  # PDF string escapes
    stream = f"BT /F1 14 Tf 60 780 Td ({literal}) Tj ET".encode("ascii")
    title = (codecs.BOM_UTF16_BE + "示范市老年人便民服务办事指南".encode("utf-16-be")).hex().upper()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Title <%s> /Producer (a11y-proxy demo portal) >>" % title.encode("ascii"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n" % (len(objects) + 1, xref_at)
    return bytes(out + b"%%EOF\n")


# --------------------------------------------------------------------------------------------------
# The site: static resources, rendered pages and the search index


@dataclass(frozen=True)
class Resource:
    """One servable file, already in its on-the-wire form."""

    body: bytes
    content_type: str
    last_modified: float  # POSIX timestamp
    content_encoding: str | None = None

    @property
    def etag(self) -> str:
        return hashlib.sha1(self.body).hexdigest()[:20]


@dataclass(frozen=True)
class Doc:
    """A searchable content page."""

    url: str
    title: str
    date: str  # YYYY-MM-DD
    text: str


@dataclass
class Site:
    resources: dict[str, Resource]
    docs: list[Doc]  # newest first
    sessions: dict[str, str]  # SID -> user name; in memory, gone on restart like many small CMSes


_SITE: web.AppKey[Site] = web.AppKey("demo_site", Site)


class _PageScan(HTMLParser):
    """Collects <meta name=... content=...> and the text between the CMS content markers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.parts: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            values = dict(attrs)
            name, content = values.get("name"), values.get("content")
            if name and content is not None:
                self.meta[name] = content

    def handle_comment(self, data: str) -> None:
        if data.strip() == _CONTENT_BEGIN:
            self._inside = True
        elif data.strip() == _CONTENT_END:
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.parts.append(data)


def _doc_from_html(url: str, html: str) -> Doc | None:
    """A Doc for a content page (one with an ArticleTitle meta), None for home and list pages."""
    scan = _PageScan()
    scan.feed(html)
    scan.close()
    title = scan.meta.get("ArticleTitle")
    if not title:
        return None
    return Doc(url, title, scan.meta.get("PubDate", "")[:10], " ".join("".join(scan.parts).split()))


def _template() -> Template:
    return Template((SITE_DIR / "_templates" / "page.html").read_text(encoding="utf-8"))


def render_page(title: str, column: str, content: str, meta: str = "") -> str:
    """A page in the portal's common layout; `content` and `meta` are HTML, the rest plain text."""
    return _template().substitute(title=escape(title), column=escape(column), meta=meta, content=content)


def _article_pages() -> dict[str, str]:
    """The channel's other articles, published from _data/articles.json the way a CMS would."""
    articles = json.loads((SITE_DIR / "_data" / "articles.json").read_text(encoding="utf-8"))
    by_id = {item["id"]: item for item in articles}
    pages: dict[str, str] = {}
    for item in articles:
        number = item["id"]
        prev_id, next_id = number - 1, number + 1
        prev_title = by_id[prev_id]["title"] if prev_id in by_id else "示范市开展“敬老月”系列便民服务活动"
        prev_link = f'<a href="/xxgk/2026/art_{prev_id}.html">{escape(prev_title)}</a>'
        next_link = (f'<a href="/xxgk/2026/art_{next_id}.html">{escape(by_id[next_id]["title"])}</a>'
                     if next_id in by_id else "没有了")
        title, date, source = item["title"], item["date"], item["source"]
        paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in item["paragraphs"])
        meta = (f'<meta name="ArticleTitle" content="{escape(title)}" />\n'
                f'<meta name="PubDate" content="{escape(date)}" />\n'
                f'<meta name="ContentSource" content="{escape(source)}" />\n')
        content = f"""<div class="article">
<h1>{escape(title)}</h1>
<div class="info">发布时间：{escape(date)}&nbsp;&nbsp;&nbsp;&nbsp;来源：{escape(source)}</div>
<img src="/images/spacer.gif" width="1" height="15" />
<div class="content" id="zoom">
<!--{_CONTENT_BEGIN}-->
{paragraphs}
<!--{_CONTENT_END}-->
</div>
<div class="pn">上一篇：{prev_link}<br />下一篇：{next_link}</div>
</div>"""
        pages[f"/xxgk/2026/art_{number}.html"] = render_page(title, "信息公开", content, meta)
    return pages


def _html_resource(url: str, html: str, mtime: float) -> Resource:
    """Encode a page the way its folder says: GB18030 under /gb/, gzip under /gz/, else UTF-8."""
    if url.startswith("/gb/"):
        # Old CMSes declare gb2312 but emit GBK/GB18030 bytes (e.g. 镕 is not in GB2312 proper).
        return Resource(html.encode("gb18030"), "text/html; charset=gb2312", mtime)
    if url.startswith("/gz/"):
        # mtime=0 keeps the compressed bytes, and so the ETag, stable across restarts.
        return Resource(gzip.compress(html.encode("utf-8"), mtime=0), _CONTENT_TYPES[".html"], mtime, "gzip")
    return Resource(html.encode("utf-8"), _CONTENT_TYPES[".html"], mtime)


def load_site() -> Site:
    resources: dict[str, Resource] = {}
    pages: dict[str, str] = {}
    for path in sorted(SITE_DIR.rglob("*")):
        rel = path.relative_to(SITE_DIR).as_posix()
        if not path.is_file() or any(part.startswith(("_", ".")) for part in rel.split("/")):
            continue
        url, mtime = "/" + rel, path.stat().st_mtime
        if path.suffix == ".html":
            pages[url] = path.read_text(encoding="utf-8")
            resources[url] = _html_resource(url, pages[url], mtime)
        else:
            content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
            resources[url] = Resource(path.read_bytes(), content_type, mtime)

    data_mtime = max(p.stat().st_mtime for p in (SITE_DIR / "_data").iterdir())
    template_mtime = (SITE_DIR / "_templates" / "page.html").stat().st_mtime
    for url, html in _article_pages().items():
        pages[url] = html
        resources[url] = _html_resource(url, html, max(data_mtime, template_mtime))

    generated_mtime = Path(__file__).stat().st_mtime
    resources["/images/logo.png"] = Resource(logo_png(), "image/png", generated_mtime)
    resources["/images/banner.png"] = Resource(banner_png(), "image/png", generated_mtime)
    resources["/images/spacer.gif"] = Resource(SPACER_GIF, "image/gif", generated_mtime)
    resources["/files/guide.pdf"] = Resource(guide_pdf(), "application/pdf", generated_mtime)

    docs = [doc for url, html in pages.items() if (doc := _doc_from_html(url, html)) is not None]
    docs.sort(key=lambda d: (d.date, d.url), reverse=True)
    return Site(resources, docs, {})


def search(docs: list[Doc], query: str) -> list[Doc]:
    """Docs containing every whitespace-separated term; title matches first, then newest first."""
    terms = [t.lower() for t in query.split()]
    if not terms:
        return []
    found = [d for d in docs if all(t in f"{d.title}\n{d.text}".lower() for t in terms)]
    # Stable sort on title hits keeps the newest-first order among equals.
    return sorted(found, key=lambda d: sum(t in d.title.lower() for t in terms), reverse=True)


def _highlight(text: str, terms: list[str]) -> str:
    """Escape `text` and mark the terms in red, the way portal search pages do."""
    out = escape(text)
    for term in terms:
        out = re.sub(re.escape(escape(term)), lambda m: f'<font color="red">{m.group(0)}</font>', out,
                     flags=re.IGNORECASE)
    return out


def _snippet(text: str, terms: list[str], width: int = 90) -> str:
    lowered = text.lower()
    first = min((i for t in terms if (i := lowered.find(t.lower())) >= 0), default=0)
    start = max(0, first - 20)
    piece = text[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


# --------------------------------------------------------------------------------------------------
# Handlers


def _html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8", headers=headers)


def _is_fresh(request: web.Request, resource: Resource) -> bool:
    """True when the client's cached copy is current (If-None-Match wins over If-Modified-Since)."""
    if_none_match = request.if_none_match
    if if_none_match is not None:
        return any(tag.value in ("*", resource.etag) for tag in if_none_match)
    since = request.if_modified_since
    return since is not None and int(resource.last_modified) <= since.timestamp()


async def _static(request: web.Request) -> web.Response:
    url = "/" + request.match_info["path"]
    if url.endswith("/"):
        url += "index.html"
    resource = request.app[_SITE].resources.get(url)
    if resource is None:
        raise web.HTTPNotFound()
    if _is_fresh(request, resource):
        response = web.Response(status=304)
    else:
        response = web.Response(body=resource.body, headers={"Content-Type": resource.content_type})
        if resource.content_encoding:
            # Set by hand: aiohttp only compresses when asked to, so the body goes out as stored.
            response.headers["Content-Encoding"] = resource.content_encoding
    response.etag = resource.etag
    response.last_modified = resource.last_modified
    return response


async def _query_text(request: web.Request) -> str:
    if request.method == "POST":
        value = (await request.post()).get("q", "")
    else:
        value = request.query.get("q", "")
    return value if isinstance(value, str) else ""  # a file upload named q is not a query


async def _search(request: web.Request) -> web.Response:
    query = (await _query_text(request)).strip()
    terms = query.split()
    results = search(request.app[_SITE].docs, query)
    items = "\n".join(
        f'<li><a href="{escape(d.url)}" target="_blank">{_highlight(d.title, terms)}</a>'
        f"<p>{_highlight(_snippet(d.text, terms), terms)}</p>"
        f"<span>http://{SITE_HOST}{escape(d.url)}&nbsp;&nbsp;{escape(d.date)}</span></li>"
        for d in results)
    if query:
        summary = f'您搜索的“<font color="red">{escape(query)}</font>”共找到 {len(results)} 条结果'
    else:
        summary = "请输入搜索关键词"
    content = f"""<div style="padding:15px 30px">
<form action="/search" method="get"><input name="q" value="{escape(query)}" size="40"> <input type="submit" value="搜索"></form>
<div style="font-size:12px;color:#666;height:30px;line-height:30px">{summary}</div>
<ul class="slist">
{items}
</ul>
</div>"""
    return _html(render_page("站内搜索", "站内搜索", content))


def _login_form(message: str = "") -> str:
    notice = f'<tr><td colspan="2" style="color:red;font-size:12px">{escape(message)}</td></tr>' if message else ""
    content = f"""<div style="padding:30px 0">
<form action="/login" method="post">
<table class="form" align="center" width="360" border="0" cellspacing="0" cellpadding="0">
<tr><td colspan="2" style="font-size:18px;font-weight:bold;color:#c00">网上办事大厅 用户登录</td></tr>
{notice}
<tr><td width="80">用户名：</td><td><input type="text" name="username" style="width:200px;font-size:12px"></td></tr>
<tr><td>密&nbsp;&nbsp;码：</td><td><input type="password" name="password" style="width:200px;font-size:12px"></td></tr>
<tr><td></td><td><input type="submit" value="登 录"> <img src="/images/spacer.gif" width="10" height="1"></td></tr>
<tr><td colspan="2" style="font-size:12px;color:#999">演示账号：任意用户名，密码 {DEMO_PASSWORD}</td></tr>
</table>
</form>
</div>"""
    return render_page("用户登录", "用户登录", content)


async def _login_get(request: web.Request) -> web.Response:
    return _html(_login_form())


async def _login_post(request: web.Request) -> web.Response:
    form = await request.post()
    username, password = form.get("username", ""), form.get("password", "")
    if not (isinstance(username, str) and isinstance(password, str) and username.strip()
            and password == DEMO_PASSWORD):
        return _html(_login_form("用户名或密码错误，请重新输入。"))
    sid = secrets.token_hex(16)
    request.app[_SITE].sessions[sid] = username.strip()
    response = web.Response(status=302, headers={"Location": "/my", "Cache-Control": "no-store"})
    response.set_cookie("SID", sid, path="/", httponly=True)
    return response


def _current_user(request: web.Request) -> str | None:
    sid = request.cookies.get("SID")
    return request.app[_SITE].sessions.get(sid) if sid else None


async def _my(request: web.Request) -> web.Response:
    user = _current_user(request)
    if user is None:
        raise web.HTTPFound("/login")
    content = f"""<div style="padding:20px 40px">
<p style="font-size:16px">欢迎您，<b>{escape(user)}</b>！<a href="/logout" style="font-size:12px">[退出]</a></p>
<table width="100%" border="1" cellspacing="0" cellpadding="4" style="font-size:12px;margin-top:10px">
<tr><td><b>办件编号</b></td><td><b>事项名称</b></td><td><b>提交时间</b></td><td><b>状态</b></td></tr>
<tr><td>SF20261118001</td><td>高龄老人津贴申领</td><td>2026-11-18</td><td>已办结</td></tr>
<tr><td>SF20261120007</td><td>居住证签注</td><td>2026-11-20</td><td>办理中</td></tr>
</table>
</div>"""
    return _html(render_page("我的空间", "我的空间", content), headers={"Cache-Control": "private, no-store"})


async def _logout(request: web.Request) -> web.Response:
    sid = request.cookies.get("SID")
    if sid:
        request.app[_SITE].sessions.pop(sid, None)
    response = web.Response(status=302, headers={"Location": "/"})
    response.del_cookie("SID", path="/")
    return response


async def _news_json(request: web.Request) -> web.Response:
    items = [{"title": d.title, "url": d.url, "date": d.date} for d in request.app[_SITE].docs]
    return web.json_response(items, dumps=lambda obj: json.dumps(obj, ensure_ascii=False),
                             content_type="application/json")


@web.middleware
async def _not_found_page(request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Unknown paths get the portal's own HTML 404 page rather than aiohttp's plain-text one."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        content = """<div style="padding:60px 0;text-align:center">
<img src="/images/spacer.gif" width="1" height="1">
<p style="font-size:20px;color:#c00">抱歉，您访问的页面不存在或已被删除！</p>
<p style="font-size:12px"><a href="/">返回首页</a>&nbsp;&nbsp;<a href="/search">站内搜索</a></p>
</div>"""
        return _html(render_page("页面不存在", "404", content), status=404)


def create_portal_app() -> web.Application:
    app = web.Application(middlewares=[_not_found_page])
    app[_SITE] = load_site()
    app.router.add_get("/search", _search)
    app.router.add_post("/search", _search)
    app.router.add_get("/login", _login_get)
    app.router.add_post("/login", _login_post)
    app.router.add_get("/my", _my)
    app.router.add_get("/logout", _logout)
    app.router.add_get("/api/news.json", _news_json)
    app.router.add_get("/{path:.*}", _static)  # last: everything else is a file
    return app


async def start_portal(host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Start the portal (on loopback by default) and return its runner and the port it really bound.

    The caller owns the runner and must `await runner.cleanup()`.  Access logging is off so the demo
    command's console shows only the proxy's output.
    """
    runner = web.AppRunner(create_portal_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner, runner.addresses[0][1]  # with port 0 the OS picked it


if __name__ == "__main__":  # python -m proxy.demo.portal: the portal alone, for poking at it
    async def _main() -> None:
        runner, port = await start_portal()
        print(f"demo portal: http://127.0.0.1:{port}/", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(_main())
    except KeyboardInterrupt:
        pass
