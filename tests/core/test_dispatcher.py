"""How the dispatcher hands work to idle workers, through the public Scheduler API."""

from __future__ import annotations

import threading
import time

import pytest

from thread_order import Scheduler, add_task

pytestmark = pytest.mark.usefixtures("core_impl")

WORKERS = 4


def test_parked_workers_are_woken_for_every_wave() -> None:
    """Each wave of WORKERS tasks is released at once by one gate task. Every task of a wave
    waits at a barrier, so a wave only passes if WORKERS threads run it together: the first
    wave needs the missing workers started (only one was, for the gate), the later ones need
    the workers parked during their gate woken. A worker not started or not woken leaves the
    barrier to time out."""
    s = Scheduler(workers=WORKERS)
    barrier = threading.Barrier(WORKERS, timeout=10)
    lock = threading.Lock()
    threads: dict[int, set[str]] = {}

    def member(wave: int):  # type: ignore[no-untyped-def]
        def run() -> None:
            with lock:
                threads.setdefault(wave, set()).add(threading.current_thread().name)
            barrier.wait()

        return run

    previous: list[str] = []
    for wave in range(3):
        gate = f"gate{wave}"
        s.register(lambda: None, gate, after=previous)
        previous = [f"w{wave}_{k}" for k in range(WORKERS)]
        for name in previous:
            s.register(member(wave), name, after=[gate])
    summary = s.start()
    assert summary["failed"] == [] and summary["skipped"] == []
    assert len(summary["passed"]) == 3 * (WORKERS + 1)
    assert all(len(names) == WORKERS for names in threads.values()), threads


def _quick_wave(s: Scheduler, ran_on: list[threading.Thread]) -> list[str]:
    """WORKERS tasks that all wait at one barrier, so each runs on its own worker; records the
    worker threads. Returns their names."""
    barrier = threading.Barrier(WORKERS, timeout=10)
    lock = threading.Lock()

    def member() -> None:
        with lock:
            ran_on.append(threading.current_thread())
        barrier.wait()

    names = [f"wave{k}" for k in range(WORKERS)]
    for name in names:
        s.register(member, name)
    return names


def _others_gone(threads: list[threading.Thread], within: float = 10.0) -> list[str]:
    """Wait until every thread but the caller's has ended; the names of those still alive."""
    me = threading.current_thread()
    deadline = time.monotonic() + within
    while True:
        alive = [t.name for t in threads if t is not me and t.is_alive()]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.005)


def test_workers_the_tasks_left_cannot_use_exit_before_the_run_ends() -> None:
    """Once fewer tasks are left than workers, the spare workers end instead of waiting, parked,
    to be released together when the last task ends (which kept a 64-worker run's end waiting
    for 63 thread exits). Here the last task is the only one left: while it runs, every other
    worker of the run has already ended."""
    s = Scheduler(workers=WORKERS)
    ran_on: list[threading.Thread] = []
    wave = _quick_wave(s, ran_on)
    still_alive: list[list[str]] = []
    s.register(lambda: still_alive.append(_others_gone(ran_on)), "last", after=wave)
    summary = s.start()
    assert len(summary["passed"]) == WORKERS + 1
    assert len({t.name for t in ran_on}) == WORKERS
    assert still_alive == [[]]


def test_tasks_added_after_workers_exited_get_their_lanes_back() -> None:
    """A task adds WORKERS tasks that must run together (a barrier) after the other workers of
    the run have exited: their lanes are started again, under the same worker names."""
    s = Scheduler(workers=WORKERS)
    ran_on: list[threading.Thread] = []
    wave = _quick_wave(s, ran_on)
    barrier = threading.Barrier(WORKERS, timeout=10)
    lock = threading.Lock()
    late: list[str] = []
    still_alive: list[list[str]] = []

    def together() -> None:
        with lock:
            late.append(threading.current_thread().name)
        barrier.wait()

    def grow() -> None:
        still_alive.append(_others_gone(ran_on))
        for k in range(WORKERS):
            add_task(together, name=f"added{k}")

    s.register(grow, "grow", after=wave)
    summary = s.start()
    assert still_alive == [[]]
    assert summary["failed"] == [] and len(summary["passed"]) == 2 * WORKERS + 1
    lanes = {f"thread_{w}" for w in range(WORKERS)}
    assert set(late) == lanes  # four distinct workers, all named as the run's lanes


def test_a_signal_wakes_one_wait_however_often_it_was_set() -> None:
    from thread_order._dispatcher import Signal

    signal = Signal()
    assert signal.wait(0) is False  # not set
    signal.set()
    signal.set()  # set twice: still one wake-up
    assert signal.wait(0) is True
    assert signal.wait(0.01) is False
    signal.set()
    signal.clear()
    assert signal.wait(0) is False
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(signal.wait(10)))
    waiter.start()
    signal.set()
    waiter.join(10)
    assert woke == [True]
