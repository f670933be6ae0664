"""How a task's outcome is settled, and the slower path for tasks that need more than a call.

The dispatcher's hot loop handles plain tasks that pass. Everything else goes through here:
failures and cancellations (``settle``), and tasks with a timeout, named locks or an
``async def`` function (``run_special``), whose outcomes may also arrive from the watchdog or
the event loop thread. The functions take the ``Dispatcher`` whose state they change.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _events as ev
from . import _readyset as rs
from ._calls import TaskSkipped
from ._records import TaskError
from ._resources import Resources

if TYPE_CHECKING:
    from ._dispatcher import Dispatcher

clock = time.perf_counter

EXIT = -3  # returned to a worker whose thread was replaced: it must end

# Flags per task in ``Special.flags``.
TIMED = 1
LOCKS = 2
ASYNC = 4


@dataclass(slots=True)
class Special:
    """Which tasks take the slow path, and what they need there."""

    flags: bytearray
    timeouts: Sequence[float | None]
    resources: Resources | None
    has_timeouts: bool
    has_async: bool
    loop_lane: int  # the lane (``where`` index) of the event loop thread

    def add(
        self,
        timeout: float | None,
        locks: tuple[str, ...],
        is_async: bool,
        limits: Mapping[str, int],
    ) -> None:
        """One more task (added to the running graph); ``flags`` grows by its caller."""
        assert isinstance(self.timeouts, list)
        self.timeouts.append(timeout)
        if locks and self.resources is None:
            self.resources = Resources([() for _ in self.timeouts[:-1]], limits)
        if self.resources is not None:
            self.resources.add(locks, limits)
        self.has_timeouts = self.has_timeouts or (timeout is not None and not is_async)
        self.has_async = self.has_async or is_async

    def truncate(self, n: int) -> None:
        """Forget the tasks from id ``n`` on (an addition that was refused)."""
        assert isinstance(self.timeouts, list)
        del self.timeouts[n:]
        if self.resources is not None:
            self.resources.truncate(n)


def task_error(exc: BaseException) -> TaskError:
    """Type, message, traceback and 1.4.0 assertion context of a task's exception."""
    message: str
    context: Any = None
    arg = exc.args[0] if isinstance(exc, AssertionError) and len(exc.args) == 1 else None
    if isinstance(arg, dict) and ("message" in arg or "context" in arg):
        message = str(arg.get("message", ""))
        context = arg.get("context")
    else:
        message = str(exc)
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return TaskError(type(exc).__name__, message, tb, context)


def count_failure(d: Dispatcher, t: float) -> None:
    """Count a failure; at ``max_failures`` start nothing new and mark the rest not run."""
    d.failures += 1
    if d.failures < d.max_failures or d.stopped:
        return
    stop(d, t, f"not run: stopped after {d.failures} failure(s)")


def teardown_keep(d: Dispatcher) -> bytes | None:
    """Pending ``all_done`` tasks with a dependency that has started: the cleanups a stop
    must still run (a resource may exist). None when there are none."""
    graph = d.graph
    if not graph.has_rules:
        return None
    states = d.core.states()
    keep = bytearray(len(states))
    for i, rule in enumerate(graph.rules):
        if (
            rule == rs.ALL_DONE
            and states[i] < rs.RUNNING
            and any(states[p] in _STARTED for p in graph.dependencies(i))
        ):
            keep[i] = 1
    return bytes(keep) if any(keep) else None


_STARTED = frozenset((rs.RUNNING, rs.PASSED, rs.FAILED, rs.TIMED_OUT))


def stop(d: Dispatcher, t: float, reason: str) -> None:
    """Start nothing new but the cleanups still owed (``teardown_keep``); everything else not
    yet started is cancelled with ``reason``."""
    d.stopped = True
    keep = teardown_keep(d)
    d.keep = keep
    d.stopping = keep is None  # with cleanups owed, workers go on (only those are queued)
    append = d.stream.entries.append
    with d.settle_lock:
        for i in d.core.cancel(keep):
            append((ev.CANCELLED, i, t, reason))
        if d.special is not None and d.special.resources is not None:
            for i in d.special.resources.drop_waiting():
                d.core.finish(i, rs.CANCELLED)
                append((ev.CANCELLED, i, t, reason))
    if keep is None:
        with d.lock:
            d._unpark_all_locked()


def record_skips(d: Dispatcher, skipped: Sequence[int], t: float) -> None:
    append = d.stream.entries.append
    for k in range(0, len(skipped), 2):
        append((ev.SKIPPED, skipped[k], skipped[k + 1], t))


def failed(d: Dispatcher, i: int, w: int, exc: BaseException) -> None:
    """Record a task that raised (or asked to be skipped)."""
    t = clock()
    if isinstance(exc, TaskSkipped):  # not run: no thread is recorded for it
        settle(d, i, -1, rs.SKIPPED, TaskError("Skipped", exc.reason), t)
        return
    err = task_error(exc)
    code = rs.FAILED
    if isinstance(exc, KeyboardInterrupt):
        code = rs.CANCELLED
        d.cancel_requested = True
        d.stopping = True
    log = logging.getLogger(threading.current_thread().name)
    if log.isEnabledFor(logging.ERROR):
        log.error("%s: %s: %s", d.fn_names[i], err.type, err.message)
    settle(d, i, w, code, err, t)
    if d.cancel_requested:
        d._poke()


def settle(
    d: Dispatcher, i: int, w: int, code: int, err: TaskError | None, t: float | None = None
) -> None:
    """Give running task ``i`` a terminal ``code`` (no-op if it was settled already)."""
    core = d.core
    when = clock() if t is None else t
    with d.settle_lock:
        if core.status(i) != rs.RUNNING:
            return  # already settled by a cancellation or a timeout
        d.stream.ends[i] = when
        d.stream.where[i] = w
        d.stream.entries.append((ev.ENDED, i, code, err))
        core.finish(i, code)
        skipped = core.take_skipped()
        if skipped:
            record_skips(d, skipped, when)
    if code in (rs.FAILED, rs.TIMED_OUT) and d.max_failures:
        count_failure(d, when)
    after_release(d)


def after_release(d: Dispatcher) -> None:
    core = d.core
    if core.ready_count and not d.stopping:
        d._wake_workers()
    if not core.remaining:
        with d.lock:
            if not d.finished:
                d._done_locked()
    if d.sched_waiting:
        d._poke()


def passed(d: Dispatcher, i: int, w: int, value: Any, t: float) -> None:
    """Settle a task that returned, off the hot path (special tasks, async tasks)."""
    stream = d.stream
    if d.core.status(i) != rs.RUNNING:
        return
    stream.values[i] = value
    stream.ends[i] = t
    stream.where[i] = w
    if d.results is not None:
        with d.state_lock:
            d.results[d.names[i]] = value
    with d.settle_lock:
        if d.core.status(i) != rs.RUNNING:
            return
        stream.entries.append(i)
        d.core.finish(i, rs.PASSED)
        skipped = d.core.take_skipped()
        if skipped:
            record_skips(d, skipped, t)
    after_release(d)


def next_task(d: Dispatcher, w: int) -> int:
    i = d.core.pop()
    return i if i >= 0 else d._next_or_idle(w)


def run_special(d: Dispatcher, i: int, w: int) -> int:
    """Run a task with a timeout, locks or a coroutine; return the worker's next task."""
    special = d.special
    assert special is not None
    flags = special.flags[i]
    resources = special.resources
    if flags & LOCKS and resources is not None and not resources.acquire(i):
        return next_task(d, w)  # it waits for its resources; this worker moves on
    stream = d.stream
    t = clock()
    stream.starts[i] = t
    if flags & ASYNC:
        assert d.loop is not None
        stream.where[i] = special.loop_lane
        if stream.wants_starts:
            stream.entries.append((ev.STARTED, i))
        d.loop.submit(i, d.calls[i], special.timeouts[i])
        return next_task(d, w)
    stream.where[i] = w
    d.current[w] = i
    if stream.wants_starts:
        stream.entries.append((ev.STARTED, i))
    if d.sched_waiting:
        d._poke()
    timeout = special.timeouts[i]
    token = d.watchdog.arm(i, timeout) if timeout is not None and d.watchdog else 0
    try:
        value = d.calls[i]()
    except BaseException as exc:  # a task's failure, whatever it raised
        if token and d.watchdog is not None and not d.watchdog.disarm(token):
            release_resources(d, i)  # timed out earlier: only now is the thread out of it
            return EXIT
        release_resources(d, i)
        if not overran(d, i, w, timeout, t):
            failed(d, i, w, exc)
        return d._next_or_idle(w)
    if token and d.watchdog is not None and not d.watchdog.disarm(token):
        release_resources(d, i)  # timed out earlier: only now is the thread out of it
        return EXIT
    release_resources(d, i)
    end = clock()
    if not overran(d, i, w, timeout, t, end):
        passed(d, i, w, value, end)
    return next_task(d, w)


def overran(
    d: Dispatcher, i: int, w: int, timeout: float | None, start: float, end: float | None = None
) -> bool:
    """Settle task ``i`` as TIMED_OUT if it ran past its timeout although the watchdog did not
    get to it first (a busy machine can delay the watchdog's thread); True if it did."""
    end = clock() if end is None else end
    if timeout is None or end - start <= timeout:
        return False
    err = TaskError(
        "TimeoutError",
        f"timed out after {timeout:g}s; it returned after {end - start:.3g}s, before the run "
        "stopped waiting for it",
    )
    settle(d, i, w, rs.TIMED_OUT, err, end)
    return True


def release_resources(d: Dispatcher, i: int) -> None:
    special = d.special
    if special is None or special.resources is None or not special.flags[i] & LOCKS:
        return
    for j in special.resources.release(i):
        d.core.requeue(j)
    if d.core.ready_count:
        d._wake_workers()


def timed_out(d: Dispatcher, i: int, token: int, err: TaskError) -> None:
    """The watchdog's report: settle the task and give its lane a fresh thread."""
    w = d.stream.where[i]
    d.abandoned.add(d.owner[w])
    # its locks stay held until its thread really returns (run_special releases them then)
    settle(d, i, w, rs.TIMED_OUT, err)
    with d.lock:
        if not d.finished and not d.stopping:
            d._replacement_locked(w).start()


def async_outcome(
    d: Dispatcher, i: int, value: Any, exc: BaseException | None, timed_out: bool
) -> None:
    """An ``async def`` task ended on the event loop thread."""
    lane = d.special.loop_lane if d.special is not None else 0
    release_resources(d, i)
    if exc is None:
        passed(d, i, lane, value, clock())
    elif timed_out:
        timeout = d.special.timeouts[i] if d.special is not None else None
        settle(
            d,
            i,
            lane,
            rs.TIMED_OUT,
            TaskError("TimeoutError", f"timed out after {timeout:g}s; the coroutine was cancelled"),
        )
    else:
        failed(d, i, lane, exc)


def plan_special(
    n: int,
    timeouts: Sequence[float | None],
    locks: Sequence[tuple[str, ...]],
    is_async: Sequence[bool],
    limits: dict[str, int],
    loop_lane: int,
) -> Special | None:
    """The ``Special`` for a run, or None when every task is plain (the common case)."""
    flags = bytearray(n)
    for i in range(n):
        flags[i] = (
            (TIMED if timeouts[i] is not None else 0)
            | (LOCKS if locks[i] else 0)
            | (ASYNC if is_async[i] else 0)
        )
    if not any(flags):
        return None
    return Special(
        flags=flags,
        timeouts=list(timeouts),
        resources=Resources(locks, limits) if any(locks) else None,
        has_timeouts=any(f & TIMED and not f & ASYNC for f in flags),
        has_async=any(f & ASYNC for f in flags),
        loop_lane=loop_lane,
    )


__all__ = [
    "EXIT",
    "Special",
    "failed",
    "plan_special",
    "run_special",
    "settle",
    "stop",
    "task_error",
]
