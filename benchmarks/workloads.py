"""Deterministic workloads (PERFORMANCE.md) and the in-run reference implementations.

Every DAG is predecessor CSR over ids ``0..n-1`` in generation order: the predecessors of node
``i`` are ``preds[pred_off[i]:pred_off[i + 1]]``. Arrays are ``array('i')`` (int32), which both
ready-set cores accept. Generators are seeded, so every run measures the same graph.

The references are what a Python programmer would write instead of thread-order; they run in
the same process as the thing they are compared with, because only in-run ratios are comparable
on a shared, noisy machine.
"""

from __future__ import annotations

import graphlib
import math
import os
import queue
import random
import statistics
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

SEED = 20240611
SMOKE = os.environ.get("TDRUN_BENCH_SMOKE", "") not in ("", "0")


def size(n: int, smoke: int = 1_000) -> int:
    """``n`` for a full run, ``min(n, smoke)`` in smoke mode (``TDRUN_BENCH_SMOKE=1``)."""
    return min(n, smoke) if SMOKE else n


def rounds(full: int = 3) -> int:
    return 1 if SMOKE else full


@dataclass(frozen=True)
class Dag:
    """A DAG as predecessor CSR, plus how it was made."""

    shape: str
    n: int
    pred_off: array[int]
    preds: array[int]
    layers: int = 0

    @property
    def edges(self) -> int:
        return len(self.preds)

    def pred_lists(self) -> list[list[int]]:
        off, preds = self.pred_off, self.preds
        return [preds[off[i] : off[i + 1]].tolist() for i in range(self.n)]

    def succ_lists(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in range(self.n)]
        off, preds = self.pred_off, self.preds
        for i in range(self.n):
            for k in range(off[i], off[i + 1]):
                out[preds[k]].append(i)
        return out


def _csr(n: int, pred_of: Callable[[int], Sequence[int]]) -> tuple[array[int], array[int]]:
    pred_off = array("i", [0])
    preds = array("i")
    for i in range(n):
        preds.extend(pred_of(i))
        pred_off.append(len(preds))
    return pred_off, preds


@cache
def chain(n: int) -> Dag:
    pred_off = array("i", [0, *range(n)]) if n else array("i", [0])
    preds = array("i", range(max(n - 1, 0)))
    return Dag("chain", n, pred_off, preds, layers=n)


@cache
def fanout(n: int) -> Dag:
    """0 -> every other node."""
    pred_off = array("i", [0, 0, *range(1, n)]) if n else array("i", [0])
    return Dag("fanout", n, pred_off, array("i", bytes(4 * max(n - 1, 0))), layers=min(n, 2))


@cache
def fanin(n: int) -> Dag:
    """Every other node -> n-1."""
    pred_off = array("i", [0] * n + [max(n - 1, 0)])
    return Dag("fanin", n, pred_off, array("i", range(max(n - 1, 0))), layers=min(n, 2))


@cache
def bintree(n: int) -> Dag:
    """i -> 2i+1, 2i+2."""
    pred_off = array("i", [0, *range(max(n, 1))])
    preds = array("i", [(j - 1) // 2 for j in range(1, n)])
    return Dag("bintree", n, pred_off, preds, layers=max(n, 1).bit_length())


def layered_width(n: int) -> int:
    return max(64, math.isqrt(n))


@cache
def layered(n: int, width: int | None = None, fan_in: int = 4, seed: int = SEED) -> Dag:
    """Layers of ``width`` nodes; every node outside layer 0 draws ``fan_in`` distinct
    predecessors from the previous layer (fewer only when that layer is smaller)."""
    w = layered_width(n) if width is None else width
    rng = random.Random(seed)
    sample = rng.sample

    def pred_of(i: int) -> list[int]:
        start = (i // w - 1) * w
        if start < 0:
            return []
        return sorted(sample(range(start, start + w), fan_in))

    pred_off, preds = _csr(n, pred_of)
    return Dag("layered", n, pred_off, preds, layers=-(-n // w))


SHAPES: dict[str, Callable[[int], Dag]] = {
    "chain": chain,
    "fanout": fanout,
    "fanin": fanin,
    "bintree": bintree,
    "layered": layered,
}


# -- registering on a Scheduler ----------------------------------------------------------------


def noop() -> None:
    return None


def task_names(n: int) -> list[str]:
    return [f"t{i}" for i in range(n)]


def registration_args(dag: Dag) -> tuple[list[str], list[list[str]]]:
    """Names and ``after`` lists, built once so registration timing measures the API only."""
    names = task_names(dag.n)
    off, preds = dag.pred_off, dag.preds
    after = [[names[p] for p in preds[off[i] : off[i + 1]]] for i in range(dag.n)]
    return names, after


def register_all(
    scheduler: Any, names: Sequence[str], after: Sequence[Sequence[str]], fn: Callable[[], Any]
) -> None:
    register = scheduler.register
    for name, deps in zip(names, after, strict=True):
        register(fn, name, after=deps)


# -- timing helpers ----------------------------------------------------------------------------


def timed(
    fn: Callable[..., Any], repeat: int, setup: Callable[[], Any] | None = None
) -> list[float]:
    """Wall seconds of ``repeat`` calls of ``fn`` (given ``setup()``'s result, untimed)."""
    out = []
    for _ in range(repeat):
        args = () if setup is None else (setup(),)
        t0 = time.perf_counter()
        fn(*args)
        out.append(time.perf_counter() - t0)
    return out


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def measured_sleep(seconds: float, samples: int = 50) -> float:
    """What ``time.sleep(seconds)`` actually takes here, now (median)."""
    return median(timed(lambda: time.sleep(seconds), samples))


# -- W1 references: the loop with no task execution ------------------------------------------


def drive_core(rs: Any) -> None:
    """Our core, one Python call per task: ``complete(i)`` returns the next id."""
    complete = rs.complete
    i = rs.pop()
    while i >= 0:
        i = complete(i)


def graphlib_sorter(dag: Dag) -> graphlib.TopologicalSorter[int]:
    ts: graphlib.TopologicalSorter[int] = graphlib.TopologicalSorter()
    add = ts.add
    off, preds = dag.pred_off, dag.preds
    for i in range(dag.n):
        add(i, *preds[off[i] : off[i + 1]])
    return ts


def drive_graphlib(ts: graphlib.TopologicalSorter[int]) -> int:
    """prepare() + the get_ready()/done() loop, one done() per node."""
    ts.prepare()
    count = 0
    get_ready, done, is_active = ts.get_ready, ts.done, ts.is_active
    while is_active():
        for node in get_ready():
            done(node)
            count += 1
    return count


def rustworkx_sorter(dag: Dag) -> Any:  # pragma: no cover - optional peer
    import rustworkx

    g = rustworkx.PyDiGraph()
    g.add_nodes_from(range(dag.n))
    off, preds = dag.pred_off, dag.preds
    g.add_edges_from_no_data(
        [(preds[k], i) for i in range(dag.n) for k in range(off[i], off[i + 1])]
    )
    return g


def drive_rustworkx(g: Any) -> int:  # pragma: no cover - optional peer
    import rustworkx

    ts = rustworkx.TopologicalSorter(g)
    count = 0
    while ts.is_active():
        ready = ts.get_ready()
        count += len(ready)
        ts.done(ready)
    return count


def drive_kahn_lists(succ: list[list[int]], indeg0: list[int]) -> int:
    """Pure-Python list-of-lists Kahn loop, inline (the graph already ingested as lists): what
    the fallback core would cost with no priority queue and no per-task call."""
    indeg = indeg0.copy()
    ready = [i for i, d in enumerate(indeg) if not d]
    count = 0
    pop, push = ready.pop, ready.append
    while ready:
        i = pop()
        count += 1
        for s in succ[i]:
            d = indeg[s] - 1
            indeg[s] = d
            if not d:
                push(s)
    return count


def drive_call_floor(n: int) -> int:
    """One call of a C method per node and nothing else: the interpreter's share of any core
    driven once per task from Python (``i = complete(i)`` with an empty body)."""
    step = (1).__add__
    i = 0
    while i < n:
        i = step(i)
    return i


# -- W2/W3 references: running callables on threads -----------------------------------------


def run_graphlib_executor(dag: Dag, fns: Sequence[Callable[[], Any]], workers: int) -> None:
    """The stdlib-documented pattern: a TopologicalSorter feeding a ThreadPoolExecutor, finished
    nodes reported back through a queue."""
    ts = graphlib_sorter(dag)
    ts.prepare()
    finished: queue.SimpleQueue[int] = queue.SimpleQueue()
    put = finished.put

    def run(node: int) -> None:
        fns[node]()
        put(node)

    with ThreadPoolExecutor(workers) as pool:
        submit = pool.submit
        while ts.is_active():
            for node in ts.get_ready():
                submit(run, node)
            ts.done(finished.get())


def run_bare_executor(fns: Sequence[Callable[[], Any]], workers: int) -> None:
    """ThreadPoolExecutor.submit of every callable, no dependencies."""
    with ThreadPoolExecutor(workers) as pool:
        submit = pool.submit
        for fn in fns:
            submit(fn)


def run_plain_threads(dag: Dag, fns: Sequence[Callable[[], Any]], workers: int) -> None:
    """The floor: hand-written worker threads, a SimpleQueue of ready ids, indegree counters
    under one lock. No events, no results, no error handling."""
    n = dag.n
    if n == 0:
        return
    succ = dag.succ_lists()
    off = dag.pred_off
    indeg = [off[i + 1] - off[i] for i in range(n)]
    ready: queue.SimpleQueue[int] = queue.SimpleQueue()
    lock = threading.Lock()
    left = [n]

    def worker() -> None:
        get, put = ready.get, ready.put
        while True:
            i = get()
            if i < 0:
                return
            fns[i]()
            with lock:
                for s in succ[i]:
                    d = indeg[s] - 1
                    indeg[s] = d
                    if not d:
                        put(s)
                left[0] -= 1
                if not left[0]:
                    for _ in range(workers):
                        put(-1)

    for i in range(n):
        if not indeg[i]:
            ready.put(i)
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def dask_graph(dag: Dag, fn: Callable[..., Any]) -> dict[Any, Any]:  # pragma: no cover - optional
    off, preds = dag.pred_off, dag.preds
    return {i: (fn, *preds[off[i] : off[i + 1]].tolist()) for i in range(dag.n)}


def noop_args(*_: Any) -> None:
    return None


def run_dask(dsk: dict[Any, Any], n: int, workers: int) -> None:  # pragma: no cover - optional
    import dask.threaded

    dask.threaded.get(dsk, list(range(n)), num_workers=workers)


class Clock:
    """Times each call of a wrapped function, so a benchmark knows its own median even when
    pytest-benchmark is disabled (the smoke pass) and can form ratios against references."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            self.seconds.append(time.perf_counter() - t0)
            return out

        return timed_call

    @property
    def median(self) -> float:
        return median(self.seconds)


def alternate_starts(
    benchmark: Any, make: Callable[[bool], Any], repeat: int
) -> tuple[Clock, Clock]:
    """``start()`` of ``make(False)`` (the reference) then of ``make(True)`` in each round, so
    both see the same machine; returns their clocks (making the schedulers is not timed)."""
    reference, variant = Clock(), Clock()

    def both() -> None:
        reference.wrap(make(False).start)()
        variant.wrap(make(True).start)()

    benchmark.pedantic(both, rounds=repeat, iterations=1, warmup_rounds=0)
    return reference, variant


def callback_maker(
    callback: str,
    names: Sequence[str],
    after: Sequence[Sequence[str]],
    fn: Callable[[], Any],
    workers: int,
) -> Callable[[bool], Any]:
    """For ``alternate_starts``: a fresh Scheduler of the tasks, with a no-op 1.4.0 callback
    (``callback`` names its ``on_*`` method) registered when asked."""
    from thread_order import Scheduler

    def make(with_callback: bool) -> Any:
        scheduler = Scheduler(workers=workers)
        register_all(scheduler, names, after, fn)
        if with_callback:
            getattr(scheduler, callback)(lambda *args: None)
        return scheduler

    return make


def record(benchmark: Any, **figures: Any) -> None:
    """Store figures in ``benchmark.extra_info`` (floats rounded to 4 significant digits)."""
    for key, value in figures.items():
        benchmark.extra_info[key] = float(f"{value:.4g}") if isinstance(value, float) else value


class References:
    """Session cache of reference timings: ``get(key, fn)`` -> median seconds of ``fn``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.values: dict[str, Any] = {}

    def get(
        self,
        key: str,
        fn: Callable[..., Any],
        setup: Callable[[], Any] | None = None,
        repeat: int | None = None,
    ) -> float:
        """Median seconds of ``fn()`` (or ``fn(setup())``, the setup untimed)."""
        if key not in self.seconds:
            self.seconds[key] = median(timed(fn, repeat or rounds(), setup))
        return self.seconds[key]

    def value(self, key: str, fn: Callable[[], Any]) -> Any:
        """A cached non-timing figure (a memory peak, a measured sleep)."""
        if key not in self.values:
            self.values[key] = fn()
        return self.values[key]
