"""Every status the engine has, everywhere tdrun reports: per-task lines, the summary, JUnit
XML, the JSON report and the history. TIMED_OUT, flaky (passed after a retry), failed after
retries, and SKIPPED by a false ``run_if`` condition."""

from __future__ import annotations

import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from thread_order_cli.history_cmd import history_app

from .conftest import Invoke

SUITE = """
import time
from thread_order import mark

CALLS = {"n": 0}

@mark(retries=2, retry_on=ConnectionError)
def flaky(state):
    CALLS["n"] += 1
    if CALLS["n"] == 1:
        raise ConnectionError("connection reset")
    return CALLS["n"]

@mark(retries=1)
def broken(state):
    raise ValueError("always broken")

@mark(timeout=0.05)
def stuck(state):
    time.sleep(0.25)

@mark(after=["stuck"])
def after_stuck(state):
    pass

@mark(after=["flaky"], run_if=lambda state: state.get("go") == "yes")
def gated(state):
    pass

@mark(after=["stuck"], run_if="all_done")
def teardown(state):
    pass
"""


def _run(invoke: Invoke, suite, tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    path = suite("statuses.py", SUITE)
    return invoke(
        path,
        "--workers",
        "3",
        "--junitxml",
        str(tmp_path / "junit.xml"),
        "--json-report",
        str(tmp_path / "run.json"),
        *args,
    )


def test_task_lines_and_summary(invoke: Invoke, suite, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = _run(invoke, suite, tmp_path)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()

    def line_of(name: str) -> str:
        return next(s for s in lines if re.match(rf"(\[\w+\] )?{name} \.", s))

    assert "PASSED (flaky: 2 attempts) [" in line_of("flaky")
    assert "FAILED (2 attempts) [" in line_of("broken")
    assert " TIMED_OUT [" in line_of("stuck")
    assert line_of("after_stuck").endswith("(upstream stuck timed out)")
    assert line_of("gated").endswith("(run_if condition of gated is false)")
    assert " PASSED [" in line_of("teardown")  # all_done: runs after a timeout
    out = result.stdout
    assert "  Stack of the timed-out task at its deadline (most recent call last):" in out
    assert "time.sleep(0.25)" in out
    assert "FAILED broken - ValueError: always broken (2 attempts)" in out
    assert "TIMED_OUT stuck - TimeoutError: timed out after 0.05s" in out
    assert "SKIPPED gated - run_if condition of gated is false" in out
    assert (
        "FLAKY flaky - passed on attempt 2; retried after ConnectionError: connection reset" in out
    )
    assert "==== 2 passed, 1 failed, 2 skipped, 1 timed out, 1 flaky in " in out


def test_condition_true_runs_the_task(invoke: Invoke, suite, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = _run(invoke, suite, tmp_path, "--go=yes")
    assert "3 passed, 1 failed, 1 skipped, 1 timed out, 1 flaky" in result.stdout, result.output


def test_junit(invoke: Invoke, suite, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _run(invoke, suite, tmp_path)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    ts = root.find("testsuite")
    assert ts is not None
    assert (ts.get("failures"), ts.get("skipped")) == ("2", "2")
    cases = {c.get("name"): c for c in root.iter("testcase")}

    def props(name: str) -> list[tuple[str | None, str | None]]:
        return [(p.get("name"), p.get("value")) for p in cases[name].iter("property")]

    stuck = cases["stuck"].find("failure")
    assert stuck is not None
    assert stuck.get("type") == "TimeoutError"
    assert (stuck.get("message") or "").startswith("timed out after 0.05s")
    assert (stuck.text or "").startswith("Stack of the timed-out task")
    assert "time.sleep(0.25)" in (stuck.text or "")
    flaky = props("flaky")
    assert ("attempts", "2") in flaky and ("flaky", "true") in flaky
    assert ("retried", "attempt 1: ConnectionError: connection reset") in flaky
    out = cases["flaky"].find("system-out")
    assert out is not None and "--- attempt 1 failed: ConnectionError" in (out.text or "")
    assert cases["flaky"].find("failure") is None
    assert ("attempts", "2") in props("broken")
    gated = cases["gated"].find("skipped")
    assert gated is not None and gated.get("message") == "run_if condition of gated is false"
    assert ("attempts", "1") not in props("teardown")


def test_json_report(invoke: Invoke, suite, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _run(invoke, suite, tmp_path)
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["flaky"] == ["flaky"]
    assert data["counts"]["timed_out"] == 1
    tasks = {t["name"]: t for t in data["tasks"]}
    assert (tasks["flaky"]["attempts"], tasks["flaky"]["flaky"]) == (2, True)
    assert [e["message"] for e in tasks["flaky"]["retried"]] == ["connection reset"]
    assert tasks["flaky"]["retried"][0]["type"] == "ConnectionError"
    assert (tasks["broken"]["attempts"], tasks["broken"]["flaky"]) == (2, False)
    assert tasks["stuck"]["status"] == "TIMED_OUT"
    assert tasks["stuck"]["error"]["message"].startswith("timed out after 0.05s")
    assert tasks["gated"]["reason"] == "run_if condition of gated is false"
    assert tasks["teardown"]["attempts"] == 1 and tasks["teardown"]["retried"] == []


def test_history(invoke: Invoke, suite, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _run(invoke, suite, tmp_path)
    db = sqlite3.connect(tmp_path / ".tdrun" / "history.db")
    try:
        rows = {
            name: (status, attempts, retried, reason)
            for name, status, attempts, retried, reason in db.execute(
                "SELECT name, status, attempts, retried, reason FROM tasks"
            )
        }
        run = db.execute("SELECT failed, timed_out, flaky FROM runs").fetchone()
    finally:
        db.close()
    assert run == (2, 1, 1)  # failed counts the timed-out task too, as before
    assert rows["flaky"][:2] == ("PASSED", 2)
    assert json.loads(rows["flaky"][2])[0]["message"] == "connection reset"
    assert rows["stuck"][0] == "TIMED_OUT"
    assert rows["gated"] == ("SKIPPED", 1, None, "run_if condition of gated is false")
    runner = CliRunner()
    listed = runner.invoke(history_app, ["list"]).stdout
    assert "2 passed, 1 failed, 2 skipped, 1 timed out, 1 flaky in " in listed
    shown = runner.invoke(history_app, ["show", "1"]).stdout.splitlines()
    assert any(s.startswith("PASSED") and s.endswith("(flaky: 2 attempts)") for s in shown)
    assert any(s.startswith("TIMED_OUT stuck") for s in shown)
    assert any(s.endswith("run_if condition of gated is false") for s in shown)


DECISIONS = """
from thread_order import mark

@mark()
def create(state):
    pass

@mark(after=["create"], run_if=lambda state: False)
def optional(state):
    pass

@mark(after=["optional"])
def after_optional(state):
    pass

@mark(after=["create"], run_if="any_failed")
def on_failure(state):
    pass
"""


def test_skips_by_decision_alone_exit_0(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    result = invoke(suite("decisions.py", DECISIONS))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "SKIPPED on_failure - no dependency failed (runs only when one does)" in out
    assert "SKIPPED after_optional - upstream optional was skipped" in out
    assert "==== 1 passed, 0 failed, 3 skipped in " in out
