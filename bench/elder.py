"""Elder-mode benchmark: what the elder transforms cost against plain pass-through, on the same run.

    python3 bench/elder.py [--repeat 20] [--json OUT]

Pages: ../shared/corpus/pages (each page, and each stylesheet under its NNN-*.files/ folder), or, without
the corpus, a generated portal-like page and stylesheet (the output says which).  Figures:

* HTML: render in plain mode (parse + always-on transforms + serialize) vs. render in elder mode;
  ratio elder/plain, summed over all pages.
* CSS: the stylesheet rewrite (tinycss2 parse, scale, serialize) vs. reading the file as text; the
  ratio that matters is against the HTML render, printed as ms per stylesheet.
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

from yarl import URL  # noqa: E402

from proxy import codec  # noqa: E402
from proxy.css import Scale, rewrite_stylesheet  # noqa: E402
from proxy.modes import parse as parse_modes  # noqa: E402
from proxy.pipeline import Page, build_pipeline  # noqa: E402
from proxy.settings import Settings  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "pages"


def inputs() -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
    pages = sorted(CORPUS.glob("*.html")) if CORPUS.is_dir() else []
    if pages:
        html = [(p.name, codec.decode(p.read_bytes(), "utf-8")) for p in pages]
        css = [(str(c.relative_to(CORPUS)), c.read_bytes().decode("utf-8", "replace"))
               for c in sorted(CORPUS.glob("*.files/**/*.css"))]
        return html, css, f"{len(html)} corpus pages, {len(css)} stylesheets"
    rows = "".join(f'<tr><td style="font-size:12px"><a href="/a/{i}.html">第{i}条通知</a></td></tr>' for i in range(400))
    page = f"<html><head><style>body{{font-size:12px}}</style></head><body><table>{rows}</table></body></html>"
    sheet = "".join(f".c{i}{{font-size:{10 + i % 8}px;height:{20 + i % 5}px;line-height:18px}}\n" for i in range(800))
    return [("generated.html", page)], [("generated.css", sheet)], "generated (no ../shared/corpus)"


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    html_pages, stylesheets, source = inputs()
    settings = Settings()
    pipeline = build_pipeline(settings)
    url = URL("http://www.example.gov.cn/a.html")
    plain = Page(url=url, modes=parse_modes(""), settings=settings)
    elder = Page(url=url, modes=parse_modes("elder"), settings=settings, prefix="/-/elder")

    plain_total = sum(timed(lambda h=h: pipeline.render(h, plain), args.repeat) for _, h in html_pages)
    elder_total = sum(timed(lambda h=h: pipeline.render(h, elder), args.repeat) for _, h in html_pages)
    scale = Scale.for_step(150)
    css_total = sum(timed(lambda c=c: rewrite_stylesheet(c, scale, None), args.repeat) for _, c in stylesheets)
    css_bytes = sum(len(c.encode()) for _, c in stylesheets)

    figures = {
        "source": source, "pages": len(html_pages), "stylesheets": len(stylesheets),
        "render_plain_ms_per_page": plain_total * 1000 / len(html_pages),
        "render_elder_ms_per_page": elder_total * 1000 / len(html_pages),
        "elder_vs_plain": elder_total / plain_total,
        "css_ms_per_stylesheet": css_total * 1000 / max(1, len(stylesheets)),
        "css_mb_per_s": css_bytes / css_total / 1e6 if css_total else 0.0,
    }
    print(f"{source}; median of {args.repeat} runs each")
    print(f"  HTML render, plain mode   {figures['render_plain_ms_per_page']:7.2f} ms/page")
    print(f"  HTML render, elder mode   {figures['render_elder_ms_per_page']:7.2f} ms/page   "
          f"ratio to plain: {figures['elder_vs_plain']:.2f}x")
    print(f"  stylesheet rewrite        {figures['css_ms_per_stylesheet']:7.2f} ms/stylesheet "
          f"({figures['css_mb_per_s']:.1f} MB/s)  = {figures['css_ms_per_stylesheet'] / figures['render_plain_ms_per_page']:.2f}x "
          f"a plain page render")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
