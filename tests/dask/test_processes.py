"""On a real 2-process LocalCluster bound to 127.0.0.1: a suite loaded from a file path reaches
the workers, a suite that does not import there is refused before the first task, and a
worker killed mid-task is reported, not silently rerun (unless the task is idempotent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from thread_order import Scheduler, TaskStatus, load_and_collect_functions, register_functions
from thread_order.backends import PreflightError

pytest.importorskip("distributed", reason="the Dask backend needs thread-order[dask]")

SUITE = '''
import os
import time
from pathlib import Path

from thread_order import dmark, mark


@dmark()
def where():
    time.sleep(0.2)
    return os.getpid()


@dmark()
def also_where():
    time.sleep(0.2)
    return os.getpid()


@mark(after=["where"])
def dies(state):
    """Kills its worker process the first time it runs."""
    marker = Path(state["marker"]) / "dies"
    with marker.open("a") as fh:
        fh.write("ran\\n")
    os.kill(os.getpid(), 9)


@mark(after=["where"], idempotent=True)
def dies_once(state):
    marker = Path(state["marker"]) / "dies_once"
    first = not marker.exists()
    with marker.open("a") as fh:
        fh.write("ran\\n")
    if first:
        os.kill(os.getpid(), 9)
    return "second run"
'''


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from thread_order.backends import DaskBackend

    backend = DaskBackend.local(processes=2, threads=1)
    yield backend
    backend.close()


def _scheduler(backend: Any, path: Path, **state: Any) -> Scheduler:
    _, functions, single = load_and_collect_functions(str(path))
    s = Scheduler(backend=backend, state=dict(state), skip_dependents=True)
    register_functions(s, functions, None, single)
    return s


def test_a_suite_loaded_from_a_path_runs_on_both_processes(cluster: Any, tmp_path: Path) -> None:
    path = tmp_path / "portable_suite.py"
    path.write_text(SUITE.split("@mark(after=", maxsplit=1)[0])  # where, also_where
    result = _scheduler(cluster, path).run()
    assert result.ok
    import os

    pids = {result["where"].result, result["also_where"].result}
    assert os.getpid() not in pids
    assert len(pids) == 2  # one task per worker process: both ran at once
    assert {r.thread.split(":")[1] for r in result} == {str(p) for p in pids}


def test_a_suite_that_does_not_import_on_the_workers_is_refused(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "only_on_the_driver.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(elsewhere))  # the workers started before: not theirs
    suite_dir = tmp_path / "suite"
    suite_dir.mkdir()
    path = suite_dir / "needs_a_local_module.py"
    path.write_text(
        "from only_on_the_driver import VALUE\nfrom thread_order import dmark\n\n\n"
        "@dmark()\ndef t():\n    return VALUE\n"
    )
    s = _scheduler(cluster, path)
    with pytest.raises(PreflightError) as refused:
        s.run()
    message = str(refused.value)
    assert "the suite does not import on the workers" in message
    assert "needs_a_local_module: ModuleNotFoundError: No module named 'only_on_the_driver'" in (
        message
    )


def test_a_suite_that_hangs_on_import_on_the_workers_fails_the_check_in_time(
    cluster: Any, tmp_path: Path
) -> None:
    import os
    import time

    path = tmp_path / "slow_to_import.py"
    path.write_text(
        f"import os, time\nif os.getpid() != {os.getpid()}:\n    time.sleep(2)\n\n"
        "from thread_order import dmark\n\n\n@dmark()\ndef t():\n    return 1\n"
    )
    s = _scheduler(cluster, path)
    cluster.preflight_timeout = 0.5
    started = time.perf_counter()
    try:
        with pytest.raises(PreflightError, match=r"did not import the suite within 0\.5s"):
            s.run()
    finally:
        cluster.preflight_timeout = 60.0
    assert time.perf_counter() - started < 1.8  # not waiting for the import to finish


def test_a_killed_worker_is_reported_and_only_idempotent_tasks_rerun(
    cluster: Any, tmp_path: Path
) -> None:
    path = tmp_path / "killing_suite.py"
    path.write_text(SUITE)
    result = _scheduler(cluster, path, marker=str(tmp_path)).run()
    assert result["dies"].status is TaskStatus.FAILED
    error = result["dies"].error
    assert error is not None and error.type == "WorkerLost"
    assert "not run again" in error.message
    assert (tmp_path / "dies").read_text() == "ran\n"  # exactly once
    assert result["dies_once"].status is TaskStatus.PASSED
    assert result["dies_once"].result == "second run"
    assert (tmp_path / "dies_once").read_text() == "ran\nran\n"
    cluster.client.wait_for_workers(2, timeout=60)  # the nanny restarted what was killed


def test_workers_with_another_thread_order_are_refused(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import thread_order

    path = tmp_path / "versioned_suite.py"
    path.write_text(SUITE.split("@mark(after=", maxsplit=1)[0])
    s = _scheduler(cluster, path)
    monkeypatch.setattr(thread_order, "__version__", "0.0.1", raising=False)
    with pytest.raises(PreflightError, match=r"thread-order-core .+, not 0\.0\.1 as here"):
        s.run()


def _driver_only_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package importable here only: the workers started before it was on sys.path."""
    root = tmp_path / "driver_only"
    (root / "drvpkg").mkdir(parents=True)
    (root / "drvpkg" / "__init__.py").write_text("")
    (root / "drvpkg" / "work.py").write_text(
        "class Region:\n    def __init__(self, name):\n        self.name = name\n\n\n"
        "def deploy():\n    return 'deployed'\n"
    )
    monkeypatch.syspath_prepend(str(root))


def test_a_task_module_missing_on_the_workers_is_named_by_the_check(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _driver_only_package(tmp_path, monkeypatch)
    from drvpkg.work import deploy

    s = Scheduler(backend=cluster)
    s.register(deploy, "deploy")
    with pytest.raises(PreflightError, match=r"drvpkg\.work: ModuleNotFoundError"):
        s.run()


def test_a_task_that_cannot_be_loaded_fails_and_the_workers_stay(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import textwrap

    _driver_only_package(tmp_path, monkeypatch)
    from drvpkg.work import Region

    s = Scheduler(backend=cluster)
    s.register(textwrap.dedent, "describe", params={"text": [Region("eu")]})  # needs drvpkg
    s.register(textwrap.dedent, "other", params={"text": ["  abc"]})
    result = s.run()
    by_family = {r.name.split("[")[0]: r for r in result}
    error = by_family["describe"].error
    assert by_family["describe"].status is TaskStatus.FAILED
    assert error is not None and error.type == "SuiteImportError"
    assert "No module named 'drvpkg'" in error.message
    assert by_family["other"].status is TaskStatus.PASSED
    assert len(cluster.client.nthreads()) == 2  # no worker was lost loading it
