"""Type-checked usage examples of the public API (checked by mypy, not run by pytest)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from thread_order import Event, RunResult, Scheduler, TaskFinished, TaskStatus, mark


@mark(after=["create"], tags="smoke")
def attach(state: dict[str, Any]) -> str:
    return str(state["results"]["create"])


def listener(events: Sequence[Event]) -> None:
    for e in events:
        if isinstance(e, TaskFinished) and e.status is TaskStatus.FAILED:
            assert e.error is not None
            print(e.task, e.error.type, e.error.message)


def main() -> RunResult:
    s = Scheduler(workers=2, skip_dependents=True)
    s.register(lambda: "vpc-1", "create")
    s.register(attach, "attach", after="create", with_state=True)
    s.subscribe(listener)
    summary: dict[str, Any] = s.start()
    assert summary["passed"]
    result = s.run(max_failures=1, priority={"create": 1})
    for record in result:
        duration: float | None = record.duration
        print(record.name, record.status.value, duration)
    return result
