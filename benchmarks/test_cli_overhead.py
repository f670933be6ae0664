"""C1: what ``tdrun`` adds per task over the engine alone, <= 20 us/task.

A generated suite of 10,000 no-op ``@mark`` tasks (200 with ``TDRUN_BENCH_SMOKE=1``; every task
from the 100th on runs after the task 100 places before it, so there are 100 chains) is run two
ways, each in a fresh interpreter of the same Python with stdout and stderr to a pipe and the
same number of workers:

- ``tdrun <suite> --workers W --no-history`` (default output: per-task lines, summary, the
  stderr log stream);
- the engine alone: the engine's own suite path, ``load_and_collect_functions`` +
  ``register_functions`` on a ``Scheduler(workers=W)`` and ``run()``, nothing printed.

The rounds alternate (engine in the untimed setup, then tdrun), so both see the same machine.
``cli_us_per_task`` = (median tdrun wall - median engine wall) / tasks, start-up included (the
target). The same pair on a one-task suite gives ``startup_gap_ms``, tdrun's fixed cost
(typer, rich); ``slope_us_per_task`` is the per-task figure without it.

Both interpreters byte-compile into a private ``PYTHONPYCACHEPREFIX`` (warmed before timing)
and run without ``PYTHONDONTWRITEBYTECODE``/``PYTHONUNBUFFERED``, so an environment that sets
those does not time the compiler or unbuffered writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from workloads import Clock, record, rounds, size

from thread_order import IMPLEMENTATION, default_workers

pytestmark = pytest.mark.benchmark(group="cli")

CHAINS = 100
TARGET_US = 20.0

ENGINE = textwrap.dedent(
    """
    import sys

    from thread_order import Scheduler, load_and_collect_functions, register_functions

    path, workers = sys.argv[1], int(sys.argv[2])
    module, functions, _ = load_and_collect_functions(path)
    scheduler = Scheduler(workers=workers)
    register_functions(scheduler, functions)
    result = scheduler.run()
    assert result.ok and len(result) == len(functions), result.summary_text()
    """
)


def write_suite(folder: Path, n: int) -> Path:
    """``n`` no-op ``@mark`` tasks; task i >= CHAINS runs after task i - CHAINS."""
    lines = ["from thread_order import mark", ""]
    for i in range(n):
        after = f"@mark(after=['t{i - CHAINS:05d}'])" if i >= CHAINS else "@mark()"
        lines += [after, f"def t{i:05d}(state):", "    pass", ""]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "test_noop_suite.py"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One fresh interpreter, stdout and stderr to pipes (read to the end)."""
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, check=False)


def commands(suite: Path, engine: Path, workers: int) -> tuple[list[str], list[str]]:
    cli = [sys.executable, "-m", "thread_order_cli", str(suite)]
    cli += ["--workers", str(workers), "--no-history"]
    return cli, [sys.executable, str(engine), str(suite), str(workers)]


def alternate(
    cli: list[str], engine: list[str], cwd: Path, env: dict[str, str], repeat: int
) -> tuple[float, float]:
    """Median wall seconds of (tdrun, engine), measured in alternation."""
    cli_clock, engine_clock = Clock(), Clock()
    for _ in range(repeat):
        for clock, cmd in ((engine_clock, engine), (cli_clock, cli)):
            proc = clock.wrap(run)(cmd, cwd, env)
            assert proc.returncode == 0, proc.stderr[-2000:]
    return cli_clock.median, engine_clock.median


def test_c1_cli_overhead_per_task(benchmark: Any, tmp_path: Path) -> None:
    n = size(10_000, smoke=200)
    workers = default_workers
    suite = write_suite(tmp_path / "big", n)
    one = write_suite(tmp_path / "one", 1)
    engine_script = tmp_path / "engine_alone.py"
    engine_script.write_text(ENGINE, encoding="utf-8")
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}
    for var in ("TDRUN_HISTORY", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"):
        env.pop(var, None)
    cli_cmd, engine_cmd = commands(suite, engine_script, workers)

    # Warm-up (untimed): byte-compile tdrun, its libraries and the suites once.
    for cmd in (engine_cmd, cli_cmd, *commands(one, engine_script, workers)):
        proc = run(cmd, tmp_path, env)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    engine = Clock()
    engine_run = engine.wrap(lambda: run(engine_cmd, tmp_path, env))

    def time_engine() -> None:
        proc = engine_run()
        assert proc.returncode == 0, proc.stderr[-2000:]

    clock = Clock()
    out = benchmark.pedantic(
        clock.wrap(lambda: run(cli_cmd, tmp_path, env)),
        setup=time_engine,
        rounds=rounds(5),
        iterations=1,
        warmup_rounds=0,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count(" PASSED [") == n
    assert f"==== {n} passed, 0 failed, 0 skipped" in out.stdout
    cli_s, engine_s = clock.median, engine.median
    per_task_us = (cli_s - engine_s) / n * 1e6
    cli_one, engine_one = alternate(
        *commands(one, engine_script, workers), tmp_path, env, rounds(5)
    )
    startup_gap = cli_one - engine_one
    record(
        benchmark,
        n=n,
        workers=workers,
        core=IMPLEMENTATION,
        cli_ms=cli_s * 1e3,
        engine_ms=engine_s * 1e3,
        cli_us_per_task=per_task_us,
        startup_gap_ms=startup_gap * 1e3,
        slope_us_per_task=(cli_s - engine_s - startup_gap) / (n - 1) * 1e6,
        target=f"<= {TARGET_US:g} us/task",
        target_met=per_task_us <= TARGET_US,
    )
