"""Shared fixtures: ``readyset_cls`` runs a test once per ready-set core ("c" and "py").

This and ``thread_order._readyset`` are the only places that import the two cores directly.
``--no-c-extensions`` skips the compiled-core runs.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-c-extensions",
        action="store_true",
        default=False,
        help="skip the tests of the compiled (Cython) ready-set core",
    )


@pytest.fixture(
    scope="session",
    params=[pytest.param("c", marks=pytest.mark.c_extension), "py"],
)
def readyset_cls(request: pytest.FixtureRequest) -> Any:
    """The ``ReadySet`` class of one core."""
    if request.param == "py":
        return importlib.import_module("thread_order._readyset_py").ReadySet
    if request.config.getoption("--no-c-extensions"):
        pytest.skip("compiled core disabled by --no-c-extensions")
    try:
        module = importlib.import_module("thread_order._readyset_c")
    except ImportError as exc:
        pytest.skip(f"compiled core thread_order._readyset_c is not built ({exc})")
    return module.ReadySet
