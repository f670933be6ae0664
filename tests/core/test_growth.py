"""Growing a run in progress (dynamic tasks) on both ready-set cores.

``grow()`` adds tasks to a run that has started: its unit behaviour, its argument checks, and
a differential hypothesis test against the pure-Python reference with growth at a random
moment of a random run (random dependencies, tasks to precede, trigger rules and failures).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_readyset import _reference, build, csr, drain, scenarios

from thread_order._readyset import (
    ALL_DONE,
    ANY_FAILED,
    FAILED,
    PASSED,
    PENDING,
    QUEUED,
    RUNNING,
    SKIPPED,
    TIMED_OUT,
)


def test_new_task_waits_for_a_running_dependency(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 2, {1: [0]})
    rs.reset(True)
    assert rs.pop() == 0
    rs.grow([0, 1], [0])  # task 2 after task 0
    assert rs.size == 3
    assert rs.status(2) == PENDING
    assert rs.remaining == 3
    assert sorted(rs.finish(0, PASSED)) == [1, 2]
    assert drain(rs) == [1, 2]
    assert rs.remaining == 0


def test_new_task_after_passed_tasks_is_ready_at_once(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 2, {})
    rs.reset(True)
    assert rs.pop() == 0
    assert rs.finish(0, PASSED) == []
    rs.grow([0, 1], [0])
    assert rs.status(2) == QUEUED
    assert rs.ready_count == 2
    assert drain(rs) == [1, 2]  # new tasks rank after every task of the compiled graph


def test_new_task_after_a_failed_task_is_skipped(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 1, {})
    rs.reset(True)
    assert rs.pop() == 0
    rs.finish(0, FAILED)
    rs.grow([0, 1, 2], [0, 1], bytes([0, ALL_DONE]))  # 1 after 0; 2 (teardown) after 1
    assert rs.take_skipped() == [1, 0]
    assert rs.status(1) == SKIPPED
    assert rs.status(2) == QUEUED  # all_done: runs whatever its dependency did


def test_without_skip_dependents_a_failed_dependency_does_not_skip(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 1, {})
    rs.reset(False)
    assert rs.pop() == 0
    rs.finish(0, TIMED_OUT)
    rs.grow([0, 1], [0])
    assert rs.status(1) == QUEUED


def test_on_failure_task_added_after_a_failure_runs(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 2, {})
    rs.reset(True)
    rs.pop()
    rs.pop()
    rs.finish(0, FAILED)
    rs.finish(1, PASSED)
    rs.grow([0, 1, 2], [0, 1], bytes([ANY_FAILED, ANY_FAILED]))
    assert rs.status(2) == QUEUED
    assert rs.status(3) == SKIPPED  # its one dependency passed
    assert rs.take_skipped() == [3, -1]


def test_before_takes_a_queued_task_back_until_the_new_one_passed(readyset_cls: Any) -> None:
    # 0 -> 1 (teardown); 0 passes, 1 is queued; a new task 2 must finish before 1.
    rs = build(readyset_cls, 2, {1: [0]})
    rs.reset(True)
    assert rs.pop() == 0
    assert rs.finish(0, PASSED) == [1]
    rs.grow([0, 0], [], None, [0, 1], [1])
    assert rs.status(1) == PENDING
    assert rs.ready_count == 1
    assert rs.pop() == 2
    assert rs.complete(2) == 1
    assert rs.successors(2) == [1]


def test_before_a_task_that_is_skipped_when_the_new_task_fails(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 2, {1: [0]})
    rs.reset(True)
    rs.pop()
    rs.grow([0, 1], [0], None, [0, 1], [1])  # 2 after 0 and before 1
    rs.finish(0, PASSED)
    assert rs.pop() == 2
    rs.finish(2, FAILED)
    assert rs.take_skipped() == [1, 2]
    assert rs.remaining == 0


def test_growth_within_one_batch_and_over_several(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 1, {})
    rs.reset(True)
    assert rs.pop() == 0
    rs.grow([0, 1, 2, 4], [0, 1, 1, 0])  # 1 after 0; 2 after 1; 3 after 1 and 0
    rs.grow([0, 1], [3])  # 4 after 3
    assert rs.size == 5
    assert rs.successors(0) == [1, 3]
    assert rs.successors(1) == [2, 3]
    assert rs.complete(0) == 1
    assert drain_running(rs, 1) == [1, 2, 3, 4]
    assert rs.topo_order() == [0, 1, 2, 3, 4]
    assert rs.chain_lengths() == [4, 3, 1, 2, 1]
    assert rs.depths() == [0, 1, 2, 2, 3]


def drain_running(rs: Any, i: int) -> list[int]:
    out = []
    while i >= 0:
        out.append(i)
        i = rs.complete(i)
    return out


def test_growth_past_the_first_sizes(readyset_cls: Any) -> None:
    # Past the sizes chosen at reset (the Python key modulus, the compiled bitset levels).
    rs = build(readyset_cls, 3, {1: [0], 2: [0]}, None)
    rs.reset(True, [5, 1, 9])
    first = rs.pop()
    assert first == 0
    k = 5000
    rs.grow([0] * (k + 1), [])
    assert rs.ready_count == k
    assert rs.complete(0) == 2  # the old tasks keep their order ahead of the new ones
    order = drain_running(rs, rs.pop())
    assert order[:1] == [1]
    assert order[1:] == list(range(3, 3 + k))
    assert rs.remaining == 1  # task 2 is still running


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([], []), "pred_off must have at least one entry"),
        (([0, 1], []), "pred_off must run from 0 to 0, got 0..1"),
        (([0, 1], [5]), "task id 5 is out of range 0..1"),
        (([0, 0], [], b"\x00\x00"), "rules must have 1 entries, got 2"),
        (([0, 0], [], None, [0, 1], [0]), "task 0 has already started: nothing can precede it"),
        (([0, 0, 0], [], None, [0, 0]), "before_off must have 3 entries, got 2"),
    ],
)
def test_grow_argument_errors(readyset_cls: Any, args: tuple[Any, ...], message: str) -> None:
    rs = build(readyset_cls, 2, {})
    rs.reset(True)
    assert rs.pop() == 0
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        rs.grow(*args)
    assert rs.size == 2  # nothing changed


def test_grow_needs_a_run(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 1, {})
    with pytest.raises(ValueError, match="needs a run in progress"):
        rs.grow([0, 0], [])


# -- differential ------------------------------------------------------------------------------


@st.composite
def growth_scenarios(draw: Any) -> dict[str, Any]:
    sc = draw(scenarios())
    sc["grow_at"] = draw(st.lists(st.integers(0, 2 * sc["n"] + 2), min_size=1, max_size=3))
    sc["grow_seed"] = draw(st.integers(0, 2**32))
    sc["cancel_at"] = None if draw(st.booleans()) else sc["cancel_at"]
    return sc


def _reaches(rs: Any, extra: dict[int, list[int]], start: int, goals: set[int]) -> bool:
    seen = {start}
    stack = [start]
    while stack:
        i = stack.pop()
        if i in goals:
            return True
        for s in [*(rs.successors(i) if i < rs.size else []), *extra.get(i, [])]:
            if s not in seen:
                seen.add(s)
                stack.append(s)
    return False


def _batch(rs: Any, rng: random.Random) -> tuple[Any, ...]:
    """Random new tasks: dependencies on anything, and tasks to precede that have not
    started, chosen so that no cycle results."""
    n = rs.size
    k = rng.randint(1, 5)
    pred_off, preds, before_off, before = [0], [], [0], []
    extra: dict[int, list[int]] = {}
    states = bytearray(rs.states())
    for j in range(k):
        x = n + j
        mine = [rng.randrange(x) for _ in range(rng.randint(0, 3))] if x else []
        for p in mine:
            extra.setdefault(p, []).append(x)
        preds.extend(mine)
        pred_off.append(len(preds))
        targets = []
        for _ in range(rng.randint(0, 2)):
            if not x:
                break
            t = rng.randrange(x)
            waiting = t >= n or states[t] not in (RUNNING, PASSED, FAILED, TIMED_OUT)
            if waiting and t not in targets and not _reaches(rs, extra, t, {*mine, x}):
                targets.append(t)
                extra.setdefault(x, []).append(t)
        before.extend(targets)
        before_off.append(len(before))
    rules = bytes(rng.choice((0, 0, 0, ALL_DONE, ANY_FAILED)) for _ in range(k))
    return pred_off, preds, rules, before_off, before


def run_growing_pool(cls: Any, sc: dict[str, Any]) -> list[Any]:
    """``run_pool`` of test_readyset, with batches of new tasks added at random steps."""
    off, preds = csr(sc["n"], sc["deps"])
    rs = cls(sc["n"], off, preds, sc["rules"])
    if not rs.acyclic:
        return []
    rng = random.Random(sc["seed"])
    grow_rng = random.Random(sc["grow_seed"])
    rs.reset(sc["skip"], sc["priority"])
    log: list[Any] = [("start", rs.take_skipped(), rs.states())]
    running: list[int] = []
    fails = set(sc["fails"])
    step = 0
    while True:
        if step in sc["grow_at"]:
            batch = _batch(rs, grow_rng)
            first = rs.size
            rs.grow(*batch)
            fails.update(i for i in range(first, rs.size) if grow_rng.random() < 0.3)
            log.append(("grow", batch, rs.states(), rs.take_skipped(), rs.ready_count))
        while len(running) < sc["workers"]:
            i = rs.pop()
            if i < 0:
                break
            running.append(i)
            log.append(("pop", i))
        if not running:
            break
        if step == sc["cancel_at"]:
            log.append(("cancel", rs.cancel(), rs.states(), rs.remaining))
        step += 1
        i = running.pop(rng.randrange(len(running)))
        if i in fails:
            log.append(("finish", i, rs.finish(i, rng.choice((FAILED, TIMED_OUT)))))
        elif sc["use_complete"] and rng.random() < 0.5:
            j = rs.complete(i)
            log.append(("complete", i, j))
            if j >= 0:
                running.append(j)
        else:
            log.append(("finish", i, rs.finish(i, PASSED)))
        log.append(("skipped", rs.take_skipped(), rs.remaining, rs.ready_count))
    log.append(("end", rs.states(), rs.remaining))
    log.append(("facts", rs.topo_order(), rs.chain_lengths(), rs.depths(), rs.critical_path()))
    log.append([rs.successors(i) for i in range(rs.size)])
    return log


@settings(max_examples=150, deadline=None)
@given(sc=growth_scenarios())
def test_differential_growth(readyset_cls: Any, sc: dict[str, Any]) -> None:
    assert run_growing_pool(readyset_cls, sc) == run_growing_pool(_reference(), sc)


@settings(max_examples=150, deadline=None)
@given(sc=growth_scenarios())
def test_growth_invariants(readyset_cls: Any, sc: dict[str, Any]) -> None:
    """With growth too, every task ends terminal, nothing runs twice, and a task only runs
    once each of its dependencies has finished."""
    sc = {**sc, "cancel_at": None}
    log = run_growing_pool(readyset_cls, sc)
    if not log:
        return
    end = next(e for e in log if isinstance(e, tuple) and e[0] == "end")
    assert end[2] == 0
    assert all(code >= PASSED for code in end[1])
    popped = [e[1] for e in log if isinstance(e, tuple) and e[0] == "pop"]
    popped += [e[2] for e in log if isinstance(e, tuple) and e[0] == "complete" and e[2] >= 0]
    assert len(popped) == len(set(popped))


def test_before_a_skipped_task_only_adds_the_edge(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 3, {2: [0]})
    rs.reset(True)
    assert rs.pop() == 0
    rs.finish(0, FAILED)  # 2 is skipped
    assert rs.take_skipped() == [2, 0]
    assert rs.pop() == 1
    rs.grow([0, 0], [], None, [0, 1], [2])
    assert rs.status(2) == SKIPPED
    assert rs.successors(3) == [2]
    assert drain_running(rs, rs.pop()) == [3]
    assert rs.finish(1, PASSED) == []
    assert rs.remaining == 0
