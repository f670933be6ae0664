"""Real processes: ``python -m thread_order_cli``, exit codes, ``--version`` speed and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from .conftest import REPO, example, normalise


def tdrun(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "thread_order_cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_module_help(tmp_path: Path) -> None:
    proc = tdrun("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "--workers" in proc.stdout
    assert "Exit codes" in proc.stdout


def test_exit_codes(tmp_path: Path) -> None:
    assert tdrun(example("passing.py"), cwd=tmp_path).returncode == 0
    failed = tdrun(example("mod_a.py"), cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert normalise(failed.stdout).endswith("==== 3 passed, 1 failed, 1 skipped in D.DDs ====\n")
    assert tdrun("nofile.py", cwd=tmp_path).returncode == 4
    assert tdrun(example("mod_a.py"), "--tags", "nomatch", cwd=tmp_path).returncode == 5


def test_version_is_fast_and_complete(tmp_path: Path) -> None:
    proc = tdrun("--version", cwd=tmp_path)  # warm the caches once
    assert proc.returncode == 0, proc.stderr
    best = 10.0
    for _ in range(3):
        t = time.perf_counter()
        proc = tdrun("--version", cwd=tmp_path)
        best = min(best, time.perf_counter() - t)
    assert proc.stdout.startswith("tdrun "), proc.stdout
    assert "thread-order-core " in proc.stdout
    assert "core implementation: " in proc.stdout
    # The budget is 250 ms on a quiet machine; a loaded CI box gets headroom.
    assert best < 0.6, f"tdrun --version took {best:.3f}s"


def test_ctrl_c_reports_cancelled_tasks_and_exits_2(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "thread_order_cli", example("slow.py"), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:  # wait until 'first' passed: 'second' is then running
        lines.append(line)
        if "first" in line and "PASSED" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    text = "".join(lines) + out
    assert proc.returncode == 2, text + err
    assert "CANCELLED" in text
    assert "third" in text
    assert "cancelled in" in text  # the summary line counts them
    assert "!!! interrupted" in text


def test_a_failure_is_shown_once_in_the_merged_output(tmp_path: Path) -> None:
    """The engine logs the failure on stderr too; tdrun's stream leaves that record out."""
    proc = subprocess.run(
        [sys.executable, "-m", "thread_order_cli", str(REPO / "examples" / "surgery.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout
    line = "[thread_0] sterilize_instruments: AssertionError: autoclave cycle incomplete"
    failure_lines = [t for t in proc.stdout.splitlines() if "sterilize_instruments: Assert" in t]
    assert len(failure_lines) == 1, proc.stdout
    assert failure_lines[0].replace("thread_1", "thread_0") == line  # the 1.4.0 format
    assert "sterilize_instruments done in OR-3" in proc.stdout  # other records still shown


def test_cancel_grace_bounds_the_wait_for_running_tasks(tmp_path: Path) -> None:
    """--cancel-grace 0.2: 'second' (1.5 s) is still running when the grace ends: CANCELLED."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "thread_order_cli", example("slow.py")),
            *("--workers", "2", "--cancel-grace", "0.2", "--no-history"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "first" in line and "PASSED" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    text = "".join(lines) + out
    assert proc.returncode == 2, text + err
    second = [t for t in text.splitlines() if t.startswith("[thread_") and " second " in t]
    assert second and "CANCELLED" in second[0], text
    assert "CANCELLED second - Cancelled: still running when the run was cancelled" in text


def test_cancel_grace_is_passed_to_the_scheduler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import thread_order
    from thread_order_cli.commands import run_app

    seen: list[float] = []
    real = thread_order.Scheduler

    class Spy(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: Any) -> None:
            seen.append(kwargs["cancel_grace"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(thread_order, "Scheduler", Spy)
    runner = CliRunner()
    assert runner.invoke(run_app, [example("passing.py"), "--no-history"]).exit_code == 0
    assert runner.invoke(run_app, [example("passing.py"), "--cancel-grace", "1.5"]).exit_code == 0
    assert seen == [5.0, 1.5]
