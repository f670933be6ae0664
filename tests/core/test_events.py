"""The typed event stream and the run result built from it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from thread_order import (
    Event,
    RunFinished,
    RunResult,
    RunStarted,
    Scheduler,
    TaskDispatched,
    TaskFinished,
    TaskStarted,
    TaskStatus,
)

pytestmark = pytest.mark.usefixtures("core_impl")


def _collect(s: Scheduler) -> list[Event]:
    events: list[Event] = []

    def listener(batch: Sequence[Event]) -> None:
        events.extend(batch)

    s.subscribe(listener)
    return events


def test_events_are_typed_ordered_and_complete() -> None:
    s = Scheduler(workers=2, skip_dependents=True)
    s.register(lambda: "A", "a")
    s.register(lambda: 1 / 0, "b", after="a")
    s.register(lambda: None, "c", after="b")
    events = _collect(s)
    result = s.run()
    assert isinstance(events[0], RunStarted)
    assert events[0].total == 3
    assert isinstance(events[-1], RunFinished)
    assert events[-1].result is result
    kinds = {
        name: [type(e).__name__ for e in events if getattr(e, "task", None) == name]
        for name in "abc"
    }
    assert kinds["a"] == ["TaskDispatched", "TaskStarted", "TaskFinished"]
    assert kinds["c"] == ["TaskFinished"]  # skipped: never dispatched
    finished = {e.task: e for e in events if isinstance(e, TaskFinished)}
    assert finished["a"].result == "A"
    assert finished["a"].thread.startswith("thread_")
    assert finished["a"].start is not None
    assert finished["a"].time >= finished["a"].start
    assert finished["b"].status is TaskStatus.FAILED
    assert finished["b"].error is not None
    assert finished["b"].error.type == "ZeroDivisionError"
    assert finished["c"].reason == "upstream b failed"
    assert [e.count for e in events if isinstance(e, TaskFinished)] == [1, 2, 3]
    times = [e.time for e in events if isinstance(e, (TaskStarted, TaskDispatched))]
    assert times == sorted(times)


def test_listeners_run_on_the_calling_thread() -> None:
    s = Scheduler(workers=3)
    for k in range(6):
        s.register(lambda: None, f"t{k}")
    threads: set[str] = set()
    s.subscribe(lambda batch: threads.add(threading.current_thread().name))
    s.run()
    assert threads == {threading.current_thread().name}


def test_a_slow_listener_does_not_delay_dispatch() -> None:
    """Twenty chained tasks finish while the listener is still busy with the first batch."""
    s = Scheduler(workers=2)
    for k in range(20):
        s.register(lambda: None, f"t{k}", after=[f"t{k - 1}"] if k else None)
    ends: list[float] = []
    first_batch_done: list[float] = []

    def slow(batch: Sequence[Event]) -> None:
        if isinstance(batch[0], RunStarted):
            return  # delivered before dispatch begins, like 1.4.0's on_scheduler_start
        if not first_batch_done:
            time.sleep(0.5)
            first_batch_done.append(time.perf_counter())
        ends.extend(e.time for e in batch if isinstance(e, TaskFinished))

    s.subscribe(slow)
    s.run()
    assert len(ends) == 20
    assert max(ends) < first_batch_done[0]


def test_a_raising_listener_is_ignored() -> None:
    s = Scheduler(workers=1)
    s.register(lambda: None, "a")

    def bad(batch: Sequence[Event]) -> None:
        raise RuntimeError("listener bug")

    s.subscribe(bad)
    assert s.run().ok


def test_a_listener_can_ask_for_some_kinds_only() -> None:
    s = Scheduler(workers=2)
    s.register(lambda: "A", "a")
    s.register(lambda: 1 / 0, "b", after="a")
    finished: list[Event] = []
    starts: list[Event] = []
    everything = _collect(s)
    s.subscribe(finished.extend, kinds=[TaskFinished])
    s.subscribe(starts.extend, kinds=(TaskStarted, RunFinished))
    s.run()
    assert [(type(e), e.task) for e in finished] == [(TaskFinished, "a"), (TaskFinished, "b")]
    assert [type(e) for e in starts] == [TaskStarted, TaskStarted, RunFinished]
    assert len(everything) == 2 + 2 * 3  # the run's two events and three per task


def test_with_no_listener_for_starts_none_is_made_and_the_record_keeps_the_times() -> None:
    s = Scheduler(workers=2)
    s.register(lambda: "A", "a")
    s.register(lambda: None, "b", after="a")
    finished: list[Event] = []
    s.subscribe(finished.extend, kinds=[TaskFinished])
    result = s.run()
    assert [e.task for e in finished] == ["a", "b"]
    for e in finished:
        assert isinstance(e, TaskFinished)
        assert e.thread.startswith("thread_")
        assert e.start is not None and e.time >= e.start
    assert result.starts[0] <= result.ends[0] <= result.starts[1]


def test_kinds_that_are_not_event_classes_are_refused_by_name() -> None:
    s = Scheduler(workers=1)
    with pytest.raises(TypeError, match="kinds: <class 'str'> is not an event class"):
        s.subscribe(print, kinds=[TaskFinished, str])


def test_the_fast_passed_event_equals_the_constructed_one() -> None:
    """Tasks that pass are made through their slots (``passed_event``): every field must be
    set exactly as the dataclass's own constructor sets it."""
    from thread_order._events import passed_event

    made = passed_event("a", 3, "thread_1", 1.5, 2.5, 7, {"r": 1}, 2)
    assert made == TaskFinished(
        "a", 3, TaskStatus.PASSED, "thread_1", 1.5, 2.5, 7, result={"r": 1}, attempts=2
    )
    assert repr(made) == repr(
        TaskFinished(
            "a", 3, TaskStatus.PASSED, "thread_1", 1.5, 2.5, 7, result={"r": 1}, attempts=2
        )
    )


def test_run_result_records() -> None:
    s = Scheduler(workers=2)
    s.register(lambda: time.sleep(0.01) or 7, "slow")
    s.register(lambda: None, "after", after="slow")
    result = s.run()
    assert isinstance(result, RunResult)
    assert len(result) == 2
    assert "slow" in result
    assert [r.name for r in result] == ["slow", "after"]
    rec = result["slow"]
    assert rec.status is TaskStatus.PASSED
    assert rec.result == 7
    assert rec.duration is not None
    assert rec.duration >= 0.009
    assert rec.thread.startswith("thread_")
    assert result.ok
    assert result.counts()[TaskStatus.PASSED] == 2
    assert result.summary()["passed"] == ["slow", "after"]
    assert repr(result).startswith("<RunResult ==== 2 passed")


def test_summary_is_derived_from_the_result() -> None:
    s = Scheduler(workers=2, skip_dependents=True)
    s.register(lambda: 1 / 0, "a")
    s.register(lambda: None, "b", after="a")
    seen: list[dict[str, Any]] = []
    s.on_scheduler_done(seen.append)
    result = s.run()
    assert seen[0] == {**result.summary(), "text": seen[0]["text"]}


def test_current_task_names_the_running_task() -> None:
    from thread_order import current_task

    s = Scheduler(workers=2)
    seen: dict[str, str | None] = {}
    for name in ("a", "b", "c"):
        s.register(lambda name=name: seen.__setitem__(name, current_task()), name)
    s.run()
    assert seen == {"a": "a", "b": "b", "c": "c"}
    assert current_task() is None


def test_run_result_converts_task_times_to_epoch() -> None:
    s = Scheduler(workers=1)
    s.register(lambda: None, "a")
    r = s.run()
    start = r["a"].start
    assert start is not None
    epoch = r.started_at + (start - r.started_perf)
    assert r.started_at <= epoch <= r.finished_at


def test_iter_run_streams_records_as_tasks_complete() -> None:
    s = Scheduler(workers=2, skip_dependents=True)
    gate = threading.Event()
    s.register(lambda: "fast", "fast")
    s.register(lambda: gate.wait(5) and "slow", "slow")
    s.register(lambda: 1 / 0, "bad")
    s.register(lambda: None, "after_bad", after="bad")
    seen: list[tuple[str, TaskStatus]] = []
    stream = s.iter_run()
    for record in stream:
        seen.append((record.name, record.status))
        if len(seen) == 3:
            gate.set()  # "slow" is still running while the first three are already here
    assert seen[-1] == ("slow", TaskStatus.PASSED)
    assert set(seen) == {
        ("fast", TaskStatus.PASSED),
        ("slow", TaskStatus.PASSED),
        ("bad", TaskStatus.FAILED),
        ("after_bad", TaskStatus.SKIPPED),
    }


def test_leaving_iter_run_early_cancels_the_rest() -> None:
    release = threading.Event()
    s = Scheduler(workers=1, cancel_grace=0.1)
    s.register(lambda: "first", "first")
    s.register(lambda: release.wait(5), "blocked", after="first")
    s.register(lambda: None, "never", after="blocked")
    started = time.perf_counter()
    for record in s.iter_run():
        assert record.name == "first"
        break
    release.set()
    assert time.perf_counter() - started < 3
    assert s.cancel() is False  # nothing is running any more
