"""The ready-set core: behaviour on small DAGs, and the compiled twin against the reference.

Every test runs on both cores through the ``readyset_cls`` fixture. The differential tests
drive the core under test side by side with the pure-Python reference over random DAGs, rules,
priorities and failures, and compare everything observable.
"""

from __future__ import annotations

import importlib
import itertools
import os
import random
import subprocess
import sys
from array import array
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thread_order._readyset import (
    ALL_DONE,
    ALL_PASSED,
    ANY_FAILED,
    CANCELLED,
    FAILED,
    PASSED,
    PENDING,
    QUEUED,
    RUNNING,
    SKIPPED,
    TIMED_OUT,
)


def _reference() -> Any:
    # The oracle for the differential tests. Resolved lazily, by name, so the core under test
    # still comes only from the ``readyset_cls`` fixture.
    return importlib.import_module("thread_order._readyset_py").ReadySet


def csr(n: int, deps: dict[int, list[int]]) -> tuple[list[int], list[int]]:
    off = [0]
    preds: list[int] = []
    for i in range(n):
        preds.extend(deps.get(i, []))
        off.append(len(preds))
    return off, preds


def build(cls: Any, n: int, deps: dict[int, list[int]], rules: bytes | None = None) -> Any:
    off, preds = csr(n, deps)
    return cls(n, off, preds, rules)


def drain(rs: Any) -> list[int]:
    out = []
    i = rs.pop()
    while i >= 0:
        out.append(i)
        i = rs.complete(i)
    return out


# -- dispatch order ---------------------------------------------------------------------------


def test_longest_chain_first(readyset_cls: Any) -> None:
    # 0 -> 1 -> 2 is the long chain; 3 and 4 are lone tasks with lower ids than 5.
    rs = build(readyset_cls, 6, {1: [0], 2: [1], 5: [3]})
    assert rs.acyclic
    assert rs.chain_lengths() == [3, 2, 1, 2, 1, 1]
    rs.reset(False)
    assert rs.ready_count == 3
    assert drain(rs) == [0, 1, 3, 2, 4, 5]
    assert rs.remaining == 0
    assert rs.states() == bytes([PASSED] * 6)


def test_ties_break_by_lower_id(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 5, {})
    rs.reset(False)
    assert drain(rs) == [0, 1, 2, 3, 4]


def test_custom_priority(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 5, {4: [0]})
    rs.reset(False, [0, 5, -3, 5, 9])
    assert drain(rs) == [1, 3, 0, 4, 2]
    rs.reset(False, array("i", [1, 1, 1, 1, 1]))
    assert drain(rs) == [0, 1, 2, 3, 4]
    rs.reset(False, (2**31 - 1, -(2**31), 0, 0, 7))
    assert drain(rs) == [0, 4, 2, 3, 1]
    rs.reset(False)  # back to the longest chains
    assert drain(rs) == [0, 1, 2, 3, 4]
    assert rs.chain_lengths() == [2, 1, 1, 1, 1]


def test_default_order_after_other_orders_and_growth(readyset_cls: Any) -> None:
    # The default order is ranked once per graph: a run with a given priority, or tasks
    # added by grow(), must not leave a later default run in a stale order.
    rs = build(readyset_cls, 5, {4: [3]})
    rs.reset(False)
    assert drain(rs) == [3, 0, 1, 2, 4]
    rs.reset(False, [9, 0, 0, 0, 0])
    assert drain(rs) == [0, 1, 2, 3, 4]
    rs.reset(False)
    assert drain(rs) == [3, 0, 1, 2, 4]
    rs.reset(False)
    rs.grow([0, 1], [0])  # task 5 after 0: now 0 heads a chain as long as 3's
    rs.reset(False)
    assert rs.chain_lengths() == [2, 1, 1, 2, 1, 1]
    assert drain(rs) == [0, 3, 1, 2, 4, 5]


def test_pop_and_finish(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 3, {2: [0, 1]})
    rs.reset(True)
    assert rs.status(0) == QUEUED and rs.status(2) == PENDING
    a, b = rs.pop(), rs.pop()
    assert (a, b) == (0, 1)
    assert rs.pop() == -1
    assert rs.status(0) == RUNNING
    assert rs.finish(0, PASSED) == []
    assert rs.finish(1, PASSED) == [2]
    assert rs.finish(1, FAILED) == []  # already finished: ignored
    assert rs.remaining == 1
    assert rs.pop() == 2
    assert rs.complete(2) == -1
    assert rs.remaining == 0
    assert rs.take_skipped() == []


# -- failures, skips and rules ----------------------------------------------------------------


def _failure_dag(cls: Any, rules: bytes | None = None) -> Any:
    # 0 -> 1 -> 2, 0 -> 3, 4 independent
    return build(cls, 5, {1: [0], 2: [1], 3: [0]}, rules)


def test_skip_propagation(readyset_cls: Any) -> None:
    rs = _failure_dag(readyset_cls)
    rs.reset(True)
    assert rs.pop() == 0
    assert rs.finish(0, FAILED) == []
    assert rs.take_skipped() == [1, 0, 2, 0, 3, 0]  # depth first, in successor order
    assert rs.take_skipped() == []
    assert rs.states() == bytes([FAILED, SKIPPED, SKIPPED, SKIPPED, QUEUED])
    assert rs.remaining == 1
    assert drain(rs) == [4]


def test_no_skip_releases_dependents(readyset_cls: Any) -> None:
    rs = _failure_dag(readyset_cls)
    rs.reset(False)
    assert rs.pop() == 0
    assert rs.finish(0, TIMED_OUT) == [1, 3]
    assert rs.take_skipped() == []
    assert drain(rs) == [1, 2, 3, 4]
    assert rs.states() == bytes([TIMED_OUT] + [PASSED] * 4)


def test_all_done_rule(readyset_cls: Any) -> None:
    rs = _failure_dag(readyset_cls, bytes([ALL_PASSED, ALL_PASSED, ALL_DONE, ALL_DONE, 0]))
    rs.reset(True)
    assert rs.pop() == 0
    # 1 is skipped; 3 (teardown) runs anyway; 2 (teardown of a skipped task) runs too
    assert rs.finish(0, FAILED) == [2, 3]
    assert rs.take_skipped() == [1, 0]
    assert sorted(drain(rs)) == [2, 3, 4]


def test_any_failed_rule(readyset_cls: Any) -> None:
    rules = bytes([ALL_PASSED, ANY_FAILED, ALL_PASSED, ANY_FAILED, ANY_FAILED])
    rs = _failure_dag(readyset_cls, rules)
    rs.reset(True)
    # 4 is an on-failure task with no dependencies: skipped at once, cause -1
    assert rs.take_skipped() == [4, -1]
    assert rs.status(4) == SKIPPED
    assert rs.pop() == 0
    assert rs.finish(0, FAILED) == [1, 3]
    assert drain(rs) == [1, 2, 3]

    rs.reset(True)
    assert rs.take_skipped() == [4, -1]
    # 0 passes: the on-failure tasks 1 and 3 are skipped (cause -1) and 2 behind 1 with them
    assert rs.complete(rs.pop()) == -1
    assert rs.take_skipped() == [1, -1, 2, -1, 3, -1]
    assert rs.remaining == 0


def test_any_failed_without_skip_dependents(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 3, {1: [0], 2: [1]}, bytes([ALL_PASSED, ANY_FAILED, ALL_PASSED]))
    rs.reset(False)
    assert rs.pop() == 0
    assert rs.finish(0, PASSED) == [2]  # 1 is skipped, 2 still runs (skip_dependents off)
    assert rs.take_skipped() == [1, -1]
    assert drain(rs) == [2]


def test_cancel(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 5, {1: [0], 2: [1], 3: [0]})
    rs.reset(False)
    assert rs.pop() == 0
    assert rs.cancel() == [1, 2, 3, 4]
    assert rs.ready_count == 0 and rs.remaining == 1
    # the running task may still end; its cancelled dependents stay cancelled
    assert rs.complete(0) == -1
    assert rs.states() == bytes([PASSED] + [CANCELLED] * 4)
    assert rs.remaining == 0
    assert rs.cancel() == []


# -- graph facts and validation ---------------------------------------------------------------


def test_cycle_detection(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 5, {0: [2], 1: [0], 2: [1], 3: [2]})
    assert not rs.acyclic
    assert rs.unresolved() == [0, 1, 2, 3]
    for call in (rs.topo_order, rs.chain_lengths, rs.depths, rs.critical_path):
        with pytest.raises(ValueError, match="cycle"):
            call()
    with pytest.raises(ValueError, match="the graph has a cycle"):
        rs.reset(False)
    assert build(readyset_cls, 2, {0: [0]}).unresolved() == [0]


def test_analytics(readyset_cls: Any) -> None:
    # 0 -> 1 -> 3, 0 -> 2 -> 3, 4 -> 3, 5 alone
    rs = build(readyset_cls, 6, {1: [0], 2: [0], 3: [1, 2, 4]})
    assert rs.topo_order() == [0, 4, 5, 1, 2, 3]
    assert rs.unresolved() == []
    assert rs.successors(0) == [1, 2]
    assert rs.successors(3) == []
    assert rs.chain_lengths() == [3, 2, 2, 1, 2, 1]
    assert rs.depths() == [0, 1, 1, 2, 0, 0]
    assert rs.critical_path() == [0, 1, 3]
    assert rs.critical_path([1, 1, 5, 1, 1, 1]) == [0, 2, 3]
    assert rs.critical_path([1, 1, 1, 1, 9, 1]) == [4, 3]
    assert rs.critical_path([1, 1, 1, 1, 1, 9.5]) == [5]
    assert rs.size == 6
    empty = readyset_cls(0, [0], [])
    assert empty.topo_order() == [] and empty.critical_path() == [] and empty.depths() == []
    empty.reset(True)
    assert empty.pop() == -1 and empty.remaining == 0 and empty.states() == b""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, [0], []), "task count must be >= 0, got -1"),
        ((2, [0, 0], []), r"pred_off must have n \+ 1 = 3 entries, got 2"),
        ((1, [0, 0], [], b"\x00\x00"), "rules must have n = 1 entries, got 2"),
        ((2, [0, 0, 1], [2]), r"dependency id 2 is out of range 0..1"),
        ((2, [0, 0, 1], [-1]), r"dependency id -1 is out of range 0..1"),
        ((2, [0, 0, 0], [1]), r"pred_off must run from 0 to len\(preds\) = 1, got 0..0"),
        ((2, [1, 1, 1], [1]), r"pred_off must run from 0 to len\(preds\) = 1, got 1..1"),
        ((2, [0, 2, 1], [0]), "pred_off must be non-decreasing, got 2 then 1 at index 1"),
    ],
)
def test_validation_errors(readyset_cls: Any, args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        readyset_cls(*args)


def test_priority_length_error(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 3, {})
    with pytest.raises(ValueError, match="^priority must have 3 entries, got 2$"):
        rs.reset(False, [1, 2])


def test_array_inputs(readyset_cls: Any) -> None:
    off, preds = csr(4, {1: [0], 2: [0], 3: [1, 2]})
    rs = readyset_cls(4, array("i", off), array("i", preds), bytearray(4))
    rs.reset(False)
    assert drain(rs) == [0, 1, 2, 3]
    view = memoryview(array("i", preds))
    assert readyset_cls(4, tuple(off), view).topo_order() == [0, 1, 2, 3]


# -- differential tests -----------------------------------------------------------------------


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(0, 40))
    perm = draw(st.permutations(range(n)))
    deps: dict[int, list[int]] = {}
    for pos in range(1, n):
        k = draw(st.integers(0, min(pos, 4)))
        chosen = draw(st.lists(st.integers(0, pos - 1), min_size=k, max_size=k))
        deps[perm[pos]] = [perm[c] for c in chosen]  # may repeat an edge: allowed
    cyclic = n > 1 and draw(st.booleans()) and draw(st.integers(0, 9)) == 0
    if cyclic:
        deps.setdefault(perm[0], []).append(perm[n - 1])
    rules = draw(st.none() | st.lists(st.integers(0, 3), min_size=n, max_size=n).map(bytes))
    priority = draw(st.none() | st.lists(st.integers(-4, 4), min_size=n, max_size=n))
    fails = draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=n))
    return {
        "n": n,
        "deps": deps,
        "rules": rules,
        "priority": priority,
        "fails": fails,
        "skip": draw(st.booleans()),
        "workers": draw(st.integers(1, 5)),
        "seed": draw(st.integers(0, 2**32)),
        "cancel_at": draw(st.none() | st.integers(0, 2 * n + 1)),
        "use_complete": draw(st.booleans()),
    }


def _facts(rs: Any) -> list[Any]:
    out: list[Any] = [rs.acyclic, rs.size, rs.unresolved()]
    for name in ("topo_order", "chain_lengths", "depths", "critical_path"):
        try:
            out.append(getattr(rs, name)())
        except ValueError as exc:
            out.append(str(exc))
    out.append([rs.successors(i) for i in range(rs.size)])
    return out


def run_single(cls: Any, sc: dict[str, Any]) -> list[Any]:
    """One simulated worker: pop, run, finish (or complete), over and over."""
    off, preds = csr(sc["n"], sc["deps"])
    rs = cls(sc["n"], off, preds, sc["rules"])
    log = _facts(rs)
    if not rs.acyclic:
        return log
    rs.reset(sc["skip"], sc["priority"])
    log.append(("start", rs.take_skipped(), rs.states(), rs.ready_count, rs.remaining))
    i = rs.pop()
    while i >= 0:
        log.append(("pop", i, rs.ready_count))
        if i in sc["fails"]:
            log.append(("finish", rs.finish(i, FAILED)))
            i = rs.pop()
        elif sc["use_complete"]:
            i = rs.complete(i)
        else:
            log.append(("finish", rs.finish(i, PASSED)))
            i = rs.pop()
        log.append(("skipped", rs.take_skipped(), rs.remaining))
    log.append(("end", rs.states(), rs.remaining, rs.ready_count, rs.cancel()))
    return log


def run_pool(cls: Any, sc: dict[str, Any]) -> list[Any]:
    """k simulated workers: pop up to k, finish them in a seeded random order; maybe cancel."""
    off, preds = csr(sc["n"], sc["deps"])
    rs = cls(sc["n"], off, preds, sc["rules"])
    log = _facts(rs)
    if not rs.acyclic:
        return log
    rng = random.Random(sc["seed"])
    rs.reset(sc["skip"], sc["priority"])
    log.append(("start", rs.take_skipped(), rs.states()))
    running: list[int] = []
    step = 0
    while True:
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
        if i in sc["fails"]:
            log.append(("finish", i, rs.finish(i, rng.choice((FAILED, TIMED_OUT)))))
        elif sc["use_complete"] and rng.random() < 0.5:
            j = rs.complete(i)
            log.append(("complete", i, j))
            if j >= 0:
                running.append(j)
        else:
            log.append(("finish", i, rs.finish(i, PASSED)))
        log.append(("skipped", rs.take_skipped(), rs.remaining, rs.ready_count))
    log.append(("end", rs.states(), rs.remaining, [rs.status(i) for i in range(sc["n"])]))
    return log


@settings(max_examples=200, deadline=None)
@given(sc=scenarios())
def test_differential_single_worker(readyset_cls: Any, sc: dict[str, Any]) -> None:
    assert run_single(readyset_cls, sc) == run_single(_reference(), sc)


@settings(max_examples=200, deadline=None)
@given(sc=scenarios())
def test_differential_worker_pool(readyset_cls: Any, sc: dict[str, Any]) -> None:
    assert run_pool(readyset_cls, sc) == run_pool(_reference(), sc)


@settings(max_examples=200, deadline=None)
@given(sc=scenarios())
def test_run_invariants(readyset_cls: Any, sc: dict[str, Any]) -> None:
    """Whatever happens, every task ends in a terminal state and nothing runs twice."""
    sc = {**sc, "cancel_at": None}
    log = run_pool(readyset_cls, sc)
    if not isinstance(log[-1], tuple):
        return
    events = [e for e in log if isinstance(e, tuple)]
    popped = [e[1] for e in events if e[0] == "pop"] + [
        e[2] for e in events if e[0] == "complete" and e[2] >= 0
    ]
    assert len(popped) == len(set(popped))
    assert log[-1][2] == 0
    assert all(code >= PASSED for code in log[-1][1])


# -- the selector -----------------------------------------------------------------------------


def _implementation(env: dict[str, str]) -> str:
    code = "from thread_order import _readyset; print(_readyset.IMPLEMENTATION)"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_selector_honours_no_extensions() -> None:
    env = {**os.environ, "THREAD_ORDER_NO_EXTENSIONS": "1"}
    assert _implementation(env) == "py"


@pytest.mark.c_extension
def test_selector_prefers_compiled(readyset_cls: Any) -> None:
    if readyset_cls.__module__ != "thread_order._readyset_c":
        pytest.skip("only meaningful for the compiled core")
    env = {k: v for k, v in os.environ.items() if k != "THREAD_ORDER_NO_EXTENSIONS"}
    assert _implementation(env) == "c"


def test_complete_store_stores_under_the_lock_then_completes(readyset_cls: Any) -> None:
    import threading

    rs = build(readyset_cls, 3, {1: [0], 2: [1]})
    rs.reset(False)
    lock = threading.RLock()
    results: dict[str, Any] = {}
    first = rs.pop()
    assert rs.complete_store(first, results, "t0", "v0", lock) == 1
    assert results == {"t0": "v0"}
    assert rs.status(0) == PASSED


def test_complete_refuses_a_task_that_is_not_running(readyset_cls: Any) -> None:
    rs = build(readyset_cls, 2, {1: [0]})
    rs.reset(False)
    i = rs.pop()
    assert rs.cancel() == [1]
    rs.finish(i, CANCELLED)
    assert rs.complete(i) == -1  # settled already: nothing changes
    assert rs.remaining == 0
    assert rs.status(i) == CANCELLED


@pytest.mark.c_extension
def test_compiled_complete_store_never_waits_for_a_busy_lock(readyset_cls: Any) -> None:
    import threading

    if readyset_cls.__module__ != "thread_order._readyset_c":
        pytest.skip("only the compiled core tries the lock instead of waiting")
    rs = build(readyset_cls, 2, {1: [0]})
    rs.reset(False)
    lock = threading.RLock()
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with lock:
            held.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    results: dict[str, Any] = {}
    i = rs.pop()
    assert rs.complete_store(i, results, "t0", 1, lock) == -2
    assert results == {}
    assert rs.status(i) == RUNNING
    release.set()
    t.join()
    assert rs.complete_store(i, results, "t0", 1, lock) == 1


def test_dependency_csr_maps_names_to_ids(readyset_cls: Any) -> None:
    index = {"a": 0, "b": 1, "c": 2, "d": 3}
    off, preds = readyset_cls.dependency_csr([(), ("a",), ("a", "b"), ("c", "b", "a")], index)
    assert (off.typecode, preds.typecode) == ("i", "i")
    assert off.tolist() == [0, 0, 1, 3, 6]
    assert preds.tolist() == [0, 0, 1, 2, 1, 0]
    empty = readyset_cls.dependency_csr([], {})
    assert [a.tolist() for a in empty] == [[0], []]
    # lists are accepted as well as tuples, and the caller's list is left as it was
    afters: list[Any] = [[], ["a"]]
    assert readyset_cls.dependency_csr(afters, index)[1].tolist() == [0]
    assert afters == [[], ["a"]]


def test_dependency_csr_raises_key_error_naming_the_unknown(readyset_cls: Any) -> None:
    with pytest.raises(KeyError, match="'nope'"):
        readyset_cls.dependency_csr([(), ("a", "nope")], {"a": 0})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 29), max_size=5), max_size=30))
def test_dependency_csr_matches_the_reference(readyset_cls: Any, deps: list[list[int]]) -> None:
    index = {f"t{i}": i for i in range(30)}
    afters = [tuple(f"t{d}" for d in ds) for ds in deps]
    got = readyset_cls.dependency_csr(afters, index)
    want = _reference().dependency_csr(afters, index)
    assert [a.tolist() for a in got] == [a.tolist() for a in want]
    assert got[1].tolist() == [d for ds in deps for d in ds]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_dependency_csr_by_the_registered_string_objects(readyset_cls: Any, data: Any) -> None:
    """Dependencies given by the very string objects the index holds (the compiled core answers
    those from a small table keyed by address), mixed with equal copies, over more names than
    the table has slots, with an index whose order and ids need not follow ``afters``."""
    n = data.draw(st.integers(1, 700))
    names = [f"task-{i}" for i in range(n)]
    ids = data.draw(st.permutations(range(n)))
    order = data.draw(st.sampled_from(["ids", "shuffled"]))
    keys = list(range(n)) if order == "ids" else data.draw(st.permutations(range(n)))
    index = {names[k]: ids[k] for k in keys}
    tasks = data.draw(st.integers(0, n))
    deps = [data.draw(st.lists(st.integers(0, n - 1), max_size=4)) for _ in range(tasks)]
    same = data.draw(st.lists(st.booleans(), min_size=tasks * 4, max_size=tasks * 4))
    afters = [
        tuple(names[d] if same[4 * t + m] else "".join(["task-", str(d)]) for m, d in enumerate(ds))
        for t, ds in enumerate(deps)
    ]
    off, preds = readyset_cls.dependency_csr(afters, index)
    assert preds.tolist() == [ids[d] for ds in deps for d in ds]
    assert off.tolist() == [0, *itertools.accumulate(len(ds) for ds in deps)]
