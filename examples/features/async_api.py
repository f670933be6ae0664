"""``async def`` tasks: API calls that wait on the network run concurrently on one event loop.

Five ``check_endpoint[...]`` coroutines each wait 0.3 s, together in about 0.3 s, next to
ordinary thread tasks and under the same dependencies. ``summarize`` (a plain function) gets
their results through data passing. Run it with::

    tdrun examples/features/async_api.py
"""

import asyncio

from thread_order import dmark

ENDPOINTS = ["orders", "users", "payments", "search", "health"]


@dmark()
def open_session():
    return {"token": "t-123"}


@dmark(params=ENDPOINTS, after=["open_session"])
async def check_endpoint(param, open_session):
    await asyncio.sleep(0.3)  # the HTTP round trip
    return {"endpoint": param, "status": 200, "token": open_session["token"]}


@dmark(after=["check_endpoint[*]"])
def summarize(check_endpoint):
    return sorted(r["endpoint"] for r in check_endpoint.values() if r["status"] == 200)
