"""Per-task log capture: each task's records kept with it, bounded, in every run record."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from typer.testing import CliRunner

from thread_order_cli.capture import TaskLogCapture
from thread_order_cli.history import connect
from thread_order_cli.history_cmd import history_app

from .conftest import Invoke, example

Suite = Callable[[str, str], str]

# Two tasks log at the same time on different workers; a third fails after logging.
INTERLEAVED = """
    import logging
    import threading
    import time

    from thread_order import ThreadProxyLogger, mark

    logger = ThreadProxyLogger()
    gate = threading.Barrier(2, timeout=5)

    @mark()
    def left(state):
        gate.wait()
        for k in range(3):
            logger.info(f"left says {k}")
            time.sleep(0.01)

    @mark()
    def right(state):
        gate.wait()
        for k in range(3):
            logger.warning(f"right says {k}")
            time.sleep(0.01)
        logging.getLogger("other.library").warning("not ours")

    @mark(after=["left", "right"])
    def breaks(state):
        logger.info("about to break")
        logger.debug("debug detail")
        raise ValueError("broken")
"""


def _run_interleaved(invoke: Invoke, suite: Suite, *extra: str) -> None:
    path = suite("interleaved.py", INTERLEAVED)
    result = invoke(
        path, "--workers", "2", "--json-report", "r.json", "--junitxml", "r.xml", *extra
    )
    assert result.exit_code == 1, result.output


def test_logs_are_kept_per_task_in_the_json_report(
    invoke: Invoke, suite: Suite, tmp_path: Path
) -> None:
    _run_interleaved(invoke, suite)
    tasks = {t["name"]: t for t in json.loads((tmp_path / "r.json").read_text())["tasks"]}
    left = tasks["left"]["log"].splitlines()
    right = tasks["right"]["log"].splitlines()
    assert [line.split("INFO  ")[1] for line in left] == [f"left says {k}" for k in range(3)]
    assert [line.split("WARNING ")[1] for line in right] == [f"right says {k}" for k in range(3)]
    assert "not ours" not in tasks["right"]["log"]  # other libraries' loggers are left alone
    broken = tasks["breaks"]["log"]
    assert "INFO  about to break" in broken
    assert "debug detail" not in broken  # INFO and up, as the stream shows
    assert "ERROR breaks: ValueError: broken" in broken  # the engine's failure record


def test_verbose_keeps_debug_records(invoke: Invoke, suite: Suite, tmp_path: Path) -> None:
    _run_interleaved(invoke, suite, "--verbose")
    tasks = {t["name"]: t for t in json.loads((tmp_path / "r.json").read_text())["tasks"]}
    assert "DEBUG debug detail" in tasks["breaks"]["log"]


def test_junit_system_out_carries_the_task_log(
    invoke: Invoke, suite: Suite, tmp_path: Path
) -> None:
    _run_interleaved(invoke, suite)
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "r.xml").getroot().iter("testcase")}
    out = cases["breaks"].find("system-out")
    assert out is not None
    assert "about to break" in (out.text or "")
    assert [child.tag for child in cases["breaks"]] == ["properties", "failure", "system-out"]
    assert "left says 0" in (cases["left"].findtext("system-out") or "")


def test_task_without_records_has_no_system_out(invoke: Invoke, tmp_path: Path) -> None:
    assert invoke(example("passing.py"), "--junitxml", "p.xml").exit_code == 0
    root = ET.parse(tmp_path / "p.xml").getroot()
    assert all(c.find("system-out") is None for c in root.iter("testcase"))


def test_history_stores_logs_and_show_prints_a_failed_tasks_log(
    invoke: Invoke, suite: Suite, tmp_path: Path
) -> None:
    _run_interleaved(invoke, suite)
    with closing(sqlite3.connect(tmp_path / ".tdrun" / "history.db")) as db:
        logs = dict(db.execute("SELECT name, log FROM tasks"))
    assert "left says 2" in logs["left"]
    assert "about to break" in logs["breaks"]
    shown = CliRunner().invoke(history_app, ["show", "1"])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    at = next(k for k, line in enumerate(lines) if line.startswith("FAILED    breaks"))
    assert lines[at + 1] == "  log:"
    assert lines[at + 2].endswith("INFO  about to break")
    assert lines[at + 3].endswith("ERROR breaks: ValueError: broken")
    assert not any("left says" in line for line in lines)  # passed tasks: no log shown


def test_an_older_history_database_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE tasks (run_id INTEGER, name TEXT, module TEXT, status TEXT,"
            " thread TEXT, started_at REAL, duration REAL, error_type TEXT,"
            " error_message TEXT, traceback TEXT, reason TEXT NOT NULL)"
        )
    db = connect(str(path))
    try:
        columns = [row[1] for row in db.execute("PRAGMA table_info(tasks)")]
    finally:
        db.close()
    assert columns[-3:] == ["log", "attempts", "retried"]


def test_capture_is_detached_and_levels_untouched_after_the_run(
    invoke: Invoke, suite: Suite
) -> None:
    root = logging.getLogger()
    other = logging.getLogger("other.library")
    before = (root.level, other.level, list(root.handlers))
    _run_interleaved(invoke, suite)
    assert (root.level, other.level, list(root.handlers)) == before
    for name in ("thread_0", "thread_1", threading.current_thread().name):
        handlers = logging.getLogger(name).handlers
        assert not any(isinstance(h, TaskLogCapture) for h in handlers)


def _emit_as_task(capture: TaskLogCapture, task: str, messages: list[str]) -> None:
    capture._current_task = lambda: task
    logger = logging.getLogger("tdrun-test-capture")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    capture.attach([logger.name])
    try:
        for message in messages:
            logger.info(message)
    finally:
        capture.detach()


def test_capture_keeps_the_last_lines_of_a_chatty_task() -> None:
    capture = TaskLogCapture(max_lines=5)
    _emit_as_task(capture, "chatty", [f"line {k}" for k in range(12)])
    text = capture.logs()["chatty"].splitlines()
    assert text[0] == "[... 7 earlier lines dropped]"
    assert [line.rsplit(" ", 2)[-2:] for line in text[1:]] == [
        ["line", str(k)] for k in range(7, 12)
    ]


def test_capture_is_bounded_in_bytes_and_keeps_a_huge_lines_end() -> None:
    capture = TaskLogCapture(max_bytes=1024)
    _emit_as_task(capture, "big", ["x" * 300 for _ in range(10)] + ["y" * 5000 + "END"])
    text = capture.logs()["big"]
    kept = text.split("\n", 1)[1]
    assert len(kept.encode()) <= 1024
    assert text.startswith("[... ")
    assert text.endswith("END")


def test_capture_ignores_records_outside_tasks() -> None:
    capture = TaskLogCapture()
    logger = logging.getLogger("tdrun-test-outside")
    logger.propagate = False
    capture.attach([logger.name])
    try:
        logger.warning("from the main thread, no task running")
    finally:
        capture.detach()
    assert capture.logs() == {}
