"""Layout invariants: nodes never overlap, every edge points forward, labels are escaped."""

from __future__ import annotations

import random
import shutil

import pytest

from thread_order_ui.layout import NODE_H, NODE_W, Layout, dot_layout, layered_layout, render_svg

from .conftest import XSS


def random_dag(n: int, seed: int, fan: int = 3) -> tuple[list[str], list[list[int]]]:
    rng = random.Random(seed)
    names = [f"task_{i:03d}_" + "x" * rng.randrange(0, 50) for i in range(n)]
    preds = [sorted(rng.sample(range(i), min(i, rng.randrange(0, fan + 1)))) for i in range(n)]
    return names, preds


def assert_invariants(lay: Layout) -> None:
    n = len(lay.names)
    boxes = sorted(zip(lay.x, lay.y, strict=True))
    for a in range(n):
        for b in range(a + 1, n):
            (x1, y1), (x2, y2) = boxes[a], boxes[b]
            if x2 >= x1 + NODE_W:
                break  # sorted by x: nothing further can overlap box a
            assert abs(y1 - y2) >= NODE_H, f"overlap at {boxes[a]} and {boxes[b]}"
    for v, ps in enumerate(lay.preds):
        for p in ps:
            assert lay.x[p] + NODE_W <= lay.x[v], f"edge {p}->{v} does not point forward"
    assert all(x >= 0 and x + NODE_W <= lay.width for x in lay.x)
    assert all(y >= 0 and y + NODE_H <= lay.height for y in lay.y)


@pytest.mark.parametrize("seed", range(8))
def test_builtin_layout_invariants(seed: int) -> None:
    names, preds = random_dag(120, seed)
    assert_invariants(layered_layout(names, preds))


def test_layout_of_500_tasks_is_quick() -> None:
    import time

    names, preds = random_dag(500, 42)
    t0 = time.perf_counter()
    lay = layered_layout(names, preds)
    svg = render_svg(lay)
    assert time.perf_counter() - t0 < 2.0
    assert_invariants(lay)
    assert svg.count('class="node st-pending"') == 500


def test_barycenter_removes_an_obvious_crossing() -> None:
    # a0 -> b1 and a1 -> b0 cross in registration order; the sweeps uncross them
    names = ["a0", "a1", "b0", "b1"]
    preds: list[list[int]] = [[], [], [1], [0]]
    lay = layered_layout(names, preds)
    assert (lay.y[0] < lay.y[1]) == (lay.y[3] < lay.y[2])


def test_empty_and_single() -> None:
    assert_invariants(layered_layout([], []))
    assert_invariants(layered_layout(["only"], [[]]))


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot is not installed")
def test_dot_layout_invariants() -> None:
    names, preds = random_dag(60, 3)
    lay = dot_layout(names, preds)
    assert lay is not None
    assert lay.engine == "dot"
    for v, ps in enumerate(lay.preds):
        for p in ps:
            assert lay.x[p] < lay.x[v]


def test_svg_escapes_names_and_uses_index_ids() -> None:
    names = [XSS, 'say "hi" & <b>bye</b>', "x" * 60]
    svg = render_svg(layered_layout(names, [[], [0], [1]]))
    assert "<img" not in svg
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg
    assert "&quot;hi&quot; &amp; &lt;b&gt;" in svg
    assert 'id="n-0"' in svg
    assert 'id="e-0-1"' in svg
    assert "x" * 60 in svg  # the full name stays in the <title>
    import xml.etree.ElementTree as ET

    ET.fromstring(svg)  # well-formed: the browser parses it as XML
