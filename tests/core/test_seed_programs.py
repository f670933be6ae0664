"""The programs printed in the seed documents run unchanged, with 1.4.0's statuses.

They are read from ``../shared/seeds`` at test time (not copied here); without it, skipped.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path
from typing import Any

import pytest

from thread_order import Scheduler, load_and_collect_functions, register_functions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import seeds

pytestmark = pytest.mark.usefixtures("core_impl")


def _write(tmp_path: Path, name: str, code: str | None) -> Path:
    if code is None:
        pytest.skip("the seed documents (../shared/seeds) are not available")
    path = tmp_path / name
    path.write_text(code)
    return path


def _run_suite(path: Path, skip: bool, state: dict[str, Any] | None = None) -> dict[str, Any]:
    module, functions, single = load_and_collect_functions(str(path))
    state = {} if state is None else state
    if hasattr(module, "setup_state"):
        module.setup_state(state)
    s = Scheduler(workers=6, state=state, skip_dependents=skip)
    register_functions(s, functions, None, single)
    return s.start()


@pytest.mark.parametrize("skip", [False, True], ids=["default", "skip_dependents"])
def test_surgery_example(tmp_path: Path, skip: bool) -> None:
    path = _write(tmp_path, "test_dag1.py", seeds.surgery_program())
    summary = _run_suite(path, skip)
    assert summary["failed"] == ["sterilize_instruments_D"]
    assert summary["failures"]["sterilize_instruments_D"] == {
        "error_type": "AssertionError",
        "error": "Intentional Failure",
    }
    if skip:  # tdrun --skip-deps in 1.4.0: 4 passed, 1 failed, 1 skipped
        assert summary["skipped"] == ["perform_surgery_F"]
        assert len(summary["passed"]) == 4
    else:  # the 1.4.0 API default: the dependent still runs
        assert summary["skipped"] == []
        assert "perform_surgery_F" in summary["passed"]
        assert len(summary["passed"]) == 5


def test_threaded_order_simple_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = seeds.threaded_order_examples().get("simple")
    path = _write(tmp_path, "example4.py", code)
    monkeypatch.chdir(tmp_path)  # setup_logging=True writes per-thread log files here
    captured: list[dict[str, Any]] = []
    real = Scheduler.on_scheduler_done

    def spy(self: Scheduler, fn: Any, *args: Any, **kwargs: Any) -> None:
        def both(summary: dict[str, Any], *a: Any, **k: Any) -> None:
            captured.append(summary)
            fn(summary, *a, **k)

        real(self, both, *args, **kwargs)

    monkeypatch.setattr(Scheduler, "on_scheduler_done", spy)
    runpy.run_path(str(path), run_name="__main__")
    assert sorted(captured[0]["passed"]) == ["a", "b", "c", "d", "e", "f"]


def test_threaded_order_shared_state_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "example6.py", seeds.threaded_order_examples().get("shared_state"))
    runpy.run_path(str(path), run_name="__main__")
    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        "results": {"load": "loaded", "compute": 15, "behave": "behaved"},
        "counter": 3,
        "x": 15,
    } or printed["results"] == {"load": "loaded", "compute": 15, "behave": "behaved"}
    assert printed["counter"] == 3
    assert printed["x"] == 15


def test_threaded_order_torun_example(tmp_path: Path) -> None:
    """The torun-era module: ``setup_state(**kwargs)`` returns the state; test_d fails."""
    path = _write(tmp_path, "example4c.py", seeds.threaded_order_examples().get("torun"))
    module, functions, single = load_and_collect_functions(str(path))
    state = module.setup_state()
    s = Scheduler(workers=6, state=state)
    register_functions(s, functions, None, single)
    summary = s.start()
    assert summary["failed"] == ["test_d"]
    assert sorted(summary["passed"]) == ["test_a", "test_b", "test_c", "test_e", "test_f"]
    assert state["results"]["test_f"].startswith("test_f.")
