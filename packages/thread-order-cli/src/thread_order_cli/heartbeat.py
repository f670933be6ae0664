"""``--heartbeat SECONDS``: in plain output, say every so often which tasks are still running.

A silent CI log is the top complaint about parallel runs. The heartbeat learns what runs from
the event stream (``TaskStarted``/``TaskFinished``) and prints from a daemon thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from .output import Printer


class Heartbeat:
    """Listener plus timer thread; ``start()`` before the run, ``stop()`` after."""

    def __init__(self, printer: Printer, interval: float) -> None:
        self.printer = printer
        self.interval = interval
        self.running: dict[str, tuple[str, float]] = {}  # task -> (thread, perf_counter start)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def kinds() -> tuple[type, ...]:
        """The events ``__call__`` reads (``Scheduler.subscribe(..., kinds=...)``)."""
        from thread_order import TaskFinished, TaskStarted

        return (TaskStarted, TaskFinished)

    def __call__(self, events: Sequence[Any]) -> None:
        from thread_order import TaskFinished, TaskStarted

        with self._lock:
            for e in events:
                if isinstance(e, TaskStarted):
                    self.running[e.task] = (e.thread, e.time)
                elif isinstance(e, TaskFinished):
                    self.running.pop(e.task, None)

    def line(self, now: float | None = None) -> str | None:
        """``still running: a (12s, thread_0), b (3s, thread_1)``, or None when idle."""
        now = time.perf_counter() if now is None else now
        with self._lock:
            items = sorted(self.running.items(), key=lambda kv: kv[1][1])
        if not items:
            return None
        parts = [f"{name} ({now - start:.0f}s, {thread})" for name, (thread, start) in items]
        return "still running: " + ", ".join(parts)

    def start(self) -> None:
        if self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name="tdrun-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            text = self.line()
            if text is not None:
                self.printer.line(text, "dim")
                self.printer.flush()
