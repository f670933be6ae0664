"""``Scheduler(state_check=True)``: on threads, the state use a Dask run would refuse or see
differently, each problem naming task and key (docs/distributed.md)."""

from __future__ import annotations

from typing import Any

from thread_order import Scheduler


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


def test_state_check_on_threads_names_task_and_key() -> None:
    s = Scheduler(workers=2, state={"log": [], "shared": "base"}, state_check=True)
    s.register(append_log, "appender", with_state=True)
    s.register(write_a, "a", with_state=True)
    s.register(write_b, "b", with_state=True)
    s.register(read_shared, "reader", after=["a", "b"], with_state=True)
    s.register(read_shared, "outsider", with_state=True)
    s.register(lambda state: state["results"]["a"], "peek", with_state=True)
    result = s.run()
    assert result.ok
    found = {(i.task, i.key) for i in s.state_issues}
    assert found == {
        ("appender", "log"),
        ("reader", "shared"),
        ("outsider", "shared"),
        ("peek", "results"),
    }
    messages = {i.task: i.message for i in s.state_issues}
    assert "changed state['log'] in place" in messages["appender"]
    assert "'a', 'b'" in messages["reader"]
    assert "without being its ancestor" in messages["outsider"]
    assert "state['results']['a']" in messages["peek"]


def test_state_check_passes_a_portable_suite() -> None:
    s = Scheduler(state={"region": "base"}, state_check=True)
    s.register(write_region, "write", with_state=True)
    s.register(read_region, "child", after="write", with_state=True)
    assert s.run().ok
    assert s.state_issues == []
