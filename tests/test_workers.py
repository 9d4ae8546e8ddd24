"""`serve --workers N`: real processes on one port (SO_REUSEPORT); metrics of the whole server; a dead worker
is replaced; SIGTERM drains in-flight requests and exits."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from tests.harness import child_pids, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def upstream(serve):
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<!DOCTYPE html><html><head><title>页</title></head><body><p>国家</p></body></html>",
                            content_type="text/html")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("s", "2")))
        return web.Response(text="slow and whole")

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_get("/{tail:.*}", page)
    return await serve(app)


@pytest.fixture
async def server(upstream):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("A11Y_PROXY_", "PROMETHEUS_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "--log-level", "INFO", "serve", "--workers", "2", "--upstream", upstream,
        "--listen", f"127.0.0.1:{port}", cwd=ROOT, env=env, stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True)  # its own process group: a test may signal the group, as Ctrl-C or systemd do
    base = f"http://127.0.0.1:{port}"
    answered: set[int] = set()  # every worker must be up: the kernel spreads new connections over all of them
    async with aiohttp.ClientSession() as client:
        for _ in range(300):
            try:
                async with client.get(base + "/-/health", headers={"Connection": "close"}) as response:
                    answered.add((await response.json())["process"])
                if answered >= set(child_pids(process.pid)) and len(answered) == 2:
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        else:
            process.kill()
            pytest.fail(f"the workers did not start (answered: {answered})")
    yield process, base
    if process.returncode is None:
        process.kill()
        await process.wait()


async def metric(client: aiohttp.ClientSession, base: str, name: str) -> float:
    async with client.get(base + "/-/metrics") as response:
        text = await response.text()
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def test_the_listening_sockets_keep_their_backlog(server):
    """Each worker's socket queues LISTEN_BACKLOG connections (aiohttp's own 128 replaced what was asked)."""
    import shutil
    import subprocess

    from proxy.server import LISTEN_BACKLOG

    if shutil.which("ss") is None:
        if os.environ.get("CI"):
            pytest.fail("ss is missing: tests/run.sh installs iproute2")
        pytest.skip("ss is not installed (iproute2)")
    _, base = server
    port = base.rsplit(":", 1)[1]
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout.split("\n")
    backlogs = [int(line.split()[2]) for line in listening if line.strip()]  # (Send-Q of a listening socket)
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    assert backlogs == [min(LISTEN_BACKLOG, somaxconn)] * 2, listening


async def test_two_workers_share_the_port_and_report_as_one_server(server):
    process, base = server
    workers = child_pids(process.pid)
    assert len(workers) == 2
    async with aiohttp.ClientSession() as client:
        for i in range(40):  # new connections each time, so the kernel spreads them over both workers
            async with client.get(base + f"/-/trad/p{i}.html", headers={"Connection": "close"}) as response:
                assert response.status == 200 and "國家" in await response.text()
        # Whichever worker answers /-/metrics, it counts the whole server's responses.
        for _ in range(4):
            total = await metric(client, base, 'a11y_proxy_responses_total{outcome="transformed"}')
            assert total == 40


async def test_a_dead_worker_is_replaced(server):
    process, base = server
    first = child_pids(process.pid)
    os.kill(first[0], signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        now = child_pids(process.pid)
        if len(now) == 2 and first[0] not in now:
            break
        await asyncio.sleep(0.2)
    else:
        pytest.fail(f"no replacement worker: {child_pids(process.pid)}")
    async with aiohttp.ClientSession() as client:
        for _ in range(10):
            async with client.get(base + "/a.html", headers={"Connection": "close"}) as response:
                assert response.status == 200


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])  # (SIGHUP: the terminal closing)
async def test_sigterm_drains_in_flight_requests_then_exits(server, number):
    process, base = server
    async with aiohttp.ClientSession() as client:
        in_flight = asyncio.create_task(client.get(base + "/slow"))
        await asyncio.sleep(0.5)  # the request is at the upstream now
        process.send_signal(number)
        response = await asyncio.wait_for(in_flight, 10)
        assert response.status == 200 and await response.text() == "slow and whole"
    assert await asyncio.wait_for(process.wait(), 40) == 0
    assert child_pids(process.pid) == []


async def test_a_stopping_server_refuses_new_connections_at_once(server):
    """While the drain finishes what is in flight, a new connection is refused (a load balancer takes it to
    another replica), not queued where no worker will ever accept it, to be reset when the drain ends."""
    process, base = server
    port = int(base.rsplit(":", 1)[1])
    async with aiohttp.ClientSession() as client:
        in_flight = asyncio.create_task(client.get(base + "/slow"))
        await asyncio.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)  # the workers have stopped listening
        started = time.monotonic()
        with pytest.raises(OSError):
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
            writer.close()
        assert time.monotonic() - started < 1
        response = await asyncio.wait_for(in_flight, 10)
        assert response.status == 200 and await response.text() == "slow and whole"
    assert await asyncio.wait_for(process.wait(), 40) == 0


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
async def test_a_signal_to_the_whole_group_still_drains(server, number):
    """Ctrl-C (SIGINT to the terminal's process group) or systemd's SIGTERM to the control group reaches every
    worker beside the supervisor, which passes it on: the second, within two seconds, is the same request to stop
    (aiohttp took it as "stop now" and cut every request in flight)."""
    process, base = server
    async with aiohttp.ClientSession() as client:
        in_flight = asyncio.create_task(client.get(base + "/slow"))
        await asyncio.sleep(0.5)
        os.killpg(process.pid, number)
        response = await asyncio.wait_for(in_flight, 10)
        assert response.status == 200 and await response.text() == "slow and whole"
    assert await asyncio.wait_for(process.wait(), 40) == 0
    assert child_pids(process.pid) == []


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_what_outlasts_the_drain_is_cut_when_it_ends(upstream, tmp_path, workers):
    """A request still running when timeouts.drain ends is cut then, with a warning: aiohttp alone waited the drain
    twice (the second time for a handler it never cancels), past a container's grace period."""
    config = tmp_path / "site.yaml"
    config.write_text("timeouts: {drain: 3}\n", encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("A11Y_PROXY_", "PROMETHEUS_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "serve", "--workers", workers, "--upstream", upstream, "--config", str(config),
        "--listen", f"127.0.0.1:{port}", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        async with aiohttp.ClientSession() as client:
            for _ in range(300):
                try:
                    async with client.get(f"http://127.0.0.1:{port}/-/health"):
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            in_flight = asyncio.create_task(client.get(f"http://127.0.0.1:{port}/slow?s=30"))
            await asyncio.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            with pytest.raises(aiohttp.ClientError):
                await asyncio.wait_for(in_flight, 20)
            assert await asyncio.wait_for(process.wait(), 20) == 0
            assert time.monotonic() - started < 5  # the drain (3 s), not twice it
        log = (await process.stderr.read()).decode()
        assert "1 request(s) still in flight after timeouts.drain (3.0s); cut" in log
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_no_reader_is_refused_while_a_worker_restarts(server):
    """The supervisor holds the listening sockets: a worker stopped (SIGTERM, as a rolling restart does) finishes
    what it accepted, and the connections waiting in its queue are taken up by the worker started in its place."""
    process, base = server
    failures, done = [], 0

    async def reader(client: aiohttp.ClientSession) -> None:
        nonlocal done
        for _ in range(60):
            try:
                async with client.get(base + "/a.html", headers={"Connection": "close"}) as response:
                    assert response.status == 200
                    await response.read()
                    done += 1
            except (aiohttp.ClientError, AssertionError) as exc:
                failures.append(repr(exc))

    async with aiohttp.ClientSession() as client:
        readers = [asyncio.create_task(reader(client)) for _ in range(4)]
        await asyncio.sleep(0.3)
        first = child_pids(process.pid)
        os.kill(first[0], signal.SIGTERM)
        await asyncio.gather(*readers)
    assert failures == [] and done == 240
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (first[0] in child_pids(process.pid) or len(child_pids(process.pid)) != 2):
        await asyncio.sleep(0.2)
    replaced = child_pids(process.pid)
    assert len(replaced) == 2 and first[0] not in replaced


async def test_metrics_folders_of_killed_supervisors_are_removed_and_ours_at_exit(upstream, tmp_path):
    """A supervisor killed outright leaves its prometheus folder behind; the next one removes it (and only it)."""
    finished = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await finished.wait()
    stale = tmp_path / f"a11y-proxy-metrics-{finished.pid}-x1y2z3"  # its supervisor is gone
    alive = tmp_path / f"a11y-proxy-metrics-{os.getpid()}-a1b2c3"  # a running one's (this test's pid)
    unknown = tmp_path / "a11y-proxy-metrics-q9w8e7"  # no pid in the name: whose it is cannot be told
    for folder in (stale, alive, unknown):
        folder.mkdir()
        (folder / "counter_1.db").write_bytes(b"x")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("A11Y_PROXY_", "PROMETHEUS_"))}
    env["TMPDIR"] = str(tmp_path)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "serve", "--workers", "2", "--upstream", upstream,
        "--listen", f"127.0.0.1:{port}", cwd=ROOT, env=env, stderr=asyncio.subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as client:
            for _ in range(300):
                try:
                    async with client.get(f"http://127.0.0.1:{port}/-/health") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        ours = tmp_path / f"a11y-proxy-metrics-{process.pid}-"
        assert not stale.exists() and alive.exists() and unknown.exists()
        assert [p for p in tmp_path.iterdir() if p.name.startswith(ours.name)], sorted(tmp_path.iterdir())
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 40) == 0
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(ours.name)]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
