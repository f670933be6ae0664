"""Named locks and limits: how many tasks holding a resource may run at once.

A task lists the resources it holds while it runs (``locks=['db']``); each resource's capacity is
its limit (``Scheduler(limits={'api': 4})``), 1 when none is given. The dispatcher asks
``acquire`` before running such a task: if a resource is full the task waits here, in the order
it was taken from the ready set (priority order), and the worker moves on to other work, so a
waiting task never holds a worker and nothing can deadlock. ``release`` returns the tasks that
can now run.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence


class Resources:
    """Capacities, current use and the waiting line for one run."""

    def __init__(self, needs: Sequence[tuple[str, ...]], limits: Mapping[str, int]) -> None:
        self.needs = list(needs)
        self.capacity = {name: limits.get(name, 1) for need in needs for name in need}
        self.in_use = dict.fromkeys(self.capacity, 0)
        self.waiting: list[int] = []
        self.granted: set[int] = set()  # released from the line holding their resources
        self.lock = threading.Lock()

    def _free(self, i: int) -> bool:
        return all(self.in_use[r] < self.capacity[r] for r in self.needs[i])

    def _take(self, i: int) -> None:
        for r in self.needs[i]:
            self.in_use[r] += 1

    def acquire(self, i: int) -> bool:
        """Take task ``i``'s resources, or queue it and return False."""
        with self.lock:
            if i in self.granted:  # it took them when it left the line
                self.granted.discard(i)
                return True
            queued = {r for k in self.waiting for r in self.needs[k]}
            if not queued.intersection(self.needs[i]) and self._free(i):
                self._take(i)
                return True
            self.waiting.append(i)
            return False

    def release(self, i: int) -> list[int]:
        """Give back task ``i``'s resources; return waiting tasks that now hold theirs."""
        with self.lock:
            for r in self.needs[i]:
                self.in_use[r] -= 1
            started: list[int] = []
            still: list[int] = []
            for j in self.waiting:
                # later tasks may pass a blocked one only if they need none of its resources
                blocked = {r for k in still for r in self.needs[k]}
                if not blocked.intersection(self.needs[j]) and self._free(j):
                    self._take(j)
                    self.granted.add(j)
                    started.append(j)
                else:
                    still.append(j)
            self.waiting = still
            return started

    def add(self, need: tuple[str, ...], limits: Mapping[str, int]) -> None:
        """One more task (added to the running graph) that holds ``need`` while it runs."""
        with self.lock:
            assert isinstance(self.needs, list)
            self.needs.append(need)
            for name in need:
                if name not in self.capacity:
                    self.capacity[name] = limits.get(name, 1)
                    self.in_use[name] = 0

    def truncate(self, n: int) -> None:
        """Forget the tasks from id ``n`` on (an addition that was refused; none ran)."""
        with self.lock:
            assert isinstance(self.needs, list)
            del self.needs[n:]

    def drop_waiting(self) -> list[int]:
        """Empty the waiting line (the run is stopping); return who was in it."""
        with self.lock:
            out, self.waiting = self.waiting, []
            return out


def check_limits(limits: Mapping[str, int] | None) -> dict[str, int]:
    """Validate ``Scheduler(limits=...)``: names to capacities >= 1."""
    out: dict[str, int] = {}
    for name, cap in (limits or {}).items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"limits: resource names must be non-empty str, got {name!r}")
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(f"limits: {name!r} must be an int >= 1, got {cap!r}")
        out[name] = cap
    return out
