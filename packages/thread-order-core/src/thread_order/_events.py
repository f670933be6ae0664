"""The event model: one typed event stream is the spine of a run.

Workers record what happens as compact tuples appended to one list (an atomic operation under
the GIL, so the hot path takes no extra lock). ``EventStream`` turns those entries into typed
events and hands them, in order and in batches, to listeners on the thread that called
``start()``. Callbacks, the run result, progress displays, reports and history all consume this
stream; none of them keep their own idea of what happened.

Times are ``time.perf_counter()`` seconds; ``RunStarted`` carries the epoch time of the same
instant so consumers can convert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from . import _readyset as rs
from ._records import STATUS_OF_CODE, RunResult, TaskError, TaskStatus

# Raw entry kinds. Layouts:
#   STARTED     (kind, id, worker, t)           dispatched and started at once on a worker
#   DISPATCHED  (kind, id, worker, t)           handed to a worker, waiting for a gate
#   RUNNING     (kind, id, worker, t)           started after the gate opened
#   PASSED      (kind, id, worker, t)           returned; the value is in the values column
#   ENDED       (kind, id, worker, t, code, TaskError | None)  failed, timed out or cancelled
#   SKIPPED     (kind, id, cause, t)            not run: a dependency did not pass
#   CANCELLED   (kind, id, t, reason)           never started: the run was stopped
STARTED = 0
DISPATCHED = 1
RUNNING = 2
PASSED = 3
ENDED = 4
SKIPPED = 5
CANCELLED = 6

Entry: TypeAlias = tuple[Any, ...]

_log = logging.getLogger("thread_order")


@dataclass(frozen=True, slots=True)
class RunStarted:
    total: int
    workers: int
    time: float
    wall: float


@dataclass(frozen=True, slots=True)
class TaskDispatched:
    task: str
    id: int
    thread: str
    time: float


@dataclass(frozen=True, slots=True)
class TaskStarted:
    task: str
    id: int
    thread: str
    time: float


@dataclass(frozen=True, slots=True)
class TaskFinished:
    """A task reached its terminal status. ``count`` is its position in completion order."""

    task: str
    id: int
    status: TaskStatus
    thread: str
    start: float | None
    time: float
    count: int
    error: TaskError | None = None
    result: Any = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RunFinished:
    result: RunResult
    time: float


Event: TypeAlias = RunStarted | TaskDispatched | TaskStarted | TaskFinished | RunFinished
Listener: TypeAlias = Callable[[Sequence[Event]], None]


def skip_reason(names: Sequence[str], cause: int) -> str:
    if cause < 0:
        return "no dependency failed (runs only when one does)"
    return f"upstream {names[cause]} failed"


class EventStream:
    """Typed delivery of one run's raw entries to listeners, in order, in batches."""

    def __init__(self, names: Sequence[str], threads: Sequence[str], values: list[Any]) -> None:
        self.names = names
        self.threads = threads
        self.values = values
        self.entries: list[Entry] = []
        self._listeners: list[Listener] = []
        self._pos = 0
        self._starts: dict[int, float] = {}
        self._count = 0

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    @property
    def live(self) -> bool:
        """True when someone listens, so entries must be delivered during the run."""
        return bool(self._listeners)

    def emit(self, events: Sequence[Event]) -> None:
        """Deliver already-typed events (run start and end) to every listener."""
        for listener in self._listeners:
            try:
                listener(events)
            except Exception:
                _log.debug("event listener %r raised; ignored", listener, exc_info=True)

    def pending(self) -> int:
        return len(self.entries) - self._pos

    def deliver(self, limit: int | None = None) -> list[Entry]:
        """Type the entries recorded since the last call and hand them to the listeners.

        Returns the raw entries delivered (the dispatcher uses them to open start gates).
        """
        end = len(self.entries) if limit is None else min(len(self.entries), self._pos + limit)
        raw = self.entries[self._pos : end]
        self._pos = end
        if raw and self._listeners:
            self.emit(self.typed(raw))
        return raw

    def typed(self, raw: Sequence[Entry]) -> list[Event]:
        names, threads, starts = self.names, self.threads, self._starts
        out: list[Event] = []
        for e in raw:
            kind, i = e[0], e[1]
            if kind == STARTED:
                starts[i] = e[3]
                out.append(TaskDispatched(names[i], i, threads[e[2]], e[3]))
                out.append(TaskStarted(names[i], i, threads[e[2]], e[3]))
            elif kind == DISPATCHED:
                out.append(TaskDispatched(names[i], i, threads[e[2]], e[3]))
            elif kind == RUNNING:
                starts[i] = e[3]
                out.append(TaskStarted(names[i], i, threads[e[2]], e[3]))
            else:
                self._count += 1
                out.append(self._finished(e))
        return out

    def _finished(self, e: Entry) -> TaskFinished:
        kind, i = e[0], e[1]
        name = self.names[i]
        if kind == PASSED:
            return TaskFinished(
                name,
                i,
                TaskStatus.PASSED,
                self.threads[e[2]],
                self._starts.get(i),
                e[3],
                self._count,
                result=self.values[i],
            )
        if kind == ENDED:
            status = STATUS_OF_CODE[e[4]]
            return TaskFinished(
                name, i, status, self.threads[e[2]], self._starts.get(i), e[3], self._count, e[5]
            )
        if kind == SKIPPED:
            return TaskFinished(
                name,
                i,
                TaskStatus.SKIPPED,
                "",
                None,
                e[3],
                self._count,
                reason=skip_reason(self.names, e[2]),
            )
        return TaskFinished(name, i, TaskStatus.CANCELLED, "", None, e[2], self._count, reason=e[3])


def build_result(
    stream: EventStream,
    *,
    started_at: float,
    finished_at: float,
    duration: float,
    workers: int,
    interrupted: bool,
) -> RunResult:
    """Fold a run's entries into its ``RunResult`` (one pass, columns indexed by task id)."""
    names = stream.names
    n = len(names)
    codes = bytearray(n)
    threads = [""] * n
    starts: list[float | None] = [None] * n
    ends: list[float | None] = [None] * n
    errors: dict[int, TaskError] = {}
    reasons: dict[int, str] = {}
    order: list[int] = []
    tnames = stream.threads
    for e in stream.entries:
        kind, i = e[0], e[1]
        if kind in (STARTED, RUNNING):
            starts[i] = e[3]
            threads[i] = tnames[e[2]]
        elif kind == DISPATCHED:
            threads[i] = tnames[e[2]]
        elif codes[i]:
            continue  # a late report for a task already settled (cancelled after the grace)
        elif kind == PASSED:
            codes[i] = rs.PASSED
            ends[i] = e[3]
            order.append(i)
        elif kind == ENDED:
            codes[i] = e[4]
            ends[i] = e[3]
            if e[5] is not None:
                errors[i] = e[5]
            order.append(i)
        elif kind == SKIPPED:
            codes[i] = rs.SKIPPED
            reasons[i] = skip_reason(names, e[2])
            order.append(i)
        else:
            codes[i] = rs.CANCELLED
            reasons[i] = e[3]
            order.append(i)
    return RunResult(
        names=names,
        order=order,
        codes=codes,
        threads=threads,
        starts=starts,
        ends=ends,
        values=stream.values,
        errors=errors,
        reasons=reasons,
        started_at=started_at,
        finished_at=finished_at,
        duration=duration,
        workers=workers,
        interrupted=interrupted,
    )
