"""The `a11y-proxy` command: serve, demo, healthcheck, render, check-rules, rules-schema.

Where settings come from, highest first (serve, demo and healthcheck):

    command-line flags  >  environment ($A11Y_PROXY_*)  >  config file (--config, $A11Y_PROXY_CONFIG)
                        >  defaults file ($A11Y_PROXY_DEFAULTS: the container image's)  >  built-in defaults

Every start-up failure (a port in use or not ours to take, a bad upstream URL, a config or rules folder that
cannot be read, a bad value in the environment) is one line on stderr and exit code 2, before anything
listens.  SIGTERM, SIGINT and SIGHUP stop every command that serves promptly, draining in-flight requests.
"""
from __future__ import annotations

import argparse
import dataclasses
import errno
import logging
import os
import socket
import sys
from pathlib import Path

from . import __version__
from .yamlsource import SourceError

log = logging.getLogger(__name__)


class StartupError(Exception):
    """Something that stops the proxy from starting: reported as one line, exit code 2."""


# --- settings from every source ------------------------------------------------------------------------

_NO_UPSTREAM = "http://upstream.not-configured.invalid"


def _flag_overrides(args: argparse.Namespace) -> dict:
    from .settings import parse_listen, parse_public_hosts, parse_upstream, parse_workers

    overrides: dict = {}
    if getattr(args, "upstream", None):
        overrides["upstream"] = parse_upstream(args.upstream)
    if getattr(args, "listen", None):
        overrides["listen_host"], overrides["listen_port"] = parse_listen(args.listen)
    if getattr(args, "rules", None):
        overrides["rules_dir"] = Path(args.rules).resolve()
    if getattr(args, "workers", None) is not None:
        try:  # the same check as $A11Y_PROXY_WORKERS and 'workers:' in a config file
            overrides["workers"] = parse_workers(args.workers)
        except ValueError as exc:
            raise ValueError(f"--workers: {exc}") from None
    if getattr(args, "public_hosts", None):
        overrides["public_hosts"] = parse_public_hosts(args.public_hosts)
    if getattr(args, "log_format", None):
        overrides["log_format"] = args.log_format
    return overrides


def resolve_settings(args: argparse.Namespace, environ=None):
    """flags > environment > config file > defaults file > built-in defaults.  A setting's upstream is
    _NO_UPSTREAM when no source gave one."""
    from yarl import URL

    from .settings import Settings, load_settings, overrides_from_env

    environ = os.environ if environ is None else environ
    settings = Settings(upstream=URL(_NO_UPSTREAM))
    defaults = environ.get("A11Y_PROXY_DEFAULTS", "").strip()
    if defaults:
        settings = load_settings(Path(defaults), settings)
    config = getattr(args, "config", None) or environ.get("A11Y_PROXY_CONFIG", "").strip()
    if config:
        settings = load_settings(Path(config), settings)
    return dataclasses.replace(settings, **{**overrides_from_env(environ), **_flag_overrides(args)})


def _has_upstream(settings) -> bool:
    return str(settings.upstream) != _NO_UPSTREAM


# --- checks before anything listens ------------------------------------------------------------------

def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_listen(host: str, port: int) -> None:
    """Bind the address once, as the server will (SO_REUSEADDR, as asyncio sets it), and let go: a clear
    StartupError instead of a traceback from inside the server."""
    where = _address(host, port)
    if not 1 <= port <= 65535:
        raise StartupError(f"cannot listen on {where}: ports go from 1 to 65535")
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {where}: unknown host name ({exc.strerror}); use an address of "
                           "this machine, 0.0.0.0 for all interfaces or 127.0.0.1 for this machine only") from None
    for family, kind, proto, _name, address in infos[:1]:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise StartupError(describe_bind_error(where, exc)) from None


def describe_bind_error(where: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"cannot listen on {where}: the port is already in use by another program; choose another "
                "with --listen HOST:PORT (or $A11Y_PROXY_LISTEN)")
    if exc.errno == errno.EACCES:
        return (f"cannot listen on {where}: permission denied (ports below 1024 need root or "
                "CAP_NET_BIND_SERVICE); choose a port from 1024 up with --listen HOST:PORT")
    if exc.errno == errno.EADDRNOTAVAIL:
        return (f"cannot listen on {where}: this machine has no such address; use 0.0.0.0 for all interfaces "
                "or 127.0.0.1 for this machine only")
    return f"cannot listen on {where}: {exc.strerror or exc}"


def check_rules(directory: Path | None) -> None:
    """The rules folder exists and every rule file in it can be read (their content is checked by the
    server, which logs each problem as file:line and serves the valid files)."""
    if directory is None:
        return
    if not directory.exists():
        raise StartupError(f"rules folder {directory} does not exist (--rules, $A11Y_PROXY_RULES or 'rules:' "
                           "in the config file)")
    if not directory.is_dir():
        raise StartupError(f"rules folder {directory} is not a folder")
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise StartupError(f"cannot read rules folder {directory}: {exc.strerror}") from None
    for name in names:
        if name.endswith((".yaml", ".yml")) and not name.startswith("."):
            try:
                with open(directory / name, "rb") as file:
                    file.read(1)
            except OSError as exc:
                raise StartupError(f"cannot read rule file {directory / name}: {exc.strerror}") from None


def check_conversion() -> None:
    from .convert import ConversionSetupError, check

    try:
        check()
    except ConversionSetupError as exc:
        raise StartupError(str(exc)) from None


def preflight(settings) -> None:
    check_rules(settings.rules_dir)
    check_conversion()
    check_listen(settings.listen_host, settings.listen_port)


def _apply_log_format(args: argparse.Namespace, settings) -> None:
    from .logs import configure

    configure(args.log_level, settings.log_format)


# --- commands --------------------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace) -> int:
    from .server import Supervisor, default_workers, run_worker

    settings = resolve_settings(args)
    if not _has_upstream(settings):
        raise StartupError("serve: no upstream: give --upstream URL, $A11Y_PROXY_UPSTREAM, or 'upstream:' in the "
                           "config file (--config / $A11Y_PROXY_CONFIG)")
    _apply_log_format(args, settings)
    preflight(settings)
    workers = settings.workers or default_workers()
    if workers > 1:
        _usable_temp_folder()
    log.info("proxying %s on http://%s/ with %d worker process(es)", settings.upstream,
             _address(settings.listen_host, settings.listen_port), workers)
    if workers == 1:
        try:
            run_worker(settings)
        except OSError as exc:  # lost a race for the port since preflight
            raise StartupError(describe_bind_error(_address(settings.listen_host, settings.listen_port), exc)) \
                from None
        return 0
    try:
        return Supervisor(settings, workers).run()
    except OSError as exc:  # lost a race for the port since preflight
        raise StartupError(describe_bind_error(_address(settings.listen_host, settings.listen_port), exc)) from None


def _usable_temp_folder() -> None:
    """The supervisor keeps the workers' metrics in a temporary folder.  On a read-only root filesystem
    (docker run --read-only, Kubernetes' readOnlyRootFilesystem) without a tmpfs on /tmp, use /dev/shm,
    which container engines mount writable and in memory."""
    import tempfile

    try:
        tempfile.gettempdir()
        probe = tempfile.mkdtemp(prefix="a11y-proxy-probe-")
        os.rmdir(probe)
        return
    except OSError:
        pass
    if os.access("/dev/shm", os.W_OK):
        tempfile.tempdir = "/dev/shm"
        log.info("no writable temporary folder; the workers' metrics go to /dev/shm")
        return
    raise StartupError("no writable temporary folder for the workers' metrics: mount one on /tmp (docker run "
                       "--tmpfs /tmp; Kubernetes: an emptyDir) or set TMPDIR, or run one process (--workers 1)")


def _url_host(host: str) -> str:
    """A host a browser can open: 'localhost' for the wildcard addresses, brackets for IPv6."""
    if host in ("", "0.0.0.0", "::"):
        return "localhost"
    return f"[{host}]" if ":" in host else host


def cmd_demo(args: argparse.Namespace) -> int:
    import asyncio

    from aiohttp import web

    from .app import create_app
    from .demo.portal import start_portal
    from .server import STOP_SIGNALS
    from .settings import parse_upstream

    args.upstream = None
    settings = resolve_settings(args)
    if settings.rules_dir is None:
        settings = dataclasses.replace(settings, rules_dir=_bundled_rules())
    _apply_log_format(args, settings)
    preflight(settings)
    host, port = settings.listen_host, settings.listen_port

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:  # (as PID 1 in a container, SIGTERM is ignored otherwise)
            loop.add_signal_handler(signum, stop.set)
        portal_runner, portal_port = await start_portal("127.0.0.1", 0)
        try:
            demo_settings = dataclasses.replace(settings, upstream=parse_upstream(f"http://127.0.0.1:{portal_port}"),
                                                upstream_aliases=("www.shifan.gov.cn",))
            runner = web.AppRunner(create_app(demo_settings), shutdown_timeout=settings.timeouts.drain,
                                   handler_cancellation=True,
                                   access_log=logging.getLogger("aiohttp.access") if settings.access_log else None)
            await runner.setup()
            try:
                try:
                    await web.TCPSite(runner, host, port).start()
                except OSError as exc:
                    raise StartupError(describe_bind_error(_address(host, port), exc)) from None
                bound = runner.addresses[0][1] if runner.addresses else port
                base = f"http://{_url_host(host)}:{bound}"
                print(f"demo portal (upstream): http://127.0.0.1:{portal_port}/")
                print(f"open the proxy:         {base}/")
                print(f"  Traditional + elder:  {base}/-/trad+elder/")
                if host in ("", "0.0.0.0", "::"):
                    print("  (listening on all interfaces; in a container, open the port you published)")
                sys.stdout.flush()
                await stop.wait()
                log.info("demo: stopping")
            finally:
                await runner.cleanup()
        finally:
            await portal_runner.cleanup()

    asyncio.run(run())
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


def _pid1_command() -> argparse.Namespace | None:
    """In a container, the command running as PID 1 (`a11y-proxy serve --listen …`), parsed, when it is ours:
    its flags are what the health check must follow.  None elsewhere."""
    try:
        argv = [part.decode() for part in Path("/proc/1/cmdline").read_bytes().split(b"\0") if part]
    except (OSError, UnicodeDecodeError):
        return None
    for index, part in enumerate(argv):
        ours = Path(part).name == "a11y-proxy" or (part == "proxy" and index and argv[index - 1] == "-m")
        if ours and index + 1 < len(argv):
            try:
                parsed = build_parser().parse_args(argv[index + 1:])
            except SystemExit:
                return None
            return parsed if parsed.command in ("serve", "demo") else None
    return None


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """Exit 0 when /-/health answers 200 on the port the proxy listens on, 1 otherwise (one line)."""
    import http.client

    source = args
    if not args.listen:
        source = _pid1_command() or args
        if source is not args and args.config:
            source.config = args.config
    settings = resolve_settings(source)
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(settings.listen_host, settings.listen_host)
    where = _address(host, settings.listen_port)
    try:
        connection = http.client.HTTPConnection(host, settings.listen_port, timeout=args.timeout)
        connection.request("GET", "/-/health", headers={"Host": "localhost", "Connection": "close"})
        status = connection.getresponse().status
    except OSError as exc:
        print(f"unhealthy: http://{where}/-/health: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: http://{where}/-/health answered {status}", file=sys.stderr)
        return 1
    print(f"healthy: http://{where}/-/health")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from yarl import URL

    from . import codec
    from .modes import UnknownMode, parse as parse_modes
    from .pipeline import Page, build_pipeline
    from .rules import PageRules, load_rules_dir
    from .settings import Settings, load_settings
    from .urls import mode_prefix

    overrides = _flag_overrides(args)  # render is offline: flags and its config file only, no environment
    settings = load_settings(Path(args.config), **overrides) if args.config else Settings(**overrides)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="a11y-proxy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"a11y-proxy {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR (default INFO)")
    parser.add_argument("--log-format", choices=("text", "json"), default=None,
                        help="text (default) or json: one object per line [$A11Y_PROXY_LOG_FORMAT, log_format:]")
    sub = parser.add_subparsers(dest="command", required=True)

    # No defaults here: a flag given wins over the environment, which wins over the config file (resolve_settings).
    serve = sub.add_parser("serve", help="run the proxy in front of an upstream portal")
    serve.add_argument("--upstream", help="the portal's origin, e.g. https://www.example.gov.cn [$A11Y_PROXY_UPSTREAM]")
    serve.add_argument("--listen", help="HOST:PORT to listen on (default 127.0.0.1:8080) [$A11Y_PROXY_LISTEN]")
    serve.add_argument("--rules", help="folder of YAML rule files [$A11Y_PROXY_RULES]")
    serve.add_argument("--config", help="site config file (YAML); the environment and flags win over it "
                                        "[$A11Y_PROXY_CONFIG]")
    serve.add_argument("--workers", default=None,
                       help="worker processes sharing the port (default: one per core) [$A11Y_PROXY_WORKERS]")
    serve.add_argument("--public-hosts", help="host names readers use, e.g. 'a11y.example.gov.cn, "
                                              "big5.example.gov.cn=trad' [$A11Y_PROXY_PUBLIC_HOSTS]")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="run the bundled demo portal with the proxy in front of it (offline)")
    demo.add_argument("--listen", help="HOST:PORT for the proxy (default 127.0.0.1:8080) [$A11Y_PROXY_LISTEN]")
    demo.add_argument("--rules", help="folder of YAML rule files (default: the repository's rules/) "
                                      "[$A11Y_PROXY_RULES]")
    demo.add_argument("--config", help="site config file (its upstream is replaced by the demo portal) "
                                       "[$A11Y_PROXY_CONFIG]")
    demo.set_defaults(func=cmd_demo)

    health = sub.add_parser("healthcheck", help="exit 0 if the proxy on this machine answers /-/health (for "
                                                "container health checks; follows the configured port)")
    health.add_argument("--listen", help="HOST:PORT to probe (default: where serve/demo listen, as configured)")
    health.add_argument("--config", help="site config file [$A11Y_PROXY_CONFIG]")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    health.set_defaults(func=cmd_healthcheck)

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
    from .logs import configure

    args = build_parser().parse_args(argv)
    try:
        configure(args.log_level, args.log_format or os.environ.get("A11Y_PROXY_LOG_FORMAT", "").strip() or "text")
    except ValueError as exc:
        print(f"a11y-proxy: $A11Y_PROXY_LOG_FORMAT: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (StartupError, SourceError, ValueError) as exc:
        print(f"a11y-proxy: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
