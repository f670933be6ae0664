"""``Scheduler(state_check=True)``: on threads, the state use a Dask run would refuse or see
differently, each problem naming task and key (docs/distributed.md)."""

from __future__ import annotations

from state_tasks import append_log, read_region, read_shared, write_a, write_b, write_region

from thread_order import Scheduler


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
