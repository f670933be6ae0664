"""Select the ready-set core: the compiled twin when it is built and allowed, else pure Python.

``THREAD_ORDER_NO_EXTENSIONS=1`` (any non-empty value) forces the pure-Python core, and so does
any interpreter other than CPython. ``IMPLEMENTATION`` says which one is active: ``"c"`` or
``"py"``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

NO_EXTENSIONS = bool(os.environ.get("THREAD_ORDER_NO_EXTENSIONS")) or (
    sys.implementation.name != "cpython"
)

# The state and rule constants are the same numbers in both cores; they are taken from the
# selected one, so the compiled case never loads the pure-Python module.
if TYPE_CHECKING or NO_EXTENSIONS:
    from . import _readyset_py as _core
    from ._readyset_py import ReadySet as ReadySet

    IMPLEMENTATION = "py"
else:
    try:
        from . import _readyset_c as _core

        IMPLEMENTATION = "c"
    except ImportError:  # pragma: no cover - only when the extension was not built
        from . import _readyset_py as _core

        IMPLEMENTATION = "py"
    ReadySet = _core.ReadySet

PENDING = _core.PENDING
QUEUED = _core.QUEUED
RUNNING = _core.RUNNING
PASSED = _core.PASSED
FAILED = _core.FAILED
SKIPPED = _core.SKIPPED
CANCELLED = _core.CANCELLED
TIMED_OUT = _core.TIMED_OUT
ALL_PASSED = _core.ALL_PASSED
ALL_DONE = _core.ALL_DONE
ANY_FAILED = _core.ANY_FAILED

__all__ = [
    "ALL_DONE",
    "ALL_PASSED",
    "ANY_FAILED",
    "CANCELLED",
    "FAILED",
    "IMPLEMENTATION",
    "PASSED",
    "PENDING",
    "QUEUED",
    "RUNNING",
    "SKIPPED",
    "TIMED_OUT",
    "ReadySet",
]
