"""How a task is called: state, parameters, upstream results, a run-time condition, retries.

Everything that can be decided from the task alone (which parameters take which upstream
results, how the condition is called, whether the names clash) is decided once, in
``build_call``, before the run, so a bad task fails before anything runs and a call does no
introspection. A task that uses none of these features gets its plain function back: the
common path costs nothing.
"""

from __future__ import annotations

import functools
import inspect
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from types import FunctionType
from typing import TYPE_CHECKING, Any, TypeVar

from . import _readyset as rs
from ._options import DEFAULT_OPTIONS, TaskOptionError
from ._params import family_of

if TYPE_CHECKING:
    from ._compiler import Task
    from ._records import TaskError

_NAMES = "PENDING QUEUED RUNNING PASSED FAILED SKIPPED CANCELLED TIMED_OUT"
_STATUS: dict[int, str] = {getattr(rs, name): name for name in _NAMES.split()}
#: Never retried, whatever ``retry_on`` says: they are decisions (an interrupt, a timeout's
#: cancellation), not failures.
_NEVER_RETRIED: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, GeneratorExit)


def _never_retried() -> tuple[type[BaseException], ...]:
    """Plus asyncio's cancellation, if asyncio is loaded at all (it is not imported here: it
    costs ~30 ms of start-up, and a program without it cannot raise it)."""
    asyncio = sys.modules.get("asyncio")
    return (*_NEVER_RETRIED, asyncio.CancelledError) if asyncio is not None else _NEVER_RETRIED


_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_MISSING = object()
_CO_COROUTINE = inspect.CO_COROUTINE
#: ``function_facts`` of a plain function without parameters.
_NO_PARAMETERS: tuple[frozenset[str], bool] = (frozenset(), False)


class TaskSkipped(Exception):
    """Raised by a call to say the task is skipped, not failed; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UpstreamResultError(Exception):
    """A task asked for the result of a dependency that did not pass: an error, never None."""

    def __init__(self, task: str, dependency: str, status: str) -> None:
        super().__init__(
            f"task {task!r} takes the result of {dependency!r}, which did not pass ({status})"
        )
        self.task = task
        self.dependency = dependency
        self.status = status


class ConditionError(Exception):
    """The ``run_if`` predicate of a task raised (chained as ``__cause__``): the task fails."""


@dataclass
class RunContext:
    """What the calls of one run share with the dispatcher, indexed by task id."""

    state: dict[str, Any]
    values: list[Any]
    status: Callable[[int], int]
    names: Sequence[str]
    #: per task id, the failed attempts that were retried (``_records.Attempts`` in a run)
    attempts: MutableMapping[int, list[TaskError]] | list[list[TaskError]]
    sleep: Callable[[float], None] = time.sleep
    #: The retry pause of ``async def`` tasks, which must not block the event loop.
    async_sleep: Callable[[float], Awaitable[Any]] | None = None  # None: asyncio.sleep


#: (parameter name, dependency ids, True when the parameter takes one result, not a dict)
Inputs = list[tuple[str, tuple[int, ...], bool]]


def is_plain(
    task: Task,
    deps: Sequence[int],
    names: Sequence[str],
    seen: dict[Any, frozenset[str] | None] | None = None,
) -> bool:
    """True when calling the task is just calling its function: no param, condition or retry,
    and (read off the code object, far cheaper than ``inspect.signature``) no parameter that
    could receive a dependency's result. Most tasks of big suites are like this.

    ``seen`` caches each function's parameter names (suites often register one function many
    times)."""
    if wraps_call(task):
        return False
    return takes_no_results(cached(seen, task.fn, parameter_names), deps, names)


def wraps_call(task: Task) -> bool:
    """The task's call goes through ``build_call`` whatever its function: it has parameter
    values, or options (a condition, retries) that wrap the call."""
    return bool(task.param) or (task.options is not DEFAULT_OPTIONS and task.options.wraps_call)


def takes_no_results(
    taken: frozenset[str] | None, deps: Sequence[int], names: Sequence[str]
) -> bool:
    """Whether a function with parameter names ``taken`` (``parameter_names``) can be called
    without passing it any dependency's result."""
    if not taken:
        return taken is not None or not deps
    return not any(names[d] in taken or family_of(names[d]) in taken for d in deps)


_T = TypeVar("_T")


def cached(cache: dict[Any, _T] | None, fn: Any, compute: Callable[[Any], _T]) -> _T:
    """``compute(fn)``, remembered in ``cache`` per function (unhashable callables are not
    remembered)."""
    if cache is None:
        return compute(fn)
    try:
        value = cache.get(fn, _MISSING)  # not ``cache[fn]``: a KeyError costs ~2.5 us
    except TypeError:  # an unhashable callable object
        return compute(fn)
    if value is _MISSING:
        value = cache[fn] = compute(fn)
    return value  # type: ignore[return-value]


def function_facts(fn: Any) -> tuple[frozenset[str] | None, bool]:
    """What planning a run needs to know about a function: its parameter names
    (``parameter_names``) and whether it is a coroutine function.

    A plain function, neither wrapped nor marked as a coroutine function, is read straight off
    its code object, as the ``inspect`` calls would read it: ~0.3 us where they take ~2-3, which
    a suite of distinct functions paid per task at every start."""
    if (
        type(fn) is FunctionType
        and getattr(fn, "__wrapped__", _MISSING) is _MISSING
        and getattr(fn, "_is_coroutine_marker", _MISSING) is _MISSING
    ):
        code = fn.__code__
        if not (code.co_argcount or code.co_kwonlyargcount or code.co_flags & _CO_COROUTINE):
            return _NO_PARAMETERS  # shared: a suite of 1e5 such functions allocates nothing
        taken = frozenset(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
        return taken, bool(code.co_flags & _CO_COROUTINE)
    return parameter_names(fn), inspect.iscoroutinefunction(fn)


def all_take_nothing(fns: Sequence[Any], cache: dict[Any, Any]) -> bool:
    """Whether every function in ``fns`` can be called as it is: no parameters, not a
    coroutine function. Each distinct function is read once (through ``cache``), not once per
    task: False at once if one of them is an unhashable callable object."""
    try:
        distinct = dict.fromkeys(fns)
    except TypeError:
        return False
    return all(cached(cache, fn, function_facts) == _NO_PARAMETERS for fn in distinct)


def parameter_names(fn: Any) -> frozenset[str] | None:
    """The names a call could bind by keyword; None when there is no code object to read."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:
        return None
    return frozenset(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have none: no data passing for them
        return None


def _inputs(
    params: Sequence[inspect.Parameter], deps: Sequence[int], names: Sequence[str]
) -> Inputs:
    """Which parameters are named after a dependency (or a dependency's family)."""
    exact = {names[d]: d for d in deps}
    inputs: Inputs = []
    for p in params:
        if p.kind not in _KEYWORD:
            continue
        if p.name in exact:
            inputs.append((p.name, (exact[p.name],), True))
            continue
        members = tuple(d for d in deps if family_of(names[d]) == p.name)
        if members:
            inputs.append((p.name, members, len(members) == 1))
    return inputs


def _gather(task: str, inputs: Inputs, run: RunContext) -> dict[str, Any]:
    """The upstream results for ``inputs``, checked: a dependency that did not pass is an
    error."""
    kwargs: dict[str, Any] = {}
    for name, ids, single in inputs:
        for d in ids:
            code = run.status(d)
            if code != rs.PASSED:
                raise UpstreamResultError(task, run.names[d], _STATUS.get(code, str(code)))
        if single:
            kwargs[name] = run.values[ids[0]]
        else:
            kwargs[name] = {run.names[d]: run.values[d] for d in ids}
    return kwargs


def _condition(task: Task, deps: Sequence[int], run: RunContext) -> Callable[[], None] | None:
    """A check that raises ``TaskSkipped`` when the task's predicate is false."""
    predicate = task.options.condition
    if predicate is None:
        return None
    name = task.name
    if inspect.iscoroutinefunction(predicate):
        raise TaskOptionError(
            f"task {name!r}: run_if must be a plain function, not async: it decides on the "
            "worker, before the task starts"
        )
    sig = _signature(predicate)
    inputs = _inputs(list(sig.parameters.values()), deps, run.names) if sig else []
    by_state = not inputs
    if sig is not None:
        if inputs:
            given = {n for n, _, _ in inputs}
            for p in sig.parameters.values():
                if p.name not in given and p.default is p.empty and p.kind in _KEYWORD:
                    raise TaskOptionError(
                        f"task {name!r}: run_if parameter {p.name!r} is not a dependency of "
                        f"the task (dependencies: {[run.names[d] for d in deps]})"
                    )
        else:
            try:
                sig.bind(run.state)
            except TypeError:
                by_state = False
                try:
                    sig.bind()
                except TypeError:
                    raise TaskOptionError(
                        f"task {name!r}: run_if must take the state, nothing, or parameters "
                        "named after the task's dependencies"
                    ) from None

    def check() -> None:
        kwargs = _gather(name, inputs, run)
        try:
            passed = bool(predicate(run.state) if by_state else predicate(**kwargs))
        except Exception as exc:
            raise ConditionError(
                f"the run_if predicate of {name!r} raised {type(exc).__name__}: {exc}"
            ) from exc
        if not passed:
            raise TaskSkipped(f"run_if condition of {name} is false")

    return check


def _retryable(exc: BaseException, retry_on: tuple[type[BaseException], ...]) -> bool:
    never = (TaskSkipped, UpstreamResultError, *_never_retried())
    return isinstance(exc, retry_on) and not isinstance(exc, never)


def build_call(task: Task, i: int, deps: Sequence[int], run: RunContext) -> Callable[[], Any]:
    """The zero-argument callable the dispatcher runs for task ``i``.

    Raises ``TaskOptionError`` (naming the task) for what can be known before the run: a
    parameter that is both a dependency and a param key, a param the function does not take,
    a predicate whose parameters fit nothing.
    """
    fn = task.fn
    args: tuple[Any, ...] = (run.state,) if task.with_state else ()
    if is_plain(task, deps, run.names):
        return functools.partial(fn, *args) if args else fn
    param: Mapping[str, Any] = dict(task.param or {})
    deps = list(dict.fromkeys(deps))
    sig = _signature(fn)
    inputs: Inputs = []
    if sig is not None:
        params = list(sig.parameters.values())
        if args and params and params[0].kind in _POSITIONAL:
            params = params[1:]  # the state's parameter, whatever its name
        inputs = _inputs(params, deps, run.names)
        _check_params(task, params, param, {n for n, _, _ in inputs})
    condition = _condition(task, deps, run)
    options = task.options
    if not inputs and condition is None and options.retries == 0:
        return functools.partial(fn, *args, **param) if args or param else fn

    name, retries, retry_on = task.name, options.retries, options.retry_on
    delay, backoff = options.retry_delay, options.backoff
    failed = run.attempts[i] if retries else []

    def record(exc: BaseException, attempt: int) -> float:
        from ._outcomes import task_error  # lazily: the dispatcher side imports this module

        failed.append(task_error(exc))
        return delay * backoff ** (attempt - 1)

    if inspect.iscoroutinefunction(fn):

        async def acall() -> Any:
            if condition is not None:
                condition()
            kwargs = {**param, **_gather(name, inputs, run)}
            attempt = 1
            while True:
                try:
                    return await fn(*args, **kwargs)
                except BaseException as exc:
                    if attempt > retries or not _retryable(exc, retry_on):
                        raise
                    pause = record(exc, attempt)
                    if run.async_sleep is not None:
                        await run.async_sleep(pause)
                    else:
                        import asyncio

                        await asyncio.sleep(pause)
                attempt += 1

        return acall

    def call() -> Any:
        if condition is not None:
            condition()
        kwargs = {**param, **_gather(name, inputs, run)}
        attempt = 1
        while True:
            try:
                return fn(*args, **kwargs)
            except BaseException as exc:
                if attempt > retries or not _retryable(exc, retry_on):
                    raise
                run.sleep(record(exc, attempt))
            attempt += 1

    return call


def _check_params(
    task: Task, params: Sequence[inspect.Parameter], param: Mapping[str, Any], inputs: set[str]
) -> None:
    """A param key must be a parameter of the function, and must not also be a dependency."""
    for key in param:
        if key in inputs:
            raise TaskOptionError(
                f"task {task.name!r}: parameter {key!r} is both a params key and the name of a "
                "dependency whose result it would receive; rename one"
            )
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params):
        return
    takes = {p.name for p in params if p.kind in _KEYWORD}
    for key in param:
        if key not in takes:
            raise TaskOptionError(
                f"task {task.name!r}: the function has no parameter {key!r} to receive its "
                "params value"
            )
