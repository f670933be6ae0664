"""Timeouts: a hung call becomes TIMED_OUT with the stack where it hung; its dependents skip.

``wait_for_cluster`` polls a cluster that never becomes ready. After 0.5 s it is TIMED_OUT, its
error shows the line it was stuck on, and ``deploy_app`` is skipped ("upstream wait_for_cluster
timed out"). A Python thread cannot be killed, so the run stops waiting for it and gives its
worker lane a fresh thread; ``create_bucket`` still runs. Run it with::

    tdrun examples/features/timeouts.py          # exit code 1: one task timed out
    tdrun examples/features/timeouts.py --timeout 2   # a default for tasks without their own
"""

import time

from thread_order import dmark


@dmark(timeout=0.5)
def wait_for_cluster():
    while True:  # the cluster never reports ready
        time.sleep(0.05)


@dmark(after=["wait_for_cluster"])
def deploy_app():
    return "deployed"


@dmark()
def create_bucket():
    return "bucket-1"
