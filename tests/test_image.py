"""What the image and deploy/ promise, checked without a container engine: hadolint on the Dockerfile,
kubernetes-validate on the manifests (both offline), the Dockerfile's user, base, health check and
environment, one constraints file shared by the image and CI, package data that exists, and OpenCC's data
found where the opencc package says (the test that fails when the wheel's layout changes).

With A11Y_PROXY_TEST_IMAGE=<image> and podman or docker on the machine, the built image itself is checked too
(size, numeric user, read-only root with site phrases, SIGTERM stop time, health check on a moved port)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.harness import free_port

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
KUBERNETES = ROOT / "deploy" / "kubernetes"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: tests/run.sh installs it with the test extra")
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


# --- linters, offline ----------------------------------------------------------------------------------

def test_hadolint_finds_nothing_in_the_dockerfile():
    result = subprocess.run([tool("hadolint"), "--no-color", str(ROOT / "Dockerfile")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def manifests() -> list[Path]:
    return sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("version", ["1.30", "1.37"])
def test_kubernetes_manifests_validate(version):
    result = subprocess.run([tool("kubernetes-validate"), "--strict", "-k", version, *map(str, manifests())],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(manifests()), result.stdout


def test_the_deployment_is_what_operators_enforce():
    kinds = {}
    for path in manifests():
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            kinds[doc["kind"]] = doc
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap"} <= set(kinds)
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["runAsNonRoot"] is True
    assert security["runAsUser"] == 10001 and security["runAsGroup"] == 10001
    assert {"readinessProbe", "livenessProbe", "startupProbe", "resources"} <= set(container)
    assert all(container[p]["httpGet"]["path"] == "/-/health" for p in ("readinessProbe", "livenessProbe"))
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/etc/a11y-proxy/rules"]]["configMap"]["name"] == "a11y-proxy-rules"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["A11Y_PROXY_WORKERS"] == str(int(float(container["resources"]["limits"]["cpu"])))
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text(encoding="utf-8"))
    assert sorted(kustomization["resources"]) == sorted(p.name for p in manifests())


def test_the_rules_configmap_holds_exactly_the_rule_files():
    """deploy/kubernetes/make-rules-configmap.sh writes it; a rule file changed without rerunning it fails here."""
    configmap = yaml.safe_load((KUBERNETES / "rules-configmap.yaml").read_text(encoding="utf-8"))
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "rules").glob("*.y*ml"))}
    normalise = lambda text: "\n".join(line.rstrip() for line in text.strip().splitlines())  # noqa: E731
    assert {k: normalise(v) for k, v in configmap["data"].items()} == {k: normalise(v) for k, v in files.items()}


def test_compose_puts_nginx_with_the_shipped_config_before_health_checked_replicas():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    proxy, nginx = compose["services"]["a11y-proxy"], compose["services"]["nginx"]
    assert proxy["healthcheck"]["test"][1:] == ["a11y-proxy", "healthcheck"] and "healthcheck" in nginx
    assert proxy["read_only"] is True and re.fullmatch(r"\d+:\d+", proxy["user"])
    assert proxy["deploy"]["replicas"] >= 2
    assert nginx["depends_on"]["a11y-proxy"]["condition"] == "service_healthy"
    mounted = [v.split(":")[0] for v in nginx["volumes"]]
    assert (ROOT / "deploy" / mounted[0]).resolve() == ROOT / "deploy" / "nginx" / "a11y-proxy.conf"
    subnet = compose["networks"]["front"]["ipam"]["config"][0]["subnet"]
    assert proxy["environment"]["A11Y_PROXY_TRUSTED_PROXIES"] == subnet
    conf = (ROOT / "deploy" / "nginx" / "a11y-proxy.conf").read_text(encoding="utf-8")
    assert "proxy_cache_key $scheme$host$request_uri$cookie_a11y_modes;" in conf  # as README.md says
    assert "proxy_cache_key $scheme$host$request_uri$cookie_a11y_modes;" in (ROOT / "README.md").read_text(
        encoding="utf-8")


# --- the Dockerfile ------------------------------------------------------------------------------------

def stages() -> list[str]:
    return re.split(r"(?m)^FROM ", DOCKERFILE)[1:]


def test_the_image_runs_as_a_numeric_user_with_a_pinned_group():
    runtime = stages()[-1]
    assert re.search(r"(?m)^USER 10001:10001$", runtime)
    assert "groupadd --gid 10001" in runtime and "--uid 10001 --gid 10001" in runtime
    assert "--system" not in runtime  # useradd warns for a system account with a uid above SYS_UID_MAX


def test_the_base_is_pinned_to_a_python_and_a_debian_release():
    base = re.search(r"(?m)^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?", base), base
    assert [line for line in DOCKERFILE.splitlines() if line.startswith("FROM ")] == [
        "FROM ${PYTHON_IMAGE} AS build", "FROM ${PYTHON_IMAGE}"]


def test_the_image_bakes_no_setting_that_would_override_the_config_file():
    env_lines = re.findall(r"A11Y_PROXY_[A-Z_]+", "\n".join(
        line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")))
    assert set(env_lines) == {"A11Y_PROXY_DEFAULTS"}
    defaults = yaml.safe_load((ROOT / "deploy" / "image-defaults.yaml").read_text(encoding="utf-8"))
    assert defaults == {"listen": "0.0.0.0:8080", "rules": "rules"}


def test_no_wheel_stays_in_a_layer_and_dependencies_come_from_the_constraints():
    runtime = stages()[-1]
    assert ".whl" not in DOCKERFILE and "/wheels" not in DOCKERFILE
    assert "pip install" not in runtime  # the runtime stage copies the build stage's virtual environment
    build = stages()[0]
    assert "-c /src/constraints.txt" in build and "PIP_CONSTRAINT=/src/constraints.txt" in build
    assert "pip uninstall --yes --disable-pip-version-check pip setuptools" in build


def test_the_health_check_asks_the_proxy_where_it_listens():
    assert re.search(r'(?m)^HEALTHCHECK .*CMD \["a11y-proxy", "healthcheck"\]$', DOCKERFILE)
    assert "127.0.0.1:8080" not in DOCKERFILE


def test_the_build_context_holds_what_the_dockerfile_copies():
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = set()
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            copied.update(part.rstrip("/") for part in line.split()[1:-1])
    copied = {c.removeprefix("./") for c in copied}
    assert copied <= allowed, copied - allowed
    assert all((ROOT / path).exists() for path in copied)


# --- one set of exact versions for the image and CI ----------------------------------------------------

def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


def requirement_name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", text).group(0)).lower()


def test_every_dependency_is_pinned_and_installed_at_its_pin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pinned = pins()
    wanted = [requirement_name(r) for r in project["project"]["dependencies"]]
    wanted += [requirement_name(r) for r in project["project"]["optional-dependencies"]["test"]]
    wanted += [requirement_name(r) for r in project["build-system"]["requires"]]
    assert [name for name in wanted if name not in pinned] == []
    # What CI tests with is what the image ships (tests/run.sh installs with -c constraints.txt).
    run_sh = (ROOT / "tests" / "run.sh").read_text(encoding="utf-8")
    assert "-c constraints.txt" in run_sh and "PIP_CONSTRAINT=" in run_sh
    drift = {}
    for name, version in pinned.items():
        if name == "setuptools":
            continue  # the build backend lives in pip's isolated build environment, not here
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            drift[name] = (version, None)
            continue
        if installed != version:
            drift[name] = (version, installed)
    assert drift == {}, "installed versions differ from constraints.txt (run bash tests/run.sh)"


def test_every_package_data_pattern_matches_files():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    empty = [f"{package}: {pattern}" for package, patterns in setuptools["package-data"].items()
             for pattern in patterns if not any(p.is_file() for p in (ROOT / package.replace(".", "/")).glob(pattern))]
    assert empty == []


# --- OpenCC's data: found through the opencc package, never by a guessed path -------------------------

def test_opencc_data_are_where_the_package_says_and_phrases_build_in_memory(tmp_path, monkeypatch):
    """If a new opencc wheel moves its data or stops reporting the configuration's path, this fails (and so
    does the proxy's start-up check, with one line), instead of pages quietly going out unconverted."""
    from proxy import convert

    convert.check()
    for config in convert.FORWARD_CONFIGS + tuple(convert.REVERSE_CONFIGS.values()):
        path = convert.config_file(config)
        assert path.name == f"{config}.json" and path.is_file()
        dictionaries = convert.dictionary_files(config)
        assert dictionaries and all(p.is_file() for p in dictionaries), config
    # Nothing written anywhere while converters with site phrases are built, and no descriptor left open.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    fds = set(os.listdir("/proc/self/fd"))
    phrases = (("示范市", "示範巿"), ("鼠标", "滑鼠標"))
    expected = {"s2t": "示範巿的滑鼠標", "s2tw": "示範巿的滑鼠標", "s2twp": "示範巿的滑鼠標", "s2hk": "示範巿的滑鼠標"}
    for config, text in expected.items():
        assert convert.Converter(config, phrases).convert("示范市的鼠标") == text, config
    assert convert.Converter("s2twp").convert("示范市的鼠标") == "示範市的滑鼠"  # OpenCC alone, for contrast
    assert list(tmp_path.iterdir()) == []
    assert set(os.listdir("/proc/self/fd")) <= fds | {str(n) for n in range(3)}


# --- the built image (only with A11Y_PROXY_TEST_IMAGE and an engine) -------------------------------------

IMAGE = os.environ.get("A11Y_PROXY_TEST_IMAGE")


def engine() -> str:
    if not IMAGE:
        pytest.skip("set A11Y_PROXY_TEST_IMAGE=<image> to check a built image (podman or docker)")
    for name in ("podman", "docker"):
        if shutil.which(name) and subprocess.run([name, "image", "exists" if name == "podman" else "inspect", IMAGE],
                                                 capture_output=True).returncode == 0:
            return name
    pytest.skip(f"no engine here has {IMAGE}")


def wait_http(url: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return response.read().decode("utf-8")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_built_image(tmp_path):
    run = engine()
    inspect = subprocess.run([run, "image", "inspect", IMAGE, "--format", "{{.Config.User}} {{.Size}}"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert inspect[0] == "10001:10001"
    print(f"\nimage {IMAGE}: {int(inspect[1]) / 1e6:.0f} MB, user {inspect[0]}")
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    text = (rules / "shifan.gov.cn.yaml").read_text(encoding="utf-8")
    (rules / "shifan.gov.cn.yaml").write_text(text.replace("    锡山区: 錫山區", "    锡山区: 錫山區\n    示范市: 示範巿"),
                                              encoding="utf-8")
    os.chmod(tmp_path, 0o755)
    for path in rules.iterdir():
        path.chmod(0o644)
    port = free_port()
    name = f"a11y-proxy-test-{port}"
    extra = os.environ.get("A11Y_PROXY_TEST_ENGINE_ARGS", "").split()  # e.g. --ulimit host where rlimits are fixed
    started = subprocess.run([run, "run", "-d", "--name", name, "--read-only", "--network", "host", *extra,
                              "-e", f"A11Y_PROXY_LISTEN=127.0.0.1:{port}", "-v", f"{rules}:/etc/a11y-proxy/rules:ro",
                              IMAGE, "demo"], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    try:
        page = wait_http(f"http://127.0.0.1:{port}/-/trad/")
        assert "示範巿人民政府" in page  # the site phrase, on a read-only root
        # The image's HEALTHCHECK command, as the engine runs it: beside PID 1, which got the port from the env.
        health = subprocess.run([run, "exec", name, "a11y-proxy", "healthcheck"], capture_output=True, text=True)
        assert health.returncode == 0 and f"127.0.0.1:{port}" in health.stdout, health.stdout + health.stderr
        described = json.loads(subprocess.run([run, "image", "inspect", IMAGE], capture_output=True, text=True).stdout)[0]
        healthcheck = (described.get("Config") or {}).get("Healthcheck") or described.get("Healthcheck") or {}
        assert healthcheck.get("Test") == ["CMD", "a11y-proxy", "healthcheck"], healthcheck  # podman: --format docker
        began = time.monotonic()
        stopped = subprocess.run([run, "stop", "-t", "10", name], capture_output=True, text=True)
        seconds = time.monotonic() - began
        code = subprocess.run([run, "inspect", name, "--format", "{{.State.ExitCode}}"], capture_output=True,
                              text=True).stdout.strip()
        print(f"demo on a read-only root, port {port}: stopped in {seconds:.2f} s, exit {code}")
        assert stopped.returncode == 0 and code == "0" and seconds < 2.0
    finally:
        subprocess.run([run, "rm", "-f", name], capture_output=True)
