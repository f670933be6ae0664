"""How the dispatcher hands work to idle workers, through the public Scheduler API."""

from __future__ import annotations

import threading

import pytest

from thread_order import Scheduler

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
