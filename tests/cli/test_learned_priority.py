"""With run history, tdrun dispatches by the durations it recorded (learned priorities)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SUITE = """
import time
from thread_order import dmark

@dmark()
def quick_one():
    time.sleep(0.01)

@dmark()
def quick_two():
    time.sleep(0.01)

@dmark()
def slow_one():
    time.sleep(0.2)
"""


def _order(tmp_path: Path, *extra: str) -> list[str]:
    report = tmp_path / "run.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "thread_order_cli",
            str(tmp_path / "suite_learn.py"),
            "--workers",
            "1",
            "--history",
            str(tmp_path / "history.db"),
            "--json-report",
            str(report),
            *extra,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    tasks = json.loads(report.read_text())["tasks"]
    return [t["name"] for t in sorted(tasks, key=lambda t: t["start"])]


def test_second_run_starts_the_longest_task_first(tmp_path: Path) -> None:
    (tmp_path / "suite_learn.py").write_text(SUITE)
    assert _order(tmp_path) == ["quick_one", "quick_two", "slow_one"]  # registration order
    assert _order(tmp_path)[0] == "slow_one"  # learned from the recorded durations
    no_history = _order(tmp_path, "--no-history")
    assert no_history == ["quick_one", "quick_two", "slow_one"]
