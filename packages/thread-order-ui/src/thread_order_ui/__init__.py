"""The thread-order web dashboard: this release ships the package only, the dashboard is to come."""

from importlib.metadata import version as _version

__version__ = _version("thread-order-ui")
__all__ = ["__version__"]
