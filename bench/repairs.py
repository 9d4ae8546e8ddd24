"""Screen-reader repairs benchmark: what the repair transforms cost on real portal pages, against plain
pass-through (parse + serialize only) of the same pages, measured in the same run.

    python3 bench/repairs.py                 # every corpus page, 30 rounds each (~1 min)
    python3 bench/repairs.py --quick         # 5 rounds (a smoke run, a few seconds)
    python3 bench/repairs.py --repeat 50 --json out.json
    python3 bench/repairs.py --hostile       # generated hostile pages instead (see below)

Pages: ../shared/corpus/pages (20 real Chinese government pages, 5-84 KB), or, without the corpus, the
project's own fixtures in tests/fixtures/repairs (the output says which).  Each page is decoded once; then,
per round and page, three things are timed (the median of the rounds is reported):

* pass     - document.parse + document.serialize: what any proxied page costs before transforms
* repairs  - parse, the seven repair transforms of pipeline.default_transforms (rules, page basics, layout
             tables, names, landmarks, title, skip link), serialize - with the bundled rules/ applied
* plain    - the whole default pipeline in plain mode (repairs plus links, toolbar, charset...), for context
* steps    - the plain pipeline again, each step timed on its own (parse, each transform, serialize): the
             per-transform table after the per-page one, summed over the pages and on the 100 KB page

--hostile renders the generated pages of tests/test_hostile_pages.py (thousands of landmarks, image links,
fields, tables, blocks nested thousands deep) at the sizes below, plain and in every mode at once, and prints
the CPU time of the best of three: the absolute figures behind that test's growth checks.  Measured on the
development machine (2 cores, shared) when the repairs were made linear; before, 4,000 <aside> took 6 s,
8,000 <nav> 25 s, 10,000 image links 9 s (up to 37 s reported), 1,000 fields with unnamed buttons 19 s
(quadratic: minutes at 4,000), and 2,000-deep pages with fields raised RecursionError:

    page (size)                        plain s  all modes s
    aside (4,000)                         0.12         0.27
    nav (8,000)                           0.28         0.53
    named section (4,000)                 0.07         0.28
    mixed landmarks (4,000)               0.15         0.24
    image links (10,000)                  0.80         1.14
    fields and buttons (4,000)            0.31         0.36
    tables (4,000)                        0.19         0.41
    deep blocks (2,000 levels)            0.85         1.32
    text between (4,000)                  0.25         0.77

Reading the table: ``repairs x`` = repairs / pass (1.00 would mean the repairs cost nothing; 2.00 that a page
takes twice as long as parsing and serializing it); ``+ms`` = repairs - pass, the repairs' own time per page.
The last line sums over all pages (a corpus-weighted ratio).  Absolute times depend on the machine; compare
ratios between runs on the same machine.  Rounds alternate the three measurements so that a noisy neighbour
hurts all three alike.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python3 bench/repairs.py`
    sys.path.insert(0, str(ROOT))

from yarl import URL  # noqa: E402

from proxy import codec, document  # noqa: E402
from proxy.modes import Modes  # noqa: E402
from proxy.pipeline import Page, Pipeline, default_transforms  # noqa: E402
from proxy.rules import load_rules_dir  # noqa: E402
from proxy.settings import Settings  # noqa: E402
from proxy.transforms.aria import RepairTransform  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from cold import TARGET_PAGE, steps  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "pages"
FIXTURES = ROOT / "tests" / "fixtures" / "repairs"


def load_pages() -> tuple[list[tuple[str, str]], str]:
    paths = sorted(CORPUS.glob("*.html")) if CORPUS.is_dir() else []
    where = f"{len(paths)} corpus pages ({CORPUS})"
    if not paths:
        paths = sorted(FIXTURES.glob("*.html"))
        where = f"{len(paths)} fixture pages (no ../shared/corpus)"
    pages = []
    for path in paths:
        raw = path.read_bytes()
        charset, _ = codec.sniff_charset(raw, None)
        pages.append((path.name, codec.decode(raw, charset)))
    return pages, where


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30, help="rounds per page (30); the median is reported")
    parser.add_argument("--quick", action="store_true", help="5 rounds: a smoke run")
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    parser.add_argument("--hostile", action="store_true", help="generated hostile pages instead of the corpus")
    args = parser.parse_args(argv)
    if args.hostile:
        return hostile()
    repeat = 5 if args.quick else args.repeat
    if repeat < 1:
        parser.error("--repeat must be at least 1")

    settings = Settings()
    rules, errors = load_rules_dir(ROOT / "rules")
    if errors:
        print(f"repairs: the bundled rules have errors: {errors[0]}", file=sys.stderr)
        return 1
    repairs = Pipeline([t for t in default_transforms(settings) if isinstance(t, RepairTransform)])
    plain = Pipeline(default_transforms(settings))
    pages, where = load_pages()
    print(f"{where}; {repeat} rounds; repair transforms: {', '.join(t.name for t in repairs.transforms)}")

    def page_for(name: str) -> Page:
        url = URL(f"http://www.example.gov.cn/{name}")
        return Page(url=url, modes=Modes(), settings=settings, rules=rules.for_page(url.host, url.path))

    def passthrough(html: str, page: Page) -> str:
        return document.serialize(document.parse(html))

    samples: dict[str, dict[str, list[float]]] = {name: {"pass": [], "repairs": [], "plain": []} for name, _ in pages}
    step_samples: dict[str, dict[str, list[float]]] = {name: {} for name, _ in pages}
    runs = {"pass": passthrough, "repairs": repairs.render, "plain": plain.render}
    for name, html in pages:  # warm-up: imports, compiled XPaths, OpenCC
        for run in runs.values():
            run(html, page_for(name))
    for _ in range(repeat):
        for name, html in pages:
            for label, run in runs.items():
                page = page_for(name)
                started = time.perf_counter()
                run(html, page)
                samples[name][label].append(time.perf_counter() - started)
            for step, seconds in steps(plain, html, page_for(name)).items():
                step_samples[name].setdefault(step, []).append(seconds)

    rows = []
    header = f"{'page':<34} {'KB':>5} {'pass ms':>8} {'repairs ms':>10} {'repairs x':>9} {'+ms':>7} {'plain ms':>9}"
    print()
    print(header)
    print("-" * len(header))
    totals = {"pass": 0.0, "repairs": 0.0, "plain": 0.0}
    for name, html in pages:
        median = {label: statistics.median(values) * 1000 for label, values in samples[name].items()}
        for label in totals:
            totals[label] += median[label]
        size = len(html.encode("utf-8")) / 1024
        ratio = median["repairs"] / median["pass"]
        rows.append({"page": name, "kb": round(size, 1), **{f"{k}_ms": round(v, 3) for k, v in median.items()},
                     "repairs_ratio": round(ratio, 3)})
        print(f"{name[:34]:<34} {size:>5.0f} {median['pass']:>8.2f} {median['repairs']:>10.2f} {ratio:>9.2f} "
              f"{median['repairs'] - median['pass']:>7.2f} {median['plain']:>9.2f}")
    ratio = totals["repairs"] / totals["pass"]
    print("-" * len(header))
    print(f"{'all pages':<34} {'':>5} {totals['pass']:>8.2f} {totals['repairs']:>10.2f} {ratio:>9.2f} "
          f"{totals['repairs'] - totals['pass']:>7.2f} {totals['plain']:>9.2f}")
    print("repairs x = (parse + repairs + serialize) / (parse + serialize); +ms = the repairs' own time per page")
    step_rows = print_step_table(pages, samples, step_samples, plain, {t.name for t in repairs.transforms})
    if args.json:
        Path(args.json).write_text(json.dumps({"pages": where, "repeat": repeat, "rows": rows, "steps": step_rows,
                                               "total_ratio": round(ratio, 3)}, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


def print_step_table(pages, samples, step_samples, pipeline: Pipeline, repair_names: set[str]) -> list[dict]:
    """Per transform (plain mode): median ms summed over the pages and its share of their pass-through, and the
    same on the 100 KB page; repair transforms marked *."""
    pass_total = sum(statistics.median(samples[name]["pass"]) for name, _ in pages)
    target = TARGET_PAGE if TARGET_PAGE in step_samples else None
    target_pass = statistics.median(samples[target]["pass"]) if target else 0.0
    order = ["parse"] + [t.name for t in pipeline.transforms] + ["serialize"]
    print()
    head = f"{'step (plain mode)':<22} {'all pages ms':>12} {'x pass':>7}"
    head += f" {target[:22]:>22} {'x pass':>7}" if target else ""
    print(head)
    print("-" * len(head))
    rows = []
    for step in order:
        values = [statistics.median(step_samples[name][step]) for name, _ in pages if step in step_samples[name]]
        if not values:
            continue
        summed = sum(values)
        row = {"step": step, "repair": step in repair_names, "all_pages_ms": round(summed * 1000, 3),
               "x_pass": round(summed / pass_total, 3)}
        label = step + (" *" if step in repair_names else "")
        line = f"{label:<22} {summed * 1000:>12.2f} {summed / pass_total:>6.2f}x"
        if target and step in step_samples[target]:
            own = statistics.median(step_samples[target][step])
            row.update({"target_page_ms": round(own * 1000, 3), "target_page_x_pass": round(own / target_pass, 3)})
            line += f" {own * 1000:>22.2f} {own / target_pass:>6.2f}x"
        rows.append(row)
        print(line)
    print("* a repair transform; x pass = the step's time / (parse + serialize) of the same pages")
    return rows


# (page, size) from tests/test_hostile_pages.PAGES; nesting stops at about 2,000 levels in libxml2.
HOSTILE_SIZES = [("aside", 4000), ("nav", 8000), ("named section", 4000), ("role=region", 4000),
                 ("mixed landmarks", 4000), ("image links", 10000), ("fields and buttons", 4000), ("tables", 4000),
                 ("nested tables", 1000), ("nested navs", 1600), ("deep blocks", 2000), ("text between", 4000),
                 ("unwrapped and dropped", 4000)]


def hostile() -> int:
    """CPU seconds (best of three) of each generated hostile page, plain and in every mode at once."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_hostile_pages import ALL_MODES, PAGES, best_time, render  # noqa: E402 (needs the test extras)

    print(f"{'page (size)':<34} {'plain s':>8} {'all modes s':>12}")
    for name, size in HOSTILE_SIZES:
        html = PAGES[name][0](size)
        render(html, "")  # warm-up
        plain_s, all_s = best_time(html, ""), best_time(html, ALL_MODES)
        print(f"{f'{name} ({size:,})':<34} {plain_s:>8.2f} {all_s:>12.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
