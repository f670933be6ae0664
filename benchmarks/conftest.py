"""Benchmark fixtures: the core under test (``impl``), in-run references and smoke sizing.

``impl`` is ``"c"`` (the compiled ``ReadySet``, skipped when it is not built) or ``"py"`` (the
pure-Python reference). ``core`` gives the class; ``scheduler_core`` also swaps it into the
selector so the public ``Scheduler`` uses it. ``reference`` measures a reference implementation
once per session and caches it, so the c and py rows of a workload share one measurement taken
in the same run.
"""

from __future__ import annotations

from typing import Any

import pytest
from workloads import SMOKE, References


def _compiled_class() -> Any:
    try:
        from thread_order._readyset_c import ReadySet
    except ImportError as exc:  # the extension is not built (or is being rebuilt)
        return exc
    return ReadySet


@pytest.fixture(params=["c", "py"])
def impl(request: pytest.FixtureRequest) -> str:
    if request.param == "c":
        cls = _compiled_class()
        if isinstance(cls, ImportError):
            pytest.skip(f"compiled core not importable: {cls}")
    return str(request.param)


@pytest.fixture
def core(impl: str) -> Any:
    """The ready-set class for ``impl``."""
    if impl == "c":
        return _compiled_class()
    from thread_order._readyset_py import ReadySet

    return ReadySet


@pytest.fixture
def scheduler_core(core: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``core`` swapped into the selector, so ``Scheduler`` compiles with it."""
    from thread_order import _readyset

    monkeypatch.setattr(_readyset, "ReadySet", core)
    return core


@pytest.fixture(scope="session")
def reference() -> References:
    return References()


@pytest.fixture(scope="session")
def results() -> dict[str, float]:
    """Figures one benchmark leaves for another (W2 at 1e5 for the P8 scaling ratio)."""
    return {}


def pytest_report_header() -> str:
    import thread_order

    mode = "SMOKE (tiny sizes, TDRUN_BENCH_SMOKE=1)" if SMOKE else "full size"
    return f"thread-order benchmarks: {mode}; selector default core: {thread_order.IMPLEMENTATION}"
