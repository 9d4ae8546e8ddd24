"""The `a11y-proxy` command: serve, demo, render, check-rules."""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from pathlib import Path

from aiohttp import web
from yarl import URL

from . import __version__
from .yamlsource import SourceError


def _settings(args: argparse.Namespace):
    from .settings import Settings, load_settings, parse_listen, parse_upstream

    overrides = {}
    if getattr(args, "upstream", None):
        overrides["upstream"] = parse_upstream(args.upstream)
    if getattr(args, "listen", None):
        overrides["listen_host"], overrides["listen_port"] = parse_listen(args.listen)
    if getattr(args, "rules", None):
        overrides["rules_dir"] = Path(args.rules).resolve()
    if getattr(args, "workers", None) is not None:
        overrides["workers"] = args.workers
    if getattr(args, "config", None):
        return load_settings(Path(args.config), **overrides)
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import Supervisor, default_workers, run_worker

    settings = _settings(args)
    if not args.upstream and not args.config:
        print("a11y-proxy serve: give --upstream URL (or --config FILE with 'upstream:')", file=sys.stderr)
        return 2
    workers = settings.workers or default_workers()
    logging.getLogger(__name__).info("proxying %s on http://%s:%d/ with %d worker process(es)", settings.upstream,
                                     settings.listen_host, settings.listen_port, workers)
    if workers == 1:
        run_worker(settings)
        return 0
    return Supervisor(settings, workers).run()


def cmd_demo(args: argparse.Namespace) -> int:
    from .app import create_app
    from .demo.portal import start_portal
    from .settings import Settings, parse_listen, parse_upstream

    async def run() -> None:
        portal_runner, portal_port = await start_portal("127.0.0.1", 0)
        host, port = parse_listen(args.listen)
        settings = dataclasses.replace(
            _settings(argparse.Namespace(config=args.config, rules=args.rules, upstream=None, listen=None))
            if args.config else Settings(rules_dir=Path(args.rules).resolve() if args.rules else _bundled_rules()),
            upstream=parse_upstream(f"http://127.0.0.1:{portal_port}"),
            upstream_aliases=("www.shifan.gov.cn",), listen_host=host, listen_port=port)
        runner = web.AppRunner(create_app(settings))
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        print(f"demo portal (upstream): http://127.0.0.1:{portal_port}/")
        print(f"open the proxy:         http://{host}:{bound}/")
        print(f"  Traditional + elder:  http://{host}:{bound}/-/trad+elder/")
        sys.stdout.flush()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            await portal_runner.cleanup()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


def _bundled_rules() -> Path | None:
    """The repository's rules/: beside the package in a checkout, or in the current folder when the package
    was installed with `pip install .` from the repository root (as the README does)."""
    candidates = (Path(__file__).resolve().parent.parent / "rules", Path.cwd() / "rules")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    # Say so: without the demo portal's rule file its header links are not rewired, and nothing else tells.
    logging.getLogger(__name__).warning("no rules folder (looked for %s): running on heuristics alone; "
                                        "pass --rules or set A11Y_PROXY_RULES", " and ".join(map(str, candidates)))
    return None


def cmd_render(args: argparse.Namespace) -> int:
    from . import codec
    from .modes import UnknownMode, parse as parse_modes
    from .pipeline import Page, build_pipeline
    from .rules import PageRules, load_rules_dir
    from .urls import mode_prefix

    settings = _settings(args)
    url = URL(args.url)
    settings = dataclasses.replace(settings, upstream=url.origin()) if url.is_absolute() else settings
    try:
        modes = parse_modes(args.modes or "")
    except UnknownMode as exc:
        print(f"a11y-proxy render: {exc}", file=sys.stderr)
        return 2
    rules = PageRules()
    if settings.rules_dir is not None:
        rule_set, errors = load_rules_dir(settings.rules_dir)
        if errors:
            for error in errors:
                print(error, file=sys.stderr)
            return 1
        rules = rule_set.for_page((url.host or "",) + settings.upstream_aliases, url.path)
    raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    charset, _ = codec.sniff_charset(raw, None)
    page = Page(url=url, modes=modes, settings=settings, prefix=mode_prefix(modes), rules=rules)
    html = build_pipeline(settings).render(codec.decode(raw, charset), page)
    sys.stdout.buffer.write(html.encode("utf-8"))
    return 0


def cmd_check_rules(args: argparse.Namespace) -> int:
    from .rules import check_rules_dir

    errors, count = check_rules_dir(Path(args.dir))
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem(s) in {args.dir}", file=sys.stderr)
        return 1
    print(f"{count} rule file(s) OK in {args.dir}")
    return 0


def cmd_rules_schema(args: argparse.Namespace) -> int:
    import json

    from .rules import json_schema

    print(json.dumps(json_schema(), ensure_ascii=False, indent=2))
    return 0


def _int_env(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="a11y-proxy", description=__doc__)
    parser.add_argument("--version", action="version", version=f"a11y-proxy {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the proxy in front of an upstream portal")
    # Environment fallbacks make container deployments need no command-line changes.
    serve.add_argument("--upstream", default=os.environ.get("A11Y_PROXY_UPSTREAM"),
                       help="the portal's origin, e.g. https://www.example.gov.cn [$A11Y_PROXY_UPSTREAM]")
    serve.add_argument("--listen", default=os.environ.get("A11Y_PROXY_LISTEN"),
                       help="HOST:PORT to listen on (default 127.0.0.1:8080) [$A11Y_PROXY_LISTEN]")
    serve.add_argument("--rules", default=os.environ.get("A11Y_PROXY_RULES"),
                       help="folder of YAML rule files [$A11Y_PROXY_RULES]")
    serve.add_argument("--config", default=os.environ.get("A11Y_PROXY_CONFIG"),
                       help="site config file (YAML); command-line options win over it [$A11Y_PROXY_CONFIG]")
    serve.add_argument("--workers", type=int, default=_int_env("A11Y_PROXY_WORKERS"),
                       help="worker processes sharing the port (default: one per core) [$A11Y_PROXY_WORKERS]")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="run the bundled demo portal with the proxy in front of it (offline)")
    # The same environment fallbacks as serve: in the container image, `demo` then listens on 0.0.0.0 and
    # finds the rules (the demo portal's own among them) where the image put them.
    demo.add_argument("--listen", default=os.environ.get("A11Y_PROXY_LISTEN", "127.0.0.1:8080"),
                      help="HOST:PORT for the proxy (default 127.0.0.1:8080) [$A11Y_PROXY_LISTEN]")
    demo.add_argument("--rules", default=os.environ.get("A11Y_PROXY_RULES"),
                      help="folder of YAML rule files (default: the repository's rules/) [$A11Y_PROXY_RULES]")
    demo.add_argument("--config", help="site config file (its upstream is replaced by the demo portal)")
    demo.set_defaults(func=cmd_demo)

    render = sub.add_parser("render", help="transform one HTML file offline and print the result (UTF-8)")
    render.add_argument("file", help="HTML file, or - for standard input")
    render.add_argument("--url", default="http://localhost/", help="the page's URL at the upstream")
    render.add_argument("--modes", default="", help="e.g. trad+elder ('' = plain)")
    render.add_argument("--rules", help="folder of YAML rule files")
    render.add_argument("--config", help="site config file (YAML)")
    render.set_defaults(func=cmd_render)

    schema = sub.add_parser("rules-schema", help="print the JSON Schema of rule files")
    schema.set_defaults(func=cmd_rules_schema)

    check = sub.add_parser("check-rules", help="validate a folder of rule files; print file:line: problem")
    check.add_argument("dir")
    check.set_defaults(func=cmd_check_rules)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except SourceError as exc:
        print(f"a11y-proxy: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"a11y-proxy: {exc}", file=sys.stderr)
        return 2
