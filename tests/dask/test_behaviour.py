"""The thread backend's behaviour, on threads and on an in-process Dask cluster alike:
statuses, skip reasons, trigger rules, run_if, retries, timeouts, data passing, fail-fast,
limits, events and the run result."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from thread_order import RunInterrupted, Scheduler, TaskStatus
from thread_order._events import RunFinished, RunStarted, TaskFinished, TaskStarted

Make = Any  # conftest.make: a Scheduler factory parametrized over the backends

pytest.importorskip("distributed", reason="the Dask backend needs thread-order[dask]")

P, F, S, C, T = (
    TaskStatus.PASSED,
    TaskStatus.FAILED,
    TaskStatus.SKIPPED,
    TaskStatus.CANCELLED,
    TaskStatus.TIMED_OUT,
)


def ok() -> str:
    return "ok"


def boom() -> None:
    raise RuntimeError("boom")


def statuses(result: Any) -> dict[str, TaskStatus]:
    return {r.name: r.status for r in result}


def test_statuses_skips_and_trigger_rules(make: Make) -> None:
    s = make(skip_dependents=True)
    s.register(ok, "create")
    s.register(boom, "attach", after="create")
    s.register(ok, "verify", after="attach")
    s.register(ok, "verify_more", after="verify")
    s.register(ok, "cleanup", after=["verify", "create"], run_if="all_done")
    s.register(ok, "diagnose", after="attach", run_if="any_failed")
    s.register(ok, "page", after="create", run_if="any_failed")
    result = s.run()
    assert statuses(result) == {
        "create": P,
        "attach": F,
        "verify": S,
        "verify_more": S,
        "cleanup": P,
        "diagnose": P,
        "page": S,
    }
    assert result["verify_more"].reason == "upstream attach failed"
    assert result["page"].reason == "no dependency failed (runs only when one does)"
    error = result["attach"].error
    assert error is not None
    assert (error.type, error.message) == ("RuntimeError", "boom")
    assert "raise RuntimeError" in error.traceback


def test_dependents_run_without_skip_dependents(make: Make) -> None:
    s = make(skip_dependents=False)
    s.register(boom, "a")
    s.register(ok, "b", after="a")
    assert statuses(s.run()) == {"a": F, "b": P}


def flaky(state: dict[str, Any]) -> str:
    # the state a task gets stays the same across its retries, on every backend
    state["calls"] = state.get("calls", 0) + 1
    if state["calls"] < 3:
        raise ConnectionError(f"attempt {state['calls']}")
    return f"passed on {state['calls']}"


def test_retries_record_failed_attempts(make: Make) -> None:
    s = make()
    s.register(flaky, "flaky", with_state=True, retries=3, retry_on=ConnectionError)
    s.register(boom, "hopeless", retries=1)
    result = s.run()
    assert result["flaky"].status is P
    assert result["flaky"].result == "passed on 3"
    assert [e.message for e in result["flaky"].retried] == ["attempt 1", "attempt 2"]
    assert result.flaky() == ["flaky"]
    assert result["hopeless"].status is F
    assert result["hopeless"].attempts == 2


def stuck() -> None:
    time.sleep(1.5)


def test_timeout_is_reported_and_skips_dependents(make: Make) -> None:
    s = make(skip_dependents=True)
    s.register(stuck, "stuck", timeout=0.2)
    s.register(ok, "after", after="stuck")
    s.register(ok, "other")
    started = time.perf_counter()
    result = s.run()
    assert time.perf_counter() - started < 1.2  # not waiting for the stuck body
    assert statuses(result) == {"stuck": T, "after": S, "other": P}
    assert result["after"].reason == "upstream stuck timed out"
    error = result["stuck"].error
    assert error is not None and error.type == "TimeoutError"


def make_vpc(param: str) -> dict[str, str]:
    return {"id": f"vpc-{param}"}


def subnet(make_vpc: dict[str, dict[str, str]]) -> list[str]:
    return sorted(v["id"] for v in make_vpc.values())


def only_if_two(subnet: list[str]) -> bool:
    return len(subnet) == 2


def test_params_data_passing_and_run_if(make: Make) -> None:
    s = make(skip_dependents=True)
    s.register(make_vpc, "make_vpc", params=["eu", "us"])
    s.register(subnet, "subnet", after="make_vpc[*]")
    s.register(ok, "announce", after="subnet", run_if=only_if_two)
    s.register(ok, "never", after="subnet", run_if=lambda subnet: len(subnet) > 5)
    result = s.run()
    assert result["subnet"].result == ["vpc-eu", "vpc-us"]
    assert result["announce"].status is P
    assert result["never"].status is S
    assert result["never"].reason == "run_if condition of never is false"


def slow() -> str:
    time.sleep(0.3)
    return "slow"


def test_fail_fast_cancels_what_has_not_started(make: Make) -> None:
    s = make(workers=2, skip_dependents=True)
    s.register(boom, "fails")
    s.register(slow, "slow")
    s.register(ok, "after_slow", after="slow")
    result = s.run(max_failures=1)
    assert statuses(result) == {"fails": F, "slow": P, "after_slow": C}
    assert result["after_slow"].reason == "not run: stopped after 1 failure(s)"


def hold() -> tuple[float, float]:
    start = time.time()
    time.sleep(0.1)
    return start, time.time()


def test_a_limit_holds_across_workers(make: Make) -> None:
    s = make(workers=4, limits={"api": 2})
    for k in range(6):
        s.register(hold, f"call{k}", locks=["api"])
    result = s.run()
    assert result.ok
    spans = [r.result for r in result]
    peak = max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)
    assert peak == 2


def test_events_match_the_run(make: Make) -> None:
    events: list[Any] = []
    s = make(skip_dependents=True)
    s.subscribe(lambda batch: events.extend(batch))
    s.register(ok, "a")
    s.register(boom, "b", after="a")
    s.register(ok, "c", after="b")
    result = s.run()
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-1], RunFinished)
    finished = {e.task: e for e in events if isinstance(e, TaskFinished)}
    started = {e.task for e in events if isinstance(e, TaskStarted)}
    assert started == {"a", "b"}
    assert {k: e.status for k, e in finished.items()} == {"a": P, "b": F, "c": S}
    assert [e.count for e in events if isinstance(e, TaskFinished)] == [1, 2, 3]
    assert finished["a"].thread == result["a"].thread != ""
    if make.kind == "dask":  # type: ignore[attr-defined]
        host_pid_thread = finished["a"].thread.split(":")
        assert len(host_pid_thread) == 3 and host_pid_thread[1].isdigit()
    summary = result.summary()
    assert (summary["passed"], summary["failed"], summary["skipped"]) == (["a"], ["b"], ["c"])


def cancelled_once_started(s: Scheduler, count: int) -> Any:
    """Run ``s`` and cancel it as soon as ``count`` tasks have started (seen by a listener on the
    run's events, not guessed from a delay a loaded machine may overrun); the interrupted run's
    result."""
    started = 0

    def watch(batch: list[Any]) -> None:
        nonlocal started
        before = started
        started += sum(isinstance(e, TaskStarted) for e in batch)
        if before < count <= started:
            s.cancel()

    s.subscribe(watch)
    with pytest.raises(RunInterrupted) as interrupted:
        s.run()
    return interrupted.value.result


def test_cancel_reports_unstarted_tasks_cancelled(make: Make) -> None:
    s = make(workers=1, cancel_grace=5)
    s.register(slow, "first")
    s.register(ok, "second", after="first")
    result = cancelled_once_started(s, 1)
    assert statuses(result) == {"first": P, "second": C}
    assert result.interrupted


def test_deadline_times_out_running_tasks(make: Make) -> None:
    s = make(deadline=0.3)
    s.register(stuck, "stuck")
    s.register(ok, "next", after="stuck")
    result = s.run()
    assert statuses(result) == {"stuck": T, "next": C}
    assert result["next"].reason == "not run: the run deadline of 0.3s passed"


def test_results_reach_the_state_after_the_run(make: Make) -> None:
    s = make()
    s.register(ok, "a")
    s.register(lambda a: a + "!", "b", after="a")
    s.run()
    assert s.state["results"] == {"a": "ok", "b": "ok!"}


def test_a_backend_must_be_one(inproc: Any) -> None:
    with pytest.raises(TypeError, match="backend must be"):
        Scheduler(backend="dask")
    assert Scheduler(backend=inproc).backend is inproc


def grows() -> None:
    import thread_order

    thread_order.add_task(ok, "added")  # type: ignore[attr-defined]


def test_dynamic_tasks_are_refused_clearly_on_dask(inproc: Any) -> None:
    import thread_order

    if not hasattr(thread_order, "add_task"):
        pytest.skip("thread_order.add_task (dynamic tasks) is not in this tree")
    s = Scheduler(backend=inproc)
    s.register(grows, "grows")
    result = s.run()
    assert result["grows"].status is F
    error = result["grows"].error
    assert error is not None
    assert error.message.startswith("add_task() is not supported on a distributed backend")


def test_cancel_drops_queued_tasks_and_lets_running_ones_finish(make: Make) -> None:
    s = make(workers=4, cancel_grace=5)
    for k in range(12):
        s.register(slow, f"t{k:02d}")
    result = cancelled_once_started(s, 4)
    counts = {status: sum(1 for r in result if r.status is status) for status in (P, C)}
    assert counts == {P: 4, C: 8}  # the 4 that had started finished; the queued 8 never ran
    assert all(r.reason == "run cancelled" and r.thread == "" for r in result if r.status is C)


def test_an_unreachable_scheduler_is_an_error_naming_it() -> None:
    from thread_order.backends import BackendError, DaskBackend

    with pytest.raises(
        BackendError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
    ):
        DaskBackend.connect("tcp://127.0.0.1:9", timeout=0.5)


def _fire_and_forget_keys(dask_scheduler: Any) -> list[str]:
    return [
        str(ts.key)
        for ts in dask_scheduler.tasks.values()
        if any(cs.client_key == "fire-and-forget" for cs in ts.who_wants or ())
    ]


def test_a_teardown_is_handed_to_the_cluster_before_its_dependencies_end(inproc: Any) -> None:
    s = Scheduler(backend=inproc, skip_dependents=True)
    s.register(slow, "work")
    s.register(ok, "cleanup", after="work", run_if="all_done")
    seen: list[list[str]] = []
    probe = threading.Timer(
        0.15, lambda: seen.append(inproc.client.run_on_scheduler(_fire_and_forget_keys))
    )
    probe.start()
    result = s.run()
    probe.join()
    assert statuses(result) == {"work": P, "cleanup": P}
    # while "work" still ran, "cleanup" (task 1) was on the scheduler, owned by no client
    assert [key.rsplit("-", 1)[1] for key in seen[0]] == ["1"]


def test_idempotent_must_be_a_bool() -> None:
    from thread_order._options import TaskOptionError

    with pytest.raises(TaskOptionError, match="task 't': idempotent must be True or False"):
        Scheduler().register(ok, "t", idempotent="yes")


async def fetch(param: str) -> str:
    import asyncio

    await asyncio.sleep(0.05)
    return param.upper()


async def hangs() -> None:
    import asyncio

    await asyncio.sleep(5)


def test_async_tasks_and_their_timeouts(make: Make) -> None:
    s = make(skip_dependents=True)
    s.register(fetch, "fetch", params=["eu", "us"])
    s.register(lambda fetch: sorted(fetch.values()), "gather", after="fetch[*]")
    s.register(hangs, "hangs", timeout=0.2)
    s.register(ok, "after_hangs", after="hangs")
    result = s.run()
    assert result["gather"].result == ["EU", "US"]
    assert statuses(result)["hangs"] is T
    assert result["after_hangs"].reason == "upstream hangs timed out"


def test_iter_run_streams_records(make: Make) -> None:
    s = make(skip_dependents=True)
    s.register(ok, "a")
    s.register(boom, "b", after="a")
    s.register(ok, "c", after="b")
    stream = s.iter_run()
    seen = [(r.name, r.status) for r in stream]
    assert seen == [("a", P), ("b", F), ("c", S)]
