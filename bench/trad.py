"""Traditional-script benchmark: the HTML-aware conversion against the raw OpenCC call on the same text.

    python3 bench/trad.py [--size 500] [--repeat 20] [--config s2t] [--json OUT]

The page: real portal pages from ../shared/corpus/pages joined into one ~500 KB page (their bodies one
after another), or, without the corpus, a generated portal-like page of the same size (the output says
which).  Figures, all from this one run:

* raw OpenCC   - one OpenCC call on all the page's convertible text (the floor: conversion itself)
* trad apply   - the trad transform on a parsed tree: collect runs, one batched call, map back
  ratio trad/raw: the goal is at most 2x
* render plain - parse + plain-mode transforms + serialize (what every page costs anyway)
* render trad  - the same with trad on; ratio against plain, and pages per second
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from yarl import URL  # noqa: E402

from proxy import document  # noqa: E402
from proxy.convert import get_converter  # noqa: E402
from proxy.modes import parse as parse_modes  # noqa: E402
from proxy.pipeline import Page, build_pipeline  # noqa: E402
from proxy.settings import Settings  # noqa: E402
from proxy.transforms.trad import (TraditionalScript, collect_attributes, collect_runs,  # noqa: E402
                                   skipped_elements)

CORPUS = ROOT.parent / "shared" / "corpus" / "pages"


def corpus_page(size: int) -> tuple[str, str]:
    pages = sorted(CORPUS.glob("*.html")) if CORPUS.is_dir() else []
    if not pages:
        return generated_page(size), "generated (no ../shared/corpus)"
    bodies = []
    total = 0
    while total < size:
        for path in pages:
            text = path.read_text(encoding="utf-8")
            match = re.search(r"<body[^>]*>(.*?)(</body>|$)", text, re.S | re.I)
            body = match.group(1) if match else text
            bodies.append(body)
            total += len(body.encode())
            if total >= size:
                break
    head = '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>合并页面</title></head><body>'
    return head + "\n".join(bodies) + "</body></html>", f"{len(bodies)} corpus page bodies"


def generated_page(size: int) -> str:
    row = ('<tr><td><a href="/xxgk/{i}.html">关于做好{i}年度<b>心理</b>发展和理发行业管理工作的通知</a></td>'
           '<td><span>2026-11-{d:02d}</span></td></tr><p>皇后的头发很干燥，面条放在锅里面，系统只有一个出口。</p>')
    parts, i = [], 0
    while sum(map(len, parts)) * 3 < size:
        parts.append(row.format(i=i, d=i % 28 + 1))
        i += 1
    return f"<html><head><title>列表</title></head><body><table>{''.join(parts)}</table></body></html>"


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=500, help="page size in KB (default 500)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--config", default="s2t", choices=("s2t", "s2tw", "s2twp", "s2hk"))
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)

    html, source = corpus_page(args.size * 1024)
    settings = Settings()
    converter = get_converter(args.config)
    doc = document.parse(html)
    skipped = skipped_elements(doc.root, set())
    runs = collect_runs(doc.root, skipped)
    texts = ["".join(s.value for s in run) for run in runs] + [s.value for s in collect_attributes(doc.root, skipped)]
    plain_text = "\n".join(texts)

    modes = {"s2t": "trad-t", "s2tw": "trad-tw", "s2twp": "trad-twp", "s2hk": "trad-hk"}[args.config]
    trad_page = Page(url=URL("http://www.example.gov.cn/a.html"), modes=parse_modes(modes), settings=settings)
    plain_page = Page(url=URL("http://www.example.gov.cn/a.html"), modes=parse_modes(""), settings=settings)
    pipeline = build_pipeline(settings)
    transform = TraditionalScript()

    raw = timed(lambda: converter.convert(plain_text), args.repeat)

    def apply_only() -> None:
        fresh = document.parse(html)
        started = time.perf_counter()
        transform.apply(fresh, trad_page)
        apply_only.elapsed.append(time.perf_counter() - started)

    apply_only.elapsed = []
    for _ in range(args.repeat):
        apply_only()
    trad_apply = statistics.median(apply_only.elapsed)
    render_plain = timed(lambda: pipeline.render(html, plain_page), args.repeat)
    render_trad = timed(lambda: pipeline.render(html, trad_page), args.repeat)

    figures = {
        "page_bytes": len(html.encode()), "page_source": source, "text_chars": len(plain_text), "runs": len(runs),
        "config": args.config, "raw_opencc_ms": raw * 1000, "trad_apply_ms": trad_apply * 1000,
        "trad_vs_raw": trad_apply / raw, "render_plain_ms": render_plain * 1000, "render_trad_ms": render_trad * 1000,
        "trad_vs_plain_render": render_trad / render_plain, "trad_pages_per_s": 1 / render_trad,
    }
    print(f"page: {figures['page_bytes'] / 1024:.0f} KB ({source}), {len(plain_text)} characters of text "
          f"in {len(runs)} runs, config {args.config}, median of {args.repeat}")
    print(f"  raw OpenCC call on the text   {figures['raw_opencc_ms']:8.2f} ms")
    print(f"  trad transform (tree)         {figures['trad_apply_ms']:8.2f} ms   "
          f"ratio to raw OpenCC: {figures['trad_vs_raw']:.2f}x (goal <= 2x)")
    print(f"  render, plain mode            {figures['render_plain_ms']:8.2f} ms")
    print(f"  render, trad mode             {figures['render_trad_ms']:8.2f} ms   "
          f"ratio to plain: {figures['trad_vs_plain_render']:.2f}x   {figures['trad_pages_per_s']:.1f} pages/s")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
