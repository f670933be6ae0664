"""The ``tdrun`` entry point.

``tdrun TARGET...`` runs suites (``commands.run_app``) and ``tdrun history`` reads the run
history (``history_cmd.history_app``). They are two typer apps joined here: a click group cannot
also take free positional targets (``tdrun tests/`` would be looked up as a subcommand), so the
first word picks the app. This module imports nothing heavy so that ``tdrun --version`` is fast;
the apps are loaded on first use.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


def __getattr__(name: str) -> Any:
    if name == "run_app":
        from .commands import run_app

        return run_app
    if name == "history_app":
        from .history_cmd import history_app

        return history_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point (``tdrun`` and ``python -m thread_order_cli``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:  # the fast path: no typer import
        from ._version import version_text

        sys.stdout.write(version_text() + "\n")
        sys.exit(0)
    if args and args[0] == "history":
        from .history_cmd import history_app

        rest = args[1:]
        if not rest or (rest[0].startswith("-") and rest[0] not in ("-h", "--help")):
            rest = ["list", *rest]  # plain `tdrun history` lists the recent runs
        history_app(rest, prog_name="tdrun history")
    else:
        from .commands import run_app

        run_app(args, prog_name="tdrun")
