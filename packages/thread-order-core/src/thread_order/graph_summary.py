"""Renderings of a ``DAGraph``: the 1.4.0 ``--graph`` text block, DOT, Mermaid and JSON.

All four read one :class:`~thread_order._analytics.GraphStats` and number nodes the same way
(sorted by name, from 0), so ``[3]`` in the text block is ``n3`` in DOT and Mermaid. The text block
is byte-compatible with thread-order 1.4.0; the other formats are additions. A graph with unknown
dependencies or a cycle raises ``ValueError`` (from ``DAGraph.validate``) instead of being drawn
half-right.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from thread_order._analytics import GraphStats, analyze

if TYPE_CHECKING:
    from thread_order.graph import DAGraph

__all__ = ["format_graph_summary", "to_dot", "to_json", "to_mermaid"]

_FAN_MIN = 2  # 1.4.0 lists fan-in / fan-out "hotspots" from two edges up
_MAX_TEXT_CHAINS = 3  # 1.4.0 prints at most three longest chains


class _Numbered:
    """Stats plus the sorted-name numbering every rendering shares."""

    def __init__(self, dag: DAGraph) -> None:
        names, preds = dag.names_and_preds()
        self.stats: GraphStats = analyze(names, preds)
        self.order = sorted(names)
        self.ids = {name: i for i, name in enumerate(self.order)}
        children = {
            names[i]: [names[c] for c in kids] for i, kids in enumerate(self.stats.children)
        }
        self.children = {name: sorted(children[name]) for name in self.order}

    def ref(self, name: str) -> str:
        return f"[{self.ids[name]}]"

    def refs(self, names: list[str]) -> str:
        return ", ".join(self.ref(n) for n in sorted(names, key=self.ids.__getitem__))

    def text_chains(self) -> list[tuple[str, ...]]:
        """1.4.0's pick: one chain per end node (by name), at most three; no edges: first node."""
        stats = self.stats
        if stats.longest_chain_length == 0:
            return [(self.order[0],)]
        ends = stats.longest_chain_ends[:_MAX_TEXT_CHAINS]
        return [stats.canonical_chain(end) for end in ends]


def format_graph_summary(dag: DAGraph) -> str:
    """The ``tdrun --graph`` block of thread-order 1.4.0, byte for byte (no trailing newline)."""
    if not dag.nodes():
        return "Graph: 0 nodes, 0 edges"
    g = _Numbered(dag)
    stats = g.stats
    lines = [f"Graph: {stats.node_count} nodes, {stats.edge_count} edges"]
    if stats.roots:
        lines.append(f"Roots: {g.refs(list(stats.roots))}")
    if stats.leaves:
        lines.append(f"Leaves: {g.refs(list(stats.leaves))}")
    lines += [f"Levels: {stats.level_count}", "", "Nodes:"]
    lines += [f"  [{i}] {name}" for i, name in enumerate(g.order)]
    lines += ["", "Edges:"]
    lines += [f"  {g.ref(n)} -> {g.refs(g.children[n]) or '(none)'}" for n in g.order]
    lines += ["", "Stats:", f"  Longest chain length (edges): {stats.longest_chain_length}"]
    lines.append("  Longest chains:")
    lines += ["    " + " -> ".join(chain) for chain in g.text_chains()]
    high_in = [n for n in g.order if stats.fan_in[n] >= _FAN_MIN]
    if high_in:
        lines.append("  High fan-in nodes (many dependencies):")
        lines += [f"    {n} (indegree={stats.fan_in[n]})" for n in high_in]
    high_out = [n for n in g.order if stats.fan_out[n] >= _FAN_MIN]
    if high_out:
        lines.append("  High fan-out nodes (many dependents):")
        lines += [f"    {n} (children={stats.fan_out[n]})" for n in high_out]
    return "\n".join(lines)


def _dot_string(text: str) -> str:
    """A DOT double-quoted string: backslash and quote escaped, line breaks as ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def to_dot(dag: DAGraph) -> str:
    """Graphviz DOT; node ids are ``n<id>`` and names only ever appear as quoted labels."""
    g = _Numbered(dag)
    lines = ["digraph thread_order {", "  rankdir=LR;", "  node [shape=box];"]
    lines += [f"  n{i} [label={_dot_string(name)}];" for i, name in enumerate(g.order)]
    lines += [f"  n{g.ids[n]} -> n{g.ids[c]};" for n in g.order for c in g.children[n]]
    lines.append("}")
    return "\n".join(lines) + "\n"


# Mermaid entity codes: a label cannot close its quotes, open HTML or start a markdown string.
_MERMAID_ESCAPES = str.maketrans(
    {
        "#": "#35;",
        '"': "#quot;",
        "&": "#amp;",
        "<": "#lt;",
        ">": "#gt;",
        "`": "#96;",
        "\n": " ",
        "\r": " ",
    }
)


def to_mermaid(dag: DAGraph) -> str:
    """Mermaid flowchart; safe ids ``n<id>`` and entity-escaped, quoted labels."""
    g = _Numbered(dag)
    lines = ["flowchart LR"]
    lines += [f'  n{i}["{name.translate(_MERMAID_ESCAPES)}"]' for i, name in enumerate(g.order)]
    lines += [f"  n{g.ids[n]} --> n{g.ids[c]}" for n in g.order for c in g.children[n]]
    return "\n".join(lines) + "\n"


def to_json(dag: DAGraph) -> str:
    """Machine-readable graph: names sorted (index = id), edges as ``{"from", "to"}`` pairs.

    ``longest_chain.chains`` lists every maximal chain (capped, see ``truncated``), not only
    the three the text block prints.
    """
    g = _Numbered(dag)
    stats = g.stats
    data = {
        "nodes": g.order,
        "edges": [{"from": n, "to": c} for n in g.order for c in g.children[n]],
        "roots": sorted(stats.roots),
        "leaves": sorted(stats.leaves),
        "levels": {n: stats.levels[n] for n in g.order},
        "level_count": stats.level_count,
        "waves": [list(w) for w in stats.waves],
        "longest_chain": {
            "length": stats.longest_chain_length,
            "chains": [list(c) for c in stats.longest_chains],
            "truncated": stats.longest_chains_truncated,
        },
        "fan_in": {n: stats.fan_in[n] for n in g.order},
        "fan_out": {n: stats.fan_out[n] for n in g.order},
    }
    return json.dumps(data, indent=2, sort_keys=False)
