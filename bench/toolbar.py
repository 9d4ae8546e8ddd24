"""Toolbar benchmark: what the reader's toolbar costs against plain pass-through, on the same run.

    python3 bench/toolbar.py [--repeat 20] [--json OUT]
    python3 bench/toolbar.py --screenshots docs/screenshots     # the docs' screenshots (needs Chromium)

Pages: ../shared/corpus/pages, or, without the corpus, the demo portal's pages (the output says which).
Figures, all from this one run: every variant timed in turn on each page for --repeat rounds (interleaved,
so a busy machine slows all of them alike); per page the median and the minimum of the rounds:

* pass-through  - parse + serialize with no transform at all (what any page costs the proxy, the floor)
* toolbar apply - the Toolbar transform alone on a parsed page: plain mode (6 controls), and
                  trad+elder+contrast (18 controls: the choices of the modes that are on)
  ratio toolbar/pass-through: the goal is a few percent
* render plain  - the whole plain-mode pipeline, with the toolbar and without it; the difference is the
  toolbar's full cost (its markup is also serialized) and the ratio with/without
* render trad+elder+contrast - the same pair in a mode set, where trad also converts the toolbar's labels
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

from proxy import codec, document  # noqa: E402
from proxy.modes import parse as parse_modes  # noqa: E402
from proxy.pipeline import Page, Pipeline, default_transforms  # noqa: E402
from proxy.settings import Settings  # noqa: E402
from proxy.transforms.toolbar import Toolbar, ToolbarNotice  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "pages"
DEMO = ROOT / "proxy" / "demo" / "site"
MODES = "trad+elder+contrast"


def inputs() -> tuple[list[tuple[str, str]], str]:
    pages = sorted(CORPUS.glob("*.html")) if CORPUS.is_dir() else []
    if pages:
        html = []
        for path in pages:
            raw = path.read_bytes()
            charset, _ = codec.sniff_charset(raw, None)
            html.append((path.name, codec.decode(raw, charset)))
        return html, f"{len(html)} corpus pages"
    demo = [p for p in sorted(DEMO.rglob("*.html")) if "_" not in p.parent.name]
    return [(str(p.relative_to(DEMO)), p.read_text(encoding="utf-8")) for p in demo], \
        f"{len(demo)} demo portal pages (no ../shared/corpus)"


def time_once(fn, setup=None) -> float:
    argument = setup() if setup else None
    started = time.perf_counter()
    fn(argument) if setup else fn()
    return time.perf_counter() - started


def page_for(modes: str, settings: Settings) -> Page:
    parsed = parse_modes(modes)
    prefix = f"/-/{parsed.canonical()}" if parsed.canonical() else ""
    return Page(url=URL("http://www.example.gov.cn/xxgk/a.html?id=1"), modes=parsed, settings=settings, prefix=prefix)


def measure(repeat: int) -> dict:
    """Every variant timed in turn on each page, round after round (interleaved: a busy machine slows them
    all alike); per page and variant the median and the minimum of the rounds, summed over the pages."""
    pages, source = inputs()
    settings = Settings()
    with_bar = Pipeline(default_transforms(settings))
    without_bar = Pipeline([t for t in default_transforms(settings) if not isinstance(t, (Toolbar, ToolbarNotice))])
    passthrough = Pipeline([])
    toolbar = Toolbar()
    plain, mixed = page_for("", settings), page_for(MODES, settings)
    variants = {
        "passthrough": lambda h: time_once(lambda: passthrough.render(h, plain)),
        "toolbar_apply_plain": lambda h: time_once(lambda doc: toolbar.apply(doc, plain), lambda: document.parse(h)),
        "toolbar_apply_modes": lambda h: time_once(lambda doc: toolbar.apply(doc, mixed), lambda: document.parse(h)),
        "render_plain_without": lambda h: time_once(lambda: without_bar.render(h, plain)),
        "render_plain_with": lambda h: time_once(lambda: with_bar.render(h, plain)),
        "render_modes_without": lambda h: time_once(lambda: without_bar.render(h, mixed)),
        "render_modes_with": lambda h: time_once(lambda: with_bar.render(h, mixed)),
    }
    sums = {(name, stat): 0.0 for name in variants for stat in ("median", "min")}
    for _, html in pages:
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(repeat):
            for name, run in variants.items():
                samples[name].append(run(html))
        for name, values in samples.items():
            sums[(name, "median")] += statistics.median(values)
            sums[(name, "min")] += min(values)
    n = len(pages)
    figures: dict = {"source": source, "pages": n, "repeat": repeat}
    for stat in ("median", "min"):
        f = {name: sums[(name, stat)] * 1000 / n for name in variants}  # ms per page
        f["toolbar_plain_vs_passthrough"] = f["toolbar_apply_plain"] / f["passthrough"]
        f["toolbar_modes_vs_passthrough"] = f["toolbar_apply_modes"] / f["passthrough"]
        f["render_plain_with_vs_without"] = f["render_plain_with"] / f["render_plain_without"]
        f["render_modes_with_vs_without"] = f["render_modes_with"] / f["render_modes_without"]
        figures[stat] = f
    return figures


def report(figures: dict) -> None:
    print(f"{figures['source']}; {figures['repeat']} interleaved rounds; ms per page as median (min)")
    med, low = figures["median"], figures["min"]

    def row(label: str, key: str, ratio: str | None = None, ratio_label: str = "") -> None:
        line = f"  {label:<46} {med[key]:7.3f} ({low[key]:.3f})"
        if ratio:
            line += f"   {ratio_label} {med[ratio]:.3f}x ({low[ratio]:.3f}x)"
        print(line)

    row("pass-through (parse + serialize)", "passthrough")
    row("toolbar apply, plain (6 controls)", "toolbar_apply_plain", "toolbar_plain_vs_passthrough",
        "vs pass-through")
    row(f"toolbar apply, {MODES} (18 controls)", "toolbar_apply_modes", "toolbar_modes_vs_passthrough",
        "vs pass-through")
    row("render plain, without the toolbar", "render_plain_without")
    row("render plain, with the toolbar", "render_plain_with", "render_plain_with_vs_without", "with/without")
    row(f"render {MODES}, without", "render_modes_without")
    row(f"render {MODES}, with", "render_modes_with", "render_modes_with_vs_without", "with/without")


# --- screenshots for docs/toolbar.md --------------------------------------------------------------------

SHOTS = (("toolbar-plain.png", "", False), ("toolbar-elder-trad.png", "trad+elder", False),
         ("toolbar-contrast.png", "contrast-yb", False), ("toolbar-keyboard.png", "", True))


def screenshots(directory: Path) -> list[Path]:
    """The demo portal's article page through the proxy (bundled rules), in a few mode sets."""
    from playwright.sync_api import sync_playwright

    from proxy.demo.portal import create_portal_app
    from tests.harness import CHROMIUM, CHROMIUM_ARGS, ServerThread

    directory.mkdir(parents=True, exist_ok=True)
    servers = ServerThread()
    written = []
    try:
        upstream = servers.serve(create_portal_app())
        proxied = servers.proxy(upstream, rules_dir=ROOT / "rules", upstream_aliases=("www.shifan.gov.cn",))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            for name, modes, keyboard in SHOTS:
                page.goto(proxied + (f"/-/{modes}" if modes else "") + "/xxgk/2026/art_1001.html")
                if keyboard:  # focus on 长者版 by keyboard: the focus ring and the shortcuts line show
                    for _ in range(4):
                        page.keyboard.press("Tab")
                path = directory / name
                page.screenshot(path=str(path))
                written.append(path)
            browser.close()
    finally:
        servers.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--screenshots", type=Path, help="write the docs' screenshots to this folder and exit")
    args = parser.parse_args(argv)
    if args.screenshots:
        for path in screenshots(args.screenshots):
            print(path)
        return 0
    figures = measure(args.repeat)
    report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
