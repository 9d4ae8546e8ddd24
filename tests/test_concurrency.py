"""One shared Pipeline, many pages at once: what one reader's page gets never depends on another's.

The proxy renders pages on a thread pool with one Pipeline whose transform objects every thread shares, so a
transform must keep everything it learns about a page in that call (per-request state on the transform object
once put one reader's name into another reader's page).  Eight small pages, each with its own words and the
structures the repairs work hardest on (image links without alt, links without text, two links to one address,
a logo named after the site's title, fields, layout and data tables, menus, a footer), are rendered alone and
then many times over, concurrently and interleaved, on one Pipeline: every output must equal the page alone.
"""
from __future__ import annotations

import random
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from yarl import URL

from proxy.modes import parse as parse_modes
from proxy.pipeline import Page, build_pipeline
from proxy.settings import Settings
from proxy.urls import mode_prefix

SETTINGS = Settings()
PEOPLE = ["张三", "李四", "王五", "赵六", "孙七", "周八", "吴九", "郑十"]
SITES = ["示范市人民政府", "东山县人民政府", "西湖区教育局", "南江市卫生健康委员会", "北岭镇人民政府",
         "中原市公安局", "青山区民政局", "白河县交通运输局"]


def page_html(n: int) -> str:
    """Page n: its own person, site, paths and words everywhere a repair takes a name from."""
    person, site = PEOPLE[n], SITES[n]
    path = f"/p{n}"
    title = f"{person}的个人办件记录_{site}" if n != 5 else ""  # page 5: an empty title, filled from its h1
    extra = ""
    if n % 2:
        extra += (f'<table><tr><td><div>{person}左栏</div></td><td><ul><li><a href="{path}/l1">{person}链接一</a></li>'
                  f'<li><a href="{path}/l2">{person}链接二</a></li></ul></td></tr></table>')
    else:
        extra += (f'<table><tr><th>姓名</th><th>事项</th></tr><tr><td>{person}</td><td>{site}户籍办理</td></tr>'
                  f'<tr><td>{person}之妻</td><td>{site}社保办理</td></tr></table>')
    if n % 3 == 0:
        extra += f'<aside class="side"><h2>{person}相关</h2><a href="{path}/side">{person}侧栏</a></aside>'
    if n % 4 == 1:
        extra += f'<iframe src="http://map.example.cn/{path}/ditu"></iframe>'
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>
<div class="header"><a href="{path}/"><img src="/images/logo{n}.png"></a>
 <form action="{path}/search"><input name="q{n}" type="text"><input type="submit" value=""></form></div>
<div class="nav"><ul><li><a href="{path}/">首页</a></li><li><a href="{path}/zwgk/">{person}政务公开</a></li>
 <li><a href="{path}/bsfw/">{person}办事服务</a></li><li><a href="{path}/hdjl/">{site}互动交流</a></li></ul></div>
<div class="location">当前位置：<a href="{path}/">首页</a> &gt; <a href="{path}/zwgk/">{person}政务公开</a></div>
<div class="article"><h1>{person}的个人办件记录</h1>
 <p>{person}于本月向{site}提交了三项申请，均已办结。办理过程中，工作人员耐心细致，{person}对服务表示满意。</p>
 <p><a href="{path}/doc/{n}.html"><img src="/upload/{person}/photo{n}.jpg" width="400"></a>
  <a href="{path}/doc/{n}.html">{person}的办件详情第{n}号</a></p>
 <p><img src="/upload/{person}/scan{n}.jpg" width="300"> <a href="{path}/empty{n}"></a>
  <a href="{path}/blank{n}" title=""><img src="/upload/{person}/arrow.gif"></a></p>
 <p>姓名：<input name="xm{n}" type="text"> 电话：<input name="dh{n}"> <button></button></p>
 {extra}
</div>
<div class="links">友情链接：<a href="https://www.gov.cn/">中国政府网</a> <a href="http://{n}.example.gov.cn/">{site}</a></div>
<div class="footer"><p>主办单位：{site}办公室 版权所有 网站标识码：33000000{n:02d}</p>
<a href="http://bszs.conac.cn/sitename?id={n}"><img src="/images/red.png"></a></div>
</body></html>"""


PAGES = [page_html(n) for n in range(len(PEOPLE))]


def page_for(n: int, modes: str) -> Page:
    parsed = parse_modes(modes)
    return Page(url=URL(f"http://www.site{n}.gov.cn/p{n}/art_{n}.html"), modes=parsed, settings=SETTINGS,
                prefix=mode_prefix(parsed))


@pytest.fixture
def fast_switching():
    """Switch threads every few microseconds instead of every 5 ms, so that races show within the test's
    time: a page's transforms are interleaved with other pages' at many more points."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


@pytest.mark.parametrize("modes", ["", "trad+elder+contrast", "reader"])
def test_concurrent_pages_equal_each_page_alone(modes, fast_switching):
    pipeline = build_pipeline(SETTINGS)
    alone = [pipeline.render(html, page_for(n, modes)) for n, html in enumerate(PAGES)]
    for n, out in enumerate(alone):  # the pages really do differ where the repairs took names from
        assert PEOPLE[n] in out or modes.startswith("trad")
        for other in range(len(PEOPLE)):
            if other != n:
                assert PEOPLE[other] not in out

    rounds = 1000 if modes == "" else 400  # (trad's conversion is the slow part; ~1,800 renders in all)
    order = [n for _ in range(rounds // len(PAGES) + 1) for n in range(len(PAGES))][:rounds]
    random.Random(1).shuffle(order)

    def render(n: int) -> tuple[int, str | BaseException]:
        try:
            return n, pipeline.render(PAGES[n], page_for(n, modes))
        except Exception as exc:  # a race that raises counts as a failure too (the page would go out raw)
            return n, exc

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(render, order))
    wrong = [(n, out) for n, out in results if out != alone[n]]
    if wrong:
        n, out = wrong[0]
        leaked = [PEOPLE[o] for o in range(len(PEOPLE)) if o != n and isinstance(out, str) and PEOPLE[o] in out]
        pytest.fail(f"{len(wrong)} of {len(results)} concurrent renders differ from the page alone; first: page {n}"
                    + (f", carrying other pages' text: {leaked}" if leaked else "") + f" ({out!r:.300})")
