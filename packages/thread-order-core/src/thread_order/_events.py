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
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeAlias, cast

from . import _readyset as rs
from ._records import (
    NOT_YET,
    STATUS_OF_CODE,
    Attempts,
    RunResult,
    TaskError,
    TaskStatus,
    time_column,
    when,
)

# Raw entries. The hot ones are the cheapest possible: a task that passed is recorded as its
# bare int id, and the worker writes its times and thread into the stream's columns (``starts``,
# ``ends``, ``where``, ``values``) before appending, so the entry itself carries nothing else.
# Other entries are tuples whose first item is one of these kinds:
#   STARTED     (kind, id)                      started on worker where[id] at starts[id]
#   DISPATCHED  (kind, id, worker, t)           handed to a worker, waiting for a start gate
#   RUNNING     (kind, id)                      started after its gate opened (columns as STARTED)
#   ADDED       (kind, id)                      added to the running graph (``EventStream.grow``)
#   ENDED       (kind, id, code, TaskError | None)  failed, timed out or cancelled while running;
#                                               ends[id] and where[id] are set
#   SKIPPED     (kind, id, cause, t)            not run: a dependency did not pass
#   CANCELLED   (kind, id, t, reason)           never started: the run was stopped
# STARTED entries are only recorded when someone listens during the run (``live``).
STARTED = 0
DISPATCHED = 1
RUNNING = 2
ADDED = 3
ENDED = 4
SKIPPED = 5
CANCELLED = 6

Entry: TypeAlias = int | tuple[Any, ...]

_log = logging.getLogger("thread_order")


@dataclass(frozen=True, slots=True)
class RunStarted:
    total: int
    workers: int
    time: float
    wall: float


@dataclass(frozen=True, slots=True)
class TaskAdded:
    """A task was added to the running graph (a dynamic task) by the task ``parent``.

    It comes before any other event of that task. ``after`` and ``before`` name the tasks it
    depends on and the tasks that wait for it.
    """

    task: str
    id: int
    parent: str | None
    after: tuple[str, ...]
    before: tuple[str, ...]
    time: float


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
    attempts: int = 1  # 1 + the failed attempts that were retried


@dataclass(frozen=True, slots=True)
class RunFinished:
    result: RunResult
    time: float


# Slot setters of TaskFinished, in field order: ``passed_event`` sets each field through its
# slot directly, not through the frozen class's ``object.__setattr__`` per field (0.8 us a
# task where the generated ``__init__`` takes 1.9, for every task of a run someone listens to).
(
    _set_task,
    _set_id,
    _set_status,
    _set_thread,
    _set_start,
    _set_time,
    _set_count,
    _set_error,
    _set_result,
    _set_reason,
    _set_attempts,
) = (TaskFinished.__dict__[f.name].__set__ for f in fields(TaskFinished))
_new = object.__new__


def passed_event(
    task: str,
    i: int,
    thread: str,
    start: float | None,
    end: float,
    count: int,
    result: Any,
    attempts: int,
) -> TaskFinished:
    """``TaskFinished(task, i, PASSED, thread, start, end, count, result=result,
    attempts=attempts)``, made faster."""
    e: TaskFinished = _new(TaskFinished)
    _set_task(e, task)
    _set_id(e, i)
    _set_status(e, TaskStatus.PASSED)
    _set_thread(e, thread)
    _set_start(e, start)
    _set_time(e, end)
    _set_count(e, count)
    _set_error(e, None)
    _set_result(e, result)
    _set_reason(e, "")
    _set_attempts(e, attempts)
    return e


Event: TypeAlias = (
    RunStarted | TaskAdded | TaskDispatched | TaskStarted | TaskFinished | RunFinished
)
Listener: TypeAlias = Callable[[Sequence[Event]], None]
#: Every kind of event, for ``subscribe(listener, kinds=...)``.
EVENT_KINDS: frozenset[type] = frozenset(
    (RunStarted, TaskAdded, TaskDispatched, TaskStarted, TaskFinished, RunFinished)
)


def event_kinds(kinds: Iterable[type] | None) -> frozenset[type] | None:
    """``kinds`` as a frozenset, checked (None: every kind); a TypeError names the culprit."""
    if kinds is None:
        return None
    out = frozenset(kinds)
    for kind in out:
        if kind not in EVENT_KINDS:
            known = ", ".join(sorted(k.__name__ for k in EVENT_KINDS))
            raise TypeError(f"kinds: {kind!r} is not an event class (the event classes: {known})")
    return out


_HOW = {rs.TIMED_OUT: "timed out", rs.CANCELLED: "was cancelled", rs.SKIPPED: "was skipped"}


def skip_reason(names: Sequence[str], cause: int, cause_code: int = 0) -> str:
    """Why a task was skipped: which upstream task did not pass, and how."""
    if cause < 0:
        return "no dependency failed (runs only when one does)"
    return f"upstream {names[cause]} {_HOW.get(cause_code, 'failed')}"


class EventStream:
    """One run's entries and columns, typed and delivered to listeners in order, in batches."""

    def __init__(self, names: Sequence[str], threads: Sequence[str]) -> None:
        n = len(names)
        self.names = names
        self.threads = threads
        self.values: list[Any] = [None] * n
        self.starts = time_column(n)
        self.ends = time_column(n)
        self.where: list[int] = [-1] * n
        self.entries: list[Entry] = []
        self.retried: Attempts | None = None  # per task, set by the scheduler
        self._listeners: list[tuple[Listener, frozenset[type] | None]] = []
        # The kinds some listener wants, each made only then (a listener of every kind: all).
        self._want_dispatched = self._want_started = self._want_finished = False
        self._pos = 0
        self._settled = bytearray(n)  # the terminal status code of each task, once typed
        self._count = 0
        # Tasks added during the run: id -> (parent id, dependency ids, follower ids, time).
        self.added: dict[int, tuple[int, tuple[int, ...], tuple[int, ...], float]] = {}
        self._announced = n  # ids below this have been announced to the listeners

    def grow(self, parent: int, after: Sequence[int], before: Sequence[int]) -> None:
        """Make room for one more task, added to the running graph by task ``parent``."""
        i = len(self.values)
        self.values.append(None)
        self.starts.append(NOT_YET)
        self.ends.append(NOT_YET)
        self.where.append(-1)
        self._settled.append(0)
        self.added[i] = (parent, tuple(after), tuple(before), time.perf_counter())

    def shrink(self, n: int) -> None:
        """Forget the tasks from id ``n`` on (an addition that was refused)."""
        for column in (self.values, self.starts, self.ends, self.where, self._settled):
            del column[n:]
        if self.retried is not None:
            for i in [i for i in self.retried if i >= n]:
                del self.retried[i]
        for i in [i for i in self.added if i >= n]:
            del self.added[i]

    def subscribe(self, listener: Listener, kinds: frozenset[type] | None = None) -> None:
        """Deliver events to ``listener``: every kind, or only ``kinds`` (``event_kinds``).

        Events that no listener wants are not made at all, and starts not even recorded.
        """
        self._listeners.append((listener, kinds))
        self._want_dispatched |= kinds is None or TaskDispatched in kinds
        self._want_started |= kinds is None or TaskStarted in kinds
        self._want_finished |= kinds is None or TaskFinished in kinds

    @property
    def wants_starts(self) -> bool:
        """Some listener wants the tasks' starts: only then do workers record STARTED entries."""
        return self._want_dispatched or self._want_started

    @property
    def live(self) -> bool:
        """True when someone listens, so entries must be delivered during the run."""
        return bool(self._listeners)

    def emit(self, events: Sequence[Event]) -> None:
        """Deliver already-typed events (run start and end) to every listener."""
        for listener, kinds in self._listeners:
            batch = events if kinds is None else [e for e in events if type(e) in kinds]
            if not batch:
                continue
            try:
                listener(batch)
            except Exception:
                _log.debug("event listener %r raised; ignored", listener, exc_info=True)

    def pending(self) -> int:
        return len(self.entries) - self._pos

    def deliver(self) -> list[Entry]:
        """Type the entries recorded since the last call and hand them to the listeners.

        Returns the raw entries delivered (the dispatcher uses them to open start gates).
        """
        end = len(self.entries)
        raw = self.entries[self._pos : end]
        self._pos = end
        if raw and self._listeners:
            self.emit(self.typed(raw))
        return raw

    def thread_of(self, i: int) -> str:
        w = self.where[i]
        return self.threads[w] if w >= 0 else ""

    def _announce(self, upto: int, out: list[Event]) -> None:
        """``TaskAdded`` for the added tasks up to id ``upto``, each once, in id order."""
        names = self.names
        for i in range(self._announced, upto + 1):
            parent, after, before, t = self.added[i]
            out.append(
                TaskAdded(
                    names[i],
                    i,
                    names[parent] if parent >= 0 else None,
                    tuple(names[j] for j in after),
                    tuple(names[j] for j in before),
                    t,
                )
            )
        self._announced = max(self._announced, upto + 1)

    def typed(self, raw: Sequence[Entry]) -> list[Event]:
        names, settled, starts, ends = self.names, self._settled, self.starts, self.ends
        out: list[Event] = []
        for e in raw:
            if isinstance(e, int):  # a task that passed, the common case: made in line
                if e >= self._announced:
                    self._announce(e, out)
                if not settled[e]:
                    settled[e] = rs.PASSED
                    self._count += 1
                    if not self._want_finished:
                        continue
                    out.append(
                        passed_event(
                            names[e],
                            e,
                            self.thread_of(e),
                            when(starts, e),
                            when(ends, e) or 0.0,
                            self._count,
                            self.values[e],
                            self._attempts(e),
                        )
                    )
                continue
            kind, i = e[0], e[1]
            if i >= self._announced:
                self._announce(i, out)
            if kind == ADDED:
                continue
            if kind == STARTED:
                t = when(self.starts, i) or 0.0
                if self._want_dispatched:
                    out.append(TaskDispatched(names[i], i, self.thread_of(i), t))
                if self._want_started:
                    out.append(TaskStarted(names[i], i, self.thread_of(i), t))
                continue
            if kind == DISPATCHED:
                if self._want_dispatched:
                    out.append(TaskDispatched(names[i], i, self.threads[e[2]], e[3]))
                continue
            if kind == RUNNING:
                if self._want_started:
                    t = when(self.starts, i) or 0.0
                    out.append(TaskStarted(names[i], i, self.thread_of(i), t))
                continue
            if not self._settled[i]:  # the first terminal entry of a task wins
                self._settled[i] = _code_of(e)
                self._count += 1
                if self._want_finished:
                    out.append(self._finished(e))
        return out

    def _attempts(self, i: int) -> int:
        return 1 + len(self.retried.get(i, ())) if self.retried is not None else 1

    def _finished(self, e: tuple[Any, ...]) -> TaskFinished:
        kind, i = e[0], e[1]
        name = self.names[i]
        if kind == ENDED:
            if e[2] == rs.SKIPPED:  # skipped by the task itself (a false run_if condition)
                reason = e[3].message if e[3] is not None else ""
                return TaskFinished(
                    name,
                    i,
                    TaskStatus.SKIPPED,
                    "",
                    None,
                    when(self.ends, i) or 0.0,
                    self._count,
                    reason=reason,
                )
            return TaskFinished(
                name,
                i,
                STATUS_OF_CODE[e[2]],
                self.thread_of(i),
                when(self.starts, i),
                when(self.ends, i) or 0.0,
                self._count,
                e[3],
                attempts=self._attempts(i),
            )
        if kind == SKIPPED:
            reason = skip_reason(self.names, e[2], self._settled[e[2]] if e[2] >= 0 else 0)
            return TaskFinished(
                name, i, TaskStatus.SKIPPED, "", None, e[3], self._count, reason=reason
            )
        return TaskFinished(name, i, TaskStatus.CANCELLED, "", None, e[2], self._count, reason=e[3])


def _code_of(e: tuple[Any, ...]) -> int:
    return {ENDED: e[2] if len(e) > 2 else rs.FAILED, SKIPPED: rs.SKIPPED}.get(e[0], rs.CANCELLED)


def build_result(
    stream: EventStream,
    *,
    attempts: Attempts | None = None,
    started_at: float,
    started_perf: float,
    finished_at: float,
    duration: float,
    workers: int,
    interrupted: bool,
) -> RunResult:
    """Fold a run's entries into its ``RunResult`` (one pass; columns indexed by task id)."""
    names, entries = stream.names, stream.entries
    errors: dict[int, TaskError] = {}
    reasons: dict[int, str] = {}
    n = len(names)
    if len(entries) == n and list(map(type, entries)).count(int) == n:
        # Every entry is a pass (the common case, checked in C): every task settled exactly
        # once, so each id is there once and the entries are the completion order.
        codes = bytearray([rs.PASSED]) * n
        order = cast("list[int]", list(entries))
    else:
        codes, order = _fold(entries, names, errors, reasons)
    return RunResult(
        names=names,
        order=order,
        codes=codes,
        thread_names=stream.threads,
        where=stream.where,
        starts=stream.starts,
        ends=stream.ends,
        values=stream.values,
        errors=errors,
        reasons=reasons,
        attempts=attempts,
        started_at=started_at,
        started_perf=started_perf,
        finished_at=finished_at,
        duration=duration,
        workers=workers,
        interrupted=interrupted,
    )


def _fold(
    entries: Sequence[Entry],
    names: Sequence[str],
    errors: dict[int, TaskError],
    reasons: dict[int, str],
) -> tuple[bytearray, list[int]]:
    """Each task's status code and the completion order, from the first terminal entry of each
    task; errors and skip reasons are filled in on the way."""
    codes = bytearray(len(names))
    order: list[int] = []
    passed = rs.PASSED
    for e in entries:
        if isinstance(e, int):
            if not codes[e]:
                codes[e] = passed
                order.append(e)
            continue
        kind, i = e[0], e[1]
        if kind <= ADDED or codes[i]:
            continue  # a start, an addition, or a late report for a task already settled
        order.append(i)
        if kind == ENDED:
            codes[i] = e[2]
            if e[2] == rs.SKIPPED:
                reasons[i] = e[3].message if e[3] is not None else ""
            elif e[3] is not None:
                errors[i] = e[3]
        elif kind == SKIPPED:
            codes[i] = rs.SKIPPED
            reasons[i] = skip_reason(names, e[2], codes[e[2]] if e[2] >= 0 else 0)
        else:
            codes[i] = rs.CANCELLED
            reasons[i] = e[3]
    return codes, order
