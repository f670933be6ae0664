"""State along edges: what ``state`` means when tasks run in other processes.

On threads every task shares one dict. Across processes that cannot work, so a distributed run
gives each task a private copy built from the run's initial state plus what its *ancestors*
wrote, and ``state['results']`` holds its ancestors' results. A task's assignments
(``state[key] = value``) are its state updates: they travel back with its outcome and are seen
by its descendants only. What has no meaning across processes is refused, naming task and key:

- changing a value in place (``state['log'].append(x)``): the change would stay in the copy;
- deleting a key, or writing ``state['results']``;
- two tasks, neither running after the other, both writing a key that a common descendant
  taking the state would see.

The same rules are what ``Scheduler(state_check=True)`` reports on threads (``_statecheck``).
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Keys of ``state`` the engine provides itself; they are never shipped or compared.
LOCK_KEY = "_state_lock"
RESULTS_KEY = "results"


class StateError(Exception):
    """A task used the state in a way that cannot work across processes."""


def in_place_message(task: str, key: str) -> str:
    return (
        f"task {task!r} changed state[{key!r}] in place; in distributed mode each task has its "
        f"own copy of the state, so the change would be lost: assign a new value instead "
        f"(state[{key!r}] = ...), which reaches the task's descendants"
    )


def deleted_message(task: str, key: str) -> str:
    return f"task {task!r} deleted state[{key!r}]; in distributed mode a task can only assign keys"


def results_message(task: str) -> str:
    return (
        f"task {task!r} changed state['results']; results are the engine's: return a value instead"
    )


def conflict_message(task: str, key: str, writers: Sequence[str]) -> str:
    return (
        f"task {task!r} would see state[{key!r}] from {', '.join(map(repr, writers))}, which "
        "run in parallel (neither is an ancestor of the other): which value it sees would "
        "depend on timing"
    )


def pack_state(state: Mapping[str, Any]) -> bytes:
    """The run's initial state as one blob for the workers; a value that cannot be pickled is
    an error naming its key."""
    import cloudpickle

    shipped: dict[str, Any] = {}
    for key, value in state.items():
        if key == LOCK_KEY:
            continue
        try:
            cloudpickle.dumps(value)
        except Exception as exc:
            raise StateError(
                f"state[{key!r}] cannot be sent to the workers ({type(exc).__name__}: {exc}); "
                "create such objects inside the tasks that use them"
            ) from None
        shipped[key] = value
    return bytes(cloudpickle.dumps(shipped))


class TaskState:
    """The private state of one task on a worker, and the check of what the task did to it."""

    def __init__(
        self, base: bytes | None, ancestors: Iterable[tuple[str, bool, Any, Mapping[str, Any]]]
    ) -> None:
        """``ancestors``: ``(name, passed, value, updates)`` in topological order."""
        merged: dict[str, Any] = pickle.loads(base) if base else {}
        results = dict(merged.get(RESULTS_KEY) or {})
        for name, passed, value, updates in ancestors:
            merged.update(updates)
            if passed:
                results[name] = value
        merged[RESULTS_KEY] = results
        # A pickled snapshot per key: the task's private copy, and the reference for "changed
        # in place" afterwards.
        self.snapshot = {k: pickle.dumps(v, pickle.HIGHEST_PROTOCOL) for k, v in merged.items()}
        self.view: dict[str, Any] = {k: pickle.loads(b) for k, b in self.snapshot.items()}
        self.given = dict(self.view)
        self.view[LOCK_KEY] = threading.RLock()

    def updates(self, task: str) -> dict[str, Any]:
        """The keys the task assigned; raises ``StateError`` for what cannot be shipped."""
        view, given = self.view, self.given
        out: dict[str, Any] = {}
        for key, before in given.items():
            if key not in view:
                raise StateError(deleted_message(task, key))
            now = view[key]
            same = now is before
            if key == RESULTS_KEY:
                if not same or _changed(now, self.snapshot[key]):
                    raise StateError(results_message(task))
                continue
            if not same:
                out[key] = now
            elif _changed(now, self.snapshot[key]):
                raise StateError(in_place_message(task, key))
        for key, value in view.items():
            if key not in given and key != LOCK_KEY:
                out[key] = value
        return out


def _changed(value: Any, snapshot: bytes) -> bool:
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL) != snapshot
    except Exception:  # it became unpicklable: certainly changed
        return True
