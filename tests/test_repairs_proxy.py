"""Screen-reader repairs through the proxy: the demo portal with the bundled rule files, every mode, and the
debug view for rule authors (/-/debug/...)."""
from __future__ import annotations

import re

import pytest
from lxml import etree

from proxy.demo.portal import create_portal_app
from proxy.transforms.aria import find_landmarks
from tests.conftest import ROOT

RULES = ROOT / "rules"


def parse(html: str):
    return etree.fromstring(html.encode("utf-8"), etree.HTMLParser(encoding="utf-8"))


@pytest.fixture
async def portal(serve, proxy):
    upstream = await serve(create_portal_app())
    return await proxy(upstream, rules_dir=RULES, upstream_aliases=("www.shifan.gov.cn",))


async def fetch(http, url: str) -> tuple[int, dict, str]:
    async with http.get(url, headers={"Accept-Encoding": "identity"}) as response:
        return response.status, response.headers, (await response.read()).decode("utf-8")


def landmark_summary(root) -> list[tuple[str, str]]:
    return [(role, el.get("aria-label") or "") for el, role in find_landmarks(root)]


async def test_demo_article_gets_rule_landmarks_and_heuristics(portal, http):
    status, _, html = await fetch(http, f"{portal}/xxgk/2026/art_1001.html")
    assert status == 200
    root = parse(html)
    found = landmark_summary(root)
    assert [r for r, _ in found].count("main") == 1
    assert ("navigation", "主栏目") in found and ("search", "站内搜索") in found  # from shifan.gov.cn.yaml
    assert ("navigation", "当前位置") in found
    assert root.xpath("//div[@class='article']/@role") == ["main"]  # the article page type's rule
    body = root.find("body")
    assert body[0].get("class") == "a11y-proxy-skip" and body[0].text == "跳到主要内容"
    assert root.get("lang") == "zh-Hans"
    assert not root.xpath("//img[not(@alt)]")
    assert "data-a11y-proxy-why" not in html  # provenance is for the debug view only


async def test_demo_home_toggles_go_to_the_proxy(portal, http):
    _, _, html = await fetch(http, f"{portal}/")
    root = parse(html)
    links = {a.text: a.get("href") for a in root.iter("a") if a.text in ("繁体版", "长者版", "无障碍浏览")}
    assert links["繁体版"] == "/-/toggle/trad?next=/"
    assert links["长者版"] == "/-/toggle/elder?next=/"
    assert links["无障碍浏览"] == "#a11y-proxy-toolbar"
    assert not root.xpath("//a[@onclick][contains(@href, '/-/toggle/')]")
    assert not root.xpath("//marquee")  # the rule neutralizes it
    assert [r for r, _ in landmark_summary(root)].count("main") == 1


async def test_repairs_run_in_every_mode_and_trad_converts_the_skip_link(portal, http):
    _, _, html = await fetch(http, f"{portal}/-/trad+elder/xxgk/2026/art_1001.html")
    root = parse(html)
    skip = root.xpath("//a[@class='a11y-proxy-skip']")[0]
    assert skip.text == "跳到主要內容"
    toggles = [a.get("href") for a in root.iter("a") if "/-/toggle/" in (a.get("href") or "")]
    assert "/-/toggle/trad?next=/-/trad%2Belder/xxgk/2026/art_1001.html" in toggles \
        or "/-/toggle/trad?next=/-/trad+elder/xxgk/2026/art_1001.html" in toggles
    assert [r for r, _ in landmark_summary(root)].count("main") == 1


async def test_debug_view_names_rule_and_heuristic_of_each_repair(portal, http):
    status, headers, html = await fetch(http, f"{portal}/-/debug/xxgk/2026/art_1001.html")
    assert status == 200
    assert headers["Cache-Control"] == "no-store" and headers["X-Robots-Tag"] == "noindex"
    root = parse(html)
    panel = root.xpath("//section[@id='a11y-proxy-debug']")[0]
    legend = " ".join(panel.itertext())
    rules_file = str(RULES / "shifan.gov.cn.yaml")
    assert re.search(re.escape(rules_file) + r":\d+", legend), legend[:500]
    assert "landmark main ← " + rules_file in legend  # the article page type's rule
    assert "heuristic skip_link" in legend and "heuristic image_alt" in legend
    # Every outlined element is numbered and named by what produced it.
    outlined = root.xpath("//*[@data-a11y-proxy-why]")
    assert outlined and all(el.get("data-a11y-proxy-n") for el in outlined)
    assert root.xpath("//*[@data-a11y-proxy-kind='landmark']")
    assert root.xpath("//style[@id='a11y-proxy-debug-style']")
    body = root.find("body")
    assert body[0].get("class") == "a11y-proxy-skip"  # still the first focusable element


async def test_debug_view_reports_rules_that_did_not_apply(serve, proxy, http, tmp_path):
    (tmp_path / "site.yaml").write_text(
        "hosts: [127.0.0.1]\nrules:\n  - select: div.nothing\n    role: banner\n"
        "  - select: p\n    label: 段落\n", encoding="utf-8")

    from aiohttp import web

    async def page(request):
        return web.Response(text="<html><body><p>正文内容</p></body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/a.html", page)
    upstream = await serve(app)
    base = await proxy(upstream, rules_dir=tmp_path)
    _, _, html = await fetch(http, f"{base}/-/debug/a.html")
    problems = " ".join(parse(html).xpath("//section[@id='a11y-proxy-debug']//ul")[0].itertext())
    assert "site.yaml:3: 'div.nothing' matched nothing on this page" in problems
    assert "site.yaml:5: p: label refused" in problems
    _, _, plain = await fetch(http, f"{base}/a.html")
    assert "a11y-proxy-debug" not in plain


async def test_debug_view_keeps_redirects_in_the_debug_view(portal, http):
    async with http.get(f"{portal}/-/debug/-/elder+trad/xxgk/list.html", allow_redirects=False) as response:
        assert response.status == 301
        assert response.headers["Location"] == "/-/debug/-/trad+elder/xxgk/list.html"
    async with http.get(f"{portal}/-/debug/images/logo.png") as response:
        assert response.status == 200 and response.headers["Content-Type"] == "image/png"
