"""1.4.0 import path: ``from thread_order.scheduler import Scheduler, TaskStatus, ...``."""

from ._collect import load_and_collect_functions as load_and_collect_functions
from ._collect import register_functions as register_functions
from ._marks import dmark as dmark
from ._marks import mark as mark
from ._records import TaskStatus as TaskStatus
from ._scheduler import Scheduler as Scheduler
from ._scheduler import default_workers as default_workers

__all__ = [
    "Scheduler",
    "TaskStatus",
    "default_workers",
    "dmark",
    "load_and_collect_functions",
    "mark",
    "register_functions",
]
