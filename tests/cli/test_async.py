"""``async def`` tasks: collected and run by the engine on the run's event loop thread."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Invoke, example


def test_async_example_runs(invoke: Invoke, tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    result = invoke(example("async_suite.py"), "--workers", "2", "--json-report", str(report))
    assert result.exit_code == 0, result.output
    assert "[event_loop] fetch_status ...." in result.stdout
    assert "[event_loop] fetch_owner ...." in result.stdout
    assert "==== 4 passed, 0 failed, 0 skipped in " in result.stdout
    tasks = {t["name"]: t for t in json.loads(report.read_text())["tasks"]}
    assert tasks["report"]["result"] == ["res-1: ready", "res-1: owned by ops"]
    status, owner = tasks["fetch_status"], tasks["fetch_owner"]
    assert status["start"] < owner["end"] and owner["start"] < status["end"]  # concurrent


def test_async_failure_and_timeout(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    path = suite(
        "asy.py",
        """
        import asyncio
        from thread_order import mark

        @mark()
        async def boom(state):
            raise ValueError("bad gateway")

        @mark(timeout=0.05)
        async def stuck(state):
            await asyncio.sleep(5)
        """,
    )
    result = invoke(path)
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "[event_loop] boom: ValueError: bad gateway" in out
    assert "TIMED_OUT stuck - TimeoutError: timed out after 0.05s; the coroutine was" in out
    assert "0 passed, 1 failed, 0 skipped, 1 timed out" in out
