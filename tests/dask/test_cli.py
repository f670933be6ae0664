"""``tdrun --backend dask``: the surgery and engine-feature examples give the same statuses on
threads and on a 2-process LocalCluster (through the real CLI, in a subprocess), and bad
backend options are one-line usage errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from thread_order_cli.commands import run_app

pytest.importorskip("distributed", reason="the Dask backend needs thread-order[dask]")

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [
    REPO / "examples" / "surgery.py",
    *(
        REPO / "examples" / "features" / f"{name}.py"
        for name in (
            "async_api",
            "locks_and_limits",
            "params_and_data",
            "retries_and_conditions",
            "teardown",
            "timeouts",
        )
    ),
]


def _tdrun(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    report = tmp_path / f"report{len(list(tmp_path.glob('report*')))}.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "thread_order_cli",
            *map(str, EXAMPLES),
            "--limit",
            "api=2",
            "--no-history",
            "--json-report",
            str(report),
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # surgery and teardown fail on purpose
    return proc, json.loads(report.read_text())


def test_examples_give_the_same_statuses_on_threads_and_a_2_process_cluster(
    tmp_path: Path,
) -> None:
    _, threads = _tdrun(tmp_path, "--workers", "4")
    proc, dask = _tdrun(tmp_path, env={"TDRUN_BACKEND": "dask", "TDRUN_LOCAL": "2"})

    def statuses(report: Any) -> dict[str, str]:
        return {t["name"]: t["status"] for t in report["tasks"]}

    assert statuses(dask) == statuses(threads)
    assert len(statuses(dask)) == 44
    assert {"PASSED", "FAILED", "SKIPPED", "TIMED_OUT"} <= set(statuses(dask).values())
    lanes = {t["thread"] for t in dask["tasks"] if t["thread"]}
    assert len({lane.split(":")[1] for lane in lanes}) == 2  # both worker processes ran tasks
    assert "SKIPPED perform_surgery - upstream sterilize_instruments failed" in proc.stdout

    def passed_logs(report: Any) -> dict[str, str]:  # without the timestamps
        return {
            t["name"]: re.sub(r"^\S+ \S+ ", "", t["log"], flags=re.MULTILINE)
            for t in report["tasks"]
            if t["status"] == "PASSED"
        }

    assert passed_logs(dask) == passed_logs(threads)  # the workers' records reach the reports
    assert passed_logs(dask)["assess_patient"] == "INFO  assess_patient done in OR-3"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "ray"], "--backend must be one of threads, dask, got 'ray'"),
        (["--backend", "dask"], "--backend dask needs either --scheduler-address"),
        (["--local", "2"], "--local needs --backend dask"),
        (["--scheduler-address", "tcp://h:1"], "--scheduler-address needs --backend dask"),
        (["--backend", "dask", "--local", "0"], "--local needs at least 1 process and 1 thread"),
        (["--backend", "dask", "--local", "2xmany"], "--local must be N or NxT"),
        (
            ["--backend", "dask", "--scheduler-address", "localhost:8786"],
            "--scheduler-address must look like tcp://HOST:PORT, got 'localhost:8786'",
        ),
        (
            ["--backend", "dask", "--local", "1", "--state-check"],
            "--state-check runs on the thread backend",
        ),
    ],
)
def test_bad_backend_options_are_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(run_app, [str(EXAMPLES[0]), *args])
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"tdrun: error: {message}"), result.stderr
    assert result.stderr.count("\n") == 1


def test_the_backend_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDRUN_BACKEND", "dask")
    result = CliRunner().invoke(run_app, [str(EXAMPLES[0])])
    assert result.exit_code == 4
    assert "--backend dask needs either" in result.stderr


def test_state_check_reports_task_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    suite = tmp_path / "shared_log.py"
    suite.write_text(
        "from thread_order import mark\n\n\n"
        "def setup_state(state):\n    state['log'] = []\n\n\n"
        "@mark()\ndef first(state):\n    state['log'].append('first')\n"
    )
    result = CliRunner().invoke(run_app, [str(suite), "--state-check", "--no-history"])
    assert result.exit_code == 0, result.output
    assert "state check: 1 problem(s) for a distributed run:" in result.stdout
    assert "  first: task 'first' changed state['log'] in place" in result.stdout
