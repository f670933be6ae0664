"""Execution backends: where ready tasks run. The driver keeps every decision.

``ThreadBackend`` (the default) runs tasks on the scheduler's own worker threads, through the
thread dispatcher. A ``Backend`` runs them elsewhere: the ready-mode driver
(``thread_order._remote``) submits each task once it is ready and feeds the outcomes back into
the same ready-set core, outcome functions and event stream, so skips, trigger rules, retries,
timeouts, limits, fail-fast, reports and history are the thread backend's own.

``DaskBackend`` runs tasks on a Dask cluster (``pip install thread-order[dask]``; see
docs/distributed.md). ``distributed`` is imported only when one is created.
"""

from __future__ import annotations

import queue
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from . import _readyset as rs
from ._records import TaskError

if TYPE_CHECKING:
    from ._remote_task import Outcome


class BackendError(Exception):
    """A backend cannot run the suite: no cluster, a suite that does not import there, state
    that cannot be shipped. The message names the culprit."""


class PreflightError(BackendError):
    """The suite does not import on some worker (checked before the first task)."""


@dataclass(frozen=True)
class ThreadBackend:
    """Run tasks on worker threads in this process (the default; ``workers`` as
    ``Scheduler(workers=)``)."""

    workers: int | None = None
    name = "threads"


@runtime_checkable
class Backend(Protocol):
    """What the ready-mode driver needs from a backend that runs tasks elsewhere."""

    name: str

    def open(self, modules: Sequence[ModuleType], state: bytes) -> int:
        """Make the suite's ``modules`` and the initial ``state`` available to the workers and
        check that they import; return how many tasks can run at once. Raises
        ``BackendError``."""
        ...

    def submit(
        self,
        task: int,
        key: str,
        spec: bytes,
        upstream: Sequence[Any],
        ancestors: Sequence[Any] | None,
        *,
        teardown: bool,
    ) -> Any:
        """Start ``run_task`` for one task; ``upstream`` holds handles or status codes, one per
        dependency; ``ancestors`` handles (tasks that take the state). A ``teardown`` task
        must run even if this process goes away. Returns the task's handle."""
        ...

    def poll(self, timeout: float | None) -> list[tuple[int, Outcome]]:
        """Outcomes of tasks that ended, waiting up to ``timeout`` seconds for the first."""
        ...

    def cancel(self, handles: Iterable[Any]) -> None:
        """Drop tasks that have not started (running ones cannot be stopped)."""
        ...

    def end_run(self) -> None:
        """Release the handles of the run that ended."""
        ...

    def close(self) -> None: ...


def _site_dirs() -> tuple[str, ...]:
    import sysconfig

    paths = sysconfig.get_paths()
    return tuple(str(Path(paths[k]).resolve()) for k in ("stdlib", "platstdlib", "purelib"))


def suite_files(modules: Sequence[ModuleType]) -> list[tuple[str, str]]:
    """``(module name, file)`` of the suite's top-level modules loaded from a file path, and of
    sibling modules they imported: what the workers cannot import unless it is shipped."""
    site = _site_dirs()
    folders: set[Path] = set()
    out: dict[str, str] = {}
    for module in modules:
        file = getattr(module, "__file__", None)
        if file and module.__name__ == Path(file).stem:
            folders.add(Path(file).resolve().parent)
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or not file.endswith(".py") or name != Path(file).stem:
            continue
        path = Path(file).resolve()
        if path.parent in folders and not str(path).startswith(site):
            out[name] = str(path)
    return sorted(out.items())


class DaskBackend:
    """Run tasks on a Dask cluster through a ``distributed.Client``.

    Every task runs through ``run_task``, which never raises, so Dask only ever sees successful
    tasks: its own retries never fire and a dependency's failure never turns into an error of
    its dependents. The scheduler's ``allowed-failures`` is set to 0, so a task whose worker
    dies is reported, not run a second time (unless the task is marked ``idempotent=True``).
    """

    name = "dask"

    def __init__(
        self, client: Any, *, preflight_timeout: float = 60.0, _cluster: Any = None
    ) -> None:
        self.client = client
        self.preflight_timeout = preflight_timeout
        self._cluster = _cluster
        self._done: Any = None  # this run's distributed.as_completed
        self._task_of: dict[str, int] = {}
        self._handles: list[Any] = []
        self._state: Any = None
        self._uploaded: set[str] = set()
        self._submitted = 0

    @classmethod
    def connect(cls, address: str, *, timeout: float = 30.0) -> DaskBackend:
        """A backend on the cluster whose scheduler listens at ``address`` (``tcp://host:8786``)."""
        from distributed import Client

        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise BackendError(
                f"cannot reach the Dask scheduler at {address}: {type(exc).__name__}: {exc}"
            ) from None
        return cls(client)

    @classmethod
    def local(
        cls, processes: int = 2, threads: int = 1, *, in_process: bool = False
    ) -> DaskBackend:
        """A ``LocalCluster`` on 127.0.0.1 owned by the backend (closed by ``close()``):
        ``processes`` workers with ``threads`` threads each, the dashboard on a free port.
        ``in_process`` runs one worker inside this process instead (for tests)."""
        import dask
        from distributed import Client, LocalCluster

        for option, value in (("processes", processes), ("threads", threads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"DaskBackend.local: {option} must be an int >= 1, got {value!r}")
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            if in_process:
                cluster = LocalCluster(
                    n_workers=1, threads_per_worker=threads, processes=False, dashboard_address=":0"
                )
            else:
                cluster = LocalCluster(
                    n_workers=processes,
                    threads_per_worker=threads,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=":0",
                )
        client = Client(cluster, set_as_default=False)
        try:
            client.wait_for_workers(1 if in_process else processes, timeout=60)
        except BaseException:
            client.close()
            cluster.close()
            raise
        return cls(client, _cluster=cluster)

    # -- Backend ------------------------------------------------------------------------------

    def open(self, modules: Sequence[ModuleType], state: bytes) -> int:
        import os

        import thread_order

        from ._remote_task import probe

        client = self.client
        self._ask("set allowed-failures to 0", client.run_on_scheduler, _no_reruns)
        pids = self._ask("answer", client.run, os.getpid)
        remote = any(pid != os.getpid() for pid in pids.values())
        files = suite_files(modules)
        if remote:
            for _name, path in files:
                if path not in self._uploaded:
                    self._ask("accept the suite", client.upload_file, path, load=False)
                    self._uploaded.add(path)
        names = sorted(
            {name for name, _ in files}
            | {
                m.__name__
                for m in modules
                if m.__name__ != "__main__" and not m.__name__.startswith("_thread_order_suite_")
            }
        )
        answers = self._ask("import the suite", client.run, probe, names)
        ours = str(thread_order.__version__)
        problems = [
            f"{worker}: thread-order-core {version}, not {ours} as here"
            for worker, (_pid, version, _failed) in sorted(answers.items())
            if version != ours
        ]
        problems += [
            f"{worker}: {module}: {error}"
            for worker, (_pid, _version, failed) in sorted(answers.items())
            for module, error in failed.items()
        ]
        if problems:
            raise PreflightError("the suite does not import on the workers: " + "; ".join(problems))
        self._state = state  # sent with each task that takes the state: never a lost key
        slots = sum(client.nthreads().values())
        if slots < 1:
            raise BackendError("the Dask cluster has no workers")
        return int(slots)

    def _ask(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        """``method(*args, **kwargs)``, a blocking call to the cluster, given the preflight
        timeout; ``what`` the cluster was asked to do names it in the error."""
        from concurrent.futures import ThreadPoolExecutor
        from concurrent.futures import TimeoutError as FutureTimeout

        pool = ThreadPoolExecutor(1, thread_name_prefix="thread-order-preflight")
        try:
            return pool.submit(method, *args, **kwargs).result(timeout=self.preflight_timeout)
        except FutureTimeout:
            raise PreflightError(
                f"the Dask cluster did not {what} within {self.preflight_timeout:g}s"
            ) from None
        except Exception as exc:
            raise PreflightError(
                f"the Dask cluster could not {what}: {type(exc).__name__}: {exc}"
            ) from None
        finally:
            pool.shutdown(wait=False)  # a call that hangs is left behind, not waited for

    def submit(
        self,
        task: int,
        key: str,
        spec: bytes,
        upstream: Sequence[Any],
        ancestors: Sequence[Any] | None,
        *,
        teardown: bool,
    ) -> Any:
        from ._remote_task import run_task

        state = self._state if ancestors is not None else None
        self._submitted += 1
        future = self.client.submit(
            run_task,
            spec,
            list(upstream),
            ancestors,
            state,
            key=key,
            pure=False,
            retries=0,
            priority=-self._submitted,  # the driver's order: it submits in priority order
        )
        self._task_of[future.key] = task
        self._handles.append(future)
        if self._done is None:
            from distributed import as_completed

            # results are fetched in the client's event loop as tasks end, not by this thread
            self._done = as_completed(loop=self.client.loop, with_results=True, raise_errors=False)
        self._done.add(future)
        if teardown:
            from distributed import fire_and_forget

            fire_and_forget(future)
        return future

    def poll(self, timeout: float | None) -> list[tuple[int, Outcome]]:
        from ._remote_task import Outcome

        if self._done is None:
            if timeout:
                time.sleep(timeout)
            return []
        done: queue.Queue[tuple[Any, Any]] = self._done.queue
        try:
            batch = [done.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                batch.append(done.get_nowait())
            except queue.Empty:
                break
        return [
            (self._task_of[f.key], value if isinstance(value, Outcome) else _result_or_error(f))
            for f, value in batch
            if f.key in self._task_of  # not a late one of an older run
        ]

    def cancel(self, handles: Iterable[Any]) -> None:
        """Cancel the futures whose task no worker is executing yet."""
        handles = list(handles)
        if not handles:
            return
        try:
            answers = self._ask("say what its workers run", self.client.run, _executing)
        except PreflightError:  # no answer: the workers are gone, nothing will start
            return
        running = {key for keys in answers.values() for key in keys}
        queued = [f for f in handles if f.key not in running]
        if queued:
            self.client.cancel(queued)

    def end_run(self) -> None:
        self._done = None  # stragglers of this run report to its own as_completed
        self._handles.clear()
        self._task_of.clear()
        self._state = None

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _executing(dask_worker: Any) -> list[str]:
    """Run on each worker: the keys of the tasks it is executing now."""
    return [str(ts.key) for ts in dask_worker.state.executing]


def _no_reruns(dask_scheduler: Any) -> None:
    """Run on the scheduler: a task whose worker dies is not run again (reported instead)."""
    dask_scheduler.allowed_failures = 0


def _result_or_error(future: Any) -> Outcome:
    """The outcome of a future that did not finish normally: a lost worker, a result that could
    not be sent back, a cancellation."""
    from ._remote_task import Outcome

    if future.status == "cancelled":
        return Outcome("?", rs.CANCELLED, error=TaskError("Cancelled", "cancelled on the cluster"))
    try:
        value = future.result(timeout=30)
        if isinstance(value, Outcome):
            return value
        raise TypeError(f"unexpected result {value!r}")
    except Exception as exc:
        killed = type(exc).__name__ == "KilledWorker"
        if killed:
            message = (
                f"the worker running it was lost ({exc}); it was not run again (mark the task "
                "idempotent=True to allow that)"
            )
            return Outcome("?", rs.FAILED, error=TaskError("WorkerLost", message), lost=True)
        return Outcome(
            "?",
            rs.FAILED,
            error=TaskError(
                type(exc).__name__,
                f"the cluster could not run it or send its result back: {exc}",
            ),
        )
