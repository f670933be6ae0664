"""Shared fixtures for the tdrun tests: an isolated working folder and an ``invoke`` helper."""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from thread_order_cli.commands import run_app

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cli"

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own folder (history, log files) with a clean environment."""
    monkeypatch.chdir(tmp_path)
    for var in ("TDRUN_DEBUG", "TDRUN_HISTORY", "THREAD_ORDER_NO_EXTENSIONS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    # Suites are imported by file stem; forget the ones earlier tests imported.
    for name in [m for m, mod in sys.modules.items() if _is_suite(mod)]:
        monkeypatch.delitem(sys.modules, name)


def _is_suite(module: object) -> bool:
    file = getattr(module, "__file__", None) or ""
    return str(EXAMPLES) in file or "pytest-of" in file


@pytest.fixture
def invoke() -> Invoke:
    """``invoke("suite.py", "--workers", "2")`` runs tdrun in-process with separate streams."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(run_app, list(args))

    return run


@pytest.fixture
def suite(tmp_path: Path) -> Callable[[str, str], str]:
    """Write a suite file into the test folder and return its path."""

    def write(name: str, source: str) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return str(path)

    return write


def example(name: str) -> str:
    return str(EXAMPLES / name)


_DURATION = re.compile(r"\d+\.\d\d(s?)")


def normalise(text: str) -> str:
    """Durations become ``D.DDs`` so text formats can be compared exactly."""
    return _DURATION.sub(r"D.DD\1", text)
