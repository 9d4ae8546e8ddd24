"""Running the proxy on every core: one supervisor process and N worker processes on one port.

Rewriting pages is CPU-bound Python; threads of one process share one GIL, so a process can use one core at
most.  `serve --workers N` therefore forks N workers, each a whole proxy (event loop, upstream pool,
transform cache, pipeline threads).

The supervisor opens N listening sockets on the address with SO_REUSEPORT and keeps them until it stops;
worker i serves socket i (and closes the others it inherits).  Why SO_REUSEPORT rather than one shared listening socket (gunicorn's and classic
nginx's model): with a shared socket, whichever event loop wakes first accepts, and an event loop is idle
exactly while its pipeline threads are busy rewriting, so the busiest worker keeps taking new connections;
SO_REUSEPORT has the kernel spread connections evenly over the sockets, which is what CPU-bound work needs
(nginx's `listen ... reuseport` exists for the same reason).  Why the supervisor holds the sockets rather
than each worker binding its own: a worker that stops or dies takes nothing with it; connections waiting in
its socket's queue are taken up by the worker started in its place, so a restart refuses or resets no
reader.  And why not gunicorn with aiohttp's GunicornWebWorker: one more dependency and configuration
language for what is about two hundred lines here, with the same settings file and flags as one process.

The supervisor replaces a worker that exits (and gives up if workers keep dying at start), and on SIGTERM or
SIGINT passes the signal on, once, and closes its sockets; each worker then stops accepting (its socket then
closes: new connections are refused, for a load balancer to take elsewhere), finishes its in-flight requests
(up to `timeouts.drain`) and exits.  A worker takes a second signal within two seconds of the first as the same
one (Ctrl-C, or systemd's SIGTERM to the control group, reaches it beside the supervisor's).  /-/metrics shows the whole server through prometheus-client's multiprocess
mode: each worker writes its values to a folder the supervisor made (and removes at exit).  A supervisor killed
outright (SIGKILL, the OOM killer) cannot remove its folder: the folder's name carries the supervisor's pid, and
the next supervisor on the machine removes those whose supervisor is gone.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

log = logging.getLogger(__name__)

METRICS_DIR_PREFIX = "a11y-proxy-metrics-"  # then the supervisor's pid, "-", and mkdtemp's random part
RESTART_WINDOW = 2.0  # a worker that dies sooner than this after starting counts as a failed start
MAX_FAILED_STARTS = 5  # in a row: then the supervisor stops (a broken config, a port in use)
STARTUP_FAILED = 2  # the exit code of every start-up failure (README.md), a crash loop of workers included
# Connections the kernel holds for a worker before it accepts them: a burst while every worker is busy rewriting
# waits rather than being refused (nginx's default is 511; the kernel caps it at net.core.somaxconn).
LISTEN_BACKLOG = 1024


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (containers' cpusets included)
    except AttributeError:
        return os.cpu_count() or 1


# The cyclic garbage collector's thresholds in a serving process (Python's defaults: 700, 10, 10).  A proxied
# request leaves a few hundred container objects behind for a moment, all freed by reference counting; at 700 a
# collection still ran every few requests (~3% of a streamed request's CPU), and every few seconds a full one
# went over everything the worker had imported and built (~15 ms, in which no request moves).
GC_THRESHOLDS = (7000, 10, 10)


def tune_gc() -> None:
    """Once the application is built: what it built lives as long as the process, so it is set aside from
    collections (gc.freeze) after one last collection, and collections run ten times less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_worker(settings, sock: socket.socket | None = None, parent: int | None = None) -> None:
    """One proxy process: serve until SIGTERM/SIGINT, then drain in-flight requests and return.  With `sock`,
    on that listening socket (a supervisor's); else it binds the configured address itself."""
    from .app import create_app

    app = create_app(settings)
    tune_gc()
    if parent is not None:
        app.on_startup.append(lambda app: _watch_parent(app, parent))
    app.on_startup.append(_stop_on_the_first_signal)
    app.on_shutdown.append(_cut_what_outlasts_the_drain)
    where = {"sock": sock} if sock is not None else {"host": settings.listen_host, "port": settings.listen_port}
    web.run_app(app, **where, print=None, backlog=LISTEN_BACKLOG,  # (aiohttp's own, 128, would replace ours)
                shutdown_timeout=settings.timeouts.drain, handle_signals=False,  # (_stop_on_the_first_signal)
                handler_cancellation=True,  # a reader who hangs up stops the work on their request
                access_log=logging.getLogger("aiohttp.access") if settings.access_log else None)


async def _cut_what_outlasts_the_drain(app: web.Application) -> None:
    """When the drain starts: the connections of requests still running timeouts.drain later are closed, with a
    warning (aiohttp then cancels their handlers, as when a reader hangs up).  aiohttp itself waits shutdown_timeout
    for handlers, then only cancels a request's body and waits shutdown_timeout again: a request waiting on the
    upstream held a stop for twice the drain, past a container's grace period."""
    from .app import IN_FLIGHT, SETTINGS

    drain = app[SETTINGS].timeouts.drain

    def cut() -> None:
        running = [request for request in app[IN_FLIGHT].values() if request.transport is not None]
        if running:
            log.warning("worker %d: %d request(s) still in flight after timeouts.drain (%ss); cut", os.getpid(),
                        len(running), drain)
            for request in running:
                request.transport.close()

    asyncio.get_running_loop().call_later(drain, cut)


SIGNAL_ECHO = 2.0  # seconds: a second stop signal sooner than this is the same request to stop
# SIGHUP too: the terminal closing (or `kill -HUP`) stops the server as SIGTERM does, draining, rather than killing
# the supervisor outright and leaving its workers and metrics folder behind.  (Rule files reload by themselves.)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


async def _stop_on_the_first_signal(app: web.Application) -> None:
    """SIGTERM, SIGINT or SIGHUP starts the drain (aiohttp's GracefulExit); a second within SIGNAL_ECHO is ignored.
    A worker often gets two at once: Ctrl-C, or systemd's SIGTERM to the whole control group, reaches it and its
    supervisor, which passes the signal on; aiohttp's own handlers take a second signal as "stop now" and cut
    every request in flight.  A second signal later than that still stops at once, as one expects of Ctrl-C."""
    loop = asyncio.get_running_loop()
    first: list[float] = []

    def stop(number: int) -> None:
        now = time.monotonic()
        if first and now - first[0] < SIGNAL_ECHO:
            log.info("worker %d: %s again while draining: ignored", os.getpid(), signal.Signals(number).name)
            return
        if first:  # (raised again, it ends aiohttp's drain where it is, as its own handlers do)
            log.warning("worker %d: %s again: stopping without waiting for requests in flight", os.getpid(),
                        signal.Signals(number).name)
        first.append(now)
        raise web.GracefulExit()

    for number in STOP_SIGNALS:
        loop.add_signal_handler(number, stop, number)


PARENT_WATCH = web.AppKey("parent_watch", asyncio.Task)


async def _watch_parent(app: web.Application, parent: int) -> None:
    """A worker whose supervisor vanished (killed with SIGKILL) must not serve on unsupervised."""

    async def watch() -> None:
        while os.getppid() == parent:
            await asyncio.sleep(1.0)
        log.warning("worker %d: the supervisor is gone; stopping", os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)

    app[PARENT_WATCH] = asyncio.create_task(watch())


def _worker_main(settings, sock: socket.socket, parent: int, sockets: list[socket.socket]) -> None:
    # Forked with SIGTERM/SIGINT blocked and the supervisor's handlers: a signal now must stop this worker
    # (nothing is in flight yet), not run a copy of the supervisor's handler and leave the worker serving.
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, set(STOP_SIGNALS))
    # The other workers' sockets, inherited by the fork, are not this worker's to hold: held here, one would go
    # on queueing connections after its own worker stopped listening, that nobody ever accepts.
    for other in sockets:
        if other is not sock:
            other.close()
    try:
        run_worker(settings, sock=sock, parent=parent)
    except Exception as exc:  # one line through logging (JSON logs stay JSON), not multiprocessing's traceback
        log.error("worker %d could not serve: %s: %s", os.getpid(), type(exc).__name__, exc)
        log.debug("worker %d could not serve", os.getpid(), exc_info=True)
        sys.exit(STARTUP_FAILED)


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets listening on one address with SO_REUSEPORT, opened by the supervisor and kept for its
    whole life: worker i serves socket i, and a worker started in its place takes the same socket up, with the
    connections already waiting in its queue (none is refused or reset while a worker restarts)."""
    family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            address = sock.getsockname()  # port 0: the others join the port the first one got
            sock.listen(LISTEN_BACKLOG)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def remove_stale_metrics_dirs(folder: Path) -> int:
    """Remove the metrics folders in folder whose supervisor no longer runs (it was killed outright); returns
    how many.  Folders of running supervisors, of other users' and without a pid in the name are left alone."""
    removed = 0
    for path in folder.glob(METRICS_DIR_PREFIX + "*"):
        pid = path.name[len(METRICS_DIR_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # gone: nothing will remove its folder but us
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        except (PermissionError, OverflowError):  # alive (another user's), or no pid at all
            continue
    if removed:
        log.info("supervisor: removed %d metrics folder(s) left in %s by supervisors that were killed", removed,
                 folder)
    return removed


class Supervisor:
    def __init__(self, settings, workers: int):
        self.settings = settings
        self.count = workers
        self.context = multiprocessing.get_context("fork")  # workers share the imported code, copy-on-write
        self.workers: dict[int, multiprocessing.Process] = {}
        self.slot: dict[int, int] = {}  # worker pid -> index of the socket it serves
        self.started: dict[int, float] = {}
        self.failed_starts = 0
        self.stopping = False
        self.signalled: set[int] = set()

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT.  Raises OSError when the address cannot be listened on."""
        self.sockets = listening_sockets(self.settings.listen_host, self.settings.listen_port, self.count)
        remove_stale_metrics_dirs(Path(tempfile.gettempdir()))
        metrics_dir = Path(tempfile.mkdtemp(prefix=f"{METRICS_DIR_PREFIX}{os.getpid()}-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        for number in STOP_SIGNALS:
            signal.signal(number, self._stop)
        log.info("supervisor %d: %d workers on %s:%d (metrics in %s)", os.getpid(), self.count,
                 self.settings.listen_host, self.settings.listen_port, metrics_dir)
        try:
            for index in range(self.count):
                if self.stopping:  # told to stop while starting: start no more
                    break
                self._start_one(index)
            while not self.stopping:
                time.sleep(0.2)
                if self._reap() is False:
                    return STARTUP_FAILED
            return self._drain()
        finally:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            for sock in self.sockets:
                sock.close()

    def _start_one(self, index: int) -> None:
        if self.stopping:  # (the sockets are closed once stopping: see _stop)
            return
        process = self.context.Process(target=_worker_main, daemon=False,
                                       args=(self.settings, self.sockets[index], os.getpid(), self.sockets))
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, set(STOP_SIGNALS))
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self.workers[process.pid] = process
        self.slot[process.pid] = index
        self.started[process.pid] = time.monotonic()

    def _reap(self) -> bool:
        """Replace workers that died; False when they keep dying at start."""
        from prometheus_client import multiprocess

        for pid, process in list(self.workers.items()):
            if process.is_alive() or self.stopping:
                continue
            del self.workers[pid]
            lived = time.monotonic() - self.started.pop(pid)
            multiprocess.mark_process_dead(pid)  # its live gauges no longer count
            self.failed_starts = self.failed_starts + 1 if lived < RESTART_WINDOW else 0
            if self.failed_starts >= MAX_FAILED_STARTS:
                log.error("supervisor: %d workers in a row died at start (last exit code %s); stopping",
                          self.failed_starts, process.exitcode)
                self._stop()
                self._drain()
                return False
            log.warning("supervisor: worker %d exited with code %s after %.1f s; starting another", pid,
                        process.exitcode, lived)
            self._start_one(self.slot.pop(pid))
        return True

    def _stop(self, *_args) -> None:
        self.stopping = True
        for pid, process in self.workers.items():
            # Once each: a second SIGTERM soon after would be ignored, a later one cuts the worker's drain short.
            if pid not in self.signalled and process.is_alive():
                self.signalled.add(pid)
                os.kill(pid, signal.SIGTERM)
        # No worker will be started on them again: closed here, each socket closes when its worker stops
        # listening, so new connections are refused (a load balancer tries another replica) instead of waiting
        # in a queue nobody accepts from until the drain ends.
        for sock in self.sockets:
            sock.close()

    def _drain(self) -> int:
        self._stop()  # a worker started while the signal was being handled has not had it yet
        deadline = time.monotonic() + self.settings.timeouts.drain + 5
        for process in self.workers.values():
            process.join(max(0.0, deadline - time.monotonic()))
        stragglers = [p for p in self.workers.values() if p.is_alive()]
        for process in stragglers:
            log.error("supervisor: worker %d still running after the drain timeout; killed", process.pid)
            process.kill()
            process.join(5)
        log.info("supervisor %d: stopped", os.getpid())
        return 0
