"""The DAG drawn on the server: a layered layout and its SVG, every label escaped.

Layers are longest paths from the roots (the engine's ``analyze`` levels), so every edge points
to the right. A few barycenter sweeps order each layer to cut crossings. When graphviz ``dot`` is
on the PATH it may place the nodes instead (``engine="dot"``); the SVG is drawn here either way so
that node ids, classes and escaping are the same.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from thread_order import analyze

NODE_W = 220
NODE_H = 28
GAP_X = 60
GAP_Y = 12
PAD = 10
LABEL_CHARS = 30
SWEEPS = 4


@dataclass(frozen=True)
class Layout:
    """Top-left corner of each node (index = task id), all nodes ``NODE_W`` x ``NODE_H``."""

    names: tuple[str, ...]
    preds: tuple[tuple[int, ...], ...]
    x: tuple[float, ...]
    y: tuple[float, ...]
    width: float
    height: float
    engine: str


def _layers(names: Sequence[str], preds: Sequence[Sequence[int]]) -> list[list[int]]:
    levels = analyze(names, preds).levels
    layers: list[list[int]] = [[] for _ in range(max(levels.values(), default=-1) + 1)]
    for i, name in enumerate(names):
        layers[levels[name]].append(i)
    return layers


def _sweep(layers: list[list[int]], neighbours: Sequence[Sequence[int]], down: bool) -> None:
    """Reorder each layer by the mean position of its neighbours in the layer before it."""
    pos: dict[int, float] = {}
    order = range(len(layers)) if down else range(len(layers) - 1, -1, -1)
    for k in order:
        layer = layers[k]
        if pos:
            keyed = []
            for rank, v in enumerate(layer):
                near = [pos[u] for u in neighbours[v] if u in pos]
                keyed.append((sum(near) / len(near) if near else float(rank), rank, v))
            keyed.sort()
            layer[:] = [v for _, _, v in keyed]
        pos = {v: float(r) for r, v in enumerate(layer)}


def layered_layout(names: Sequence[str], preds: Sequence[Sequence[int]]) -> Layout:
    """Longest-path layers, barycenter-ordered, as columns from left to right."""
    layers = _layers(names, preds)
    children: list[list[int]] = [[] for _ in names]
    for v, ps in enumerate(preds):
        for p in ps:
            children[p].append(v)
    for s in range(SWEEPS):
        _sweep(layers, preds if s % 2 == 0 else children, down=s % 2 == 0)
    x = [0.0] * len(names)
    y = [0.0] * len(names)
    for k, layer in enumerate(layers):
        for r, v in enumerate(layer):
            x[v] = PAD + k * (NODE_W + GAP_X)
            y[v] = PAD + r * (NODE_H + GAP_Y)
    tallest = max((len(layer) for layer in layers), default=0)
    return Layout(
        names=tuple(names),
        preds=tuple(tuple(p) for p in preds),
        x=tuple(x),
        y=tuple(y),
        width=2 * PAD + max(len(layers), 1) * (NODE_W + GAP_X) - GAP_X,
        height=2 * PAD + max(tallest, 1) * (NODE_H + GAP_Y) - GAP_Y,
        engine="builtin",
    )


def dot_layout(
    names: Sequence[str], preds: Sequence[Sequence[int]], *, timeout: float = 10.0
) -> Layout | None:
    """Node positions from graphviz ``dot -Tplain`` (left to right), or None without dot."""
    exe = shutil.which("dot")
    if exe is None or not names:
        return None
    lines = ["digraph G { rankdir=LR; nodesep=0.15; ranksep=0.6;"]
    lines += [
        f'n{i} [shape=box, width=3.05, height=0.39, fixedsize=true, label=""];'
        for i in range(len(names))
    ]
    lines += [f"n{p} -> n{v};" for v, ps in enumerate(preds) for p in ps]
    lines.append("}")
    try:
        out = subprocess.run(
            [exe, "-Tplain"],
            input="\n".join(lines),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    scale = 72.0
    height = 0.0
    centres: dict[int, tuple[float, float]] = {}
    for row in out.splitlines():
        parts = row.split()
        if parts and parts[0] == "graph":
            height = float(parts[3]) * scale
        elif parts and parts[0] == "node":
            centres[int(parts[1][1:])] = (float(parts[2]) * scale, float(parts[3]) * scale)
    if len(centres) != len(names):
        return None
    x = tuple(PAD + centres[i][0] - NODE_W / 2 for i in range(len(names)))
    y = tuple(PAD + height - centres[i][1] - NODE_H / 2 for i in range(len(names)))
    return Layout(
        names=tuple(names),
        preds=tuple(tuple(p) for p in preds),
        x=x,
        y=y,
        width=max(x) + NODE_W + PAD,
        height=max(y) + NODE_H + PAD,
        engine="dot",
    )


def layout(names: Sequence[str], preds: Sequence[Sequence[int]], *, engine: str = "auto") -> Layout:
    """``engine`` is ``"builtin"``, ``"dot"`` or ``"auto"`` (dot when installed)."""
    if engine in ("auto", "dot"):
        found = dot_layout(names, preds)
        if found is not None:
            return found
    return layered_layout(names, preds)


def _label(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "\u2026"


def render_svg(lay: Layout) -> str:
    """The graph as an SVG document: ``<g id="n-ID" class="node st-pending">`` per task.

    Ids come from task indices, never from names; names appear only as escaped text.
    """
    esc = html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="{lay.width:.0f}" '
        f'height="{lay.height:.0f}" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}">'
    ]
    for v, ps in enumerate(lay.preds):
        for p in ps:
            x1, y1 = lay.x[p] + NODE_W, lay.y[p] + NODE_H / 2
            x2, y2 = lay.x[v], lay.y[v] + NODE_H / 2
            mid = (x1 + x2) / 2
            parts.append(
                f'<path id="e-{p}-{v}" class="edge" d="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} '
                f'{mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"/>'
            )
    for i, name in enumerate(lay.names):
        parts.append(
            f'<g id="n-{i}" class="node st-pending" data-task="{i}" '
            f'transform="translate({lay.x[i]:.1f},{lay.y[i]:.1f})">'
            f"<title>{esc(name, quote=True)}</title>"
            f'<rect width="{NODE_W}" height="{NODE_H}" rx="5"/>'
            f'<text x="8" y="{NODE_H / 2 + 4:.0f}">{esc(_label(name), quote=True)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
