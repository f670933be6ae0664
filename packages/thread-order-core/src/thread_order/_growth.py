"""Dynamic tasks: a running task adds tasks to the graph of its own run.

``thread_order.add_task(...)`` from inside a task (thread or ``async def``), or
``Scheduler.add_task(...)`` from code that holds the scheduler, while a run is in progress.
New tasks are checked like registered ones: a unique name, options, dependency names (exact
names and the parametrized patterns ``create[*]``/``create[{region}]``), and no cycle. A cycle
can only come from ``before`` (tasks that must wait for the new one), so the check walks
forward from those tasks alone and reports the loop as a path, without revisiting the graph.

The dispatcher's per-task columns grow first and the ready-set core second (``grow()``), so a
worker can run a new task the moment it is queued; a ``TaskAdded`` event then announces it on
the stream (the stream announces it itself should the task's own events come first). New tasks
exist for this run only: the next run starts from the registered tasks again.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _events as ev
from . import _outcomes as oc
from . import _params
from . import _readyset as rs
from ._compiler import (
    CycleError,
    Task,
    TaskList,
    UnknownDependencyError,
    families_of,
    make_tasks,
    normalize_names,
    validate_task,
)

if TYPE_CHECKING:
    from ._dispatcher import Dispatcher


#: States of tasks that have started: a new task can no longer precede them.
_RAN = frozenset((rs.RUNNING, rs.PASSED, rs.FAILED, rs.TIMED_OUT))


_OVER = "the run is over: tasks can only be added while it runs"


class GrowthError(ValueError):
    """Tasks cannot be added: the run is over, a name is taken, a task to precede started."""


@dataclass(slots=True)
class GrowthPlan:
    """What a run needs to take new tasks, given by the scheduler that started it.

    ``tasks``/``index`` are the registry's and are copied on the first growth only, so runs
    that never grow pay nothing for this.
    """

    tasks: TaskList
    index: Mapping[str, int]
    #: ``make_call(task, id, dependency ids)``: the callable a worker runs for the task.
    make_call: Callable[[Task, int, list[int]], Callable[[], Any]]
    task_timeout: float | None
    limits: Mapping[str, int]
    loop_lane: int
    own_index: dict[str, int] = field(default_factory=dict)
    families: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: bool = False

    def begin(self) -> None:
        if self.started:
            return
        self.own_index = dict(self.index)
        self.families = families_of(self.tasks)
        self.started = True


def add_task(
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
    """From inside a running task: add a task to this run's graph; return the names added.

    The arguments are ``register``'s (``name`` defaults to the function's name; ``params``,
    ``tags`` and every task option work), plus ``before``: tasks that have not started yet
    and must now wait for the new one (a teardown that must come after it, say). Dependencies
    may be any task of the run, including finished ones: one that passed counts as done, one
    that did not pass skips the new task as it would have skipped a registered one. Works in
    thread and ``async def`` tasks; the new task exists for this run only.
    """
    from ._dispatcher import current_run

    found = current_run()
    if found is None:
        raise GrowthError(
            "add_task() must be called from a task while its run is in progress "
            "(use Scheduler.register() before start(), or Scheduler.add_task())"
        )
    d, parent = found
    return add_to(d, parent, obj, name, after, with_state, before, tags, params, options)


def add_to(
    d: Dispatcher,
    parent: int,
    obj: Callable[..., Any],
    name: str | None,
    after: str | Iterable[str] | None,
    with_state: bool,
    before: str | Iterable[str] | None,
    tags: str | Iterable[str] | None,
    params: Sequence[Any] | Mapping[str, Sequence[Any]] | None,
    options: Mapping[str, Any],
) -> list[str]:
    """``add_task``'s work once the run is known."""
    if name is None:
        name = getattr(obj, "__name__", None)
        if not isinstance(name, str):
            raise TypeError(f"add_task() needs a name for {obj!r}, which has no __name__")
    new = make_tasks(obj, name, after, with_state, tags, params, options)
    follow = normalize_names(before, "before", name)
    return add_tasks(d, new, [follow] * len(new), parent)


def add_tasks(
    d: Dispatcher, new: Sequence[Task], before: Sequence[Sequence[str]], parent: int
) -> list[str]:
    """Add ``new`` (each with its ``before`` names) to the run of ``d``; return their names.

    Everything is checked before the core sees a new task; on any error the run is left
    exactly as it was and the error is raised to the caller (the task that asked).
    """
    plan = d.growth
    if plan is None:
        raise GrowthError("this run does not take new tasks")
    with plan.lock:
        if d.finished:
            raise GrowthError(_OVER)
        plan.begin()
        n0 = len(d.names)
        edges = _Edges()
        try:
            for task, follow in zip(new, before, strict=True):
                mine, targets = _check(d, plan, task, follow, edges)
                _extend(d, plan, task, mine, targets, parent)
                edges.add(len(d.names) - 1, mine, targets)
            rules = bytes(t.options.rule for t in new)
            with d.lock:  # atomic with the workers' "the run is over" decision
                if d.finished:
                    raise GrowthError(_OVER)
                d.core.grow(
                    edges.pred_off,
                    edges.preds,
                    rules if any(rules) else None,
                    edges.off,
                    edges.after,
                )
        except BaseException:
            _truncate(d, plan, new, n0)
            raise
        t = oc.clock()
        append = d.stream.entries.append
        for x in range(n0, len(d.names)):
            append((ev.ADDED, x))
        with d.settle_lock:
            skipped = d.core.take_skipped()
            if skipped:
                oc.record_skips(d, skipped, t)
            if d.stopped:  # added while the run stops: they never start
                keep = d.keep + bytes(len(new)) if d.keep is not None else None
                d.keep = keep
                for i in d.core.cancel(keep):
                    append((ev.CANCELLED, i, t, "not run: the run was stopping"))
    oc.after_release(d)
    return [task.name for task in new]


class _Edges:
    """The new tasks' edges, in the CSR form ``grow()`` takes, and as successor lists for the
    cycle check."""

    def __init__(self) -> None:
        self.preds: list[int] = []
        self.pred_off = [0]
        self.after: list[int] = []  # the tasks each new task must finish before
        self.off = [0]
        self.succ: dict[int, list[int]] = {}

    def add(self, x: int, mine: list[int], targets: list[int]) -> None:
        self.preds.extend(mine)
        self.pred_off.append(len(self.preds))
        self.after.extend(targets)
        self.off.append(len(self.after))
        for p in mine:
            self.succ.setdefault(p, []).append(x)
        if targets:
            self.succ.setdefault(x, []).extend(targets)


def _check(
    d: Dispatcher, plan: GrowthPlan, task: Task, follow: Sequence[str], edges: _Edges
) -> tuple[list[int], list[int]]:
    """The ids of ``task``'s dependencies and of the tasks it must precede, or an error."""
    validate_task(task, "add")
    if task.name in plan.own_index:
        raise GrowthError(f"cannot add task {task.name!r}: a task of that name exists")
    names, index, families = d.names, plan.own_index, plan.families
    missing: list[tuple[str, str]] = []

    def ids(dep: str) -> list[int]:
        j = index.get(dep)
        found = (
            [j]
            if j is not None
            else _params.resolve(dep, task.name, task.param, index, families, names)
        )
        if found is None:
            missing.append((task.name, dep))
            return []
        return found

    mine = [j for dep in task.after for j in ids(dep)]
    targets = [j for dep in follow for j in ids(dep)]
    if missing:
        raise UnknownDependencyError(missing, index.keys())
    states = d.core.states()
    for t in targets:
        if t < len(states) and states[t] in _RAN:
            raise GrowthError(
                f"cannot add task {task.name!r} before {names[t]!r}: it has already started"
            )
        loop = _path(d, edges.succ, t, set(mine))
        if loop is not None:
            raise CycleError([task.name, *(names[i] for i in loop), task.name])
    return mine, targets


def _path(
    d: Dispatcher, extra: Mapping[int, list[int]], start: int, goals: set[int]
) -> list[int] | None:
    """A path of successors from ``start`` to one of ``goals`` (both ends included), if any.

    Only tasks that have not started can be reached from ``start`` (it has not started
    itself), so this visits the waiting part of the graph below it, not the whole graph.
    """
    core = d.core
    size = core.size
    came: dict[int, int] = {start: -1}
    stack = [start]
    while stack:
        i = stack.pop()
        if i in goals:
            path = [i]
            while came[path[-1]] >= 0:
                path.append(came[path[-1]])
            return path[::-1]
        nxt = core.successors(i) if i < size else []
        for s in [*nxt, *extra.get(i, ())]:
            if s not in came:
                came[s] = i
                stack.append(s)
    return None


def _extend(
    d: Dispatcher, plan: GrowthPlan, task: Task, mine: list[int], targets: list[int], parent: int
) -> None:
    """Grow every per-task column of the run by one task (graph, calls, stream, slow path)."""
    graph = d.graph
    x = len(d.names)
    graph.grown = True
    rule = task.options.rule
    if rule or graph.has_rules:
        graph.rules = (graph.rules or bytes(x)) + bytes((rule,))
        graph.has_rules = True
        d.has_rules = True
    graph.names.append(task.name)
    graph.preds.extend(mine)
    graph.pred_off.append(len(graph.preds))
    for t in targets:
        graph.extra_preds.setdefault(t, []).append(x)
    plan.own_index[task.name] = x
    if task.family:
        plan.families.setdefault(task.family, []).append(x)
    d.fn_names.append(getattr(task.fn, "__name__", task.name))
    d.stream.grow(parent, mine, targets)
    timeout = task.options.timeout or plan.task_timeout
    is_async = inspect.iscoroutinefunction(task.fn)
    d.grow_special(timeout, task.options.locks, is_async, plan.limits, plan.loop_lane)
    d.calls.append(plan.make_call(task, x, graph.dependencies(x)))


def _truncate(d: Dispatcher, plan: GrowthPlan, new: Sequence[Task], n0: int) -> None:
    """Undo ``_extend`` for the tasks of a refused batch: the run is as it was."""
    graph = d.graph
    for t, followers in list(graph.extra_preds.items()):
        kept = [x for x in followers if x < n0]
        if kept:
            graph.extra_preds[t] = kept
        else:
            del graph.extra_preds[t]
    if len(graph.names) > n0:
        del graph.preds[graph.pred_off[n0] :]
    del graph.pred_off[n0 + 1 :]
    del graph.names[n0:]
    if graph.rules:
        graph.rules = graph.rules[:n0]
    for task in new:
        if plan.own_index.get(task.name, -1) >= n0:
            del plan.own_index[task.name]
        members = plan.families.get(task.family) if task.family else None
        if members:
            members[:] = [i for i in members if i < n0]
    del d.fn_names[n0:]
    del d.calls[n0:]
    d.stream.shrink(n0)
    d.shrink_special(n0)


__all__ = ["GrowthError", "GrowthPlan", "add_task", "add_tasks", "add_to"]
