"""The typer side of ``tdrun``: the shared ``Typer`` factory and the root run command.

Options are parsed here and handed to ``runner.execute`` as ``RunOptions``; domain errors are
caught at this edge (``guarded``) and become one line on stderr plus their exit code.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Annotated, Any, NoReturn

import typer
import typer.core

from .exitcodes import EXIT_CODES_HELP, ExitCode, TdrunError

# click's UsageError, reached through typer's public BadParameter (never import click).
_USAGE_ERROR: type[Exception] = typer.BadParameter.__mro__[1]
_OPTIONAL_VALUE = {"--graph": "text", "--shuffle": ""}  # bare flag -> --flag=<this>
_GRAPH_FORMATS = ("text", "dot", "mermaid", "json")


# Where tasks run: the options tdrun and tdrun-ui share (also from the environment).
BackendOption = Annotated[
    str,
    typer.Option(
        envvar="TDRUN_BACKEND",
        help="Where tasks run: threads (default) or dask (needs thread-order[dask]).",
    ),
]
SchedulerAddressOption = Annotated[
    str | None,
    typer.Option(
        envvar="TDRUN_SCHEDULER_ADDRESS",
        metavar="tcp://HOST:PORT",
        help="With --backend dask: the scheduler of a running Dask cluster.",
    ),
]
LocalOption = Annotated[
    str | None,
    typer.Option(
        envvar="TDRUN_LOCAL",
        metavar="N[xT]",
        help="With --backend dask: start a cluster of N processes (x T threads) on 127.0.0.1 "
        "(tdrun-ui: one per run).",
    ),
]


def debug_enabled(verbose: bool = False) -> bool:
    return verbose or os.environ.get("TDRUN_DEBUG", "") not in ("", "0")


def fail(message: str, code: int, *, detail: str = "", verbose: bool = False) -> NoReturn:
    """Print the one-line error (and any detail) on stderr and exit with ``code``."""
    sys.stderr.write(f"tdrun: error: {message}\n")
    if detail:
        sys.stderr.write(detail.rstrip("\n") + "\n")
    if debug_enabled(verbose) and sys.exc_info()[0] is not None:
        traceback.print_exc(file=sys.stderr)
    raise typer.Exit(code=code)


class TdrunCommand(typer.core.TyperCommand):
    """Usage errors exit 4 with one line; ``--graph``/``--shuffle`` take an optional value."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        fixed: list[str] = []
        for k, token in enumerate(args):
            nxt = args[k + 1] if k + 1 < len(args) else None
            bare = token in _OPTIONAL_VALUE and not (token == "--graph" and nxt in _GRAPH_FORMATS)
            fixed.append(f"{token}={_OPTIONAL_VALUE[token]}" if bare else token)
        return list(super().parse_args(ctx, fixed))

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _USAGE_ERROR as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                exc.show()  # type: ignore[attr-defined]  # the help, on stderr
                raise typer.Exit(code=ExitCode.USAGE_ERROR) from None
            fail(getattr(exc, "format_message", exc.__str__)(), ExitCode.USAGE_ERROR)


def typer_factory(**kwargs: Any) -> typer.Typer:
    """Every tdrun ``Typer`` shares these settings."""
    settings: dict[str, Any] = {
        "no_args_is_help": True,
        "context_settings": {"help_option_names": ["-h", "--help"]},
        "pretty_exceptions_show_locals": False,
        "add_completion": False,
    }
    settings.update(kwargs)
    return typer.Typer(**settings)


def _version_callback(value: bool) -> None:
    if value:
        from ._version import version_text

        typer.echo(version_text())
        raise typer.Exit()


HELP = (
    "Run @mark task suites on threads in dependency order (thread-order 1.4.0 compatible).\n\n"
    "TARGET is suite.py, suite.py::task or a folder (searched for test_*.py and *_test.py). "
    "Extra --key=value arguments set state['key'] (strings); --result-<task>=value mocks a "
    "task's result. See also: tdrun history."
)

run_app = typer_factory(help=HELP, epilog=EXIT_CODES_HELP)


@run_app.command(
    cls=TdrunCommand,
    context_settings={
        "allow_extra_args": True,
        "ignore_unknown_options": True,
        "help_option_names": ["-h", "--help"],
    },
    help=HELP,
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
)
def run(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None, typer.Argument(metavar="TARGET...", show_default=False)
    ] = None,
    *,
    workers: Annotated[
        str | None,
        typer.Option(
            "--workers", help="Worker threads (default: min(CPU-based default, task count))."
        ),
    ] = None,
    tags: Annotated[
        str | None, typer.Option(help="Comma-separated tags; a task needs all of them (AND).")
    ] = None,
    keyword: Annotated[
        str | None,
        typer.Option("-k", help="Select tasks by name: substrings with and/or/not/( )."),
    ] = None,
    marker: Annotated[
        str | None, typer.Option("-m", help="Select tasks by tags: tag names with and/or/not/( ).")
    ] = None,
    only: Annotated[
        bool, typer.Option(help="Run just the selected tasks, not their prerequisites.")
    ] = False,
    last_failed: Annotated[
        bool,
        typer.Option(
            "--lf", "--last-failed", help="Rerun the last run's failed and skipped tasks."
        ),
    ] = False,
    pattern: Annotated[
        list[str] | None,
        typer.Option(help="File pattern for folder targets (repeatable).", show_default=False),
    ] = None,
    skip_deps: Annotated[
        bool,
        typer.Option(
            "--skip-deps/--no-skip-deps",
            help="Skip the dependents of a failed task (default) or run them anyway.",
        ),
    ] = True,
    exitfirst: Annotated[
        bool, typer.Option("-x", "--exitfirst", help="Start no new task after a failure.")
    ] = False,
    maxfail: Annotated[str | None, typer.Option(help="Start no new task after N failures.")] = None,
    shuffle: Annotated[
        str | None,
        typer.Option(
            help="Random order among ready tasks: --shuffle or --shuffle=SEED.",
            show_default=False,
        ),
    ] = None,
    state_file: Annotated[
        str | None, typer.Option(help="JSON object with initial state values.")
    ] = None,
    graph: Annotated[
        str | None,
        typer.Option(help="Show the dependency graph and exit: --graph [text|dot|mermaid|json]"),
    ] = None,
    plan: Annotated[
        bool,
        typer.Option(help="Dry run: show the dispatch waves and what is left out, run nothing."),
    ] = False,
    tb: Annotated[str, typer.Option(help="Traceback style: long, short, line or no.")] = "short",
    durations: Annotated[
        str | None, typer.Option(help="List the N slowest tasks (0 = all).")
    ] = None,
    junitxml: Annotated[
        str | None, typer.Option(help="Write a JUnit XML report to this path.")
    ] = None,
    json_report: Annotated[
        str | None, typer.Option(help="Write the full run record as JSON to this path.")
    ] = None,
    history: Annotated[
        str,
        typer.Option(envvar="TDRUN_HISTORY", help="Run history database (SQLite)."),
    ] = ".tdrun/history.db",
    no_history: Annotated[bool, typer.Option(help="Do not record this run.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a live progress bar (rich).")] = False,
    viewer: Annotated[
        bool, typer.Option(help="Show live thread lanes with their current task (rich).")
    ] = False,
    heartbeat: Annotated[
        str, typer.Option(help="Seconds between 'still running' lines (0 = off).")
    ] = "30",
    cancel_grace: Annotated[
        str,
        typer.Option(
            "--cancel-grace",
            metavar="SECONDS",
            help="After Ctrl-C, how long running tasks may finish before they are cancelled.",
        ),
    ] = "5",
    timeout: Annotated[
        str | None,
        typer.Option(
            metavar="SECONDS",
            help="Default per-task timeout (tasks with their own timeout= keep it).",
        ),
    ] = None,
    deadline: Annotated[
        str | None,
        typer.Option(
            metavar="SECONDS", help="Run deadline: tasks still running then are timed out."
        ),
    ] = None,
    limit: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=N",
            help="At most N tasks holding locks=[NAME] run at once (repeatable).",
            show_default=False,
        ),
    ] = None,
    trace: Annotated[
        str | None,
        typer.Option(metavar="PATH", help="Write a Chrome/Perfetto trace of the run to PATH."),
    ] = None,
    backend: BackendOption = "threads",
    scheduler_address: SchedulerAddressOption = None,
    local: LocalOption = None,
    state_check: Annotated[
        bool,
        typer.Option(
            help="On threads: report state use that would not work on a distributed backend."
        ),
    ] = False,
    ui: Annotated[
        bool,
        typer.Option(
            "--ui",
            help="Serve the web dashboard for this suite on 127.0.0.1 instead of running it "
            "here (needs thread-order[ui]).",
        ),
    ] = False,
    log: Annotated[
        bool, typer.Option(help="Write per-thread log files in the current folder.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option(help="Debug logging; tracebacks for tdrun's own errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Show the versions of tdrun and the core, and the core implementation.",
        ),
    ] = False,
) -> None:
    from .options import RunOptions, split_words

    # With a variadic TARGET, click passes unknown options along as positionals.
    words, extras = split_words([*(targets or []), *ctx.args])
    opts = RunOptions(
        targets=words,
        extras=extras,
        workers=workers,
        tags=tags,
        keyword=keyword,
        marker=marker,
        only=only,
        last_failed=last_failed,
        patterns=list(pattern or []),
        skip_deps=skip_deps,
        exitfirst=exitfirst,
        maxfail=maxfail,
        shuffle=shuffle,
        state_file=state_file,
        graph=graph,
        plan=plan,
        tb=tb,
        durations=durations,
        junitxml=junitxml,
        json_report=json_report,
        history=history,
        no_history=no_history,
        progress=progress,
        viewer=viewer,
        heartbeat=heartbeat,
        cancel_grace=cancel_grace,
        timeout=timeout,
        deadline=deadline,
        limits=list(limit or []),
        trace=trace,
        backend=backend,
        scheduler_address=scheduler_address,
        local=local,
        state_check=state_check,
        ui=ui,
        log=log,
        verbose=verbose,
    )
    known = [o for p in ctx.command.params for o in (*p.opts, *p.secondary_opts)]
    code = guarded(lambda: _execute(opts, known), verbose=verbose)
    raise typer.Exit(code=code)


def _execute(opts: Any, known: Sequence[str]) -> int:
    from .runner import execute

    if opts.ui:
        return _serve_ui(opts)
    return execute(opts, [o for o in known if o.startswith("--")])


def _serve_ui(opts: Any) -> int:
    """``tdrun SUITE --ui``: the same as ``tdrun-ui SUITE``, on a free port of 127.0.0.1."""
    try:
        from thread_order_ui.cli import run_server
    except ImportError:
        from .exitcodes import UsageError

        raise UsageError(
            "--ui needs the dashboard: install it with `pip install thread-order[ui]`"
        ) from None
    return run_server(opts, host="127.0.0.1", port=0, hosts=[], open_browser=False, layout="auto")


def guarded(action: Callable[[], int], *, verbose: bool = False) -> int:
    """Domain errors -> one line and their exit code; anything else -> internal error (3)."""
    try:
        return action()
    except TdrunError as exc:
        fail(str(exc), exc.code, detail=exc.detail, verbose=verbose)
    except KeyboardInterrupt:
        fail("interrupted", ExitCode.INTERRUPTED, verbose=verbose)
    except typer.Exit:
        raise
    except Exception as exc:
        hint = "" if debug_enabled(verbose) else " (TDRUN_DEBUG=1 shows the traceback)"
        fail(
            f"internal error: {type(exc).__name__}: {exc}{hint}",
            ExitCode.INTERNAL_ERROR,
            verbose=verbose,
        )
