"""D1: overhead per task of the Dask backend against threads, on the same DAG and slot count.

1,000 tasks of ``time.sleep(0.002)`` in 20 layers of 50, each task after 1-3 random tasks of
the layer before (seeded), with 2 slots: 2 worker threads, or a 2-process ``LocalCluster`` on
127.0.0.1 with one thread per process. Overhead per task = (makespan x slots - sum of bodies)
/ tasks, where a body is the ``time.sleep(0.002)`` measured in the same run. The cluster is
started once per module, outside the timing (``startup_s`` records it). Smoke size: 5 layers
of 20 tasks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from workloads import SMOKE, Clock, measured_sleep, record, rounds

from thread_order import Scheduler

pytestmark = pytest.mark.benchmark(group="D1 distributed overhead")

LAYERS, WIDTH = (5, 20) if SMOKE else (20, 50)
SLEEP = 0.002
SLOTS = 2
SEED = 7


def body() -> None:
    time.sleep(SLEEP)


def dag() -> list[tuple[str, list[str]]]:
    """``(name, after)`` per task, layer by layer."""
    rng = random.Random(SEED)
    out: list[tuple[str, list[str]]] = []
    for layer in range(LAYERS):
        for k in range(WIDTH):
            deps = (
                []
                if layer == 0
                else [
                    f"L{layer - 1:02d}_{j:03d}" for j in rng.sample(range(WIDTH), rng.randint(1, 3))
                ]
            )
            out.append((f"L{layer:02d}_{k:03d}", deps))
    return out


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Any, float]]:
    pytest.importorskip("distributed", reason="the Dask backend needs thread-order[dask]")
    from thread_order.backends import DaskBackend

    t0 = time.perf_counter()
    backend = DaskBackend.local(processes=SLOTS, threads=1)
    started = time.perf_counter() - t0
    yield backend, started
    backend.close()


@pytest.mark.parametrize("backend", ["threads", "dask"])
def test_d1_overhead_per_task(
    benchmark: Any, impl: str, scheduler_core: Any, backend: str, request: pytest.FixtureRequest
) -> None:
    tasks = dag()
    startup = 0.0
    remote = None
    if backend == "dask":
        remote, startup = request.getfixturevalue("cluster")

    def setup() -> tuple[tuple[Scheduler], dict[str, Any]]:
        scheduler = Scheduler(workers=SLOTS, backend=remote)
        for name, after in tasks:
            scheduler.register(body, name, after=after)
        return (scheduler,), {}

    def run(scheduler: Scheduler) -> None:
        result = scheduler.run()
        assert result.ok, result.summary()

    clock = Clock()
    sleep_before = measured_sleep(SLEEP)
    benchmark.pedantic(clock.wrap(run), setup=setup, rounds=rounds(3), iterations=1)
    sleep = (sleep_before + measured_sleep(SLEEP)) / 2
    n = len(tasks)
    makespan = clock.median
    record(
        benchmark,
        tasks=n,
        slots=SLOTS,
        makespan_s=makespan,
        ideal_s=n * sleep / SLOTS,
        overhead_ms_per_task=(makespan * SLOTS - n * sleep) / n * 1e3,
        startup_s=startup,
    )
