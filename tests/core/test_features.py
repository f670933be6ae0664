"""Engine features for lifecycle suites, through the public Scheduler API (issue 5)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from thread_order import Scheduler, TaskStatus
from thread_order._options import TaskOptionError

pytestmark = pytest.mark.usefixtures("core_impl")


# -- async tasks --------------------------------------------------------------------------------


def test_async_tasks_run_concurrently_on_one_loop_next_to_threads() -> None:
    loops: set[int] = set()

    async def call_api(state: dict[str, Any]) -> str:
        loops.add(id(asyncio.get_running_loop()))
        await asyncio.sleep(0.2)
        return "ok"

    s = Scheduler(workers=2)
    for k in range(5):
        s.register(call_api, f"api{k}", with_state=True)
    s.register(lambda: "sync", "plain")
    s.register(lambda st: st["results"]["api0"], "after", after="api0", with_state=True)
    started = time.perf_counter()
    result = s.run()
    assert time.perf_counter() - started < 0.8  # five 0.2 s coroutines at once, not in turn
    assert result.ok
    assert len(loops) == 1
    assert result["api3"].thread == "event_loop"
    assert result["after"].result == "ok"


def test_async_failure_and_timeout_cancel_for_real() -> None:
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def broken() -> None:
        raise RuntimeError("boom")

    s = Scheduler(workers=1, skip_dependents=True)
    s.register(slow, "slow", timeout=0.1)
    s.register(broken, "broken")
    s.register(lambda: None, "after_slow", after="slow")
    result = s.run()
    assert result["slow"].status is TaskStatus.TIMED_OUT
    assert cancelled.wait(2)
    assert result["broken"].error is not None
    assert result["broken"].error.message == "boom"
    assert result["after_slow"].status is TaskStatus.SKIPPED


def test_a_coroutine_function_among_plain_functions_is_awaited() -> None:
    """A suite of functions without parameters is planned at once, per distinct function;
    one coroutine function among them still goes to the event loop."""

    async def fetch() -> str:
        await asyncio.sleep(0)
        return "fetched"

    s = Scheduler(workers=2)
    for k in range(50):
        s.register(lambda: "plain", f"plain{k}")
    s.register(fetch, "fetch", after="plain0")
    result = s.run()
    assert result.ok
    assert result["fetch"].result == "fetched"
    assert result["fetch"].thread == "event_loop"


def test_an_unhashable_callable_object_among_plain_functions_is_called() -> None:
    class Probe:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self) -> str:
            return "probed"

    s = Scheduler(workers=2)
    for k in range(50):
        s.register(lambda: "plain", f"plain{k}")
    s.register(Probe(), "probe", after="plain0")
    result = s.run()
    assert result.ok
    assert result["probe"].result == "probed"


# -- timeouts -------------------------------------------------------------------------------


def test_a_sync_timeout_shows_where_it_was_stuck_and_frees_the_lane() -> None:
    release = threading.Event()

    def stuck_waiting_for_the_api() -> None:
        release.wait(10)

    s = Scheduler(workers=1, skip_dependents=True)
    s.register(stuck_waiting_for_the_api, "stuck", timeout=0.2)
    s.register(lambda: None, "child", after="stuck")
    s.register(lambda: "ran", "independent")
    started = time.perf_counter()
    result = s.run()
    assert time.perf_counter() - started < 3
    release.set()
    rec = result["stuck"]
    assert rec.status is TaskStatus.TIMED_OUT
    assert rec.error is not None
    assert "stuck_waiting_for_the_api" in rec.error.traceback
    assert "left running and replaced" in rec.error.message
    assert result["child"].status is TaskStatus.SKIPPED
    assert result["independent"].status is TaskStatus.PASSED  # one worker, still ran
    assert result.summary()["timed_out"] == ["stuck"]


def test_a_task_that_returns_past_its_timeout_is_timed_out_when_the_watchdog_is_late(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a busy machine the watchdog's thread can be scheduled after the task returns; the
    # task still ran past its timeout. A watchdog that never fires stands in for a late one.
    from thread_order._watchdog import Watchdog

    arm = Watchdog.arm
    monkeypatch.setattr(Watchdog, "arm", lambda self, task, seconds: arm(self, task, 3600.0))
    s = Scheduler(workers=2, skip_dependents=True)
    s.register(lambda: time.sleep(0.05), "slow", timeout=0.01)

    def slow_and_failing() -> None:
        time.sleep(0.05)
        raise RuntimeError("after its timeout")

    s.register(slow_and_failing, "slow_and_failing", timeout=0.01)
    s.register(lambda: "ok", "quick", timeout=5)
    s.register(lambda: None, "child", after="slow")
    result = s.run()
    for name in ("slow", "slow_and_failing"):
        rec = result[name]
        assert rec.status is TaskStatus.TIMED_OUT, name
        assert rec.error is not None and rec.error.type == "TimeoutError"
        assert rec.error.message.startswith("timed out after 0.01s; it returned after ")
    assert result["quick"].status is TaskStatus.PASSED
    assert result["child"].status is TaskStatus.SKIPPED
    assert sorted(result.summary()["timed_out"]) == ["slow", "slow_and_failing"]


def test_default_task_timeout_and_run_deadline() -> None:
    s = Scheduler(workers=2, task_timeout=0.1)
    s.register(lambda: time.sleep(1), "slow")
    s.register(lambda: None, "quick")
    r = s.run()
    assert r["slow"].status is TaskStatus.TIMED_OUT
    assert r["quick"].status is TaskStatus.PASSED
    d = Scheduler(workers=1, deadline=0.2)
    d.register(lambda: time.sleep(1), "long")
    d.register(lambda: None, "later", after="long")
    r = d.run()
    assert r["long"].status is TaskStatus.TIMED_OUT
    assert r["later"].status is TaskStatus.CANCELLED
    assert "deadline" in r["later"].reason


@pytest.mark.parametrize("bad", [0, -1, float("inf"), "2"])
def test_bad_timeouts_name_the_task(bad: Any) -> None:
    with pytest.raises(TaskOptionError, match="task 'create': timeout"):
        Scheduler().register(lambda: None, "create", timeout=bad)


# -- retries --------------------------------------------------------------------------------


def test_retries_record_every_attempt_and_report_flaky() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError(f"attempt {len(calls)}")
        return "ok"

    s = Scheduler(workers=1)
    s.register(flaky, "flaky", retries=3, retry_on=ConnectionError)
    s.register(lambda: 1 / 0, "never_retried", retries=2, retry_on=ConnectionError)
    r = s.run()
    assert r["flaky"].status is TaskStatus.PASSED
    assert r["flaky"].attempts == 3
    assert r["flaky"].flaky
    assert [e.message for e in r["flaky"].retried] == ["attempt 1", "attempt 2"]
    assert r["never_retried"].attempts == 1
    assert r.summary()["flaky"] == ["flaky"]
    assert "1 flaky" in r.summary_text()


# -- trigger rules and conditions -----------------------------------------------------------


def test_teardown_runs_after_a_failure_and_on_failure_handlers_fire() -> None:
    s = Scheduler(workers=2, skip_dependents=True)
    s.register(lambda: "vpc", "create")
    s.register(lambda: 1 / 0, "attach", after="create")
    s.register(lambda: None, "verify", after="attach")
    s.register(lambda: "deleted", "teardown", after=["verify"], run_if="all_done")
    s.register(lambda: "paged", "on_failure", after=["attach"], run_if="any_failed")
    s.register(lambda: "noop", "on_create_failure", after=["create"], run_if="any_failed")
    r = s.run()
    assert r["verify"].status is TaskStatus.SKIPPED
    assert r["teardown"].status is TaskStatus.PASSED
    assert r["on_failure"].status is TaskStatus.PASSED
    assert r["on_create_failure"].status is TaskStatus.SKIPPED


def test_a_false_condition_skips_with_the_reason_and_skips_dependents() -> None:
    s = Scheduler(workers=1, state={"env": "prod"}, skip_dependents=True)
    s.register(lambda: None, "wipe_db", run_if=lambda state: state["env"] != "prod")
    s.register(lambda: None, "reseed", after="wipe_db")
    r = s.run()
    assert r["wipe_db"].status is TaskStatus.SKIPPED
    assert "run_if condition" in r["wipe_db"].reason
    assert r["reseed"].status is TaskStatus.SKIPPED
    assert r["reseed"].reason == "upstream wipe_db failed" or "wipe_db" in r["reseed"].reason


def test_a_raising_predicate_fails_the_task() -> None:
    s = Scheduler(workers=1)
    s.register(lambda: None, "t", run_if=lambda state: state["missing"])
    r = s.run()
    assert r["t"].status is TaskStatus.FAILED


# -- locks and limits -----------------------------------------------------------------------


def test_limits_cap_concurrency_and_waiting_tasks_hold_no_worker() -> None:
    lock = threading.Lock()
    running = {"api": 0, "db": 0}
    peak = {"api": 0, "db": 0}
    order: list[str] = []

    def task(group: str, name: str) -> Any:
        def run() -> None:
            with lock:
                running[group] += 1
                peak[group] = max(peak[group], running[group])
            time.sleep(0.03)
            with lock:
                running[group] -= 1
                order.append(name)

        return run

    s = Scheduler(workers=6, limits={"api": 2})
    for k in range(6):
        s.register(task("api", f"api{k}"), f"api{k}", locks=["api"])
    for k in range(3):
        s.register(task("db", f"db{k}"), f"db{k}", locks="db")
    r = s.run()
    assert r.ok
    assert peak == {"api": 2, "db": 1}
    assert len(order) == 9


def test_bad_lock_names_and_limits_are_rejected() -> None:
    with pytest.raises(TaskOptionError, match="task 'x': locks"):
        Scheduler().register(lambda: None, "x", locks=[3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="limits: 'api' must be an int >= 1"):
        Scheduler(limits={"api": 0})


# -- parametrized tasks and data passing ----------------------------------------------------


def test_params_make_one_task_per_value_with_matching_dependencies() -> None:
    s = Scheduler(workers=3)

    def create(region: str) -> str:
        return f"vpc-{region}"

    def attach(region: str, create: str) -> str:
        return f"{create}+subnet"

    def report(create: dict[str, str]) -> list[str]:
        return sorted(create.values())

    s.register(create, "create", params={"region": ["us-west", "eu"]})
    s.register(attach, "attach", after=["create[{region}]"], params={"region": ["us-west", "eu"]})
    s.register(report, "report", after=["create[*]"])
    r = s.run()
    assert r.ok, r.summary()
    assert r["attach[us-west]"].result == "vpc-us-west+subnet"
    assert r["report"].result == ["vpc-eu", "vpc-us-west"]


def test_a_failed_upstream_result_is_an_error_not_none() -> None:
    s = Scheduler(workers=1)  # skip_dependents off: the dependent runs and asks for the result
    s.register(lambda: 1 / 0, "create_vpc")

    def attach(create_vpc: str) -> str:
        return create_vpc

    s.register(attach, "attach", after="create_vpc")
    r = s.run()
    assert r["attach"].status is TaskStatus.FAILED
    assert r["attach"].error is not None
    assert "create_vpc" in r["attach"].error.message


def test_unknown_parameter_patterns_are_reported() -> None:
    s = Scheduler()
    s.register(lambda region: None, "create", params={"region": ["us"]})
    s.register(lambda: None, "attach", after=["create[eu]"])
    with pytest.raises(ValueError, match=r"attach depends on unknown \['create\[eu\]'\]"):
        s.run()


def test_mark_carries_options_to_registration(tmp_path: Any) -> None:
    from thread_order import load_and_collect_functions, register_functions

    suite = tmp_path / "suite_opts.py"
    suite.write_text(
        "from thread_order import mark\n"
        "calls = []\n"
        "@mark(retries=2, with_state=False)\n"
        "def flaky():\n"
        "    calls.append(1)\n"
        "    if len(calls) < 2:\n"
        "        raise ValueError('first')\n"
        "@mark(params=['a', 'b'], with_state=False)\n"
        "def per(param):\n"
        "    return param\n"
    )
    _module, functions, single = load_and_collect_functions(str(suite))
    s = Scheduler(workers=2)
    register_functions(s, functions, None, single)
    r = s.run()
    assert r["flaky"].flaky
    assert r["per[b]"].result == "b"


def test_current_task_and_attempts_reach_coroutines_and_events() -> None:
    from collections.abc import Sequence

    from thread_order import Event, TaskFinished, current_task

    seen: dict[str, str | None] = {}
    calls: list[int] = []

    async def probe() -> None:
        seen["probe"] = current_task()

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("first")

    s = Scheduler(workers=1)
    s.register(probe, "probe")
    s.register(flaky, "flaky", retries=1)
    finished: dict[str, TaskFinished] = {}

    def listen(batch: Sequence[Event]) -> None:
        finished.update({e.task: e for e in batch if isinstance(e, TaskFinished)})

    s.subscribe(listen)
    s.run()
    assert seen == {"probe": "probe"}
    assert finished["flaky"].attempts == 2
    assert finished["probe"].attempts == 1


def test_teardown_still_runs_after_max_failures_stops_the_run() -> None:
    s = Scheduler(workers=2, skip_dependents=True)
    s.register(lambda: "i-1", "create")
    s.register(lambda: 1 / 0, "attach", after="create")
    s.register(lambda: time.sleep(0.05), "other")
    s.register(lambda: None, "later", after="other")
    s.register(lambda: "gone", "teardown", after=["create", "later"], run_if="all_done")
    s.register(lambda: None, "unrelated_cleanup", after="later", run_if="all_done")
    r = s.run(max_failures=1)
    assert r["attach"].status is TaskStatus.FAILED
    assert r["teardown"].status is TaskStatus.PASSED  # create started: its cleanup is owed
    assert r["later"].status in (TaskStatus.CANCELLED, TaskStatus.PASSED)
    if r["later"].status is TaskStatus.CANCELLED:
        assert r["unrelated_cleanup"].status is TaskStatus.CANCELLED  # nothing of it started


def test_teardown_runs_after_ctrl_c_and_a_second_one_abandons_it() -> None:
    import os
    import signal

    from thread_order import RunInterrupted

    def interrupt(delay: float) -> None:
        threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT)).start()

    release = threading.Event()
    s = Scheduler(workers=2, cancel_grace=0.1)
    s.register(lambda: "i-1", "create")
    s.register(lambda: release.wait(5), "use", after="create")
    s.register(lambda: time.sleep(0.3) or "deleted", "teardown", after="use", run_if="all_done")
    interrupt(0.3)
    with pytest.raises(RunInterrupted) as info:
        s.run()
    r = info.value.result
    assert r["use"].status is TaskStatus.CANCELLED
    assert r["teardown"].status is TaskStatus.PASSED
    assert r["teardown"].result == "deleted"

    s2 = Scheduler(workers=2, cancel_grace=0.1)
    s2.register(lambda: "i-1", "create")
    s2.register(lambda: release.wait(5), "use", after="create")
    s2.register(lambda: release.wait(5), "teardown", after="use", run_if="all_done")
    release.clear()
    interrupt(0.3)
    interrupt(0.8)  # while the teardown runs
    with pytest.raises(RunInterrupted) as info:
        s2.run()
    release.set()
    assert info.value.result["teardown"].status is TaskStatus.CANCELLED


def test_unhashable_callable_objects_are_tasks_like_functions() -> None:
    class Step:
        __hash__ = None  # type: ignore[assignment]

        def __init__(self, value: int) -> None:
            self.value = value

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Step) and other.value == self.value

        def __call__(self) -> int:
            return self.value

    s = Scheduler(workers=2)
    s.register(Step(1), "one")
    s.register(Step(2), "two", after="one")
    result = s.run()
    assert result["two"].result == 2
    assert s.run()["one"].result == 1
