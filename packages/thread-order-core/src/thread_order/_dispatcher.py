"""The dispatcher: runs a compiled graph on worker threads named ``thread_0 .. thread_{n-1}``.

There is no central loop that hands tasks out. A worker that finishes a task releases its
dependents and takes the next ready task itself, in one call into the ready-set core
(``complete``), under one lock. Workers are started lazily, only while there is more ready work
than running workers, and an idle worker sleeps on a condition until a release gives it work.
So a chain runs on one thread with no hand-off at all, and a wide graph keeps every worker busy.

Workers record what happens as tuples on the event stream. The thread that called ``start()``
only waits: for the run to end, for an interrupt, or (when someone listens) for entries to
deliver, in batches. A slow listener therefore never delays dispatch. The one exception is
opt-in: with ``gate_starts`` a task waits until its dispatch event was delivered, so that a
1.4.0 ``on_task_start`` callback really fires before the task runs.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from . import _events as ev
from . import _readyset as rs
from ._compiler import CompiledGraph
from ._records import TaskError

clock = time.perf_counter


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


class Dispatcher:
    """One run of one compiled graph. Create, ``run()`` once, read the stream."""

    def __init__(
        self,
        graph: CompiledGraph,
        calls: Sequence[Callable[[], Any]],
        fn_names: Sequence[str],
        *,
        workers: int,
        stream: ev.EventStream,
        skip_dependents: bool,
        results: dict[str, Any] | None,
        state_lock: Any,
        grace: float,
        gate_starts: bool,
        priority: Sequence[int] | None = None,
        max_failures: int = 0,
    ) -> None:
        self.core = graph.core
        self.names = graph.names
        self.calls = calls
        self.fn_names = fn_names
        self.workers = workers
        self.stream = stream
        self.results = results
        self.state_lock = state_lock
        self.grace = grace
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.wake = threading.Event()
        self.idle = 0
        self.spawned = 0
        self.stopping = False
        self.finished = False
        self.task_interrupt = False
        self.sched_waiting = False
        self.gates = [threading.Event() for _ in range(workers)] if gate_starts else None
        self.threads: list[threading.Thread] = []
        self.max_failures = max_failures
        self.failures = 0
        self.core.reset(skip_dependents, priority)

    # -- the thread that called start() -------------------------------------------------------

    def run(self) -> bool:
        """Run to the end; return True if the run was interrupted (Ctrl-C or a task's)."""
        core = self.core
        if core.remaining == 0:
            return False
        with self.lock:
            first = min(self.workers, max(1, core.ready_count))
            for _ in range(first):
                self._spawn_locked()
        interrupted = False
        try:
            self._wait()
        except KeyboardInterrupt:
            interrupted = True
        if interrupted or self.task_interrupt:
            self._cancel()
            interrupted = True
        self.stream.deliver()
        if not interrupted:
            for t in self.threads:
                t.join()
        return interrupted

    def _wait(self) -> None:
        stream = self.stream
        while not self.finished and not self.task_interrupt:
            if stream.live:
                self.sched_waiting = True
                if not stream.pending():
                    self.wake.wait()
                self.sched_waiting = False
                self.wake.clear()
                self._open_gates(stream.deliver())
            else:
                self.wake.wait()
                self.wake.clear()

    def _open_gates(self, raw: Sequence[ev.Entry]) -> None:
        if self.gates is None:
            return
        for e in raw:
            if e[0] == ev.DISPATCHED:
                self.gates[e[2]].set()

    def _cancel(self) -> None:
        """Stop starting tasks, give running ones ``grace`` seconds, cancel the rest."""
        core, append = self.core, self.stream.entries.append
        with self.lock:
            self.stopping = True
            t = clock()
            for i in core.cancel():
                append((ev.CANCELLED, i, t, "run cancelled"))
            self.cond.notify_all()
        if self.gates is not None:
            for g in self.gates:
                g.set()
        deadline = clock() + self.grace
        try:
            while core.remaining and (left := deadline - clock()) > 0:
                self.wake.wait(left)
                self.wake.clear()
                self.stream.deliver()
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting at once
        with self.lock:
            running = [i for i, s in enumerate(core.states()) if s == rs.RUNNING]
            if running:
                where = self._workers_of(running)
                t = clock()
                err = TaskError("Cancelled", "still running when the run was cancelled")
                for i in running:
                    core.finish(i, rs.CANCELLED)
                    append((ev.ENDED, i, where[i], t, rs.CANCELLED, err))

    def _workers_of(self, ids: Sequence[int]) -> dict[int, int]:
        want = set(ids)
        where: dict[int, int] = {}
        for e in self.stream.entries:
            if e[0] in (ev.STARTED, ev.DISPATCHED, ev.RUNNING) and e[1] in want:
                where[e[1]] = e[2]
        return where

    # -- workers ------------------------------------------------------------------------------

    def _spawn_locked(self) -> None:
        w = self.spawned
        self.spawned += 1
        t = threading.Thread(target=self._worker, args=(w,), name=f"thread_{w}", daemon=True)
        self.threads.append(t)
        t.start()

    def _done_locked(self) -> None:
        """The last task settled: release idle workers and the waiting thread."""
        self.finished = True
        self.cond.notify_all()
        self.wake.set()

    def _poke(self) -> None:
        self.sched_waiting = False
        self.wake.set()

    def _release_locked(self) -> None:
        """Wake idle workers (or start new ones) for the tasks now ready."""
        ready = self.core.ready_count
        if ready:
            if self.idle:
                self.cond.notify(min(ready, self.idle))
            elif self.spawned < self.workers:
                self._spawn_locked()

    def _worker(self, w: int) -> None:
        core, lock, cond = self.core, self.lock, self.cond
        calls, names = self.calls, self.names
        append = self.stream.entries.append
        values = self.stream.values
        results, state_lock = self.results, self.state_lock
        gate = self.gates[w] if self.gates is not None else None
        i = -1
        while True:
            if i < 0:
                with lock:
                    while True:
                        if self.stopping or self.finished:
                            return
                        i = core.pop()
                        if i >= 0:
                            break
                        self.idle += 1
                        cond.wait()
                        self.idle -= 1
            if gate is None:
                append((ev.STARTED, i, w, clock()))
            else:
                append((ev.DISPATCHED, i, w, clock()))
                self._poke()
                gate.wait()
                gate.clear()
                if self.stopping:
                    i = self._settle(i, w, rs.CANCELLED, None)
                    continue
                append((ev.RUNNING, i, w, clock()))
            if self.sched_waiting:
                self._poke()
            try:
                value = calls[i]()
            except BaseException as exc:  # a task's failure, whatever it raised
                i = self._failed(i, w, exc)
                continue
            t = clock()
            if results is not None:
                with state_lock:
                    results[names[i]] = value
            values[i] = value
            with lock:
                if self.stopping:
                    if core.status(i) == rs.RUNNING:
                        core.finish(i, rs.PASSED)
                        append((ev.PASSED, i, w, t))
                        if not core.remaining:
                            self._done_locked()
                    return
                append((ev.PASSED, i, w, t))
                i = core.complete(i)
                skipped = core.take_skipped()
                if skipped:
                    self._record_skips(skipped, t)
                if core.ready_count:
                    self._release_locked()
                if i < 0 and not core.remaining:
                    self._done_locked()
            if self.sched_waiting:
                self._poke()

    def _count_failure_locked(self, t: float) -> None:
        """Count a failure; at ``max_failures`` start nothing new and mark the rest not run."""
        self.failures += 1
        if self.failures < self.max_failures or self.stopping:
            return
        self.stopping = True
        reason = f"not run: stopped after {self.failures} failure(s)"
        append = self.stream.entries.append
        for i in self.core.cancel():
            append((ev.CANCELLED, i, t, reason))
        self.cond.notify_all()

    def _record_skips(self, skipped: Sequence[int], t: float) -> None:
        append = self.stream.entries.append
        for k in range(0, len(skipped), 2):
            append((ev.SKIPPED, skipped[k], skipped[k + 1], t))

    def _failed(self, i: int, w: int, exc: BaseException) -> int:
        """Record a task that raised; return the next task for this worker (or -1)."""
        t = clock()
        err = task_error(exc)
        code = rs.FAILED
        if isinstance(exc, KeyboardInterrupt):
            code = rs.CANCELLED
            self.task_interrupt = True
        log = logging.getLogger(threading.current_thread().name)
        if log.isEnabledFor(logging.ERROR):
            log.error("%s: %s: %s", self.fn_names[i], err.type, err.message)
        nxt = self._settle(i, w, code, err, t)
        if self.task_interrupt:
            self._poke()
        return nxt

    def _settle(
        self, i: int, w: int, code: int, err: TaskError | None, t: float | None = None
    ) -> int:
        """Give running task ``i`` a terminal ``code``; return the next task or -1."""
        core = self.core
        when = clock() if t is None else t
        with self.lock:
            if core.status(i) != rs.RUNNING:
                return -1  # already settled by a cancellation
            self.stream.entries.append((ev.ENDED, i, w, when, code, err))
            core.finish(i, code)
            skipped = core.take_skipped()
            if skipped:
                self._record_skips(skipped, when)
            if code != rs.CANCELLED and self.max_failures:
                self._count_failure_locked(when)
            if not core.remaining:
                self._done_locked()
                return -1
            if self.stopping or self.task_interrupt:
                self.stopping = True
                return -1
            nxt = core.pop()
            if core.ready_count:
                self._release_locked()
        if self.sched_waiting:
            self._poke()
        return nxt
