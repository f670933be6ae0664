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
    from ._readyset_py import (
        ALL_DONE,
        ALL_PASSED,
        ANY_FAILED,
        CANCELLED,
        FAILED,
        PASSED,
        PENDING,
        QUEUED,
        RUNNING,
        SKIPPED,
        TIMED_OUT,
        ReadySet,
    )

    IMPLEMENTATION = "py"
else:
    try:
        from ._readyset_c import (
            ALL_DONE,
            ALL_PASSED,
            ANY_FAILED,
            CANCELLED,
            FAILED,
            PASSED,
            PENDING,
            QUEUED,
            RUNNING,
            SKIPPED,
            TIMED_OUT,
            ReadySet,
        )

        IMPLEMENTATION = "c"
    except ImportError:  # pragma: no cover - only when the extension was not built
        from ._readyset_py import (
            ALL_DONE,
            ALL_PASSED,
            ANY_FAILED,
            CANCELLED,
            FAILED,
            PASSED,
            PENDING,
            QUEUED,
            RUNNING,
            SKIPPED,
            TIMED_OUT,
            ReadySet,
        )

        IMPLEMENTATION = "py"

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
