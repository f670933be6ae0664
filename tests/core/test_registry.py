"""The registry keeps tasks as columns; ``Registry.tasks`` shows them as ``Task`` objects."""

from __future__ import annotations

from typing import Any

import pytest

from thread_order import Scheduler
from thread_order._compiler import Registry
from thread_order._options import DEFAULT_OPTIONS


def first() -> None:
    return None


def second(state: dict[str, Any]) -> None:
    return None


def item(x: int) -> int:
    return x


def registry_of(scheduler: Scheduler) -> Registry:
    registry: Registry = scheduler._registry
    return registry


def test_tasks_read_back_as_registered(readyset_cls: Any) -> None:
    s = Scheduler()
    s.register(first, "a")
    s.register(second, "b", after=["a"], with_state=True, tags="slow, db", retries=2)
    s.register(item, "c", after="a", params=[1, 2])
    tasks = registry_of(s).tasks
    assert len(tasks) == 4
    assert [t.name for t in tasks] == ["a", "b", "c[1]", "c[2]"]
    a, b, c1, c2 = tasks
    assert c1.param == {"param": 1}
    assert (a.fn, a.after, a.with_state, a.bare) == (first, (), False, True)
    assert a.options is DEFAULT_OPTIONS and a.tags == () and a.param is None
    assert (b.fn, b.after, b.with_state, b.bare) == (second, ("a",), True, False)
    assert b.tags == ("slow", "db") and b.options.retries == 2
    assert (c2.family, c2.param, c2.after) == ("c", {"param": 2}, ("a",))
    assert tasks[-1].name == "c[2]"
    assert [t.name for t in tasks[1:3]] == ["b", "c[1]"]
    with pytest.raises(IndexError):
        tasks[4]
    assert registry_of(s).options()[1].retries == 2


def test_refused_registrations_leave_the_columns_aligned(readyset_cls: Any) -> None:
    s = Scheduler()
    s.register(first, "a")
    with pytest.raises(ValueError, match="^a has already been added$"):
        s.register(second, "a", with_state=True)
    with pytest.raises(ValueError, match="object must be callable"):
        s.register("not callable", "b")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="non-empty str"):
        s.register(first, "")
    r = registry_of(s)
    assert r.names == ["a"] and r.fns == [first] and r.afters == [()]
    assert r.with_state == [False] and r.more == {} and list(r.index) == ["a"]
    s.register(second, "b", after="a", with_state=True)
    assert s.start()["passed"] == ["a", "b"]


def test_graph_view_and_runs_use_the_columns(readyset_cls: Any) -> None:
    s = Scheduler()
    s.register(first, "a")
    s.register(second, "b", after="a", with_state=True, timeout=5)
    s.register(first, "c", after=["a", "b"])
    assert s.graph.original_parents_of("c") == ["a", "b"]
    assert s.start()["passed"] == ["a", "b", "c"]  # b's timeout: the run plan's slow path
