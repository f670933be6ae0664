"""Parametrized tasks: ``expand`` names the instances, ``resolve`` finds what a dependency names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thread_order._options import TaskOptionError
from thread_order._params import expand, family_of, resolve

# -- expand ------------------------------------------------------------------------------------


def test_a_list_gives_one_instance_per_value_passed_as_param() -> None:
    assert expand("create", ["us-west", "eu"]) == [
        ("create[us-west]", {"param": "us-west"}),
        ("create[eu]", {"param": "eu"}),
    ]


@pytest.mark.parametrize("values", [(1, 2), range(1, 3)], ids=["tuple", "range"])
def test_any_sequence_works_and_names_use_str(values: Sequence[int]) -> None:
    assert expand("t", values) == [("t[1]", {"param": 1}), ("t[2]", {"param": 2})]


def test_the_value_itself_is_passed_not_its_str() -> None:
    obj = object()
    [(name, kwargs)] = expand("t", [obj])
    assert name == f"t[{obj}]"
    assert kwargs["param"] is obj


def test_a_mapping_with_one_key_passes_that_keyword() -> None:
    assert expand("create", {"region": ["us-west", "eu"]}) == [
        ("create[us-west]", {"region": "us-west"}),
        ("create[eu]", {"region": "eu"}),
    ]


def test_several_keys_give_the_cartesian_product_in_key_order() -> None:
    got = expand("create", {"region": ["us-west", "eu"], "env": ["prod", "dev"]})
    assert got == [
        ("create[us-west-prod]", {"region": "us-west", "env": "prod"}),
        ("create[us-west-dev]", {"region": "us-west", "env": "dev"}),
        ("create[eu-prod]", {"region": "eu", "env": "prod"}),
        ("create[eu-dev]", {"region": "eu", "env": "dev"}),
    ]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ([], "params is empty"),
        ((), "params is empty"),
        ({}, "params is empty"),
        ({"region": []}, "params['region'] is empty"),
        ({"region": 3}, "params['region'] must be a list of values, got int"),
        ({"region": {"a", "b"}}, "must be a list of values, got set"),
        ({"region": "us-west"}, "wrap it in a list, ['us-west']"),
        ("us-west", "wrap it in a list, ['us-west']"),
        (b"eu", "wrap it in a list"),
        ({"a", "b"}, "params must be a list of values, got set"),
        (iter([1, 2]), "params must be a list of values, got list_iterator"),
        (5, "params must be a list of values, got int"),
        ({"1region": ["a"]}, "params key '1region' must be an identifier"),
        ({"the-region": ["a"]}, "params key 'the-region' must be an identifier"),
        ({"class": ["a"]}, "params key 'class' must be an identifier"),
        ({1: ["a"]}, "params key 1 must be an identifier"),
        ([1, "1"], "instance name 'create[1]' twice"),
        ({"a": ["x-y", "x"], "b": ["z", "y-z"]}, "instance name 'create[x-y-z]' twice"),
        (["*"], "may not be '*'"),
    ],
)
def test_bad_params_are_refused_naming_the_task(params: Any, words: str) -> None:
    with pytest.raises(TaskOptionError) as info:
        expand("create", params)
    assert "task 'create'" in str(info.value)
    assert words in str(info.value)


def test_a_value_containing_a_star_is_fine() -> None:
    assert expand("t", ["a*", "*-*"])[0][0] == "t[a*]"


@given(st.lists(st.text(min_size=1), min_size=1, unique=True).filter(lambda v: "*" not in v))
def test_expand_list_invariants(values: list[str]) -> None:
    got = expand("f", values)
    assert [kw["param"] for _, kw in got] == values
    assert [name for name, _ in got] == [f"f[{v}]" for v in values]
    assert all(family_of(name) == "f" for name, _ in got)


# -- resolve -----------------------------------------------------------------------------------


class Graph:
    """A registry as the compiler sees it: names in id order, the index, the families."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self.families: dict[str, list[int]] = {}
        self.params: dict[str, dict[str, Any]] = {}

    def add(self, name: str, params: Any = None) -> Graph:
        instances = [(name, None)] if params is None else expand(name, params)
        for instance, kwargs in instances:
            self.index[instance] = len(self.names)
            self.names.append(instance)
            if kwargs is not None:
                self.families.setdefault(name, []).append(self.index[instance])
                self.params[instance] = kwargs
        return self

    def resolve(self, dep: str, task: str = "attach[eu]") -> list[int] | None:
        return resolve(dep, task, self.params.get(task), self.index, self.families, self.names)

    def named(self, dep: str, task: str = "attach[eu]") -> list[str] | None:
        ids = self.resolve(dep, task)
        return None if ids is None else [self.names[i] for i in ids]


REGIONS = {"region": ["us-west", "eu"]}


@pytest.fixture
def graph() -> Graph:
    return (
        Graph()
        .add("setup")
        .add("create", REGIONS)
        .add("attach", REGIONS)
        .add("deploy", {"region": ["us-west", "eu"], "env": ["prod", "dev"]})
    )


def test_an_exact_registered_name(graph: Graph) -> None:
    assert graph.named("setup") == ["setup"]
    assert graph.named("create[us-west]") == ["create[us-west]"]


def test_star_names_every_instance_in_registration_order(graph: Graph) -> None:
    assert graph.named("create[*]") == ["create[us-west]", "create[eu]"]


def test_a_bare_family_name_names_every_instance(graph: Graph) -> None:
    assert graph.named("create") == ["create[us-west]", "create[eu]"]


def test_a_registered_task_wins_over_a_family_of_the_same_name() -> None:
    graph = Graph().add("x", ["a", "b"]).add("x")
    assert graph.named("x") == ["x"]
    assert graph.named("x[*]") == ["x[a]", "x[b]"]


def test_braces_pick_the_instance_matching_the_tasks_own_value(graph: Graph) -> None:
    assert graph.named("create[{region}]", "attach[eu]") == ["create[eu]"]
    assert graph.named("create[{region}]", "attach[us-west]") == ["create[us-west]"]


def test_braces_fill_several_keys_and_literal_text(graph: Graph) -> None:
    graph.add("check", {"region": ["eu"], "env": ["dev"]})
    assert graph.named("deploy[{region}-{env}]", "check[eu-dev]") == ["deploy[eu-dev]"]
    assert graph.named("deploy[{region}-prod]", "check[eu-dev]") == ["deploy[eu-prod]"]


def test_braces_use_str_of_the_value_like_instance_names() -> None:
    class Region:
        def __str__(self) -> str:
            return "eu"

        def __format__(self, spec: str) -> str:
            return "EU-formatted"

    graph = Graph().add("create", [Region()]).add("attach", [Region()])
    assert format(Region(), "") != "eu"
    assert graph.named("create[{param}]", "attach[eu]") == ["create[eu]"]


def test_a_key_the_task_does_not_have_is_an_error_naming_task_and_key(graph: Graph) -> None:
    with pytest.raises(TaskOptionError, match=r"task 'attach\[eu\]'.*\{env\}.*no key 'env'"):
        graph.resolve("deploy[{region}-{env}]", "attach[eu]")


def test_braces_in_a_task_that_is_not_parametrized_are_an_error(graph: Graph) -> None:
    with pytest.raises(TaskOptionError, match=r"task 'setup'.*\{region\}.*not parametrized"):
        graph.resolve("create[{region}]", "setup")


@pytest.mark.parametrize(
    "dep",
    ["nothing", "create[mars]", "nothing[*]", "nothing[eu]", "setup[*]", "create[]", "create[{"],
)
def test_a_dependency_that_names_nothing_gives_none(graph: Graph, dep: str) -> None:
    assert graph.resolve(dep) is None


def test_a_pattern_matching_no_instance_gives_none() -> None:
    graph = Graph().add("create", ["eu"]).add("attach", {"region": ["mars"]})
    assert graph.resolve("create[{region}]", "attach[mars]") is None


def test_an_empty_family_names_nothing() -> None:
    assert resolve("x", "t", None, {}, {"x": []}, []) is None
    assert resolve("x[*]", "t", None, {}, {"x": []}, []) is None


def test_family_of() -> None:
    assert family_of("create[eu]") == "create"
    assert family_of("create[a[b]]") == "create"
    assert family_of("create") is None
    assert family_of("[eu]") is None


@given(
    st.lists(st.text(alphabet="abcxyz-_.0123", min_size=1, max_size=6), min_size=1, max_size=6).map(
        lambda v: list(dict.fromkeys(v))
    ),
    st.integers(min_value=0, max_value=3),
)
def test_resolve_round_trips_every_expanded_instance(values: list[str], before: int) -> None:
    graph = Graph()
    for k in range(before):
        graph.add(f"plain{k}")
    graph.add("create", {"region": values}).add("attach", {"region": values})
    created = [f"create[{v}]" for v in values]
    for v, name in zip(values, created, strict=True):
        assert graph.named(name) == [name]
        assert graph.named("create[{region}]", f"attach[{v}]") == [name]
    assert graph.named("create[*]") == created
    assert graph.named("create") == created


def test_resolve_accepts_any_mapping_for_the_task_param() -> None:
    from types import MappingProxyType

    param = MappingProxyType({"region": "eu"})
    ids = resolve("c[{region}]", "a[eu]", param, {"c[eu]": 0}, {"c": [0]}, ["c[eu]"])
    assert ids == [0]
