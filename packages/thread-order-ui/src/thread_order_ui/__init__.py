"""The thread-order web dashboard. This release ships the package only; the dashboard is in development."""

from importlib.metadata import version as _version

__version__ = _version("thread-order-ui")
__all__ = ["__version__"]
