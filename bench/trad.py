"""Traditional-script benchmark: the HTML-aware conversion against the raw OpenCC call on the same text.

    python3 bench/trad.py [--size 500] [--repeat 20] [--config s2t] [--json OUT]

The page: real portal pages from ../shared/corpus/pages joined into one ~500 KB page (their bodies one
after another), or, without the corpus, a generated portal-like page of the same size (the output says
which).  Figures, all from this one run:

* raw OpenCC   - one OpenCC call on all the page's convertible text (the floor: conversion itself):
  every run of text and readable attribute value that has non-ASCII characters, one string; made after the
  renders of the previous round, as the pipeline makes it after the other transforms.  Beside it the same call
  at once again: about half, because OpenCC's dictionary (hash-table tries, read at every Han character)
  is then in the CPU caches, from which the transforms before the markup step evict it (no page
  faults; evicting the caches by writing 64 MB costs the warm call as much).  That gap, not our code, is most of
  what separates the markup step in the pipeline from the same step timed alone and warm
* trad         - the trad transform: its tree step (markers, lang, notice) plus its markup step on the
  serialized page (find runs, one batched call, map back), timed inside the whole pipeline (as in
  production) and alone on a freshly parsed page.  Serializing is not counted: every page is
  serialized once whatever its modes.  Ratio trad/raw: the goal is at most 2x
* render plain - parse + plain-mode transforms + serialize (what every page costs anyway)
* render trad  - the same with trad on; ratio against plain, and pages per second
* reference    - the trad transform in the pipeline again, with the pure-Python markup step (what runs where
  the C accelerator was not built); ratio against raw, and the accelerator's speed-up over it
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
from proxy.pipeline import Page, Pipeline, build_pipeline, default_transforms  # noqa: E402
from proxy.settings import Settings  # noqa: E402
from proxy.transforms import trad_markup  # noqa: E402
from proxy.transforms.trad import TraditionalScript, prepare_tree  # noqa: E402
from proxy.transforms.trad_markup import runs_of_text  # noqa: E402

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


class Stopwatch:
    elapsed = 0.0


class TimedTraditionalScript(TraditionalScript):
    """The trad transform, adding the time of both its steps to .watch.elapsed (a separate object: the pipeline
    seals its transforms against per-page attributes)."""

    def __init__(self):
        self.watch = Stopwatch()

    def apply(self, doc, page) -> None:
        started = time.perf_counter()
        super().apply(doc, page)
        self.watch.elapsed += time.perf_counter() - started

    def apply_markup(self, markup: str, page) -> str:
        started = time.perf_counter()
        out = super().apply_markup(markup, page)
        self.watch.elapsed += time.perf_counter() - started
        return out


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


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
    prepare_tree(doc.root, set())
    texts = runs_of_text(document.serialize(doc))
    plain_text = "\n".join(texts)

    modes = {"s2t": "trad-t", "s2tw": "trad-tw", "s2twp": "trad-twp", "s2hk": "trad-hk"}[args.config]
    trad_page = Page(url=URL("http://www.example.gov.cn/a.html"), modes=parse_modes(modes), settings=settings)
    plain_page = Page(url=URL("http://www.example.gov.cn/a.html"), modes=parse_modes(""), settings=settings)
    plain_pipeline = build_pipeline(settings)
    timed_trad = TimedTraditionalScript()
    trad_pipeline = Pipeline([timed_trad if isinstance(t, TraditionalScript) else t
                              for t in default_transforms(settings)])

    # Everything alternates within one loop: this machine's speed drifts, and a ratio of two medians
    # taken minutes apart would measure the drift.  The trad transform is timed where it runs in
    # production, inside the whole pipeline, and also alone on a freshly parsed page, where its tree
    # queries meet a page no transform has touched yet (slower: the tree is not yet in the CPU caches).
    raw_samples, pipeline_samples, alone_samples, plain_samples, trad_render_samples = [], [], [], [], []
    warm_samples = []
    reference_samples = []
    accelerator = trad_markup.ACCELERATOR
    for _ in range(args.repeat):
        raw_samples.append(timed(lambda: converter.convert(plain_text)))
        warm_samples.append(timed(lambda: converter.convert(plain_text)))  # at once again: OpenCC's tables cached
        timed_trad.watch.elapsed = 0.0
        trad_render_samples.append(timed(lambda: trad_pipeline.render(html, trad_page)))
        pipeline_samples.append(timed_trad.watch.elapsed)
        plain_samples.append(timed(lambda: plain_pipeline.render(html, plain_page)))
        fresh = document.parse(html)
        timed_trad.watch.elapsed = 0.0
        timed_trad.apply(fresh, trad_page)
        timed_trad.apply_markup(document.serialize(fresh), trad_page)
        alone_samples.append(timed_trad.watch.elapsed)
        if accelerator is not None:
            trad_markup.ACCELERATOR = None
            timed_trad.watch.elapsed = 0.0
            trad_pipeline.render(html, trad_page)
            reference_samples.append(timed_trad.watch.elapsed)
            trad_markup.ACCELERATOR = accelerator
    raw = statistics.median(raw_samples)
    trad_in_pipeline, trad_alone = statistics.median(pipeline_samples), statistics.median(alone_samples)
    render_plain, render_trad = statistics.median(plain_samples), statistics.median(trad_render_samples)

    figures = {
        "page_bytes": len(html.encode()), "page_source": source, "text_chars": len(plain_text),
        "runs_and_values": len(texts), "config": args.config, "raw_opencc_ms": raw * 1000,
        "raw_opencc_warm_ms": statistics.median(warm_samples) * 1000,
        "trad_in_pipeline_ms": trad_in_pipeline * 1000, "trad_in_pipeline_vs_raw": trad_in_pipeline / raw,
        "trad_alone_ms": trad_alone * 1000, "trad_alone_vs_raw": trad_alone / raw,
        "render_plain_ms": render_plain * 1000, "render_trad_ms": render_trad * 1000,
        "trad_vs_plain_render": render_trad / render_plain, "trad_pages_per_s": 1 / render_trad,
        "markup_step": "compiled accelerator" if accelerator is not None else "pure-Python reference (no accelerator)",
    }
    if reference_samples:
        reference = statistics.median(reference_samples)
        figures.update(reference_in_pipeline_ms=reference * 1000, reference_in_pipeline_vs_raw=reference / raw,
                       accelerator_speedup=reference / trad_in_pipeline)
    print(f"page: {figures['page_bytes'] / 1024:.0f} KB ({source}), {len(plain_text)} characters of text "
          f"in {len(texts)} runs and attribute values, config {args.config}, median of {args.repeat}")
    print(f"  markup step: {figures['markup_step']}")
    print(f"  raw OpenCC call on the text          {figures['raw_opencc_ms']:8.2f} ms   "
          f"at once again: {figures['raw_opencc_warm_ms']:.2f} ms (its tables in the CPU caches)")
    print(f"  trad transform, in the pipeline      {figures['trad_in_pipeline_ms']:8.2f} ms   "
          f"ratio to raw OpenCC: {figures['trad_in_pipeline_vs_raw']:.2f}x (goal <= 2x)")
    print(f"  trad transform, alone on a new parse {figures['trad_alone_ms']:8.2f} ms   "
          f"ratio to raw OpenCC: {figures['trad_alone_vs_raw']:.2f}x")
    print(f"  render, plain mode                   {figures['render_plain_ms']:8.2f} ms")
    print(f"  render, trad mode                    {figures['render_trad_ms']:8.2f} ms   "
          f"ratio to plain: {figures['trad_vs_plain_render']:.2f}x   {figures['trad_pages_per_s']:.1f} pages/s")
    if reference_samples:
        print(f"  trad, pure-Python reference, pipeline {figures['reference_in_pipeline_ms']:7.2f} ms   "
              f"ratio to raw OpenCC: {figures['reference_in_pipeline_vs_raw']:.2f}x   "
              f"accelerator speed-up: {figures['accelerator_speedup']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
