"""tdrun's options for the engine's run controls: --timeout, --deadline, --limit and --trace."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from thread_order_cli.history_cmd import history_app

from .conftest import REPO, Invoke, example

SLOW = """
import time
from thread_order import mark

@mark()
def quick(state):
    pass

@mark(after=["quick"])
def slow(state):
    time.sleep(0.3)

@mark(after=["slow"])
def after_slow(state):
    pass
"""

LOCKED = """
import time
from thread_order import mark

@mark(locks=["api"])
def a(state):
    time.sleep(0.05)

@mark(locks=["api"])
def b(state):
    time.sleep(0.05)

@mark(locks=["api"])
def c(state):
    time.sleep(0.05)
"""


def test_timeout_is_the_default_task_timeout(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    result = invoke(suite("slow_t.py", SLOW), "--timeout", "0.05", "--workers", "1")
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert " TIMED_OUT [ 66% ]" in out
    assert "[thread_0] slow: TimeoutError: timed out after 0.05s" in out
    assert "SKIPPED [100% ] (upstream slow timed out)" in out
    assert "TIMED_OUT slow - TimeoutError: timed out after 0.05s" in out
    assert ", 1 timed out in " in out


def test_deadline_times_out_what_still_runs(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    result = invoke(suite("slow_d.py", SLOW), "--deadline", "0.1")
    assert result.exit_code == 1, result.output
    assert "slow" in result.stdout and "TIMED_OUT" in result.stdout
    assert "run deadline of 0.1s" in result.stdout


def test_limit_caps_a_resource(invoke: Invoke, suite, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = suite("locked.py", LOCKED)
    report = tmp_path / "run.json"
    result = invoke(path, "--workers", "3", "--limit", "api=2", "--json-report", str(report))
    assert result.exit_code == 0, result.output
    spans = sorted((t["start"], t["end"]) for t in json.loads(report.read_text())["tasks"])
    at_once = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert at_once == 2


def test_without_limit_a_lock_is_exclusive(invoke: Invoke, suite, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = suite("locked1.py", LOCKED)
    report = tmp_path / "run.json"
    result = invoke(path, "--workers", "3", "--json-report", str(report))
    assert result.exit_code == 0, result.output
    spans = sorted((t["start"], t["end"]) for t in json.loads(report.read_text())["tasks"])
    assert all(spans[k][1] <= spans[k + 1][0] for k in range(len(spans) - 1))


def test_trace_is_written_after_the_run(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "out" / "trace.json"
    result = invoke(example("passing.py"), "--workers", "2", "--trace", str(path))
    assert result.exit_code == 0, result.output
    trace = json.loads(path.read_text())
    tasks = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert sorted(e["name"] for e in tasks) == ["a", "b", "c"]
    assert all(e["args"]["status"] == "PASSED" for e in tasks)
    lanes = {e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "thread_name"}
    assert lanes <= {"thread_0", "thread_1"}


def test_dynamic_tasks_are_counted_reported_and_recorded(invoke: Invoke, tmp_path: Path) -> None:
    suite = str(REPO / "examples" / "features" / "dynamic_tasks.py")
    res = invoke(suite, "--junitxml", "j.xml", "--json-report", "r.json")
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.stdout.splitlines() if "...." in ln]
    assert len(lines) == 7
    assert lines[-1].endswith("[100% ]")  # the total grew with the added tasks
    report = json.loads((tmp_path / "r.json").read_text())
    statuses = {t["name"]: t["status"] for t in report["tasks"]}
    assert statuses["drain[n3]"] == "FAILED"
    assert sum(s == "PASSED" for s in statuses.values()) == 6
    assert (tmp_path / "j.xml").read_text().count("<testcase") == 7
    listed = CliRunner().invoke(history_app, ["list"])
    assert "6 passed, 1 failed" in listed.stdout
