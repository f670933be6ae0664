"""Load a suite file and collect its marked functions (1.4.0's ``load_and_collect_functions``).

Discovery reads the file's top-level ``def``/``async def`` statements in source order and keeps
those whose module attribute carries ``@mark`` metadata. Unlike 1.4.0, the file's directory is
importable while it loads (sibling imports work) and the module is registered in
``sys.modules``, so dataclasses and pickling inside suites behave normally.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from ._marks import meta_of


class CollectionError(ValueError):
    """A suite could not be loaded or has no matching tasks; the message names the culprit."""


Collected = list[tuple[str, Any, dict[str, Any]]]


def load_module(path: str | Path) -> ModuleType:
    """Import a Python file by path, with its directory on ``sys.path``."""
    file = Path(path)
    if not file.is_file():
        raise CollectionError(f"Module file '{path}' not found")
    if file.suffix != ".py":
        raise CollectionError(f"'{path}' is not a Python file (expected a .py file)")
    resolved = file.resolve()
    folder = str(resolved.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = file.stem
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) != str(resolved):
        digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
        name = f"_thread_order_suite_{file.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:  # pragma: no cover - only for exotic paths
        raise CollectionError(f"cannot import '{path}'")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _top_level_functions(module: ModuleType) -> list[str]:
    source = Path(module.__file__ or "").read_text(encoding="utf-8")
    tree = ast.parse(source)
    return [
        node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


def _tags_match(meta: dict[str, Any], wanted: Sequence[str]) -> bool:
    return all(tag in meta.get("tags", ()) for tag in wanted)


def _parse_tags(tags_filter: str | Iterable[str] | None) -> list[str]:
    if tags_filter is None:
        return []
    items = tags_filter.split(",") if isinstance(tags_filter, str) else list(tags_filter)
    return [t.strip() for t in items if t.strip()]


def load_and_collect_functions(
    target: str, tags_filter: str | Iterable[str] | None = None
) -> tuple[ModuleType, Collected, bool]:
    """Load ``path.py`` or ``path.py::fn``; return ``(module, [(name, fn, meta)], single)``.

    A tag filter keeps functions that carry every requested tag (AND, as in 1.4.0).
    """
    path, _, only = target.partition("::")
    module = load_module(path)
    wanted = _parse_tags(tags_filter)
    collected: Collected = []
    for name in _top_level_functions(module):
        fn = getattr(module, name, None)
        meta = meta_of(fn)
        if meta is None or not _tags_match(meta, wanted):
            continue
        if only and name != only:
            continue
        collected.append((name, fn, meta))
    if only and not collected:
        raise CollectionError(
            f"function '{only}' not found or not marked with @mark in {path} "
            "or does not match the given tags filter"
        )
    if not collected:
        raise CollectionError(
            f"No @mark functions found in {path} or no functions match the given tags filter"
        )
    return module, collected, bool(only)


def register_functions(
    scheduler: Any,
    functions: Collected,
    tags_filter: str | Iterable[str] | None = None,
    single_function_mode: bool = False,
) -> None:
    """Register collected functions in order; prune dependencies outside a filtered set."""
    kept = {name for name, _, _ in functions}
    filtered = bool(_parse_tags(tags_filter))
    for name, fn, meta in functions:
        after = [] if single_function_mode else list(meta.get("after", []))
        if filtered:
            after = [a for a in after if a in kept]
        scheduler.register(
            fn,
            name,
            after=after,
            with_state=bool(meta.get("with_state")),
            tags=meta.get("tags"),
            params=meta.get("params"),
            **meta.get("options", {}),
        )
