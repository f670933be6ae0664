"""State along edges on the Dask backend (``state_check`` on threads, which reports the same
problems before a suite moves, is tested in tests/core/test_statecheck.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from state_tasks import append_log, read_region, read_shared, write_a, write_b, write_region

from thread_order import Scheduler, TaskStatus
from thread_order.backends import BackendError

pytest.importorskip("distributed", reason="the Dask backend needs thread-order[dask]")


def test_descendants_see_assignments_and_results_others_do_not(inproc: Any) -> None:
    s = Scheduler(backend=inproc, state={"region": "base"})
    s.register(write_region, "write", with_state=True)
    s.register(read_region, "child", after="write", with_state=True)
    s.register(read_region, "grandchild", after="child", with_state=True)
    s.register(read_region, "unrelated", with_state=True)
    result = s.run()
    assert result["child"].result == ("eu-west-1", "written")
    assert result["grandchild"].result == ("eu-west-1", "written")
    assert result["unrelated"].result == ("base", "no result")
    assert s.state["region"] == "eu-west-1"  # the driver's state gets the assignments too


def test_a_change_in_place_is_refused_naming_task_and_key(inproc: Any) -> None:
    s = Scheduler(backend=inproc, state={"log": []})
    s.register(append_log, "appender", with_state=True)
    result = s.run()
    assert result["appender"].status is TaskStatus.FAILED
    error = result["appender"].error
    assert error is not None and error.type == "StateError"
    assert "task 'appender' changed state['log'] in place" in error.message
    assert s.state["log"] == []


def test_parallel_writers_of_a_key_read_after_them_are_refused(inproc: Any) -> None:
    s = Scheduler(backend=inproc, state={"shared": "base"})
    s.register(write_a, "a", with_state=True)
    s.register(write_b, "b", with_state=True)
    s.register(read_shared, "reader", after=["a", "b"], with_state=True)
    result = s.run()
    error = result["reader"].error
    assert result["reader"].status is TaskStatus.FAILED
    assert error is not None and error.type == "StateError"
    assert "task 'reader' would see state['shared'] from 'a', 'b'" in error.message


def test_state_that_cannot_be_pickled_is_an_error_naming_the_key(inproc: Any) -> None:
    s = Scheduler(backend=inproc, state={"session": threading.Lock()})
    s.register(read_region, "t", with_state=True)
    with pytest.raises(BackendError, match=r"state\['session'\] cannot be sent to the workers"):
        s.run()
