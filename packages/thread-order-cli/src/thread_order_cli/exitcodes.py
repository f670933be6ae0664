"""tdrun's exit codes (pytest's table) and the domain errors that carry them.

Errors raised anywhere in the CLI are ``TdrunError`` subclasses; ``app.py`` catches them at the
edge, prints one line on stderr and exits with ``error.code``.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What a tdrun process exit status means. Same numbers as pytest."""

    OK = 0
    TASKS_FAILED = 1
    INTERRUPTED = 2
    INTERNAL_ERROR = 3
    USAGE_ERROR = 4
    NO_TASKS_COLLECTED = 5


EXIT_CODES_HELP = (
    "Exit codes: 0 all tasks passed or were skipped by a run_if decision (also --graph, "
    "--plan); 1 some task failed, timed out, was cancelled or skipped after a failure; "
    "2 interrupted (Ctrl-C) or the suite could not be collected "
    "(syntax or import error, unknown dependency, cycle); 3 internal error; "
    "4 usage error (bad option, target, state file or path); 5 no tasks collected or selected."
)


class TdrunError(Exception):
    """A problem with the input that stops tdrun before (or instead of) running anything."""

    code: ExitCode = ExitCode.USAGE_ERROR

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail  # extra lines shown after the one-line error (e.g. a traceback)


class UsageError(TdrunError):
    """Bad command line: options, targets, state files, output paths."""

    code = ExitCode.USAGE_ERROR


class CollectError(TdrunError):
    """The suite cannot be loaded or its graph is invalid."""

    code = ExitCode.INTERRUPTED


class NothingCollected(TdrunError):
    """No task was found, or the selection matched none."""

    code = ExitCode.NO_TASKS_COLLECTED
