"""Progressive enhancements (issue: elder mode): voice reading and the reading guide, in real Chromium.
Without JavaScript they do not exist, and nothing else depends on them."""
from __future__ import annotations

import pytest
from aiohttp import web

pytestmark = pytest.mark.browser

ARTICLE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>通知</title></head><body>
<div class="header"><a href="/">首页</a></div>
<div class="article"><h1>关于开展敬老月活动的通知</h1>
<p>各社区：为弘扬尊老敬老传统美德，现将有关事项通知如下。活动时间为十月全月。</p>
<p>请各单位认真组织，确保活动取得实效。</p></div>
<div class="footer">版权所有 示范市人民政府</div></body></html>"""

# Record what would be spoken instead of speaking (headless Chromium has no voices).
RECORD_SPEECH = """
window.__spoken = [];
window.speechSynthesis.speak = function (u) {
  window.__spoken.push({text: u.text, lang: u.lang});
  setTimeout(function () { if (u.onend) u.onend(); }, 0);
};
window.speechSynthesis.cancel = function () {};
"""


def portal() -> web.Application:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=ARTICLE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/a.html", page)
    return app


@pytest.fixture(scope="module")
def site(servers):
    return servers.proxy(servers.serve(portal()))


@pytest.mark.parametrize("modes, lang, label", [("elder", "zh-CN", "朗读全文"), ("trad-hk+elder", "zh-HK", "朗讀全文"),
                                                ("trad-tw+reader", "zh-TW", "朗讀全文")])
def test_voice_reading_reads_the_main_content_in_the_pages_voice(site, chromium, modes, lang, label):
    context = chromium.new_context()
    context.add_init_script(RECORD_SPEECH)
    page = context.new_page()
    try:
        page.goto(f"{site}/-/{modes}/a.html")
        button = page.get_by_role("button", name=label)
        assert button.get_attribute("aria-pressed") == "false"
        button.click()
        page.wait_for_function("window.__spoken.length > 0")
        spoken = page.evaluate("window.__spoken")
        text = "".join(item["text"] for item in spoken)
        assert all(item["lang"] == lang for item in spoken)
        assert "敬老" in text and "版權所有" not in text and "版权所有" not in text  # main content only
        assert "工具" not in text  # not the toolbar
    finally:
        context.close()


def test_focus_reading_and_reading_guide(site, chromium):
    context = chromium.new_context()
    context.add_init_script(RECORD_SPEECH)
    page = context.new_page()
    try:
        page.goto(f"{site}/-/elder/a.html")
        page.get_by_role("button", name="朗读焦点").click()
        assert page.get_by_role("button", name="朗读焦点").get_attribute("aria-pressed") == "true"
        page.focus("#a11y-proxy-toolbar a")
        page.wait_for_function("window.__spoken.length > 0")
        page.get_by_role("button", name="阅读辅助线").click()
        page.mouse.move(300, 500)
        box = page.locator(".a11y-proxy-guide").bounding_box()
        assert box["width"] >= 1200 and box["y"] < 500 < box["y"] + box["height"]
        assert page.locator(".a11y-proxy-guide").evaluate("e => getComputedStyle(e).pointerEvents") == "none"
        page.reload()  # the choice lasts for the session
        assert page.locator(".a11y-proxy-guide").count() == 1
    finally:
        context.close()


def test_without_javascript_no_enhancement_buttons(site, chromium):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{site}/-/elder/a.html")
        assert page.get_by_role("button", name="朗读全文").count() == 0
        assert page.locator("#a11y-proxy-toolbar a").count() > 3  # the toolbar itself works
    finally:
        context.close()
