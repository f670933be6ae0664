"""Per-thread logging, compatible with 1.4.0 and polite to the rest of the process.

Records from tasks go to the logger named after the current thread (``thread_0``...), as in
1.4.0, through ``ThreadProxyLogger``. ``configure_logging`` attaches handlers to those loggers
only: it never touches the root logger or other libraries' loggers, can be called again (it
replaces the handlers it added before), opens log files lazily and leaves closing them to the
scheduler at the end of each run.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESET = "\x1b[0m"
DIM = "\x1b[2m"
GREEN = "\x1b[32m"
RED = "\x1b[31m"
YELLOW = "\x1b[33m"
MAGENTA = "\x1b[35m"

DEFAULT_HIGHLIGHTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bPASSED\b", re.IGNORECASE), GREEN),
    (re.compile(r"\bFAILED\b", re.IGNORECASE), RED),
    (re.compile(r"\bSKIPPED\b", re.IGNORECASE), YELLOW),
    (re.compile(r"\bCANCELLED\b", re.IGNORECASE), YELLOW),
    (re.compile(r"Scheduler::State: \{.*", re.DOTALL), MAGENTA),
]

_OURS = "_thread_order_handler"


def logger_for_current_thread() -> logging.Logger:
    return logging.getLogger(threading.current_thread().name)


class ThreadProxyLogger:
    """A logger that writes to the logger named after whichever thread calls it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(logging.getLogger(threading.current_thread().name), name)


def validate_highlights(highlights: Any) -> list[tuple[re.Pattern[str], str]]:
    """Check a list of ``(compiled regex, colour string)`` pairs; TypeError naming the culprit."""
    if highlights is None:
        return []
    if not isinstance(highlights, (list, tuple)):
        raise TypeError(f"highlights must be a list of (pattern, colour), got {highlights!r}")
    out = []
    for k, item in enumerate(highlights):
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            raise TypeError(f"highlights[{k}] must be a (pattern, colour) pair, got {item!r}")
        pattern, colour = item
        if not isinstance(pattern, re.Pattern):
            raise TypeError(f"highlights[{k}][0] must be a compiled re.Pattern, got {pattern!r}")
        if not isinstance(colour, str):
            raise TypeError(f"highlights[{k}][1] must be a colour string, got {colour!r}")
        out.append((pattern, colour))
    return out


class ColoredFormatter(logging.Formatter):
    """``<asctime> [<thread>] <msg>``; ``[thread]`` omitted for the main thread.

    Colours (dim timestamp, highlights) only when ``color`` is true.
    """

    def __init__(
        self,
        verbose: bool = False,
        highlights: Sequence[tuple[re.Pattern[str], str]] = (),
        color: bool = False,
    ) -> None:
        super().__init__()
        self.verbose = verbose
        self.highlights = [*DEFAULT_HIGHLIGHTS, *highlights]
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        thread = "" if record.threadName == "MainThread" else f"[{record.threadName}] "
        stamp = self.formatTime(record)
        if self.color:
            for pattern, colour in self.highlights:
                message = pattern.sub(rf"{_escape(colour)}\g<0>{RESET}", message)
            stamp = f"{DIM}{stamp}{RESET}"
        if self.verbose:
            return f"{stamp} {record.levelname:<5} {thread}{record.funcName}: {message}"
        return f"{stamp} {thread}{message}"


def _escape(text: str) -> str:
    """Make ``text`` literal inside a ``re.sub`` replacement string."""
    return text.replace("\\", "\\\\")


def _wants_color(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def configure_logging(
    workers: int,
    prefix: str = "thread",
    add_stream_handler: bool = False,
    highlights: Sequence[tuple[re.Pattern[str], str]] | None = None,
    verbose: bool = False,
    add_file_handler: bool = True,
    log_dir: str | os.PathLike[str] | None = None,
) -> list[logging.Handler]:
    """Attach handlers to the per-thread loggers; return the file handlers it created.

    Loggers configured: the calling thread's and ``{prefix}_0 .. {prefix}_{workers-1}``. Their
    records stop propagating to the root logger while our stream handler shows them (so they
    are not printed twice). File handlers write ``<argv0 stem>_<logger>.log`` in ``log_dir``
    (default: the current directory), in append mode, opened only when a record arrives.
    """
    checked = validate_highlights(highlights)
    names = [threading.current_thread().name, *(f"{prefix}_{i}" for i in range(workers))]
    stem = Path(sys.argv[0]).stem or "thread_order"
    folder = Path(log_dir) if log_dir is not None else Path.cwd()
    stream_handler: logging.Handler | None = None
    if add_stream_handler:
        stream_handler = logging.StreamHandler(sys.stderr)
        stream_handler.setLevel(logging.DEBUG if verbose else logging.INFO)
        stream_handler.setFormatter(ColoredFormatter(verbose, checked, _wants_color(sys.stderr)))
        setattr(stream_handler, _OURS, True)
    files: list[logging.Handler] = []
    file_format = logging.Formatter(
        "%(asctime)s %(levelname)-5s [%(threadName)s] %(funcName)s: %(message)s"
    )
    for name in names:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, _OURS, False)]:
            logger.removeHandler(old)
            old.close()
        logger.setLevel(logging.DEBUG)
        logger.propagate = stream_handler is None
        if stream_handler is not None:
            logger.addHandler(stream_handler)
        if add_file_handler:
            fh = logging.FileHandler(folder / f"{stem}_{name}.log", mode="a", delay=True)
            fh.setLevel(logging.DEBUG)
            fh.setFormatter(file_format)
            setattr(fh, _OURS, True)
            logger.addHandler(fh)
            files.append(fh)
    return files
