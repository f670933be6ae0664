"""The 1.4.0 weaknesses, each shown fixed by a behaviour test."""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from thread_order import (
    CycleError,
    RunInterrupted,
    Scheduler,
    TaskStatus,
    UnknownDependencyError,
    configure_logging,
)

pytestmark = pytest.mark.usefixtures("core_impl")


def _chain(n: int, workers: int = 8) -> Scheduler:
    s = Scheduler(workers=workers)
    for i in range(n):
        s.register(lambda: None, f"t{i}", after=[f"t{i - 1}"] if i else None)
    return s


# 1. No polling -------------------------------------------------------------------------------


def test_a_thousand_task_chain_is_not_paced_by_a_poll() -> None:
    """1.4.0 spends one 100 ms poll per hop (100 s); anything near that means polling."""
    summary = _chain(1000).start()
    assert len(summary["passed"]) == 1000
    assert summary["duration"] < 1.0


def test_dependents_start_without_waiting_for_a_tick() -> None:
    """Ten hops, each a few microseconds of work: a 100 ms tick would cost a second."""
    s = _chain(10, workers=2)
    summary = s.start()
    assert summary["duration"] < 0.5


# 2. Linear time ------------------------------------------------------------------------------


def test_registration_does_not_validate_per_add() -> None:
    """Registering in reverse order works (validation happens once, at start)."""
    s = Scheduler(workers=2)
    for i in reversed(range(2000)):
        s.register(lambda: None, f"t{i}", after=[f"t{i - 1}"] if i else None)
    assert len(s.start()["passed"]) == 2000


def test_no_debug_strings_are_built_when_debug_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real = logging.Logger.debug

    def spy(self: logging.Logger, msg: str, *args: Any, **kwargs: Any) -> None:
        built.append(msg)
        real(self, msg, *args, **kwargs)

    monkeypatch.setattr(logging.Logger, "debug", spy)
    _chain(50).start()
    assert built == []


# 3. Forward references, clear graph errors -------------------------------------------------


def test_forward_references_and_string_after() -> None:
    s = Scheduler(workers=2)
    s.register(lambda: None, "deploy", after="build")
    s.register(lambda: None, "build")
    assert s.start()["passed"] == ["build", "deploy"]


def test_unknown_names_are_listed_with_the_asking_task_and_a_suggestion() -> None:
    s = Scheduler()
    s.register(lambda: None, "build")
    s.register(lambda: None, "deploy", after=["biuld"])
    s.register(lambda: None, "test", after=["nothing_like_it"])
    with pytest.raises(UnknownDependencyError) as info:
        s.start()
    message = str(info.value)
    assert "deploy depends on unknown ['biuld'] (did you mean 'build'?)" in message
    assert "test depends on unknown ['nothing_like_it']" in message
    assert info.value.missing == (("deploy", "biuld"), ("test", "nothing_like_it"))
    assert isinstance(info.value, ValueError)


def test_a_cycle_is_reported_with_its_path() -> None:
    s = Scheduler()
    s.register(lambda: None, "a", after="c")
    s.register(lambda: None, "b", after="a")
    s.register(lambda: None, "c", after="b")
    s.register(lambda: None, "d", after="c")
    with pytest.raises(CycleError, match=r"dependency cycle: (\w) -> \w -> \w -> \1") as info:
        s.start()
    assert set(info.value.cycle) == {"a", "b", "c"}
    assert len(info.value.cycle) == 4


def test_self_dependency_is_a_cycle() -> None:
    s = Scheduler()
    s.register(lambda: None, "a", after="a")
    with pytest.raises(CycleError, match="a -> a"):
        s.start()


def test_duplicates_and_non_callables_are_rejected_at_registration() -> None:
    s = Scheduler()
    s.register(lambda: None, "a")
    with pytest.raises(ValueError, match="a has already been added"):
        s.register(lambda: None, "a")
    with pytest.raises(ValueError, match="'x'.*must be callable, got int"):
        s.register(42, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="after of task 'y'"):
        s.register(lambda: None, "y", after=5)  # type: ignore[arg-type]
    for bad in (["a", 7], ("a", None), ["a", b"b", "c"]):
        with pytest.raises(TypeError, match=r"after of task 'z' must contain names \(str\), got"):
            s.register(lambda: None, "z", after=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="task name must be a non-empty str, got ''"):
        s.register(lambda: None, "")
    s.register(lambda: None, "z", after=("a",))  # none of the refused calls registered "z"
    assert s.compile().dependencies(1) == [0]


# 4. Ctrl-C ----------------------------------------------------------------------------------


def _interrupt_soon(delay: float) -> threading.Timer:
    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_cancels_what_has_not_finished_and_still_reports() -> None:
    release = threading.Event()
    s = Scheduler(workers=2, cancel_grace=0.2)
    s.register(lambda: time.sleep(0.05), "quick")
    s.register(lambda: release.wait(5), "stuck")
    s.register(lambda: None, "after_quick", after="quick")
    s.register(lambda: None, "after_stuck", after="stuck")
    done: list[tuple[str, TaskStatus]] = []
    finals: list[dict[str, Any]] = []
    s.on_task_done(lambda name, thread, status, count, ctx: done.append((name, status)))
    s.on_scheduler_done(finals.append)
    _interrupt_soon(0.5)
    started = time.perf_counter()
    with pytest.raises(RunInterrupted) as info:
        s.start()
    elapsed = time.perf_counter() - started
    release.set()
    summary = info.value.summary
    assert isinstance(info.value, KeyboardInterrupt)
    assert summary["interrupted"] is True
    assert set(summary["passed"]) == {"quick", "after_quick"}
    assert set(summary["cancelled"]) == {"stuck", "after_stuck"}
    assert summary["text"].endswith("cancelled in " + summary["text"].split(" in ")[1])
    assert ("after_stuck", TaskStatus.CANCELLED) in done
    assert finals and finals[0]["cancelled"] == summary["cancelled"]
    assert elapsed < 3.0  # the grace is bounded: nobody waited for "stuck" to return
    assert info.value.result.interrupted


def test_a_task_finishing_within_the_grace_keeps_its_result() -> None:
    s = Scheduler(workers=1, cancel_grace=5.0)
    s.register(lambda: time.sleep(0.6) or "done", "slow")
    s.register(lambda: None, "never", after="slow")
    _interrupt_soon(0.2)
    with pytest.raises(RunInterrupted) as info:
        s.start()
    assert info.value.summary["passed"] == ["slow"]
    assert info.value.summary["cancelled"] == ["never"]
    assert s.state["results"]["slow"] == "done"


def test_keyboard_interrupt_inside_a_task_cancels_the_run() -> None:
    def boom() -> None:
        raise KeyboardInterrupt

    s = Scheduler(workers=1)
    s.register(boom, "boom")
    s.register(lambda: None, "next", after="boom")
    s.register(lambda: None, "other")
    with pytest.raises(RunInterrupted) as info:
        s.start()
    summary = info.value.summary
    assert "boom" in summary["cancelled"]
    assert "next" in summary["cancelled"]
    assert info.value.result["boom"].error is not None
    assert info.value.result["boom"].error.type == "KeyboardInterrupt"


# 5. Anything a task raises is a failure -----------------------------------------------------


def test_system_exit_and_base_exceptions_fail_the_task_not_the_run() -> None:
    class Custom(BaseException):
        pass

    def slow_exit() -> None:
        time.sleep(0.05)
        sys.exit(3)

    def custom() -> None:
        raise Custom("odd")

    s = Scheduler(workers=2)
    s.register(lambda: sys.exit(1), "quick_exit")
    s.register(slow_exit, "slow_exit")
    s.register(custom, "custom")
    s.register(lambda: "fine", "fine")
    result = s.run()
    assert result["quick_exit"].status is TaskStatus.FAILED
    assert result["quick_exit"].error.type == "SystemExit"
    assert result["slow_exit"].error.message == "3"
    assert result["custom"].error.type == "Custom"
    assert "raise Custom" in result["custom"].error.traceback
    assert result["fine"].status is TaskStatus.PASSED


def test_failures_keep_type_message_and_full_traceback() -> None:
    def inner() -> None:
        raise RuntimeError("boom in c")

    def outer() -> None:
        inner()

    s = Scheduler(workers=1)
    s.register(outer, "c")
    record = s.run()["c"]
    assert record.error.type == "RuntimeError"
    assert record.error.message == "boom in c"
    assert "in outer" in record.error.traceback and "in inner" in record.error.traceback


def test_assertion_messages_and_contexts() -> None:
    # Compiled here so that pytest's assertion rewriting does not touch these asserts.
    namespace: dict[str, Any] = {}
    exec(
        "def plain():\n    assert 1 == 2\n"
        "def text():\n    assert False, 'text'\n"
        "def ctx():\n    assert False, {'message': 'status 500', 'context': {'url': '/orders'}}\n",
        namespace,
    )
    plain, text, ctx = namespace["plain"], namespace["text"], namespace["ctx"]

    s = Scheduler(workers=1)
    for f in (plain, text, ctx):
        s.register(f, f.__name__)
    r = s.run()
    assert r["plain"].error.message == ""
    assert r["text"].error.message == "text"
    assert r["ctx"].error.message == "status 500"
    assert r["ctx"].error.context == {"url": "/orders"}


# 6. Degenerate input --------------------------------------------------------------------------


def test_empty_start_returns_at_once() -> None:
    summary = Scheduler().start()
    assert summary["ran"] == [] and summary["text"].startswith("==== 0 passed")


def test_start_again_runs_the_same_graph() -> None:
    s = Scheduler(workers=2)
    calls: list[str] = []
    s.register(lambda: calls.append("a"), "a")
    s.register(lambda: calls.append("b"), "b", after="a")
    first = s.start()
    second = s.start()
    assert first["passed"] == second["passed"] == ["a", "b"]
    assert calls == ["a", "b", "a", "b"]


@pytest.mark.parametrize("bad", [0, -1])
def test_workers_must_be_positive(bad: int) -> None:
    with pytest.raises(ValueError, match=f"workers must be >= 1, got {bad}"):
        Scheduler(workers=bad)


def test_summary_lists_are_copies_and_text_has_no_ansi() -> None:
    s = Scheduler(workers=1, skip_dependents=True)
    s.register(lambda: 1 / 0, "a")
    s.register(lambda: None, "b", after="a")
    first = s.start()
    skipped = first["skipped"]
    s.start()
    assert skipped == ["b"]
    skipped.append("mutated")
    assert s.start()["skipped"] == ["b"]
    assert "\x1b" not in first["text"]


def test_on_task_start_fires_before_the_task_runs() -> None:
    order: list[str] = []
    s = Scheduler(workers=2)
    for k in range(5):
        s.register(lambda k=k: order.append(f"ran t{k}"), f"t{k}")
    s.on_task_start(lambda name: order.append(f"start {name}"))
    s.start()
    for k in range(5):
        assert order.index(f"start t{k}") < order.index(f"ran t{k}")


# 7. Logging ---------------------------------------------------------------------------------


def test_configure_logging_leaves_root_and_other_loggers_alone(tmp_path: Path) -> None:
    root = logging.getLogger()
    other = logging.getLogger("some.library")
    before = (list(root.handlers), root.level, list(other.handlers), other.level)
    handlers = configure_logging(2, add_stream_handler=True, log_dir=tmp_path)
    try:
        assert (list(root.handlers), root.level, list(other.handlers), other.level) == before
        configure_logging(2, add_stream_handler=True, log_dir=tmp_path)  # again: replaces
        ours = [
            h
            for h in logging.getLogger("thread_0").handlers
            if getattr(h, "_thread_order_handler", False)
        ]
        assert len(ours) == 2  # one stream handler, one file handler
    finally:
        for h in handlers:
            h.close()
        configure_logging(2, add_stream_handler=False, add_file_handler=False)
        for name in ("MainThread", "thread_0", "thread_1"):
            logging.getLogger(name).propagate = True


def test_log_files_are_opened_lazily_and_closed_after_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    log = logging.getLogger("thread_0")
    s = Scheduler(workers=3, setup_logging=True, add_stream_handler=False)
    s.register(lambda: log.info("task line"), "t")
    s.start()
    files = sorted(p.name for p in tmp_path.glob("*.log"))
    assert any(f.endswith("_thread_0.log") for f in files)
    assert not any(f.endswith("_thread_2.log") for f in files)  # never used: never created
    text = next(tmp_path.glob("*_thread_0.log")).read_text()
    assert re.search(r"INFO  \[thread_0\] <lambda>: task line", text)
    for h in logging.getLogger("thread_0").handlers:
        if isinstance(h, logging.FileHandler):
            assert h.stream is None  # closed
    configure_logging(3, add_stream_handler=False, add_file_handler=False)


def test_cancel_from_another_thread_winds_the_run_down() -> None:
    release = threading.Event()
    s = Scheduler(workers=2, cancel_grace=0.1)
    s.register(lambda: release.wait(5), "slow")
    s.register(lambda: None, "after", after="slow")
    assert s.cancel() is False  # nothing running yet
    threading.Timer(0.2, s.cancel).start()
    with pytest.raises(RunInterrupted) as info:
        s.run()
    release.set()
    assert set(info.value.summary["cancelled"]) == {"slow", "after"}
