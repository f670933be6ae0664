"""``DAGraph``: the 1.4.0-compatible dependency graph, without its quadratic costs.

1.4.0 rejects a dependency that is not registered yet and runs a full cycle check on every
``add`` (O(n^2) registration). Here ``add`` accepts forward references and checks nothing but
duplicates; the whole graph is checked once, in linear time, by :meth:`DAGraph.validate`, which
every validated view (``names_and_preds``, the ``--graph`` summary, the scheduler) calls first.
``ready()`` reads a maintained ready set instead of scanning every node.

Shapes follow 1.4.0 where it defines them: ``parents_of`` lists the *remaining* dependencies
(``remove`` consumes them as tasks finish), ``original_parents_of`` the registered ones, and the
GUI properties ``parent_child_counts``/``dependency_counts`` are ``[(name, count), ...]`` in
registration order. Unlike 1.4.0, ``children_of`` is in registration order, not set order.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Collection, Iterable, KeysView, Sequence

from ._compiler import CycleError, UnknownDependencyError

__all__ = ["CycleError", "DAGraph", "UnknownDependencyError"]


def _logger() -> logging.Logger:
    """1.4.0 logs graph events to the logger named after the current thread; so do we."""
    return logging.getLogger(threading.current_thread().name)


def _normalize_after(after: str | Iterable[str] | None) -> list[str]:
    """A lone string is one name (1.4.0 iterated it per character); duplicates count once."""
    if after is None:
        return []
    if isinstance(after, str):
        return [after]
    return list(dict.fromkeys(after))


class DAGraph:
    """Tasks and their dependencies, consumed by a run as tasks finish."""

    def __init__(self) -> None:
        # Remaining dependencies per node; dict-as-ordered-set gives O(1) removal in order.
        self._parents: dict[str, dict[str, None]] = {}
        # Dependents per name; may name a dependency that is not (yet) a node.
        self._children: dict[str, dict[str, None]] = {}
        self._original_parents: dict[str, list[str]] = {}
        self._ready: set[str] = set()
        self._seq: dict[str, int] = {}  # registration counter, to report ready() in that order
        self._counter = 0

    @classmethod
    def from_tasks(cls, names: Sequence[str], preds: Sequence[Sequence[int]]) -> DAGraph:
        """Build a graph from id lists (``preds[i]`` are the ids task ``i`` depends on)."""
        if len(names) != len(preds):
            raise ValueError(f"names has {len(names)} entries but preds has {len(preds)}")
        graph = cls()
        for name, plist in zip(names, preds, strict=True):
            graph.add(name, [names[p] for p in plist])
        return graph

    def add(self, name: str, after: str | Iterable[str] | None = None) -> None:
        """Add ``name`` depending on ``after``; dependencies may be added later (forward refs)."""
        deps = _normalize_after(after)
        log = _logger()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("add %s dependent on %s", name, deps)
        if name in self._parents:
            raise ValueError(f"{name} has already been added")
        self._parents[name] = dict.fromkeys(deps)
        self._original_parents[name] = deps
        self._seq[name] = self._counter
        self._counter += 1
        for dep in deps:
            self._children.setdefault(dep, {})[name] = None
        if not deps:
            self._ready.add(name)

    def remove(self, name: str) -> None:
        """Detach a finished node from its dependents, then drop it if it has no parents left."""
        log = _logger()
        debug = log.isEnabledFor(logging.DEBUG)
        for child in self._children.pop(name, {}):
            if debug:
                log.debug("removing %s as a dependency from %s", name, child)
            remaining = self._parents.get(child)
            if remaining is not None and name in remaining:
                del remaining[name]
                if not remaining:
                    self._ready.add(child)
        if name in self._parents and not self._parents[name]:
            if debug:
                log.debug("removing %s from dependency graph", name)
            del self._parents[name]
            self._ready.discard(name)

    def ready(self, active: Collection[str] | None = None) -> list[str]:
        """Nodes with no remaining dependencies and not in ``active``, in registration order.

        Costs O(r log r) for r ready nodes, not O(n) over the whole graph as in 1.4.0.
        """
        skip = active if active is not None else ()
        return sorted((n for n in self._ready if n not in skip), key=self._seq.__getitem__)

    def get_candidates(
        self, active: Collection[str] | None, number: int, sort: bool = True
    ) -> list[str]:
        """Up to ``number`` ready nodes, lexicographically smallest first when ``sort``."""
        candidates = self.ready(active)
        log = _logger()
        if log.isEnabledFor(logging.DEBUG):  # 1.4.0 logs every ready name; only pay when asked
            listed = sorted(candidates) if sort else candidates
            log.debug("requested %s %s", number, _describe_candidates(listed))
        if not sort:
            return candidates[:number]
        if 0 <= number < len(candidates):
            return heapq.nsmallest(number, candidates)
        return sorted(candidates)[:number]

    def is_empty(self) -> bool:
        """True when no node and no dangling dependent list is left."""
        return not self._parents and not self._children

    def nodes(self) -> KeysView[str]:
        """Node names in registration order (a live view, as in 1.4.0)."""
        return self._parents.keys()

    def parents_of(self, name: str) -> list[str]:
        """Remaining (not yet removed) dependencies of ``name``."""
        return list(self._parents.get(name, ()))

    def children_of(self, name: str) -> list[str]:
        """Dependents of ``name``, in registration order."""
        return list(self._children.get(name, ()))

    def original_parents_of(self, name: str) -> list[str]:
        """Dependencies ``name`` was registered with, even after some were removed."""
        return list(self._original_parents.get(name, ()))

    @property
    def parent_child_counts(self) -> list[tuple[str, int]]:
        """``[(name, number_of_dependents), ...]`` for every node, as 1.4.0 gives the GUI."""
        return [(name, len(self._children.get(name, ()))) for name in self._parents]

    @property
    def dependency_counts(self) -> list[tuple[str, int]]:
        """``[(name, number_of_remaining_dependencies), ...]`` for every node."""
        return [(name, len(deps)) for name, deps in self._parents.items()]

    def validate(self) -> None:
        """Raise ``UnknownDependencyError`` or ``CycleError`` (both ``ValueError``) if invalid.

        Unknown names are reported first, every one with the task that asked for it and a
        close-match suggestion, because a typo is far more common than a real cycle.
        """
        missing = [
            (task, dep)
            for task, deps in self._parents.items()
            for dep in deps
            if dep not in self._parents
        ]
        if missing:
            raise UnknownDependencyError(missing, self._parents.keys())
        cycle = self._find_cycle()
        if cycle:
            raise CycleError(cycle)

    def names_and_preds(self) -> tuple[list[str], list[list[int]]]:
        """Validated id form for ``_analytics``: names in registration order, dependency ids."""
        self.validate()
        names = list(self._parents)
        ids = {name: i for i, name in enumerate(names)}
        return names, [[ids[d] for d in self._parents[n]] for n in names]

    def _find_cycle(self) -> list[str]:
        """Iterative DFS along dependency edges; return a cycle path or ``[]``. O(V + E)."""
        done: set[str] = set()
        for root in self._parents:
            if root in done:
                continue
            path: list[str] = [root]
            on_path = {root: 0}
            iters = [iter(self._children.get(root, ()))]
            while iters:
                child = next(iters[-1], None)
                if child is None:
                    node = path.pop()
                    done.add(node)
                    del on_path[node]
                    iters.pop()
                elif child in on_path:
                    return [*path[on_path[child] :], child]
                elif child not in done and child in self._parents:
                    on_path[child] = len(path)
                    path.append(child)
                    iters.append(iter(self._children.get(child, ())))
        return []

    def __repr__(self) -> str:
        parents = "\n".join(f"{n}: {list(self._parents[n])}" for n in sorted(self._parents))
        children = "\n".join(f"{n}: {sorted(self._children[n])}" for n in sorted(self._children))
        return f"Parents:\n{parents}\nChildren:\n{children}"


def _describe_candidates(candidates: Sequence[str]) -> str:
    """1.4.0's debug wording for a scheduling request."""
    count = len(candidates)
    if not count:
        return "but found no candidates eligible for submission"
    plural = "s" if count != 1 else ""
    return f"and found {count} candidate{plural} eligible for submission {', '.join(candidates)}"
