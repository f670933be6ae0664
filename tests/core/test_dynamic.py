"""Dynamic tasks: a running task adds tasks to its run (issue 5, item 7), on both cores."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

import thread_order
from thread_order import (
    CycleError,
    GrowthError,
    RunInterrupted,
    Scheduler,
    TaskAdded,
    TaskFinished,
    TaskStatus,
    UnknownDependencyError,
    add_task,
)
from thread_order._options import TaskOptionError

pytestmark = pytest.mark.usefixtures("core_impl")


def _statuses(result: thread_order.RunResult) -> dict[str, str]:
    return {r.name: r.status.value.lower() for r in result}


def test_fan_out_with_a_teardown_that_waits_for_the_new_tasks() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def note(what: str) -> None:
        with lock:
            order.append(what)

    def discover() -> list[str]:
        volumes = ["v1", "v2", "v3"]
        for v in volumes:
            add_task(lambda v=v: note(v), name=f"attach[{v}]", after="discover", before="teardown")
        return volumes

    s = Scheduler(workers=4)
    s.register(discover, "discover")
    s.register(lambda: note("teardown"), "teardown", after="discover", run_if="all_done")
    events: list[Any] = []
    s.subscribe(events.extend)
    result = s.run()
    assert result.ok
    assert order[-1] == "teardown"
    assert sorted(order[:-1]) == ["v1", "v2", "v3"]
    assert [r.name for r in result][-1] in {"teardown"}
    assert len(result) == 5
    added = [e for e in events if isinstance(e, TaskAdded)]
    assert [e.task for e in added] == ["attach[v1]", "attach[v2]", "attach[v3]"]
    assert all(e.parent == "discover" and e.before == ("teardown",) for e in added)
    assert added[0].after == ("discover",)
    # each TaskAdded comes before every other event of its task
    for e in added:
        first = next(k for k, x in enumerate(events) if getattr(x, "task", None) == e.task)
        assert events[first] is e
    # the next run starts from the registered tasks again
    assert s.compile().names == ["discover", "teardown"]
    assert len(s.run()) == 5


def test_new_task_gets_upstream_results_and_state() -> None:
    def create(state: dict[str, Any]) -> str:
        add_task(lambda create: create + "-attached", name="attach", after="create")
        add_task(lambda st: st["results"]["attach"], name="check", after="attach", with_state=True)
        return "vpc-1"

    s = Scheduler()
    s.register(create, "create", with_state=True)
    result = s.run()
    assert result["attach"].result == "vpc-1-attached"
    assert result["check"].result == "vpc-1-attached"


def test_dependency_that_failed_skips_the_new_task_with_the_reason() -> None:
    def boom() -> None:
        raise RuntimeError("no quota")

    def later() -> None:
        time.sleep(0.05)  # boom has failed by now
        add_task(lambda: None, name="use_boom", after="boom")
        add_task(lambda: None, name="cleanup", after="boom", run_if="all_done")
        add_task(lambda: None, name="on_failure", after="boom", run_if="any_failed")

    s = Scheduler(workers=2, skip_dependents=True)
    s.register(boom, "boom")
    s.register(later, "later")
    result = s.run()
    st = _statuses(result)
    assert st["use_boom"] == "skipped"
    assert result["use_boom"].reason == "upstream boom failed"
    assert st["cleanup"] == "passed"
    assert st["on_failure"] == "passed"


def test_on_failure_task_added_to_a_run_without_rules_is_skipped_when_nothing_failed() -> None:
    def start() -> None:
        add_task(lambda: None, name="alarm", after="start", run_if="any_failed")

    s = Scheduler(workers=1)
    s.register(start, "start")
    result = s.run()
    assert _statuses(result) == {"start": "passed", "alarm": "skipped"}
    assert result["alarm"].reason == "no dependency failed (runs only when one does)"


def test_added_tasks_keep_their_options_timeout_retries_locks() -> None:
    attempts: list[int] = []
    active = [0]
    peak = [0]
    guard = threading.Lock()

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 2:
            raise ConnectionError("reset")
        return "ok"

    def hold(param: str) -> None:
        with guard:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        with guard:
            active[0] -= 1

    def root() -> None:
        add_task(flaky, retries=2, retry_on=(ConnectionError,))
        add_task(lambda: time.sleep(5), name="stuck", timeout=0.1)
        add_task(hold, name="db", params=["a", "b", "c"], locks=["db"])

    s = Scheduler(workers=4)
    s.register(root, "root")
    result = s.run()
    st = _statuses(result)
    assert st["flaky"] == "passed"
    assert result["flaky"].flaky
    assert st["stuck"] == "timed_out"
    assert "0.1" in (result["stuck"].error.message if result["stuck"].error else "")
    assert [st[f"db[{v}]"] for v in "abc"] == ["passed"] * 3
    assert peak[0] == 1


def test_async_task_adds_and_async_task_added() -> None:
    async def probe() -> str:
        await asyncio.sleep(0.01)
        return "probed"

    async def root() -> None:
        add_task(probe, after="root")
        await asyncio.sleep(0)

    s = Scheduler(workers=1)
    s.register(root, "root")
    result = s.run()
    assert result.ok
    assert result["probe"].result == "probed"
    assert result["probe"].thread == "event_loop"


def test_parametrized_patterns_resolve_against_the_running_graph() -> None:
    def create(param: str) -> str:
        return param

    def root() -> None:
        add_task(lambda: None, name="report", after="create[*]")
        add_task(lambda: None, name="only_west", after="create[us-west]")

    s = Scheduler()
    s.register(create, "create", params=["us-west", "eu"])
    s.register(root, "root")
    result = s.run()
    assert result.ok
    assert len(result) == 5


def test_added_task_can_add_more() -> None:
    def grow(depth: int) -> None:
        if depth < 5:
            add_task(lambda: grow(depth + 1), name=f"level{depth + 1}", after=f"level{depth}")

    s = Scheduler(workers=2)
    s.register(lambda: grow(0), "level0")
    result = s.run()
    assert [r.name for r in result] == [f"level{k}" for k in range(6)]


def test_many_added_tasks_use_every_worker() -> None:
    threads: set[str] = set()
    lock = threading.Lock()

    def work() -> None:
        with lock:
            threads.add(threading.current_thread().name)
        time.sleep(0.02)

    def root() -> None:
        for k in range(16):
            add_task(work, name=f"work{k}")

    s = Scheduler(workers=4)
    s.register(root, "root")  # one registered task: the run would need one thread only
    result = s.run()
    assert result.ok
    assert len(threads) >= 2


# -- bad input: the task that asked gets a clear error, the run goes on ------------------------


_EXISTING_DONE = threading.Event()


def _error_of(adder: Any, **scheduler: Any) -> thread_order.TaskRecord:
    _EXISTING_DONE.clear()
    s = Scheduler(**scheduler)
    s.register(lambda: None, "existing")
    s.on_task_done(lambda name, *_: _EXISTING_DONE.set() if name == "existing" else None)
    s.register(lambda: time.sleep(0.2), "slow")
    s.register(adder, "adder")
    s.register(lambda: None, "last", after="adder")
    result = s.run()
    assert result["existing"].status is TaskStatus.PASSED
    return result["adder"]


@pytest.mark.parametrize(
    ("adder", "error", "message"),
    [
        (
            lambda: add_task(lambda: None, name="existing"),
            "GrowthError",
            "cannot add task 'existing': a task of that name exists",
        ),
        (
            lambda: add_task(lambda: None, name="x", after="nope"),
            "UnknownDependencyError",
            "x depends on unknown ['nope']",
        ),
        (
            lambda: add_task(lambda: None, name="x", after="last", before="last"),
            "CycleError",
            "dependency cycle: x -> last -> x",
        ),
        (
            lambda: add_task(lambda: None, name="x", before="existing"),
            "GrowthError",
            "cannot add task 'x' before 'existing': it has already started",
        ),
        (
            lambda: add_task(lambda: None, name="x", timeout=0),
            "TaskOptionError",
            "timeout",
        ),
        (lambda: add_task(42, name="x"), "ValueError", "object must be callable"),
        (lambda: add_task(lambda: None, name="x", before=[1]), "TypeError", "before of task"),
    ],
)
def test_bad_additions_fail_the_task_that_asked(adder: Any, error: str, message: str) -> None:
    def run_adder() -> None:
        _EXISTING_DONE.wait(5)  # "existing" has run by now
        adder()

    record = _error_of(run_adder, workers=3)
    assert record.status is TaskStatus.FAILED
    assert record.error is not None
    assert record.error.type == error
    assert message in record.error.message


def test_cycle_through_earlier_added_tasks_names_the_whole_loop() -> None:
    seen: list[BaseException] = []

    def root() -> None:
        add_task(lambda: None, name="a", before="z")
        add_task(lambda: None, name="b", after="a")
        try:
            add_task(lambda: None, name="c", after="b", before="a")
        except CycleError as exc:
            seen.append(exc)

    s = Scheduler(workers=1)
    s.register(root, "root")
    s.register(lambda: None, "z", after="root")
    result = s.run()
    assert result.ok  # the refused task left the run as it was
    assert sorted(r.name for r in result) == ["a", "b", "root", "z"]
    assert result["z"].start is not None
    assert result["a"].end is not None
    assert result["z"].start >= result["a"].end
    assert str(seen[0]) == "dependency cycle: c -> a -> b -> c"


def test_add_task_outside_a_run_is_an_error() -> None:
    with pytest.raises(GrowthError, match=r"must be called from a task"):
        add_task(lambda: None, name="x")
    s = Scheduler()
    with pytest.raises(GrowthError, match=r"no run in progress"):
        s.add_task(lambda: None, name="x")


def test_scheduler_add_task_from_a_callback_on_the_scheduler_thread() -> None:
    s = Scheduler(workers=2)
    gate = threading.Event()
    s.register(lambda: gate.wait(5), "wait")
    added: list[str] = []

    def listener(events: Sequence[Any]) -> None:
        for e in events:
            if isinstance(e, thread_order.TaskStarted) and e.task == "wait" and not added:
                added.extend(s.add_task(lambda: "hi", name="extra", after="wait"))
                gate.set()

    s.subscribe(listener)
    result = s.run()
    assert added == ["extra"]
    assert result["extra"].status is TaskStatus.PASSED
    assert result["extra"].result == "hi"


def test_tasks_added_while_the_run_stops_are_cancelled() -> None:
    adder_runs = threading.Event()
    failed = threading.Event()

    def fail() -> None:
        adder_runs.wait(5)
        failed.set()
        raise RuntimeError("first failure")

    def adder() -> None:
        adder_runs.set()
        failed.wait(5)
        deadline = time.monotonic() + 5
        while not s._active.stopped and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.005)  # until the failure has stopped the run
        add_task(lambda: None, name="late")
        add_task(lambda: None, name="late_cleanup", after="adder", run_if="all_done")

    s = Scheduler(workers=2)
    s.register(fail, "fail")
    s.register(adder, "adder")
    result = s.run(max_failures=1)
    st = _statuses(result)
    assert st["late"] == "cancelled"
    assert st["late_cleanup"] == "cancelled"
    assert st["adder"] == "passed"


def test_interrupted_run_reports_added_tasks() -> None:
    s = Scheduler(workers=2, cancel_grace=0.5)

    def root() -> None:
        add_task(lambda: time.sleep(0.05), name="child")
        raise KeyboardInterrupt

    s.register(root, "root")
    with pytest.raises(RunInterrupted) as info:
        s.run()
    assert "child" in {r.name for r in info.value.result}


def test_streaming_sees_added_tasks() -> None:
    def root() -> None:
        add_task(lambda: 7, name="child")

    s = Scheduler()
    s.register(root, "root")
    names = [record.name for record in s.iter_run()]
    # child does not wait for root: on two workers either may finish first
    assert sorted(names) == ["child", "root"]


def test_options_are_checked_like_registration() -> None:
    errors: list[BaseException] = []

    def root() -> None:
        try:
            add_task(lambda: None, name="x", retries=-1)
        except TaskOptionError as exc:
            errors.append(exc)

    s = Scheduler()
    s.register(root, "root")
    assert s.run().ok
    assert "retries" in str(errors[0])


def test_callbacks_fire_for_added_tasks() -> None:
    done: list[str] = []
    s = Scheduler()
    s.on_task_done(lambda name, thread, status, count, ctx: done.append(name))

    def root() -> None:
        add_task(lambda: None, name="child")

    s.register(root, "root")
    summary = s.start()
    assert sorted(done) == ["child", "root"]  # in completion order, which is not fixed here
    assert summary["passed"] == done


def test_finished_event_and_added_event_types_are_exported() -> None:
    assert issubclass(TaskAdded, object)
    assert TaskFinished.__name__ == "TaskFinished"
    assert UnknownDependencyError.__mro__[1].__name__ == "GraphError"
