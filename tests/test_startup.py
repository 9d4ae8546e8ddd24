"""Starting and stopping as an operator meets it: every start-up failure is one line and exit code 2; SIGTERM
stops `demo` and `serve` (one worker or several) in under 2 s with exit 0, also as PID 1 of a PID namespace
(as in a container); settings come from flags > environment > config file > defaults file; public host names
from the environment; a read-only root filesystem still converts pages with site phrases; JSON logs with a
request id that reaches the upstream."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web

from proxy.cli import build_parser, resolve_settings
from tests.conftest import ROOT
from tests.harness import child_pids, free_port

IS_ROOT = os.geteuid() == 0
DEFAULTS_FILE = ROOT / "deploy" / "image-defaults.yaml"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("A11Y_PROXY_", "PROMETHEUS_"))}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def run(*args: str, env: dict | None = None, prefix: tuple[str, ...] = (), timeout: float = 30,
        cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "proxy", *args], capture_output=True, text=True,
                          cwd=cwd, env=env or clean_env(), timeout=timeout)


def no_privileges() -> tuple[str, ...]:
    """Run as root without capabilities (no CAP_DAC_OVERRIDE, no CAP_NET_BIND_SERVICE): file modes and low
    ports then apply as to anyone else.  Not root: nothing to drop."""
    if not IS_ROOT:
        return ()
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to drop root's capabilities")
    return ("setpriv", "--bounding-set=-all", "--inh-caps=-all")


def assert_one_line(result: subprocess.CompletedProcess, *fragments: str) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- start-up failures: one clear line, exit code 2 -------------------------------------------------

@pytest.fixture
def taken_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("command", [["demo"], ["serve", "--upstream", "http://127.0.0.1:9", "--workers", "1"],
                                     ["serve", "--upstream", "http://127.0.0.1:9", "--workers", "2"]])
def test_a_port_in_use_is_one_line_naming_the_way_out(taken_port, command):
    result = run(*command, "--listen", f"127.0.0.1:{taken_port}")
    assert_one_line(result, f"127.0.0.1:{taken_port}", "already in use", "--listen")


def test_workers_that_cannot_start_stop_the_server_with_exit_2_and_json_lines():
    """Workers failing at start (the supervisor's own checks passed: a rules folder only they cannot read, say):
    the supervisor gives up after five in a row, with the start-up failure's exit code, 2, and every line it and
    the workers write is a JSON log line naming the error (no multiprocessing traceback)."""
    script = ("import sys, proxy.app\n"
              "def broken(settings, pipeline=None):\n"
              "    raise PermissionError(13, 'Permission denied', '/etc/a11y-proxy/rules')\n"
              "proxy.app.create_app = broken\n"
              "from proxy.cli import main\n"
              f"sys.exit(main(['--log-format', 'json', 'serve', '--listen', '127.0.0.1:{free_port()}', "
              "'--upstream', 'http://127.0.0.1:9', '--workers', '2']))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env=clean_env())
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]  # (each one a JSON object)
    assert any("could not serve: PermissionError" in line["message"] for line in lines)
    assert any("died at start" in line["message"] for line in lines)


def test_a_port_that_needs_privileges_is_one_line():
    if int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text()) <= 81:
        pytest.skip("this machine lets anyone bind low ports")
    result = run("serve", "--upstream", "http://127.0.0.1:9", "--workers", "1", "--listen", "127.0.0.1:81",
                 prefix=no_privileges())
    assert_one_line(result, "127.0.0.1:81", "permission denied", "1024")


@pytest.mark.parametrize("args, env, fragments", [
    (["--upstream", "ftp://portal"], {}, ["upstream must be an http(s) URL", "ftp://portal"]),
    ([], {"A11Y_PROXY_UPSTREAM": "www.example.gov.cn"}, ["$A11Y_PROXY_UPSTREAM", "upstream must be"]),
    ([], {}, ["no upstream", "--upstream", "$A11Y_PROXY_UPSTREAM"]),
    (["--upstream", "http://127.0.0.1:9", "--listen", "8080"], {}, ["HOST:PORT"]),
    (["--upstream", "http://127.0.0.1:9"], {"A11Y_PROXY_WORKERS": "lots"}, ["$A11Y_PROXY_WORKERS", "lots"]),
    (["--upstream", "http://127.0.0.1:9"], {"A11Y_PROXY_PUBLIC_HOSTS": "a11y.example.gov.cn=bigfont"},
     ["$A11Y_PROXY_PUBLIC_HOSTS", "unknown mode 'bigfont'"]),
    (["--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:70000"], {}, ["65535"]),
    (["--upstream", "http://127.0.0.1:9", "--listen", "no-such-host.invalid:8080"], {}, ["unknown host name"]),
    # Port 0 would give each worker a port of its own, none of them the one logged.
    (["--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:0"], {}, ["from 1 to 65535", "127.0.0.1:0"]),
    # The flag is checked as $A11Y_PROXY_WORKERS and 'workers:' are (-1 started a supervisor of -1 workers).
    (["--upstream", "http://127.0.0.1:9", "--workers", "-1"], {}, ["--workers", "from 0", "to 256", "'-1'"]),
    (["--upstream", "http://127.0.0.1:9", "--workers", "two"], {}, ["--workers", "'two'"]),
    # An upstream is an origin: credentials, a path and a query were silently dropped.
    (["--upstream", "http://user:secret@127.0.0.1:19000/"], {}, ["user name or password"]),
    (["--upstream", "http://127.0.0.1:19000/portal/sub/?site=3"], {}, ["a path ('/portal/sub/') is not supported"]),
])
def test_bad_settings_are_one_line(args, env, fragments):
    line = assert_one_line(run("serve", *args, env=clean_env(**env)), *fragments)
    assert "secret" not in line  # (the line goes to logs)


def test_config_and_rules_that_cannot_be_read_are_one_line(tmp_path):
    upstream = ("--upstream", "http://127.0.0.1:9", "--listen", f"127.0.0.1:{free_port()}")
    missing = tmp_path / "missing.yaml"
    assert_one_line(run("serve", *upstream, "--config", str(missing)), str(missing), "cannot read")
    assert_one_line(run("serve", *upstream, env=clean_env(A11Y_PROXY_CONFIG=str(tmp_path))), str(tmp_path),
                    "cannot read")
    assert_one_line(run("serve", *upstream, "--rules", str(tmp_path / "nowhere")), "does not exist")
    a_file = tmp_path / "rules.yaml"
    a_file.write_text("site: x\n", encoding="utf-8")
    assert_one_line(run("serve", *upstream, "--rules", str(a_file)), "is not a folder")
    assert_one_line(run("demo", "--listen", upstream[3], "--rules", str(tmp_path / "nowhere")), "does not exist")

    # No permission: a config file and a rule file the process may not read, a rules folder it may not list.
    secret = tmp_path / "site.yaml"
    secret.write_text("upstream: http://127.0.0.1:9\n", encoding="utf-8")
    secret.chmod(0)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "site.yaml").write_text("site: x\n", encoding="utf-8")
    (rules / "site.yaml").chmod(0)
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0)
    try:
        drop = no_privileges()
        assert_one_line(run("serve", *upstream, "--config", str(secret), prefix=drop), str(secret),
                        "Permission denied")
        assert_one_line(run("serve", *upstream, "--rules", str(rules), prefix=drop), str(rules / "site.yaml"),
                        "Permission denied")
        assert_one_line(run("serve", *upstream, "--rules", str(closed), prefix=drop), str(closed),
                        "Permission denied")
    finally:
        closed.chmod(0o755)


# --- SIGTERM: every serving command stops in under 2 s with exit code 0 -------------------------------

def wait_healthy(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("not healthy in time")


def stop_time(process: subprocess.Popen, port: int, pid: int | None = None) -> float:
    """SIGTERM with an idle keep-alive connection open (as a browser leaves one): seconds until exit."""
    with socket.create_connection(("127.0.0.1", port)) as idle:
        idle.sendall(b"GET /-/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        idle.recv(4096)
        started = time.monotonic()
        os.kill(pid or process.pid, signal.SIGTERM)
        process.wait(15)
        return time.monotonic() - started


COMMANDS = {
    "demo": ["demo"],
    "serve-1": ["serve", "--upstream", "http://127.0.0.1:9", "--workers", "1"],
    "serve-2": ["serve", "--upstream", "http://127.0.0.1:9", "--workers", "2"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_sigterm_stops_promptly_with_exit_0(name):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "proxy", *COMMANDS[name], "--listen", f"127.0.0.1:{port}"],
                               cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(port, process)
        seconds = stop_time(process, port)
    finally:
        if process.poll() is None:
            process.kill()
    print(f"\n{name}: stopped {seconds:.2f} s after SIGTERM, exit {process.returncode}")
    assert process.returncode == 0 and seconds < 2.0


def _namespace_child(unshare_pid: int, seconds: float = 10) -> int:
    """The process unshare --fork started: PID 1 of the new namespace, seen from here."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = child_pids(unshare_pid)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("no child of unshare")


def pid_namespace() -> tuple[str, ...]:
    if not IS_ROOT or not shutil.which("unshare"):
        pytest.skip("a PID namespace needs root and unshare (util-linux)")
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare is not allowed here: {probe.stderr.decode(errors='replace').strip()}")
    return ("unshare", "--pid", "--fork", "--mount-proc")


@pytest.mark.parametrize("name", ["demo", "serve-1", "serve-2"])
def test_as_pid_1_sigterm_still_stops_it(name):
    """A container's PID 1 gets no default action for SIGTERM: without a handler of its own, `docker stop`
    waits 10 s and kills it.  Here the command is PID 1 of a fresh PID namespace, signalled from outside."""
    port = free_port()
    process = subprocess.Popen([*pid_namespace(), sys.executable, "-m", "proxy", *COMMANDS[name], "--listen",
                                f"127.0.0.1:{port}"], cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(port, process)
        child = _namespace_child(process.pid)
        seconds = stop_time(process, port, pid=child)
    finally:
        if process.poll() is None:
            process.kill()
    print(f"\n{name} as PID 1: stopped {seconds:.2f} s after SIGTERM, exit {process.returncode}")
    assert process.returncode == 0 and seconds < 2.0


def test_healthcheck_follows_the_port_pid_1_was_given():
    """In a container, HEALTHCHECK runs `a11y-proxy healthcheck` beside PID 1: it must probe the port PID 1
    listens on, whether that came from a flag, the environment or a file."""
    port = free_port()
    process = subprocess.Popen([*pid_namespace(), sys.executable, "-m", "proxy", "demo", "--listen",
                                f"127.0.0.1:{port}"], cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, process)
        child = _namespace_child(process.pid)
        inside = ("nsenter", "--target", str(child), "--pid", "--mount")
        result = run("healthcheck", prefix=inside, env=clean_env(A11Y_PROXY_DEFAULTS=str(DEFAULTS_FILE)))
        assert result.returncode == 0 and f"127.0.0.1:{port}" in result.stdout, result.stderr
        os.kill(child, signal.SIGTERM)
        process.wait(10)
        result = run("healthcheck", "--timeout", "1", prefix=inside[:0], env=clean_env(A11Y_PROXY_LISTEN=f"127.0.0.1:{port}"))
        assert result.returncode == 1 and "unhealthy" in result.stderr
    finally:
        if process.poll() is None:
            process.kill()


def test_healthcheck_follows_the_environment_and_the_files(tmp_path):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "proxy", "serve", "--upstream", "http://127.0.0.1:9",
                                "--workers", "1"], cwd=ROOT, env=clean_env(A11Y_PROXY_LISTEN=f"127.0.0.1:{port}"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, process)
        by_env = run("healthcheck", env=clean_env(A11Y_PROXY_LISTEN=f"127.0.0.1:{port}"))
        assert by_env.returncode == 0, by_env.stderr
        site = tmp_path / "site.yaml"
        site.write_text(f"listen: 127.0.0.1:{port}\n", encoding="utf-8")
        by_file = run("healthcheck", env=clean_env(A11Y_PROXY_CONFIG=str(site), A11Y_PROXY_DEFAULTS=str(DEFAULTS_FILE)))
        assert by_file.returncode == 0, by_file.stderr
        by_defaults = run("healthcheck", "--timeout", "1", env=clean_env(A11Y_PROXY_DEFAULTS=str(DEFAULTS_FILE)))
        assert by_defaults.returncode == 1  # 8080, where nothing of ours listens
    finally:
        process.terminate()
        process.wait(10)


# --- where settings come from: flags > environment > config file > defaults file > built-in -------------

def resolved(argv: list[str], **environ: str):
    return resolve_settings(build_parser().parse_args(argv), environ)


def test_flags_beat_the_environment_which_beats_the_files(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("upstream: https://www.example.gov.cn\nlisten: 127.0.0.1:7001\nrules: site-rules\n"
                    "timeouts: {read: 11}\nlog_format: json\n", encoding="utf-8")
    files = {"A11Y_PROXY_DEFAULTS": str(DEFAULTS_FILE), "A11Y_PROXY_CONFIG": str(site)}

    only_defaults = resolved(["serve"], A11Y_PROXY_DEFAULTS=str(DEFAULTS_FILE))
    assert (only_defaults.listen_host, only_defaults.listen_port) == ("0.0.0.0", 8080)
    assert only_defaults.rules_dir == (DEFAULTS_FILE.parent / "rules").resolve()

    file_over_defaults = resolved(["serve"], **files)
    assert (file_over_defaults.listen_host, file_over_defaults.listen_port) == ("127.0.0.1", 7001)
    assert file_over_defaults.rules_dir == tmp_path / "site-rules"
    assert file_over_defaults.timeouts.read == 11 and file_over_defaults.timeouts.connect == 5  # key by key
    assert str(file_over_defaults.upstream) == "https://www.example.gov.cn"

    env_over_file = resolved(["serve"], **files, A11Y_PROXY_LISTEN="127.0.0.1:7002", A11Y_PROXY_RULES=str(tmp_path),
                             A11Y_PROXY_UPSTREAM="http://portal.example:8000", A11Y_PROXY_LOG_FORMAT="text",
                             A11Y_PROXY_PUBLIC_HOSTS="a11y.example.gov.cn big5.example.gov.cn=trad-hk",
                             A11Y_PROXY_TRUSTED_PROXIES="10.0.0.0/8,192.168.1.1")
    assert env_over_file.listen_port == 7002 and env_over_file.rules_dir == tmp_path
    assert str(env_over_file.upstream) == "http://portal.example:8000" and env_over_file.log_format == "text"
    assert env_over_file.host_for("BIG5.example.gov.cn").modes.canonical() == "trad-hk"
    assert env_over_file.host_for("a11y.example.gov.cn:443") is not None and env_over_file.host_for("localhost") is None
    assert env_over_file.is_trusted("10.1.2.3") and env_over_file.is_trusted("192.168.1.1")

    flags_over_env = resolved(["--log-format", "json", "serve", "--listen", "127.0.0.1:7003", "--upstream",
                               "http://flag.example", "--public-hosts", "flag.example.gov.cn", "--workers", "3"],
                              **files, A11Y_PROXY_LISTEN="127.0.0.1:7002", A11Y_PROXY_UPSTREAM="http://env.example",
                              A11Y_PROXY_WORKERS="2", A11Y_PROXY_PUBLIC_HOSTS="env.example.gov.cn")
    assert flags_over_env.listen_port == 7003 and str(flags_over_env.upstream) == "http://flag.example"
    assert flags_over_env.workers == 3 and flags_over_env.log_format == "json"
    assert [h.name for h in flags_over_env.public_hosts] == ["flag.example.gov.cn"]

    empty_is_unset = resolved(["serve"], **files, A11Y_PROXY_LISTEN="")
    assert empty_is_unset.listen_port == 7001


def test_the_listen_address_of_a_config_file_is_where_serve_listens(tmp_path):
    """End to end, as the image runs it: the defaults file says 0.0.0.0:8080, the operator's file another port,
    and the operator's file wins (the image bakes no A11Y_PROXY_LISTEN that would override it)."""
    port = free_port()
    etc = tmp_path / "etc"  # as in the image: /etc/a11y-proxy/defaults.yaml beside /etc/a11y-proxy/rules
    shutil.copytree(ROOT / "rules", etc / "rules")
    shutil.copy(DEFAULTS_FILE, etc / "defaults.yaml")
    site = tmp_path / "site.yaml"
    site.write_text(f"upstream: http://127.0.0.1:9\nlisten: 127.0.0.1:{port}\nworkers: 1\n", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "proxy", "serve"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               env=clean_env(A11Y_PROXY_DEFAULTS=str(etc / "defaults.yaml"),
                                             A11Y_PROXY_CONFIG=str(site), PYTHONPATH=str(ROOT)))
    try:
        wait_healthy(port, process)
    finally:
        process.terminate()
        process.wait(10)


def test_serve_skips_a_rule_file_of_unsupported_yaml_and_a_reload_keeps_the_rules(tmp_path):
    """As for any broken rule file: at start it is reported (file:line) and the valid files serve; at reload
    it is reported and the rules in force stay.  Before, both were a traceback naming "<unicode string>"."""
    port = free_port()
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "site.yaml").write_text("hosts: ['127.0.0.1']\nrules:\n  - select: p\n    label: 规则生效\n",
                                     encoding="utf-8")
    (rules / "merge.yaml").write_text("base: &b {role: main}\nrules:\n  - <<: *b\n    select: div\n",
                                      encoding="utf-8")
    site = tmp_path / "site.yaml"
    site.write_text(f"upstream: http://127.0.0.1:9\nlisten: 127.0.0.1:{port}\nworkers: 1\nrules: rules\n"
                    "rules_reload_seconds: 0.1\n", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "proxy", "serve", "--config", str(site)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=clean_env())
    try:
        wait_healthy(port, process)
        (rules / "site.yaml").write_text("site: x\nrules: &x [*x]\n", encoding="utf-8")  # refers to itself
        time.sleep(1.5)
        wait_healthy(port, process)  # still serving
    finally:
        process.terminate()
        process.wait(10)
    log = process.stderr.read()
    assert "Traceback" not in log, log
    assert f"{rules / 'merge.yaml'}:1: YAML anchor &b is not supported" in log
    assert "rules: 1 file(s) loaded" in log  # the valid file, at start
    assert f"{rules / 'site.yaml'}:2: YAML anchor &x is not supported" in log
    assert "keeping the previous rule set" in log


# --- the README's docker run: public host names from the environment --------------------------------

@pytest.fixture
async def portal(serve):
    seen: list[dict] = []

    async def page(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(text="<!DOCTYPE html><html lang='zh-CN'><head><title>通知</title></head><body><main>"
                                 "<p>示范市的头发</p></main></body></html>", content_type="text/html",
                            headers={"ETag": '"v1"'})

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    return await serve(app), seen


async def start_serve(args: list[str], env: dict, port: int, cwd: Path = ROOT) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "proxy", *args, cwd=cwd, env=env,
                                                   stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    for _ in range(200):
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return process
        except OSError:
            if process.returncode is not None:
                raise AssertionError((await process.stderr.read()).decode())
            await asyncio.sleep(0.05)
    raise AssertionError("serve did not listen")


async def stop(process: asyncio.subprocess.Process) -> bytes:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(process.communicate(), 15)
    return err


async def test_public_hosts_from_the_environment_serve_readers_by_that_name(portal, http):
    upstream, _seen = portal
    port = free_port()
    env = clean_env(A11Y_PROXY_UPSTREAM=upstream, A11Y_PROXY_LISTEN=f"127.0.0.1:{port}", A11Y_PROXY_WORKERS="1",
                    A11Y_PROXY_PUBLIC_HOSTS="a11y.example.gov.cn, big5.example.gov.cn=trad")
    process = await start_serve(["serve"], env, port)
    try:
        base = f"http://127.0.0.1:{port}"
        async with http.get(base + "/news.html", headers={"Host": "a11y.example.gov.cn"}) as response:
            assert response.status == 200 and "示范市的头发" in await response.text()
        async with http.get(base + "/news.html", headers={"Host": "big5.example.gov.cn:8080"}) as response:
            assert response.status == 200 and "頭髮" in await response.text()
        async with http.get(base + "/news.html", headers={"Host": "elsewhere.example.com"}) as response:
            assert response.status == 421
        async with http.get(base + "/-/health", headers={"Host": "10.0.0.7:8080"}) as response:
            assert response.status == 200  # load balancers probe by address
    finally:
        await stop(process)


# --- read-only root: site phrases still converted, nothing written -------------------------------------

SITE_RULES = "site: 示范市\nhosts: [127.0.0.1, www.shifan.gov.cn]\ntrad:\n  phrases:\n    示范市: 示範巿\n"


def read_only_root() -> tuple[tuple[str, ...], str]:
    """A command prefix that runs its command with the whole root filesystem read-only (a private mount
    namespace: /proc and /dev/shm stay as they are, as in a container), or, without root, one that makes
    Python's temporary folder unusable."""
    if IS_ROOT and shutil.which("unshare"):
        probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
        if probe.returncode == 0:
            script = 'mount --bind / / && mount -o remount,bind,ro / && exec "$@"'
            return ("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"), "root"
    return (), "tempdir"


async def test_a_read_only_root_still_converts_site_phrases(portal, http, tmp_path):
    upstream, _seen = portal
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "site.yaml").write_text(SITE_RULES, encoding="utf-8")
    prefix, kind = read_only_root()
    for workers in ("1", "2"):
        port = free_port()
        env = clean_env(A11Y_PROXY_UPSTREAM=upstream, A11Y_PROXY_LISTEN=f"127.0.0.1:{port}",
                        A11Y_PROXY_WORKERS=workers, A11Y_PROXY_RULES=str(rules), TMPDIR=str(tmp_path / "nowhere"))
        args = ["serve"]
        if kind == "tempdir":  # no root: at least no temporary folder at all
            bootstrap = ("import sys, tempfile, runpy; tempfile.tempdir = '/proc/a11y-proxy-no-such-dir'; "
                         "sys.argv = ['proxy', 'serve']; runpy.run_module('proxy', run_name='__main__')")
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", bootstrap, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE)
            for _ in range(200):
                try:
                    _r, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    await asyncio.sleep(0.05)
        else:
            process = await asyncio.create_subprocess_exec(
                *prefix, sys.executable, "-m", "proxy", *args, cwd=ROOT, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            for _ in range(200):
                try:
                    _r, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    if process.returncode is not None:
                        break
                    await asyncio.sleep(0.05)
        try:
            async with http.get(f"http://127.0.0.1:{port}/-/trad/news.html") as response:
                page = await response.text()
            assert response.status == 200
            assert "示範巿的頭髮" in page, page[-400:]  # the site phrase (OpenCC alone says 示範市)
        finally:
            err = (await stop(process)).decode(errors="replace")
        assert process.returncode == 0, err
        assert "untransformed" not in err and "Traceback" not in err, err
    print(f"\nread-only root simulated by: {kind}")


# --- JSON logs, request ids ----------------------------------------------------------------------------

async def test_json_logs_and_the_request_id(portal, http):
    upstream, seen = portal
    port = free_port()
    env = clean_env(A11Y_PROXY_UPSTREAM=upstream, A11Y_PROXY_LISTEN=f"127.0.0.1:{port}", A11Y_PROXY_WORKERS="1",
                    A11Y_PROXY_LOG_FORMAT="json")
    process = await start_serve(["serve"], env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with http.get(base + "/-/trad/a.html", headers={"X-Request-ID": "forged-by-a-reader"}) as response:
            assert response.status == 200
            first_id = response.headers["X-Request-ID"]
        async with http.get(base + "/-/trad/a.html") as response:
            second_id = response.headers["X-Request-ID"]
        async with http.get(base + "/-/nosuchmode/a.html") as response:
            assert response.status == 404
    finally:
        err = (await stop(process)).decode()
    assert first_id != "forged-by-a-reader" and len(first_id) == 32 and first_id != second_id
    assert [h.get("X-Request-ID") for h in seen] == [first_id, second_id]  # the upstream got ours
    records = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line is one JSON object
    access = [r for r in records if r["message"] == "access"]
    assert [(r["request_id"], r["status"], r.get("cache"), r.get("upstream_status")) for r in access] == [
        (first_id, 200, "miss", 200), (second_id, 200, "revalidated", 304), (access[2]["request_id"], 404, None, None)]
    assert access[0]["transform_ms"] > 0 and access[0]["path"] == "/-/trad/a.html" and access[0]["duration_ms"] > 0
    assert {"time", "level", "logger"} <= set(access[0])


async def test_a_trusted_front_keeps_its_request_id(portal, http):
    upstream, seen = portal
    port = free_port()
    env = clean_env(A11Y_PROXY_UPSTREAM=upstream, A11Y_PROXY_LISTEN=f"127.0.0.1:{port}", A11Y_PROXY_WORKERS="1",
                    A11Y_PROXY_TRUSTED_PROXIES="127.0.0.1/32")
    process = await start_serve(["serve"], env, port)
    try:
        async with http.get(f"http://127.0.0.1:{port}/b.html", headers={"X-Request-ID": "nginx-4f2a"}) as response:
            assert response.headers["X-Request-ID"] == "nginx-4f2a"
        async with http.get(f"http://127.0.0.1:{port}/b.html", headers={"X-Request-ID": "bad id\twith tab"}) as response:
            replaced = response.headers["X-Request-ID"]
    finally:
        err = (await stop(process)).decode()
    assert replaced != "bad id\twith tab" and len(replaced) == 32
    assert [h.get("X-Request-ID") for h in seen] == ["nginx-4f2a", replaced]
    assert "id=nginx-4f2a" in err  # the text access line carries it too


async def test_json_error_lines_carry_the_request_id(http):
    """A warning written while a request is handled (here: the upstream refuses) names that request."""
    port = free_port()
    env = clean_env(A11Y_PROXY_UPSTREAM=f"http://127.0.0.1:{free_port()}", A11Y_PROXY_LISTEN=f"127.0.0.1:{port}",
                    A11Y_PROXY_WORKERS="1", A11Y_PROXY_LOG_FORMAT="json")
    process = await start_serve(["serve"], env, port)
    try:
        async with http.get(f"http://127.0.0.1:{port}/x.html") as response:
            assert response.status == 502
            request_id = response.headers["X-Request-ID"]
    finally:
        err = (await stop(process)).decode()
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    warnings = [r for r in records if r["level"] == "warning" and "failed" in r["message"]]
    assert warnings and warnings[0]["request_id"] == request_id
    access = [r for r in records if r["message"] == "access"]
    assert access[0]["request_id"] == request_id and access[0]["upstream_error"] == "ClientConnectorError"


def test_demo_prints_a_url_a_browser_can_open():
    from proxy.cli import _url_host

    assert [_url_host(h) for h in ("0.0.0.0", "::", "", "127.0.0.1", "::1", "a11y.example.gov.cn")] == [
        "localhost", "localhost", "localhost", "127.0.0.1", "[::1]", "a11y.example.gov.cn"]
