"""W1 (P1, P1b): bookkeeping only. Ingest the DAG, then run the ready/done/release loop with no
task execution, our core driven once per task from Python, against graphlib in the same run."""

from __future__ import annotations

from typing import Any

import pytest
from workloads import (
    SHAPES,
    Clock,
    References,
    drive_call_floor,
    drive_core,
    drive_graphlib,
    drive_kahn_lists,
    graphlib_sorter,
    layered,
    median,
    record,
    rounds,
    size,
    timed,
)

pytestmark = pytest.mark.benchmark(group="W1 bookkeeping")

N = 1_000_000
TARGET_NS = {"c": 100, "py": 700}
TARGET_VS_GRAPHLIB = {"c": 18.0, "py": 2.5}


def _graphlib_ns(reference: References, shape: str, dag: Any) -> tuple[float, float]:
    """graphlib ns/node: (prepare + get_ready/done loop, adding the graph)."""
    n = dag.n
    loop = reference.get(
        f"W1 graphlib loop {shape} {n}", drive_graphlib, lambda: graphlib_sorter(dag)
    )
    build = reference.get(f"W1 graphlib build {shape} {n}", lambda: graphlib_sorter(dag))
    return loop / n * 1e9, build / n * 1e9


def test_w1_layered(benchmark: Any, impl: str, core: Any, reference: References) -> None:
    """P1 / P1b: layered 1e6, ns per node and the ratio to graphlib."""
    dag = layered(size(N))
    n = dag.n
    ingest = median(timed(lambda: core(n, dag.pred_off, dag.preds), rounds()))
    rs = core(n, dag.pred_off, dag.preds)

    def run() -> None:
        rs.reset(False)
        drive_core(rs)

    clock = Clock()
    benchmark.pedantic(clock.wrap(run), rounds=rounds(), iterations=1, warmup_rounds=0)
    assert rs.remaining == 0
    ns = clock.median / n * 1e9
    graphlib_ns, graphlib_build_ns = _graphlib_ns(reference, "layered", dag)
    succ = dag.succ_lists()
    indeg0 = [dag.pred_off[i + 1] - dag.pred_off[i] for i in range(n)]
    kahn_ns = (
        reference.get(f"W1 kahn layered {n}", lambda: drive_kahn_lists(succ, indeg0)) / n * 1e9
    )
    call_ns = reference.get(f"W1 call floor {n}", lambda: drive_call_floor(n)) / n * 1e9
    speedup = graphlib_ns / ns
    record(
        benchmark,
        n=n,
        edges=dag.edges,
        ns_per_node=ns,
        ingest_ns_per_node=ingest / n * 1e9,
        graphlib_ns_per_node=graphlib_ns,
        graphlib_add_graph_ns_per_node=graphlib_build_ns,
        kahn_inline_lists_ns_per_node=kahn_ns,
        python_call_floor_ns_per_node=call_ns,
        speedup_vs_graphlib=speedup,
        target=f"<= {TARGET_NS[impl]} ns/node and >= {TARGET_VS_GRAPHLIB[impl]}x graphlib",
        target_met=ns <= TARGET_NS[impl] and speedup >= TARGET_VS_GRAPHLIB[impl],
    )
    _rustworkx(benchmark, reference, dag)


def _rustworkx(benchmark: Any, reference: References, dag: Any) -> None:
    """The optional Rust peer, when installed."""
    try:
        import rustworkx  # noqa: F401
    except ImportError:
        return
    from workloads import drive_rustworkx, rustworkx_sorter

    graph = rustworkx_sorter(dag)
    loop = reference.get(f"W1 rustworkx layered {dag.n}", lambda: drive_rustworkx(graph))
    record(benchmark, rustworkx_ns_per_node=loop / dag.n * 1e9)


@pytest.mark.parametrize("shape", ["chain", "fanout", "fanin", "bintree"])
def test_w1_shapes(benchmark: Any, impl: str, core: Any, reference: References, shape: str) -> None:
    """The other shapes at 1e6 (the C floor is 4-6 ns/node on these)."""
    dag = SHAPES[shape](size(N))
    n = dag.n
    rs = core(n, dag.pred_off, dag.preds)

    def run() -> None:
        rs.reset(False)
        drive_core(rs)

    clock = Clock()
    benchmark.pedantic(clock.wrap(run), rounds=rounds(), iterations=1, warmup_rounds=0)
    assert rs.remaining == 0
    ns = clock.median / n * 1e9
    graphlib_ns, _ = _graphlib_ns(reference, shape, dag)
    record(
        benchmark,
        n=n,
        ns_per_node=ns,
        graphlib_ns_per_node=graphlib_ns,
        speedup_vs_graphlib=graphlib_ns / ns,
    )
