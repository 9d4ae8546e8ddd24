"""The proxy's own small pages (errors), accessible on their own: lang, title, one main landmark, a heading.

They are plain Simplified Chinese HTML with an English line; the caller runs them through the same
pipeline as upstream pages, so a reader in Traditional or elder mode gets them in that mode too.
"""
from __future__ import annotations

from html import escape

from . import modes as modes_mod
from .urls import same_origin_path


def _page(title: str, heading: str, paragraphs: list[str], links: list[tuple[str, str]]) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    nav = ""
    if links:
        items = "".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for href, text in links)
        nav = f"<ul>{items}</ul>"
    return f"""<!DOCTYPE html>
<html lang="zh-Hans">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
body {{ font: 20px/1.6 system-ui, "Noto Sans CJK SC", sans-serif; margin: 0; color: #1a1a1a; background: #fff; }}
main {{ max-width: 40em; margin: 2em auto; padding: 0 1em; }}
h1 {{ font-size: 1.6em; }}
a {{ color: #0645ad; }}
a:focus {{ outline: 3px solid #1a1a1a; outline-offset: 2px; }}
code {{ font-size: 0.9em; }}
</style>
</head>
<body>
<main>
<h1>{escape(heading)}</h1>
{body}
{nav}
</main>
</body>
</html>
"""


def upstream_failed(status: int, retry_path: str) -> str:
    if status == 504:
        heading = "网站响应超时"
        lines = ["原网站在规定时间内没有响应，请稍后再试。",
                 '<span lang="en">The website took too long to respond. Please try again later.</span>']
    else:
        heading = "暂时无法连接网站"
        lines = ["原网站暂时无法访问，请稍后再试。",
                 '<span lang="en">The website could not be reached. Please try again later.</span>']
    # The reader's own path: '//evil.example/x' must not become a link to evil.example.
    retry = same_origin_path(retry_path)
    return _page(f"{heading}（{status}）", heading, lines, [(retry, "重新加载本页"), ("/", "返回首页")])


def unknown_modes(bad_token: str) -> str:
    tokens = "、".join(f"<code>{escape(t)}</code>" for t in modes_mod.all_tokens())
    return _page(
        "未知的浏览模式（404）", "未知的浏览模式",
        [f"地址中的模式 <code>{escape(bad_token)}</code> 不存在。",
         f"可用的模式有：{tokens}。多个模式用 <code>+</code> 连接，例如 <code>/-/trad+elder/</code>。",
         f'<span lang="en">Unknown mode <code>{escape(bad_token)}</code>. Valid modes are listed above.</span>'],
        [("/", "返回首页")])


def not_found(path: str) -> str:
    return _page("页面不存在（404）", "页面不存在",
                 [f"本服务没有 <code>{escape(path)}</code> 这个地址。"], [("/", "返回首页")])


def misdirected(host: str) -> str:
    return _page("主机名未配置（421）", "此主机名未配置",
                 [f"本服务不为主机名 <code>{escape(host)}</code> 提供内容。",
                  '<span lang="en">This proxy is not configured for that host name '
                  "(see <code>public_hosts</code> in its config).</span>"], [])


def bad_request(reason: str) -> str:
    return _page("请求无效（400）", "请求无效", [escape(reason)], [("/", "返回首页")])
