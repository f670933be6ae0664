"""The page's view of a run is the engine's event stream, as JSON, with ids for replay.

``EventLog`` holds the current run's events only (earlier runs live in the history database).
Every event gets an id that grows across runs, so a page that reconnects with ``Last-Event-ID``
gets exactly what it missed, and a page that saw an older run gets the current run from its
start. Times are seconds since the run started (the engine's ``perf_counter`` readings minus
``RunStarted.time``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from thread_order import (
    Event,
    RunStarted,
    TaskAdded,
    TaskError,
    TaskFinished,
    TaskStarted,
)

JSONDict = dict[str, Any]


def error_json(error: TaskError | None) -> JSONDict | None:
    if error is None:
        return None
    return {"type": error.type, "message": error.message, "traceback": error.traceback}


class EventLog:
    """Append-only events of the current run, shared by the run thread and the SSE streams."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[JSONDict] = []
        self._next_id = 1
        self._first_id = 1
        self._open = False  # a run is in progress: more events will come

    def begin(self, event: JSONDict) -> None:
        """Start a new run: forget the previous run's events, keep counting ids."""
        with self._lock:
            self._events = []
            self._first_id = self._next_id
            self._open = True
            self._append(event)

    def extend(self, events: Sequence[JSONDict], *, close: bool = False) -> None:
        with self._lock:
            for event in events:
                self._append(event)
            if close:
                self._open = False

    def _append(self, event: JSONDict) -> None:
        event["id"] = self._next_id
        self._next_id += 1
        self._events.append(event)

    def since(self, after: int) -> tuple[list[JSONDict], bool]:
        """Events with an id above ``after`` (the whole run if ``after`` predates it), and
        whether more may follow."""
        with self._lock:
            start = 0 if after < self._first_id else after - self._first_id + 1
            return self._events[start:], self._open

    @property
    def running(self) -> bool:
        with self._lock:
            return self._open


class EngineListener:
    """Subscribed to the scheduler: turns each batch of typed events into JSON for the log.

    ``names``/``preds`` are the run's graph; tasks added during the run (``TaskAdded``) are
    appended to them, and to ``ids`` (name -> id), which the log capture shares.
    """

    #: The events it reads (``Scheduler.subscribe(..., kinds=...)``); the session adds
    #: run_finished itself, with the history id and the critical path.
    KINDS = (RunStarted, TaskAdded, TaskStarted, TaskFinished)

    def __init__(
        self,
        log: EventLog,
        names: list[str] | None = None,
        preds: list[list[int]] | None = None,
        ids: dict[str, int] | None = None,
    ) -> None:
        self.log = log
        self.t0 = time.perf_counter()
        self.names = names if names is not None else []
        self.preds = preds if preds is not None else []
        self.ids = ids if ids is not None else {n: i for i, n in enumerate(self.names)}

    def rel(self, t: float | None) -> float | None:
        return None if t is None else round(t - self.t0, 6)

    def __call__(self, events: Sequence[Event]) -> None:
        out: list[JSONDict] = []
        for e in events:
            if isinstance(e, RunStarted):
                self.t0 = e.time
                out.append({"type": "run_started", "workers": e.workers, "wall": e.wall})
            elif isinstance(e, TaskAdded):
                after = [self.ids[n] for n in e.after if n in self.ids]
                self.ids[e.task] = e.id
                self.names.append(e.task)
                self.preds.append(after)
                for n in e.before:  # a task that now waits for the new one
                    if n in self.ids:
                        self.preds[self.ids[n]].append(e.id)
                out.append(
                    {
                        "type": "added",
                        "task": e.id,
                        "name": e.task,
                        "after": after,
                        "before": [self.ids[n] for n in e.before if n in self.ids],
                        "parent": e.parent,
                        "t": self.rel(e.time),
                    }
                )
            elif isinstance(e, TaskStarted):
                out.append(
                    {"type": "started", "task": e.id, "thread": e.thread, "t": self.rel(e.time)}
                )
            elif isinstance(e, TaskFinished):
                out.append(
                    {
                        "type": "finished",
                        "task": e.id,
                        "status": e.status.value,
                        "thread": e.thread,
                        "start": self.rel(e.start),
                        "end": self.rel(e.time),
                        "error": error_json(e.error),
                        "reason": e.reason,
                        "attempts": e.attempts,
                    }
                )
        if out:
            now = time.perf_counter() - self.t0
            for event in out:
                event["now"] = round(now, 6)
            self.log.extend(out)
