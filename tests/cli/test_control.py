"""-x/--maxfail, run history with --lf and `tdrun history`, --shuffle, heartbeat, live views."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thread_order_cli.heartbeat import Heartbeat
from thread_order_cli.history_cmd import history_app
from thread_order_cli.output import Printer

from .conftest import Invoke, example


def test_exitfirst_stops_starting_tasks(invoke: Invoke) -> None:
    result = invoke(example("failing.py"), "-x", "--workers", "1")
    assert result.exit_code == 1, result.output
    assert "1 failed" in result.stdout
    assert "cancelled" in result.stdout
    assert "not run: stopped after 1 failure(s)" in result.stdout


def test_maxfail(invoke: Invoke) -> None:
    result = invoke(example("failing.py"), "--maxfail", "2", "--workers", "1")
    assert result.exit_code == 1, result.output
    assert "2 failed" in result.stdout
    assert "cancelled" in result.stdout


def test_history_is_recorded_owner_only_and_listed(invoke: Invoke, tmp_path: Path) -> None:
    assert invoke(example("passing.py")).exit_code == 0
    assert invoke(example("mod_a.py")).exit_code == 1
    db = tmp_path / ".tdrun" / "history.db"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    runner = CliRunner()
    listed = runner.invoke(history_app, ["list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("#2 ")
    assert "3 passed, 1 failed, 1 skipped" in lines[0]
    assert "exit 1" in lines[0]
    shown = runner.invoke(history_app, ["show", "2"])
    assert shown.exit_code == 0, shown.output
    assert any(
        line.startswith("FAILED") and "RuntimeError: boom in c" in line
        for line in shown.stdout.splitlines()
    )
    assert any("upstream fn_c failed" in line for line in shown.stdout.splitlines())
    missing = runner.invoke(history_app, ["show", "99"])
    assert missing.exit_code == 4, missing.output
    assert "no run 99" in missing.stderr


def test_history_main_routes_plain_history_to_list(
    invoke: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    from thread_order_cli.app import main

    assert invoke(example("passing.py")).exit_code == 0
    with pytest.raises(SystemExit) as exit_info:
        main(["history"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("#1 ")


def test_no_history_and_custom_history_path(invoke: Invoke, tmp_path: Path) -> None:
    assert invoke(example("passing.py"), "--no-history").exit_code == 0
    assert not (tmp_path / ".tdrun").exists()
    assert invoke(example("passing.py"), "--history", "h/runs.db").exit_code == 0
    assert (tmp_path / "h" / "runs.db").exists()


def test_last_failed_reruns_failed_skipped_and_their_prerequisites(invoke: Invoke) -> None:
    assert invoke(example("mod_a.py")).exit_code == 1
    result = invoke(example("mod_a.py"), "--lf")
    assert result.exit_code == 1, result.output
    ran = [line.split(" .")[0].split("] ")[-1] for line in result.stdout.splitlines()]
    assert sorted(r for r in ran if r.startswith("fn_") and " " not in r) == [
        "fn_a",
        "fn_b",
        "fn_c",
        "fn_d",
    ]
    assert "fn_nostate" not in result.stdout


def test_last_failed_without_failures_runs_all(invoke: Invoke) -> None:
    result = invoke(example("passing.py"), "--lf")
    assert result.exit_code == 0, result.output
    assert "no failed tasks in the last recorded run" in result.stderr
    assert "==== 3 passed" in result.stdout


def test_shuffle_prints_the_seed_and_is_reproducible(invoke: Invoke) -> None:
    first = invoke(example("failing.py"), "--shuffle=7", "--workers", "1")
    second = invoke(example("failing.py"), "--shuffle=7", "--workers", "1")
    assert "shuffle seed: 7" in first.stdout, first.output
    order = [line.split(" .")[0] for line in first.stdout.splitlines() if "% ]" in line]
    again = [line.split(" .")[0] for line in second.stdout.splitlines() if "% ]" in line]
    assert order == again
    random = invoke(example("passing.py"), "--shuffle")
    assert "shuffle seed: " in random.stdout, random.output


def test_heartbeat_line_names_running_tasks() -> None:
    from thread_order import TaskFinished, TaskStarted, TaskStatus

    beat = Heartbeat(Printer(), 30)
    beat([TaskStarted("slow_one", 0, "thread_0", 10.0), TaskStarted("quick", 1, "thread_1", 11)])
    beat([TaskFinished("quick", 1, TaskStatus.PASSED, "thread_1", 11.0, 11.5, 1)])
    assert beat.line(now=25.0) == "still running: slow_one (15s, thread_0)"
    beat([TaskFinished("slow_one", 0, TaskStatus.PASSED, "thread_0", 10.0, 26.0, 2)])
    assert beat.line(now=27.0) is None


def test_heartbeat_prints_during_a_run(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    path = suite(
        "hb.py",
        "import time\nfrom thread_order import mark\n\n@mark()\ndef waits(state):\n"
        "    time.sleep(0.35)\n",
    )
    result = invoke(path, "--heartbeat", "0.1")
    assert result.exit_code == 0, result.output
    assert "still running: waits (0s, thread_0)" in result.stdout
    assert threading.active_count() < 50


@pytest.mark.parametrize("flag", ["--progress", "--viewer"])
def test_live_views_still_print_failures_and_summary(invoke: Invoke, flag: str) -> None:
    result = invoke(example("mod_a.py"), flag)
    assert result.exit_code == 1, result.output
    assert "fn_c: RuntimeError: boom in c" in result.output
    assert "==== 3 passed, 1 failed, 1 skipped" in result.stdout
    assert " PASSED [" not in result.stdout  # no per-task lines under a live view
    assert "5/5" in result.stderr
    if flag == "--viewer":
        assert "thread_0" in result.stderr
