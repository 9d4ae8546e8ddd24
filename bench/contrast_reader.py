"""Contrast and reader benchmark and measurements.

    python3 bench/contrast_reader.py [--repeat 20] [--json OUT]          # transform time, ratios
    python3 bench/contrast_reader.py --axe [--markdown OUT]              # axe-core over the corpus, Chromium
    python3 bench/contrast_reader.py --screenshots DIR [--pages A B]      # before/after PNGs for the docs

Timing (default).  Over every page of ../shared/corpus/pages (or, without the corpus, one generated portal-like
page; the output says which), median of --repeat runs each, all in this one run:

* plain    - the whole pipeline in plain mode: parse, the always-on transforms, serialize (pass-through cost)
* contrast - the same page in contrast mode (contrast-wb); ratio contrast/plain
* reader   - the same page in reader mode; ratio reader/plain
* and the two transforms alone on an already transformed tree (HighContrast.apply, ReaderView.apply), in ms.

The three renders of a page run in turn (plain, contrast, reader, plain, ...), so a change in load hits all three.

Times are CPU time of this process (time.process_time), so other work on the machine disturbs them less.

--axe.  Serves the corpus with ../shared/tools/serve_dir.py (each page in its declared charset), puts the proxy
in front of it (in this process, with the bundled rules/, loopback only), and loads every page in Debian's
Chromium (Playwright, /usr/bin/chromium, JavaScript on, 1280x900, no request leaves loopback) straight from
the upstream and through the proxy in each of the four schemes; axe-core (node_modules/axe-core/axe.min.js)
runs the rules color-contrast (WCAG AA, 4.5:1) and color-contrast-enhanced (AAA, 7:1).  Prints a Markdown
table of violating nodes per page (AA/AAA) and of the nodes axe could not decide ("incomplete", e.g. text
partly covered by another box), then what the reader view found on each page.

--screenshots.  Viewport screenshots (1280x900) of pages as the upstream sends them, in contrast-yb, and in
reader mode, as PNGs in DIR (docs/screenshots/).
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
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from yarl import URL  # noqa: E402

from proxy import document  # noqa: E402
from proxy.modes import parse as parse_modes  # noqa: E402
from proxy.pipeline import Page, build_pipeline, default_transforms  # noqa: E402
from proxy.settings import Settings  # noqa: E402
from proxy.transforms.contrast import SCHEMES, HighContrast  # noqa: E402
from proxy.transforms.reader import ReaderView, extract  # noqa: E402

SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "pages"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
URL_OF_PAGE = URL("http://www.example.gov.cn/art/2026/11/20/art_1_1.html")


def corpus_pages() -> list[tuple[str, str]]:
    pages = sorted(CORPUS.glob("*.html")) if CORPUS.is_dir() else []
    if pages:
        return [(path.name, path.read_text(encoding="utf-8")) for path in pages]
    paragraphs = "".join(f"<p>　　第{i}段正文，讲述供暖工作的安排、要求和注意事项，请各单位认真贯彻落实。</p>" for i in range(40))
    links = "".join(f'<li><a href="/n/{i}.html">第{i}条新闻标题</a></li>' for i in range(200))
    html = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>通知 - 示范市</title><style>p{{color:#999}}'
            f'</style></head><body><ul class="nav">{links}</ul><div class="article"><h1>通知</h1>'
            f'<div class="info">发布时间：2026-11-20 来源：示范市</div><div id="zoom">{paragraphs}</div></div>'
            f'<div class="footer">版权所有 示ICP备00000001号</div></body></html>')
    return [("generated (no ../shared/corpus)", html)]


def interleaved_ms(functions: list, repeat: int) -> list[float]:
    """Medians of the functions run in turn (a, b, c, a, b, c...): a change in load hits them all alike."""
    samples: list[list[float]] = [[] for _ in functions]
    for _ in range(repeat):
        for fn, times in zip(functions, samples):
            started = time.process_time()
            fn()
            times.append(time.process_time() - started)
    return [statistics.median(times) * 1000 for times in samples]


def transform_only_ms(html: str, modes: str, transform, repeat: int) -> float:
    """One transform's apply() alone, on a tree that went through every transform before it."""
    settings = Settings()
    samples = []
    for _ in range(repeat):
        page = Page(url=URL_OF_PAGE, modes=parse_modes(modes), settings=settings, prefix=f"/-/{modes}")
        doc = document.parse(html)
        for earlier in default_transforms(settings):
            if type(earlier) is type(transform):
                break
            if earlier.enabled(page.modes):
                earlier.apply(doc, page)
        started = time.process_time()
        transform.apply(doc, page)
        samples.append(time.process_time() - started)
    return statistics.median(samples) * 1000


def timing(repeat: int, json_out: str | None) -> int:
    settings = Settings()
    pipeline = build_pipeline(settings)
    pages = corpus_pages()

    def page_for(modes: str) -> Page:
        canonical = parse_modes(modes).canonical()
        return Page(url=URL_OF_PAGE, modes=parse_modes(modes), settings=settings,
                    prefix=f"/-/{canonical}" if canonical else "")

    rows = []
    print(f"{len(pages)} page(s), median of {repeat} runs each (ms)")
    print(f"{'page':34} {'KB':>5} {'plain':>7} {'contrast':>9} {'x':>5} {'reader':>7} {'x':>5} "
          f"{'HighContrast':>12} {'ReaderView':>10}")
    for name, html in pages:
        plain, contrast, reader = interleaved_ms([lambda: pipeline.render(html, page_for("")),
                                                  lambda: pipeline.render(html, page_for("contrast")),
                                                  lambda: pipeline.render(html, page_for("reader"))], repeat)
        contrast_alone = transform_only_ms(html, "contrast", HighContrast(), repeat)
        reader_alone = transform_only_ms(html, "reader", ReaderView(), repeat)
        row = {"page": name, "kb": len(html.encode()) / 1024, "plain_ms": plain, "contrast_ms": contrast,
               "reader_ms": reader, "contrast_ratio": contrast / plain, "reader_ratio": reader / plain,
               "contrast_transform_ms": contrast_alone, "reader_transform_ms": reader_alone}
        rows.append(row)
        print(f"{name[:34]:34} {row['kb']:5.0f} {plain:7.2f} {contrast:9.2f} {row['contrast_ratio']:5.2f} "
              f"{reader:7.2f} {row['reader_ratio']:5.2f} {contrast_alone:12.2f} {reader_alone:10.2f}")
    total = {key: sum(r[key] for r in rows) for key in ("plain_ms", "contrast_ms", "reader_ms",
                                                        "contrast_transform_ms", "reader_transform_ms")}
    print(f"{'all pages':34} {sum(r['kb'] for r in rows):5.0f} {total['plain_ms']:7.2f} {total['contrast_ms']:9.2f} "
          f"{total['contrast_ms'] / total['plain_ms']:5.2f} {total['reader_ms']:7.2f} "
          f"{total['reader_ms'] / total['plain_ms']:5.2f} {total['contrast_transform_ms']:12.2f} "
          f"{total['reader_transform_ms']:10.2f}")
    print(f"ratios to plain (whole pipeline, all pages): contrast {total['contrast_ms'] / total['plain_ms']:.2f}x, "
          f"reader {total['reader_ms'] / total['plain_ms']:.2f}x")
    if json_out:
        Path(json_out).write_text(json.dumps({"rows": rows, "total": total}, ensure_ascii=False, indent=2),
                                  encoding="utf-8")
    return 0


# --- measurements in Chromium ---------------------------------------------------------------------------

AXE_RUN = """async () => {
  const r = await axe.run(document, {runOnly: {type: 'rule', values: ['color-contrast', 'color-contrast-enhanced']},
                                     resultTypes: ['violations', 'incomplete']});
  const count = (list, id) => list.filter(v => v.id === id).reduce((n, v) => n + v.nodes.length, 0);
  return {aa: count(r.violations, 'color-contrast'), aaa: count(r.violations, 'color-contrast-enhanced'),
          incomplete: count(r.incomplete, 'color-contrast'),
          detail: r.violations.flatMap(v => v.nodes.slice(0, 3).map(n => v.id + ' ' + n.target.join(' ')))};
}"""


class Servers:
    """The corpus served in its charsets, the proxy in front (loopback only); stopped on exit."""

    def __enter__(self):
        from tests.harness import ServerThread, serve_dir

        if not CORPUS.is_dir():
            raise SystemExit(f"no corpus at {CORPUS}")
        self.process, self.upstream = serve_dir(CORPUS, SHARED / "tools" / "serve_dir.py")
        self.thread = ServerThread()
        self.proxied = self.thread.proxy(self.upstream, rules_dir=ROOT / "rules")  # the bundled rules, as deployed
        return self

    def __exit__(self, *exc) -> None:
        self.thread.close()
        self.process.terminate()
        self.process.wait(10)


def scheme_prefix(key: str) -> str:
    return "/-/contrast" if key == "wb" else f"/-/contrast-{key}"


def axe_table(markdown_out: str | None) -> int:
    from playwright.sync_api import sync_playwright

    from tests.harness import CHROMIUM, CHROMIUM_ARGS

    axe_source = AXE.read_text(encoding="utf-8")
    names = [path.name for path in sorted(CORPUS.glob("*.html"))]
    columns = ["upstream"] + list(SCHEMES)
    results: dict = {}
    started = time.monotonic()
    with Servers() as servers, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        for name in names:
            for column in columns:
                url = (f"{servers.upstream}/{name}" if column == "upstream"
                       else f"{servers.proxied}{scheme_prefix(column)}/{name}")
                page = context.new_page()
                try:
                    page.goto(url, wait_until="load", timeout=60_000)
                    page.evaluate(axe_source)
                    results[name, column] = page.evaluate(AXE_RUN)
                finally:
                    page.close()
                print(f"{name} {column}: {results[name, column]['aa']}/{results[name, column]['aaa']}"
                      f" (incomplete {results[name, column]['incomplete']})", file=sys.stderr)
        browser.close()
        reader_rows = reader_summary(servers)
    elapsed = time.monotonic() - started

    lines = ["| page | upstream AA/AAA | " + " | ".join(f"{k} AA/AAA" for k in SCHEMES) + " | incomplete up/"
             + "/".join(SCHEMES) + " |", "|" + " --- |" * (len(columns) + 2)]
    for name in names:
        cells = [f"{results[name, c]['aa']}/{results[name, c]['aaa']}" for c in columns]
        incomplete = "/".join(str(results[name, c]["incomplete"]) for c in columns)
        lines.append(f"| {name.removesuffix('.html')} | " + " | ".join(cells) + f" | {incomplete} |")
    sums = [f"{sum(results[n, c]['aa'] for n in names)}/{sum(results[n, c]['aaa'] for n in names)}" for c in columns]
    lines.append("| **all 20** | " + " | ".join(f"**{s}**" for s in sums) + " | |")
    lines.append("")
    lines.append("| page | found by | body characters | images | date | source | attachments | prev/next |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    lines.extend(reader_rows)
    table = "\n".join(lines)
    print(table)
    print(f"\n({len(names)} pages x {len(columns)} columns in {elapsed:.0f} s)")
    if markdown_out:
        Path(markdown_out).write_text(table + "\n", encoding="utf-8")
    return 0


def reader_summary(servers: Servers) -> list[str]:
    """Per corpus page: what the reader view found (through the proxy, so with the repairs' landmarks)."""
    import urllib.request

    settings = Settings()
    rows = []
    for path in sorted(CORPUS.glob("*.html")):
        with urllib.request.urlopen(f"{servers.proxied}/-/reader/{path.name}", timeout=30) as response:
            html = response.read().decode("utf-8")
        root = document.parse(html).root
        article = root.find(".//main//article")
        body = article.find("div[@class='a11y-proxy-reader-body']")
        body_text = re.sub(r"\s+", "", "".join(body.itertext()))
        # How it was found: re-run the extraction on the upstream page with the transforms before it.
        raw = path.read_text(encoding="utf-8")
        doc = document.parse(raw)
        page = Page(url=URL_OF_PAGE, modes=parse_modes("reader"), settings=settings, prefix="/-/reader")
        for transform in default_transforms(settings):
            if isinstance(transform, ReaderView):
                break
            if transform.enabled(page.modes):
                transform.apply(doc, page)
        found = extract(doc, page)
        time_el = article.find(".//time")
        source = article.find("p[@class='a11y-proxy-reader-meta']")
        source_text = "".join(source.itertext()) if source is not None else ""
        attachments = article.find("section[@class='a11y-proxy-reader-attachments']")
        pager = article.find("nav[@class='a11y-proxy-reader-pager']")
        rows.append(f"| {path.stem} | {found.found_by} | {len(body_text)} | {len(body.findall('.//img'))} | "
                    f"{time_el.text if time_el is not None else '—'} | {'yes' if '来源' in source_text else '—'} | "
                    f"{len(attachments.findall('.//li')) if attachments is not None else 0} | "
                    f"{len(pager.findall('.//li')) if pager is not None else 0} |")
    return rows


def screenshots(directory: str, names: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    from tests.harness import CHROMIUM, CHROMIUM_ARGS

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    with Servers() as servers, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        for name in names:
            stem = name.removesuffix(".html")
            for label, url in (("upstream", f"{servers.upstream}/{name}"),
                               ("contrast-yb", f"{servers.proxied}/-/contrast-yb/{name}"),
                               ("reader", f"{servers.proxied}/-/reader/{name}")):
                page = context.new_page()
                try:
                    page.goto(url, wait_until="load", timeout=60_000)
                    target = out / f"{stem}-{label}.png"
                    page.screenshot(path=str(target))
                    print(target)
                finally:
                    page.close()
        browser.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", help="timing: write the figures here")
    parser.add_argument("--axe", action="store_true", help="axe-core color-contrast over the corpus in Chromium")
    parser.add_argument("--markdown", help="--axe: write the table here too")
    parser.add_argument("--screenshots", metavar="DIR", help="before/after PNGs into DIR")
    parser.add_argument("--pages", nargs="+", default=["003-henan-article.html", "014-baiyun-article.html"])
    args = parser.parse_args(argv)
    if args.axe:
        return axe_table(args.markdown)
    if args.screenshots:
        return screenshots(args.screenshots, args.pages)
    return timing(args.repeat, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
