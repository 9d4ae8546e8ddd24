#!/usr/bin/env python3
"""Audit the corpus through the proxy in given modes, against the same pages straight from upstream.

    python3 tools/audit_modes.py --modes elder [--modes contrast ...] [--elder-steps] [--layout-only]
                                 [--json OUT] [--screenshots DIR] [PAGE...]

Serves ../shared/corpus/pages with ../shared/tools/serve_dir.py (each page in the charset it declares),
starts the proxy in front of it (the bundled rules/), and runs ../shared/tools/audit.py (real Chromium,
axe-core from node_modules/) on every page: once upstream, once per mode.  Prints a markdown table of
the elder-mode figures (font sizes, clipping, horizontal scroll) and axe counts, for docs/.

A second pass of its own (Playwright, the same Chromium, 1280 x 900) counts overlapping text with
tools/text_overlap.js: pairs of line boxes (Range.getClientRects of each visible text node) from different
text nodes that overlap by more than 30% of the smaller one, and text nodes partly cut off by a box that clips
them, upstream and in each mode, and prints them as two more tables with what is new (mode minus upstream);
--screenshots writes a full-page PNG of each.
--elder-steps adds every elder step (elder-125, elder, elder-175, elder-200); --layout-only skips audit.py.
Loopback only; every process it starts is stopped at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "pages"
OVERLAP_JS = ROOT / "tools" / "text_overlap.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # loopback only, as audit.py
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>;127.0.0.1;localhost",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--dns-prefetch-disable",
]
ELDER_STEP_MODES = ["elder-125", "elder", "elder-175", "elder-200"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", action="append", default=[], help="mode set, e.g. elder or trad+elder")
    parser.add_argument("--elder-steps", action="store_true", help="add every elder step to the modes")
    parser.add_argument("--layout-only", action="store_true", help="overlap count (and screenshots) only")
    parser.add_argument("--json", help="write audit.py's full JSON here (the overlap pass's beside it)")
    parser.add_argument("--screenshots", help="folder for full-page PNGs (page-mode.png)")
    parser.add_argument("pages", nargs="*", help="page file names (default: all)")
    args = parser.parse_args(argv)
    if args.elder_steps:
        args.modes += [mode for mode in ELDER_STEP_MODES if mode not in args.modes]
    if not args.modes:
        parser.error("no modes: give --modes or --elder-steps")
    if not CORPUS.is_dir():
        print(f"no corpus at {CORPUS}: nothing to audit", file=sys.stderr)
        return 1
    pages = args.pages or sorted(p.name for p in CORPUS.glob("*.html"))
    upstream_port, proxy_port = free_port(), free_port()
    processes = [
        subprocess.Popen([sys.executable, str(SHARED / "tools" / "serve_dir.py"), str(CORPUS), "--port",
                          str(upstream_port), "--quiet"], stdout=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "proxy", "--log-level", "WARNING", "serve", "--upstream",
                          f"http://127.0.0.1:{upstream_port}", "--listen", f"127.0.0.1:{proxy_port}",
                          "--rules", str(ROOT / "rules")], cwd=ROOT),
    ]
    try:
        wait_for(f"http://127.0.0.1:{upstream_port}/{pages[0]}")
        wait_for(f"http://127.0.0.1:{proxy_port}/-/health")
        urls = []
        for page in pages:
            urls.append(f"http://127.0.0.1:{upstream_port}/{page}")
            urls.extend(f"http://127.0.0.1:{proxy_port}/-/{modes}/{page}" for modes in args.modes)
        if not args.layout_only:
            out = args.json or tempfile.mktemp(suffix=".json")
            command = [sys.executable, str(SHARED / "tools" / "audit.py"), "--json", out,
                       "--axe", str(ROOT / "node_modules" / "axe-core" / "axe.min.js")]
            subprocess.run(command + urls, check=False, stdout=subprocess.DEVNULL, timeout=3000)
            data = json.loads(Path(out).read_text(encoding="utf-8"))
            results = data["results"] if isinstance(data, dict) else data
            print_table(results, len(args.modes) + 1, args.modes)
            print()
        overlaps = measure_layout(urls, args.screenshots)
        if args.json:
            Path(args.json).with_suffix(".overlap.json").write_text(
                json.dumps(overlaps, ensure_ascii=False, indent=1), encoding="utf-8")
        print_overlap_table(overlaps, len(args.modes) + 1, args.modes)
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    return 0


def measure_layout(urls: list[str], screenshots: str | None) -> list[dict]:
    """Overlapping text on each URL (tools/text_overlap.js) and, if asked, a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    script = OVERLAP_JS.read_text(encoding="utf-8")
    if screenshots:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            for url in urls:
                result: dict = {"url": url}
                try:
                    page.goto(url, wait_until="load", timeout=30_000)
                    page.wait_for_timeout(300)  # late layout (web fonts, scripts that place boxes)
                    result.update(page.evaluate(script))
                    if screenshots:
                        match = re.match(r"^.*?(?:/-/([^/]+))?/([^/]+?)(?:\.html?)?$", url)
                        name = f"{match.group(2)}-{match.group(1) or 'upstream'}.png"
                        page.screenshot(path=str(Path(screenshots) / name), full_page=True, timeout=60_000)
                except Exception as error:  # noqa: BLE001 (one page failing must not stop the run)
                    result["error"] = str(error)
                results.append(result)
        finally:
            browser.close()
    return results


def print_overlap_table(results: list[dict], group: int, modes: list[str]) -> None:
    """Overlap pairs, then clipped text nodes, per page: upstream, each mode, and what is new (mode minus
    upstream, per mode)."""
    for key, title in (("pairs", "overlapping pairs"), ("clipped", "clipped text nodes")):
        print(f"{title}:\n")
        print("| page | upstream | " + " | ".join(modes) + " | new |")
        print("| --- | ---: | " + " | ".join("---:" for _ in modes) + " | ---: |")
        total = 0
        for index in range(0, len(results), group):
            chunk = results[index:index + group]
            name = re.sub(r"^.*/", "", chunk[0]["url"])
            counts = [result.get(key) for result in chunk]
            new = [max(0, count - counts[0]) if count is not None and counts[0] is not None else "-"
                   for count in counts[1:]]
            total += sum(n for n in new if n != "-")
            cells = ["error" if count is None else str(count) for count in counts]
            print(f"| {name} | " + " | ".join(cells) + f" | {' / '.join(map(str, new))} |")
        print(f"\nnew {title}, all pages and modes: {total}\n")


def print_table(results: list[dict], group: int, modes: list[str]) -> None:
    print("| page | mode | median px | p10 px | < 18 px | line height | clipped | page width | axe rules/nodes |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for index in range(0, len(results), group):
        chunk = results[index:index + group]
        name = re.sub(r"^.*/", "", chunk[0]["url"])
        for label, result in zip(["upstream"] + modes, chunk):
            fonts = result.get("fonts") or {}
            axe = result.get("axe") or {}
            violations = axe.get("violations", [])
            nodes = sum(v.get("nodes", 0) for v in violations)
            print(f"| {name if label == 'upstream' else ''} | {label} | {fonts.get('font_px_median', '-')} | "
                  f"{fonts.get('font_px_p10', '-')} | {100 * fonts.get('share_below_18px', 0):.1f}% | "
                  f"{fonts.get('line_height_ratio_median', '-')} | {fonts.get('clipped_text_nodes', '-')} | "
                  f"{(result.get('scroll_size') or ['-'])[0]} | {len(violations)}/{nodes} |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    raise SystemExit(main())
