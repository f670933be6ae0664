"""What a run produced: task statuses, per-task records and the typed run result.

``RunResult`` is built by consuming a run's event stream (see ``_events``); the 1.4.0-compatible
summary dict is derived from it, never computed separately.
"""

from __future__ import annotations

import enum
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from math import isnan, nan
from typing import Any

from . import _readyset as rs

# A time column holds one ``perf_counter()`` reading per task, NOT_YET until it happened: 8 bytes
# a task where a list of floats costs 8 plus a float object.
NOT_YET = nan


def time_column(n: int) -> array[float]:
    return array("d", [NOT_YET]) * n


def when(column: Sequence[float], i: int) -> float | None:
    """Task ``i``'s time in ``column``, None if it has not happened."""
    t = column[i]
    return None if isnan(t) else t


class TaskStatus(str, enum.Enum):
    """How a task ended. The string values are the 1.4.0 ones, plus the statuses added since."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"

    def __str__(self) -> str:
        return self.value


# Core state codes -> statuses, for the terminal states only.
STATUS_OF_CODE: Mapping[int, TaskStatus] = {
    rs.PASSED: TaskStatus.PASSED,
    rs.FAILED: TaskStatus.FAILED,
    rs.SKIPPED: TaskStatus.SKIPPED,
    rs.CANCELLED: TaskStatus.CANCELLED,
    rs.TIMED_OUT: TaskStatus.TIMED_OUT,
}

# The error_type 1.4.0 reports for tasks that did not run because of a failed dependency, and
# the one for tasks cancelled by an interrupt (1.4.0 named it but never reached it).
DEPENDENCY_ERROR = "DependencyError"
CANCELLED_ERROR = "CancelledError"


@dataclass(frozen=True, slots=True)
class TaskError:
    """Why a task failed: the exception's type name, message, full traceback and context.

    ``context`` is the ``'context'`` entry of an ``AssertionError`` whose message is a dict
    ``{'message': ..., 'context': ...}`` (a 1.4.0 convention), else None.
    """

    type: str
    message: str
    traceback: str = ""
    context: Any = None


class Attempts(dict[int, list[TaskError]]):
    """Per task id, the errors of the failed attempts that were retried.

    A task's list is made on first use (``attempts[i]``), so a run without retries stores
    nothing per task; read with ``get(i, ())`` to look without making one.
    """

    def __missing__(self, i: int) -> list[TaskError]:
        out: list[TaskError] = []
        self[i] = out
        return out


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One task's outcome in a run. Times are ``time.perf_counter()`` seconds."""

    name: str
    status: TaskStatus
    thread: str = ""
    start: float | None = None
    end: float | None = None
    error: TaskError | None = None
    result: Any = None
    reason: str = ""
    retried: tuple[TaskError, ...] = ()  # the failed attempts before the last one

    @property
    def attempts(self) -> int:
        return len(self.retried) + 1

    @property
    def flaky(self) -> bool:
        """Passed, but only after at least one failed attempt."""
        return self.status is TaskStatus.PASSED and bool(self.retried)

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start


class RunResult:
    """The typed outcome of one run: a record per task, in completion order.

    It is stored as columns indexed by task id (cheap to build for a million tasks) and turns
    them into ``TaskRecord`` objects only when asked. ``started_at``/``finished_at`` are epoch
    seconds, ``duration`` is measured with ``time.perf_counter()``; task times are
    ``perf_counter()`` readings, so ``started_at + (t - started_perf)`` is the epoch time of
    ``t``. ``interrupted`` is true when Ctrl-C (or a ``KeyboardInterrupt`` raised by a task)
    cut the run short.
    """

    __slots__ = (
        "_by_name",
        "_records",
        "attempts",
        "codes",
        "duration",
        "ends",
        "errors",
        "finished_at",
        "interrupted",
        "names",
        "order",
        "reasons",
        "started_at",
        "started_perf",
        "starts",
        "thread_names",
        "values",
        "where",
        "workers",
    )

    def __init__(
        self,
        *,
        names: Sequence[str],
        order: list[int],
        codes: bytearray,
        thread_names: Sequence[str],
        where: list[int],
        starts: array[float],
        ends: array[float],
        values: list[Any],
        errors: dict[int, TaskError],
        reasons: dict[int, str],
        attempts: Attempts | None = None,
        started_at: float,
        started_perf: float,
        finished_at: float,
        duration: float,
        workers: int,
        interrupted: bool,
    ) -> None:
        self.names = names
        self.order = order
        self.codes = codes
        self.thread_names = thread_names
        self.where = where
        self.starts = starts
        self.ends = ends
        self.values = values
        self.errors = errors
        self.reasons = reasons
        self.attempts = attempts  # per task: errors of the failed attempts that were retried
        self.started_at = started_at
        self.started_perf = started_perf  # time.perf_counter() at started_at: task times - this
        self.finished_at = finished_at
        self.duration = duration
        self.workers = workers
        self.interrupted = interrupted
        self._records: list[TaskRecord] | None = None
        self._by_name: dict[str, TaskRecord] | None = None

    def _record(self, i: int) -> TaskRecord:
        return TaskRecord(
            name=self.names[i],
            status=STATUS_OF_CODE[self.codes[i]],
            thread=self.thread_of(i),
            start=when(self.starts, i),
            end=when(self.ends, i),
            error=self.errors.get(i),
            result=self.values[i],
            reason=self.reasons.get(i, ""),
            retried=tuple(self.attempts.get(i, ())) if self.attempts else (),
        )

    def thread_of(self, i: int) -> str:
        """The worker thread task ``i`` ran on, ``""`` if it never started."""
        w = self.where[i]
        return self.thread_names[w] if w >= 0 else ""

    @property
    def records(self) -> list[TaskRecord]:
        """One record per task that reached a terminal state, in completion order."""
        if self._records is None:
            self._records = [self._record(i) for i in self.order]
        return self._records

    def __getitem__(self, name: str) -> TaskRecord:
        if self._by_name is None:
            self._by_name = {r.name: r for r in self.records}
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        if self._by_name is None:
            self._by_name = {r.name: r for r in self.records}
        return name in self._by_name

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[TaskRecord]:
        return iter(self.records)

    def __repr__(self) -> str:
        return f"<RunResult {self.summary_text()}>"

    def names_with(self, *statuses: TaskStatus) -> list[str]:
        """Names of the tasks that ended with one of ``statuses``, in completion order."""
        wanted = {_CODE_OF_STATUS[s] for s in statuses}
        codes, names, order = self.codes, self.names, self.order
        matching = sum(codes.count(c) for c in wanted)
        if matching == 0:
            return []
        if matching == len(order):  # the common case: one status for every task
            return list(map(names.__getitem__, order))
        return [names[i] for i in order if codes[i] in wanted]

    @property
    def ok(self) -> bool:
        """True when every task passed and the run was not interrupted."""
        return not self.interrupted and self.codes.count(rs.PASSED) == len(self.order)

    def counts(self) -> dict[TaskStatus, int]:
        codes = self.codes
        return {status: codes.count(code) for code, status in STATUS_OF_CODE.items()}

    def flaky(self) -> list[str]:
        """Tasks that passed after a retry, in completion order."""
        attempts = self.attempts
        if not attempts or not any(attempts.values()):
            return []
        return [self.names[i] for i in self.order if attempts.get(i) and self.codes[i] == rs.PASSED]

    def summary_text(self) -> str:
        """The 1.4.0 summary line, without colour codes."""
        c = self.counts()
        text = (
            f"{c[TaskStatus.PASSED]} passed, {c[TaskStatus.FAILED]} failed, "
            f"{c[TaskStatus.SKIPPED]} skipped"
        )
        if c[TaskStatus.TIMED_OUT]:
            text += f", {c[TaskStatus.TIMED_OUT]} timed out"
        if c[TaskStatus.CANCELLED]:
            text += f", {c[TaskStatus.CANCELLED]} cancelled"
        flaky = len(self.flaky())
        if flaky:
            text += f", {flaky} flaky"
        return f"==== {text} in {self.duration:.2f}s ===="

    def summary(self) -> dict[str, Any]:
        """The 1.4.0 summary dict (same keys, fresh lists) plus the keys added since."""
        failures: dict[str, dict[str, str]] = {}
        failure_counts: dict[str, int] = {}
        codes, names = self.codes, self.names
        for i in [] if self.ok else self.order:
            code = codes[i]
            if code == rs.PASSED:
                continue
            if code == rs.SKIPPED:
                kind = DEPENDENCY_ERROR
            elif code == rs.CANCELLED:
                kind = CANCELLED_ERROR
            else:
                err = self.errors.get(i)
                kind = err.type if err else STATUS_OF_CODE[code].value
                failures[names[i]] = {"error_type": kind, "error": err.message if err else ""}
            failure_counts[kind] = failure_counts.get(kind, 0) + 1
        passed = self.names_with(TaskStatus.PASSED)
        return {
            "ran": list(passed)
            if self.ok
            else self.names_with(*(s for s in TaskStatus if s is not TaskStatus.CANCELLED)),
            "passed": passed,
            "failed": self.names_with(TaskStatus.FAILED, TaskStatus.TIMED_OUT),
            "skipped": self.names_with(TaskStatus.SKIPPED),
            "failures": failures,
            "failure_counts": failure_counts,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration": self.duration,
            "text": self.summary_text(),
            "cancelled": self.names_with(TaskStatus.CANCELLED),
            "timed_out": self.names_with(TaskStatus.TIMED_OUT),
            "flaky": self.flaky(),
            "interrupted": self.interrupted,
        }


_CODE_OF_STATUS: Mapping[TaskStatus, int] = {v: k for k, v in STATUS_OF_CODE.items()}
