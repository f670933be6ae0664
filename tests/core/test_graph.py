"""Behaviour of ``DAGraph``: 1.4.0 compatibility plus forward references and one-shot validation."""

from __future__ import annotations

import logging

import pytest

from thread_order.graph import CycleError, DAGraph, UnknownDependencyError

SURGERY = [
    ("pre_op_assessment_A", []),
    ("assign_surgical_staff_B", ["pre_op_assessment_A"]),
    ("prepare_operating_room_C", ["pre_op_assessment_A"]),
    ("sterilize_instruments_D", ["prepare_operating_room_C"]),
    ("equipment_safety_checks_E", ["prepare_operating_room_C"]),
    ("perform_surgery_F", ["assign_surgical_staff_B", "sterilize_instruments_D"]),
]


def build(spec: list[tuple[str, list[str]]]) -> DAGraph:
    graph = DAGraph()
    for name, after in spec:
        graph.add(name, after)
    return graph


def test_duplicate_name_raises_the_1_4_message() -> None:
    graph = build([("a", [])])
    with pytest.raises(ValueError, match=r"^a has already been added$"):
        graph.add("a")


def test_after_as_a_string_is_one_name() -> None:
    graph = build([("a", []), ("abc", [])])
    graph.add("x", after="a")
    graph.add("y", after="abc")
    assert graph.original_parents_of("x") == ["a"]
    assert graph.original_parents_of("y") == ["abc"]
    graph.validate()


def test_after_none_and_empty_mean_no_dependencies() -> None:
    graph = DAGraph()
    graph.add("a", None)
    graph.add("b", [])
    graph.add("c")
    assert graph.ready() == ["a", "b", "c"]


def test_repeated_dependency_counts_once() -> None:
    graph = build([("a", []), ("b", ["a", "a"])])
    assert graph.parents_of("b") == ["a"]
    assert graph.dependency_counts == [("a", 0), ("b", 1)]


def test_forward_reference_is_accepted_and_resolved_later() -> None:
    graph = DAGraph()
    graph.add("deploy", after=["build"])
    assert graph.ready() == []
    graph.add("build")
    graph.validate()
    assert graph.ready() == ["build"]
    graph.remove("build")
    assert graph.ready() == ["deploy"]


def test_unknown_dependency_names_task_and_suggests() -> None:
    graph = build([("build", []), ("deploy", ["biuld"]), ("notify", ["deploy", "zzz"])])
    with pytest.raises(UnknownDependencyError) as info:
        graph.validate()
    message = str(info.value)
    assert message.splitlines() == [
        "deploy depends on unknown ['biuld'] (did you mean 'build'?)",
        "notify depends on unknown ['zzz']",
    ]
    assert info.value.missing == (("deploy", "biuld"), ("notify", "zzz"))
    assert isinstance(info.value, ValueError)


def test_several_unknowns_in_one_task_say_which_suggestion_is_for_which() -> None:
    graph = build([("alpha", []), ("beta", []), ("c", ["alpah", "betta"])])
    with pytest.raises(ValueError, match=r"did you mean 'alpha' for 'alpah', 'beta' for 'betta'\?"):
        graph.validate()


def test_cycle_is_reported_as_a_path() -> None:
    graph = DAGraph()
    graph.add("a", after="c")
    graph.add("b", after="a")
    graph.add("c", after="b")
    with pytest.raises(CycleError) as info:
        graph.validate()
    assert str(info.value) == "dependency cycle: a -> b -> c -> a"
    assert info.value.cycle == ("a", "b", "c", "a")


def test_self_dependency_is_a_cycle() -> None:
    graph = build([("a", ["a"])])
    with pytest.raises(ValueError, match=r"a -> a$"):
        graph.validate()


def test_cycle_behind_an_acyclic_prefix_is_found() -> None:
    graph = build([("root", []), ("x", ["root", "z"]), ("y", ["x"]), ("z", ["y"]), ("w", ["root"])])
    with pytest.raises(CycleError) as info:
        graph.validate()
    assert info.value.cycle == ("x", "y", "z", "x")


def test_unknowns_are_reported_before_cycles() -> None:
    graph = build([("a", ["b"]), ("b", ["a", "ghost"])])
    with pytest.raises(UnknownDependencyError):
        graph.validate()


def test_validate_is_linear_on_a_long_chain() -> None:
    graph = DAGraph()
    size = 50_000
    graph.add("t0")
    for i in range(1, size):
        graph.add(f"t{i}", f"t{i - 1}")
    graph.validate()  # iterative: no recursion limit, no quadratic re-check per add
    names, preds = graph.names_and_preds()
    assert len(names) == size
    assert preds[-1] == [size - 2]


def test_ready_lists_registration_order_and_skips_active() -> None:
    graph = build([("b", []), ("a", []), ("c", ["a"])])
    assert graph.ready() == ["b", "a"]
    assert graph.ready(active={"b"}) == ["a"]


def test_get_candidates_sorts_lexicographically_and_limits() -> None:
    graph = build([(f"t{i}", []) for i in range(12)])
    assert graph.get_candidates(set(), 4) == ["t0", "t1", "t10", "t11"]
    assert graph.get_candidates({"t0"}, 100) == [
        "t1",
        "t10",
        "t11",
        *[f"t{i}" for i in range(2, 10)],
    ]
    assert graph.get_candidates(set(), 2, sort=False) == ["t0", "t1"]
    assert graph.get_candidates(set(), 0) == []


def test_get_candidates_logs_like_1_4(caplog: pytest.LogCaptureFixture) -> None:
    graph = build([("b", []), ("a", [])])
    with caplog.at_level(logging.DEBUG):
        graph.get_candidates(set(), 1)
        graph.get_candidates({"a", "b"}, 1)
    messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith("requested")]
    assert messages == [
        "requested 1 and found 2 candidates eligible for submission a, b",
        "requested 1 but found no candidates eligible for submission",
    ]


def test_remove_consumes_the_graph_in_dependency_order() -> None:
    graph = build(SURGERY)
    order = []
    while not graph.is_empty():
        ready = graph.get_candidates(set(), 1)
        assert ready, "a valid graph always has something ready until it is empty"
        order.append(ready[0])
        graph.remove(ready[0])
    assert order == [
        "pre_op_assessment_A",
        "assign_surgical_staff_B",
        "prepare_operating_room_C",
        "equipment_safety_checks_E",
        "sterilize_instruments_D",
        "perform_surgery_F",
    ]
    assert list(graph.nodes()) == []
    graph.add("pre_op_assessment_A")  # a consumed name can be registered again, as in 1.4.0
    assert graph.ready() == ["pre_op_assessment_A"]


def test_remaining_and_original_parents() -> None:
    graph = build(SURGERY)
    graph.remove("pre_op_assessment_A")
    graph.remove("assign_surgical_staff_B")
    assert graph.parents_of("perform_surgery_F") == ["sterilize_instruments_D"]
    assert graph.original_parents_of("perform_surgery_F") == [
        "assign_surgical_staff_B",
        "sterilize_instruments_D",
    ]
    assert graph.parents_of("missing") == []
    assert graph.original_parents_of("missing") == []


def test_removing_a_node_with_parents_detaches_children_but_keeps_it() -> None:
    graph = build([("a", []), ("b", ["a"]), ("c", ["b"])])
    graph.remove("b")
    assert list(graph.nodes()) == ["a", "b", "c"]
    assert graph.ready() == ["a", "c"]
    graph.remove("a")
    assert graph.ready() == ["b", "c"]


def test_children_of_is_in_registration_order() -> None:
    graph = build([("a", []), ("z", ["a"]), ("m", ["a"]), ("b", ["a"])])
    assert graph.children_of("a") == ["z", "m", "b"]
    assert graph.children_of("b") == []


def test_gui_count_properties_have_the_1_4_shape() -> None:
    graph = build(SURGERY)
    assert graph.parent_child_counts == [
        ("pre_op_assessment_A", 2),
        ("assign_surgical_staff_B", 1),
        ("prepare_operating_room_C", 2),
        ("sterilize_instruments_D", 1),
        ("equipment_safety_checks_E", 0),
        ("perform_surgery_F", 0),
    ]
    assert graph.dependency_counts == [
        ("pre_op_assessment_A", 0),
        ("assign_surgical_staff_B", 1),
        ("prepare_operating_room_C", 1),
        ("sterilize_instruments_D", 1),
        ("equipment_safety_checks_E", 1),
        ("perform_surgery_F", 2),
    ]


def test_repr_lists_parents_then_children_sorted() -> None:
    graph = build([("b", []), ("a", []), ("c", ["b", "a"])])
    assert repr(graph) == "Parents:\na: []\nb: []\nc: ['b', 'a']\nChildren:\na: ['c']\nb: ['c']"


def test_is_empty_and_nodes_view() -> None:
    graph = DAGraph()
    assert graph.is_empty()
    graph.add("a")
    view = graph.nodes()
    assert not graph.is_empty()
    assert list(view) == ["a"]
    graph.remove("a")
    assert list(view) == []
    assert graph.is_empty()


def test_from_tasks_and_names_and_preds_round_trip() -> None:
    names = [name for name, _ in SURGERY]
    preds = [[names.index(d) for d in after] for _, after in SURGERY]
    graph = DAGraph.from_tasks(names, preds)
    assert graph.names_and_preds() == (names, preds)
    assert graph.original_parents_of("perform_surgery_F") == SURGERY[-1][1]


def test_from_tasks_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 entries but preds has 1"):
        DAGraph.from_tasks(["a", "b"], [[]])


def test_names_and_preds_validates_first() -> None:
    graph = build([("a", ["nope"])])
    with pytest.raises(UnknownDependencyError, match="a depends on unknown"):
        graph.names_and_preds()
