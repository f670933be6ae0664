"""One ``tdrun`` run, in 1.4.0's order: options, state, collection, selection, graph, run.

Everything shown during and after the run comes from listeners on the engine's event stream
and from the ``RunResult`` it returns.
"""

from __future__ import annotations

import gc
import logging
import os
import random
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .attempts import AttemptCounter, retries_of
from .capture import TaskLogCapture
from .discovery import DEFAULT_PATTERNS, Suite, TaskSpec, collect
from .exitcodes import CollectError, ExitCode, UsageError
from .options import (
    RunOptions,
    parse_limits,
    parse_local,
    positive_float,
    positive_int,
    seconds,
    validate,
)
from .output import PlainReporter, Printer, SummaryExtras, run_ok
from .parsing import Injections, load_state_file, parse_extras
from .paths import check_writable
from .selection import Selection, select

if TYPE_CHECKING:
    from thread_order import CompiledGraph, RunResult, Scheduler


@dataclass
class Prepared:
    """Everything decided before the run."""

    suite: Suite
    selection: Selection
    state: dict[str, Any]
    injections: Injections
    workers: int
    attempts: AttemptCounter = field(default_factory=AttemptCounter)


def prepare(
    opts: RunOptions, known_options: Iterable[str], *, again: list[str] | None = None
) -> Prepared:
    """Validate, load the state and the suite, select the tasks. Raises ``TdrunError``.

    ``again`` names the tasks to run again (with the prerequisites they need), like ``--lf``
    does from the history; the dashboard passes the failed tasks of the run being rerun.
    """
    validate(opts)
    injections = parse_extras(opts.extras, known_options)
    state: dict[str, Any] = load_state_file(opts.state_file) if opts.state_file else {}
    state.update(injections.state)
    outputs = (
        ("--junitxml", opts.junitxml),
        ("--json-report", opts.json_report),
        ("--trace", opts.trace),
    )
    for option, path in outputs:
        if path:
            check_writable(option, path)
    if not opts.no_history:
        check_writable("--history", opts.history)
    last_failed = again
    if again is None and opts.last_failed:
        from .history import last_failed_tasks

        last_failed = last_failed_tasks(opts.history)
        if last_failed is None:
            sys.stderr.write("tdrun: no failed tasks in the last recorded run; running all\n")
    suite = collect(opts.targets, opts.patterns or DEFAULT_PATTERNS, verbose=opts.verbose)
    selection = select(
        suite.tasks,
        keyword=opts.keyword,
        marker=opts.marker,
        tags=opts.tags,
        explicit=suite.explicit,
        last_failed=last_failed,
        mocks=set(injections.results),
        only=opts.only,
    )
    from thread_order import default_workers

    workers = positive_int("--workers", opts.workers) or min(default_workers, len(selection.run))
    return Prepared(suite, selection, state, injections, max(1, workers))


def build_scheduler(opts: RunOptions, prep: Prepared) -> Scheduler:
    """Create the scheduler, call the module hooks, register and compile the selected tasks."""
    from thread_order import GraphError, Scheduler

    highlights: list[Any] = []
    for module in prep.suite.modules:
        hook = getattr(module, "add_logging_highlights", None)
        if callable(hook):
            highlights += _call_hook(module, "add_logging_highlights", hook) or []
    state = prep.state
    if prep.injections.results:
        state["results"] = dict(prep.injections.results)
    try:
        scheduler = Scheduler(
            workers=prep.workers,
            setup_logging=True,
            add_stream_handler=not (opts.progress or opts.viewer),
            state=state,
            clear_results_on_start=not prep.injections.results,
            verbose=opts.verbose,
            skip_dependents=opts.skip_deps,
            add_file_handler=opts.log,
            highlights=highlights,
            cancel_grace=positive_float("--cancel-grace", opts.cancel_grace),
            task_timeout=seconds("--timeout", opts.timeout),
            deadline=seconds("--deadline", opts.deadline),
            limits=parse_limits(opts.limits),
            backend=make_backend(opts),
            state_check=opts.state_check,
        )
    except TypeError as exc:  # bad add_logging_highlights() value
        raise CollectError(f"add_logging_highlights(): {exc}") from None
    try:
        if not (opts.progress or opts.viewer):
            _quiet_engine_failures(prep.workers)
        for module in prep.suite.modules:
            hook = getattr(module, "setup_state", None)
            if callable(hook):
                _call_hook(module, "setup_state", hook, scheduler.state)
        for task in prep.selection.run:
            try:
                fn = task.fn
                # attempts are counted on threads; a cluster reports its own
                if retries_of(task.options) and scheduler.backend is None:
                    fn = prep.attempts.wrap(fn, task.name)
                scheduler.register(
                    fn,
                    task.name,
                    after=prep.selection.after_of(task),
                    with_state=task.with_state,
                    params=task.params,
                    **task.options,
                )
            except ValueError as exc:  # a bad option the decorator could not know (params)
                raise CollectError(f"{task.path}: {exc}") from None
        try:
            scheduler.compile()
        except GraphError as exc:
            raise CollectError(_graph_message(exc, prep)) from None
        logging.getLogger(threading.current_thread().name).info(
            "collected %d marked functions", len(prep.selection.run)
        )
    except BaseException:
        close_backend(scheduler)  # a cluster started for this run must not outlive it
        raise
    return scheduler


def make_backend(opts: RunOptions) -> Any:
    """The Dask backend for ``--backend dask`` (None: threads). Connects or starts the cluster."""
    if opts.backend != "dask":
        return None
    import importlib.util

    from thread_order.backends import BackendError, DaskBackend

    if importlib.util.find_spec("distributed") is None:
        raise UsageError(
            "--backend dask needs Dask distributed: "
            "install it with `pip install thread-order[dask]`"
        )
    try:
        if opts.local:
            processes, threads = parse_local(opts.local)
            return DaskBackend.local(processes, threads)
        assert opts.scheduler_address is not None  # check_backend saw to it
        return DaskBackend.connect(opts.scheduler_address)
    except BackendError as exc:
        raise UsageError(str(exc)) from None


def close_backend(scheduler: Scheduler | None) -> None:
    backend = getattr(scheduler, "backend", None)
    if backend is not None:
        backend.close()


class _NotEngineFailure(logging.Filter):
    """Drops the engine's ERROR ``fn: Type: message`` record of a failed task.

    tdrun prints that line itself, on stdout with the traceback (also under a live view), so
    the stderr stream leaves it out; the task's captured log and ``--log`` files keep it.
    """

    def __init__(self) -> None:
        super().__init__()
        import thread_order

        self.engine = os.path.dirname(os.path.realpath(thread_order.__file__ or "")) + os.sep

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno == logging.ERROR
            and record.msg == "%s: %s: %s"
            and os.path.realpath(record.pathname).startswith(self.engine)
        )


def _quiet_engine_failures(workers: int) -> None:
    """Filter the engine's failure records out of the stderr stream handler tdrun configured."""
    quiet = _NotEngineFailure()
    for name in (f"thread_{w}" for w in range(workers)):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            ):
                handler.addFilter(quiet)


def _graph_message(exc: Exception, prep: Prepared) -> str:
    """The engine's message, one line, with a "did you mean" for unknown dependencies."""
    import difflib

    message = str(exc).replace("\n", "; ")
    missing = getattr(exc, "missing", ())
    if missing and "did you mean" not in message:
        known = [t.name for t in prep.suite.tasks]
        hints = [
            f"{dep!r} -> {close[0]!r}"
            for _, dep in missing
            if (close := difflib.get_close_matches(dep, known, n=1))
        ]
        if hints:
            message += f" (did you mean {', '.join(hints)}?)"
    return message


def _call_hook(module: Any, name: str, hook: Any, *args: Any) -> Any:
    try:
        return hook(*args)
    except Exception as exc:
        raise CollectError(
            f"{getattr(module, '__file__', module.__name__)}: {name}() raised "
            f"{type(exc).__name__}: {exc}"
        ) from None


def graph_ids(scheduler: Scheduler) -> tuple[list[str], list[list[int]]]:
    """Task names and each task's dependency ids, from the compiled graph."""
    compiled: CompiledGraph = scheduler.compile()
    names = list(compiled.names)
    return names, [list(compiled.dependencies(i)) for i in range(len(names))]


def learned_priority(opts: RunOptions, scheduler: Scheduler) -> tuple[dict[str, int], int] | None:
    """With run history, order ready tasks by the expected time left on their longest chain.

    Durations are the median over the recent runs that recorded each task; ``--no-history``
    or an empty history keeps the default order (longest chain of tasks first). The second
    item is -1: there is no seed to print.
    """
    if opts.no_history or opts.shuffle is not None:
        return None
    from thread_order import expected_priority

    from .history import recent_durations

    durations = recent_durations(opts.history)
    if not durations:
        return None
    return expected_priority(scheduler.compile(), durations), -1


def shuffle_priority(opts: RunOptions, tasks: list[TaskSpec]) -> tuple[dict[str, int], int] | None:
    """``--shuffle[=SEED]``: a random priority per task, reproducible from the seed."""
    if opts.shuffle is None:
        return None
    seed = positive_int("--shuffle", opts.shuffle, allow_zero=True) if opts.shuffle else None
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    return {t.name: rng.randrange(2**31) for t in tasks}, seed


def execute(opts: RunOptions, known_options: Iterable[str]) -> int:
    """Run tdrun for ``opts``; return the exit code. ``TdrunError`` escapes to the caller."""
    was_enabled = gc.isenabled()
    # Collecting a large suite allocates many long-lived objects (functions, marks, the parsed
    # source): the cyclic GC would rescan them again and again. Pause it while loading, then
    # freeze what was loaded so later collections during the run skip it.
    gc.disable()
    scheduler = None
    try:
        prep = prepare(opts, known_options)
        scheduler = build_scheduler(opts, prep)
    except BaseException:
        close_backend(scheduler)
        raise
    finally:
        if was_enabled:
            gc.enable()
    gc.freeze()
    try:
        return _execute(opts, prep, scheduler)
    finally:
        gc.unfreeze()
        close_backend(scheduler)


def _execute(opts: RunOptions, prep: Prepared, scheduler: Scheduler) -> int:
    out = Printer(sys.stdout)
    if opts.graph is not None:
        from .plan import render_graph

        out.line(render_graph(scheduler.graph, opts.graph))
        return ExitCode.OK
    names, preds = graph_ids(scheduler)
    if opts.plan:
        from .plan import plan_lines

        for text in plan_lines(names, preds, prep, opts):
            out.line(text)
        return ExitCode.OK
    shuffled = shuffle_priority(opts, prep.selection.run) or learned_priority(opts, scheduler)
    extras = SummaryExtras(
        durations=positive_int("--durations", opts.durations, allow_zero=True),
        graph=scheduler.compile(),
    )
    if shuffled is not None and shuffled[1] >= 0:
        extras.notes.append(f"shuffle seed: {shuffled[1]} (rerun with --shuffle={shuffled[1]})")
        out.line(f"shuffle seed: {shuffled[1]}")
    live = None
    if opts.progress or opts.viewer:
        from .live import LiveView

        live = LiveView(out, total=len(names), workers=prep.workers, viewer=opts.viewer)
        scheduler.subscribe(live, kinds=live.kinds())
    reporter = PlainReporter(
        out,
        total=len(names),
        tb=opts.tb,
        task_lines=live is None,
        extras=extras,
        attempts=prep.attempts.get,
    )
    scheduler.subscribe(reporter, kinds=reporter.kinds())
    heartbeat = None
    if live is None:
        from .heartbeat import Heartbeat

        heartbeat = Heartbeat(out, positive_float("--heartbeat", opts.heartbeat))
        scheduler.subscribe(heartbeat, kinds=heartbeat.kinds())
        heartbeat.start()
    max_failures = 1 if opts.exitfirst else positive_int("--maxfail", opts.maxfail) or 0
    capture = TaskLogCapture(logging.DEBUG if opts.verbose else logging.INFO)
    capture.attach([threading.current_thread().name, *(f"thread_{w}" for w in range(prep.workers))])
    try:
        result = _run(scheduler, live, heartbeat, shuffled, max_failures)
    finally:
        capture.detach()
    if opts.state_check:
        _print_state_issues(out, scheduler)
    code = (
        ExitCode.INTERRUPTED
        if result.interrupted
        else (ExitCode.OK if run_ok(result) else ExitCode.TASKS_FAILED)
    )
    _record(opts, prep, result, code, capture.logs())
    return code


def _print_state_issues(out: Printer, scheduler: Scheduler) -> None:
    """``--state-check``: what in this suite's use of the state would not work distributed."""
    issues = scheduler.state_issues
    if not issues:
        out.line("state check: no problem for a distributed run")
        return
    out.line(f"state check: {len(issues)} problem(s) for a distributed run:")
    for issue in issues:
        out.line(f"  {issue.task}: {issue.message}")


def _run(
    scheduler: Scheduler,
    live: Any,
    heartbeat: Any,
    shuffled: tuple[dict[str, int], int] | None,
    max_failures: int,
) -> RunResult:
    from thread_order import RunInterrupted
    from thread_order.backends import BackendError, PreflightError

    if live is not None:
        live.start()
    try:
        return scheduler.run(priority=shuffled[0] if shuffled else None, max_failures=max_failures)
    except RunInterrupted as exc:
        return exc.result
    except PreflightError as exc:
        raise CollectError(str(exc)) from None
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    finally:
        if heartbeat is not None:
            heartbeat.stop()
        if live is not None:
            live.stop()


def _record(
    opts: RunOptions,
    prep: Prepared,
    result: RunResult,
    code: int,
    logs: Mapping[str, str],
) -> None:
    """Reports and history, after the run; failures here are reported, not fatal to the run."""
    modules = {t.name: t.module for t in prep.suite.tasks}
    try:
        if opts.trace:
            from thread_order import write_trace

            from .paths import ensure_parent

            ensure_parent(opts.trace)
            write_trace(result, opts.trace)
        if opts.junitxml:
            from .reports import write_junit

            write_junit(opts.junitxml, result, modules, logs)
        if opts.json_report:
            from .reports import write_json

            write_json(opts.json_report, result, modules, logs, exit_code=code)
        if not opts.no_history:
            from .history import record_run

            record_run(
                opts.history,
                result,
                modules,
                logs,
                targets=opts.targets,
                exit_code=code,
            )
    except OSError as exc:
        raise UsageError(f"cannot write the run record: {exc}") from None
