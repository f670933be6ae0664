"""``Scheduler``: the 1.4.0-compatible front door. Registration, callbacks, ``start()``/``run()``.

The scheduler owns the registry and the shared state; each run compiles the graph (cached), builds
an event stream, hands both to a ``Dispatcher`` and folds the stream into a ``RunResult``. The five
1.4.0 callbacks are listeners on that stream, delivered on the thread that called ``start()``.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from . import _events as ev
from ._calls import (
    RunContext,
    all_take_nothing,
    build_call,
    cached,
    function_facts,
    is_plain,
    takes_no_results,
    wraps_call,
)
from ._compiler import CompiledGraph, Registry, Task, make_tasks, normalize_names
from ._dispatcher import LOOP_THREAD, Dispatcher, FunctionNames, current_run
from ._growth import GrowthError, GrowthPlan, add_to
from ._logging import configure_logging, logger_for_current_thread
from ._options import TaskOptions
from ._outcomes import Special, plan_special
from ._records import Attempts, RunResult, TaskRecord, TaskStatus
from ._resources import check_limits
from .backends import ThreadBackend

if TYPE_CHECKING:
    from ._statecheck import StateIssue

F = TypeVar("F", bound=Callable[..., Any])

default_workers: int = min(8, os.cpu_count() or 1)

_CALLBACKS = ("scheduler_start", "task_start", "task_run", "task_done", "scheduler_done")


class RunInterrupted(KeyboardInterrupt):
    """Raised by ``start()``/``run()`` after a Ctrl-C (or a task's ``KeyboardInterrupt``).

    The run was wound down first: no new task started, running tasks got the grace period,
    everything unfinished is CANCELLED, and the callbacks fired. ``result`` and ``summary`` say
    what happened. It is a ``KeyboardInterrupt``, so code that does not catch it stops as usual.
    """

    def __init__(self, result: RunResult, summary: dict[str, Any]) -> None:
        super().__init__("run interrupted")
        self.result = result
        self.summary = summary


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return default_workers
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(f"workers must be an int, got {type(workers).__name__}")
    if workers <= 0:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return workers


class Scheduler:
    """Runs registered callables on worker threads while respecting their dependencies."""

    def __init__(
        self,
        workers: int | None = None,
        setup_logging: bool = False,
        add_stream_handler: bool = True,
        state: dict[str, Any] | None = None,
        store_results: bool = True,
        clear_results_on_start: bool = True,
        verbose: bool = False,
        skip_dependents: bool = False,
        add_file_handler: bool = True,
        highlights: Sequence[tuple[Any, str]] | None = None,
        *,
        cancel_grace: float = 5.0,
        task_timeout: float | None = None,
        limits: Mapping[str, int] | None = None,
        deadline: float | None = None,
        backend: Any = None,
        state_check: bool = False,
    ) -> None:
        if isinstance(backend, ThreadBackend):
            workers = workers if workers is not None else backend.workers
            backend = None
        elif backend is not None:
            _check_backend(backend)
        #: Where tasks run: None for this process's threads, else a ``backends.Backend``.
        self.backend = backend
        #: With ``state_check`` each run on threads records how tasks use the state, and
        #: ``state_issues`` lists what would not work on a distributed backend.
        self.state_check = bool(state_check)
        self.state_issues: list[StateIssue] = []
        self.workers = _check_workers(workers)
        if cancel_grace < 0:
            raise ValueError(f"cancel_grace must be >= 0, got {cancel_grace}")
        self.cancel_grace = cancel_grace
        # validated like a task's own timeout; it applies to tasks that set none
        self.task_timeout = TaskOptions.build("(default)", timeout=task_timeout).timeout
        self.limits = check_limits(limits)
        if deadline is not None and not deadline > 0:
            raise ValueError(f"deadline must be > 0 seconds, got {deadline!r}")
        self.deadline = deadline
        self.store_results = store_results
        self.clear_results_on_start = clear_results_on_start
        self.skip_dependents = skip_dependents
        self.verbose = verbose
        self.state: dict[str, Any] = state if state is not None else {}
        self.state.setdefault("_state_lock", threading.RLock())
        self.state_lock = self.state["_state_lock"]
        if store_results and "results" not in self.state:
            self.state["results"] = {}
        self._registry = Registry()
        self._callbacks: dict[str, tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = {}
        self._listeners: list[tuple[ev.Listener, frozenset[type] | None]] = []
        self._log_files: list[logging.Handler] = []
        self._active: Dispatcher | None = None
        self._plan_cache: tuple[Any, Any, list[Callable[[], Any] | None], Special | None] | None = (
            None
        )
        if setup_logging:
            self._log_files = configure_logging(
                self.workers,
                prefix="thread",
                add_stream_handler=add_stream_handler,
                highlights=highlights,
                verbose=verbose,
                add_file_handler=add_file_handler,
            )

    # -- registration -------------------------------------------------------------------------

    def register(
        self,
        obj: Callable[..., Any],
        name: str,
        after: str | Iterable[str] | None = None,
        with_state: bool = False,
        *,
        tags: str | Iterable[str] | None = None,
        params: Sequence[Any] | Mapping[str, Sequence[Any]] | None = None,
        **options: Any,
    ) -> None:
        """Register ``obj`` as task ``name``; ``after`` names may be registered later.

        ``options`` are those of ``TaskOptions.build``: ``timeout``, ``retries``,
        ``retry_delay``, ``backoff``, ``retry_on``, ``run_if``, ``locks``. ``params`` makes one
        task per value, named ``name[value]``.
        """
        if params is None and not options and tags is None:  # the common case, kept cheap
            self._registry.add_plain(name, obj, normalize_names(after, "after", name), with_state)
            return
        for task in make_tasks(obj, name, after, with_state, tags, params, options):
            self._registry.add(task)

    def add_task(
        self,
        obj: Callable[..., Any],
        name: str | None = None,
        after: str | Iterable[str] | None = None,
        with_state: bool = False,
        *,
        before: str | Iterable[str] | None = None,
        tags: str | Iterable[str] | None = None,
        params: Sequence[Any] | Mapping[str, Sequence[Any]] | None = None,
        **options: Any,
    ) -> list[str]:
        """Add a task to the run in progress (a dynamic task); return the names added.

        Takes ``register``'s arguments (``name`` defaults to the function's name) plus
        ``before``: tasks that have not started yet and must now wait for the new one. Call it
        from a task, or from any thread while ``start()``/``run()`` runs. The new task exists
        for this run only. See ``thread_order.add_task`` for the form that needs no scheduler.
        """
        active = self._active
        if active is None or getattr(active, "growth", None) is None:
            raise GrowthError(
                "no run in progress: add_task() adds to a running graph; "
                "use register() before start()"
            )
        found = current_run()
        parent = found[1] if found is not None and found[0] is active else -1
        return add_to(active, parent, obj, name, after, with_state, before, tags, params, options)

    def dregister(
        self, after: str | Iterable[str] | None = None, with_state: bool = False
    ) -> Callable[[F], F]:
        """Decorator form of ``register``: registers at decoration time under ``__name__``."""

        def decorator(function: F) -> F:
            @functools.wraps(function)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return function(*args, **kwargs)

            wrapper.__original__ = function  # type: ignore[attr-defined]
            self.register(wrapper, function.__name__, after=after, with_state=with_state)
            return wrapper  # type: ignore[return-value]

        return decorator

    @property
    def graph(self) -> Any:
        """A ``DAGraph`` view of the registered tasks (a fresh copy; runs do not consume it)."""
        from .graph import DAGraph

        graph = DAGraph()
        registry = self._registry
        for name, after in zip(registry.names, registry.afters, strict=True):
            graph.add(name, after)
        return graph

    @property
    def sanitized_state(self) -> dict[str, Any]:
        """A shallow copy of the state without ``_state_lock``, taken under the lock."""
        with self.state_lock:
            return {k: v for k, v in self.state.items() if k != "_state_lock"}

    def compile(self) -> CompiledGraph:
        """Validate the registered graph now (unknown names, cycles) and return it compiled."""
        return self._registry.compile()

    # -- callbacks and listeners --------------------------------------------------------------

    def on_scheduler_start(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._callbacks["scheduler_start"] = (fn, args, kwargs)

    def on_task_start(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """``fn(name)`` fires before the task runs (the task waits for the callback)."""
        self._callbacks["task_start"] = (fn, args, kwargs)

    def on_task_run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._callbacks["task_run"] = (fn, args, kwargs)

    def on_task_done(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._callbacks["task_done"] = (fn, args, kwargs)

    def on_scheduler_done(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._callbacks["scheduler_done"] = (fn, args, kwargs)

    def subscribe(self, listener: ev.Listener, kinds: Iterable[type] | None = None) -> None:
        """Receive every run's typed events, in batches, on the thread that calls ``start()``.

        ``kinds`` (event classes, e.g. ``[TaskFinished]``) limits what ``listener`` receives;
        events that no listener wants are not made at all (with no listener wanting
        ``TaskStarted`` or ``TaskDispatched``, workers do not even record the starts).
        """
        self._listeners.append((listener, ev.event_kinds(kinds)))

    def _fire(self, which: str, *event_args: Any) -> None:
        entry = self._callbacks.get(which)
        if entry is None:
            return
        fn, args, kwargs = entry
        try:
            fn(*event_args, *args, **kwargs)
        except Exception:
            logger_for_current_thread().debug(
                "on_%s callback raised; ignored", which, exc_info=True
            )

    def _callback_listener(self, workers: int) -> ev.Listener:
        """The 1.4.0 callbacks, as one listener on the event stream."""
        fire = self._fire

        def listener(events: Sequence[ev.Event]) -> None:
            for e in events:
                if isinstance(e, ev.TaskFinished):
                    fire("task_done", e.task, e.thread, e.status, e.count, _context(e))
                elif isinstance(e, ev.TaskStarted):
                    fire("task_run", e.task, e.thread)
                elif isinstance(e, ev.TaskDispatched):
                    fire("task_start", e.task)
                elif isinstance(e, ev.RunStarted):
                    meta = {"total_tasks": e.total, "workers": workers, "start_time": e.wall}
                    fire("scheduler_start", meta)

        return listener

    # -- running ------------------------------------------------------------------------------

    def iter_run(
        self, *, priority: Mapping[str, int] | None = None, max_failures: int = 0
    ) -> Generator[TaskRecord, None, RunResult]:
        """Run, yielding each task's record as it completes (skips and cancellations too).

        The run itself goes on in a background thread, so callbacks and listeners fire there.
        Leaving the loop early (``break``, an exception, Ctrl-C) cancels the rest of the run
        and waits for it to wind down. The ``RunResult`` is the generator's return value.
        """
        records: queue.SimpleQueue[TaskRecord | None] = queue.SimpleQueue()

        def forward(events: Sequence[ev.Event]) -> None:
            for e in events:
                if isinstance(e, ev.TaskFinished):
                    records.put(_record_of(e))

        outcome: list[RunResult | BaseException] = []

        def drive() -> None:
            try:
                outcome.append(self._execute(priority, max_failures, finished=forward))
            except BaseException as exc:  # handed to the consuming thread
                outcome.append(exc)
            finally:
                records.put(None)

        runner = threading.Thread(target=drive, name="thread_order_iter_run", daemon=True)
        runner.start()
        finished = False
        try:
            while (record := records.get()) is not None:
                yield record
            finished = True
        finally:
            if not finished:
                while runner.is_alive() and not self.cancel():
                    time.sleep(0.001)  # the run has not started its dispatcher yet
                runner.join()
        result = outcome[0]
        if isinstance(result, BaseException):
            if isinstance(result, RunInterrupted) and not finished:
                return result.result
            raise result
        return result

    def cancel(self) -> bool:
        """Cancel the run in progress from another thread, as Ctrl-C would.

        No new task starts, running tasks get ``cancel_grace`` seconds, the rest are CANCELLED,
        and ``start()``/``run()`` raise ``RunInterrupted`` in the thread running them. Returns
        False when no run is in progress.
        """
        active = self._active
        if active is None:
            return False
        active.request_cancel()
        return True

    def start(self) -> dict[str, Any]:
        """Run every registered task; return the 1.4.0 summary dict.

        Raises ``RunInterrupted`` (a ``KeyboardInterrupt``) after winding the run down when it
        was interrupted; its ``summary`` attribute holds the summary.
        """
        built: list[dict[str, Any]] = []
        result = self._execute(summary_sink=built)
        return built[0] if built else result.summary()  # the dict on_scheduler_done got

    def run(self, *, priority: Mapping[str, int] | None = None, max_failures: int = 0) -> RunResult:
        """Run every registered task; return the typed ``RunResult``.

        ``priority`` (task name -> int, higher first, missing names 0) replaces the default
        dispatch order, longest remaining chain first; ties still go by registration order.
        ``max_failures`` > 0 stops the run after that many failures: no new task starts,
        running tasks finish, the rest are reported CANCELLED as not run.
        """
        if max_failures < 0:
            raise ValueError(f"max_failures must be >= 0, got {max_failures}")
        return self._execute(priority, max_failures)

    def _plan(
        self, graph: CompiledGraph, registry: Registry
    ) -> tuple[list[Callable[[], Any] | None], Special | None]:
        """What does not change between runs of one compiled graph, computed once: the plain
        tasks' callables (None where a task needs ``build_call`` each run) and the slow-path
        plan (timeouts, locks, coroutines)."""
        kept = self._plan_cache
        if kept is not None and kept[0] is graph and kept[1] is self.state:
            return kept[2], kept[3]
        state, names, fallback = self.state, graph.names, self.task_timeout
        deps = graph.dependencies
        facts: dict[Any, tuple[frozenset[str] | None, bool]] = {}  # per function
        more = registry.more
        if (
            fallback is None
            and not more
            and not any(registry.with_state)
            and all_take_nothing(registry.fns, facts)
        ):  # the common suite: every task's callable is its function, read per function
            calls: list[Callable[[], Any] | None] = list(registry.fns)
            self._plan_cache = (graph, state, calls, None)
            return calls, None
        plain: list[Callable[[], Any] | None] = []
        slow = fallback is not None  # some task needs a timeout, a lock or the event loop
        for i, (fn, with_state) in enumerate(zip(registry.fns, registry.with_state, strict=True)):
            taken, coroutine = cached(facts, fn, function_facts)
            wrapped = False  # tags, options, parameters: most tasks have none
            if more and i in more:
                t = registry.task(i)
                wrapped = wraps_call(t)
                slow = slow or bool(t.options.timeout or t.options.locks)
            # a function without parameters needs no look at its dependencies
            ok = not wrapped and (
                (taken is not None and not taken) or takes_no_results(taken, deps(i), names)
            )
            slow = slow or coroutine
            if ok:
                plain.append(functools.partial(fn, state) if with_state else fn)
            else:
                plain.append(None)
        special = None
        if slow:
            options = registry.options()
            special = plan_special(
                len(options),
                [o.timeout or fallback for o in options],
                [o.locks for o in options],
                [cached(facts, fn, function_facts)[1] for fn in registry.fns],
                self.limits,
                self.workers,
            )
        self._plan_cache = (graph, state, plain, special)
        return plain, special

    def _call_maker(
        self, graph: CompiledGraph, context: RunContext
    ) -> Callable[[Task, int, list[int]], Callable[[], Any]]:
        """How a task added during a run becomes the callable a worker runs."""
        state = self.state

        def make_call(task: Task, i: int, deps: list[int]) -> Callable[[], Any]:
            if is_plain(task, deps, graph.names):
                return functools.partial(task.fn, state) if task.with_state else task.fn
            return build_call(task, i, deps, context)

        return make_call

    def _remote(
        self,
        graph: CompiledGraph,
        tasks: Sequence[Task],
        stream: ev.EventStream,
        results: dict[str, Any] | None,
        priority: Mapping[str, int] | None,
        max_failures: int,
    ) -> Dispatcher:
        """The ready-mode driver for a remote backend (it ships the suite and checks it)."""
        from ._remote import RemoteDispatcher

        driver = RemoteDispatcher(
            graph,
            tasks,
            backend=self.backend,
            state=self.state,
            task_timeout=self.task_timeout,
            limits=self.limits,
            stream=stream,
            skip_dependents=self.skip_dependents,
            results=results,
            state_lock=self.state_lock,
            grace=self.cancel_grace,
            priority=None if priority is None else [priority.get(t, 0) for t in graph.names],
            max_failures=max_failures,
            deadline=self.deadline,
        )
        driver.workers = driver.slots
        return driver

    def _execute(
        self,
        priority: Mapping[str, int] | None = None,
        max_failures: int = 0,
        finished: ev.Listener | None = None,  # receives TaskFinished events only
        summary_sink: list[dict[str, Any]] | None = None,
    ) -> RunResult:
        graph = self._registry.compile()
        tasks = self._registry.tasks
        n = len(tasks)
        if self.store_results and self.clear_results_on_start:
            with self.state_lock:
                self.state.setdefault("results", {}).clear()
        results = self.state.setdefault("results", {}) if self.store_results else None
        fn_names = FunctionNames(self._registry.fns, graph.names)
        workers = min(self.workers, n) if n else self.workers
        remote = self.backend is not None
        threads = [] if remote else [f"thread_{w}" for w in range(self.workers)] + [LOOP_THREAD]
        stream = ev.EventStream(graph.names, threads)
        attempts = Attempts()
        stream.retried = attempts
        context = RunContext(self.state, stream.values, graph.core.status, graph.names, attempts)
        plain, special = self._plan(graph, self._registry)
        checker = None
        if self.state_check and not remote:
            from ._statecheck import StateChecker

            checker = StateChecker(graph, tasks, self.state)
        if checker is not None:
            calls = checker.calls(context)  # the state-taking ones see a recording view
        elif None not in plain:
            # every task is a plain call: the plan's list serves as is (a run that adds tasks
            # extends it, but such a graph is compiled afresh, with a new plan, next time)
            calls = plain  # type: ignore[assignment]
        else:
            calls = [
                fixed
                if fixed is not None
                else build_call(tasks[i], i, graph.dependencies(i), context)
                for i, fixed in enumerate(plain)
            ]
        wanted = frozenset(kind for which, kind in _CALLBACK_EVENTS if which in self._callbacks)
        if wanted:
            stream.subscribe(self._callback_listener(self.workers), wanted)
        for listener, kinds in self._listeners:
            stream.subscribe(listener, kinds)
        if finished is not None:
            stream.subscribe(finished, _FINISHED)
        log = logger_for_current_thread()
        dispatcher: Dispatcher | None = None
        if remote:
            dispatcher = self._remote(graph, tasks, stream, results, priority, max_failures)
            workers = dispatcher.workers
        wall0, t0 = time.time(), time.perf_counter()
        stream.emit([ev.RunStarted(n, workers if remote else self.workers, t0, wall0)])
        if log.isEnabledFor(logging.INFO):
            log.info("starting thread pool with %d threads", workers)
        dispatcher = dispatcher or Dispatcher(
            graph,
            calls,
            fn_names,
            workers=self.workers,  # spawned lazily: more only if tasks are added
            stream=stream,
            skip_dependents=self.skip_dependents,
            results=results,
            state_lock=self.state_lock,
            grace=self.cancel_grace,
            gate_starts="task_start" in self._callbacks,
            priority=None if priority is None else [priority.get(t, 0) for t in graph.names],
            max_failures=max_failures,
            special=special,
            deadline=self.deadline,
            growth=GrowthPlan(
                tasks,
                self._registry.index,
                self._call_maker(graph, context),
                self.task_timeout,
                self.limits,
                self.workers,
            ),
        )
        self._active = dispatcher
        try:
            interrupted = dispatcher.run()
        finally:
            self._active = None
            for handler in self._log_files:
                handler.close()
        if checker is not None:
            self.state_issues = checker.issues()
        t1 = time.perf_counter()
        result = ev.build_result(
            stream,
            attempts=attempts,
            started_at=wall0,
            started_perf=t0,
            finished_at=wall0 + (t1 - t0),
            duration=t1 - t0,
            workers=workers,
            interrupted=interrupted,
        )
        if log.isEnabledFor(logging.INFO):
            log.info("all work completed" if not interrupted else "run interrupted")
        stream.emit([ev.RunFinished(result, t1)])
        summary = result.summary() if "scheduler_done" in self._callbacks or interrupted else None
        if summary is not None:
            self._fire("scheduler_done", summary)
            if summary_sink is not None:
                summary_sink.append(summary)
        if interrupted:
            raise RunInterrupted(result, summary if summary is not None else result.summary())
        return result


# The event each 1.4.0 callback fires on (``on_scheduler_done`` fires after the run, apart).
_CALLBACK_EVENTS: tuple[tuple[str, type], ...] = (
    ("task_done", ev.TaskFinished),
    ("task_run", ev.TaskStarted),
    ("task_start", ev.TaskDispatched),
    ("scheduler_start", ev.RunStarted),
)
_FINISHED: frozenset[type] = frozenset((ev.TaskFinished,))


def _check_backend(backend: Any) -> None:
    from .backends import Backend

    if not isinstance(backend, Backend):
        raise TypeError(
            "backend must be a thread_order.backends.ThreadBackend, DaskBackend or another "
            f"Backend, got {type(backend).__name__}"
        )


def _record_of(e: ev.TaskFinished) -> TaskRecord:
    return TaskRecord(
        name=e.task,
        status=e.status,
        thread=e.thread,
        start=e.start,
        end=e.time,
        error=e.error,
        result=e.result,
        reason=e.reason,
    )


def _context(e: ev.TaskFinished) -> Any:
    return e.error.context if e.error is not None else None


__all__ = ["RunInterrupted", "Scheduler", "TaskStatus", "default_workers"]
