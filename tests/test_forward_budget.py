"""forward.within_budget: a page's render in a pipeline thread, its time budget counted from when a thread
takes it up (not from the wait for a free thread), with one wake-up of the event loop in the common case."""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from proxy.forward import within_budget


def sleeper(seconds: float, value, started):
    started()
    time.sleep(seconds)
    return value


def counted_wakeups(loop: asyncio.AbstractEventLoop) -> list[int]:
    """Counts call_soon_threadsafe calls (each one wakes the event loop from another thread)."""
    calls = [0]
    original = loop.call_soon_threadsafe

    def counting(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    loop.call_soon_threadsafe = counting
    return calls


async def test_result_within_budget_with_one_wakeup():
    loop = asyncio.get_running_loop()
    wakeups = counted_wakeups(loop)
    with ThreadPoolExecutor(1) as executor:
        assert await within_budget(executor, 5.0, sleeper, 0.01, "done") == "done"
    assert wakeups[0] == 1  # the job's completion only: no wake-up for the thread taking the work up


async def test_work_over_budget_times_out_at_the_budget():
    with ThreadPoolExecutor(1) as executor:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await within_budget(executor, 0.2, sleeper, 1.0, "late")
        assert 0.15 < time.monotonic() - started < 0.6


async def test_exceptions_of_the_work_come_through():
    def failing(started):
        started()
        raise ValueError("no page")

    with ThreadPoolExecutor(1) as executor:
        with pytest.raises(ValueError, match="no page"):
            await within_budget(executor, 5.0, failing)


async def test_wait_for_a_thread_does_not_count():
    # One thread, three jobs of 0.15 s each, a budget of 0.25 s: the third waits 0.3 s for the thread (more
    # than the budget) and is still done, since its own work takes less than the budget.
    with ThreadPoolExecutor(1) as executor:
        results = await asyncio.gather(*(within_budget(executor, 0.25, sleeper, 0.15, i) for i in range(3)))
    assert results == [0, 1, 2]


async def test_queued_work_over_budget_times_out_counted_from_its_start():
    with ThreadPoolExecutor(1) as executor:
        first = asyncio.ensure_future(within_budget(executor, 0.3, sleeper, 0.25, "first"))
        await asyncio.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await within_budget(executor, 0.3, sleeper, 2.0, "second")  # queued ~0.24 s, then over its budget
        waited = time.monotonic() - started
        assert await first == "first"
    assert 0.45 < waited < 1.2  # ~0.24 s queued + 0.3 s budget, not 0.3 s from submitting


async def test_cancelled_waiter_cancels_queued_work():
    ran = []

    def record(started):
        started()
        ran.append(1)

    with ThreadPoolExecutor(1) as executor:
        blocker = asyncio.ensure_future(within_budget(executor, 5.0, sleeper, 0.2, "blocker"))
        await asyncio.sleep(0.01)
        queued = asyncio.ensure_future(within_budget(executor, 5.0, record))
        await asyncio.sleep(0.01)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        assert await blocker == "blocker"
    assert ran == []  # the reader went away before a thread took it up: it never ran


async def test_many_pages_over_a_tiny_budget_raise_nothing_in_callbacks():
    # The loop's check and the thread's "taken up" race: whichever comes second must find the budget already
    # run out and do nothing (no "Exception in callback" from rescheduling an expiring timeout).
    loop = asyncio.get_running_loop()
    errors = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    with ThreadPoolExecutor(2) as executor:
        results = await asyncio.gather(*(within_budget(executor, 1e-4 * (i % 3), sleeper, 0.001, i)
                                         for i in range(300)), return_exceptions=True)
    await asyncio.sleep(0.05)
    assert all(r == i or isinstance(r, TimeoutError) for i, r in enumerate(results))
    assert errors == []


async def test_a_start_notice_after_the_budget_ran_out_is_ignored():
    # The race made deterministic: the loop's own check finds the work started long ago (the budget has run out:
    # the timeout fires next), and the thread's notice of the start arrives after that.
    import concurrent.futures

    class Held:  # an executor that never runs anything: the test plays the pipeline thread
        def __init__(self):
            self.calls = []

        def submit(self, fn, *args):
            self.calls.append(args)
            return concurrent.futures.Future()

    loop = asyncio.get_running_loop()
    errors = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    executor = Held()
    waiter = asyncio.ensure_future(within_budget(executor, 0.01, sleeper, 1.0, "x"))
    await asyncio.sleep(0.05)  # the first check came: the work is still queued, so the loop asked to be told
    taken = executor.calls[0][-1]
    assert taken.tell is not None and taken.at is None
    check = next(cell.cell_contents for cell in taken.tell.__closure__
                 if getattr(cell.cell_contents, "__name__", "") == "check")
    taken.at = time.monotonic() - 1.0
    check()  # the loop sees the start: the budget ran out a second ago
    taken()  # the thread's notice, later
    with pytest.raises(TimeoutError):
        await waiter
    await asyncio.sleep(0.01)
    assert errors == []
