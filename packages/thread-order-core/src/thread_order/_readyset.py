"""Select the ready-set core: the compiled twin when it is built and allowed, else pure Python.

``THREAD_ORDER_NO_EXTENSIONS=1`` (any non-empty value) forces the pure-Python core, and so does
any interpreter other than CPython. ``IMPLEMENTATION`` says which one is active: ``"c"`` or
``"py"``.
"""

from __future__ import annotations

import os
import platform
from typing import TYPE_CHECKING

from ._readyset_py import ALL_DONE as ALL_DONE
from ._readyset_py import ALL_PASSED as ALL_PASSED
from ._readyset_py import ANY_FAILED as ANY_FAILED
from ._readyset_py import CANCELLED as CANCELLED
from ._readyset_py import FAILED as FAILED
from ._readyset_py import PASSED as PASSED
from ._readyset_py import PENDING as PENDING
from ._readyset_py import QUEUED as QUEUED
from ._readyset_py import RUNNING as RUNNING
from ._readyset_py import SKIPPED as SKIPPED
from ._readyset_py import TIMED_OUT as TIMED_OUT

NO_EXTENSIONS = bool(os.environ.get("THREAD_ORDER_NO_EXTENSIONS")) or (
    platform.python_implementation() != "CPython"
)

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._readyset_py import ReadySet as ReadySet

    IMPLEMENTATION = "py"
else:
    try:
        from ._readyset_c import ReadySet as ReadySet

        IMPLEMENTATION = "c"
    except ImportError:  # pragma: no cover - only when the extension was not built
        from ._readyset_py import ReadySet as ReadySet

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
