"""Parametrized tasks: one registration becomes one task per parameter value.

``expand`` turns ``params`` into named instances (``create[us-west]``) at registration, so the
rest of the engine only ever sees plain tasks with unique names. ``resolve`` lets a dependency
name a whole family, one instance, or "the instance matching mine" (``create[{region}]``),
and is called once per dependency when the graph is compiled, never during a run.
"""

from __future__ import annotations

import itertools
import keyword
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._options import TaskOptionError

#: The keyword argument that carries a value of a plain list of params.
PARAM = "param"

#: ``family[inner]``: the family is everything before the first bracket.
_PATTERN = re.compile(r"(?P<family>[^\[]+)\[(?P<inner>.*)\]", re.DOTALL)
#: ``{key}`` inside an instance pattern.
_FIELD = re.compile(r"\{([^{}]*)\}")


def _values(task: str, what: str, values: object) -> Sequence[Any]:
    """The values as an ordered, non-empty sequence (sets have no stable order: refused)."""
    if isinstance(values, (str, bytes)):
        raise TaskOptionError(
            f"task {task!r}: {what} is the string {values!r}, which is ambiguous "
            f"(one value or its characters?): wrap it in a list, [{values!r}]"
        )
    if not isinstance(values, Sequence):
        raise TaskOptionError(
            f"task {task!r}: {what} must be a list of values, got {type(values).__name__}"
        )
    if not values:
        raise TaskOptionError(f"task {task!r}: {what} is empty: there would be no task to run")
    return values


def expand(
    name: str, params: Sequence[Any] | Mapping[str, Sequence[Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """The instances of a parametrized task, in order: ``(instance name, keyword arguments)``.

    A list gives one instance per value, passed as ``param``; a dict gives the cartesian
    product of its lists in key order, each key a keyword, the values joined by ``-`` in the
    name. Names use ``str(value)``, and must come out unique: dependencies refer to them.
    """
    combos: list[tuple[Any, ...]]
    if isinstance(params, Mapping):
        if not params:
            raise TaskOptionError(f"task {name!r}: params is empty: there would be no task to run")
        keys: list[str] = []
        for key in params:
            if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
                raise TaskOptionError(
                    f"task {name!r}: params key {key!r} must be an identifier: "
                    "it becomes a keyword argument of the function"
                )
            keys.append(key)
        lists = [_values(name, f"params[{key!r}]", params[key]) for key in keys]
        combos = list(itertools.product(*lists))
    else:
        keys = [PARAM]
        combos = [(value,) for value in _values(name, "params", params)]
    instances: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for combo in combos:
        label = "-".join(str(value) for value in combo)
        if label == "*":
            raise TaskOptionError(
                f"task {name!r}: a parameter value may not be '*': "
                f"{name}[*] already means every instance"
            )
        instance = f"{name}[{label}]"
        if instance in seen:
            raise TaskOptionError(
                f"task {name!r}: params give the instance name {instance!r} twice "
                "(names use str(value); make the values distinct)"
            )
        seen.add(instance)
        instances.append((instance, dict(zip(keys, combo, strict=True))))
    return instances


def family_of(name: str) -> str | None:
    """The family of an instance name (``create`` for ``create[eu]``), or None for a plain
    name."""
    match = _PATTERN.fullmatch(name)
    return match["family"] if match else None


def _fill(pattern: str, dep: str, task_name: str, task_param: Mapping[str, Any] | None) -> str:
    """``{key}`` fields of a pattern replaced by this task's own values, as ``str`` (the way
    instance names are written, whatever the value's ``__format__`` does)."""

    def value(field: re.Match[str]) -> str:
        key = field[1]
        if task_param is None:
            raise TaskOptionError(
                f"task {task_name!r}: dependency {dep!r} uses {{{key}}}, "
                "but the task is not parametrized"
            )
        if key not in task_param:
            raise TaskOptionError(
                f"task {task_name!r}: dependency {dep!r} uses {{{key}}}, but the task's "
                f"params have no key {key!r} (it has {sorted(task_param)})"
            )
        return str(task_param[key])

    return _FIELD.sub(value, pattern)


def resolve(
    dep: str,
    task_name: str,
    task_param: Mapping[str, Any] | None,
    index: Mapping[str, int],
    families: Mapping[str, Sequence[int]],
    names: Sequence[str],
) -> list[int] | None:
    """The task ids one ``after`` entry names, or None when it names nothing (the compiler
    then reports it as unknown, with a suggestion).

    In order: an exact registered name; ``family[*]``; a bare family name that is not itself
    a task; ``family[{key}]`` filled with this task's values; ``family[value]``.
    """
    exact = index.get(dep)
    if exact is not None:
        return [exact]
    members = families.get(dep)
    if members:
        return list(members)
    match = _PATTERN.fullmatch(dep)
    if match is None:
        return None
    members = families.get(match["family"])
    inner = match["inner"]
    if inner == "*":
        return list(members) if members else None
    wanted = f"{match['family']}[{_fill(inner, dep, task_name, task_param)}]"
    found = [j for j in members or () if names[j] == wanted]
    return found or None
