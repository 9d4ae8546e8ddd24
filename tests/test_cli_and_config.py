"""The command line (render, demo, serve --config) and config files: validated with file:line errors."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from proxy.settings import load_settings
from proxy.yamlsource import SourceError
from tests.conftest import FIXTURES, ROOT


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxy", *args], input=stdin, capture_output=True, cwd=ROOT,
                          timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    good.write_text("upstream: https://www.example.gov.cn/ignored/path\nlisten: 0.0.0.0:9000\n"
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
        ("limits:\n  html_max_bytes: lots\n", 2, "not a size"),
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
