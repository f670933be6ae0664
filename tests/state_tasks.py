"""Tasks that use the shared state in ways a cluster can or cannot support, shared by the
thread backend's ``--state-check`` tests and the Dask backend's state tests."""

from __future__ import annotations

from typing import Any


def write_region(state: dict[str, Any]) -> str:
    state["region"] = "eu-west-1"
    return "written"


def read_region(state: dict[str, Any]) -> Any:
    return state.get("region", "unset"), state["results"].get("write", "no result")


def append_log(state: dict[str, Any]) -> None:
    state["log"].append("x")


def write_a(state: dict[str, Any]) -> None:
    state["shared"] = "a"


def write_b(state: dict[str, Any]) -> None:
    state["shared"] = "b"


def read_shared(state: dict[str, Any]) -> Any:
    return state["shared"]
