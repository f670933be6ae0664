"""JUnit XML and JSON reports, checked by parsing them back; the surgery example end to end."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, Invoke, example

SURGERY = REPO / "examples" / "surgery.py"


def test_junit_and_json_reports(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke(example("mod_a.py"), "--junitxml", "out/r.xml", "--json-report", "out/r.json")
    assert result.exit_code == 1, result.output
    root = ET.parse(tmp_path / "out" / "r.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("5", "1", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"fn_a", "fn_b", "fn_c", "fn_d", "fn_nostate"}
    assert all(c.get("classname") == "mod_a" for c in cases.values())
    failure = cases["fn_c"].find("failure")
    assert failure is not None
    assert failure.get("message") == "RuntimeError: boom in c"
    assert "Traceback" in (failure.text or "")
    skipped = cases["fn_d"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "upstream fn_c failed"
    prop = cases["fn_a"].find("properties/property")
    assert prop is not None
    assert (prop.get("name"), prop.get("value")) == ("thread", "thread_0") or prop.get(
        "value", ""
    ).startswith("thread_")
    float(cases["fn_a"].get("time", "x"))

    data = json.loads((tmp_path / "out" / "r.json").read_text())
    assert data["exit_code"] == 1
    assert data["counts"]["passed"] == 3
    by_name = {t["name"]: t for t in data["tasks"]}
    assert by_name["fn_c"]["error"]["type"] == "RuntimeError"
    assert by_name["fn_d"]["reason"] == "upstream fn_c failed"
    assert by_name["fn_a"]["result"] == "A"
    # Task times are epoch seconds: started_at + (perf time - RunResult.started_perf).
    for task in data["tasks"]:
        if task["start"] is not None:
            assert data["started_at"] <= task["start"] <= task["end"] <= data["finished_at"]


@pytest.mark.skipif(not SURGERY.exists(), reason="examples/surgery.py is written by the lead")
def test_surgery_example_end_to_end(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke(str(SURGERY), "--junitxml", "s.xml", "--workers", "2")
    assert result.exit_code == 1, result.output
    assert "sterilize_instruments: AssertionError: autoclave cycle incomplete" in result.stdout
    assert "  context: {'autoclave': 2}" in result.stdout
    assert "SKIPPED perform_surgery - upstream sterilize_instruments failed" in result.stdout
    assert "==== 4 passed, 1 failed, 1 skipped" in result.stdout
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "s.xml").getroot().iter("testcase")}
    assert len(cases) == 6
    skipped = cases["perform_surgery"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "upstream sterilize_instruments failed"
    assert cases["sterilize_instruments"].find("failure") is not None


def test_durations_critical_path_and_parallelism(
    invoke: Invoke, suite: Callable[[str, str], str]
) -> None:
    # a -> b take measurable time and c none, so the longest chain is a -> b on any machine
    path = suite(
        "timed.py",
        """
        import time
        from thread_order import mark

        @mark()
        def a(state):
            time.sleep(0.1)

        @mark(after=["a"])
        def b(state):
            time.sleep(0.1)

        @mark()
        def c(state):
            pass
        """,
    )
    result = invoke(path, "--durations", "2")
    assert result.exit_code == 0, result.output
    assert "slowest 2 durations:" in result.stdout
    assert "critical path: a -> b (" in result.stdout
    assert "parallelism: " in result.stdout


def test_critical_path_and_parallelism_come_from_the_engine_profile(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    import thread_order

    seen: list[thread_order.RunProfile] = []
    real = thread_order.profile

    def spy(result: thread_order.RunResult, graph: thread_order.CompiledGraph) -> Any:
        seen.append(real(result, graph))
        return seen[-1]

    monkeypatch.setattr(thread_order, "profile", spy)
    result = invoke(example("passing.py"), "--workers", "2")
    assert result.exit_code == 0, result.output
    assert len(seen) == 1
    prof = seen[0]
    chain = " -> ".join(prof.critical_path)
    assert f"critical path: {chain} ({prof.critical_seconds:.2f}s)\n" in result.stdout
    assert f"parallelism: {prof.parallelism:.2f} (busy {prof.busy_seconds:.2f}s" in result.stdout
