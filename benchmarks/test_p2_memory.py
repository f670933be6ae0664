"""P2: bookkeeping memory at layered 1e6, the tracemalloc peak of constructing, resetting and
running the core (the input CSR arrays are the caller's and are not counted), per node."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest
from workloads import (
    References,
    drive_core,
    drive_graphlib,
    graphlib_sorter,
    layered,
    record,
    size,
)

pytestmark = pytest.mark.benchmark(group="P2 memory")

N = 1_000_000
TARGET_BYTES = {"c": 40, "py": 200}


def traced_peak(fn: Any) -> int:
    """Peak bytes allocated through Python's allocators while ``fn()`` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_p2_core_memory(benchmark: Any, impl: str, core: Any, reference: References) -> None:
    dag = layered(size(N))
    n = dag.n

    def build_and_run() -> None:
        rs = core(n, dag.pred_off, dag.preds)
        rs.reset(False)
        drive_core(rs)
        assert rs.remaining == 0

    peak: list[int] = []
    benchmark.pedantic(
        lambda: peak.append(traced_peak(build_and_run)), rounds=1, iterations=1, warmup_rounds=0
    )
    per_node = peak[0] / n

    def graphlib_peak() -> int:
        return traced_peak(lambda: drive_graphlib(graphlib_sorter(dag)))

    graphlib_bytes = reference.value(f"P2 graphlib {n}", graphlib_peak) / n
    record(
        benchmark,
        n=n,
        peak_bytes_per_node=per_node,
        graphlib_peak_bytes_per_node=graphlib_bytes,
        ratio_to_graphlib=per_node / graphlib_bytes,
        target=f"<= {TARGET_BYTES[impl]} B/node",
        target_met=per_node <= TARGET_BYTES[impl],
    )
