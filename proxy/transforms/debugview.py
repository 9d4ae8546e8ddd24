"""The debug view for rule authors: ``/-/debug/<path>`` shows the page as the proxy serves it, with every
landmark and repair outlined and labelled with the rule (``file:line``) or heuristic that produced it.

It is the same pipeline, with two differences: the repair transforms run in their explaining variant
(``RepairTransform.explaining()``), which leaves each repair's provenance on the element
(``data-a11y-proxy-why``), and ``DebugOverlay`` runs last, turning those attributes into outlines, numbered
badges and a legend at the top of the page, followed by the problems the rules ran into (an action
refused and why, a selector that matched nothing).  Pages served normally never carry any of this.
"""
from __future__ import annotations

from html import escape

from lxml import etree

from ..document import Document
from ..modes import Modes
from ..pipeline import Page, Pipeline, Transform, default_transforms, Stateless
from ..settings import Settings
from .aria import KIND, WHY, RepairTransform, describe, iter_elements, tag_of
from .skiplink import add_style

NUMBER = "data-a11y-proxy-n"
PANEL_ID = "a11y-proxy-debug"
STYLE = f"""
[{KIND}=landmark]{{outline:3px solid #c0392b!important;outline-offset:-3px!important}}
[{KIND}=landmark][style*="display:contents"]>*{{outline:3px solid #c0392b!important;outline-offset:-3px!important}}
[{KIND}=repair]{{outline:2px dashed #1f6fd1!important;outline-offset:1px!important}}
[{NUMBER}]::before{{content:"[" attr({NUMBER}) "] " attr({WHY});white-space:pre-line;display:inline-block;
 font:bold 11px/1.3 sans-serif!important;color:#fff!important;background:#c0392b!important;padding:1px 4px!important;
 margin:0 2px 2px 0!important;text-align:left!important;text-indent:0!important;letter-spacing:0!important;
 position:relative;z-index:2147483646;max-width:40em}}
[{KIND}=repair][{NUMBER}]::before{{background:#1f6fd1!important}}
#{PANEL_ID}{{all:initial;display:block;box-sizing:border-box;margin:0;padding:12px 16px;background:#fffbe6;
 border-bottom:3px solid #c0392b;font:14px/1.5 sans-serif;color:#111;max-height:45vh;overflow:auto}}
#{PANEL_ID} h2{{font-size:16px;margin:0 0 6px}}#{PANEL_ID} h3{{font-size:14px;margin:10px 0 4px}}
#{PANEL_ID} ol,#{PANEL_ID} ul{{margin:0;padding-left:2.2em}}#{PANEL_ID} code{{font:12px monospace}}
#{PANEL_ID} .lm{{color:#c0392b;font-weight:bold}}#{PANEL_ID} .rp{{color:#1f6fd1}}#{PANEL_ID} a{{color:#0b0080}}
"""


class DebugOverlay(Stateless):
    """Outlines, badges and a legend for every element a repair touched (debug view only)."""

    name = "debug"

    def enabled(self, modes: Modes) -> bool:
        return True

    def apply(self, doc: Document, page: Page) -> None:
        entries = []
        for el in doc.root.iter():
            if isinstance(el.tag, str) and el.get(WHY):
                entries.append(el)
        items = []
        for n, el in enumerate(entries, 1):
            name = describe(el)
            el.set(NUMBER, str(n))
            anchor = el.get("id")
            if not anchor:
                anchor = f"a11y-proxy-n{n}"
                if tag_of(el) not in ("html", "head", "meta", "title", "style", "link"):
                    el.set("id", anchor)
            kind = el.get(KIND) or "repair"
            lines = [escape(line) for line in el.get(WHY).split("\n")]
            target = f'<a href="#{escape(anchor)}">{n}</a>' if el.get("id") == anchor else str(n)
            items.append(f'<li value="{n}">{target} <code>{escape(name)}</code> '
                         f'<span class="{"lm" if kind == "landmark" else "rp"}">{"<br>".join(lines)}</span></li>')
        notes = [n for n in page.notes if not n.endswith("repair(s)")]
        summary = [n for n in page.notes if n.endswith("repair(s)")]
        sites = "、".join(page.rules.sites) or "（无规则文件）"
        html = (
            f'<section id="{PANEL_ID}" aria-label="a11y-proxy 调试视图" lang="zh-Hans">'
            f"<h2>a11y-proxy 调试视图 · debug view</h2>"
            f"<p>规则文件 rule sets: {escape(sites)}；页面类型 page type: {escape(page.rules.page_type or '—')}；"
            f"{escape('，'.join(summary) or 'no repairs')}。"
            f'<span class="lm">红框 red: landmarks</span>，<span class="rp">蓝虚线 blue dashed: repairs</span>；'
            f"“← upstream” = the page's own.</p>"
            f"<h3>地标与修复 Landmarks and repairs ({len(entries)})</h3><ol>{''.join(items)}</ol>"
            f"<h3>问题与备注 Rule problems and notes ({len(notes)})</h3>"
            f"<ul>{''.join(f'<li>{escape(n)}</li>' for n in notes) or '<li>none</li>'}</ul></section>"
        )
        panel = etree.fromstring(html, etree.HTMLParser(encoding=None)).find(".//section")
        body = doc.root.find("body")
        if body is None:  # a frameset: nothing to draw on
            return
        skip = next((a for a in iter_elements(body, "a") if a.get("class") == "a11y-proxy-skip"), None)
        if skip is not None:
            skip.addnext(panel)  # the skip link stays the first focusable element
            panel.tail, skip.tail = skip.tail, None
        else:
            panel.tail, body.text = body.text, None
            body.insert(0, panel)
        add_style(doc, STYLE, "a11y-proxy-debug-style")


def debug_transforms(settings: Settings) -> list[Transform]:
    """The default transforms with the repairs explaining themselves, and the overlay last (before the
    charset declaration, which must stay the final word)."""
    transforms: list[Transform] = []
    for transform in default_transforms(settings):
        transforms.append(transform.explaining() if isinstance(transform, RepairTransform) else transform)
    at = next((i for i, t in enumerate(transforms) if t.name == "charset"), len(transforms))
    transforms.insert(at, DebugOverlay())
    return transforms


def build_debug_pipeline(settings: Settings) -> Pipeline:
    return Pipeline(debug_transforms(settings))
