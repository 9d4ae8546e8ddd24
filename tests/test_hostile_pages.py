"""Pages built to hurt: thousands of landmarks, image links, fields, nested tables, blocks nested thousands
deep.  Every transform must cost time in proportion to the page (or n log n), never the square of it: a
portal page of 8,000 <nav> took 25 s before the landmark repairs were made linear.

No wall-clock goals here (machines differ; bench/repairs.py prints the absolute figures): each page is
rendered at n and at 4n, best of three in CPU time, and the time must grow well under quadratically (< 10x for 4x the
page; linear is ~4x, quadratic 16x).  The output must also be sane: one main landmark, every image named.
"""
from __future__ import annotations

import gc
import time

import pytest
from yarl import URL

from proxy import document
from proxy.modes import parse as parse_modes
from proxy.pipeline import Page, build_pipeline
from proxy.rules import RuleSet, load_site
from proxy.settings import Settings
from proxy.transforms.aria import find_landmarks
from proxy.urls import mode_prefix
from proxy.yamlsource import load_text

SETTINGS = Settings()
PIPELINE = build_pipeline(SETTINGS)
ALL_MODES = "trad+elder+contrast+reader"
GROWTH_LIMIT = 10.0  # for 4x the page: linear is ~4, quadratic ~16 (the quadratic code before measured 13-15x)


def page(items: str, before: str = "", after: str = "") -> str:
    """A portal page: header, an article (so there is a main to find), the generated items, a footer."""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>测试页面_示范市人民政府</title></head><body>'
            f'<div class="header"><a href="/"><img src="/images/logo.png"></a></div>{before}'
            f'<div class="article"><h1>关于做好冬季供暖工作的通知</h1><p>{"各区县人民政府，市政府各部门：为切实做好今年冬季供暖工作，现将有关事项通知如下。" * 6}</p></div>'
            f'{items}{after}<div class="footer"><p>主办单位：示范市人民政府办公室 版权所有 网站标识码：3300000000</p></div>'
            f'</body></html>')


# name -> (page of n items, n): n is the smaller size; the test renders n and 4n.
PAGES = {
    "aside": (lambda n: page("".join(f'<aside><p>侧栏内容第{i}条</p><a href="/a{i}">链接{i}</a></aside>'
                                     for i in range(n))), 1000),
    "nav": (lambda n: page("".join(f'<nav><a href="/n{i}">导航{i}</a> <a href="/m{i}">栏目{i}</a></nav>'
                                   for i in range(n))), 2000),
    "named section": (lambda n: page("".join(f'<section aria-label="分区{i % 50}"><p>分区内容第{i}条。</p></section>'
                                             for i in range(n))), 1000),
    # (From 2,000 on, reader mode takes these regions for the content, as it does at 4n: the same work.)
    "role=region": (lambda n: page("".join(f'<div role="region" aria-label="区域"><p>区域内容{i}</p></div>'
                                           for i in range(n))), 2000),
    "mixed landmarks": (lambda n: page("".join(
        (f'<aside><p>侧栏{i}</p></aside>', f'<nav><a href="/n{i}">导航{i}</a></nav>',
         f'<header><p>页头{i}</p></header>', f'<footer><p>页脚{i}</p></footer>',
         f'<form aria-label="表单"><input name="q{i}"></form>', f'<div role="search"><input name="s{i}"></div>',
         f'<div class="nav"><a href="/x{i}">甲</a><a href="/y{i}">乙</a><a href="/z{i}">丙</a></div>',
         f'<div class="footer{i}"><p>版权所有 第{i}条</p></div>')[i % 8] for i in range(n))), 1000),
    "image links": (lambda n: page("".join(f'<a href="/doc/{i}.html"><img src="/img/p{i}.jpg"></a>'
                                           for i in range(n))), 1500),
    "fields and buttons": (lambda n: page("".join(f'<div><input type="text" name="k{i}"><button></button></div>'
                                                  for i in range(n))), 1000),
    "tables": (lambda n: page("".join(f'<table><tr><td>单元{i}</td><td>值</td></tr><tr><td>甲</td><td>乙</td></tr>'
                                      f'</table>' for i in range(n))), 1000),
    "nested tables": (lambda n: page("<table><tr><td>" * n + "文字" + "</td></tr></table>" * n), 250),
    "nested navs": (lambda n: page("<nav>" * n + '<a href="/x">甲</a><a href="/y">乙</a>' + "</nav>" * n), 400),
    "deep blocks": (lambda n: page("".join(f'<div class="c{i}">第{i}层文字。<a href="/l{i}"><img src="/i{i}.png"></a>'
                                           f'<input name="f{i}"><button></button>' for i in range(n)) + "</div>" * n),
                    400),
    "deep footer": (lambda n: page("".join(f'<div class="w{i}"><p>第{i}层的一些文字内容。</p>' for i in range(n))
                                   + '<p>版权所有 示范市人民政府</p>' + "</div>" * n), 400),
    "text between": (lambda n: page("".join(f'<div><nav><a href="/a{i}">甲</a><a href="/b{i}">乙</a></nav></div>文字{i}'
                                            for i in range(n))), 1000),
    "unwrapped and dropped": (lambda n: page("", after='<div class="content"><p>' + "".join(
        f'<span>片{i}</span><script>var a{i};</script>正文{i}，<em></em>' for i in range(n)) + '</p></div>'), 1000),
}


def render(html: str, modes: str) -> str:
    parsed = parse_modes(modes)
    return PIPELINE.render(html, Page(url=URL("http://www.shifan.gov.cn/xxgk/art_1.html"), modes=parsed,
                                      settings=SETTINGS, prefix=mode_prefix(parsed)))


def best_time(html: str, modes: str) -> float:
    """CPU time of the best of three renders (CPU, not wall-clock: other processes on the machine do not
    count), with the cycle collector paused: its passes cost the whole heap, whatever the page."""
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            started = time.process_time()
            render(html, modes)
            times.append(time.process_time() - started)
    finally:
        gc.enable()
    return min(times)


@pytest.mark.parametrize("modes", ["", ALL_MODES])
@pytest.mark.parametrize("name", list(PAGES))
def test_time_grows_with_the_page_not_its_square(name, modes):
    build, n = PAGES[name]
    small, large = build(n), build(4 * n)
    assert_sane(name, modes, render(large, modes))  # (also the warm-up: imports, compiled patterns, OpenCC)
    growth = best_time(large, modes) / best_time(small, modes)
    assert growth < GROWTH_LIMIT, f"{name} ({modes or 'plain'}): 4x the page took {growth:.1f}x the time"


def assert_sane(name: str, modes: str, out: str) -> None:
    """One main landmark, every image named; a row of image links outside main is one navigation."""
    doc = document.parse(out)
    roles = [role for _, role in find_landmarks(doc.root)]
    assert roles.count("main") == 1, roles.count("main")
    assert all(img.get("alt") is not None for img in doc.root.iter("img"))
    if name == "image links" and not modes:
        assert roles.count("navigation") == 1


def test_text_after_a_wrapped_block_keeps_its_own_region():
    """A list outside every landmark gets its role on a box around it; the text after the list then went
    looking for the list in its old parent and the page failed with ValueError (it went out unrepaired)."""
    html = page("", after='<ul><li>条目一二三</li><li>条目四五六</li></ul>尾巴文字<p>其他</p>')
    doc = document.parse(render(html, ""))
    around_text = [el for el, _ in find_landmarks(doc.root) if "尾巴文字" in "".join(el.itertext())]
    innermost = around_text[-1]  # (document order: the ones around it come first)
    assert "条目" not in "".join(innermost.itertext())


@pytest.mark.parametrize("role", ["navigation", "main", "complementary"])
def test_a_rule_matching_thousands_of_elements_grows_with_the_page(role):
    """A site rule's landmark action on every match: each one looked for all the page's landmarks."""
    site = load_site(load_text(f'site: www.shifan.gov.cn\nrules:\n  - select: "ul.list"\n    role: {role}\n'
                               f'    label: 列表\n', "rules/site.yaml"))
    rules = RuleSet([site]).for_page("www.shifan.gov.cn", "/xxgk/art_1.html")

    def timed(n: int) -> float:
        html = page("".join(f'<ul class="list"><li><a href="/{i}">链接{i}</a></li></ul>' for i in range(n)))
        parsed = parse_modes("")
        started = time.process_time()
        PIPELINE.render(html, Page(url=URL("http://www.shifan.gov.cn/xxgk/art_1.html"), modes=parsed,
                                   settings=SETTINGS, rules=rules))
        return time.process_time() - started

    timed(100)  # warm-up
    growth = min(timed(4000) for _ in range(3)) / min(timed(1000) for _ in range(3))
    assert growth < GROWTH_LIMIT, f"role={role}: 4x the matches took {growth:.1f}x the time"
