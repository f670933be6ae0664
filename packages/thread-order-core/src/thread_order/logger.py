"""1.4.0 import path: ``from thread_order.logger import configure_logging, ...``."""

from ._logging import ColoredFormatter as ColoredFormatter
from ._logging import ThreadProxyLogger as ThreadProxyLogger
from ._logging import configure_logging as configure_logging
from ._logging import validate_highlights as validate_highlights

__all__ = ["ColoredFormatter", "ThreadProxyLogger", "configure_logging", "validate_highlights"]
