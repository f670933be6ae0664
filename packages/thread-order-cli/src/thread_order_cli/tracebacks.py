"""``--tb long|short|line|no``: render a task's stored traceback text.

The engine stores the full ``traceback.format_exception`` text. Frames inside thread_order itself
(the dispatcher, the ``@mark`` wrapper) say nothing about the user's failure and are dropped.
"""

from __future__ import annotations

import re

TB_STYLES = ("long", "short", "line", "no")
_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<fn>.*)$')
_ENGINE = re.compile(r"[\\/]thread_order[\\/]")


def _split(text: str) -> tuple[list[list[str]], list[str]]:
    """Frames (each its lines) and the closing exception lines."""
    frames: list[list[str]] = []
    tail: list[str] = []
    for line in text.rstrip("\n").splitlines():
        if line.startswith("Traceback (most recent call last)"):
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
    lines = ["Traceback (most recent call last):"]
    for f in frames:
        lines += f
    return lines + tail
