"""The ready-mode driver: runs a compiled graph on a ``Backend`` that executes tasks elsewhere.

It is the thread ``Dispatcher`` with its workers replaced by one loop on the thread that
called ``start()``: pop ready tasks from the ready-set core, submit them (at most as many as
the backend has slots, so a submitted task is a started one), and settle each outcome through
the very functions the thread workers use (``_outcomes.passed``/``settle``/``stop``). Skips,
trigger rules, fail-fast, the run deadline, limits, Ctrl-C and every event are therefore the
thread backend's own; only where a task runs differs.

State flows along edges (``_edgestate``): a task that takes the state gets its ancestors'
outcomes as handles, and two parallel writers of a key it would read are refused here.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from . import _events as ev
from . import _outcomes as oc
from . import _readyset as rs
from ._compiler import CompiledGraph, Task
from ._dispatcher import CURRENT_COROUTINE_TASK, Dispatcher
from ._edgestate import StateError, conflict_message, pack_state
from ._records import NOT_YET, TaskError
from ._remote_task import Outcome, RemoteSpec
from ._resources import Resources
from .backends import Backend, BackendError

clock = time.perf_counter

#: Reruns allowed for an ``idempotent`` task whose worker was lost.
RERUNS = 2
#: Tasks in flight: ``WINDOW x slots + WINDOW_EXTRA``. A backend's round trip is milliseconds,
#: so a window of only ``slots`` tasks leaves workers idle while outcomes travel back (measured
#: on a 2-process LocalCluster: 15 ms of overhead per task with 2 in flight, 4 ms with 32).
#: Tasks beyond the slots wait in the backend's queue, in the order they were submitted.
WINDOW = 2
WINDOW_EXTRA = 32
_run_ids = itertools.count()


class RemoteDispatcher(Dispatcher):
    """One run of one compiled graph on a remote backend. Create, ``run()`` once."""

    def __init__(
        self,
        graph: CompiledGraph,
        tasks: Sequence[Task],
        *,
        backend: Backend,
        state: dict[str, Any],
        task_timeout: float | None,
        limits: dict[str, int],
        **options: Any,
    ) -> None:
        super().__init__(
            graph,
            (),
            [getattr(t.fn, "__name__", t.name) for t in tasks],
            workers=1,
            gate_starts=False,
            special=None,
            **options,
        )
        self.tasks = tasks
        self.backend = backend
        try:
            shipped = pack_state(state)
        except StateError as exc:
            raise BackendError(str(exc)) from None
        self.slots = backend.open(_modules_of(tasks), shipped)
        self.window = WINDOW * self.slots + WINDOW_EXTRA
        self.driver_state = state
        self.run_key = f"td-{uuid.uuid4().hex[:8]}-{next(_run_ids)}"
        self.handles: dict[int, Any] = {}
        # What a task's dependents get of its outcome: passed by value, never as a handle to the
        # cluster's copy, which Dask would recompute (run again) if its worker died.
        self.shipped: dict[int, Outcome] = {}
        self.inflight: set[int] = set()
        self.early: set[int] = set()  # teardowns submitted before they were ready
        self.held: dict[int, Outcome] = {}  # outcomes of early teardowns not yet popped
        self.reruns: dict[int, int] = {}
        self.writes: dict[int, frozenset[str]] = {}
        self._ancestors: dict[int, frozenset[int]] = {}
        self.topo = {i: k for k, i in enumerate(self.core.topo_order())}
        self.lanes: dict[str, int] = {}
        self.offset = clock() - time.time()  # worker epoch seconds -> this process's clock
        assert isinstance(self.stream.threads, list)  # the scheduler gives remote runs a list
        self.lanes_list: list[str] = self.stream.threads
        # Until its outcome names the worker thread, a task in flight is shown on a lane of its
        # own, ``dask#k`` (one per place in the window).
        self.free_lanes: list[int] = []
        self.in_lane: dict[int, int] = {}
        locks = [t.options.locks for t in tasks]
        self.resources = Resources(locks, limits) if any(locks) else None
        self.specs = [self._spec(t, i, task_timeout, limits) for i, t in enumerate(tasks)]

    def _spec(self, t: Task, i: int, task_timeout: float | None, limits: dict[str, int]) -> bytes:
        import cloudpickle

        module = getattr(t.fn, "__module__", None)
        if module and module.startswith("_thread_order_suite_"):
            # loaded from a path under a made-up name: the workers cannot import it by name
            import sys

            cloudpickle.register_pickle_by_value(sys.modules[module])
        spec = RemoteSpec(
            t.name,
            t.fn,
            t.with_state,
            t.options,
            t.param,
            tuple(self.names[d] for d in self.graph.dependencies(i)),
            t.options.timeout or task_timeout,
            tuple((name, limits.get(name, 1)) for name in sorted(t.options.locks)),
        )
        try:
            return bytes(cloudpickle.dumps(spec))
        except Exception as exc:
            raise BackendError(
                f"task {t.name!r} cannot be sent to the workers: {type(exc).__name__}: {exc}"
            ) from None

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> bool:
        """Run to the end; return True if the run was interrupted."""
        interrupted = False
        try:
            if self.core.remaining:
                self._loop()
        except KeyboardInterrupt:
            interrupted = True
        try:
            if interrupted or self.cancel_requested:
                self._cancel()
                interrupted = True
            self.finished = True
            self.backend.cancel(self.handles[i] for i in self.inflight if i not in self.early)
        finally:
            self.backend.end_run()
            self.stream.deliver()
        return interrupted

    def _loop(self) -> None:
        stream = self.stream
        end = None if self.deadline is None else clock() + self.deadline
        while not self.finished and not self.cancel_requested:
            self._submit_ready()
            if self.finished or not self.core.remaining:
                return
            left = None if end is None else end - clock()
            if left is not None and left <= 0:
                self._run_deadline()
                return
            wait = 0.05  # also how soon a cancel() from another thread is seen
            self._collect(wait if left is None else min(left, wait))
            stream.deliver()

    def _wait_a_little(self, seconds: float | None) -> None:
        """While a cancelled run winds down: take outcomes, start owed cleanups."""
        self._submit_ready()
        self._collect(seconds if seconds is not None else 0.05)
        self.stream.deliver()

    def _cancel(self) -> None:
        """Ctrl-C: tasks queued on the backend are dropped first; then as on threads."""
        self.backend.cancel(self.handles[i] for i in self.inflight if i not in self.early)
        super()._cancel()

    def _wake_workers(self) -> None:
        """Released tasks are submitted by the loop; nothing to wake."""

    # -- submitting -----------------------------------------------------------------------------

    def _submit_ready(self) -> None:
        core = self.core
        while not self.stopping and len(self.inflight) < self.window:
            i = core.pop()
            if i < 0:
                return
            locks = self.resources is not None and self.tasks[i].options.locks
            if locks and self.resources is not None and not self.resources.acquire(i):
                continue  # waits in the resource's line (RUNNING), like on threads
            self._start(i)

    def _start(self, i: int) -> None:
        stream = self.stream
        stream.starts[i] = clock()
        if self.free_lanes:
            lane = self.free_lanes.pop()
        else:
            lane = len(self.lanes_list)
            self.lanes_list.append(f"{self.backend.name}#{len(self.in_lane) + 1}")
        self.in_lane[i] = lane
        stream.where[i] = lane
        self.inflight.add(i)
        if stream.wants_starts:
            stream.entries.append((ev.STARTED, i))
        if i in self.early:
            held = self.held.pop(i, None)
            if held is not None:
                self._apply(i, held)
            return
        self._submit(i)

    def _submit(self, i: int, key_suffix: str = "") -> None:
        task = self.tasks[i]
        deps = self.graph.dependencies(i)
        ancestors = None
        if task.with_state or task.options.condition is not None:
            conflict = self._conflict(i)
            if conflict is not None:
                self.inflight.discard(i)
                oc.settle(self, i, -1, rs.FAILED, TaskError("StateError", conflict))
                return
            order = sorted(self._ancestors_of(i), key=self.topo.__getitem__)
            ancestors = [self._input(a) for a in order if a in self.handles]
        upstream = [self._input(d) if d in self.handles else self.core.status(d) for d in deps]
        self.handles[i] = self.backend.submit(
            i,
            f"{self.run_key}-{i}{key_suffix}",
            self.specs[i],
            upstream,
            ancestors,
            teardown=self.graph.has_rules and self.graph.rules[i] == rs.ALL_DONE,
        )
        if self.graph.has_rules:
            self._submit_teardowns_after(i)

    def _input(self, d: int) -> Any:
        """Task ``d``'s outcome for a dependent, or its handle when it has not ended yet (only
        for a teardown submitted early)."""
        shipped = self.shipped.get(d)
        return shipped if shipped is not None else self.handles[d]

    def _submit_teardowns_after(self, i: int) -> None:
        """An ``all_done`` task runs whatever its dependencies do: once all of them are
        submitted it is submitted too (fire-and-forget), so it runs even if this process dies."""
        rules, handles = self.graph.rules, self.handles
        for s in self.core.successors(i):
            if (
                rules[s] == rs.ALL_DONE
                and s not in handles
                and self.core.status(s) == rs.PENDING
                and not self.tasks[s].options.locks
                and all(d in handles for d in self.graph.dependencies(s))
            ):
                self.early.add(s)
                self._submit(s)

    def _ancestors_of(self, i: int) -> frozenset[int]:
        found = self._ancestors.get(i)
        if found is None:
            out: set[int] = set()
            for d in self.graph.dependencies(i):
                out.add(d)
                out |= self._ancestors_of(d)
            found = self._ancestors[i] = frozenset(out)
        return found

    def _conflict(self, i: int) -> str | None:
        """Two ancestors, neither an ancestor of the other, wrote a key this task would read."""
        by_key: dict[str, list[int]] = {}
        for a in self._ancestors_of(i):
            for key in self.writes.get(a, ()):
                by_key.setdefault(key, []).append(a)
        for key, writers in sorted(by_key.items()):
            if len(writers) < 2:
                continue
            writers.sort(key=self.topo.__getitem__)
            last = writers[-1]
            parallel = [w for w in writers[:-1] if w not in self._ancestors_of(last)]
            if parallel:
                names = [self.names[w] for w in (*parallel, last)]
                return conflict_message(self.names[i], key, names)
        return None

    # -- outcomes -------------------------------------------------------------------------------

    def _collect(self, timeout: float) -> None:
        for i, outcome in self.backend.poll(timeout):
            if i in self.early and self.core.status(i) != rs.RUNNING and i not in self.inflight:
                self.held[i] = outcome  # ran before its dependencies' outcomes were settled
                continue
            self._apply(i, outcome)

    def _apply(self, i: int, o: Outcome) -> None:
        o.name = self.names[i]  # an outcome made without the spec (load failure, lost worker)
        self.inflight.discard(i)
        lane = self.in_lane.pop(i, None)
        if lane is not None:
            self.free_lanes.append(lane)
        if o.code == rs.CANCELLED and not o.lane:  # dropped from the backend's queue
            self._not_started(i)
            return
        if o.lost and self.tasks[i].options.idempotent:
            reruns = self.reruns.get(i, 0)
            if reruns < RERUNS and self.core.status(i) == rs.RUNNING:
                self.reruns[i] = reruns + 1
                self.inflight.add(i)
                self._submit(i, f"-rerun{reruns + 1}")
                return
        if o.lane:
            w = self.lanes.get(o.lane)
            if w is None:
                w = self.lanes[o.lane] = len(self.lanes_list)
                self.lanes_list.append(o.lane)
        else:
            w = self.stream.where[i]
        t = clock()
        if o.end:  # the worker's times (same clock as ours up to the epoch offset)
            t = min(t, o.end + self.offset)
            self.stream.starts[i] = min(o.start + self.offset, t)
        if o.tried and self.stream.retried is not None:
            self.stream.retried[i].extend(o.tried)
        self.shipped[i] = Outcome(o.name, o.code, o.value, updates=o.updates)
        if o.updates:
            self.writes[i] = frozenset(o.updates)
            with self.state_lock:
                self.driver_state.update(o.updates)
        self._release(i)
        if o.logs:
            _replay(o.name, o.lane, o.logs)
        if o.code == rs.PASSED:
            oc.passed(self, i, w, o.value, t)
        elif o.code == rs.SKIPPED:  # its run_if predicate said no: no thread is recorded
            oc.settle(self, i, -1, rs.SKIPPED, o.error, t)
        else:
            oc.settle(self, i, w, o.code, o.error, t)

    def _not_started(self, i: int) -> None:
        """A task the backend never started, reported as the thread backend reports one."""
        stream = self.stream
        with self.settle_lock:
            if self.core.status(i) == rs.RUNNING:
                stream.starts[i] = NOT_YET
                stream.where[i] = -1
                stream.entries.append((ev.CANCELLED, i, clock(), "run cancelled"))
                self.core.finish(i, rs.CANCELLED)
        self._release(i)
        oc.after_release(self)

    def _release(self, i: int) -> None:
        if self.resources is None or not self.tasks[i].options.locks:
            return
        for j in self.resources.release(i):
            self.core.requeue(j)


def _replay(task: str, lane: str, records: Sequence[dict[str, Any]]) -> None:
    """A task's log records from its worker, re-emitted on this thread's logger as if the task
    ran here (``current_task()`` names it), so handlers file them under the task as on threads."""
    import logging
    import threading

    log = logging.getLogger(threading.current_thread().name)
    token = CURRENT_COROUTINE_TASK.set(task)
    try:
        for fields in records:
            record = logging.makeLogRecord({**fields, "threadName": lane})
            if log.isEnabledFor(record.levelno):
                log.handle(record)
    finally:
        CURRENT_COROUTINE_TASK.reset(token)


def _modules_of(tasks: Sequence[Task]) -> list[ModuleType]:
    """The modules the tasks' functions come from."""
    import inspect
    import sys

    out: dict[str, ModuleType] = {}
    for t in tasks:
        name = getattr(inspect.unwrap(t.fn), "__module__", None)
        module = sys.modules.get(name) if name else None
        if module is not None:
            out[module.__name__] = module
    return list(out.values())
