"""``--progress`` and ``--viewer``: live views drawn by rich on stderr.

Both are listeners on the event stream. ``--progress`` shows a bar with counts and the running
tasks; ``--viewer`` shows one lane per worker thread with its current task and elapsed time.
While a view is live, failure lines are printed above it; it stops at ``RunFinished`` so that the
summary follows on stdout as usual. Off a terminal rich draws only the final frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from .output import Printer


class LiveView:
    def __init__(self, printer: Printer, *, total: int, workers: int, viewer: bool) -> None:
        from rich.console import Console

        self.printer = printer
        self.total = total
        self.viewer = viewer
        self.threads = [f"thread_{w}" for w in range(workers)]
        self.console = Console(stderr=True, highlight=False)
        self.running: dict[str, tuple[str, float]] = {}  # thread -> (task, perf start)
        self.counts: dict[str, int] = {}
        self.done = 0
        self._lock = threading.Lock()
        self._live: Any = None

    def start(self) -> None:
        from rich.live import Live

        self._live = Live(
            get_renderable=self.render,
            console=self.console,
            refresh_per_second=8,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()
        self.printer.hook = self._print_above

    def stop(self) -> None:
        if self._live is not None:
            self.printer.hook = None
            self._live.stop()
            self._live = None

    def _print_above(self, text: str, style: str | None) -> None:
        self.console.print(text, style=style, markup=False)

    @staticmethod
    def kinds() -> tuple[type, ...]:
        """The events ``__call__`` reads (``Scheduler.subscribe(..., kinds=...)``)."""
        from thread_order import RunFinished, TaskAdded, TaskFinished, TaskStarted

        return (TaskAdded, TaskStarted, TaskFinished, RunFinished)

    def __call__(self, events: Sequence[Any]) -> None:
        from thread_order import RunFinished, TaskAdded, TaskFinished, TaskStarted

        with self._lock:
            for e in events:
                if isinstance(e, TaskAdded):
                    self.total += 1
                elif isinstance(e, TaskStarted):
                    self.running[e.thread] = (e.task, e.time)
                elif isinstance(e, TaskFinished):
                    self.done += 1
                    status = str(e.status)
                    self.counts[status] = self.counts.get(status, 0) + 1
                    # by task: on a cluster a task ends on another lane than it started on
                    for thread, (task, _) in list(self.running.items()):
                        if task == e.task:
                            del self.running[thread]
        if any(isinstance(e, RunFinished) for e in events):
            self.stop()

    def counts_text(self) -> str:
        parts = [f"{self.done}/{self.total}"]
        parts += [f"{n} {s.lower()}" for s, n in sorted(self.counts.items())]
        return "  ".join(parts)

    def render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = time.perf_counter()
        with self._lock:
            running = dict(self.running)
            header = self.counts_text()
            done = self.done
        if not self.viewer:
            bar = ProgressBar(total=max(self.total, 1), completed=done, width=50)
            names = ", ".join(
                f"{task} ({now - start:.0f}s)" for task, start in sorted(running.values())
            )
            line = Text(f" {header}")
            return Group(bar, line, Text(f" running: {names}" if names else "", style="dim"))
        table = Table(box=None, show_header=True, pad_edge=False)
        table.add_column("thread")
        table.add_column("task")
        table.add_column("elapsed", justify="right")
        for thread in self.threads:
            task, start = running.get(thread, ("", now))
            elapsed = f"{now - start:.1f}s" if task else ""
            table.add_row(thread, task or "idle", elapsed, style=None if task else "dim")
        return Group(table, Text(header))
