"""Elder-mode benchmark: what the elder transforms cost against plain pass-through, on the same run.

    python3 bench/elder.py [--repeat 20] [--json OUT]

Pages: ../shared/corpus/pages (each page, and each stylesheet under its NNN-*.files/ folder), or, without
the corpus, a generated portal-like page and stylesheet (the output says which).  Each round times, page by
page and one after another (a noisy neighbour hurts all alike), and the medians are reported:

* pass: document.parse + document.serialize, what any proxied page costs before transforms;
* HTML: render in plain mode (parse + always-on transforms + serialize) and in elder mode; ratio elder/plain,
  summed over all pages;
* the elder transform's own step (ElderMode.apply: <style> blocks, style attributes, <font size>, the calm
  page), timed inside an elder-mode render; its ratio to pass-through, over all pages and on the 100 KB page;
* CSS: the linked-stylesheet rewrite (what a stylesheet fetched under /-/elder/ gets: sizes scaled, URLs kept
  on the proxy) per stylesheet; the ratio that matters is against a page's pass-through.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from yarl import URL  # noqa: E402

from cold import TARGET_PAGE, pass_through, steps  # noqa: E402
from proxy import codec  # noqa: E402
from proxy.modes import parse as parse_modes  # noqa: E402
from proxy.pipeline import Page, build_pipeline  # noqa: E402
from proxy.settings import Settings  # noqa: E402
from proxy.transforms.stylesheets import linked_stylesheet  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "pages"


def inputs() -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
    pages = sorted(CORPUS.glob("*.html")) if CORPUS.is_dir() else []
    if pages:
        html = []
        for path in pages:
            raw = path.read_bytes()
            charset, _ = codec.sniff_charset(raw, None)
            html.append((path.name, codec.decode(raw, charset)))
        css = [(str(c.relative_to(CORPUS)), c.read_bytes().decode("utf-8", "replace"))
               for c in sorted(CORPUS.glob("*.files/**/*.css"))]
        return html, css, f"{len(html)} corpus pages, {len(css)} stylesheets"
    rows = "".join(f'<tr><td style="font-size:12px"><a href="/a/{i}.html">第{i}条通知</a></td></tr>' for i in range(400))
    page = f"<html><head><style>body{{font-size:12px}}</style></head><body><table>{rows}</table></body></html>"
    sheet = "".join(f".c{i}{{font-size:{10 + i % 8}px;height:{20 + i % 5}px;line-height:18px}}\n" for i in range(800))
    return [("generated.html", page)], [("generated.css", sheet)], "generated (no ../shared/corpus)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    html_pages, stylesheets, source = inputs()
    settings = Settings()
    pipeline = build_pipeline(settings)

    def page(name: str, modes: str, path: str = "") -> Page:
        parsed = parse_modes(modes)
        return Page(url=URL(f"http://www.example.gov.cn/{path or name}"), modes=parsed, settings=settings,
                    prefix="/-/elder" if parsed.elder else "")

    def render(html: str, name: str, modes: str) -> float:
        started = time.perf_counter()
        pipeline.render(html, page(name, modes))
        return time.perf_counter() - started

    def rewrite(text: str, name: str) -> float:
        css_page = page(name, "elder", "css/" + name.rsplit("/", 1)[-1])
        started = time.perf_counter()
        linked_stylesheet(text, css_page)
        return time.perf_counter() - started

    samples: dict[str, dict[str, list[float]]] = {name: {"pass": [], "plain": [], "elder": [], "step": []}
                                                   for name, _ in html_pages}
    css_samples: dict[str, list[float]] = {name: [] for name, _ in stylesheets}
    for name, html in html_pages:  # warm-up
        pass_through(html), render(html, name, ""), render(html, name, "elder")
    for _ in range(args.repeat):
        for name, html in html_pages:
            record = samples[name]
            started = time.perf_counter()
            pass_through(html)
            record["pass"].append(time.perf_counter() - started)
            record["plain"].append(render(html, name, ""))
            record["elder"].append(render(html, name, "elder"))
            record["step"].append(steps(pipeline, html, page(name, "elder"))["elder"])
        for name, text in stylesheets:
            css_samples[name].append(rewrite(text, name))

    def total(label: str) -> float:
        return sum(statistics.median(record[label]) for record in samples.values())

    pass_total, plain_total, elder_total, step_total = total("pass"), total("plain"), total("elder"), total("step")
    css_total = sum(statistics.median(values) for values in css_samples.values())
    css_bytes = sum(len(c.encode()) for _, c in stylesheets)
    count = len(html_pages)
    figures = {
        "source": source, "pages": count, "stylesheets": len(stylesheets),
        "pass_ms_per_page": pass_total * 1000 / count,
        "render_plain_ms_per_page": plain_total * 1000 / count,
        "render_elder_ms_per_page": elder_total * 1000 / count,
        "elder_vs_plain": elder_total / plain_total,
        "elder_step_ms_per_page": step_total * 1000 / count,
        "elder_step_vs_pass": step_total / pass_total,
        "css_ms_per_stylesheet": css_total * 1000 / max(1, len(stylesheets)),
        "css_mb_per_s": css_bytes / css_total / 1e6 if css_total else 0.0,
    }
    print(f"{source}; median of {args.repeat} runs each")
    print(f"  pass-through (parse + serialize) {figures['pass_ms_per_page']:7.2f} ms/page")
    print(f"  HTML render, plain mode          {figures['render_plain_ms_per_page']:7.2f} ms/page")
    print(f"  HTML render, elder mode          {figures['render_elder_ms_per_page']:7.2f} ms/page   "
          f"ratio to plain: {figures['elder_vs_plain']:.2f}x")
    print(f"  the elder transform's own step   {figures['elder_step_ms_per_page']:7.2f} ms/page   "
          f"= {figures['elder_step_vs_pass']:.2f}x pass-through")
    if TARGET_PAGE in samples:
        record = samples[TARGET_PAGE]
        step_ms, pass_ms = statistics.median(record["step"]) * 1000, statistics.median(record["pass"]) * 1000
        figures["target_page"] = {"page": TARGET_PAGE, "elder_step_ms": step_ms, "pass_ms": pass_ms,
                                  "elder_step_vs_pass": step_ms / pass_ms}
        print(f"    on {TARGET_PAGE} (the 100 KB page)   {step_ms:7.2f} ms        = {step_ms / pass_ms:.2f}x its "
              f"pass-through ({pass_ms:.2f} ms)")
    if stylesheets:
        per_pass = figures["css_ms_per_stylesheet"] / figures["pass_ms_per_page"]
        print(f"  stylesheet rewrite               {figures['css_ms_per_stylesheet']:7.2f} ms/stylesheet "
              f"({figures['css_mb_per_s']:.1f} MB/s)  = {per_pass:.2f}x a page's pass-through")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
