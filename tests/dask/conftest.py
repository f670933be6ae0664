"""Fixtures for the Dask backend tests: one in-process cluster per module, and ``make``, which
builds a ``Scheduler`` on the backend a test is parametrized with ("threads" or "dask").

Every wait on the cluster has a timeout: ``DaskBackend.local`` waits at most 60 s for its
workers and the preflight check at most 60 s for their answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from thread_order import Scheduler

Make = Callable[..., Scheduler]


@pytest.fixture(scope="module")
def inproc() -> Iterator[Any]:
    """A Dask cluster inside this process (no sockets, ~1 s to start), four worker threads."""
    pytest.importorskip("distributed", reason="the Dask backend needs thread-order[dask]")
    from thread_order.backends import DaskBackend

    backend = DaskBackend.local(threads=4, in_process=True)
    yield backend
    backend.close()


@pytest.fixture(params=["threads", "dask"])
def make(request: pytest.FixtureRequest) -> Make:
    """``make(**scheduler_kwargs)``: a Scheduler on this test's backend."""
    kind = request.param

    def build(**kwargs: Any) -> Scheduler:
        if kind == "dask":
            kwargs["backend"] = backend = request.getfixturevalue("inproc")
            _wait_idle(backend.client)
        return Scheduler(**kwargs)

    build.kind = kind  # type: ignore[attr-defined]
    return build


def _wait_idle(client: Any, timeout: float = 10.0) -> None:
    """Until the cluster runs nothing: a task an earlier test left running (a timed-out body)
    must not hold a worker thread this test counts on."""
    deadline = time.monotonic() + timeout
    while any(client.processing().values()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the cluster stayed busy for {timeout}s")
        time.sleep(0.02)
