"""``tdrun --version``: kept free of heavy imports so that it answers fast."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version


def _dist_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def core_implementation() -> str:
    """Which ready-set core ``thread_order`` uses: ``"c"`` or ``"py"``.

    Importing ``thread_order`` answers it exactly; it costs a few tens of milliseconds, which
    the 250 ms budget of ``--version`` allows.
    """
    import thread_order

    return str(thread_order.IMPLEMENTATION)


def version_text() -> str:
    py = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    return (
        f"tdrun {_dist_version('thread-order-cli')} "
        f"(thread-order-core {_dist_version('thread-order-core')}, "
        f"core implementation: {core_implementation()}, Python {py})"
    )
