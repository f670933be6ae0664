"""Structural statistics of a task DAG: levels, waves, longest chains, fan-in/out, critical path.

The graph arrives as plain id lists (``names[i]`` is task ``i`` in registration order and
``preds[i]`` the ids it depends on) so that every consumer (the ``--graph`` text block, DOT,
Mermaid and JSON exports, the scheduler's reports) reads the same numbers from one pass instead of
re-deriving them. Everything is linear in nodes + edges, apart from one sort of the names (so that
ties are broken by name, as 1.4.0 does) and the optional enumeration of longest chains, which is
capped because a layered DAG can have exponentially many of them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

__all__ = ["DEFAULT_MAX_CHAINS", "CriticalPath", "GraphStats", "analyze"]

DEFAULT_MAX_CHAINS = 64
"""How many longest chains :func:`analyze` enumerates before it stops and sets ``truncated``."""


class CriticalPath(NamedTuple):
    """The heaviest dependency chain: its task names (first to last) and summed duration."""

    chain: tuple[str, ...]
    duration: float


@dataclass(frozen=True)
class GraphStats:
    """Immutable statistics of one DAG, keyed by task name.

    Tuples of names (``roots``, ``leaves``) are in registration order; ``waves`` and
    ``longest_chain_ends`` are sorted by name because that is the order the 1.4.0 ``--graph``
    block and the scheduler's candidate sort use. ``preds``/``children`` keep the id form for
    callers that renumber nodes (the text block numbers them by sorted name).
    """

    names: tuple[str, ...]
    preds: tuple[tuple[int, ...], ...]
    children: tuple[tuple[int, ...], ...]
    topo_order: tuple[int, ...]
    node_count: int
    edge_count: int
    roots: tuple[str, ...]
    leaves: tuple[str, ...]
    levels: Mapping[str, int]
    level_count: int
    waves: tuple[tuple[str, ...], ...]
    longest_chain_length: int
    longest_chain_ends: tuple[str, ...]
    longest_chains: tuple[tuple[str, ...], ...]
    longest_chains_truncated: bool
    fan_in: Mapping[str, int]
    fan_out: Mapping[str, int]

    def canonical_chain(self, end: str) -> tuple[str, ...]:
        """Return the longest chain ending at ``end`` that 1.4.0 would print.

        1.4.0 keeps, for each node, the first predecessor (in level-then-name order) reaching
        its longest distance, which is the smallest-named parent one level up.
        """
        ids = {name: i for i, name in enumerate(self.names)}
        level = self.levels
        chain = [end]
        cur = ids[end]
        while level[self.names[cur]] > 0:
            want = level[self.names[cur]] - 1
            cur = min(
                (p for p in self.preds[cur] if level[self.names[p]] == want),
                key=self.names.__getitem__,
            )
            chain.append(self.names[cur])
        chain.reverse()
        return tuple(chain)

    def critical_path(self, durations: Mapping[str, float]) -> CriticalPath:
        """Return the chain whose summed durations are the largest.

        Why: the wall time of a run can never drop below this chain, whatever the worker count.
        A task missing from ``durations`` counts as 0.0 (it was skipped or never ran). Ties go
        to the deeper task, then the smaller name, for the end task and each predecessor alike,
        so equal durations give :meth:`canonical_chain` of the first longest chain.
        """
        if not self.names:
            return CriticalPath((), 0.0)
        names = self.names
        depth = [self.levels[name] for name in names]
        best = [0.0] * self.node_count

        def rank(i: int) -> tuple[float, int, str]:
            return (-best[i], -depth[i], names[i])

        via: list[int] = [-1] * self.node_count
        for v in self.topo_order:
            if self.preds[v]:
                via[v] = min(self.preds[v], key=rank)
            start = best[via[v]] if via[v] != -1 else 0.0
            best[v] = start + float(durations.get(names[v], 0.0))
        end = min(range(self.node_count), key=rank)
        chain: list[str] = []
        cur = end
        while cur != -1:
            chain.append(names[cur])
            cur = via[cur]
        chain.reverse()
        return CriticalPath(tuple(chain), best[end])


def _kahn(
    preds: Sequence[Sequence[int]], children: Sequence[Sequence[int]]
) -> tuple[list[int], list[int]]:
    """Return (topological order, level per id); raise ``ValueError`` if a cycle remains."""
    n = len(preds)
    indeg = [len(p) for p in preds]
    level = [0] * n
    queue = deque(i for i in range(n) if indeg[i] == 0)
    order: list[int] = []
    while queue:
        v = queue.popleft()
        order.append(v)
        for c in children[v]:
            level[c] = max(level[c], level[v] + 1)
            indeg[c] -= 1
            if indeg[c] == 0:
                queue.append(c)
    if len(order) != n:
        stuck = sorted(i for i in range(n) if indeg[i] > 0)
        raise ValueError(f"graph has a cycle through task ids {stuck}")
    return order, level


def _enumerate_longest(
    names: Sequence[str],
    by_name: Sequence[int],
    children: Sequence[Sequence[int]],
    level: Sequence[int],
    *,
    length: int,
    cap: int,
) -> tuple[list[tuple[str, ...]], bool]:
    """List maximal chains of ``length`` edges (ends by name, then parents by name), up to cap.

    A chain of maximal length starts at a root and ends at a leaf, and each step goes up exactly
    one level, so walking back over "tight" parents (level one below) yields exactly them.
    """
    tight: list[list[int]] = [[] for _ in names]
    for v in by_name:  # visiting parents in name order keeps each tight list name-sorted
        for c in children[v]:
            if level[c] == level[v] + 1:
                tight[c].append(v)
    chains: list[tuple[str, ...]] = []
    for end in (i for i in by_name if level[i] == length):
        stack: list[tuple[int, int]] = [(end, 0)]  # (node, next tight parent to try)
        while stack:
            node, k = stack[-1]
            if level[node] == 0:
                chains.append(tuple(names[i] for i, _ in reversed(stack)))
                if len(chains) >= cap:
                    return chains, True
                stack.pop()
            elif k < len(tight[node]):
                stack[-1] = (node, k + 1)
                stack.append((tight[node][k], 0))
            else:
                stack.pop()
    return chains, False


def analyze(
    names: Sequence[str], preds: Sequence[Sequence[int]], *, max_chains: int = DEFAULT_MAX_CHAINS
) -> GraphStats:
    """Compute :class:`GraphStats` for the DAG ``names``/``preds`` in one pass.

    Duplicate ids in a predecessor list count once. Raises ``ValueError`` for mismatched
    lengths, out-of-range ids or a cycle: callers validate with names first (``DAGraph``)
    and this is the backstop.
    """
    n = len(names)
    if len(preds) != n:
        raise ValueError(f"names has {n} entries but preds has {len(preds)}")
    clean: list[tuple[int, ...]] = []
    children: list[list[int]] = [[] for _ in range(n)]
    for i, plist in enumerate(preds):
        unique = tuple(dict.fromkeys(plist))
        for p in unique:
            if not 0 <= p < n:
                raise ValueError(f"task {names[i]!r} depends on id {p}, outside 0..{n - 1}")
            children[p].append(i)
        clean.append(unique)
    order, level = _kahn(clean, children)
    by_name = sorted(range(n), key=names.__getitem__)
    length = max(level, default=0)
    waves: list[list[str]] = [[] for _ in range(length + 1 if n else 0)]
    for i in by_name:
        waves[level[i]].append(names[i])
    ends = tuple(names[i] for i in by_name if level[i] == length) if n else ()
    chains, truncated = _enumerate_longest(
        names, by_name, children, level, length=length, cap=max_chains
    )
    return GraphStats(
        names=tuple(names),
        preds=tuple(clean),
        children=tuple(tuple(c) for c in children),
        topo_order=tuple(order),
        node_count=n,
        edge_count=sum(len(p) for p in clean),
        roots=tuple(names[i] for i in range(n) if not clean[i]),
        leaves=tuple(names[i] for i in range(n) if not children[i]),
        levels=MappingProxyType({names[i]: level[i] for i in range(n)}),
        level_count=len(waves),
        waves=tuple(tuple(w) for w in waves),
        longest_chain_length=length,
        longest_chain_ends=ends,
        longest_chains=tuple(chains),
        longest_chains_truncated=truncated,
        fan_in=MappingProxyType({names[i]: len(clean[i]) for i in range(n)}),
        fan_out=MappingProxyType({names[i]: len(children[i]) for i in range(n)}),
    )
