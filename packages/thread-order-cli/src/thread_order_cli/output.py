"""Plain output: the 1.4.0 per-task lines, failures with tracebacks, and the end summary.

``PlainReporter`` is a listener on the engine's event stream; it never looks anywhere else for
what happened. Lines go to stdout (colour only on a terminal); the same reporter prints the
failures and the summary when ``--progress``/``--viewer`` draw the live view, with
``task_lines=False``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from .tracebacks import format_traceback

if TYPE_CHECKING:
    from thread_order import CompiledGraph, RunResult

LINE_WIDTH = 75
STATUS_STYLE = {
    "PASSED": "green",
    "FAILED": "red",
    "SKIPPED": "yellow",
    "CANCELLED": "yellow",
    "TIMED_OUT": "red",
    "FLAKY": "yellow",
}


def task_line(thread: str, name: str, status: str, count: int, total: int) -> str:
    """``[thread_N] name ..... STATUS [ pct% ]`` with 1.4.0's dot count (no thread if skipped)."""
    pct = int(count * 100 / total) if total else 100
    head = f"[{thread}] {name}" if thread else name
    tail = f"{status} [{pct:3d}% ]"
    dots = max(0, LINE_WIDTH - len(head) - len(tail))
    return f"{head} {'.' * dots} {tail}"


class Printer:
    """Writes lines to a stream; styles them with rich only when the stream is a terminal."""

    def __init__(self, stream: IO[str] | None = None, *, color: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.color = bool(isatty()) if color is None else color
        self._console: Any = None
        self.hook: Callable[[str, str | None], None] | None = None  # set by a live view
        self._lock = threading.Lock()  # the heartbeat prints from its own thread
        self._pending: list[str] | None = None  # plain lines held for one write (``batch``)

    def line(self, text: str = "", style: str | None = None) -> None:
        with self._lock:
            if self._pending is not None and self.hook is None and not self.color:
                self._pending.append(text)
            else:
                self._line(text, style)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Plain lines printed inside are written in one call at the end, then flushed.

        The engine delivers events in batches; one write per batch instead of one per task
        keeps the per-task cost low, also when stdout is unbuffered (``PYTHONUNBUFFERED``).
        """
        with self._lock:
            outer = self._pending is not None
            if not outer:
                self._pending = []
        try:
            yield
        finally:
            if not outer:
                with self._lock:
                    lines, self._pending = self._pending or [], None
                    if lines:
                        self.stream.write("\n".join(lines) + "\n")
                self.flush()

    def _line(self, text: str, style: str | None) -> None:
        if self.hook is not None:
            self.hook(text, style)
            return
        if self.color:
            if self._console is None:
                from rich.console import Console

                self._console = Console(file=self.stream, highlight=False, soft_wrap=True)
            self._console.print(text, style=style, markup=False)
        else:
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


@dataclass
class SummaryExtras:
    """What the end summary adds to the 1.4.0 line."""

    durations: int | None = None  # --durations N (0 = all)
    graph: CompiledGraph | None = None  # for the engine's profile: critical path, parallelism
    notes: list[str] = field(default_factory=list)  # e.g. the shuffle seed


class PlainReporter:
    """Event listener printing per-task lines (optional), failures and the summary."""

    def __init__(
        self,
        printer: Printer,
        *,
        total: int,
        tb: str = "short",
        task_lines: bool = True,
        extras: SummaryExtras | None = None,
        attempts: Callable[[str], int] | None = None,
    ) -> None:
        self.p = printer
        self.total = total
        self.tb = tb
        self.task_lines = task_lines
        self.extras = extras or SummaryExtras()
        self.attempts = attempts
        self.result: RunResult | None = None

    @staticmethod
    def kinds() -> tuple[type, ...]:
        """The events ``__call__`` reads (``Scheduler.subscribe(..., kinds=...)``)."""
        from thread_order import RunFinished, TaskAdded, TaskFinished

        return (TaskFinished, TaskAdded, RunFinished)

    def __call__(self, events: Sequence[Any]) -> None:
        from thread_order import RunFinished, TaskAdded, TaskFinished

        with self.p.batch():
            for e in events:
                if isinstance(e, TaskFinished):
                    self.finished(e)
                elif isinstance(e, TaskAdded):
                    self.total += 1  # a task added during the run
                elif isinstance(e, RunFinished):
                    self.result = e.result
                    self.summary(e.result)

    def finished(self, e: Any) -> None:
        status = str(e.status)
        if e.error is not None and status != "CANCELLED":
            self.p.line(f"[{e.thread}] {e.task}: {e.error.type}: {e.error.message}", "red")
        if self.task_lines:
            line = task_line(e.thread, e.task, self._status_text(e, status), e.count, self.total)
            if e.reason and status == "SKIPPED":
                line += f" ({e.reason})"
            self.p.line(line, STATUS_STYLE.get(status))
        if e.error is not None and status != "CANCELLED":
            if e.error.context is not None:
                self.p.line(f"  context: {e.error.context!r}")
            for text in format_traceback(e.error.traceback, self.tb):
                self.p.line(f"  {text}")

    def _status_text(self, e: Any, status: str) -> str:
        """``PASSED (flaky: 2 attempts)`` for a retried task; the bare status otherwise."""
        attempts = getattr(e, "attempts", None)  # an engine whose events carry it
        if not isinstance(attempts, int):
            attempts = self.attempts(e.task) if self.attempts is not None else 0
        return status + attempts_note(status, attempts)

    def summary(self, result: RunResult) -> None:
        for text, style in summary_lines(result, self.extras):
            self.p.line(text, style)


def run_ok(result: RunResult) -> bool:
    """No task failed, timed out or was cancelled. Skips alone are decisions (a false
    ``run_if``, an ``any_failed`` handler with nothing to handle) and their cascades: without
    a failure nothing else skips a task."""
    if result.interrupted:
        return False
    counts = {str(k): v for k, v in result.counts().items()}
    return counts["FAILED"] + counts["TIMED_OUT"] + counts["CANCELLED"] == 0


def attempts_note(status: str, attempts: int) -> str:
    """`` (flaky: N attempts)`` after a pass that needed a retry, `` (N attempts)`` after a
    failure or timeout that was retried; nothing for a single attempt."""
    if attempts <= 1:
        return ""
    if status == "PASSED":
        return f" (flaky: {attempts} attempts)"
    return f" ({attempts} attempts)" if status in ("FAILED", "TIMED_OUT") else ""


def summary_lines(result: RunResult, extras: SummaryExtras) -> list[tuple[str, str | None]]:
    """The end-of-run block: problems with reasons, durations, critical path, parallelism."""
    out: list[tuple[str, str | None]] = []
    problems = [r for r in result.records if r.status != "PASSED"]  # TaskStatus is a str
    if problems:
        out.append(("", None))
        out.append(("short summary:", "bold"))
        for r in problems:
            status = str(r.status)
            why = f"{r.error.type}: {r.error.message}" if r.error is not None else r.reason
            why += attempts_note(status, r.attempts)
            out.append((f"{status} {r.name} - {why}", STATUS_STYLE.get(status)))
    flaky = [r for r in result.records if r.flaky]
    if flaky:
        out.append(("", None))
        out.append(("flaky (passed after a retry):", "bold"))
        for r in flaky:
            last = r.retried[-1]
            out.append(
                (
                    f"FLAKY {r.name} - passed on attempt {r.attempts}; "
                    f"retried after {last.type}: {last.message}",
                    "yellow",
                )
            )
    timed = [(r.duration, r) for r in result.records if r.duration is not None]
    if extras.durations is not None and timed:
        timed.sort(key=lambda dr: dr[0], reverse=True)
        shown = timed if extras.durations == 0 else timed[: extras.durations]
        out.append((f"slowest {len(shown)} durations:", "bold"))
        out += [(f"  {d:.2f}s {r.name} [{r.thread}]", None) for d, r in shown]
    if extras.graph is not None and timed:
        from thread_order import profile

        prof = profile(result, extras.graph)  # the engine's post-run profile
        if prof.critical_path:
            chain = " -> ".join(prof.critical_path)
            out.append((f"critical path: {chain} ({prof.critical_seconds:.2f}s)", None))
        if prof.wall_seconds > 0:
            out.append(
                (
                    f"parallelism: {prof.parallelism:.2f} (busy {prof.busy_seconds:.2f}s / "
                    f"wall {prof.wall_seconds:.2f}s, {result.workers} workers)",
                    None,
                )
            )
    out += [(note, None) for note in extras.notes]
    if result.interrupted:
        out.append(("!!! interrupted: unfinished tasks were cancelled !!!", "bold yellow"))
    style = "bold green" if run_ok(result) else "bold red"
    out.append((result.summary_text(), style))
    return out
