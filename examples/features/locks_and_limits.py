"""Named locks and limits: at most two calls to the rate-limited API, one schema migration.

Eight ``call_api[...]`` tasks hold the ``api`` resource (limit 2) and two migrations hold ``db``
(a lock: limit 1 when none is given). Waiting tasks do not hold a worker, so the six workers
keep running whatever else is ready. Run it with::

    tdrun examples/features/locks_and_limits.py --workers 6 --limit api=2

or as a script (``python examples/features/locks_and_limits.py``), which sets the same limit
through ``Scheduler(limits=...)`` and prints the peak concurrency per resource.
"""

import threading
import time

from thread_order import dmark

_lock = threading.Lock()
_running = {"api": 0, "db": 0}
PEAK = {"api": 0, "db": 0}


def _hold(resource, seconds):
    with _lock:
        _running[resource] += 1
        PEAK[resource] = max(PEAK[resource], _running[resource])
    time.sleep(seconds)
    with _lock:
        _running[resource] -= 1


@dmark(params=list(range(8)), locks=["api"])
def call_api(param):
    _hold("api", 0.05)
    return param


@dmark(params=["add_index", "drop_column"], locks="db")
def migrate(param):
    _hold("db", 0.05)
    return param


if __name__ == "__main__":
    from thread_order import Scheduler, load_and_collect_functions, register_functions

    suite, functions, single = load_and_collect_functions(__file__)  # a module of its own
    scheduler = Scheduler(workers=6, limits={"api": 2})
    register_functions(scheduler, functions, None, single)
    print(scheduler.start()["text"])
    print("peak concurrency:", suite.PEAK)
