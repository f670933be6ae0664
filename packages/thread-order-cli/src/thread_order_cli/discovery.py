"""Find suite files, load them and collect their ``@mark`` tasks under unique names.

Targets are files (``suite.py``, ``suite.py::task``) and directories (searched recursively for
``test_*.py`` and ``*_test.py`` by default). A task keeps its function name when that name is
unique across the collected modules, else it becomes ``module::name``. ``after=`` entries resolve
to the same module first, then to a unique name anywhere, and ``module::name`` always works.
"""

from __future__ import annotations

import fnmatch
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .exitcodes import CollectError, NothingCollected, UsageError

DEFAULT_PATTERNS = ("test_*.py", "*_test.py")


@dataclass
class TaskSpec:
    """One collected task: its unique name, where it came from and what it needs."""

    name: str
    fn: Callable[..., Any]
    module: str
    path: str
    function: str
    after: list[str]
    tags: tuple[str, ...]
    with_state: bool
    params: Any = None  # @mark(params=...): the engine makes one task per value
    options: dict[str, Any] = field(default_factory=dict)  # timeout, retries, run_if, locks...


@dataclass
class Suite:
    """Everything collected from the targets, in collection order."""

    tasks: list[TaskSpec] = field(default_factory=list)
    modules: list[ModuleType] = field(default_factory=list)
    explicit: list[str] = field(default_factory=list)  # tasks named with file.py::task

    def by_name(self) -> dict[str, TaskSpec]:
        return {t.name: t for t in self.tasks}


def find_files(targets: Sequence[str], patterns: Sequence[str]) -> list[tuple[str, str, bool]]:
    """``(path, ::task or '', named explicitly)`` for each target; directories are expanded."""
    out: list[tuple[str, str, bool]] = []
    seen: set[Path] = set()
    for target in targets:
        path, _, only = target.partition("::")
        p = Path(path)
        if p.is_dir():
            if only:
                raise UsageError(f"{target}: '::' needs a file, not a directory")
            found = sorted(
                f
                for f in p.rglob("*.py")
                if any(fnmatch.fnmatch(f.name, pat) for pat in patterns)
                and not any(part.startswith(".") or part == "__pycache__" for part in f.parts)
            )
            for f in found:
                if f.resolve() not in seen:
                    seen.add(f.resolve())
                    out.append((str(f), "", False))
            continue
        if not p.exists():
            raise UsageError(f"file or directory not found: {path}")
        if p.suffix != ".py":
            raise UsageError(f"{path} is not a Python file (expected a .py file or a directory)")
        seen.add(p.resolve())
        out.append((path, only, True))
    return out


def _load(path: str, verbose: bool) -> tuple[ModuleType, list[tuple[str, Any, dict[str, Any]]]]:
    from thread_order import CollectionError, load_and_collect_functions

    try:
        module, collected, _ = load_and_collect_functions(path)
    except CollectionError:
        raise
    except SyntaxError as exc:
        where = f"{exc.filename or path}:{exc.lineno}"
        raise CollectError(f"{where}: SyntaxError: {exc.msg}") from None
    except Exception as exc:
        raise CollectError(
            f"{path}: error while importing: {type(exc).__name__}: {exc}",
            detail=_suite_traceback(exc, path, verbose),
        ) from None
    return module, collected


def _suite_traceback(exc: BaseException, path: str, verbose: bool) -> str:
    """The traceback of an import error, from the suite's first frame on (all with verbose)."""
    frames = list(traceback.extract_tb(exc.__traceback__))
    if not verbose:
        start = next(
            (k for k, f in enumerate(frames) if Path(f.filename).resolve() == Path(path).resolve()),
            0,
        )
        frames = frames[start:]
    lines = traceback.format_list(frames)
    return "Traceback (most recent call last):\n" + "".join(lines).rstrip()


def collect(
    targets: Sequence[str], patterns: Sequence[str] = DEFAULT_PATTERNS, *, verbose: bool = False
) -> Suite:
    """Load every target and return the collected tasks; errors name the culprit."""
    from thread_order import CollectionError

    files = find_files(targets, patterns)
    if not files:
        raise NothingCollected(
            f"no suite files matching {' or '.join(patterns)} in {', '.join(targets)}"
        )
    raw: list[tuple[str, str, str, Any, dict[str, Any]]] = []  # module, path, fn name, fn, meta
    suite = Suite()
    wanted: list[tuple[str, str]] = []
    for path, only, explicit in files:
        try:
            module, collected = _load(path, verbose)
        except CollectionError as exc:
            if explicit:
                raise NothingCollected(str(exc)) from None
            continue  # a discovered file without tasks is not an error
        suite.modules.append(module)
        stem = Path(path).stem
        names = [c[0] for c in collected]
        if only:
            if only not in names:
                raise UsageError(
                    f"{path}::{only}: no @mark task named {only!r} in {path}" + _close(only, names)
                )
            wanted.append((stem, only))
        raw += [(stem, path, name, fn, meta) for name, fn, meta in collected]
    if not raw:
        raise NothingCollected(f"no @mark tasks found in {', '.join(targets)}")
    counts: dict[str, int] = {}
    for _, _, name, _, _ in raw:
        counts[name] = counts.get(name, 0) + 1
    qualified = {
        (stem, name): f"{stem}::{name}" if counts[name] > 1 else name for stem, _, name, _, _ in raw
    }
    owners: dict[str, list[str]] = {}  # function name -> its qualified names
    for (_, fname), q in qualified.items():
        owners.setdefault(fname, []).append(q)
    for stem, path, name, fn, meta in raw:
        after = [
            _resolve(dep, stem, name, qualified, counts, owners) for dep in meta.get("after", [])
        ]
        suite.tasks.append(
            TaskSpec(
                name=qualified[(stem, name)],
                fn=fn,
                module=stem,
                path=path,
                function=name,
                after=after,
                tags=tuple(meta.get("tags", ())),
                with_state=bool(meta.get("with_state")),
                params=meta.get("params"),
                options=dict(meta.get("options") or {}),
            )
        )
    suite.explicit = [qualified[w] for w in wanted]
    return suite


def _close(name: str, names: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _resolve(
    dep: str,
    stem: str,
    task: str,
    qualified: dict[tuple[str, str], str],
    counts: dict[str, int],
    owners: dict[str, list[str]],
) -> str:
    """The unique name of dependency ``dep`` of ``stem::task``; unknown names pass through."""
    mod, sep, name = dep.rpartition("::")
    if sep:
        return qualified.get((mod, name), dep)
    if (stem, dep) in qualified:
        return qualified[(stem, dep)]
    matches = owners.get(dep, [])
    if len(matches) > 1:
        raise CollectError(
            f"{stem}::{task}: after={dep!r} is ambiguous, write one of {', '.join(sorted(matches))}"
        )
    return matches[0] if matches else dep
