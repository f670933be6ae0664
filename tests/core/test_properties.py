"""Scheduler invariants over random DAGs, failures and worker counts (hypothesis).

Runs 250 examples per core (500 per test run) through the public API with real threads.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thread_order import Scheduler, TaskStatus

pytestmark = pytest.mark.usefixtures("core_impl")


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(min_value=0, max_value=24))
    deps = [
        sorted(draw(st.sets(st.integers(0, i - 1), max_size=min(i, 4)))) if i else []
        for i in range(n)
    ]
    failing = draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=n // 3)) if n else set()
    sleepy = draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=n // 4)) if n else set()
    order = draw(st.permutations(range(n)))  # registration order (forward references allowed)
    return {
        "n": n,
        "deps": deps,
        "failing": failing,
        "sleepy": sleepy,
        "order": order,
        "workers": draw(st.integers(1, 6)),
        "skip": draw(st.booleans()),
    }


def _descendants(deps: list[list[int]], roots: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for i, ds in enumerate(deps):
        for d in ds:
            children.setdefault(d, []).append(i)
    out: set[int] = set()
    stack = list(roots)
    while stack:
        for c in children.get(stack.pop(), []):
            if c not in out:
                out.add(c)
                stack.append(c)
    return out


class Ticks:
    """What the tasks of one run record: start and end ticks (one global order) and the most
    tasks running at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tick = itertools.count()
        self.started: dict[int, int] = {}
        self.ended: dict[int, int] = {}
        self.running = [0, 0]  # now, max

    def enter(self, i: int) -> None:
        with self.lock:
            self.started[i] = next(self.tick)
            self.running[0] += 1
            self.running[1] = max(self.running)

    def leave(self, i: int) -> None:
        with self.lock:
            self.running[0] -= 1
            self.ended[i] = next(self.tick)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(scenarios())
def test_scheduler_invariants(sc: dict[str, Any]) -> None:
    n, deps, failing = sc["n"], sc["deps"], sc["failing"]
    ticks = Ticks()
    started, ended, running = ticks.started, ticks.ended, ticks.running

    def make(i: int) -> Any:
        def task() -> int:
            ticks.enter(i)
            if i in sc["sleepy"]:
                time.sleep(0.001)
            ticks.leave(i)
            if i in failing:
                raise RuntimeError(f"t{i} fails")
            return i

        return task

    s = Scheduler(workers=sc["workers"], skip_dependents=sc["skip"])
    for i in sc["order"]:
        s.register(make(i), f"t{i}", after=[f"t{d}" for d in deps[i]])
    result = s.run()

    # every task ends in exactly one terminal status, and the counts add up
    assert sorted(r.name for r in result) == sorted(f"t{i}" for i in range(n))
    counts = result.counts()
    assert sum(counts.values()) == n
    assert counts[TaskStatus.CANCELLED] == 0
    # no task starts before all its dependencies finished
    for i, began in started.items():
        for d in deps[i]:
            assert d in ended
            assert ended[d] < began, (i, d)
    # skipped = exactly the descendants of failed tasks (with skip_dependents), else none
    failed = {i for i in range(n) if result[f"t{i}"].status is TaskStatus.FAILED}
    skipped = {i for i in range(n) if result[f"t{i}"].status is TaskStatus.SKIPPED}
    if sc["skip"]:
        assert skipped == _descendants(deps, failed)
        assert failed == failing - skipped
    else:
        assert skipped == set()
        assert failed == failing
    assert set(started) == set(range(n)) - skipped
    # results exist exactly for passed tasks
    passed = {f"t{i}" for i in range(n) if i not in failed | skipped}
    assert set(s.state["results"]) == passed
    assert all(s.state["results"][f"t{i}"] == i for i in range(n) if f"t{i}" in passed)
    # at most `workers` tasks run at once
    assert running[1] <= sc["workers"]


def test_one_worker_runs_longest_chain_first_then_registration_order() -> None:
    order: list[str] = []
    s = Scheduler(workers=1)

    def task(name: str) -> Any:
        return lambda: order.append(name)

    # a -> b -> c is the longest chain; x, y, z are single tasks registered first
    for name in ("x", "y"):
        s.register(task(name), name)
    s.register(task("c"), "c", after="b")
    s.register(task("z"), "z")
    s.register(task("b"), "b", after="a")
    s.register(task("a"), "a")
    s.start()
    # a (chain 3), b (chain 2), then the chain-1 tasks by registration: x, y, c, z
    assert order == ["a", "b", "x", "y", "c", "z"]
    order.clear()
    s.start()
    assert order == ["a", "b", "x", "y", "c", "z"]  # reproducible


@st.composite
def feature_mixes(draw: st.DrawFn) -> dict[str, Any]:
    """Random DAGs where tasks may fail, be flaky (retried), time out, hold locks, and use
    the ``all_done``/``any_failed`` trigger rules."""
    base = draw(scenarios())
    n = base["n"]
    kinds = draw(
        st.lists(
            st.sampled_from(["plain", "plain", "fail", "flaky", "timeout"]), min_size=n, max_size=n
        )
    )
    rules = draw(
        st.lists(
            st.sampled_from(["all_passed", "all_passed", "all_done", "any_failed"]),
            min_size=n,
            max_size=n,
        )
    )
    locks = draw(st.lists(st.sampled_from([(), (), ("db",), ("api",)]), min_size=n, max_size=n))
    return {**base, "kinds": kinds, "rules": rules, "locks": locks, "skip": True}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(feature_mixes())
def test_invariants_hold_with_timeouts_retries_rules_and_limits(sc: dict[str, Any]) -> None:
    n, deps, kinds, rules, locks = sc["n"], sc["deps"], sc["kinds"], sc["rules"], sc["locks"]
    limits = {"api": 2}
    lock = threading.Lock()
    tick = itertools.count()
    started: dict[int, int] = {}
    ended: dict[int, int] = {}
    holding = {"db": 0, "api": 0}
    peak = {"db": 0, "api": 0}
    attempts = [0] * n

    def make(i: int) -> Any:
        def task() -> int:
            with lock:
                attempts[i] += 1
                started.setdefault(i, next(tick))
                for r in locks[i]:
                    holding[r] += 1
                    peak[r] = max(peak[r], holding[r])
            try:
                if kinds[i] == "timeout":
                    time.sleep(0.05)
                if kinds[i] == "fail" or (kinds[i] == "flaky" and attempts[i] == 1):
                    raise RuntimeError(f"t{i}")
                return i
            finally:
                with lock:
                    for r in locks[i]:
                        holding[r] -= 1
                    ended[i] = next(tick)

        return task

    s = Scheduler(workers=sc["workers"], skip_dependents=True, limits=limits)
    for i in sc["order"]:
        s.register(
            make(i),
            f"t{i}",
            after=[f"t{d}" for d in deps[i]],
            run_if=rules[i],
            locks=list(locks[i]),
            retries=1 if kinds[i] == "flaky" else 0,
            timeout=0.01 if kinds[i] == "timeout" else None,
        )
    result = s.run()
    status = {i: result[f"t{i}"].status for i in range(n)}
    assert len(result) == n
    assert sum(result.counts().values()) == n
    for i in range(n):
        dep_ok = [status[d] is TaskStatus.PASSED for d in deps[i]]
        if rules[i] == "all_passed":
            should_run = all(dep_ok)
        elif rules[i] == "any_failed":
            should_run = not all(dep_ok)
        else:
            should_run = True
        assert (status[i] is not TaskStatus.SKIPPED) == should_run, (i, rules[i], status)
        if i in started:
            for d in deps[i]:  # every dependency had finished, was skipped, or was given up on
                assert d in ended or status[d] in (TaskStatus.TIMED_OUT, TaskStatus.SKIPPED)
                if d in ended and status[d] is not TaskStatus.TIMED_OUT:
                    assert ended[d] < started[i]
        if should_run:
            expected = {
                "plain": TaskStatus.PASSED,
                "flaky": TaskStatus.PASSED,
                "fail": TaskStatus.FAILED,
                "timeout": TaskStatus.TIMED_OUT,
            }[kinds[i]]
            assert status[i] is expected, (i, kinds[i], status[i])
            if kinds[i] == "flaky":
                assert result[f"t{i}"].attempts == 2
    assert peak["db"] <= 1
    assert peak["api"] <= limits["api"]
    passed = {f"t{i}" for i in range(n) if status[i] is TaskStatus.PASSED}
    assert set(s.state["results"]) == passed


# -- dynamic tasks ------------------------------------------------------------------------------


@st.composite
def growing(draw: st.DrawFn) -> dict[str, Any]:
    """Registered tasks 0..n-1 and added tasks n..n+k-1: added task ``x`` is added by task
    ``adder[x]`` (an earlier one) when that runs, after ``deps[x]`` (tasks that exist by then)
    and before ``before[x]`` (direct dependents of its adder: they cannot have started yet)."""
    n = draw(st.integers(1, 10))
    k = draw(st.integers(1, 10))
    deps: list[list[int]] = []
    for i in range(n):
        deps.append(sorted(draw(st.sets(st.integers(0, i - 1), max_size=min(i, 3)))) if i else [])
    adder = {x: draw(st.integers(0, x - 1)) for x in range(n, n + k)}
    for x in range(n, n + k):
        # what exists when the adder runs: the registered tasks, the adder, earlier siblings
        known = [*range(n), adder[x], *(y for y in range(n, x) if adder[y] == adder[x])]
        deps.append(sorted(draw(st.sets(st.sampled_from(known), max_size=3))))
    before: dict[int, list[int]] = {}
    for x in range(n, n + k):
        waiting = [t for t in range(n) if adder[x] in deps[t]]
        before[x] = sorted(draw(st.sets(st.sampled_from(waiting), max_size=2))) if waiting else []
    failing = draw(st.sets(st.integers(0, n + k - 1), max_size=(n + k) // 3))
    return {
        "n": n,
        "k": k,
        "deps": deps,
        "adder": adder,
        "before": before,
        "failing": failing,
        "workers": draw(st.integers(1, 5)),
        "skip": draw(st.booleans()),
    }


def _all_deps(sc: dict[str, Any]) -> list[list[int]]:
    full = [list(d) for d in sc["deps"]]
    for x, targets in sc["before"].items():
        for t in targets:
            full[t].append(x)
    return full


def _acyclic(full: list[list[int]]) -> bool:
    state = [0] * len(full)

    def visit(i: int) -> bool:
        if state[i] == 1:
            return False
        if state[i] == 2:
            return True
        state[i] = 1
        ok = all(visit(d) for d in full[i])
        state[i] = 2
        return ok

    return all(visit(i) for i in range(len(full)))


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(growing())
def test_invariants_hold_when_tasks_add_tasks(sc: dict[str, Any]) -> None:
    from thread_order import add_task

    n, k, deps, failing = sc["n"], sc["k"], sc["deps"], sc["failing"]
    full = _all_deps(sc)
    if not _acyclic(full):
        sc = {**sc, "before": {x: [] for x in sc["before"]}}
        full = _all_deps(sc)
    children: dict[int, list[int]] = {}
    for x, a in sc["adder"].items():
        children.setdefault(a, []).append(x)
    ticks = Ticks()
    started, ended, running = ticks.started, ticks.ended, ticks.running

    def make(i: int) -> Any:
        def task() -> int:
            ticks.enter(i)
            for x in children.get(i, []):
                add_task(
                    make(x),
                    f"t{x}",
                    after=[f"t{d}" for d in deps[x]],
                    before=[f"t{t}" for t in sc["before"][x]],
                )
            ticks.leave(i)
            if i in failing:
                raise RuntimeError(f"t{i} fails")
            return i

        return task

    s = Scheduler(workers=sc["workers"], skip_dependents=sc["skip"])
    for i in range(n):
        s.register(make(i), f"t{i}", after=[f"t{d}" for d in deps[i]])
    result = s.run()

    # a task exists when its adder ran; every existing task ends in one terminal status
    exists = set(range(n)) | {x for x, a in sc["adder"].items() if a in started}
    assert {r.name for r in result} == {f"t{i}" for i in exists}
    assert len(result) == len(exists)
    assert result.counts()[TaskStatus.CANCELLED] == 0
    # no task starts before all its dependencies (including those given by ``before``) ended
    for i, began in started.items():
        for d in full[i]:
            if d in exists:
                assert d in ended and ended[d] < began, (i, d)
    # skipped = the existing descendants of failed tasks (with skip_dependents), else none
    failed = {i for i in exists if result[f"t{i}"].status is TaskStatus.FAILED}
    skipped = {i for i in exists if result[f"t{i}"].status is TaskStatus.SKIPPED}
    if sc["skip"]:
        assert skipped == _descendants(full, failed) & exists
    else:
        assert skipped == set()
    assert set(started) == exists - skipped
    assert running[1] <= sc["workers"]
    assert k >= 0
