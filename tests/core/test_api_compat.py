"""thread-order 1.4.0 programs keep working: the API surface and its observable behaviour."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

import thread_order
from thread_order import Scheduler, TaskStatus, dmark, mark
from thread_order.scheduler import TaskStatus as CompatTaskStatus

pytestmark = pytest.mark.usefixtures("core_impl")

SUMMARY_KEYS_140 = {
    "ran",
    "passed",
    "failed",
    "skipped",
    "failures",
    "failure_counts",
    "started_at",
    "finished_at",
    "duration",
    "text",
}


def _callbacks_program(skip: bool) -> tuple[Scheduler, list[tuple[Any, ...]]]:
    """The reference's callback program: a passes, b and c fail, d/e depend on b, f on a."""
    s = Scheduler(workers=2, skip_dependents=skip)
    seen: list[tuple[Any, ...]] = []

    def b() -> None:
        # what ``assert False, {...}`` raises in user code (pytest rewrites asserts in tests)
        raise AssertionError({"message": "bad thing", "context": {"job": 123}})

    def c() -> None:
        _ = {}["k"]

    s.register(lambda: "A", "a")
    s.register(b, "b", after=["a"])
    s.register(c, "c", after=["a"])
    s.register(lambda: "D", "d", after=["b"])
    s.register(lambda: "E", "e", after=["d"])
    s.register(lambda: "F", "f", after=["a"])
    s.on_scheduler_start(lambda meta: seen.append(("start", meta, threading.current_thread())))
    s.on_task_start(lambda name: seen.append(("task_start", name)))
    s.on_task_run(lambda name, thread: seen.append(("run", name, thread)))
    s.on_task_done(
        lambda name, thread, status, count, context, tag: seen.append(
            ("done", name, thread, status, count, context, tag, threading.current_thread())
        ),
        "extra",
    )
    s.on_scheduler_done(lambda summary: seen.append(("sdone", summary)))
    return s, seen


def test_summary_has_the_140_keys_and_statuses() -> None:
    s, _ = _callbacks_program(skip=True)
    summary = s.start()
    assert set(summary) >= SUMMARY_KEYS_140
    assert summary["passed"] == ["a", "f"]
    assert set(summary["failed"]) == {"b", "c"}
    assert summary["skipped"] == ["d", "e"]
    assert summary["failures"] == {
        "b": {"error_type": "AssertionError", "error": "bad thing"},
        "c": {"error_type": "KeyError", "error": "'k'"},
    }
    assert summary["failure_counts"] == {"AssertionError": 1, "KeyError": 1, "DependencyError": 2}
    assert set(summary["ran"]) == set("abcdef")
    assert summary["finished_at"] >= summary["started_at"]
    assert summary["text"].startswith("==== 2 passed, 2 failed, 2 skipped in ")


def test_callbacks_fire_on_the_calling_thread_with_140_signatures() -> None:
    s, seen = _callbacks_program(skip=True)
    caller = threading.current_thread()
    s.start()
    assert seen[0][0] == "start"
    assert seen[0][1]["total_tasks"] == 6
    assert seen[0][1]["workers"] == 2
    assert isinstance(seen[0][1]["start_time"], float)
    assert seen[-1][0] == "sdone"
    done = [e for e in seen if e[0] == "done"]
    assert [e[4] for e in done] == [1, 2, 3, 4, 5, 6]  # count = tasks finished so far
    assert all(e[6] == "extra" and e[7] is caller for e in done)
    by_name = {e[1]: e for e in done}
    assert by_name["b"][3] is TaskStatus.FAILED
    assert by_name["b"][5] == {"job": 123}
    assert by_name["c"][5] is None
    assert by_name["d"][2] == "" and by_name["d"][3] is TaskStatus.SKIPPED
    assert by_name["a"][2].startswith("thread_")
    assert CompatTaskStatus is TaskStatus
    assert TaskStatus.PASSED.value == "PASSED"


def test_each_task_starts_runs_then_finishes_in_callback_order() -> None:
    s, seen = _callbacks_program(skip=False)
    s.start()
    for name in "abcdef":
        kinds = [e[0] for e in seen if len(e) > 1 and e[1] == name]
        assert kinds == ["task_start", "run", "done"], (name, kinds)


@pytest.mark.parametrize("which", ["scheduler_start", "task_start", "task_run", "task_done"])
def test_each_callback_fires_on_its_own(which: str) -> None:
    """A run records and types only the events some callback or listener wants: each callback
    registered alone still fires, once per task (once per run for ``scheduler_start``)."""
    s = Scheduler(workers=2, skip_dependents=True)
    s.register(lambda: "A", "a")
    s.register(lambda: 1 / 0, "b", after="a")
    s.register(lambda: None, "c", after="b")
    s.register(lambda: None, "d", after="a")
    fired: list[tuple[Any, ...]] = []
    getattr(s, f"on_{which}")(lambda *args: fired.append(args))
    s.start()
    if which == "scheduler_start":
        assert [args[0]["total_tasks"] for args in fired] == [4]
    elif which == "task_done":
        assert sorted((args[0], args[2].value) for args in fired) == [
            ("a", "PASSED"),
            ("b", "FAILED"),
            ("c", "SKIPPED"),
            ("d", "PASSED"),
        ]
    else:  # skipped tasks never start
        assert sorted(args[0] for args in fired) == ["a", "b", "d"]
        if which == "task_run":
            assert all(args[1].startswith("thread_") for args in fired)


def test_dependents_of_a_failed_task_run_by_default_as_in_140() -> None:
    s, _ = _callbacks_program(skip=False)
    summary = s.start()
    assert summary["skipped"] == []
    assert set(summary["passed"]) == {"a", "d", "e", "f"}


def test_state_is_shared_by_reference_with_a_reentrant_lock() -> None:
    state: dict[str, Any] = {"seed": 1}
    s = Scheduler(workers=3, state=state)
    assert s.state is state
    assert isinstance(state["_state_lock"], type(threading.RLock()))
    assert state["results"] == {}

    def first(st: dict[str, Any]) -> int:
        with st["_state_lock"], st["_state_lock"]:  # re-entrant
            st["count"] = st.get("count", 0) + 1
        return st["seed"] + 1

    def second(st: dict[str, Any]) -> int:
        return st["results"]["first"] * 10

    s.register(first, "first", with_state=True)
    s.register(second, "second", after="first", with_state=True)
    s.register(lambda: None, "plain")
    s.start()
    assert state["results"] == {"first": 2, "second": 20, "plain": None}
    assert state["count"] == 1
    assert "_state_lock" not in s.sanitized_state
    assert s.sanitized_state["results"] == state["results"]


def test_results_only_for_passed_tasks_and_cleared_on_start() -> None:
    s = Scheduler(workers=2)
    s.register(lambda: 1, "ok")
    s.register(lambda: 1 / 0, "bad")
    s.state["results"]["stale"] = True
    s.start()
    assert s.state["results"] == {"ok": 1}


def test_results_kept_when_not_cleared_and_absent_when_not_stored() -> None:
    keep = Scheduler(workers=1, state={"results": {"mock": "m"}}, clear_results_on_start=False)
    keep.register(lambda st: st["results"]["mock"] + "!", "use", with_state=True)
    keep.start()
    assert keep.state["results"] == {"mock": "m", "use": "m!"}
    none = Scheduler(workers=1, store_results=False)
    none.register(lambda: 5, "x")
    none.start()
    assert "results" not in none.state
    assert none.run().records[0].result == 5  # still in the typed result


def test_user_state_lock_is_the_one_used() -> None:
    lock = threading.RLock()
    s = Scheduler(state={"_state_lock": lock})
    assert s.state_lock is lock


def test_dregister_registers_at_decoration_and_keeps_original() -> None:
    s = Scheduler(workers=1)

    @s.dregister()
    def a() -> str:
        return "A"

    @s.dregister(after=["a"], with_state=True)
    def b(state: dict[str, Any]) -> str:
        return state["results"]["a"] + "B"

    assert a.__original__.__name__ == "a"  # type: ignore[attr-defined]
    assert a() == "A"
    assert s.start()["passed"] == ["a", "b"]
    assert s.state["results"]["b"] == "AB"


def test_mark_and_dmark_metadata_and_defaults() -> None:
    @mark(after=["x"], tags="smoke, fast")
    def m(state: Any) -> None: ...

    @dmark(tags=["slow"])
    def d() -> None: ...

    assert m.__thread_order__ == {  # type: ignore[attr-defined]
        "after": ["x"],
        "with_state": True,
        "orig_name": "m",
        "tags": ["smoke", "fast"],
    }
    assert d.__thread_order__["with_state"] is False  # type: ignore[attr-defined]
    assert d.__thread_order__["tags"] == ["slow"]  # type: ignore[attr-defined]


def test_worker_threads_are_named_thread_n() -> None:
    s = Scheduler(workers=4)
    seen: set[str] = set()
    barrier = threading.Barrier(4, timeout=10)

    def task() -> None:
        seen.add(threading.current_thread().name)
        barrier.wait()

    for k in range(4):
        s.register(task, f"t{k}")
    s.start()
    assert seen == {"thread_0", "thread_1", "thread_2", "thread_3"}


def test_default_workers_and_exports() -> None:
    import os

    assert thread_order.default_workers == min(8, os.cpu_count() or 1)
    assert Scheduler().workers == thread_order.default_workers
    for name in (
        "Scheduler",
        "DAGraph",
        "configure_logging",
        "ThreadProxyLogger",
        "dmark",
        "mark",
        "default_workers",
        "load_and_collect_functions",
        "register_functions",
        "validate_highlights",
        "__version__",
    ):
        assert name in thread_order.__all__
        assert getattr(thread_order, name) is not None
    assert thread_order.scheduler.Scheduler is Scheduler
    assert thread_order.graph_summary.format_graph_summary is not None
    with pytest.raises(AttributeError):
        _ = thread_order.nope  # type: ignore[attr-defined]


def test_thread_proxy_logger_writes_to_the_current_threads_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = thread_order.ThreadProxyLogger()
    s = Scheduler(workers=1)
    s.register(lambda: log.info("hello from task"), "t")
    with caplog.at_level(logging.INFO):
        s.start()
    records = [r for r in caplog.records if r.getMessage() == "hello from task"]
    assert records and records[0].name == "thread_0"


def test_graph_view_is_not_consumed_by_a_run() -> None:
    s = Scheduler(workers=1)
    s.register(lambda: None, "a")
    s.register(lambda: None, "b", after="a")
    before = sorted(s.graph.nodes())
    s.start()
    assert sorted(s.graph.nodes()) == before == ["a", "b"]
    assert s.graph.original_parents_of("b") == ["a"]
