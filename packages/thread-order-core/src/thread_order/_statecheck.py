"""``Scheduler(state_check=True)``: find, on threads, the state use a distributed run refuses.

Each task that takes the state gets a recording view of the shared dict for the run. After
the run the reads and writes are compared with the graph, using the rules of ``_edgestate``:
a task may read what its ancestors wrote, may assign keys, and nothing else crosses processes.
Reported, each naming the task and the key:

- a value changed in place (``state['log'].append(x)``);
- a key read by a task that a task which is neither its ancestor nor its descendant writes
  (on threads it sees the write or not depending on timing; elsewhere it never does);
- a key a task reads that two of its ancestors write in parallel;
- a result read from ``state['results']`` of a task that is not an ancestor;
- a value read from the state that cannot be pickled (it cannot be sent to a worker);
- a deleted key, or a write into ``state['results']``.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from ._calls import RunContext, build_call
from ._compiler import CompiledGraph, Task
from ._edgestate import (
    LOCK_KEY,
    RESULTS_KEY,
    conflict_message,
    deleted_message,
    in_place_message,
    results_message,
)


@dataclass(frozen=True, slots=True)
class StateIssue:
    """One use of the state that would not work on a distributed backend."""

    task: str
    key: str
    message: str

    def __str__(self) -> str:
        return self.message


_UNPICKLABLE = b""


class _Record:
    """What one task did to the state."""

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.deleted: set[str] = set()
        self.results_read: set[str] = set()
        self.results_written = False
        self.snapshots: dict[str, bytes] = {}


def _snapshot(value: Any) -> bytes:
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception:
        return _UNPICKLABLE


class _Results(MutableMapping[str, Any]):
    def __init__(self, results: MutableMapping[str, Any], record: _Record) -> None:
        self._results, self._record = results, record

    def __getitem__(self, name: str) -> Any:
        self._record.results_read.add(name)
        return self._results[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._record.results_written = True
        self._results[name] = value

    def __delitem__(self, name: str) -> None:
        self._record.results_written = True
        del self._results[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)


class _CheckedState(MutableMapping[str, Any]):
    """The shared state as one task sees it, recording its reads and writes."""

    def __init__(self, state: MutableMapping[str, Any], record: _Record) -> None:
        self._state, self._record = state, record

    def __getitem__(self, key: str) -> Any:
        value = self._state[key]
        if key == LOCK_KEY:
            return value
        record = self._record
        if key == RESULTS_KEY and isinstance(value, MutableMapping):
            return _Results(value, record)
        if key not in record.reads:
            record.reads.add(key)
            if key not in record.writes:
                record.snapshots[key] = _snapshot(value)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        if key == RESULTS_KEY:
            self._record.results_written = True
        self._record.writes.add(key)
        self._state[key] = value

    def __delitem__(self, key: str) -> None:
        self._record.deleted.add(key)
        del self._state[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)


class StateChecker:
    """Records one run's state use on threads and turns it into ``StateIssue``s."""

    def __init__(self, graph: CompiledGraph, tasks: Sequence[Task], state: dict[str, Any]) -> None:
        self.graph = graph
        self.tasks = tasks
        self.state = state
        self.records = [_Record() for _ in tasks]
        self.changed: dict[int, list[str]] = {}
        self.lock = threading.Lock()

    def calls(self, context: RunContext) -> list[Callable[[], Any]]:
        """Every task's call, those that take the state with a recording view of it."""
        out: list[Callable[[], Any]] = []
        for i, t in enumerate(self.tasks):
            deps = self.graph.dependencies(i)
            if not (t.with_state or t.options.condition is not None):
                out.append(build_call(t, i, deps, context))
                continue
            view = _CheckedState(self.state, self.records[i])
            # build_call only indexes the state and hands it to the task: a mapping will do
            own = RunContext(
                cast("dict[str, Any]", view),
                context.values,
                context.status,
                context.names,
                context.attempts,
            )
            out.append(self._after(i, build_call(t, i, deps, own)))
        return out

    def _after(self, i: int, call: Callable[[], Any]) -> Callable[[], Any]:
        def checked() -> Any:
            try:
                return call()
            finally:
                self._compare(i)

        return checked

    def _compare(self, i: int) -> None:
        record = self.records[i]
        changed = []
        for key, before in record.snapshots.items():
            if before == _UNPICKLABLE or key in record.writes or key not in self.state:
                continue
            if _snapshot(self.state[key]) != before:
                changed.append(key)
        with self.lock:
            self.changed[i] = changed

    def issues(self) -> list[StateIssue]:
        names = self.graph.names
        ancestors = _ancestors(self.graph)
        writers: dict[str, list[int]] = {}
        for i, record in enumerate(self.records):
            for key in record.writes:
                writers.setdefault(key, []).append(i)
        out: list[StateIssue] = []
        for i, record in enumerate(self.records):
            task = names[i]
            for key in sorted(self.changed.get(i, ())):
                out.append(StateIssue(task, key, in_place_message(task, key)))
            for key in sorted(record.deleted):
                out.append(StateIssue(task, key, deleted_message(task, key)))
            if record.results_written:
                out.append(StateIssue(task, RESULTS_KEY, results_message(task)))
            for key in sorted(record.reads):
                if record.snapshots.get(key) == _UNPICKLABLE:
                    out.append(
                        StateIssue(
                            task,
                            key,
                            f"task {task!r} reads state[{key!r}], whose value cannot be pickled: "
                            "it cannot be sent to a worker; create it inside the task",
                        )
                    )
                others = [w for w in writers.get(key, ()) if w != i]
                unrelated = [w for w in others if w not in ancestors[i] and i not in ancestors[w]]
                if unrelated:
                    who = ", ".join(repr(names[w]) for w in unrelated)
                    out.append(
                        StateIssue(
                            task,
                            key,
                            f"task {task!r} reads state[{key!r}], which {who} writes without "
                            "being its ancestor: on a distributed backend it never sees that "
                            "write (add the writer to after=)",
                        )
                    )
                    continue
                mine = [w for w in others if w in ancestors[i]]
                last = max(mine, key=lambda w: len(ancestors[w]), default=-1)
                parallel = [w for w in mine if w != last and w not in ancestors[last]]
                if parallel:
                    who_all = [names[w] for w in sorted((*parallel, last))]
                    out.append(StateIssue(task, key, conflict_message(task, key, who_all)))
            for dep in sorted(record.results_read):
                j = self.graph.names.index(dep) if dep in self.graph.names else -1
                if j >= 0 and j not in ancestors[i]:
                    out.append(
                        StateIssue(
                            task,
                            RESULTS_KEY,
                            f"task {task!r} reads state['results'][{dep!r}], but {dep!r} is not "
                            "its ancestor: on a distributed backend that result is not there",
                        )
                    )
        return out


def _ancestors(graph: CompiledGraph) -> list[frozenset[int]]:
    order = graph.core.topo_order()
    out: list[frozenset[int]] = [frozenset()] * len(order)
    for i in order:
        acc: set[int] = set()
        for d in graph.dependencies(i):
            acc.add(d)
            acc |= out[d]
        out[i] = frozenset(acc)
    return out
