"""The graph compiler: registered tasks -> int ids, CSR arrays and a validated ready-set core.

Registration is O(1) per task and accepts forward references; all checking happens once, here,
when a run starts: unknown dependency names (each reported with the task that asked for it and a
"did you mean"), then cycles (reported as a path ``a -> b -> c -> a``). The compiled graph is
cached until the next registration, so ``start()`` can be called again cheaply.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from . import _params, _readyset
from ._options import DEFAULT_OPTIONS, TaskOptions


class GraphError(ValueError):
    """The registered tasks do not form a runnable DAG."""


class UnknownDependencyError(GraphError):
    """Some tasks depend on names that were never registered.

    ``missing`` is ``[(task, dependency), ...]``. The message keeps 1.4.0's wording, one line
    per task (``a depends on unknown ['x']``), and adds a close-match suggestion.
    """

    def __init__(self, missing: Sequence[tuple[str, str]], known: Collection[str]) -> None:
        self.missing = tuple(missing)
        super().__init__(_unknown_message(self.missing, known))


class CycleError(GraphError):
    """The dependencies form a cycle; ``cycle`` lists it with the first name repeated last."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = tuple(cycle)
        super().__init__("dependency cycle: " + " -> ".join(self.cycle))


def _unknown_message(missing: Sequence[tuple[str, str]], known: Collection[str]) -> str:
    by_task: dict[str, list[str]] = {}
    for task, dep in missing:
        by_task.setdefault(task, []).append(dep)
    lines = []
    for task, deps in by_task.items():
        hints = []
        for dep in deps:
            import difflib  # only on this error path

            close = difflib.get_close_matches(dep, known, n=1)
            if close:
                hints.append(f"{close[0]!r}" if len(deps) == 1 else f"{close[0]!r} for {dep!r}")
        hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
        lines.append(f"{task} depends on unknown {deps}{hint}")
    return "\n".join(lines)


def normalize_names(value: str | Iterable[str] | None, what: str, task: str) -> tuple[str, ...]:
    """``None`` -> (), ``'a'`` -> ('a',), an iterable of names -> a tuple; else TypeError."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if type(value) is list or type(value) is tuple:  # the common cases, checked in C
        if len(value) == 1 and type(value[0]) is str:
            return (value[0],)
        names = tuple(value)
        try:
            "".join(names)  # raises TypeError unless every item is a str
        except TypeError:
            pass  # the loop below names the culprit
        else:
            return names
    try:
        names = tuple(value)
    except TypeError:
        raise TypeError(
            f"{what} of task {task!r} must be a name or a list of names, got {type(value).__name__}"
        ) from None
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{what} of task {task!r} must contain names (str), got {n!r}")
    return names


def normalize_tags(value: str | Iterable[str] | None, task: str) -> tuple[str, ...]:
    """Tags as 1.4.0 wrote them (``'a,b'``) or as a list; blanks dropped."""
    if isinstance(value, str):
        value = value.split(",")
    return tuple(t.strip() for t in normalize_names(value, "tags", task) if t.strip())


class Task:
    """One registered task (one instance, for a parametrized task).

    ``family`` is the name a parametrized instance was registered under and ``param`` its
    parameter values. Most tasks have no tags, options or parameters; those four fields then
    share one empty slot, which keeps a task at 72 bytes instead of 96 (a suite of a million
    tasks holds a million of them).
    """

    __slots__ = ("_more", "after", "fn", "name", "with_state")

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        after: tuple[str, ...],
        with_state: bool,
        tags: tuple[str, ...] = (),
        options: TaskOptions = DEFAULT_OPTIONS,
        family: str = "",
        param: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.fn = fn
        self.after = after
        self.with_state = with_state
        plain = not tags and options is DEFAULT_OPTIONS and not family and param is None
        self._more: tuple[Any, ...] | None = None if plain else (tags, options, family, param)

    @property
    def tags(self) -> tuple[str, ...]:
        return self._more[0] if self._more is not None else ()

    @property
    def options(self) -> TaskOptions:
        return self._more[1] if self._more is not None else DEFAULT_OPTIONS

    @property
    def family(self) -> str:
        return self._more[2] if self._more is not None else ""

    @property
    def param(self) -> Mapping[str, Any] | None:
        return self._more[3] if self._more is not None else None

    @property
    def bare(self) -> bool:
        """No tags, options or parameters: the task is its function, name and dependencies."""
        return self._more is None

    def __repr__(self) -> str:
        return f"Task(name={self.name!r}, fn={self.fn!r}, after={self.after!r})"


def make_tasks(
    fn: Callable[..., Any],
    name: str,
    after: str | Iterable[str] | None,
    with_state: bool,
    tags: str | Iterable[str] | None,
    params: Sequence[Any] | Mapping[str, Sequence[Any]] | None,
    options: Mapping[str, Any],
) -> list[Task]:
    """The task (or, with ``params``, the instances) one registration stands for."""
    deps = normalize_names(after, "after", name)
    opts = TaskOptions.build(name, **options) if options else DEFAULT_OPTIONS
    labels = normalize_tags(tags, name) if tags else ()
    if params is None:
        return [Task(name, fn, deps, with_state, labels, opts)]
    return [
        Task(instance, fn, deps, with_state, labels, opts, name, kwargs)
        for instance, kwargs in _params.expand(name, params)
    ]


def validate_task(task: Task, verb: str) -> None:
    """A task's name is a non-empty str and its function is callable (``verb``: what failed)."""
    if not isinstance(task.name, str) or not task.name:
        raise TypeError(f"task name must be a non-empty str, got {task.name!r}")
    if not callable(task.fn):
        raise ValueError(
            f"cannot {verb} {task.name!r}: object must be callable, got {type(task.fn).__name__}"
        )


@dataclass(slots=True)
class CompiledGraph:
    """Tasks as ids in registration order, their dependencies as CSR, and a ready-set core."""

    names: list[str]
    pred_off: array[int]  # int32 arrays: 4 bytes per entry, not a Python int object each
    preds: array[int]
    core: _readyset.ReadySet
    has_rules: bool = False  # some task has a trigger rule other than ALL_PASSED
    rules: bytes = b""  # per task, its trigger rule (empty when none has one)
    #: Tasks were added to it during a run (``_growth``): the next run compiles afresh.
    grown: bool = False
    #: Dependencies given after compiling (a task added with ``before=``), by task id.
    extra_preds: dict[int, list[int]] = field(default_factory=dict)

    def dependencies(self, i: int) -> list[int]:
        deps = self.preds[self.pred_off[i] : self.pred_off[i + 1]].tolist()
        if self.extra_preds:
            deps += self.extra_preds.get(i, ())
        return deps


class Registry:
    """Registered tasks in registration order, with O(1) duplicate detection.

    The tasks are kept as columns (names, functions, dependency names, ``with_state``, and the
    tags/options/parameters of the few tasks that have any), not as one ``Task`` object each:
    a million-task suite then registers in about half the time, most of it what the garbage
    collector no longer walks over, and peaks ~55 bytes lower per task. ``tasks`` is a
    sequence view that builds the ``Task`` objects when they are asked for.
    """

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.names: list[str] = []
        self.fns: list[Callable[..., Any]] = []
        self.afters: list[tuple[str, ...]] = []
        self.with_state: list[bool] = []
        #: Per task id, ``(tags, options, family, param)`` of the tasks that have any.
        self.more: dict[int, tuple[Any, ...]] = {}
        self.tasks = TaskList(self)
        self._compiled: CompiledGraph | None = None

    def add(self, task: Task) -> None:
        self.add_plain(task.name, task.fn, task.after, task.with_state)
        if task._more is not None:  # tags, options, family, param: the column's own layout
            self.more[len(self.names) - 1] = task._more

    def add_plain(
        self, name: str, fn: Callable[..., Any], after: tuple[str, ...], with_state: bool
    ) -> None:
        """``add(Task(name, fn, after, with_state))`` without the ``Task``: registration's
        common case (a million-task suite spends most of its registration time here)."""
        index = self.index
        n = len(index)
        if type(name) is not str or not name or not callable(fn):
            validate_task(Task(name, fn, after, with_state), "register")  # raises
        if index.setdefault(name, n) != n:  # one hash probe for the check and the insert
            raise ValueError(f"{name} has already been added")
        self.names.append(name)
        self.fns.append(fn)
        self.afters.append(after)
        self.with_state.append(with_state)
        self._compiled = None

    def task(self, i: int) -> Task:
        """Task ``i`` as a ``Task`` object (a new one on every call)."""
        if i < 0:
            i += len(self.names)
        more = self.more.get(i)
        if more is None:
            return Task(self.names[i], self.fns[i], self.afters[i], self.with_state[i])
        return Task(self.names[i], self.fns[i], self.afters[i], self.with_state[i], *more)

    def options(self) -> list[TaskOptions]:
        """Each task's options, in id order."""
        out = [DEFAULT_OPTIONS] * len(self.names)
        for i, more in self.more.items():
            out[i] = more[1]
        return out

    def __len__(self) -> int:
        return len(self.names)

    def compile(self) -> CompiledGraph:
        """Validate and compile, once per set of registrations."""
        if self._compiled is None or self._compiled.grown:
            self._compiled = compile_tasks(self)
        return self._compiled


class TaskList(Sequence[Task]):
    """The registry's tasks as a sequence of ``Task`` objects, built on access."""

    __slots__ = ("_registry",)

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __len__(self) -> int:
        return len(self._registry.names)

    @overload
    def __getitem__(self, i: int) -> Task: ...
    @overload
    def __getitem__(self, i: slice) -> list[Task]: ...
    def __getitem__(self, i: int | slice) -> Task | list[Task]:
        if isinstance(i, slice):
            return [self._registry.task(k) for k in range(*i.indices(len(self)))]
        return self._registry.task(i)

    def __iter__(self) -> Iterator[Task]:
        return map(self._registry.task, range(len(self)))


def compile_tasks(registry: Registry) -> CompiledGraph:
    index, tasks = registry.index, registry.tasks
    names = list(registry.names)  # the run's own: tasks added during it extend it
    try:  # every name known (the common case): one pass over all the edges, in the core
        pred_off, preds = _readyset.ReadySet.dependency_csr(registry.afters, index)
    except KeyError:  # unknown names, or parameter patterns to resolve
        pred_off, preds = _resolve(tasks, index, names)
    rules = bytes(o.rule for o in registry.options()) if registry.more else b""
    has_rules = any(rules)
    core = _readyset.ReadySet(len(names), pred_off, preds, rules if has_rules else None)
    if not core.acyclic:
        raise CycleError(_find_cycle(names, pred_off, preds, core.unresolved()))
    return CompiledGraph(names, pred_off, preds, core, has_rules, rules if has_rules else b"")


def _resolve(
    tasks: TaskList, index: dict[str, int], names: list[str]
) -> tuple[array[int], array[int]]:
    """The dependency CSR, name by name: parameter patterns resolved, unknown names reported."""
    pred_off = array("i", [0])
    preds = array("i")
    missing: list[tuple[str, str]] = []
    get = index.get
    families: dict[str, list[int]] | None = None
    for t in tasks:
        for dep in t.after:
            j = get(dep)
            if j is not None:
                preds.append(j)
                continue
            if families is None:
                families = families_of(tasks)
            found = _params.resolve(dep, t.name, t.param, index, families, names)
            if found is None:
                missing.append((t.name, dep))
            else:
                preds.extend(found)
        pred_off.append(len(preds))
    if missing:
        raise UnknownDependencyError(missing, index.keys())
    return pred_off, preds


def families_of(tasks: TaskList) -> dict[str, list[int]]:
    """Instances of each parametrized task (ids), by the name it was registered under; only
    the tasks with parameters are looked at."""
    out: dict[str, list[int]] = {}
    for i, more in tasks._registry.more.items():  # in id order: insertion order
        if more[2]:
            out.setdefault(more[2], []).append(i)
    return out


def _find_cycle(
    names: Sequence[str], pred_off: Sequence[int], preds: Sequence[int], stuck: Sequence[int]
) -> list[str]:
    """Walk dependencies inside the unresolved set until a task repeats: that loop is a cycle.

    Every unresolved task has an unresolved dependency, so the walk never leaves the set.
    """
    inside = set(stuck)
    seen: dict[int, int] = {}
    path: list[int] = []
    i = min(stuck)
    while i not in seen:
        seen[i] = len(path)
        path.append(i)
        i = next(p for p in preds[pred_off[i] : pred_off[i + 1]] if p in inside)
    loop = path[seen[i] :]
    loop.reverse()  # dependencies first: a -> b means b runs after a
    return [names[j] for j in [*loop, loop[0]]]
