"""Which tasks run: ``-k``/``-m`` expressions, ``--tags``, ``::task``, ``--lf`` and mocks.

Selecting a task pulls in its prerequisites (transitively) unless ``--only`` is given. A
prerequisite mocked with ``--result-<name>=value`` is not run (nor are its own prerequisites):
the mock stands in for its result. Decisions are returned as data so ``--plan`` can show them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from .discovery import TaskSpec
from .exitcodes import NothingCollected, UsageError

_TOKEN = re.compile(r"\s*(?:(\()|(\))|([^\s()]+))")
_KEYWORDS = ("and", "or", "not")

Predicate = Callable[[str], bool]


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda s: a(s) or b(s)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda s: a(s) and b(s)


class _Parser:
    """Recursive descent over ``or`` > ``and`` > ``not`` > atom, like pytest's -k/-m."""

    def __init__(self, option: str, text: str) -> None:
        self.option, self.text = option, text
        self.tokens: list[tuple[str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                break
            tok = m.group(1) or m.group(2) or m.group(3)
            if tok:
                self.tokens.append((tok, m.start(m.lastindex or 0) + 1))
            pos = m.end()
        self.i = 0

    def fail(self, what: str) -> UsageError:
        col = self.tokens[self.i][1] if self.i < len(self.tokens) else len(self.text) + 1
        return UsageError(f"{self.option} {self.text!r}: {what} at column {col}")

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def parse(self, atom: Callable[[str], Predicate]) -> Predicate:
        if not self.tokens:
            raise self.fail("empty expression")
        self.atom = atom
        pred = self.expr()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()!r}")
        return pred

    def expr(self) -> Predicate:
        left = self.conj()
        while self.peek() == "or":
            self.i += 1
            right = self.conj()
            left = _either(left, right)
        return left

    def conj(self) -> Predicate:
        left = self.neg()
        while self.peek() == "and":
            self.i += 1
            right = self.neg()
            left = _both(left, right)
        return left

    def neg(self) -> Predicate:
        if self.peek() == "not":
            self.i += 1
            inner = self.neg()
            return lambda s: not inner(s)
        return self.primary()

    def primary(self) -> Predicate:
        tok = self.peek()
        if tok is None:
            raise self.fail("expected a name")
        if tok == "(":
            self.i += 1
            inner = self.expr()
            if self.peek() != ")":
                raise self.fail("expected ')'")
            self.i += 1
            return inner
        if tok == ")" or tok in _KEYWORDS:
            raise self.fail(f"expected a name, got {tok!r}")
        self.i += 1
        return self.atom(tok)


def compile_expression(option: str, text: str, atom: Callable[[str], Predicate]) -> Predicate:
    return _Parser(option, text).parse(atom)


def keyword_filter(text: str) -> Callable[[TaskSpec], bool]:
    """``-k``: each name is a case-insensitive substring of the task name (or module)."""
    pred = compile_expression("-k", text, lambda word: lambda s: word.lower() in s)
    return lambda t: pred(f"{t.module}::{t.name}".lower())


def marker_filter(text: str) -> Callable[[TaskSpec], bool]:
    """``-m``: each name is a tag; the task matches when the expression holds for its tags."""
    holder: list[Collection[str]] = [()]
    pred = compile_expression("-m", text, lambda word: lambda _s: word in holder[0])

    def match(t: TaskSpec) -> bool:
        holder[0] = t.tags
        return pred("")

    return match


def tags_filter(text: str) -> Callable[[TaskSpec], bool]:
    """``--tags a,b``: the task carries every tag (1.4.0's AND)."""
    wanted = [w.strip() for w in text.split(",") if w.strip()]
    if not wanted:
        raise UsageError(f"--tags {text!r}: no tag given")
    return lambda t: all(w in t.tags for w in wanted)


@dataclass
class Selection:
    """The outcome: tasks to run (collection order) and why others are left out."""

    run: list[TaskSpec]
    mocked: list[str] = field(default_factory=list)  # prerequisites replaced by a mock
    not_run: dict[str, str] = field(default_factory=dict)  # prerequisite -> reason
    pulled_in: list[str] = field(default_factory=list)  # prerequisites added to the selection

    known: frozenset[str] = frozenset()  # every collected task
    _running: frozenset[str] | None = field(default=None, repr=False, compare=False)

    def after_of(self, task: TaskSpec) -> list[str]:
        """The dependencies to register: those that run, and unknown names (so the engine
        reports them)."""
        keep = self._running
        if keep is None or len(keep) != len(self.run):
            keep = self._running = frozenset(t.name for t in self.run)
        return [a for a in task.after if a in keep or a not in self.known]


def select(
    tasks: Sequence[TaskSpec],
    *,
    keyword: str | None = None,
    marker: str | None = None,
    tags: str | None = None,
    explicit: Sequence[str] = (),
    last_failed: Iterable[str] | None = None,
    mocks: Collection[str] = (),
    only: bool = False,
) -> Selection:
    """Apply the filters, then pull in prerequisites (unless ``only``), stopping at mocks."""
    filters: list[tuple[str, Callable[[TaskSpec], bool]]] = []
    if keyword is not None:
        filters.append((f"-k {keyword!r}", keyword_filter(keyword)))
    if marker is not None:
        filters.append((f"-m {marker!r}", marker_filter(marker)))
    if tags is not None:
        filters.append((f"--tags {tags!r}", tags_filter(tags)))
    chosen = list(tasks)
    if explicit:
        named = set(explicit)
        chosen = [t for t in chosen if t.name in named]
    if last_failed is not None:
        again = set(last_failed)
        chosen = [t for t in chosen if t.name in again]
    for label, keep in filters:
        chosen = [t for t in chosen if keep(t)]
        if not chosen:
            raise NothingCollected(f"no task matches {label}")
    by_name = {t.name: t for t in tasks}
    selected = {t.name for t in chosen}
    filtered = bool(filters or explicit or last_failed is not None)
    result = Selection(run=[], known=frozenset(by_name))
    wanted = set(selected)
    stack = [t.name for t in chosen]
    while stack:
        task = by_name[stack.pop()]
        for dep in task.after:
            if dep in wanted or dep not in by_name:
                continue
            if dep in mocks:
                if dep not in result.mocked:
                    result.mocked.append(dep)
                continue
            if only:
                result.not_run[dep] = f"prerequisite of {task.name} not selected (--only)"
                continue
            wanted.add(dep)
            stack.append(dep)
    result.run = [t for t in tasks if t.name in wanted]
    if filtered:
        result.pulled_in = [t.name for t in result.run if t.name not in selected]
    return result
