"""P5, P6, P7, P9: fixed costs. A short chain end to end, registering and compiling 1e6 tasks,
peak RSS growth for 1e6 tasks, and ``tdrun --version`` start-up."""

from __future__ import annotations

import graphlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from workloads import (
    Clock,
    References,
    chain,
    layered,
    median,
    noop,
    record,
    register_all,
    registration_args,
    rounds,
    run_graphlib_executor,
    run_plain_threads,
    size,
    timed,
)

from thread_order import Scheduler, default_workers

pytestmark = pytest.mark.benchmark(group="overheads")

HERE = Path(__file__).parent


def test_p5_chain_1000(
    benchmark: Any, impl: str, scheduler_core: Any, reference: References
) -> None:
    """P5: a 1,000-task no-op chain, register + start, <= 5 ms (1.4.0 took 100.8 s)."""
    dag = chain(1_000)
    names, after = registration_args(dag)

    def register_and_start() -> dict[str, Any]:
        scheduler = Scheduler()
        register_all(scheduler, names, after, noop)
        return scheduler.start()

    clock = Clock()
    summary = benchmark.pedantic(
        clock.wrap(register_and_start), rounds=rounds(20), iterations=1, warmup_rounds=0
    )
    assert len(summary["passed"]) == dag.n
    fns = [noop] * dag.n
    workers = default_workers
    graphlib_tpe = reference.get(
        "P5 graphlib+tpe", lambda: run_graphlib_executor(dag, fns, workers), repeat=rounds(20)
    )
    floor = reference.get(
        "P5 plain threads", lambda: run_plain_threads(dag, fns, workers), repeat=rounds(20)
    )
    ms = clock.median * 1e3
    record(
        benchmark,
        n=dag.n,
        workers=workers,
        ms=ms,
        graphlib_tpe_ms=graphlib_tpe * 1e3,
        plain_threads_ms=floor * 1e3,
        target="<= 5 ms",
        target_met=ms <= 5.0,
    )


def test_p6_register_compile(
    benchmark: Any, impl: str, scheduler_core: Any, reference: References
) -> None:
    """P6: register + validate + compile 1e6 tasks (layered), <= 2.0 us/task."""
    dag = layered(size(1_000_000))
    n = dag.n
    names, after = registration_args(dag)
    registering, compiling = Clock(), Clock()

    @registering.wrap
    def register() -> Scheduler:
        scheduler = Scheduler()
        register_all(scheduler, names, after, noop)
        return scheduler

    @compiling.wrap
    def compile_(scheduler: Scheduler) -> Any:
        return scheduler.compile()

    clock = Clock()
    benchmark.pedantic(
        clock.wrap(lambda: compile_(register())), rounds=rounds(), iterations=1, warmup_rounds=0
    )

    def graphlib_by_name() -> None:
        ts: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for name, deps in zip(names, after, strict=True):
            ts.add(name, *deps)
        ts.prepare()

    graphlib_s = reference.get(f"P6 graphlib add+prepare {n}", graphlib_by_name)
    us = clock.median / n * 1e6
    record(
        benchmark,
        n=n,
        us_per_task=us,
        register_us_per_task=registering.median / n * 1e6,
        compile_us_per_task=compiling.median / n * 1e6,
        graphlib_add_prepare_us_per_task=graphlib_s / n * 1e6,
        ratio_to_graphlib=clock.median / graphlib_s,
        target="<= 2.0 us/task",
        target_met=us <= 2.0,
    )


RSS_SCRIPT = textwrap.dedent(
    """
    import gc, json, resource, sys

    def peak_rss():
        # VmHWM is this process's own high-water mark; ru_maxrss is not: Linux carries it over
        # from the parent through fork and exec, so a child of a big pytest starts "high".
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

    sys.path.insert(0, sys.argv[1])
    from workloads import layered, noop, registration_args
    n, what = int(sys.argv[2]), sys.argv[3]
    dag = layered(n)
    names, after = registration_args(dag)
    fns = [noop] * n
    layered.cache_clear()
    del dag
    gc.collect()
    import thread_order
    from thread_order import Scheduler
    import concurrent.futures, graphlib, queue
    before = peak_rss()
    if what == "thread-order":
        s = Scheduler(workers=8)
        register = s.register
        for name, deps in zip(names, after):
            register(noop, name, after=deps)
        passed = len(s.start()["passed"])
    else:
        from workloads import Dag, run_graphlib_executor
        index = {name: i for i, name in enumerate(names)}
        ts_input = {name: deps for name, deps in zip(names, after)}
        from array import array
        off, preds = array("i", [0]), array("i")
        for deps in after:
            preds.extend(index[d] for d in deps)
            off.append(len(preds))
        run_graphlib_executor(Dag("layered", n, off, preds), fns, 8)
        passed = n
    print(json.dumps({"growth": peak_rss() - before, "passed": passed,
                      "impl": thread_order.IMPLEMENTATION}))
    """
)


def rss_growth(n: int, what: str, pure: bool) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("THREAD_ORDER_NO_EXTENSIONS", None)
    if pure:
        env["THREAD_ORDER_NO_EXTENSIONS"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, str(HERE), str(n), what],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=900,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_p7_peak_rss(benchmark: Any, impl: str, reference: References) -> None:
    """P7: peak RSS growth of registering and running 1e6 no-op tasks (one shared callable, so
    the callables cost nothing), in a fresh interpreter, <= 500 B/task."""
    n = size(1_000_000)
    got: list[dict[str, Any]] = []
    benchmark.pedantic(
        lambda: got.append(rss_growth(n, "thread-order", impl == "py")),
        rounds=1,
        iterations=1,
        warmup_rounds=0,
    )
    assert got[0]["impl"] == impl
    assert got[0]["passed"] == n
    per_task = got[0]["growth"] / n
    graphlib_tpe = reference.value(f"P7 graphlib+tpe {n}", lambda: rss_growth(n, "ref", False))
    record(
        benchmark,
        n=n,
        rss_growth_bytes_per_task=per_task,
        graphlib_tpe_rss_growth_bytes_per_task=graphlib_tpe["growth"] / n,
        target="<= 500 B/task",
        target_met=per_task <= 500,
    )


def test_p9_tdrun_version(benchmark: Any, impl: str, reference: References) -> None:
    """P9: ``tdrun --version`` wall time, <= 250 ms; bare interpreter start-up for scale."""
    tdrun = Path(sys.executable).with_name("tdrun")
    found = str(tdrun) if tdrun.exists() else shutil.which("tdrun")
    if found is None:
        pytest.skip("tdrun is not installed")
    env = dict(os.environ)
    env.pop("THREAD_ORDER_NO_EXTENSIONS", None)
    if impl == "py":
        env["THREAD_ORDER_NO_EXTENSIONS"] = "1"

    def version() -> str:
        return subprocess.run(
            [found, "--version"], capture_output=True, text=True, check=True, env=env
        ).stdout

    clock = Clock()
    text = benchmark.pedantic(clock.wrap(version), rounds=rounds(7), iterations=1, warmup_rounds=1)
    bare = reference.get(
        "P9 python -c pass",
        lambda: subprocess.run([sys.executable, "-c", "pass"], check=True),
        repeat=rounds(7),
    )
    importing = median(
        timed(
            lambda: subprocess.run(
                [sys.executable, "-c", "import thread_order"], env=env, check=True
            ),
            rounds(7),
        )
    )
    ms = clock.median * 1e3
    record(
        benchmark,
        ms=ms,
        output=text.strip(),
        python_startup_ms=bare * 1e3,
        import_thread_order_ms=importing * 1e3,
        target="<= 250 ms",
        target_met=ms <= 250,
    )
