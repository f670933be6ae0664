"""Traces and the post-run profile, read off a ``RunResult``.

``chrome_trace`` writes the Trace Event Format that Chrome's ``about:tracing`` and Perfetto
open: one lane per worker thread, one complete event per task, with the real start and end
times taken on the workers. ``profile`` explains a run's length: its critical path through the
measured durations, each task's slack, and the parallelism achieved.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._compiler import CompiledGraph
from ._records import RunResult, when


def chrome_trace(result: RunResult) -> dict[str, Any]:
    """The run as a Chrome trace (``{"traceEvents": [...]}``), times in microseconds."""
    t0 = result.started_perf
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "thread-order"}}
    ]
    lanes: dict[str, int] = {}
    for record in result:
        if record.start is None or record.end is None:
            continue
        tid = lanes.setdefault(record.thread, len(lanes) + 1)
        args: dict[str, Any] = {"status": record.status.value}
        if record.error is not None:
            args["error"] = f"{record.error.type}: {record.error.message}"
        events.append(
            {
                "name": record.name,
                "cat": record.status.value.lower(),
                "ph": "X",
                "ts": round((record.start - t0) * 1e6, 3),
                "dur": round((record.end - record.start) * 1e6, 3),
                "pid": 1,
                "tid": tid,
                "args": args,
            }
        )
    for thread, tid in lanes.items():
        events.append(
            {"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": thread}}
        )
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"started_at": result.started_at, "duration_s": result.duration},
    }


def write_trace(result: RunResult, path: str | os.PathLike[str]) -> None:
    """Write ``chrome_trace(result)`` as JSON to ``path``."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(chrome_trace(result), f)


@dataclass(frozen=True, slots=True)
class RunProfile:
    """Why a run took as long as it did.

    ``critical_path`` is the dependency chain with the largest summed duration (its tasks have
    zero slack); ``slack`` is, per task, how much later it could have finished without making
    the run longer; ``parallelism`` is busy thread-time divided by wall time.
    """

    critical_path: list[str]
    critical_seconds: float
    slack: dict[str, float]
    busy_seconds: float
    wall_seconds: float

    @property
    def parallelism(self) -> float:
        return self.busy_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


def profile(result: RunResult, graph: CompiledGraph | Sequence[Sequence[int]]) -> RunProfile:
    """Profile a run of ``graph`` (``Scheduler.compile()``, or ``preds[i]`` id lists)."""
    n = len(result.names)
    if isinstance(graph, CompiledGraph):
        preds: Sequence[Sequence[int]] = [graph.dependencies(i) for i in range(n)]
    else:
        preds = graph
    dur = [0.0] * n
    for i in range(n):
        start, end = when(result.starts, i), when(result.ends, i)
        if start is not None and end is not None:
            dur[i] = end - start
    order = _topological(preds)
    earliest = [0.0] * n  # earliest finish along dependencies, from measured durations
    via = [-1] * n
    for i in order:
        best, pick = 0.0, -1
        for p in preds[i]:
            if earliest[p] > best or pick < 0:
                best, pick = earliest[p], p
        earliest[i] = best + dur[i]
        via[i] = pick
    total = max(earliest, default=0.0)
    children: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for p in preds[i]:
            children[p].append(i)
    latest = [total] * n  # latest finish that does not delay the end
    for i in reversed(order):
        for c in children[i]:
            latest[i] = min(latest[i], latest[c] - dur[c])
    path: list[str] = []
    i = max(range(n), key=lambda k: earliest[k]) if n else -1
    while i >= 0:
        path.append(result.names[i])
        i = via[i]
    path.reverse()
    ran = [i for i in range(n) if result.codes[i] != 0 and when(result.starts, i) is not None]
    return RunProfile(
        critical_path=path,
        critical_seconds=total,
        slack={result.names[i]: max(0.0, latest[i] - earliest[i]) for i in ran},
        busy_seconds=sum(dur),
        wall_seconds=result.duration,
    )


def _topological(preds: Sequence[Sequence[int]]) -> list[int]:
    n = len(preds)
    indeg = [len(p) for p in preds]
    children: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(preds):
        for p in ps:
            children[p].append(i)
    order = [i for i in range(n) if indeg[i] == 0]
    for i in order:
        for c in children[i]:
            indeg[c] -= 1
            if indeg[c] == 0:
                order.append(c)
    return order


__all__ = ["RunProfile", "chrome_trace", "profile", "write_trace"]
