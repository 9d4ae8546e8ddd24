"""Links to the upstream kept on the proxy: an absolute link's query is sent as the relative one's is, in the
page's charset (as a browser sends it from the page the portal wrote), on strings and through the proxy."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from aiohttp import web
from yarl import URL

from proxy.modes import parse as parse_modes
from proxy.pipeline import Page, build_pipeline
from proxy.settings import Settings
from proxy.urls import UpstreamLinks

SETTINGS = Settings()
UPSTREAM = "http://127.0.0.1:8000"  # (Settings' default upstream)
GBK_FAZHAN = "%B7%A2%D5%B9"  # 发展 in GBK
BIG5_FAZHAN = "%B5o%AEi"  # 發展 in Big5: its second bytes are the letters o and i


def hrefs(html: str, charset: str, modes: str = "") -> list[str]:
    page = Page(url=URL(UPSTREAM + "/a.html"), modes=parse_modes(modes), settings=SETTINGS, source_charset=charset,
                prefix=f"/-/{modes}" if modes else "")
    out = build_pipeline(SETTINGS).render(html, page)
    return re.findall(r'<a class="t" href="([^"]*)"', out)


@pytest.mark.parametrize("charset, word, encoded", [("gbk", "发展", GBK_FAZHAN), ("gb18030", "发展", GBK_FAZHAN),
                                                    ("big5hkscs", "發展", BIG5_FAZHAN)])
def test_absolute_upstream_link_query_in_the_pages_charset(charset, word, encoded):
    # (A fragment is sent in UTF-8 whatever the page's charset, as the serializer writes it.)
    html = (f'<html><body><a class="t" href="{UPSTREAM}/s.jsp?q={word}&amp;p=1">a</a>'
            f'<a class="t" href="/s.jsp?q={word}&amp;p=1">b</a>'
            f'<a class="t" href="//127.0.0.1:8000/s.jsp?q={word}">c</a>'
            f'<a class="t" href="{UPSTREAM}?q={word}#{word}">d</a></body></html>')
    assert hrefs(html, charset) == [f"/s.jsp?q={encoded}&amp;p=1"] * 2 + [f"/s.jsp?q={encoded}",
                                                                         f"/?q={encoded}#{quote(word)}"]
    assert hrefs(html, charset, "trad")[:2] == [f"/-/trad/s.jsp?q={encoded}&amp;p=1"] * 2


def test_absolute_upstream_link_query_kept_as_written():
    """Escapes stay as written, malformed ones included (a browser leaves '%zz' as it is); what is no URL character
    is encoded as a browser does, and the path is still made safe."""
    html = (f'<html><body><a class="t" href="{UPSTREAM}/s?x=%zz&amp;y=%e5%8f&amp;z=%7E&amp;w=a+b">a</a>'
            f'<a class="t" href="{UPSTREAM}/a b/../c?q=x y&quot;#top">b</a>'
            f'<a class="t" href="{UPSTREAM}//evil.example/?q=1">c</a>'
            f'<a class="t" href="{UPSTREAM}/p?q=发展">d</a></body></html>')
    assert hrefs(html, "utf-8") == ["/s?x=%zz&amp;y=%e5%8f&amp;z=%7E&amp;w=a+b", "/c?q=x%20y%22#top",
                                    "/.//evil.example/?q=1", "/p?q=%E5%8F%91%E5%B1%95"]


def test_query_in_a_css_url_stays_one_token():
    links = UpstreamLinks({"127.0.0.1:8000"}, "")
    assert links.rewrite(f"{UPSTREAM}/i.png?v=1 2)\\'\"\t", False) == "/i.png?v=1%202)%5C'%22"
    assert links.rewrite(f"{UPSTREAM}/i.png", False) == "/i.png" and links.rewrite("/i.png", False) is None


def legacy_portal(charset: str, word: str) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        text = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}"></head><body>'
                f'<p>{word}</p><a id="abs" href="http://{request.host}/s.jsp?q={word}">a</a>'
                f'<a id="rel" href="/s.jsp?q={word}">b</a></body></html>')
        return web.Response(body=text.encode(charset), headers={"Content-Type": "text/html"})

    app = web.Application()
    app.router.add_get("/", page)
    return app


@pytest.mark.parametrize("charset, word, encoded", [("gbk", "发展", GBK_FAZHAN), ("big5", "發展", BIG5_FAZHAN)])
async def test_legacy_page_links_through_the_proxy(serve, proxy, http, charset, word, encoded):
    proxied = await proxy(await serve(legacy_portal(charset, word)))
    async with http.get(proxied + "/") as response:
        html = (await response.read()).decode("utf-8")
    assert word in html
    assert re.findall(r'<a id="\w+" href="([^"]*)"', html) == [f"/s.jsp?q={encoded}"] * 2


@pytest.mark.parametrize("configured", ["http://portal.gov.cn", "http://portal.gov.cn:80"])
def test_the_upstream_is_found_in_links_and_styles_whichever_way_its_port_is_written(configured):
    import dataclasses

    from proxy.settings import parse_upstream

    settings = dataclasses.replace(SETTINGS, upstream=parse_upstream(configured))
    html = ('<html><head><style>.b{background:url(http://portal.gov.cn/b.png)}</style></head><body>'
            '<a class="t" href="http://portal.gov.cn/x.html">a</a><a class="t" href="http://portal.gov.cn:80/y.html">b</a>'
            '<div style="background:url(http://portal.gov.cn:80/c.png)">c</div>'
            '<div style="background:url(http://portal.gov.cn/d.png)">d</div></body></html>')
    page = Page(url=URL(configured + "/a.html"), modes=parse_modes("trad"), settings=settings, prefix="/-/trad")
    out = build_pipeline(settings).render(html, page)
    assert re.findall(r'<a class="t" href="([^"]*)"', out) == ["/-/trad/x.html", "/-/trad/y.html"]
    assert "url(/b.png)" in out and "url(/c.png)" in out and "url(/d.png)" in out and "portal.gov.cn" not in out


@pytest.mark.parametrize("charset", ["utf-16-le", "utf-16-be", "utf-8"])
def test_a_utf16_page_submits_in_utf8_as_browsers_do(charset):
    """HTML: forms and link queries of a UTF-16 page are sent in UTF-8, so nothing is re-encoded for it (the
    legacy-charset repairs are for GBK and Big5 pages) and its forms get no accept-charset."""
    html = (f'<html><body><a class="t" href="{UPSTREAM}/s.jsp?q=发展">a</a><a class="t" href="/s.jsp?q=发展">b</a>'
            '<form action="/s.jsp"><input name="q"></form></body></html>')
    page = Page(url=URL(UPSTREAM + "/a.html"), modes=parse_modes(""), settings=SETTINGS, source_charset=charset)
    out = build_pipeline(SETTINGS).render(html, page)
    assert re.findall(r'<a class="t" href="([^"]*)"', out) == [f"/s.jsp?q={quote('发展')}"] * 2  # (UTF-8)
    assert "accept-charset" not in out
    gbk = build_pipeline(SETTINGS).render(html, Page(url=URL(UPSTREAM + "/a.html"), modes=parse_modes(""),
                                                     settings=SETTINGS, source_charset="gb18030"))
    assert 'accept-charset="gbk"' in gbk and f"q={GBK_FAZHAN}" in gbk
