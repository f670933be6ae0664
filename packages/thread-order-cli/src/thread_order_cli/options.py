"""``RunOptions``: every run option after typer parsed it, validated in one place.

Numbers arrive as strings so that a bad value gets tdrun's one-line error and exit code 4
instead of a usage panel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .exitcodes import UsageError
from .tracebacks import TB_STYLES

GRAPH_FORMATS = ("text", "dot", "mermaid", "json")


@dataclass
class RunOptions:
    targets: list[str]
    workers: str | None = None
    tags: str | None = None
    log: bool = False
    verbose: bool = False
    graph: str | None = None
    skip_deps: bool = True
    progress: bool = False
    viewer: bool = False
    state_file: str | None = None
    keyword: str | None = None
    marker: str | None = None
    only: bool = False
    plan: bool = False
    tb: str = "short"
    durations: str | None = None
    exitfirst: bool = False
    maxfail: str | None = None
    junitxml: str | None = None
    json_report: str | None = None
    history: str = ".tdrun/history.db"
    no_history: bool = False
    last_failed: bool = False
    shuffle: str | None = None
    heartbeat: str = "30"
    cancel_grace: str = "5"
    timeout: str | None = None
    deadline: str | None = None
    limits: list[str] = field(default_factory=list)
    ui: bool = False  # serve the dashboard for this suite instead of running it here
    trace: str | None = None
    backend: str = "threads"
    scheduler_address: str | None = None
    local: str | None = None
    state_check: bool = False
    patterns: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)


def positive_int(option: str, value: str | None, *, allow_zero: bool = False) -> int | None:
    """Parse ``value`` as an int >= 1 (>= 0 with ``allow_zero``); UsageError naming ``option``."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"{option} must be a whole number, got {value!r}") from None
    low = 0 if allow_zero else 1
    if number < low:
        raise UsageError(f"{option} must be >= {low}, got {number}")
    return number


def positive_float(option: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise UsageError(f"{option} must be a number of seconds, got {value!r}")
    if number < 0:
        raise UsageError(f"{option} must be >= 0, got {value}")
    return number


def seconds(option: str, value: str | None) -> float | None:
    """Parse a duration that must be > 0 (``--timeout``, ``--deadline``); None when not given."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise UsageError(f"{option} must be a number of seconds, got {value!r}")
    if number <= 0:
        raise UsageError(f"{option} must be > 0 seconds, got {value}")
    return number


def parse_limits(values: list[str]) -> dict[str, int]:
    """``--limit NAME=N`` (repeatable) -> ``{NAME: N}``; the last value for a name wins."""
    limits: dict[str, int] = {}
    for value in values:
        name, sep, count = value.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--limit must be NAME=N (e.g. --limit api=4), got {value!r}")
        try:
            number = int(count)
        except ValueError:
            raise UsageError(f"--limit {value!r}: N must be a whole number") from None
        if number < 1:
            raise UsageError(f"--limit {value!r}: N must be >= 1, got {number}")
        limits[name] = number
    return limits


BACKENDS = ("threads", "dask")


def split_words(words: Sequence[str]) -> tuple[list[str], list[str]]:
    """The command line's free words: targets, and ``--key=value`` state extras."""
    return [w for w in words if not w.startswith("-")], [w for w in words if w.startswith("-")]


def parse_local(value: str) -> tuple[int, int]:
    """``--local N`` or ``--local NxT``: N worker processes with T threads each (T = 1)."""
    processes, sep, threads = value.lower().partition("x")
    try:
        counts = (int(processes), int(threads) if sep else 1)
    except ValueError:
        raise UsageError(
            f"--local must be N or NxT (processes x threads, e.g. 2 or 2x8), got {value!r}"
        ) from None
    if min(counts) < 1:
        raise UsageError(f"--local needs at least 1 process and 1 thread, got {value!r}")
    return counts


def check_backend(opts: RunOptions) -> None:
    """``--backend``, ``--scheduler-address``, ``--local`` and ``--state-check`` fit together."""
    if opts.backend not in BACKENDS:
        raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, got {opts.backend!r}")
    if opts.backend == "threads":
        for option, value in (
            ("--scheduler-address", opts.scheduler_address),
            ("--local", opts.local),
        ):
            if value:
                raise UsageError(f"{option} needs --backend dask")
        return
    if opts.state_check:
        raise UsageError(
            "--state-check runs on the thread backend (it checks a suite before it moves)"
        )
    if bool(opts.scheduler_address) == bool(opts.local):
        raise UsageError(
            "--backend dask needs either --scheduler-address tcp://HOST:PORT or --local N"
        )
    if opts.local:
        parse_local(opts.local)
    elif opts.scheduler_address and "://" not in opts.scheduler_address:
        raise UsageError(
            f"--scheduler-address must look like tcp://HOST:PORT, got {opts.scheduler_address!r}"
        )


def validate(opts: RunOptions) -> None:
    """Reject incompatible or malformed options before anything is loaded."""
    if not opts.targets:
        raise UsageError("missing target: give a suite file (suite.py, suite.py::task) or a folder")
    pairs = [
        (opts.progress and opts.verbose, "--progress and --verbose"),
        (opts.viewer and opts.verbose, "--viewer and --verbose"),
        (opts.progress and opts.viewer, "--progress and --viewer"),
        (opts.plan and opts.graph is not None, "--plan and --graph"),
        (opts.exitfirst and opts.maxfail is not None, "-x/--exitfirst and --maxfail"),
        (opts.last_failed and opts.no_history, "--lf and --no-history"),
    ]
    for bad, what in pairs:
        if bad:
            raise UsageError(f"{what} cannot be used together")
    if opts.graph is not None and opts.graph not in GRAPH_FORMATS:
        raise UsageError(f"--graph must be one of {', '.join(GRAPH_FORMATS)}, got {opts.graph!r}")
    if opts.tb not in TB_STYLES:
        raise UsageError(f"--tb must be one of {', '.join(TB_STYLES)}, got {opts.tb!r}")
    positive_int("--workers", opts.workers)
    positive_int("--maxfail", opts.maxfail)
    positive_int("--durations", opts.durations, allow_zero=True)
    positive_float("--heartbeat", opts.heartbeat)
    positive_float("--cancel-grace", opts.cancel_grace)
    if opts.shuffle:
        positive_int("--shuffle", opts.shuffle, allow_zero=True)
    seconds("--timeout", opts.timeout)
    seconds("--deadline", opts.deadline)
    parse_limits(opts.limits)
    check_backend(opts)
