"""``tdrun-ui SUITE [tdrun selection and state options]``: serve the dashboard for one suite.

The suite and the history database come from the command line only. The server binds
127.0.0.1 on a free port unless told otherwise, prints the URL with its token and opens a
browser only with ``--open``.
"""

from __future__ import annotations

import os
import sys
import threading
import webbrowser
from typing import Annotated

import typer

from thread_order_cli.commands import (
    BackendOption,
    LocalOption,
    SchedulerAddressOption,
    guarded,
    typer_factory,
)
from thread_order_cli.exitcodes import UsageError
from thread_order_cli.options import RunOptions, split_words

HELP = (
    "Serve a local web dashboard for a thread-order suite: run it, watch it live, debug "
    "failures and browse the run history. Extra --key=value arguments set state values."
)

app = typer_factory(help=HELP)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    help=HELP,
    no_args_is_help=True,
)
def serve(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None, typer.Argument(metavar="TARGET...", show_default=False)
    ] = None,
    *,
    workers: Annotated[str | None, typer.Option(help="Default worker threads.")] = None,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags (AND).")] = None,
    keyword: Annotated[
        str | None, typer.Option("-k", help="Select tasks by name expression.")
    ] = None,
    marker: Annotated[
        str | None, typer.Option("-m", help="Select tasks by tag expression.")
    ] = None,
    last_failed: Annotated[
        bool, typer.Option("--lf", "--last-failed", help="Runs select the last run's failures.")
    ] = False,
    only: Annotated[bool, typer.Option(help="Run just the selected tasks.")] = False,
    pattern: Annotated[list[str] | None, typer.Option(help="File pattern for folders.")] = None,
    skip_deps: Annotated[bool, typer.Option("--skip-deps/--no-skip-deps")] = True,
    state_file: Annotated[str | None, typer.Option(help="JSON object with state values.")] = None,
    history: Annotated[
        str, typer.Option(envvar="TDRUN_HISTORY", help="Run history database (SQLite).")
    ] = ".tdrun/history.db",
    host: Annotated[
        str, typer.Option(help="Address to bind. Anything but loopback exposes code execution.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 = a free one).")] = 0,
    allow_host: Annotated[
        list[str] | None, typer.Option(help="Extra Host header names to accept (repeatable).")
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the page in a browser.")
    ] = False,
    layout: Annotated[str, typer.Option(help="Graph layout: auto, builtin or dot.")] = "auto",
    backend: BackendOption = "threads",
    scheduler_address: SchedulerAddressOption = None,
    local: LocalOption = None,
) -> None:
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
        state_file=state_file,
        history=history,
        backend=backend,
        scheduler_address=scheduler_address,
        local=local,
    )

    def action() -> int:
        if layout not in ("auto", "builtin", "dot"):
            raise UsageError(f"--layout must be auto, builtin or dot, got {layout!r}")
        return run_server(
            opts,
            host=host,
            port=port,
            hosts=allow_host or [],
            open_browser=open_browser,
            layout=layout,
        )

    raise typer.Exit(guarded(action))


def run_server(
    opts: RunOptions, *, host: str, port: int, hosts: list[str], open_browser: bool, layout: str
) -> int:
    from .app import create_app
    from .security import new_token
    from .server import LOOPBACK, bind, make_server, url_host
    from .session import RunRequest, Session

    session = Session(opts, layout_engine=layout)
    session.prepare(RunRequest())  # a missing or broken suite fails now, not on the first click
    allowed = list(hosts)
    if host not in LOOPBACK:
        sys.stderr.write(
            f"tdrun-ui: WARNING: listening on {host}: anyone who can reach it and learns the "
            "token can run this suite's code on this machine\n"
        )
        allowed.append(url_host(host))
    token = os.environ.get("TDRUN_UI_TOKEN") or new_token()
    app = create_app(session, token=token, hosts=allowed)
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc}") from None
    real_port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{url_host(shown)}:{real_port}/?token={token}"
    sys.stdout.write(f"tdrun-ui: serving {', '.join(opts.targets)} at {url}\n")
    sys.stdout.write("tdrun-ui: press Ctrl-C to stop\n")
    sys.stdout.flush()
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = make_server(app)
    try:
        server.run(sockets=[sock])
    finally:
        app.state.dashboard.closing = True
        session.close()
    return 0


def main() -> None:
    """Console entry point of ``tdrun-ui``."""
    app(prog_name="tdrun-ui")


if __name__ == "__main__":  # pragma: no cover
    main()
