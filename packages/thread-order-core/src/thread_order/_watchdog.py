"""Timeouts: one watchdog thread per run that has any, waking only at the next deadline.

A worker registers a deadline before calling a task with a timeout and clears it after. When a
deadline passes first, the watchdog captures where the task's thread is stuck (its stack at that
moment) and reports the expiry to the dispatcher, which marks the task TIMED_OUT, skips its
dependents and starts a replacement worker: a Python thread cannot be killed, so the run stops
waiting for it and leaves that thread alone until its call returns.
"""

from __future__ import annotations

import heapq
import sys
import threading
import time
import traceback
from collections.abc import Callable

from ._records import TaskError


def stack_of(ident: int) -> str:
    """The current stack of thread ``ident``, formatted like a traceback."""
    frame = sys._current_frames().get(ident)
    if frame is None:
        return ""
    return "Stack of the timed-out task at its deadline (most recent call last):\n" + "".join(
        traceback.format_stack(frame)
    )


class Watchdog:
    """Deadlines of running tasks; ``on_expiry(task, token, error)`` fires on its own thread."""

    def __init__(self, on_expiry: Callable[[int, int, TaskError], None]) -> None:
        self._on_expiry = on_expiry
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, int, int, float]] = []  # when, token, task, ident, t
        self._live: set[int] = set()
        self._token = 0
        self._closed = False
        self._thread = threading.Thread(
            target=self._loop, name="thread_order_watchdog", daemon=True
        )
        self._thread.start()

    def arm(self, task: int, seconds: float) -> int:
        """Start timing ``task`` on the calling thread; return a token for ``disarm``."""
        with self._cond:
            self._token += 1
            token = self._token
            when = time.perf_counter() + seconds
            heapq.heappush(self._heap, (when, token, task, threading.get_ident(), seconds))
            self._live.add(token)
            if self._heap[0][1] == token:
                self._cond.notify()
        return token

    def disarm(self, token: int) -> bool:
        """Stop timing; False if the deadline already fired (the task was timed out)."""
        with self._cond:
            if token in self._live:
                self._live.discard(token)
                return True
            return False

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    while self._heap and self._heap[0][1] not in self._live:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.perf_counter()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._closed:
                    return
                _, token, task, ident, seconds = heapq.heappop(self._heap)
                self._live.discard(token)
            error = TaskError(
                "TimeoutError",
                f"timed out after {seconds:g}s; its thread was left running and replaced",
                stack_of(ident),
            )
            self._on_expiry(task, token, error)
