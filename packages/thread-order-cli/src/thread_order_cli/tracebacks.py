"""``--tb long|short|line|no``: render a task's stored traceback text.

The engine stores the full ``traceback.format_exception`` text. Frames inside thread_order itself
(the dispatcher, the ``@mark`` wrapper), tdrun's attempt counter and the thread bootstrap say
nothing about the user's failure and are dropped. A timed-out task's "traceback" is the stack
where it was stuck; its header is kept.
"""

from __future__ import annotations

import re

TB_STYLES = ("long", "short", "line", "no")
_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<fn>.*)$')
_ENGINE = re.compile(
    r"[\\/]thread_order[\\/]|[\\/]thread_order_cli[\\/]attempts\.py\"|[\\/]threading\.py\""
)
_HEADERS = ("Traceback (most recent call last)", "Stack of the timed-out task")
_DEFAULT_HEADER = "Traceback (most recent call last):"


def header_of(text: str) -> str:
    """The traceback's first line (``Traceback ...`` or a timed-out task's ``Stack of ...``)."""
    for line in text.splitlines():
        if line.startswith(_HEADERS):
            return line
    return _DEFAULT_HEADER


def _split(text: str) -> tuple[list[list[str]], list[str]]:
    """Frames (each its lines) and the closing exception lines."""
    frames: list[list[str]] = []
    tail: list[str] = []
    for line in text.rstrip("\n").splitlines():
        if line.startswith(_HEADERS):
            continue
        if _FRAME.match(line):
            frames.append([line])
        elif line.startswith("    ") and frames and not tail:
            frames[-1].append(line)
        else:
            tail.append(line)
    return frames, tail


def user_frames(text: str) -> tuple[list[list[str]], list[str]]:
    frames, tail = _split(text)
    mine = [f for f in frames if not _ENGINE.search(f[0])]
    return (mine or frames), tail


def format_traceback(text: str, style: str) -> list[str]:
    """The lines to print (unindented) for one failure, in ``style``."""
    if not text or style == "no":
        return []
    frames, tail = user_frames(text)
    if style == "line":
        if not frames:
            return tail[-1:]
        m = _FRAME.match(frames[-1][0])
        assert m is not None
        last = tail[-1] if tail else ""
        return [f"{m['file']}:{m['line']}: {last}"]
    if style == "short":
        frames = frames[-1:]
    lines = [header_of(text)]
    for f in frames:
        lines += f
    return lines + tail
