"""thread_order: run Python callables on threads in dependency order.

This module is the public API; everything else in the package is private. ``IMPLEMENTATION``
tells which ready-set core is active: ``"c"`` (compiled) or ``"py"`` (pure Python, used when the
extension is not built or ``THREAD_ORDER_NO_EXTENSIONS=1`` is set).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as the type checkers see them; at run time they load on first use
    from ._analytics import GraphStats as GraphStats
    from ._analytics import analyze as analyze
    from ._collect import CollectionError as CollectionError
    from ._collect import load_and_collect_functions as load_and_collect_functions
    from ._collect import register_functions as register_functions
    from ._compiler import CompiledGraph as CompiledGraph
    from ._compiler import CycleError as CycleError
    from ._compiler import GraphError as GraphError
    from ._compiler import UnknownDependencyError as UnknownDependencyError
    from ._dispatcher import current_task as current_task
    from ._events import Event as Event
    from ._events import RunFinished as RunFinished
    from ._events import RunStarted as RunStarted
    from ._events import TaskAdded as TaskAdded
    from ._events import TaskDispatched as TaskDispatched
    from ._events import TaskFinished as TaskFinished
    from ._events import TaskStarted as TaskStarted
    from ._growth import GrowthError as GrowthError
    from ._growth import add_task as add_task
    from ._logging import ThreadProxyLogger as ThreadProxyLogger
    from ._logging import configure_logging as configure_logging
    from ._logging import validate_highlights as validate_highlights
    from ._marks import dmark as dmark
    from ._marks import mark as mark
    from ._priority import expected_priority as expected_priority
    from ._readyset import IMPLEMENTATION as IMPLEMENTATION
    from ._records import RunResult as RunResult
    from ._records import TaskError as TaskError
    from ._records import TaskRecord as TaskRecord
    from ._records import TaskStatus as TaskStatus
    from ._scheduler import RunInterrupted as RunInterrupted
    from ._scheduler import Scheduler as Scheduler
    from ._scheduler import default_workers as default_workers
    from ._statecheck import StateIssue as StateIssue
    from ._trace import RunProfile as RunProfile
    from ._trace import chrome_trace as chrome_trace
    from ._trace import profile as profile
    from ._trace import write_trace as write_trace
    from .graph import DAGraph as DAGraph

# Public name -> the private module that defines it. ``import thread_order`` itself loads
# nothing else: each name loads its module on first use (PEP 562), so a program (or
# ``tdrun --version``) pays only for the parts it touches.
_LAZY = {
    "GraphStats": "._analytics",
    "analyze": "._analytics",
    "CollectionError": "._collect",
    "load_and_collect_functions": "._collect",
    "register_functions": "._collect",
    "CompiledGraph": "._compiler",
    "CycleError": "._compiler",
    "GraphError": "._compiler",
    "UnknownDependencyError": "._compiler",
    "current_task": "._dispatcher",
    "Event": "._events",
    "RunFinished": "._events",
    "RunStarted": "._events",
    "TaskAdded": "._events",
    "TaskDispatched": "._events",
    "TaskFinished": "._events",
    "TaskStarted": "._events",
    "GrowthError": "._growth",
    "add_task": "._growth",
    "ThreadProxyLogger": "._logging",
    "configure_logging": "._logging",
    "validate_highlights": "._logging",
    "dmark": "._marks",
    "mark": "._marks",
    "expected_priority": "._priority",
    "IMPLEMENTATION": "._readyset",
    "RunResult": "._records",
    "TaskError": "._records",
    "TaskRecord": "._records",
    "TaskStatus": "._records",
    "RunInterrupted": "._scheduler",
    "Scheduler": "._scheduler",
    "default_workers": "._scheduler",
    "StateIssue": "._statecheck",
    "RunProfile": "._trace",
    "chrome_trace": "._trace",
    "profile": "._trace",
    "write_trace": "._trace",
    "DAGraph": ".graph",
}

_SUBMODULES = frozenset({"scheduler", "graph", "graph_summary", "logger"})


def __getattr__(name: str) -> Any:
    """Public names load their module on first use and are then cached in the module's
    namespace; ``__version__`` is read from the installed metadata (that import costs ~50 ms);
    1.4.0 resolved ``thread_order.<submodule>`` lazily: keep that too."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("thread-order-core")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0+unknown"
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})


__all__ = [
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
]
