"""The ready-set core, pure Python: indegree bookkeeping and a priority ready queue.

This is the typed reference implementation. ``_readyset_c.pyx`` is its compiled twin and must
behave identically; ``_readyset.py`` selects between them. Nothing else imports this module.

Tasks are int ids ``0..n-1`` in registration order. The graph arrives as predecessor lists in
CSR form (``pred_off``/``preds``) and is turned into successor CSR arrays once. A run is then
driven one call per finished task: ``finish(i, status)`` returns the newly ready ids (already
queued) and ``complete(i)`` finishes a passed task and pops the next one in a single call.

Ready tasks leave the queue highest priority first, ties broken by the lower id (registration
order). The default priority is the length of the longest chain of tasks from the task to a
leaf, so the critical path is started first. The methods that change a run's state take an
internal lock, so workers may call them concurrently (the compiled twin is atomic under the GIL
instead).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from heapq import heapify, heappop, heappush, heappushpop
from itertools import accumulate, chain, islice, repeat
from operator import add, mul, sub
from threading import Lock
from typing import Any

# Task states. The first three are live; the rest are terminal.
PENDING = 0
QUEUED = 1
RUNNING = 2
PASSED = 3
FAILED = 4
SKIPPED = 5
CANCELLED = 6
TIMED_OUT = 7

# Trigger rules: when a task may run given how its dependencies ended.
ALL_PASSED = 0  # the default: every dependency passed (or skip_dependents is off)
ALL_DONE = 1  # every dependency finished, whatever its status (teardown)
ANY_FAILED = 2  # at least one dependency failed (on-failure handlers)

# A skipped task's remaining indegree is set this high so later releases never make it ready.
_NEVER = 1 << 30
# States of tasks that have started (a task added by ``grow()`` cannot precede them).
_RAN = frozenset((RUNNING, PASSED, FAILED, TIMED_OUT))


class ReadySet:
    """Indegree counters, task states and a priority queue of ready tasks for one DAG."""

    __slots__ = (
        "_bad",
        "_chain",
        "_extra",
        "_heap",
        "_hi",
        "_indeg",
        "_indeg0",
        "_key",
        "_keyed",
        "_left",
        "_live",
        "_lock",
        "_n",
        "_rules",
        "_skip",
        "_skipped",
        "_span",
        "_special",
        "_stale",
        "_state",
        "_succ",
        "_succ_off",
        "acyclic",
        "complete",
    )

    complete: Callable[[int], int]

    def __init__(
        self,
        n: int,
        pred_off: Sequence[int],
        preds: Sequence[int],
        rules: bytes | None = None,
    ) -> None:
        if n < 0:
            raise ValueError(f"task count must be >= 0, got {n}")
        if len(pred_off) != n + 1:
            raise ValueError(f"pred_off must have n + 1 = {n + 1} entries, got {len(pred_off)}")
        if rules is not None and len(rules) != n:
            raise ValueError(f"rules must have n = {n} entries, got {len(rules)}")
        if pred_off[0] != 0 or pred_off[n] != len(preds):
            raise ValueError(
                f"pred_off must run from 0 to len(preds) = {len(preds)}, "
                f"got {pred_off[0]}..{pred_off[n]}"
            )
        self._n = n
        indeg0 = list(map(sub, islice(pred_off, 1, None), pred_off))
        if indeg0 and min(indeg0) < 0:
            i = next(i for i, d in enumerate(indeg0) if d < 0)
            raise ValueError(
                f"pred_off must be non-decreasing, got {pred_off[i]} then {pred_off[i + 1]} "
                f"at index {i}"
            )
        # The CSR and the queue keys are typed arrays: 4-8 bytes an entry where a list of ints
        # costs 8 plus an int object (P2/P7), at the price of an int made on each read in the
        # hot loop (~10-15% slower bookkeeping than lists).
        self._succ_off, self._succ = _transpose(n, preds, indeg0)
        self._indeg0 = indeg0
        self._rules = bytearray(rules) if rules is not None else bytearray(n)
        self._special = (
            {i for i, r in enumerate(self._rules) if r == ANY_FAILED}
            if ANY_FAILED in self._rules
            else set()
        )
        # Successors added by ``grow()``, after the CSR ones, in the order they were added.
        self._extra: dict[int, list[int]] = {}
        self._stale = False  # ``_chain`` predates a grow()
        self._chain = _forward_chains(n, preds, indeg0)
        if self._chain is None:
            self._chain = self._longest_chains()
        self.acyclic = self._chain is not None
        self._indeg: list[int] = []
        self._state = bytearray(n)
        self._heap: list[int] = []
        self._key = array("q")
        self._keyed = False  # ``_key`` holds the default order (longest chain first)
        self._live = False  # reset() has been called: a run is in progress
        self._bad: set[int] = set()
        self._skipped: list[int] = []
        self._skip = False
        self._left = [n]
        self._span = [n if n else 1]  # ids are recovered from queue keys modulo this
        self._hi = 0  # the priority band of tasks added by grow(): after every other task
        self._lock = Lock()
        if self._chain is not None:  # the default order of every run, keyed once
            self._rank(self._chain)
            self._keyed = True
        self.complete = self._bind_complete()

    @staticmethod
    def dependency_csr(
        afters: list[tuple[str, ...]], index: dict[str, int]
    ) -> tuple[array[int], array[int]]:
        """``(pred_off, preds)`` as ``array('i')`` from dependency names: ``afters[i]`` is task
        ``i``'s tuple of names, ``index`` maps each name to its id. Raises ``KeyError(name)``
        for the first name that ``index`` does not hold (the caller resolves those itself)."""
        preds = array("i", map(index.__getitem__, chain.from_iterable(afters)))
        pred_off = array("i", [0])
        pred_off.extend(accumulate(map(len, afters)))
        return pred_off, preds

    # -- graph facts --------------------------------------------------------------------------

    def _kahn(self) -> list[int]:
        """Kahn's order, sources in id order first; shorter than n when there is a cycle."""
        indeg = list(self._indeg0)
        succs = self.successors
        order = [i for i in range(self._n) if indeg[i] == 0]
        for i in order:  # the list grows while we walk it
            for s in succs(i):
                indeg[s] -= 1
                if indeg[s] == 0:
                    order.append(s)
        return order

    def _longest_chains(self) -> array[int] | None:
        order = self._kahn()
        if len(order) != self._n:
            return None
        chain = array("i", [1]) * self._n
        succs = self.successors
        for i in reversed(order):
            best = 0
            for s in succs(i):
                best = max(best, chain[s])
            chain[i] = best + 1
        return chain

    def topo_order(self) -> list[int]:
        """All ids in a topological order; raises ValueError on a cycle."""
        order = self._kahn()
        if len(order) != self._n:
            raise ValueError("the graph has a cycle")
        return order

    def unresolved(self) -> list[int]:
        """Ids that no topological order reaches: the tasks on or behind a cycle."""
        reached = bytearray(self._n)
        for i in self._kahn():
            reached[i] = 1
        return [i for i in range(self._n) if not reached[i]]

    def successors(self, i: int) -> list[int]:
        out = self._succ[self._succ_off[i] : self._succ_off[i + 1]].tolist()
        if self._extra:
            more = self._extra.get(i)
            if more:
                out += more
        return out

    def _chains(self) -> array[int] | None:
        if self._stale:
            self._chain = self._longest_chains()
            self._stale = False
        return self._chain

    def chain_lengths(self) -> list[int]:
        """Per task, the number of tasks on the longest chain from it to a leaf."""
        chain = self._chains()
        if chain is None:
            raise ValueError("the graph has a cycle")
        return chain.tolist()

    def depths(self) -> list[int]:
        """Per task, its level: 0 for roots, else 1 + the deepest dependency's level."""
        order = self.topo_order()
        depth = [0] * self._n
        succs = self.successors
        for i in order:
            d = depth[i] + 1
            for s in succs(i):
                depth[s] = max(depth[s], d)
        return depth

    def critical_path(self, weights: Sequence[float] | None = None) -> list[int]:
        """The heaviest root-to-leaf chain (unit weights by default), as ids from root to leaf."""
        order = self.topo_order()
        n = self._n
        if n == 0:
            return []
        w = [1.0] * n if weights is None else [float(x) for x in weights]
        best = [0.0] * n
        nxt = [-1] * n
        succs = self.successors
        for i in reversed(order):
            tail, pick = 0.0, -1
            for s in succs(i):
                if best[s] > tail or pick < 0:
                    tail, pick = best[s], s
            best[i] = w[i] + tail
            nxt[i] = pick
        start = max((i for i in range(n) if self._indeg0[i] == 0), key=lambda i: (best[i], -i))
        path = [start]
        while nxt[path[-1]] >= 0:
            path.append(nxt[path[-1]])
        return path

    # -- running ------------------------------------------------------------------------------

    def reset(self, skip_dependents: bool, priority: Sequence[int] | None = None) -> None:
        """Prepare a new run: all tasks pending, roots queued.

        ``priority`` (higher runs first) defaults to the longest-chain lengths.
        """
        chain = self._chains()
        if chain is None:
            raise ValueError("the graph has a cycle")
        n = self._n
        if priority is not None:
            prio = list(priority)
            if len(prio) != n:
                raise ValueError(f"priority must have {n} entries, got {len(prio)}")
            self._rank(prio)
            self._keyed = False
        elif not self._keyed:
            self._rank(chain)
            self._keyed = True
        span = self._span[0]
        self._live = True
        self._indeg = list(self._indeg0)
        self._state = bytearray(n)
        self._heap = [self._key[i] for i in range(n) if self._indeg0[i] == 0]
        heapify(self._heap)
        self._bad = set()
        self._skipped = []
        self._skip = skip_dependents
        self._left = [n]
        for i in self._heap:
            self._state[i % span] = QUEUED
        for i in sorted(self._special):
            if self._indeg0[i] == 0:  # an on-failure task with no dependencies never runs
                self._state[i] = PENDING
                self._heap.remove(self._key[i])
                self._skip_node(i, -1)
        heapify(self._heap)
        self.complete = self._bind_complete()

    def _rank(self, prio: Sequence[int]) -> None:
        """Queue keys for dispatch by ``prio`` (higher first), ties by id: ``key % span`` is
        the id and smaller keys leave the queue first."""
        n = self._n
        top = max(prio, default=0)
        low = min(prio, default=0)
        span = n if n else 1
        self._span = [span]
        self._hi = top - low + 1
        # an iterator, not a list: a list of a million big ints would be the run's peak
        self._key = array(
            "q",
            map(add, map(mul, map(sub, repeat(top), prio), repeat(span)), range(n))
            if top > low
            else range(n),
        )

    def complete_store(
        self, i: int, results: dict[str, Any], key: str, value: Any, lock: Any
    ) -> int:
        """Store ``results[key] = value`` holding ``lock``, then ``complete(i)``.

        The compiled twin only tries the lock and returns -2 (having done nothing) when it is
        busy; here Python waits for it, so -2 is never returned.
        """
        with lock:
            results[key] = value
        return self.complete(i)

    def requeue(self, i: int) -> bool:
        """Put running task ``i`` back among the ready ones (it waited for a resource)."""
        with self._lock:
            if self._state[i] != RUNNING:
                return False
            self._state[i] = QUEUED
            heappush(self._heap, self._key[i])
            return True

    def grow(
        self,
        pred_off: Sequence[int],
        preds: Sequence[int],
        rules: bytes | None = None,
        before_off: Sequence[int] | None = None,
        before: Sequence[int] = (),
    ) -> None:
        """Add ``k = len(pred_off) - 1`` tasks to the run in progress, as ids ``n .. n+k-1``.

        New task ``x`` depends on ``preds[pred_off[j]:pred_off[j + 1]]`` (ids below ``x``) and
        must finish before ``before[before_off[j]:before_off[j + 1]]`` (ids below ``x`` that
        have not started; a queued one goes back to waiting; a skipped or cancelled one only
        gains the edge). The caller has checked that no
        cycle results. Dependencies that already passed count as done; one that did not pass
        skips the new task as ``finish`` would have (or marks it for its trigger rule). New
        tasks rank after every task that was there at ``reset()``, in id order. Ready and
        skipped tasks are queued and collected as usual (``ready_count``, ``take_skipped()``).
        """
        n0 = self._n
        k, b_off = _check_growth(n0, pred_off, preds, rules, before_off, before)
        with self._lock:
            if not self._live:
                raise ValueError("grow() needs a run in progress (call reset() first)")
            self._keyed = False  # the new tasks rank last, not by their chains
            state = self._state
            for j in range(k):
                for t in before[b_off[j] : b_off[j + 1]]:
                    if t < n0 and state[t] in _RAN:
                        raise ValueError(f"task {t} has already started: nothing can precede it")
            self._grow(n0, k, pred_off, preds, rules, b_off, before)

    def _grow(
        self,
        n0: int,
        k: int,
        pred_off: Sequence[int],
        preds: Sequence[int],
        rules: bytes | None,
        b_off: Sequence[int],
        before: Sequence[int],
    ) -> None:
        span = self._span[0]
        if n0 + k > span:  # ids must stay below the key modulus: re-key with room to spare
            wider = 2 * (n0 + k)
            self._key[:] = array(
                "q", [(key // span) * wider + i for i, key in enumerate(self._key)]
            )
            self._heap[:] = [(key // span) * wider + key % span for key in self._heap]
            heapify(self._heap)
            self._span[0] = span = wider
        state, indeg, key, extra = self._state, self._indeg, self._key, self._extra
        bad, special = self._bad, self._special
        band = self._hi * span
        requeue: set[int] = set()
        # Pass 1, structure: the edges, indegrees counting only unfinished dependencies.
        for j in range(k):
            x = n0 + j
            rule = rules[j] if rules is not None else ALL_PASSED
            self._succ_off.append(self._succ_off[-1])  # no CSR successors of its own
            self._rules.append(rule)
            if rule == ANY_FAILED:
                special.add(x)
            state.append(PENDING)
            live = 0
            mine = preds[pred_off[j] : pred_off[j + 1]]
            for p in mine:
                extra.setdefault(p, []).append(x)
                if state[p] < PASSED:
                    live += 1
                elif state[p] != PASSED:
                    bad.add(x)
            indeg.append(live)
            self._indeg0.append(len(mine))
            key.append(band + x)
            self._n += 1
            self._left[0] += 1
            for t in before[b_off[j] : b_off[j + 1]]:
                extra.setdefault(x, []).append(t)
                self._indeg0[t] += 1
                if state[t] == QUEUED:
                    state[t] = PENDING
                    requeue.add(key[t])
                if state[t] < RUNNING:  # else skipped or cancelled: it never runs anyway
                    indeg[t] += 1
        if requeue:
            self._heap[:] = [q for q in self._heap if q not in requeue]
            heapify(self._heap)
        self._stale = True
        # Pass 2, in id order: skip what cannot run, queue what is ready.
        for j in range(k):
            x = n0 + j
            if state[x] != PENDING:
                continue  # skipped or queued through an earlier new task
            if x in bad and self._skip and self._rules[x] == ALL_PASSED:
                mine = preds[pred_off[j] : pred_off[j + 1]]
                cause = next(p for p in mine if state[p] > PASSED)
                self._skip_node(x, cause)
            elif indeg[x] == 0:
                if x in special and x not in bad:
                    self._skip_node(x, -1)
                else:
                    state[x] = QUEUED
                    heappush(self._heap, key[x])

    def pop(self) -> int:
        """Take the highest-priority ready task and mark it running; -1 if none is ready."""
        with self._lock:
            return self._pop()

    def _pop(self) -> int:
        if not self._heap:
            return -1
        i = heappop(self._heap) % self._span[0]
        self._state[i] = RUNNING
        return i

    def _bind_complete(self) -> Callable[[int], int]:
        """Build ``complete(i)``: ``finish(i, PASSED)`` then ``pop()`` in one call.

        It is the workers' fast path, so it is a closure over this run's arrays, bound as an
        instance attribute by ``reset()``: cell loads are cheaper than attribute loads.
        """
        state, indeg, heap, key = self._state, self._indeg, self._heap, self._key
        succ, off, special, span = self._succ, self._succ_off, self._special, self._span
        left, extra = self._left, self._extra
        # the bound methods, not ``with lock``: half the cost per call (~80 ns against ~260)
        acquire, release = self._lock.acquire, self._lock.release

        def complete(i: int) -> int:
            acquire()
            try:
                if state[i] != RUNNING:
                    return -1  # settled meanwhile (cancelled after the grace)
                state[i] = PASSED
                left[0] -= 1
                last = -1
                out: Sequence[int] = succ[off[i] : off[i + 1]]
                if extra and i in extra:
                    out = [*out, *extra[i]]
                for s in out:
                    d = indeg[s] - 1
                    indeg[s] = d
                    if d == 0:
                        if special and s in special and s not in self._bad:
                            self._skip_node(s, -1, [])
                            continue
                        state[s] = QUEUED
                        if last >= 0:
                            heappush(heap, last)
                        last = key[s]
                if last >= 0:
                    j = (heappushpop(heap, last) if heap else last) % span[0]
                elif heap:
                    j = heappop(heap) % span[0]
                else:
                    return -1
                state[j] = RUNNING
                return j
            finally:
                release()

        return complete

    def finish(self, i: int, status: int) -> list[int]:
        """Record that running task ``i`` ended with ``status``; return the newly ready ids.

        A passed task releases its dependents. A task that did not pass releases dependents that
        may still run (``ALL_DONE`` and ``ANY_FAILED`` rules, or every dependent when
        ``skip_dependents`` is off) and skips the others, transitively. Skips are collected for
        ``take_skipped()``.
        """
        with self._lock:
            return self._finish(i, status)

    def _finish(self, i: int, status: int) -> list[int]:
        state = self._state
        if state[i] >= PASSED:
            return []
        state[i] = status
        self._left[0] -= 1
        ready: list[int] = []
        ok = status == PASSED
        root = i
        for s in self.successors(i):
            if state[s] >= PASSED:
                continue
            if not ok:
                self._bad.add(s)
                if self._skip and self._rules[s] == ALL_PASSED:
                    self._skip_node(s, root, ready)
                    continue
            self._release(s, ready)
        return ready

    def _release(self, s: int, ready: list[int]) -> None:
        d = self._indeg[s] - 1
        self._indeg[s] = d
        if d == 0:
            if s in self._special and s not in self._bad:
                self._skip_node(s, -1, ready)
                return
            self._state[s] = QUEUED
            heappush(self._heap, self._key[s])
            ready.append(s)

    def _skip_node(self, first: int, root: int, ready: list[int] | None = None) -> None:
        """Skip ``first`` and every dependent that cannot run without it.

        Dependents that may run anyway (``ALL_DONE``/``ANY_FAILED``) are released into ``ready``.
        """
        if ready is None:
            ready = []
        stack = [first]
        state = self._state
        succs = self.successors
        while stack:
            s = stack.pop()
            if state[s] >= PASSED:
                continue
            state[s] = SKIPPED
            self._indeg[s] = _NEVER
            self._left[0] -= 1
            self._skipped.append(s)
            self._skipped.append(root)
            for c in succs(s):
                if state[c] >= PASSED:
                    continue
                self._bad.add(c)
                if not self._skip or self._rules[c] != ALL_PASSED:
                    self._release(c, ready)
                else:
                    stack.append(c)

    def take_skipped(self) -> list[int]:
        """Skips since the last call, flat: ``[task, cause, task, cause, ...]``.

        ``cause`` is the failed task the skip goes back to, or -1 for an ``ANY_FAILED`` task
        none of whose dependencies failed.
        """
        with self._lock:
            out = self._skipped
            self._skipped = []
        return out

    def cancel(self, keep: bytes | None = None) -> list[int]:
        """Cancel every task that is neither running nor finished; return their ids.

        Tasks flagged in ``keep`` (bytes, one per task) stay pending; a cancelled dependency
        counts as finished for them, so they run once their other dependencies are done.
        """
        n = self._n
        if keep is not None and len(keep) != n:
            raise ValueError(f"keep must have n = {n} entries, got {len(keep)}")
        with self._lock:
            state, indeg = self._state, self._indeg
            out = [i for i in range(n) if state[i] < RUNNING and not (keep and keep[i])]
            for i in out:
                state[i] = CANCELLED
                indeg[i] = _NEVER  # a later release must not queue it again
            self._left[0] -= len(out)
            span = self._span[0] or 1
            self._heap[:] = [k for k in self._heap if keep and keep[k % span]]
            heapify(self._heap)
            if keep:
                for i in out:  # cancelled dependencies release the kept tasks
                    for s in self.successors(i):
                        if keep[s] and state[s] == PENDING:
                            indeg[s] -= 1
                            if indeg[s] == 0:
                                state[s] = QUEUED
                                heappush(self._heap, self._key[s])
        return out

    def status(self, i: int) -> int:
        return self._state[i]

    def states(self) -> bytes:
        return bytes(self._state)

    @property
    def size(self) -> int:
        return self._n

    @property
    def ready_count(self) -> int:
        return len(self._heap)

    @property
    def remaining(self) -> int:
        """Tasks not yet in a terminal state (queued, running and pending)."""
        return self._left[0]


def _forward_chains(n: int, preds: Sequence[int], indeg0: list[int]) -> array[int] | None:
    """The chain lengths in one backward pass over the predecessor CSR when every task comes
    after its dependencies (tasks registered after what they depend on: id order is then
    topological); None as soon as a dependency does not have a lower id."""
    chain = [1] * n
    end = len(preds)
    for i in range(n - 1, -1, -1):
        start = end - indeg0[i]
        if start < end:
            c = chain[i] + 1
            for p in preds[start:end]:
                if p >= i:
                    return None
                if chain[p] < c:  # noqa: PLR1730 - max() per edge costs a call
                    chain[p] = c
            end = start
    return array("i", chain)


def _transpose(n: int, preds: Sequence[int], indeg0: list[int]) -> tuple[array[int], array[int]]:
    """The successor CSR ``(succ_off, succ)`` of a predecessor CSR (a counting sort by source;
    each task's successors in id order). Raises ValueError naming the first id out of range."""
    count = [0] * (2 * n + 2)  # an id out of range lands in the upper half, or raises
    try:
        for p in preds:
            count[p] += 1
        bad = any(islice(count, n, None))
    except IndexError:
        bad = True
    if bad:
        p = next(p for p in preds if not 0 <= p < n)
        raise ValueError(f"dependency id {p} is out of range 0..{n - 1}")
    fill = [0]
    fill += accumulate(islice(count, n))
    del count
    succ_off = array("i", fill)
    succ = array("i", bytes(4 * len(preds)))
    for p, i in zip(preds, chain.from_iterable(map(repeat, range(n), indeg0)), strict=True):
        f = fill[p]
        succ[f] = i
        fill[p] = f + 1
    return succ_off, succ


def _check_growth(
    n: int,
    pred_off: Sequence[int],
    preds: Sequence[int],
    rules: bytes | None,
    before_off: Sequence[int] | None,
    before: Sequence[int],
) -> tuple[int, Sequence[int]]:
    """Validate ``grow()``'s arguments; return the number of new tasks and ``before_off``."""
    k = len(pred_off) - 1
    if k < 0:
        raise ValueError("pred_off must have at least one entry")
    if before_off is None:
        before_off = [0] * (k + 1)
    for what, off, items in (("pred_off", pred_off, preds), ("before_off", before_off, before)):
        if len(off) != k + 1:
            raise ValueError(f"{what} must have {k + 1} entries, got {len(off)}")
        if off[0] != 0 or off[k] != len(items):
            raise ValueError(f"{what} must run from 0 to {len(items)}, got {off[0]}..{off[k]}")
        for j in range(k):
            if off[j + 1] < off[j]:
                raise ValueError(f"{what} must be non-decreasing, got {off[j]} then {off[j + 1]}")
            for t in items[off[j] : off[j + 1]]:
                if not 0 <= t < n + j:
                    raise ValueError(f"task id {t} is out of range 0..{n + j - 1}")
    if rules is not None and len(rules) != k:
        raise ValueError(f"rules must have {k} entries, got {len(rules)}")
    return k, before_off
