"""thread_order_ui: a local web dashboard for thread_order runs (``tdrun-ui``).

``create_app(Session(RunOptions(...)), token=...)`` builds the Starlette app; ``tdrun-ui`` serves
it with uvicorn. See docs/ui.md.
"""

from importlib.metadata import version as _version

from .app import create_app as create_app
from .session import Session as Session

__version__ = _version("thread-order-ui")
__all__ = ["Session", "__version__", "create_app"]
