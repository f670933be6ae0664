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


def on_a_cluster(address: str) -> list[str]:
    """The Dask backend, and the state check that comes before moving a suite."""
    from thread_order.backends import Backend, DaskBackend, ThreadBackend

    checked = Scheduler(backend=ThreadBackend(workers=4), state_check=True)
    checked.register(attach, "attach", with_state=True, idempotent=True)
    checked.run()
    problems = [f"{issue.task}: {issue.key}: {issue.message}" for issue in checked.state_issues]
    backend: Backend = DaskBackend.connect(address, timeout=10.0)
    try:
        remote = Scheduler(backend=backend)
        remote.register(attach, "attach", with_state=True)
        remote.run()
    finally:
        backend.close()
    return problems
