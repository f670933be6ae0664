"""How a task is called: ``build_call`` with a hand-made ``RunContext``, no scheduler."""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from thread_order import _calls
from thread_order._calls import (
    ConditionError,
    RunContext,
    TaskSkipped,
    UpstreamResultError,
    build_call,
)
from thread_order._compiler import Task
from thread_order._options import TaskOptionError, TaskOptions
from thread_order._params import expand
from thread_order._readyset import FAILED, PASSED, SKIPPED, TIMED_OUT


class Run:
    """A run's shared context over a fixed set of upstream tasks, with statuses to set."""

    def __init__(self, upstream: dict[str, Any]) -> None:
        self.codes = dict.fromkeys(range(len(upstream)), PASSED)
        self.sleeps: list[float] = []
        names = [*upstream, "me"]
        self.ctx = RunContext(
            state={"seen": []},
            values=[*upstream.values(), None],
            status=self.codes.__getitem__,
            names=names,
            attempts=[[] for _ in names],
            sleep=self.sleeps.append,
        )
        self.me = len(upstream)

    def ids(self, *names: str) -> list[int]:
        return [self.ctx.names.index(n) for n in names]

    def build(
        self,
        fn: Callable[..., Any],
        deps: Sequence[str] = (),
        *,
        with_state: bool = False,
        param: dict[str, Any] | None = None,
        **options: Any,
    ) -> Callable[[], Any]:
        task = Task(
            "me",
            fn,
            tuple(deps),
            with_state,
            options=TaskOptions.build("me", **options),
            param=param,
        )
        return build_call(task, self.me, self.ids(*deps), self.ctx)


def test_run_context_sleeps_for_real_by_default() -> None:
    ctx = RunContext({}, [], lambda i: PASSED, [], [])
    assert ctx.sleep is time.sleep
    assert ctx.async_sleep is None  # asyncio.sleep, imported only when a coroutine retries


# -- the plain path ----------------------------------------------------------------------------


def test_a_task_using_no_feature_is_its_own_function() -> None:
    def fn() -> int:
        return 1

    assert Run({}).build(fn) is fn


def test_the_state_is_bound_with_a_partial() -> None:
    run = Run({})
    call = run.build(lambda state: state, with_state=True)
    assert isinstance(call, functools.partial)
    assert call() is run.ctx.state


def test_params_are_bound_with_a_partial_after_the_state() -> None:
    run = Run({})
    [(_, kwargs)] = expand("me", {"region": ["eu"]})
    call = run.build(lambda state, region: (state, region), with_state=True, param=kwargs)
    assert isinstance(call, functools.partial)
    assert call() == (run.ctx.state, "eu")


def test_a_list_param_arrives_as_param() -> None:
    [(_, kwargs)] = expand("me", ["eu"])
    assert Run({}).build(lambda param: param, param=kwargs)() == "eu"


def test_a_function_without_a_signature_is_called_plainly() -> None:
    with pytest.raises(ValueError):
        inspect.signature(max)
    assert Run({"a": 1}).build(max, ["a"]) is max


def test_an_async_task_keeps_the_plain_path() -> None:
    async def fn(state: Any) -> Any:
        return state

    run = Run({})
    call = run.build(fn, with_state=True)
    assert asyncio.run(call()) is run.ctx.state


# -- what planning reads off a function ---------------------------------------------------------


def _decorated(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def _marked() -> Callable[[], Any]:
    """A plain function marked as a coroutine function (``inspect.markcoroutinefunction``,
    Python 3.12+); before 3.12, one carrying the marker attribute, which ``inspect`` ignores."""

    def fn() -> None:
        return None

    mark = getattr(inspect, "markcoroutinefunction", None)
    if mark is not None:
        return mark(fn)  # type: ignore[no-any-return]
    fn._is_coroutine_marker = object()  # type: ignore[attr-defined]
    return fn


class _Callable:
    def __call__(self, upstream: int) -> int:
        return upstream

    def method(self, upstream: int, *, region: str = "eu") -> int:
        return upstream


def _no_parameters() -> None:
    return None


def _parameters(state: Any, upstream: int, *rest: Any, region: str = "eu", **more: Any) -> None:
    return None


async def _coroutine() -> None:
    return None


async def _coroutine_with(upstream: int) -> None:
    return None


def _generator() -> Any:
    yield 1


@pytest.mark.parametrize(
    "fn",
    [
        _no_parameters,
        _parameters,
        lambda: None,
        lambda upstream: upstream,
        _coroutine,
        _coroutine_with,
        _generator,
        _decorated(_parameters),
        _decorated(_no_parameters),
        _decorated(_coroutine_with),
        _marked(),
        functools.partial(_parameters, {}),
        functools.partial(_coroutine_with, 1),
        _Callable(),
        _Callable().method,
        max,
        print,
    ],
    ids=lambda fn: getattr(fn, "__qualname__", type(fn).__name__),
)
def test_function_facts_read_as_inspect_reads_them(fn: Callable[..., Any]) -> None:
    """Plain functions are read straight off their code object (most suites' tasks are
    distinct functions, each read at every start); any callable reads as ``inspect`` says."""
    assert _calls.function_facts(fn) == (
        _calls.parameter_names(fn),
        inspect.iscoroutinefunction(fn),
    )


def test_function_facts_of_functions_without_parameters_allocate_nothing() -> None:
    def a() -> None:
        return None

    def b() -> None:
        return None

    assert _calls.function_facts(a) is _calls.function_facts(b)


class _Unhashable:
    """A callable object without parameters that cannot be a dict key."""

    __hash__ = None  # type: ignore[assignment]

    def __call__(self) -> None:
        return None


def test_all_take_nothing_reads_each_distinct_function_once() -> None:
    def other() -> None:
        return None

    cache: dict[Any, Any] = {}
    assert _calls.all_take_nothing([_no_parameters] * 1000 + [other, lambda: None], cache)
    assert len(cache) == 3


@pytest.mark.parametrize(
    "odd",
    [lambda upstream: upstream, _coroutine, _decorated(_parameters), _Unhashable(), max],
    ids=["a parameter", "a coroutine function", "wrapped", "unhashable", "a builtin"],
)
def test_all_take_nothing_is_false_with_one_function_that_is_not_a_plain_call(
    odd: Callable[..., Any],
) -> None:
    assert not _calls.all_take_nothing([_no_parameters, odd, _no_parameters], {})


# -- data passing ------------------------------------------------------------------------------


def test_a_parameter_named_after_a_dependency_receives_its_result() -> None:
    run = Run({"create_vpc": "vpc-1", "other": "x"})
    call = run.build(lambda create_vpc: f"attached to {create_vpc}", ["create_vpc", "other"])
    assert call() == "attached to vpc-1"


def test_results_come_after_the_state_and_params() -> None:
    run = Run({"create": "vpc-1"})
    call = run.build(
        lambda state, create, *, region: (state["seen"], create, region),
        ["create"],
        with_state=True,
        param={"region": "eu"},
    )
    assert call() == ([], "vpc-1", "eu")


def test_the_state_parameter_is_never_taken_for_a_dependency() -> None:
    run = Run({"state": "result of a task named state"})
    assert run.build(lambda state: state, ["state"], with_state=True)() is run.ctx.state


def test_a_family_parameter_takes_the_only_instance_among_the_dependencies() -> None:
    run = Run({"create[eu]": "vpc-eu", "create[us]": "vpc-us"})
    assert run.build(lambda create: create, ["create[eu]"])() == "vpc-eu"


def test_a_family_parameter_takes_a_dict_when_several_instances_are_dependencies() -> None:
    run = Run({"create[eu]": "vpc-eu", "create[us]": "vpc-us"})
    call = run.build(lambda create: create, ["create[eu]", "create[us]", "create[eu]"])
    assert call() == {"create[eu]": "vpc-eu", "create[us]": "vpc-us"}


def test_an_exact_name_wins_over_a_family() -> None:
    run = Run({"create": "plain", "create[eu]": "vpc-eu"})
    assert run.build(lambda create: create, ["create", "create[eu]"])() == "plain"


def test_positional_only_and_var_keyword_parameters_take_nothing() -> None:
    def fn(create: Any = "default", /, **rest: Any) -> Any:
        return create, rest

    assert Run({"create": 1}).build(fn, ["create"])() == ("default", {})


@pytest.mark.parametrize(("code", "word"), [(FAILED, "FAILED"), (SKIPPED, "SKIPPED"), (99, "99")])
def test_a_result_that_does_not_exist_is_an_error_never_none(code: int, word: str) -> None:
    run = Run({"create": None})
    run.codes[0] = code
    called = []
    call = run.build(lambda create: called.append(create), ["create"])
    with pytest.raises(UpstreamResultError) as info:
        call()
    assert called == []
    err = info.value
    assert (err.task, err.dependency, err.status) == ("me", "create", word)
    assert str(err) == f"task 'me' takes the result of 'create', which did not pass ({word})"


def test_one_failed_instance_fails_the_dict() -> None:
    run = Run({"create[eu]": 1, "create[us]": 2})
    run.codes[1] = TIMED_OUT
    with pytest.raises(UpstreamResultError, match=r"'create\[us\]'.*TIMED_OUT"):
        run.build(lambda create: create, ["create[eu]", "create[us]"])()


def test_a_param_key_that_is_also_a_dependency_is_refused_at_build() -> None:
    with pytest.raises(TaskOptionError, match="task 'me': parameter 'create' is both"):
        Run({"create": 1}).build(lambda create: create, ["create"], param={"create": 2})


def test_a_param_the_function_cannot_take_is_refused_at_build() -> None:
    with pytest.raises(TaskOptionError, match="task 'me': the function has no parameter 'region'"):
        Run({}).build(lambda param: param, param={"region": "eu"})
    assert Run({}).build(lambda **kw: kw, param={"region": "eu"})() == {"region": "eu"}


def test_the_signature_is_read_once_at_build(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[object] = []
    real = _calls._signature
    monkeypatch.setattr(_calls, "_signature", lambda fn: reads.append(fn) or real(fn))
    call = Run({"create": 1}).build(lambda create: create, ["create"], run_if=lambda create: True)
    built = len(reads)
    assert [call() for _ in range(3)] == [1, 1, 1]
    assert len(reads) == built == 2  # the task's function and its predicate


# -- conditions --------------------------------------------------------------------------------


def test_a_true_condition_lets_the_task_run_and_receives_the_state() -> None:
    run = Run({})
    run.ctx.state["go"] = True
    assert run.build(lambda: "ran", run_if=lambda state: state["go"])() == "ran"


def test_a_false_condition_skips_with_the_reason_and_never_calls_the_task() -> None:
    run = Run({})
    called = []
    call = run.build(lambda: called.append(1), run_if=lambda state: state.get("go"), retries=3)
    with pytest.raises(TaskSkipped) as info:
        call()
    assert info.value.reason == "run_if condition of me is false"
    assert str(info.value) == info.value.reason
    assert called == []
    assert run.ctx.attempts[run.me] == []


@pytest.mark.parametrize(
    "predicate",
    [lambda: 1, lambda *args: len(args) == 1, lambda state, extra=None: "yes"],
    ids=["no-args", "var-positional", "state-and-default"],
)
def test_predicates_of_each_shape(predicate: Callable[..., Any]) -> None:
    assert Run({}).build(lambda: "ran", run_if=predicate)() == "ran"


def test_a_predicate_named_after_dependencies_receives_their_results() -> None:
    run = Run({"create[eu]": {"ok": True}, "create[us]": {"ok": False}, "probe": 3})
    seen = []

    def predicate(create: dict[str, Any], probe: int, limit: int = 2) -> bool:
        seen.append((create, probe))
        return probe > limit

    deps = ["create[eu]", "create[us]", "probe"]
    assert run.build(lambda: "ran", deps, run_if=predicate)() == "ran"
    assert seen == [({"create[eu]": {"ok": True}, "create[us]": {"ok": False}}, 3)]
    with pytest.raises(TaskSkipped):
        run.build(lambda: "ran", ["probe"], run_if=lambda probe: probe > 5)()


def test_a_predicate_parameter_that_is_no_dependency_is_refused_at_build() -> None:
    with pytest.raises(TaskOptionError, match="run_if parameter 'region' is not a dependency"):
        Run({"create": 1}).build(lambda: 0, ["create"], run_if=lambda create, region: True)


def test_a_predicate_that_fits_no_shape_is_refused_at_build() -> None:
    def predicate(*, region: str) -> bool:
        return True

    with pytest.raises(TaskOptionError, match="task 'me': run_if must take the state, nothing"):
        Run({}).build(lambda: 0, run_if=predicate)


def test_an_async_predicate_is_refused_at_build() -> None:
    async def predicate(state: Any) -> bool:
        return True

    with pytest.raises(TaskOptionError, match="task 'me': run_if must be a plain function"):
        Run({}).build(lambda: 0, run_if=predicate)


def test_a_predicate_that_raises_fails_the_task_with_the_cause_chained() -> None:
    boom = KeyError("region")
    called = []

    def predicate(state: Any) -> bool:
        raise boom

    call = Run({}).build(lambda: called.append(1), run_if=predicate, retries=2)
    with pytest.raises(ConditionError) as info:
        call()
    assert str(info.value) == "the run_if predicate of 'me' raised KeyError: 'region'"
    assert info.value.__cause__ is boom
    assert called == []


def test_a_predicate_without_a_signature_receives_the_state() -> None:
    run = Run({})
    run.ctx.state.clear()
    with pytest.raises(TaskSkipped):
        run.build(lambda: 0, run_if=bool)()  # bool(state) of an empty dict


# -- retries -----------------------------------------------------------------------------------


def flaky(failures: int, exc: type[BaseException] = ConnectionError) -> Callable[[], str]:
    count = [0]

    def fn() -> str:
        count[0] += 1
        if count[0] <= failures:
            raise exc(f"attempt {count[0]}")
        return f"passed on attempt {count[0]}"

    return fn


def test_a_flaky_task_passes_on_a_later_attempt_and_every_failure_is_recorded() -> None:
    run = Run({})
    call = run.build(flaky(2), retries=3, retry_delay=0.5, backoff=2)
    assert call() == "passed on attempt 3"
    errors = run.ctx.attempts[run.me]
    assert [(e.type, e.message) for e in errors] == [
        ("ConnectionError", "attempt 1"),
        ("ConnectionError", "attempt 2"),
    ]
    assert "ConnectionError: attempt 1" in errors[0].traceback
    assert run.sleeps == [0.5, 1.0]


def test_delays_grow_by_the_backoff_and_the_last_failure_propagates_unchanged() -> None:
    run = Run({})
    last = []

    def fn() -> None:
        last.append(ConnectionError(len(last)))
        raise last[-1]

    with pytest.raises(ConnectionError) as info:
        run.build(fn, retries=3, retry_delay=0.5, backoff=2)()
    assert info.value is last[-1]
    assert info.value.__context__ is None  # not chained to the earlier attempts
    assert len(last) == 4
    assert len(run.ctx.attempts[run.me]) == 3
    assert run.sleeps == [0.5, 1.0, 2.0]


def test_zero_delay_still_goes_through_sleep() -> None:
    run = Run({})
    assert run.build(flaky(1), retries=1)() == "passed on attempt 2"
    assert run.sleeps == [0.0]


def test_only_retry_on_exceptions_are_retried() -> None:
    run = Run({})
    with pytest.raises(ValueError, match="attempt 1"):
        run.build(flaky(1, ValueError), retries=2, retry_on=ConnectionError)()
    assert run.ctx.attempts[run.me] == []
    assert run.build(flaky(1, ConnectionError), retries=2, retry_on=OSError)() == (
        "passed on attempt 2"
    )


@pytest.mark.parametrize(
    "exc",
    [
        lambda: TaskSkipped("skip"),
        lambda: UpstreamResultError("a", "b", "FAILED"),
        KeyboardInterrupt,
        SystemExit,
        asyncio.CancelledError,
    ],
)
def test_decisions_are_never_retried(exc: Callable[[], BaseException]) -> None:
    run = Run({})
    count = []

    def fn() -> None:
        count.append(1)
        raise exc()

    with pytest.raises(BaseException):  # noqa: B017 - which one is the parameter
        run.build(fn, retries=3, retry_on=BaseException)()
    assert count == [1]
    assert run.ctx.attempts[run.me] == []


def test_a_condition_is_checked_once_and_results_gathered_once_across_attempts() -> None:
    run = Run({"create": "vpc"})
    checks = []
    fn = flaky(2)
    call = run.build(
        lambda create: (create, fn()),
        ["create"],
        retries=2,
        run_if=lambda state: checks.append(1) or True,
    )
    assert call() == ("vpc", "passed on attempt 3")
    assert checks == [1]


def test_an_async_task_retries_with_the_async_sleep() -> None:
    run = Run({"create": "vpc"})
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    run.ctx.async_sleep = pause
    fn = flaky(2)

    async def attach(create: str) -> tuple[str, str]:
        await asyncio.sleep(0)
        return create, fn()

    call = run.build(attach, ["create"], retries=2, retry_delay=0.1, backoff=3)
    assert asyncio.iscoroutinefunction(call)
    assert asyncio.run(call()) == ("vpc", "passed on attempt 3")
    assert pauses == pytest.approx([0.1, 0.3])
    assert run.sleeps == []
    assert len(run.ctx.attempts[run.me]) == 2


def test_an_async_task_with_a_false_condition_is_skipped() -> None:
    async def fn() -> None:
        raise AssertionError

    call = Run({}).build(fn, run_if=lambda: False)
    with pytest.raises(TaskSkipped):
        asyncio.run(call())


def test_an_async_task_gives_up_with_the_last_failure() -> None:
    run = Run({})
    run.ctx.async_sleep = lambda seconds: asyncio.sleep(0)
    fn = flaky(5)

    async def attach() -> str:
        return fn()

    with pytest.raises(ConnectionError, match="attempt 2"):
        asyncio.run(run.build(attach, retries=1)())
    assert len(run.ctx.attempts[run.me]) == 1


def test_a_cancelled_async_task_is_not_retried() -> None:
    run = Run({})
    count = []

    async def attach() -> None:
        count.append(1)
        await asyncio.sleep(10)

    async def main() -> None:
        job = asyncio.ensure_future(run.build(attach, retries=3, retry_on=BaseException)())
        await asyncio.sleep(0)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(main())
    assert count == [1]
    assert run.ctx.attempts[run.me] == []
