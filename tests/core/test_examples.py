"""Every feature example in ``examples/features`` runs, with the statuses its docstring says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from thread_order import Scheduler, TaskStatus, load_and_collect_functions, register_functions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "features"


def _run_suite(name: str, **scheduler: Any) -> Any:
    module, functions, single = load_and_collect_functions(str(EXAMPLES / name))
    state: dict[str, Any] = {}
    if hasattr(module, "setup_state"):
        module.setup_state(state)
    s = Scheduler(
        workers=scheduler.pop("workers", 4), state=state, skip_dependents=True, **scheduler
    )
    register_functions(s, functions, None, single)
    return s.run(), state


def _statuses(result: Any) -> dict[str, TaskStatus]:
    return {r.name: r.status for r in result}


def test_params_and_data() -> None:
    result, _ = _run_suite("params_and_data.py")
    assert result.ok
    assert len(result) == 7


def test_retries_and_conditions() -> None:
    result, _ = _run_suite("retries_and_conditions.py")
    assert result.flaky() == ["register_webhook"]
    assert TaskStatus.SKIPPED in _statuses(result).values()
    assert TaskStatus.FAILED not in _statuses(result).values()


def test_async_api() -> None:
    result, _ = _run_suite("async_api.py")
    assert result.ok
    assert result["summarize"].result == sorted(["orders", "users", "payments", "search", "health"])
    assert result.duration < 1.2  # five 0.3 s coroutines side by side


def test_timeouts() -> None:
    result, _ = _run_suite("timeouts.py")
    status = _statuses(result)
    assert status == {
        "wait_for_cluster": TaskStatus.TIMED_OUT,
        "deploy_app": TaskStatus.SKIPPED,
        "create_bucket": TaskStatus.PASSED,
    }
    assert result["deploy_app"].reason == "upstream wait_for_cluster timed out"
    error = result["wait_for_cluster"].error
    assert error is not None
    assert "time.sleep(0.05)" in error.traceback


def test_teardown() -> None:
    result, state = _run_suite("teardown.py")
    assert _statuses(result) == {
        "create_instance": TaskStatus.PASSED,
        "attach_volume": TaskStatus.FAILED,
        "verify_volume": TaskStatus.SKIPPED,
        "delete_instance": TaskStatus.PASSED,
        "collect_diagnostics": TaskStatus.PASSED,
        "page_oncall": TaskStatus.SKIPPED,
    }
    assert state["deleted"] == ["i-0abc"]


def _script(name: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_locks_and_limits() -> None:
    out = _script("locks_and_limits.py")
    assert "10 passed" in out
    assert "peak concurrency: {'api': 2, 'db': 1}" in out


def test_streaming_and_trace(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    out = _script("streaming_and_trace.py", str(trace))
    lines = out.splitlines()
    assert lines[0].startswith("provision_cache")  # streamed as it completed, not at the end
    assert "critical path: provision_db -> migrate -> smoke_test" in out
    assert "a TaskStarted listener saw 5 starts" in out
    assert trace.exists()


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_every_example_has_a_test(path: Path) -> None:
    tested = Path(__file__).read_text()
    assert path.name in tested


def test_dynamic_tasks() -> None:
    result, _ = _run_suite("dynamic_tasks.py")
    status = _statuses(result)
    assert status.pop("drain[n3]") is TaskStatus.FAILED
    assert set(status) == {
        "create_cluster",
        "list_nodes",
        "drain[n1]",
        "drain[n2]",
        "page_on_call",
        "delete_cluster",
    }
    assert set(status.values()) == {TaskStatus.PASSED}
    drains = [result[f"drain[{n}]"] for n in ("n1", "n2", "n3")]
    assert result["delete_cluster"].start >= max(d.end for d in drains)
