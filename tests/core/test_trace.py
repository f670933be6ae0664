"""Chrome traces and the post-run profile."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from thread_order import Scheduler, chrome_trace, profile, write_trace

pytestmark = pytest.mark.usefixtures("core_impl")


def _run() -> tuple[Scheduler, object]:
    s = Scheduler(workers=3)
    both = threading.Barrier(2, timeout=5)
    s.register(lambda: time.sleep(0.05), "long")
    s.register(lambda: both.wait(), "a")
    s.register(lambda: both.wait(), "b")
    s.register(lambda: time.sleep(0.01), "after_long", after="long")
    s.register(lambda: 1 / 0, "broken", after=["a"])
    return s, s.run()


def test_chrome_trace_has_one_lane_per_worker_and_real_times(tmp_path: Path) -> None:
    _, result = _run()
    trace = chrome_trace(result)  # type: ignore[arg-type]
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    lanes = {e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "thread_name"}
    assert lanes == {"thread_0", "thread_1", "thread_2"}
    assert {e["name"] for e in spans} == {"long", "a", "b", "after_long", "broken"}
    by = {e["name"]: e for e in spans}
    assert by["long"]["dur"] >= 45_000
    assert by["after_long"]["ts"] >= by["long"]["ts"] + by["long"]["dur"] - 0.01  # rounding
    assert by["broken"]["args"]["error"].startswith("ZeroDivisionError")
    path = tmp_path / "trace.json"
    write_trace(result, path)  # type: ignore[arg-type]
    assert json.loads(path.read_text())["traceEvents"]


def test_profile_finds_the_critical_path_and_slack() -> None:
    s, result = _run()
    prof = profile(result, s.compile())  # type: ignore[arg-type]
    assert prof.critical_path == ["long", "after_long"]
    assert prof.critical_seconds >= 0.06
    assert prof.slack["long"] == pytest.approx(0.0, abs=1e-9)
    assert prof.slack["a"] > 0.03  # a and b took no time next to the 60 ms chain
    assert 0 < prof.parallelism <= 2.5


def test_expected_priority_follows_recorded_durations() -> None:
    from thread_order import expected_priority

    s = Scheduler(workers=1)
    order: list[str] = []
    for name in ("quick1", "quick2", "slow_root"):
        s.register(lambda name=name: order.append(name), name)
    s.register(lambda: order.append("slow_tail"), "slow_tail", after="slow_root")
    durations = {"quick1": 0.01, "quick2": 0.01, "slow_root": 1.0, "slow_tail": 2.0}
    prio = expected_priority(s.compile(), durations)
    assert prio["slow_root"] == 3_000_000
    assert prio["quick1"] == 10_000
    s.run(priority=prio)
    assert order == ["slow_root", "slow_tail", "quick1", "quick2"]
    unknown = expected_priority(s.compile(), {"slow_tail": 2.0, "slow_root": 1.0})
    assert unknown["quick1"] == 1_500_000  # the median of the known durations
