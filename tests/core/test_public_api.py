"""The public API is pinned: its names, and that it exposes the selected core."""

from __future__ import annotations

import os
import subprocess
import sys

import thread_order
from thread_order import _readyset

PUBLIC = {
    "IMPLEMENTATION",
    "CollectionError",
    "CompiledGraph",
    "CycleError",
    "DAGraph",
    "Event",
    "GraphError",
    "GraphStats",
    "GrowthError",
    "RunFinished",
    "RunInterrupted",
    "RunProfile",
    "RunResult",
    "RunStarted",
    "Scheduler",
    "StateIssue",
    "TaskAdded",
    "TaskDispatched",
    "TaskError",
    "TaskFinished",
    "TaskRecord",
    "TaskStarted",
    "TaskStatus",
    "ThreadProxyLogger",
    "UnknownDependencyError",
    "__version__",
    "add_task",
    "analyze",
    "chrome_trace",
    "configure_logging",
    "current_task",
    "default_workers",
    "dmark",
    "expected_priority",
    "load_and_collect_functions",
    "mark",
    "profile",
    "register_functions",
    "validate_highlights",
    "write_trace",
}


def test_public_names_are_pinned() -> None:
    assert set(thread_order.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(thread_order, name), name


def test_implementation_is_the_selectors() -> None:
    assert thread_order.IMPLEMENTATION == _readyset.IMPLEMENTATION
    assert thread_order.IMPLEMENTATION in {"c", "py"}
    expected = (
        "thread_order._readyset_c"
        if _readyset.IMPLEMENTATION == "c"
        else ("thread_order._readyset_py")
    )
    assert _readyset.ReadySet.__module__ == expected


def test_environment_variable_forces_the_pure_core() -> None:
    code = "import thread_order; print(thread_order.IMPLEMENTATION)"
    env = {**os.environ, "THREAD_ORDER_NO_EXTENSIONS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "py"


def test_version_is_the_distributions() -> None:
    from importlib.metadata import version

    assert thread_order.__version__ == version("thread-order-core")
