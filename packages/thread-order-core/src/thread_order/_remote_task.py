"""What runs on a remote worker: one task, through a wrapper that never raises.

The driver ships each task as a ``RemoteSpec`` pickled once per run (cloudpickle, on the
driver), and the worker calls ``run_task`` with it and its upstream ``Outcome`` objects. The
wrapper loads the spec itself, so a suite that does not import on the worker is a clean task
failure, never a worker that dies deserialising it. Everything the thread backend does inside a
call happens here the same way, through the same ``build_call``: the run_if predicate, data
passing by parameter names, retries. What the driver decides (skips, trigger rules, fail-fast,
limits) never reaches the worker.
"""

from __future__ import annotations

import inspect
import logging
import os
import pickle
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _readyset as rs
from ._calls import RunContext, TaskSkipped, build_call
from ._compiler import Task
from ._dispatcher import CURRENT_COROUTINE_TASK
from ._edgestate import StateError, TaskState
from ._options import TaskOptions
from ._outcomes import task_error
from ._records import TaskError

#: Semaphores for named locks are cluster-wide under these names: runs sharing a cluster share
#: their limits.
SEMAPHORE_PREFIX = "thread-order/"


@dataclass(frozen=True, slots=True)
class RemoteSpec:
    """One task as a worker needs it."""

    name: str
    fn: Callable[..., Any]
    with_state: bool
    options: TaskOptions
    param: Mapping[str, Any] | None
    deps: tuple[str, ...]  # the direct dependencies' names, in graph order
    timeout: float | None
    locks: tuple[tuple[str, int], ...]  # (resource, capacity), sorted by name

    @property
    def needs_state(self) -> bool:
        return self.with_state or self.options.condition is not None


@dataclass(slots=True)
class Outcome:
    """What a task did on a worker. Times are the worker's epoch seconds."""

    name: str
    code: int
    value: Any = None
    error: TaskError | None = None
    updates: dict[str, Any] = field(default_factory=dict)
    tried: list[TaskError] = field(default_factory=list)  # failed attempts that were retried
    lane: str = ""
    start: float = 0.0
    end: float = 0.0
    lost: bool = False  # the worker died: the task may or may not have run
    logs: list[dict[str, Any]] = field(default_factory=list)  # its thread logger's records


def lane_name() -> str:
    """``host:pid:thread``, where ``thread`` is the worker thread's number when it has one."""
    import socket

    thread = threading.current_thread().name
    tail = thread.rsplit("-", 1)[-1]
    return f"{socket.gethostname()}:{os.getpid()}:{tail if tail.isdigit() else thread}"


def run_task(
    blob: bytes,
    upstream: Sequence[Outcome | int],
    ancestors: Sequence[Outcome] | None,
    base: bytes | None,
) -> Outcome:
    """Run one task; never raises. ``upstream`` holds, per direct dependency, its ``Outcome``
    or (when it never ran) its status code; ``ancestors`` (tasks that take the state only) are
    the outcomes of every ancestor that ran, in topological order."""
    start = time.time()
    lane = lane_name()
    try:
        spec: RemoteSpec = pickle.loads(blob)
    except BaseException as exc:
        return Outcome(
            "?",
            rs.FAILED,
            error=TaskError(
                "SuiteImportError",
                f"the task could not be loaded on worker {lane}: {type(exc).__name__}: {exc} "
                "(is the suite importable there?)",
                traceback.format_exc(),
            ),
            lane=lane,
            start=start,
            end=time.time(),
        )
    out = Outcome(spec.name, rs.FAILED, lane=lane, start=start)
    try:
        _run(spec, upstream, ancestors, base, out)
    except BaseException as exc:  # the wrapper's own failure is the task's failure
        out.code, out.error = rs.FAILED, task_error(exc)
    out.end = time.time()
    return out


def _run(
    spec: RemoteSpec,
    upstream: Sequence[Outcome | int],
    ancestors: Sequence[Outcome] | None,
    base: bytes | None,
    out: Outcome,
) -> None:
    k = len(spec.deps)
    values = [u.value if isinstance(u, Outcome) else None for u in upstream]
    codes = [u.code if isinstance(u, Outcome) else u for u in upstream]
    private: TaskState | None = None
    state: dict[str, Any] = {}
    if spec.needs_state:
        private = TaskState(
            base,
            ((a.name, a.code == rs.PASSED, a.value, a.updates) for a in ancestors or ()),
        )
        state = private.view
    attempts: list[list[TaskError]] = [[] for _ in range(k + 1)]
    context = RunContext(state, values, codes.__getitem__, list(spec.deps), attempts)
    task = Task(spec.name, spec.fn, spec.deps, spec.with_state, (), spec.options, "", spec.param)
    call = build_call(task, k, list(range(k)), context)
    token = CURRENT_COROUTINE_TASK.set(spec.name)  # current_task() inside the task
    capture = _LogCapture(threading.current_thread().name, f"{spec.name}-body")
    try:
        out.code, out.value, out.error = _call(spec, call, out.lane)
    finally:
        CURRENT_COROUTINE_TASK.reset(token)
        out.logs = capture.finish()
    out.tried = attempts[k]
    if private is not None and out.code in (rs.PASSED, rs.FAILED):
        try:
            out.updates = private.updates(spec.name)
        except StateError as exc:
            out.code, out.value = rs.FAILED, None
            out.error = TaskError("StateError", str(exc))


def _call(
    spec: RemoteSpec, call: Callable[[], Any], lane: str
) -> tuple[int, Any, TaskError | None]:
    """Run the call holding the task's semaphores, within its timeout (soft for threads)."""
    import asyncio

    box: list[Any] = []
    held = _acquire(spec.locks)

    def body() -> None:
        try:
            value = call()
            if inspect.isawaitable(value):
                value = asyncio.run(_awaited(value, spec.timeout))
            box.append((rs.PASSED, value, None))
        except TaskSkipped as exc:
            box.append((rs.SKIPPED, None, TaskError("Skipped", exc.reason)))
        except (TimeoutError, asyncio.TimeoutError) as exc:  # distinct types before 3.11
            if inspect.iscoroutinefunction(spec.fn) and spec.timeout is not None:
                box.append((rs.TIMED_OUT, None, _timeout_error(spec.timeout, "was cancelled")))
            else:
                box.append((rs.FAILED, None, task_error(exc)))
        except BaseException as exc:  # a task's failure, whatever it raised
            box.append((rs.FAILED, None, _remote_error(exc)))
        finally:
            for semaphore in reversed(held):
                semaphore.release()

    if spec.timeout is None or inspect.iscoroutinefunction(spec.fn):
        body()
        return tuple(box[0])
    runner = threading.Thread(target=body, name=f"{spec.name}-body", daemon=True)
    runner.start()
    runner.join(spec.timeout)
    if runner.is_alive():  # soft: the thread is left to finish, holding its locks until then
        left = f"its thread on {lane} was left running"
        return rs.TIMED_OUT, None, _timeout_error(spec.timeout, left)
    return tuple(box[0])


_RECORD_FIELDS = (
    "name",
    "levelno",
    "levelname",
    "pathname",
    "filename",
    "module",
    "lineno",
    "funcName",
    "created",
    "msecs",
    "relativeCreated",
    "thread",
    "threadName",
    "process",
    "exc_text",
    "stack_info",
)


class _LogCapture(logging.Handler):
    """The records of the task's thread loggers (``ThreadProxyLogger``'s, as tdrun captures on
    threads), at INFO and above, as dicts for the driver to replay."""

    def __init__(self, *names: str) -> None:
        super().__init__(logging.INFO)
        self.records: list[dict[str, Any]] = []
        self.loggers: list[tuple[logging.Logger, int]] = []
        for name in names:
            logger = logging.getLogger(name)
            self.loggers.append((logger, logger.level))
            if logger.level == logging.NOTSET or logger.level > logging.INFO:
                logger.setLevel(logging.INFO)
            logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        # the standard fields only: an ``extra=`` value may not pickle
        fields = {k: getattr(record, k, None) for k in _RECORD_FIELDS}
        fields["msg"] = record.getMessage()
        if record.exc_info:
            fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
        self.records.append(fields)

    def finish(self) -> list[dict[str, Any]]:
        for logger, level in self.loggers:
            logger.removeHandler(self)
            logger.setLevel(level)
        self.close()
        return self.records


def _remote_error(exc: BaseException) -> TaskError:
    """``task_error``, with a clear word for what only the thread backend can do."""
    error = task_error(exc)
    if type(exc).__name__ == "GrowthError":  # thread_order.add_task(): dynamic tasks
        return TaskError(
            error.type,
            "add_task() is not supported on a distributed backend: the graph of a run on a "
            "cluster is fixed when it starts; run this suite on threads to add tasks from tasks",
            error.traceback,
        )
    return error


def _timeout_error(timeout: float, what: str) -> TaskError:
    return TaskError("TimeoutError", f"timed out after {timeout:g}s; {what}")


async def _awaited(awaitable: Any, timeout: float | None) -> Any:
    import asyncio

    return await asyncio.wait_for(awaitable, timeout)


def _acquire(locks: Sequence[tuple[str, int]]) -> list[Any]:
    """Cluster-wide semaphores for the task's named locks, taken in name order."""
    if not locks:
        return []
    from distributed import Semaphore

    held: list[Any] = []
    try:
        for name, capacity in locks:
            semaphore = Semaphore(max_leases=capacity, name=SEMAPHORE_PREFIX + name)
            semaphore.acquire()
            held.append(semaphore)
    except BaseException:
        for semaphore in reversed(held):
            semaphore.release()
        raise
    return held


def probe(modules: Sequence[str]) -> tuple[int, str, dict[str, str]]:
    """Run on every worker before the first task: its pid, its thread_order version, and the
    suite modules that fail to import there (name -> error)."""
    import importlib

    import thread_order

    failed: dict[str, str] = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"
    return os.getpid(), str(getattr(thread_order, "__version__", "?")), failed
