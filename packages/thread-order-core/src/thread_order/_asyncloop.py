"""``async def`` tasks: one event loop thread per run runs them all, concurrently.

Workers hand coroutine tasks to the loop and go on with other work; the loop reports each
outcome back through a callback that settles the task in the ready-set core, exactly as a worker
would. A task's timeout cancels its coroutine for real (``asyncio.wait_for``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from ._dispatcher import CURRENT_COROUTINE_TASK, LOOP_THREAD

Outcome = Callable[[int, Any, BaseException | None, bool], None]
__all__ = ["LOOP_THREAD", "AsyncRunner"]


class AsyncRunner:
    """An event loop on its own thread, started with the run and closed after it."""

    def __init__(self, on_outcome: Outcome, names: Sequence[str]) -> None:
        self._on_outcome = on_outcome
        self._names = names
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name=LOOP_THREAD, daemon=True)
        self.thread.start()
        self._ready.wait()
        self._tasks: set[asyncio.Future[Any]] = set()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()
        self.loop.close()

    def submit(
        self, task: int, start: Callable[[], Coroutine[Any, Any, Any]], timeout: float | None
    ) -> None:
        """Run ``start()``'s coroutine on the loop; the outcome goes to ``on_outcome``."""
        self.loop.call_soon_threadsafe(self._spawn, task, start, timeout)

    def _spawn(
        self, task: int, start: Callable[[], Coroutine[Any, Any, Any]], timeout: float | None
    ) -> None:
        fut = asyncio.ensure_future(self._drive(task, start, timeout))
        self._tasks.add(fut)
        fut.add_done_callback(self._tasks.discard)

    async def _drive(
        self, task: int, start: Callable[[], Coroutine[Any, Any, Any]], timeout: float | None
    ) -> None:
        CURRENT_COROUTINE_TASK.set(self._names[task])  # this coroutine's own context
        try:
            coro = start()
            value = await (coro if timeout is None else asyncio.wait_for(coro, timeout))
        except asyncio.TimeoutError as exc:
            self._on_outcome(task, None, exc, timeout is not None)
        except BaseException as exc:  # a task's failure, whatever it raised
            self._on_outcome(task, None, exc, False)
        else:
            self._on_outcome(task, value, None, False)

    def cancel_all(self) -> None:
        """Cancel every coroutine still running (the run is being cancelled)."""
        self.loop.call_soon_threadsafe(lambda: [t.cancel() for t in list(self._tasks)])

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
