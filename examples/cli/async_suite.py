"""An API lifecycle with ``async def`` tasks next to plain ones.

The two ``fetch_*`` coroutines run concurrently on the run's event loop thread; ``create`` and
``report`` are ordinary thread tasks. Upstream results arrive as parameters named after the
dependency. Run it with::

    tdrun examples/cli/async_suite.py
"""

import asyncio

from thread_order import mark


@mark(with_state=False)
def create():
    return {"id": "res-1"}


@mark(after=["create"], with_state=False, timeout=5)
async def fetch_status(create):
    await asyncio.sleep(0.05)
    return f"{create['id']}: ready"


@mark(after=["create"], with_state=False)
async def fetch_owner(create):
    await asyncio.sleep(0.05)
    return f"{create['id']}: owned by ops"


@mark(after=["fetch_status", "fetch_owner"])
def report(state):
    results = state["results"]
    return [results["fetch_status"], results["fetch_owner"]]
