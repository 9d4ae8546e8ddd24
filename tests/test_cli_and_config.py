"""The command line (render, demo, serve --config) and config files: validated with file:line errors."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from proxy.settings import load_settings
from proxy.yamlsource import SourceError
from tests.conftest import FIXTURES, ROOT
from tests.harness import free_port


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxy", *args], input=stdin, capture_output=True, cwd=ROOT,
                          timeout=60)


def test_render_writes_the_transformed_page():
    result = run("render", str(FIXTURES / "malformed.html"), "--url", "http://www.example.gov.cn/a/b.html",
                 "--modes", "trad")
    assert result.returncode == 0, result.stderr
    html = result.stdout.decode("utf-8")
    assert "工業和信息化部" in html and 'lang="zh-Hant"' in html
    plain = run("render", "-", "--modes", "", stdin="<p>头发</p>".encode())
    assert "头发" in plain.stdout.decode()
    bad = run("render", "-", "--modes", "bigfont", stdin=b"<p>x</p>")
    assert bad.returncode == 2 and b"unknown mode 'bigfont'" in bad.stderr


def test_config_file_loaded_and_errors_located(tmp_path):
    good = tmp_path / "site.yaml"
    good.write_text("upstream: https://www.example.gov.cn/\nlisten: 0.0.0.0:9000\n"
                    "public_hosts:\n  - a11y.example.gov.cn\n  - host: big5.example.gov.cn\n    modes: trad-hk\n"
                    "trusted_proxies: [10.0.0.0/8]\ntimeouts: {connect: 2, read: 10}\n"
                    "limits: {html_max_bytes: 4MiB}\nrules: rules\n", encoding="utf-8")
    settings = load_settings(good)
    assert str(settings.upstream) == "https://www.example.gov.cn"
    assert (settings.listen_host, settings.listen_port) == ("0.0.0.0", 9000)
    assert settings.host_for("BIG5.example.gov.cn:443").modes.canonical() == "trad-hk"
    assert settings.host_for("evil.example.com") is None
    assert settings.limits.html_max_bytes == 4 * 1024 * 1024 and settings.timeouts.read == 10
    assert settings.rules_dir == (tmp_path / "rules").resolve()
    for text, line, problem in [
        ("upstream: ftp://x\n", 1, "upstream must be an http(s) URL"),
        ("listen: 0.0.0.0:80\ntimeouts:\n  conect: 3\n", 3, "unknown key 'conect'"),
        ("public_hosts:\n  - host: a.gov.cn\n    modes: bigfont\n", 3, "unknown mode 'bigfont'"),
        ("limits:\n  html_max_bytes: lots\n", 2, "html_max_bytes must be a size"),
        ("toolbar: {position: left}\n", 1, "toolbar position"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(SourceError) as error:
            load_settings(bad)
        assert error.value.line == line and problem in str(error.value), (text, str(error.value))
        assert str(error.value).startswith(f"{bad}:{line}: ")


def test_serve_refuses_a_broken_config_clearly(tmp_path):
    bad = tmp_path / "site.yaml"
    bad.write_text("upstream: https://www.example.gov.cn\nlistn: 1\n", encoding="utf-8")
    result = run("serve", "--config", str(bad))
    assert result.returncode == 2
    assert f"{bad}:2: unknown key 'listn'".encode() in result.stderr


def test_demo_runs_offline_and_serves_the_portal_through_the_proxy():
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "proxy", "--log-level", "WARNING", "demo", "--listen",
                                f"127.0.0.1:{port}"], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        assert f"http://127.0.0.1:{port}/" in "".join(lines)
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    home = response.read().decode("utf-8")
                break
            except OSError:
                time.sleep(0.1)
        assert "示范市人民政府" in home
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/trad/gb/notice.html", timeout=5) as response:
            notice = response.read().decode("utf-8")
        assert "關於" in notice and "关于" not in notice.split("<body", 1)[1]  # GB2312 page, decoded and converted
        assert 'lang="zh-Hant"' in notice
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/files/guide.pdf", timeout=5) as response:
            assert response.read(5) == b"%PDF-"
    finally:
        process.terminate()
        process.wait(10)


def test_demo_takes_listen_address_and_rules_from_the_environment(tmp_path):
    """As in the container image (`docker run -p 8080:8080 a11y-proxy demo`): no options, started outside
    the repository; A11Y_PROXY_LISTEN and A11Y_PROXY_RULES say where to listen and where the rules are."""
    port = free_port()
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "demo.yaml").write_text((ROOT / "rules" / "shifan.gov.cn.yaml").read_text(encoding="utf-8")
                                     .replace("label: 站内搜索", "label: 环境变量给出的规则"), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "A11Y_PROXY_LISTEN": f"127.0.0.1:{port}",
           "A11Y_PROXY_RULES": str(rules), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "proxy", "--log-level", "WARNING", "demo"], cwd=tmp_path,
                               stdout=subprocess.PIPE, text=True, env=env)
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        assert f"http://127.0.0.1:{port}/" in "".join(lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            home = response.read().decode("utf-8")
        assert 'aria-label="环境变量给出的规则"' in home  # the rule file from A11Y_PROXY_RULES, not the checkout's
    finally:
        process.terminate()
        process.wait(10)


def test_demo_says_when_it_finds_no_rules(tmp_path, monkeypatch, caplog):
    """Installed outside a checkout and started elsewhere, the demo still runs, and says it has no rules."""
    from proxy import cli

    monkeypatch.setattr(cli, "__file__", str(tmp_path / "site-packages" / "proxy" / "cli.py"))
    monkeypatch.chdir(tmp_path)
    assert cli._bundled_rules() is None
    assert "no rules folder" in caplog.text and "A11Y_PROXY_RULES" in caplog.text
    monkeypatch.chdir(ROOT)
    assert cli._bundled_rules() == ROOT / "rules"


def test_an_installed_package_ships_every_file_it_reads():
    """`pip install .` (README, Dockerfile) copies only the packages and package-data pyproject.toml names,
    while the tests run from the checkout: a static asset or demo page left out would be missing from every
    image, with every test still green.  So: each package and each non-Python file under proxy/ is named."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    packages = {str(init.parent.relative_to(ROOT)).replace("/", ".") for init in (ROOT / "proxy").rglob("__init__.py")}
    assert packages == set(setuptools["packages"])
    shipped = {path for package, patterns in setuptools["package-data"].items()
               for pattern in patterns for path in (ROOT / package.replace(".", "/")).glob(pattern) if path.is_file()}
    data = {path for path in (ROOT / "proxy").rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc", ".c", ".so") and "__pycache__" not in path.parts}
    assert data, "the package reads files of its own (toolbar, schema, demo portal)"
    assert sorted(map(str, data - shipped)) == []
    # C sources are not data: each is an extension that setup.py builds (the build products, .so, are not kept).
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    sources = [str(path.relative_to(ROOT)) for path in (ROOT / "proxy").rglob("*.c")]
    assert sources and [source for source in sources if f'"{source}"' not in setup] == []


# Each: (config file text, line of the error, what the error says).  Every one of these was accepted and then
# crashed, silently meant something else, or broke every request.
BAD_CONFIGS = [
    # YAML the project never needs: a file:line error, not a traceback naming "<unicode string>".
    ("upstream: http://127.0.0.1:9\nlisten: !foo 127.0.0.1:8080\n", 2, "unsupported YAML tag !foo"),
    ("upstream: !!python/object/apply:os.system ['true']\n", 1, "unsupported YAML tag"),
    ("timeouts: &t {read: 10}\n", 1, "anchor &t"),
    ("timeouts:\n  <<: {read: 10}\n", 2, "merge keys"),
    # Quoted booleans are strings, and bool("false") is True.
    ('debug_view: "false"\n', 1, "debug_view must be true or false"),
    ("upstream: http://127.0.0.1:9\naccess_log: 'false'\n", 2, "access_log must be true or false"),
    ('toolbar:\n  enabled: "false"\n', 2, "toolbar.enabled must be true or false"),
    # Limits: a type, and a range.
    ("limits: {upstream_connections: -5}\n", 1, "limits.upstream_connections must be a whole number from 1 to"),
    ("limits: {upstream_connections: 0}\n", 1, "limits.upstream_connections must be a whole number from 1"),
    ("limits: {upstream_connections: 2.9}\n", 1, "limits.upstream_connections must be a whole number"),
    ("limits:\n  request_headers_bytes: 0\n", 2, "limits.request_headers_bytes must be a size"),
    ("limits: {html_max_bytes: 1.5}\n", 1, "limits.html_max_bytes must be a size"),
    ("limits: {html_max_bytes: '1.5'}\n", 1, "limits.html_max_bytes must be a size"),
    ("limits: {html_max_bytes: 99999999999999999999999GiB}\n", 1, "to 1GiB"),
    ("limits: {convert_max_texts: true}\n", 1, "limits.convert_max_texts must be a whole number"),
    ("cache: {max_bytes: -100}\n", 1, "cache.max_bytes must be a size"),
    ("rules_reload_seconds: -3\n", 1, "rules_reload_seconds must be 0 (never reload) or"),
    ("rules_reload_seconds: .nan\n", 1, "rules_reload_seconds must be"),
    ("timeouts: {connect: 5, read: .nan}\n", 1, "timeouts.read must be a number of seconds above 0"),
    ("timeouts: {transform: .inf}\n", 1, "timeouts.transform must be"),
    ("timeouts: {read: 30s}\n", 1, "timeouts.read must be"),
    ("cookie: {max_age: -1}\n", 1, "cookie.max_age must be a whole number from 1 to 34560000"),
    ("cookie:\n  max_age: 1y\n", 2, "cookie.max_age must be a whole number"),
    ("cookie: {name: 'my modes;'}\n", 1, "cookie name must be"),
    ("cookie: {name: ''}\n", 1, "cookie name must be"),
    # An upstream is an origin: what follows it was silently dropped.
    ("upstream: http://user:secret@127.0.0.1:19000/\n", 1, "must not contain a user name or password"),
    ("upstream: http://127.0.0.1:19000/portal/sub/\n", 1, "a path ('/portal/sub/') is not supported"),
    ("upstream: http://127.0.0.1:19000/?site=3\n", 1, "a query or fragment is not supported"),
    ("upstream_aliases:\n  - example.gov.cn\n  - https://example.gov.cn/\n", 3, "upstream alias must be host"),
    ("rules:\n", 1, "rules must name a folder"),
    ("rules: [a, b]\n", 1, "rules must name a folder"),
    ("listen: 127.0.0.1:0\n", 1, "listen port must be from 1 to 65535"),
]


@pytest.mark.parametrize("text, line, problem", BAD_CONFIGS)
def test_bad_config_values_are_refused_at_their_line(tmp_path, text, line, problem):
    bad = tmp_path / "site.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as error:
        load_settings(bad)
    assert str(error.value).startswith(f"{bad}:{line}: "), str(error.value)
    assert problem in error.value.problem, str(error.value)
    assert "secret" not in str(error.value)  # (the line goes to logs)


def test_good_config_values_at_their_limits_are_accepted(tmp_path):
    good = tmp_path / "site.yaml"
    good.write_text("debug_view: false\naccess_log: false\ntoolbar: {enabled: false}\n"
                    "limits: {upstream_connections: 1, request_headers_bytes: 1KiB, html_max_bytes: 1.5MiB,\n"
                    "         request_buffer_bytes: 0, convert_max_texts: 1}\n"
                    "cache: {max_bytes: 0}\nrules_reload_seconds: 0\ntimeouts: {read: 0.5, transform: 1}\n"
                    "cookie: {name: a11y_modes, max_age: 60}\nupstream: https://www.example.gov.cn:8443/\n"
                    "upstream_aliases: [Example.gov.cn, 'www.example.gov.cn:443']\n", encoding="utf-8")
    settings = load_settings(good)
    assert (settings.debug_view, settings.access_log, settings.toolbar.enabled) == (False, False, False)
    assert settings.limits.html_max_bytes == 1536 * 1024 and settings.limits.request_headers_bytes == 1024
    assert settings.limits.upstream_connections == 1 and settings.limits.request_buffer_bytes == 0
    assert settings.cache_max_bytes == 0 and settings.rules_reload_seconds == 0.0
    assert settings.timeouts.read == 0.5 and settings.cookie_max_age == 60
    assert str(settings.upstream) == "https://www.example.gov.cn:8443"
    assert settings.upstream_aliases == ("example.gov.cn", "www.example.gov.cn:443")


def test_every_limit_is_range_checked():
    """A limit added to Limits without a range would be accepted from a config file unchecked."""
    from proxy.settings import LIMIT_RANGES, Limits

    assert set(LIMIT_RANGES) == set(Limits.__dataclass_fields__)
    for name, allowed in LIMIT_RANGES.items():
        assert allowed.low <= getattr(Limits(), name) <= allowed.high, name  # the defaults pass their own check


def test_serve_refuses_unsupported_yaml_in_its_config_in_one_line(tmp_path):
    bad = tmp_path / "site.yaml"
    bad.write_text("upstream: http://127.0.0.1:9\nlisten: !foo 127.0.0.1:8080\n", encoding="utf-8")
    result = run("serve", "--config", str(bad))
    assert result.returncode == 2 and b"Traceback" not in result.stderr, result.stderr
    assert result.stderr.decode().strip() == f"a11y-proxy: {bad}:2: unsupported YAML tag !foo: only plain values, " \
                                             "lists and mappings"
