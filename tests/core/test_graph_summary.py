"""The ``--graph`` block (byte-compatible with 1.4.0), DOT/Mermaid/JSON exports, analytics."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thread_order._analytics import CriticalPath, analyze
from thread_order.graph import DAGraph
from thread_order.graph_summary import format_graph_summary, to_dot, to_json, to_mermaid

SURGERY = [
    ("pre_op_assessment_A", []),
    ("assign_surgical_staff_B", ["pre_op_assessment_A"]),
    ("prepare_operating_room_C", ["pre_op_assessment_A"]),
    ("sterilize_instruments_D", ["prepare_operating_room_C"]),
    ("equipment_safety_checks_E", ["prepare_operating_room_C"]),
    ("perform_surgery_F", ["assign_surgical_staff_B", "sterilize_instruments_D"]),
]

# Captured from `tdrun test_dag1.py --graph` with thread-order 1.4.0 (reference section 4.3).
SURGERY_BLOCK = """\
Graph: 6 nodes, 6 edges
Roots: [3]
Leaves: [1], [2]
Levels: 4

Nodes:
  [0] assign_surgical_staff_B
  [1] equipment_safety_checks_E
  [2] perform_surgery_F
  [3] pre_op_assessment_A
  [4] prepare_operating_room_C
  [5] sterilize_instruments_D

Edges:
  [0] -> [2]
  [1] -> (none)
  [2] -> (none)
  [3] -> [0], [4]
  [4] -> [1], [5]
  [5] -> [2]

Stats:
  Longest chain length (edges): 3
  Longest chains:
    pre_op_assessment_A -> prepare_operating_room_C -> sterilize_instruments_D -> perform_surgery_F
  High fan-in nodes (many dependencies):
    perform_surgery_F (indegree=2)
  High fan-out nodes (many dependents):
    pre_op_assessment_A (children=2)
    prepare_operating_room_C (children=2)"""

XSS = "<img src=x onerror=alert(1)>"
QUOTED = 'a "quoted" name'


def build(spec: list[tuple[str, list[str]]]) -> DAGraph:
    graph = DAGraph()
    for name, after in spec:
        graph.add(name, after)
    return graph


def ids_form(spec: list[tuple[str, list[str]]]) -> tuple[list[str], list[list[int]]]:
    names = [name for name, _ in spec]
    return names, [[names.index(d) for d in after] for _, after in spec]


# --- the 1.4.0 text block ------------------------------------------------------------------------


def test_surgery_block_is_byte_identical_to_1_4() -> None:
    assert format_graph_summary(build(SURGERY)) == SURGERY_BLOCK


def test_surgery_block_does_not_depend_on_registration_order() -> None:
    assert format_graph_summary(build(list(reversed(SURGERY)))) == SURGERY_BLOCK


def test_empty_graph() -> None:
    assert format_graph_summary(DAGraph()) == "Graph: 0 nodes, 0 edges"


def test_single_node_shows_a_trivial_chain_and_no_hotspots() -> None:
    assert format_graph_summary(build([("only", [])])) == (
        "Graph: 1 nodes, 0 edges\nRoots: [0]\nLeaves: [0]\nLevels: 1\n\n"
        "Nodes:\n  [0] only\n\nEdges:\n  [0] -> (none)\n\n"
        "Stats:\n  Longest chain length (edges): 0\n  Longest chains:\n    only"
    )


def test_edgeless_graph_lists_only_the_first_name_as_chain() -> None:
    block = format_graph_summary(build([("c", []), ("a", []), ("b", [])]))
    assert block.endswith("Longest chains:\n    a")
    assert "Roots: [0], [1], [2]\nLeaves: [0], [1], [2]\nLevels: 1" in block


def test_at_most_three_chains_one_per_end_in_name_order() -> None:
    spec: list[tuple[str, list[str]]] = [("r", []), ("q", [])] + [
        (f"end{i}", ["r", "q"]) for i in (4, 2, 3, 1)
    ]
    block = format_graph_summary(build(spec))
    chains = block.split("Longest chains:\n")[1].split("\n  High")[0]
    # each end has two parents one level up: 1.4.0 keeps the smaller name (q)
    assert chains == "    q -> end1\n    q -> end2\n    q -> end3"
    assert "High fan-in nodes (many dependencies):\n    end1 (indegree=2)" in block
    assert "    r (children=4)" in block


def test_chain_graph_has_no_hotspot_headings() -> None:
    block = format_graph_summary(build([("a", []), ("b", ["a"]), ("c", ["b"])]))
    assert "High fan" not in block
    assert block.endswith("Longest chain length (edges): 2\n  Longest chains:\n    a -> b -> c")


def test_invalid_graph_is_not_summarised() -> None:
    with pytest.raises(ValueError, match="depends on unknown"):
        format_graph_summary(build([("a", ["b"])]))
    with pytest.raises(ValueError, match="a -> b -> a"):
        format_graph_summary(build([("a", ["b"]), ("b", ["a"])]))


# --- DOT / Mermaid / JSON -----------------------------------------------------------------------


def test_dot_uses_sorted_ids_and_escapes_labels() -> None:
    dot = to_dot(build([(XSS, []), (QUOTED, [XSS]), ("back\\slash", [QUOTED])]))
    lines = dot.splitlines()
    assert lines[0] == "digraph thread_order {"
    assert lines[-1] == "}"
    assert '  n0 [label="<img src=x onerror=alert(1)>"];' in lines
    assert '  n1 [label="a \\"quoted\\" name"];' in lines
    assert '  n2 [label="back\\\\slash"];' in lines
    assert "  n0 -> n1;" in lines
    assert "  n1 -> n2;" in lines
    for line in lines[3:-1]:  # every statement is an id, an edge, or an id with a quoted label
        assert re.fullmatch(r'  n\d+( -> n\d+| \[label="([^"\\]|\\.)*"\]);', line), line


def test_mermaid_ids_are_safe_and_labels_cannot_break_out() -> None:
    text = to_mermaid(build([(XSS, []), (QUOTED, [XSS]), ("x # y & `z`", [QUOTED])]))
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  n0["#lt;img src=x onerror=alert(1)#gt;"]' in lines
    assert '  n1["a #quot;quoted#quot; name"]' in lines
    assert '  n2["x #35; y #amp; #96;z#96;"]' in lines
    assert "  n0 --> n1" in lines
    assert "  n1 --> n2" in lines
    for line in lines[1:]:
        assert re.fullmatch(r'  n\d+( --> n\d+|\["[^"<>`]*"\])', line), line


def test_json_round_trips_with_the_documented_keys() -> None:
    data = json.loads(to_json(build(SURGERY)))
    assert list(data) == [
        "nodes",
        "edges",
        "roots",
        "leaves",
        "levels",
        "level_count",
        "waves",
        "longest_chain",
        "fan_in",
        "fan_out",
    ]
    assert data["nodes"][3] == "pre_op_assessment_A"
    assert {"from": "pre_op_assessment_A", "to": "assign_surgical_staff_B"} in data["edges"]
    assert len(data["edges"]) == 6
    assert data["roots"] == ["pre_op_assessment_A"]
    assert data["leaves"] == ["equipment_safety_checks_E", "perform_surgery_F"]
    assert data["levels"]["perform_surgery_F"] == 3
    assert data["level_count"] == 4
    assert data["waves"][2] == ["equipment_safety_checks_E", "sterilize_instruments_D"]
    assert data["longest_chain"] == {
        "length": 3,
        "chains": [
            [
                "pre_op_assessment_A",
                "prepare_operating_room_C",
                "sterilize_instruments_D",
                "perform_surgery_F",
            ]
        ],
        "truncated": False,
    }
    assert data["fan_in"]["perform_surgery_F"] == 2
    assert data["fan_out"]["pre_op_assessment_A"] == 2


def test_json_keeps_awkward_names_intact() -> None:
    data = json.loads(to_json(build([(XSS, []), (QUOTED, [XSS])])))
    assert data["edges"] == [{"from": XSS, "to": QUOTED}]


def test_exports_of_an_empty_graph() -> None:
    assert to_dot(DAGraph()) == "digraph thread_order {\n  rankdir=LR;\n  node [shape=box];\n}\n"
    assert to_mermaid(DAGraph()) == "flowchart LR\n"
    data = json.loads(to_json(DAGraph()))
    assert data["nodes"] == []
    assert data["level_count"] == 0
    assert data["longest_chain"] == {"length": 0, "chains": [], "truncated": False}


# --- analytics ----------------------------------------------------------------------------------


def test_analyze_surgery() -> None:
    stats = analyze(*ids_form(SURGERY))
    assert stats.node_count == 6
    assert stats.edge_count == 6
    assert stats.roots == ("pre_op_assessment_A",)
    assert stats.leaves == ("equipment_safety_checks_E", "perform_surgery_F")
    assert stats.level_count == 4
    assert stats.waves == (
        ("pre_op_assessment_A",),
        ("assign_surgical_staff_B", "prepare_operating_room_C"),
        ("equipment_safety_checks_E", "sterilize_instruments_D"),
        ("perform_surgery_F",),
    )
    assert stats.longest_chain_length == 3
    assert stats.longest_chain_ends == ("perform_surgery_F",)
    assert stats.fan_in["perform_surgery_F"] == 2
    assert stats.fan_out["prepare_operating_room_C"] == 2
    with pytest.raises(TypeError):
        stats.levels["x"] = 1  # type: ignore[index]


def test_all_longest_chains_are_enumerated_in_name_order() -> None:
    spec = [("a", []), ("c", ["a"]), ("b", ["a"]), ("d", ["b", "c"]), ("e", ["d"]), ("x", ["a"])]
    stats = analyze(*ids_form(spec))
    assert stats.longest_chains == (("a", "b", "d", "e"), ("a", "c", "d", "e"))
    assert stats.canonical_chain("e") == ("a", "b", "d", "e")
    assert not stats.longest_chains_truncated


def test_chain_enumeration_is_capped() -> None:
    # a ladder of k diamonds has 2**k longest chains
    spec: list[tuple[str, list[str]]] = [("s0", [])]
    for i in range(20):
        spec += [(f"l{i}", [f"s{i}"]), (f"r{i}", [f"s{i}"]), (f"s{i + 1}", [f"l{i}", f"r{i}"])]
    stats = analyze(*ids_form(spec), max_chains=5)
    assert len(stats.longest_chains) == 5
    assert stats.longest_chains_truncated
    assert stats.longest_chain_length == 40


def test_analyze_rejects_cycles_and_bad_ids() -> None:
    with pytest.raises(ValueError, match="cycle"):
        analyze(["a", "b"], [[1], [0]])
    with pytest.raises(ValueError, match="outside"):
        analyze(["a"], [[3]])
    with pytest.raises(ValueError, match="preds has 0"):
        analyze(["a"], [])


def test_analyze_empty() -> None:
    stats = analyze([], [])
    assert (stats.node_count, stats.level_count, stats.waves, stats.longest_chains) == (
        0,
        0,
        (),
        (),
    )
    assert stats.critical_path({}) == CriticalPath((), 0.0)


def test_critical_path_follows_durations_not_edge_count() -> None:
    stats = analyze(*ids_form(SURGERY))
    durations = {
        "pre_op_assessment_A": 1.0,
        "assign_surgical_staff_B": 5.0,
        "prepare_operating_room_C": 0.5,
        "sterilize_instruments_D": 0.5,
        "equipment_safety_checks_E": 2.0,
        "perform_surgery_F": 1.0,
    }
    path = stats.critical_path(durations)
    assert path.chain == ("pre_op_assessment_A", "assign_surgical_staff_B", "perform_surgery_F")
    assert path.duration == pytest.approx(7.0)
    # with equal durations the deepest chain wins, so it degenerates to the longest chain
    assert stats.critical_path({}) == CriticalPath(stats.canonical_chain("perform_surgery_F"), 0.0)


dags = st.integers(min_value=0, max_value=7).flatmap(
    lambda n: st.tuples(
        st.just([f"t{i}" for i in range(n)]),
        st.tuples(
            *[st.lists(st.integers(0, i - 1), max_size=3) if i else st.just([]) for i in range(n)]
        ),
    )
)


def brute_force_chains(names: list[str], preds: list[list[int]]) -> set[tuple[str, ...]]:
    children = {i: {j for j in range(len(names)) if i in preds[j]} for i in range(len(names))}
    paths = [[i] for i in range(len(names)) if not preds[i]]
    complete = []
    while paths:
        path = paths.pop()
        if children[path[-1]]:
            paths += [[*path, c] for c in children[path[-1]]]
        else:
            complete.append(tuple(names[i] for i in path))
    longest = max((len(p) for p in complete), default=0)
    return {p for p in complete if len(p) == longest}


@settings(max_examples=150, deadline=None)
@given(dags)
def test_longest_chains_match_brute_force(dag: tuple[list[str], tuple[list[int], ...]]) -> None:
    names, pred_tuple = dag
    preds = list(pred_tuple)
    stats = analyze(names, preds, max_chains=10_000)
    expected = brute_force_chains(names, preds)
    assert set(stats.longest_chains) == expected
    assert len(stats.longest_chains) == len(expected)
    if names:
        assert stats.longest_chain_length == len(next(iter(expected))) - 1
        assert sum(len(w) for w in stats.waves) == len(names)
        for i, name in enumerate(names):
            deps = {names[p] for p in preds[i]}
            assert stats.levels[name] == max((stats.levels[d] + 1 for d in deps), default=0)
        weights = {name: float(i % 3) for i, name in enumerate(names)}
        best = max(sum(weights[n] for n in c) for c in all_chains(names, preds))
        assert stats.critical_path(weights).duration == best


def all_chains(names: list[str], preds: list[list[int]]) -> list[tuple[str, ...]]:
    """Every directed path, from any node to any node: the critical path is one of them."""
    out: list[tuple[str, ...]] = []
    stack = [[i] for i in range(len(names))]
    while stack:
        path = stack.pop()
        out.append(tuple(names[i] for i in path))
        stack += [[*path, j] for j in range(len(names)) if path[-1] in preds[j]]
    return out
