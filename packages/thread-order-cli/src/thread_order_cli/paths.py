"""Output paths (reports, history) are checked before anything runs."""

from __future__ import annotations

import os
from pathlib import Path

from .exitcodes import UsageError


def check_writable(option: str, path: str) -> None:
    """Fail now, not after an hour of tasks, if ``path`` cannot be written."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{option} {path}: is a directory")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise UsageError(f"{option} {path}: not writable")
        return
    parent = p.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: cannot create files in {parent}")


def ensure_parent(path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
