#!/usr/bin/env python3
"""Audit the corpus through the proxy in given modes, against the same pages straight from upstream.

    python3 tools/audit_modes.py --modes elder [--modes contrast ...] [--json OUT] [--screenshots DIR] [PAGE...]

Serves ../shared/corpus/pages with ../shared/tools/serve_dir.py (each page in the charset it declares),
starts the proxy in front of it (the bundled rules/), and runs ../shared/tools/audit.py (real Chromium,
axe-core from node_modules/) on every page: once upstream, once per mode.  Prints a markdown table of
the elder-mode figures (font sizes, clipping, horizontal scroll) and axe counts, for docs/.
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
    parser.add_argument("--modes", action="append", required=True, help="mode set, e.g. elder or trad+elder")
    parser.add_argument("--json", help="write audit.py's full JSON here")
    parser.add_argument("--screenshots", help="folder for full-page PNGs")
    parser.add_argument("pages", nargs="*", help="page file names (default: all)")
    args = parser.parse_args(argv)
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
        out = args.json or tempfile.mktemp(suffix=".json")
        command = [sys.executable, str(SHARED / "tools" / "audit.py"), "--json", out,
                   "--axe", str(ROOT / "node_modules" / "axe-core" / "axe.min.js")]
        if args.screenshots:
            command += ["--screenshot", args.screenshots]
        subprocess.run(command + urls, check=False, stdout=subprocess.DEVNULL, timeout=3000)
        data = json.loads(Path(out).read_text(encoding="utf-8"))
        results = data["results"] if isinstance(data, dict) else data
        print_table(results, len(args.modes) + 1, args.modes)
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    return 0


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
