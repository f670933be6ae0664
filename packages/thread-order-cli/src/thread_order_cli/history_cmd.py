"""``tdrun history``: list recent runs, ``tdrun history show ID`` shows one run's tasks."""

from __future__ import annotations

from typing import Annotated

import typer

from .commands import guarded, typer_factory

history_app = typer_factory(help="Show the run history recorded by tdrun (SQLite).")

HistoryPath = Annotated[
    str, typer.Option("--history", envvar="TDRUN_HISTORY", help="Run history database.")
]


@history_app.command("list")
def list_runs(
    *,
    history: HistoryPath = ".tdrun/history.db",
    limit: Annotated[int, typer.Option(help="How many runs to list.")] = 20,
) -> None:
    """List the most recent runs, newest first."""
    from .history import history_lines, recent_runs

    def action() -> int:
        for line in history_lines(recent_runs(history, limit)):
            typer.echo(line)
        return 0

    raise typer.Exit(guarded(action))


@history_app.command("show")
def show_run(
    run_id: Annotated[int, typer.Argument(help="Run number, as listed by tdrun history.")],
    *,
    history: HistoryPath = ".tdrun/history.db",
) -> None:
    """Show every task of one run: status, thread, duration and error or reason.

    A failed task's captured log follows its line, indented.
    """
    from .history import run_tasks

    def action() -> int:
        from .output import attempts_note

        for row in run_tasks(history, run_id):
            name, status, thread, dur, etype, emsg, reason, log, attempts = row
            took = f"{dur:.2f}s" if dur is not None else "-"
            why = f"{etype}: {emsg}" if etype else reason
            why = (why + attempts_note(status, attempts or 1)).strip()
            typer.echo(f"{status:<9} {name}  [{thread or '-'}] {took}  {why}".rstrip())
            if log and status in ("FAILED", "TIMED_OUT"):
                typer.echo("  log:")
                for text in log.splitlines():
                    typer.echo(f"    {text}")
        return 0

    raise typer.Exit(guarded(action))
