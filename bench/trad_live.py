"""POST /-/convert benchmark (Traditional script for text a page's scripts write), against /-/health in the same run.

    python3 bench/trad_live.py            # 6 rounds of 3 s per kind (~1 min)
    python3 bench/trad_live.py --quick    # a smoke run
    python3 bench/trad_live.py --json out.json

The proxy (`proxy.app.create_app` with the bundled rules, as `a11y-proxy serve` runs it: one worker) runs in its
own process on 127.0.0.1; the client runs here, with 8 requests in flight, and the kinds alternate round by round
(this machine's speed drifts).  Kinds:

* health - GET /-/health: the cheapest request the proxy answers (the ratio's denominator);
* batch  - what trad-live.js sends after a script rendered a list: 12 runs of text (one split by inline markup)
           and attribute values, 16 items and about 200 characters, as the demo portal's 便民服务 column makes;
* large  - one request of 64 KiB of Chinese text (the runs of text of the demo and corpus pages): the
           endpoint's conversion speed, compared with one raw OpenCC call on the same text in this process.

Printed: requests/s per kind, batch / health (what a conversion request costs against the proxy's floor), and
for large batches MB/s of text and its ratio to raw OpenCC.  Client and proxy share this machine's cores.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import aiohttp  # noqa: E402
from loopback import free_port, wait_until_listening  # noqa: E402

# As trad-live.js sends it: a run of several text nodes is a list of them; a lone text or an attribute value a string.
BATCH = ["示范市卫生健康委员会", ["心理", "发展咨询服务预约"], "每周三下午开放预约", "示范市民政局",
         ["理发", "服务进社区（老年人免费）"], "剪头发、洗头发，每月一次", "示范市人力资源和社会保障局",
         ["社会保障卡", "申领与补换"], "携带身份证原件办理", "示范市公安局", ["居住证", "签注办理"],
         "网上办理，最多跑一次", "数据更新时间：2026-11-20 09:30，数据来源：便民服务数据库",
         "来源：示范市政务服务和数据管理局", "关于开展2026年度政府网站与政务新媒体检查工作的通知",
         "示范市2026年公开招聘社区工作者公告"]


def large_texts(limit: int = 64 * 1024) -> list[str]:
    from proxy import document
    from proxy.transforms.trad_markup import runs_of_text

    pages = sorted((ROOT / "proxy" / "demo" / "site").rglob("*.html"))
    corpus = ROOT.parent / "shared" / "corpus" / "pages"
    pages += sorted(corpus.glob("*.html")) if corpus.is_dir() else []
    runs = []
    for path in pages:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", "replace")
        runs += [run.strip() for run in runs_of_text(document.serialize(document.parse(text))) if not run.isascii()]
    out, size = [], 0
    while size < limit:  # the pages' runs, repeated as needed, up to the size
        for run in runs:
            if size + len(run.encode()) + 4 > limit:
                return out
            out.append(run)
            size += len(run.encode()) + 4
    return out


def proxy_main(port: int) -> None:
    import dataclasses
    import logging

    from aiohttp import web

    from proxy.app import create_app
    from proxy.settings import Settings, parse_upstream

    logging.disable(logging.WARNING)
    settings = dataclasses.replace(Settings(access_log=False), upstream=parse_upstream("http://www.shifan.gov.cn"),
                                   rules_dir=ROOT / "rules")
    web.run_app(create_app(settings), host="127.0.0.1", port=port, print=None, access_log=None)


async def run_for(session: aiohttp.ClientSession, base: str, kind: str, body: bytes | None, seconds: float,
                  in_flight: int = 8) -> float:
    """Requests per second of one kind, `in_flight` at a time, for about `seconds`."""
    headers = {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}
    done = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < end:
            if body is None:
                response = await session.get(base + "/-/health")
            else:
                response = await session.post(base + "/-/convert", data=body, headers=headers)
            await response.read()
            if response.status != 200:
                raise SystemExit(f"{kind}: HTTP {response.status}")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return done / (time.perf_counter() - started)


async def measure(base: str, rounds: int, seconds: float) -> dict:
    from proxy.convert import get_converter

    batch = json.dumps({"variant": "s2t", "page": "/bmfw/", "texts": BATCH}, ensure_ascii=False).encode()
    large_list = large_texts()
    large = json.dumps({"variant": "s2t", "page": "/bmfw/", "texts": large_list}, ensure_ascii=False).encode()
    text_bytes = sum(len(t.encode()) for t in large_list)
    converter = get_converter("s2t", (("锡山区", "錫山區"),))
    joined = "\x1f".join(large_list)
    samples: dict[str, list[float]] = {"health": [], "batch": [], "large": [], "raw": []}
    connector = aiohttp.TCPConnector(limit=16)
    async with aiohttp.ClientSession(connector=connector) as session:
        for kind, body in (("health", None), ("batch", batch), ("large", large)):  # warm-up (tables, converter)
            await run_for(session, base, kind, body, 0.5)
        for _ in range(rounds):
            for kind, body in (("health", None), ("batch", batch), ("large", large)):
                samples[kind].append(await run_for(session, base, kind, body, seconds))
            started = time.perf_counter()
            for _ in range(5):
                converter.convert(joined)
            samples["raw"].append(5 / (time.perf_counter() - started))
    figures = {kind: statistics.median(values) for kind, values in samples.items()}
    figures["batch_chars"] = sum(len(t) if isinstance(t, str) else sum(map(len, t)) for t in BATCH)
    figures["batch_bytes"] = len(batch)
    figures["large_bytes"] = len(large)
    figures["large_text_mb_per_s"] = figures["large"] * text_bytes / 1e6
    figures["raw_text_mb_per_s"] = figures["raw"] * text_bytes / 1e6
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 1 s")
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    rounds, seconds = (2, 1.0) if args.quick else (6, 3.0)

    port = free_port()
    process = multiprocessing.Process(target=proxy_main, args=(port,), daemon=True)
    process.start()
    try:
        asyncio.run(wait_until_listening(port))
        figures = asyncio.run(measure(f"http://127.0.0.1:{port}", rounds, seconds))
    finally:
        process.terminate()
        process.join(5)
    f = figures
    print(f"POST /-/convert against GET /-/health, same run: {rounds} rounds of {seconds:.0f} s per kind, 8 in flight")
    print(f"{'':8}{'req/s':>10}{'/ health':>10}")
    print(f"{'health':8}{f['health']:10.0f}{1:10.2f}")
    print(f"{'batch':8}{f['batch']:10.0f}{f['batch'] / f['health']:10.2f}   ({f['batch_chars']} characters, "
          f"{f['batch_bytes']} bytes a request)")
    print(f"{'large':8}{f['large']:10.1f}{f['large'] / f['health']:10.3f}   ({f['large_bytes'] // 1024} KiB a request: "
          f"{f['large_text_mb_per_s']:.1f} MB/s of text; raw OpenCC on the same text here "
          f"{f['raw_text_mb_per_s']:.1f} MB/s, ratio {f['large_text_mb_per_s'] / f['raw_text_mb_per_s']:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
