"""Counting a retried task's attempts while the run goes on, for its per-task line.

The engine records every failed attempt (``TaskRecord.retried``), but its ``TaskFinished``
event does not say how many attempts there were. tdrun wraps only the tasks that may retry
(``retries > 0``) in a counter, so their line can say ``PASSED (flaky: 2 attempts)`` when
it is printed; other tasks are registered untouched. The run result stays the source of truth
for the summary and the reports.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any


class AttemptCounter:
    """Calls per task name, counted by wrappers around the functions of retried tasks."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def _hit(self, family: str) -> None:
        from thread_order import current_task

        key = current_task() or family  # the instance name of a parametrized task
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def get(self, name: str) -> int:
        """How many times ``name`` was called (0 if it was not wrapped or never called)."""
        with self._lock:
            return self._counts.get(name, 0)

    def wrap(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        """``fn`` counting its calls; the signature (data passing) and async-ness are kept."""
        hit = self._hit
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def counted_async(*args: Any, **kwargs: Any) -> Any:
                hit(name)
                return await fn(*args, **kwargs)

            return counted_async

        @functools.wraps(fn)
        def counted(*args: Any, **kwargs: Any) -> Any:
            hit(name)
            return fn(*args, **kwargs)

        return counted


def retries_of(options: dict[str, Any]) -> int:
    value = options.get("retries", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
