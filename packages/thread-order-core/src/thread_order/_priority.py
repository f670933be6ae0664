"""Learned priorities: order ready tasks by the expected time left on their longest chain.

The default order (longest chain of tasks first) treats every task as equally long. With the
durations of earlier runs (``tdrun`` keeps them in its history database) the critical path
can be estimated for real: a task's priority is its own expected duration plus the largest
such sum among its dependents. Tasks with no recorded duration count as the median of those
that have one.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping

from ._compiler import CompiledGraph


def expected_priority(
    graph: CompiledGraph, durations: Mapping[str, float], default: float | None = None
) -> dict[str, int]:
    """Per task, the expected seconds left on its longest remaining chain, in microseconds.

    Pass the result as ``Scheduler.run(priority=...)``.
    """
    names = graph.names
    n = len(names)
    known = [d for d in durations.values() if d >= 0]
    fill = default if default is not None else (statistics.median(known) if known else 1.0)
    own = [max(0.0, durations.get(name, fill)) for name in names]
    children: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for p in graph.dependencies(i):
            children[p].append(i)
    left = [0.0] * n
    for i in reversed(graph.core.topo_order()):
        tail = max((left[c] for c in children[i]), default=0.0)
        left[i] = own[i] + tail
    return {names[i]: round(left[i] * 1e6) for i in range(n)}
