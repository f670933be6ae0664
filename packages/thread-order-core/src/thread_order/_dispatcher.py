"""The dispatcher: runs a compiled graph on worker threads named ``thread_0 .. thread_{n-1}``.

There is no central loop that hands tasks out. A worker that finishes a task releases its
dependents and takes the next ready task itself, in one call into the ready-set core
(``complete``), which is thread-safe on its own (atomic under the GIL when compiled, internally
locked in pure Python), so the common path takes no dispatcher lock at all. Workers are
started lazily, only while there is more ready work than running workers. An idle worker parks
on a lock of its own; a worker that releases more tasks than it can run unparks one parked
worker per surplus ready task (counting the ones already woken and not yet looking), and each
woken worker takes the best ready task itself when it gets to run. Tasks are not reserved for a
worker that has yet to be scheduled, so a busy worker never runs dry while ready tasks wait for
threads that are still waking up.
So a chain runs on one thread with no hand-off at all, and a wide graph keeps every worker busy.
Near the end, a worker that finds nothing ready while more workers are alive than tasks are left
ends at once (the others can run all that is left together), so the run's end does not wait for
idle threads to be released and joined; a task added later gets the lane back.

Workers record what happens as tuples on the event stream. The thread that called ``start()``
only waits: for the run to end, for an interrupt, or (when someone listens) for entries to
deliver, in batches. A slow listener therefore never delays dispatch. The one exception is
opt-in: with ``gate_starts`` a task waits until its dispatch event was delivered, so that a
1.4.0 ``on_task_start`` callback really fires before the task runs.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from . import _events as ev
from . import _outcomes as oc
from . import _readyset as rs
from ._compiler import CompiledGraph
from ._outcomes import EXIT, Special
from ._outcomes import task_error as task_error
from ._records import TaskError
from ._watchdog import Watchdog

if TYPE_CHECKING:
    from ._growth import GrowthPlan

clock = time.perf_counter

#: Seconds a delivery to listeners waits, once entries are pending, for more to gather (unless
#: a task waits at a start gate, or the run ends). Each delivery wakes the thread that called
#: ``start()``, which then competes for the GIL with the workers; W3 at width 64 with an
#: ``on_task_done`` callback: makespan over the bound 1.21 delivering at once, 1.17 with 5 ms
#: (1.16 with no listener).
GATHER = 0.005

#: The lane (thread name) of a run's event loop, where ``async def`` tasks run.
LOOP_THREAD = "event_loop"

#: The task a coroutine belongs to, for ``current_task()`` on the event loop thread.
CURRENT_COROUTINE_TASK: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "thread_order_task", default=None
)

# Worker threads of the runs in progress: thread ident -> (dispatcher, worker index).
_WORKERS: dict[int, tuple[Dispatcher, int]] = {}
# Event loop threads of the runs in progress: thread ident -> dispatcher.
_LOOPS: dict[int, Dispatcher] = {}


class Signal:
    """A wake-up call for one waiting thread: ``set()`` from any thread; ``wait()`` returns
    once it is set (or on timeout) and takes it, so the next ``wait()`` waits again.

    One lock, held while not set. ``threading.Event`` costs a condition, a waiter lock per
    wait and several Python-level steps per ``set()`` under the GIL; this is one C call each,
    which counts where a signal is sent per task (start gates, deliveries to listeners).
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        try:  # noqa: SIM105 - contextlib.suppress costs a context manager per call
            self._lock.release()
        except RuntimeError:
            pass  # set already: one wake-up stands for any number of calls

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is None:
            return self._lock.acquire()
        return self._lock.acquire(timeout=max(timeout, 0.0))

    def clear(self) -> None:
        self._lock.acquire(False)


class FunctionNames(Sequence[str]):
    """Each task's function name (for log lines), read off the functions when needed rather
    than kept as a list per run (``fns`` and ``names`` in task id order); tasks added during
    the run ``append`` theirs."""

    def __init__(self, fns: Sequence[Any], names: Sequence[str]) -> None:
        self._fns = fns
        self._names = names
        self._added: list[str] = []

    def __len__(self) -> int:
        return len(self._fns) + len(self._added)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = len(self._fns)
        if i < n:
            return str(getattr(self._fns[i], "__name__", self._names[i]))
        return self._added[i - n]

    def append(self, name: str) -> None:
        self._added.append(name)

    def __delitem__(self, i: slice) -> None:
        start = i.start or 0
        del self._added[max(start - len(self._fns), 0) :]


def current_task() -> str | None:
    """The name of the task running on the calling thread (or coroutine), None outside one.

    Log handlers use it to file records under the task that emitted them; a task can use it
    to learn its own name (parametrized and generated tasks).
    """
    coroutine_task = CURRENT_COROUTINE_TASK.get()
    if coroutine_task is not None:
        return coroutine_task
    found = _WORKERS.get(threading.get_ident())
    if found is None:
        return None
    dispatcher, w = found
    i = dispatcher.current[w]
    return dispatcher.names[i] if i >= 0 else None


def current_run() -> tuple[Dispatcher, int] | None:
    """The run and task id of the task running on the calling thread (or coroutine)."""
    coroutine_task = CURRENT_COROUTINE_TASK.get()
    ident = threading.get_ident()
    if coroutine_task is not None:
        loop_of = _LOOPS.get(ident)
        if loop_of is None or loop_of.growth is None:
            return None
        loop_of.growth.begin()
        return loop_of, loop_of.growth.own_index.get(coroutine_task, -1)
    found = _WORKERS.get(ident)
    if found is None:
        return None
    dispatcher, w = found
    return dispatcher, dispatcher.current[w]


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
        special: Special | None = None,
        deadline: float | None = None,
        growth: GrowthPlan | None = None,
    ) -> None:
        self.graph = graph
        self.core = graph.core
        self.names = graph.names
        # lists, so tasks added during the run (``_growth``) extend them in place
        self.calls = calls if isinstance(calls, list) else list(calls)
        self.fn_names = fn_names if isinstance(fn_names, (list, FunctionNames)) else list(fn_names)
        self.workers = workers
        self.stream = stream
        self.results = results
        self.state_lock = state_lock
        self.grace = grace
        self.lock = threading.Lock()
        # Parked workers: ids on ``parked``, each blocked on its own lock in ``parks``; ``look``
        # says why a worker was unparked (True: take a ready task, False: exit). ``waking``
        # counts workers unparked or started that have not looked at the queue yet.
        self.parked: list[int] = []
        self.parks = [threading.Lock() for _ in range(workers)]
        for park in self.parks:
            park.acquire()  # held while its worker is not parked: acquiring it again parks
        self.look = [False] * workers
        self.waking = 0
        self.current = [-1] * workers  # the task each worker runs (or last ran), -1 if none
        self.wake = Signal()
        # Lanes without a worker, lowest first: a worker whose lane can no longer be needed
        # exits before the run ends and gives its lane back, to be reused if needed.
        self.free = list(range(workers - 1, -1, -1))
        self.stopping = False  # start no task at all
        self.stopped = False  # the run was stopped (cleanups owed in ``keep`` may still run)
        self.keep: bytes | None = None
        self.finished = False
        self.cancel_requested = False
        self.sched_waiting = False
        self.gates = [Signal() for _ in range(workers)] if gate_starts else None
        # True while a worker is parked or more workers may start: only then does a release
        # need the lock to hand work out. Kept current under ``lock``.
        self.slack = True
        # Serialises the rare non-pass settlements (finish + take_skipped + their entries).
        self.settle_lock = threading.Lock()
        self.has_rules = graph.has_rules
        self.threads: list[threading.Thread] = []
        self.max_failures = max_failures
        self.failures = 0
        self.deadline = deadline
        self.special = special
        # Per task, which need the slow path (``oc.run_special``); grows with the graph.
        self.flags = special.flags if special is not None else bytearray(len(self.names))
        self.growth = growth  # how tasks added during the run are built (``_growth``)
        self.owner = [0] * workers  # thread ident currently serving each lane
        self.abandoned: set[int | None] = set()  # threads whose task timed out
        self.watchdog: Watchdog | None = None
        self.loop: Any = None  # an AsyncRunner when some task is a coroutine
        self.ensure_helpers()
        self.core.reset(skip_dependents, priority)
        skipped = self.core.take_skipped()  # e.g. an on-failure task with no dependency
        if skipped:
            oc.record_skips(self, skipped, clock())

    def ensure_helpers(self) -> None:
        """Start the watchdog and the event loop thread if some task needs them."""
        special = self.special
        if special is None:
            return
        if special.has_timeouts and self.watchdog is None:
            self.watchdog = Watchdog(lambda i, token, err: oc.timed_out(self, i, token, err))
        if special.has_async and self.loop is None:
            from ._asyncloop import AsyncRunner  # asyncio only for runs that need it

            self.loop = AsyncRunner(
                lambda i, v, exc, late: oc.async_outcome(self, i, v, exc, late), self.names
            )
            _LOOPS[self.loop.thread.ident] = self

    # -- tasks added during the run (``_growth``) ---------------------------------------------

    def grow_special(
        self,
        timeout: float | None,
        locks: tuple[str, ...],
        is_async: bool,
        limits: Mapping[str, int],
        loop_lane: int,
    ) -> None:
        """The slow-path plan of one more task; starts the helpers it needs."""
        flag = (oc.TIMED if timeout is not None else 0) | (oc.LOCKS if locks else 0)
        flag |= oc.ASYNC if is_async else 0
        if flag and self.special is None:
            self.special = Special(
                flags=self.flags,
                timeouts=[None] * len(self.flags),
                resources=None,
                has_timeouts=False,
                has_async=False,
                loop_lane=loop_lane,
            )
        if self.special is not None:
            self.special.add(timeout, locks, is_async, limits)
        self.flags.append(flag)
        if flag:
            self.ensure_helpers()

    def shrink_special(self, n: int) -> None:
        del self.flags[n:]
        if self.special is not None:
            self.special.truncate(n)

    # -- the thread that called start() -------------------------------------------------------

    def run(self) -> bool:
        """Run to the end; return True if the run was interrupted (Ctrl-C or a task's)."""
        core = self.core
        if core.remaining == 0:
            return False
        with self.lock:
            lanes = [
                self._claim_locked() for _ in range(min(self.workers, max(1, core.ready_count)))
            ]
        # Outside the lock (``Thread.start()`` waits for the thread to run: under it, no worker
        # could take its first task before the last was up), each thread built just before it
        # starts. This thread joins them itself, so the run cannot end and join one unstarted.
        for w in lanes:
            self._thread(w).start()
        interrupted = False
        try:
            self._wait()
        except KeyboardInterrupt:
            interrupted = True
        if interrupted or self.cancel_requested:
            self._cancel()
            interrupted = True
        growth = self.growth
        with growth.lock if growth is not None else contextlib.nullcontext(), self.lock:
            self.finished = True  # no task can be added from now on
            self._unpark_all_locked()  # parked workers exit; a stuck one exits when it returns
        # Skips that workers did not collect: an added on-failure task, released by a worker
        # whose run had no trigger rules when it started.
        skipped = core.take_skipped()
        if skipped:
            oc.record_skips(self, skipped, clock())
        if self.watchdog is not None:
            self.watchdog.close()
        if self.loop is not None:
            _LOOPS.pop(self.loop.thread.ident, None)
            self.loop.close()
        self.stream.deliver()
        if not interrupted:
            for t in self.threads:
                if t.ident not in self.abandoned:  # a timed-out task's thread is left alone
                    t.join()
        return interrupted

    def _wait(self) -> None:
        stream = self.stream
        end = None if self.deadline is None else clock() + self.deadline
        while not self.finished and not self.cancel_requested:
            left = None if end is None else end - clock()
            if left is not None and left <= 0:
                self._run_deadline()
                return
            if stream.live:
                self.sched_waiting = True
                if not stream.pending():
                    self.wake.wait(left)
                self.sched_waiting = False
                self.wake.clear()  # the wait above is skipped when entries are pending
                if self.gates is None:  # no task waits for a delivery: let a burst gather
                    self.wake.wait(GATHER if left is None else min(GATHER, left))
                self._open_gates(stream.deliver())
            else:
                self.wake.wait(left)  # takes the signal: nothing to clear

    def _run_deadline(self) -> None:
        """The run's deadline passed: nothing new starts, running tasks are TIMED_OUT."""
        reason = f"not run: the run deadline of {self.deadline:g}s passed"
        oc.stop(self, clock(), reason)
        self._abandon_running(
            TaskError(
                "TimeoutError",
                f"still running when the run deadline of "
                f"{self.deadline:g}s passed; its thread was left running",
            ),
            rs.TIMED_OUT,
        )

    def _open_gates(self, raw: Sequence[ev.Entry]) -> None:
        if self.gates is None:
            return
        for e in raw:
            if not isinstance(e, int) and e[0] == ev.DISPATCHED:
                self.gates[e[2]].set()

    def _cancel(self) -> None:
        """Ctrl-C: start nothing new but owed cleanups; running tasks get ``grace`` seconds,
        then cleanups run until done; a second Ctrl-C abandons everything at once."""
        core = self.core
        oc.stop(self, clock(), "run cancelled")
        if self.gates is not None:
            for g in self.gates:
                g.set()
        if self.loop is not None:
            self.loop.cancel_all()
        keep = self.keep
        deadline = clock() + self.grace
        cancelled = TaskError("Cancelled", "still running when the run was cancelled")
        try:
            while self._running_besides(keep) and (left := deadline - clock()) > 0:
                self._wait_a_little(left)
            self._abandon_running(cancelled, spare=keep)  # releases the owed cleanups
            while keep is not None and core.remaining:
                self._wait_a_little(None)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting at once
        self.stopping = True
        self._abandon_running(cancelled)

    def _running_besides(self, keep: bytes | None) -> bool:
        return any(
            s == rs.RUNNING and not (keep and keep[i]) for i, s in enumerate(self.core.states())
        )

    def _wait_a_little(self, seconds: float | None) -> None:
        self.wake.wait(seconds if seconds is not None else 0.05)
        self.stream.deliver()

    def _abandon_running(
        self, err: TaskError, code: int = rs.CANCELLED, spare: bytes | None = None
    ) -> None:
        """Settle every task still running (but those in ``spare``) with ``code``; their
        threads are left alone."""
        core, append = self.core, self.stream.entries.append
        with self.settle_lock:
            running = [
                i
                for i, s in enumerate(core.states())
                if s == rs.RUNNING and not (spare and spare[i])
            ]
            t = clock()
            for i in running:
                self.stream.ends[i] = t
                append((ev.ENDED, i, code, err))
                core.finish(i, code)
            # a task that passed meanwhile may have queued dependents: cancel them too
            for i in core.cancel(spare):
                append((ev.CANCELLED, i, clock(), "run cancelled"))
        if spare is not None and core.ready_count:
            self._wake_workers()  # the cleanups those tasks were holding up

    # -- workers ------------------------------------------------------------------------------

    def _spawn_locked(self) -> threading.Thread:
        """Count in a new worker and return its thread, for the caller to start while still
        holding ``lock``, so that the run cannot end and join it before it started."""
        return self._thread(self._claim_locked())

    def _claim_locked(self) -> int:
        """Take a free lane for a new worker, counted in ``waking`` until its first look at
        the queue."""
        w = self.free.pop()
        self.waking += 1
        self.slack = bool(self.parked or self.free)
        return w

    @property
    def alive(self) -> int:
        """Workers started and not exited."""
        return self.workers - len(self.free)

    def _replacement_locked(self, w: int) -> threading.Thread:
        """A new thread for lane ``w``, whose thread was left to a timed-out task; the caller
        starts it while still holding ``lock``."""
        self.waking += 1
        return self._thread(w)

    def _thread(self, w: int) -> threading.Thread:
        """A new thread serving lane ``w`` (its ``waking`` count is the caller's business),
        listed for ``run()`` to join."""
        t = threading.Thread(target=self._worker, args=(w,), name=f"thread_{w}", daemon=True)
        self.threads.append(t)
        return t

    def _unpark_all_locked(self) -> None:
        while self.parked:
            w = self.parked.pop()
            self.look[w] = False
            self.parks[w].release()

    def _done_locked(self) -> None:
        """The last task settled: release parked workers and the waiting thread."""
        self.finished = True
        self._unpark_all_locked()
        self.wake.set()

    def request_cancel(self) -> None:
        """Cancel the run from any thread, with the same effect as Ctrl-C."""
        self.cancel_requested = True
        self.stopping = True
        self.wake.set()

    def halted(self) -> bool:
        return self.stopping

    def _poke(self) -> None:
        self.sched_waiting = False
        self.wake.set()

    def _wake_workers(self) -> None:
        """Unpark (or start) one worker per ready task that no woken worker will take yet,
        and unpark the workers that the tasks left can no longer use, so that they end."""
        with self.lock:
            if not self.stopping:
                self._wake_locked()

    def _wake_locked(self) -> None:
        core = self.core
        surplus = core.ready_count - self.waking
        # A woken worker takes a ready task if there is one, else ends if it is not needed.
        wake = max(surplus, self.alive - core.remaining - self.waking)
        while wake > 0 and self.parked:
            w = self.parked.pop()
            self.look[w] = True
            self.waking += 1
            wake -= 1
            surplus -= 1
            self.parks[w].release()
        while surplus > 0 and self.free:
            self._spawn_locked().start()
            surplus -= 1
        self.slack = bool(self.parked or self.free)

    def _next_or_idle(self, w: int, woken: bool = False) -> int:
        """Slow path: find a task or park until there may be one; -1 when the worker is done.

        ``woken`` says the worker was unparked or started to look (it is counted in
        ``waking`` until it does). The worker is listed as parked before its last look at the
        queue, and releasers check for parked workers after queueing, so no release can slip by
        unnoticed.
        """
        core = self.core
        while True:
            with self.lock:
                if woken:
                    self.waking -= 1
                if not core.remaining:
                    if not self.finished:
                        self._done_locked()
                    return -1
                if self.stopping or self.finished:
                    return -1
                self.parked.append(w)
                self.slack = True
                i = core.pop()
                if i >= 0:
                    self.parked.remove(w)
                    self.slack = bool(self.parked or self.free)
                    return i
                if self.alive > core.remaining:
                    # More workers than tasks left: however the rest unfolds, the others can
                    # run it all at once, so this worker ends now rather than wait to be
                    # released with the others when the run ends (joining them all kept a
                    # 64-worker run's end waiting ~4 ms). Parked workers beyond the need are
                    # woken to do the same. A task added during the run gets a lane back.
                    self.parked.remove(w)
                    self.free.append(w)
                    self._wake_locked()
                    return -1
            self.parks[w].acquire()
            if not self.look[w]:
                return -1
            woken = True

    def _worker(self, w: int) -> None:
        me = threading.get_ident()
        _WORKERS[me] = (self, w)
        self.owner[w] = me
        try:
            self._work(w)
        finally:
            if self.owner[w] == me:
                self.current[w] = -1
            _WORKERS.pop(me, None)

    def _work(self, w: int) -> None:
        stream = self.stream
        core, calls, names = self.core, self.calls, self.names
        complete, complete_store = core.complete, core.complete_store
        append = stream.entries.append
        values, starts, ends, where = stream.values, stream.starts, stream.ends, stream.where
        results, state_lock = self.results, self.state_lock
        gate = self.gates[w] if self.gates is not None else None
        has_rules, record_starts = self.has_rules, stream.wants_starts
        current = self.current
        special = self.flags
        i = self._next_or_idle(w, woken=True)  # every worker thread is started counted as waking
        t = clock()
        while i >= 0:
            # A task run straight after another on this worker starts at the clock reading
            # that ended the previous one: one clock call per task on the hot path.
            if self.stopping:
                oc.settle(self, i, w, rs.CANCELLED, None)
                i = self._next_or_idle(w)
                t = clock()
                continue
            if special[i]:
                i = oc.run_special(self, i, w)
                if i == EXIT:
                    return  # this thread was replaced after its task timed out
                t = clock()
                continue
            where[i] = w
            current[w] = i
            if gate is not None:
                append((ev.DISPATCHED, i, w, t))
                self._poke()
                gate.wait()
                if self.halted():  # stopped while this task waited at its gate
                    oc.settle(self, i, w, rs.CANCELLED, None)
                    i = self._next_or_idle(w)
                    t = clock()
                    continue
                t = clock()
                starts[i] = t
                append((ev.RUNNING, i))
            else:
                starts[i] = t
                if record_starts:
                    append((ev.STARTED, i))
            if self.sched_waiting:
                self._poke()
            try:
                value = calls[i]()
            except BaseException as exc:  # a task's failure, whatever it raised
                oc.failed(self, i, w, exc)
                i = self._next_or_idle(w)
                t = clock()
                continue
            t = clock()
            values[i] = value
            ends[i] = t
            append(i)
            if results is None:
                i = complete(i)
            else:
                done = i
                i = complete_store(done, results, names[done], value, state_lock)
                if i == -2:  # the state lock is held elsewhere: wait for it here
                    with state_lock:
                        results[names[done]] = value
                    i = complete(done)
            if has_rules:
                skipped = core.take_skipped()
                if skipped:
                    oc.record_skips(self, skipped, t)
            if self.slack and (core.ready_count or (self.parked and core.remaining < self.alive)):
                self._wake_workers()
            if self.sched_waiting:
                self._poke()
            if i < 0:
                i = self._next_or_idle(w)
                t = clock()
