"""Runs started from the page: one at a time, on a background thread, through tdrun's pieces.

Selection, state and collection are ``thread_order_cli``'s (``collect``, ``select``,
``parse_extras``, ``build_scheduler``) and every run is recorded in tdrun's history database with
``record_run``, so ``tdrun --lf`` and ``tdrun history`` see runs started here and the page sees
runs started with ``tdrun``. What the page shows comes from the event log and the database.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from thread_order import RunInterrupted, RunResult, analyze, current_task
from thread_order_cli.exitcodes import ExitCode, TdrunError, UsageError
from thread_order_cli.options import RunOptions, positive_int, validate
from thread_order_cli.parsing import load_state_file, parse_extras
from thread_order_cli.runner import Prepared, build_scheduler, close_backend, prepare

from . import history
from .events import EngineListener, EventLog, JSONDict
from .layout import layout, render_svg

# Options tdrun-ui itself takes: a state key may not shadow them.
KNOWN_OPTIONS = (
    "--workers", "--tags", "--lf", "--last-failed", "--pattern", "--state-file", "--history",
    "--port", "--host", "--open", "--layout", "--only", "--skip-deps", "--no-skip-deps",
)  # fmt: skip
SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api[_-]?key|credential|private|auth|cookie", re.I
)
MASK = "\u2022\u2022\u2022\u2022\u2022\u2022"
MAX_WORKERS = 256


def masked(state: Mapping[str, Any]) -> dict[str, str]:
    """State values as short text, with the values of secret-looking keys hidden."""
    out: dict[str, str] = {}
    for key, value in state.items():
        if key.startswith("_") or key == "results":
            continue
        text = value if isinstance(value, str) else repr(value)
        out[str(key)] = MASK if SECRET_KEY.search(str(key)) else text[:200]
    return out


@dataclass
class RunRequest:
    """What the page may ask for. Everything else comes from the command line."""

    workers: int | None = None
    tags: str | None = None
    keyword: str | None = None
    marker: str | None = None
    state: dict[str, str] = field(default_factory=dict)
    rerun_of: int | None = None  # rerun the failed, skipped and cancelled tasks of this run

    @classmethod
    def from_json(cls, data: Any) -> RunRequest:
        if not isinstance(data, dict):
            raise UsageError("expected a JSON object")

        def text(key: str) -> str | None:
            value = data.get(key)
            if value is None or value == "":
                return None
            if not isinstance(value, str) or len(value) > 1000:
                raise UsageError(f"{key} must be a string")
            return value

        workers = data.get("workers")
        if workers is not None and (
            isinstance(workers, bool)
            or not isinstance(workers, int)
            or not 1 <= workers <= MAX_WORKERS
        ):
            raise UsageError(f"workers must be a whole number from 1 to {MAX_WORKERS}")
        state = data.get("state") or {}
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in state.items()
        ):
            raise UsageError("state must map names to strings")
        rerun = data.get("rerun_of")
        if rerun is not None and (isinstance(rerun, bool) or not isinstance(rerun, int)):
            raise UsageError("rerun_of must be a run number")
        return cls(workers, text("tags"), text("keyword"), text("marker"), dict(state), rerun)


class Busy(TdrunError):
    def __init__(self) -> None:
        super().__init__("a run is already in progress")


class _LogCapture(logging.Handler):
    """Files log records under the task that emitted them (``current_task()``)."""

    def __init__(self, log: EventLog, ids: Mapping[str, int]) -> None:
        super().__init__(logging.DEBUG)
        self.log, self.ids = log, ids
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self._seen: set[int] = set()
        self.lines: dict[str, list[str]] = {}  # task name -> its log lines, for the history

    def emit(self, record: logging.LogRecord) -> None:
        name = current_task()
        if name is None or id(record) in self._seen:
            return
        self._seen.add(id(record))
        line = self.format(record)[:4000]
        self.lines.setdefault(name, []).append(line)
        i = self.ids.get(name)
        if i is not None:  # else a task added so recently that the page does not know it yet
            self.log.extend([{"type": "log", "task": i, "line": line}])


class Session:
    """The dashboard's one suite: the command-line options, the event log and the run thread."""

    def __init__(self, base: RunOptions, *, layout_engine: str = "auto") -> None:
        validate(base)
        parse_extras(base.extras, KNOWN_OPTIONS)  # fail at startup, not on the first click
        self.base = base
        self.layout_engine = layout_engine
        self.log = EventLog()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._scheduler: Any = None
        self.last_result: RunResult | None = None

    # -- what the page shows before any run ---------------------------------------------------

    def config(self) -> JSONDict:
        b = self.base
        state: dict[str, Any] = load_state_file(b.state_file) if b.state_file else {}
        state.update(parse_extras(b.extras, KNOWN_OPTIONS).state)
        return {
            "targets": b.targets,
            "workers": positive_int("--workers", b.workers),
            "tags": b.tags,
            "keyword": b.keyword,
            "marker": b.marker,
            "state": masked(state),
            "history": b.history,
        }

    # -- runs ---------------------------------------------------------------------------------

    def prepare(self, req: RunRequest) -> tuple[RunOptions, Prepared]:
        extras = [*self.base.extras, *(f"--{k}={v}" for k, v in req.state.items())]
        opts = replace(
            self.base,
            workers=str(req.workers) if req.workers else self.base.workers,
            tags=req.tags if req.tags is not None else self.base.tags,
            keyword=req.keyword if req.keyword is not None else self.base.keyword,
            marker=req.marker if req.marker is not None else self.base.marker,
            extras=extras,
            last_failed=False,
            progress=True,  # no console log handler: the page shows each task's log
        )
        again = None
        if req.rerun_of is not None:
            again = history.not_passed(opts.history, req.rerun_of)
        elif self.base.last_failed:
            again = history.not_passed(opts.history, None)
        return opts, prepare(opts, KNOWN_OPTIONS, again=again)

    def start(self, req: RunRequest) -> None:
        """Prepare now (errors go back to the caller), then run on a background thread."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise Busy
            opts, prep = self.prepare(req)
            scheduler = build_scheduler(opts, prep)
            compiled = scheduler.compile()
            names = list(compiled.names)
            preds = [list(compiled.dependencies(i)) for i in range(len(names))]
            svg = render_svg(layout(names, preds, engine=self.layout_engine))
            self.log.begin(
                {
                    "type": "run",
                    "live": True,
                    "names": names,
                    "preds": preds,
                    "svg": svg,
                    "workers": prep.workers,
                    # on a cluster the lanes are the workers' threads, added as tasks start
                    "threads": (
                        [f"thread_{w}" for w in range(prep.workers)]
                        if scheduler.backend is None
                        else []
                    ),
                    "state": masked(scheduler.state),
                    "selection": {
                        "tags": opts.tags,
                        "keyword": opts.keyword,
                        "marker": opts.marker,
                    },
                    "rerun_of": req.rerun_of,
                }
            )
            self._scheduler = scheduler
            self._thread = threading.Thread(
                target=self._run, args=(opts, prep, scheduler, names, preds, req.rerun_of),
                name="tdrun-ui-run", daemon=True,
            )  # fmt: skip
            self._thread.start()

    def _run(
        self,
        opts: RunOptions,
        prep: Prepared,
        scheduler: Any,
        names: list[str],
        preds: list[list[int]],
        rerun_of: int | None,
    ) -> None:
        ids = {n: i for i, n in enumerate(names)}
        names, preds = list(names), [list(p) for p in preds]  # grow with added tasks
        listener = EngineListener(self.log, names, preds, ids)
        scheduler.subscribe(listener, kinds=EngineListener.KINDS)
        capture = _LogCapture(self.log, ids)
        loggers = [
            logging.getLogger(),
            *(logging.getLogger(f"thread_{w}") for w in range(prep.workers)),
        ]
        # On a cluster, task log records are replayed on this thread's logger: take them all.
        replayed = logging.getLogger(threading.current_thread().name)
        level = replayed.level
        if scheduler.backend is not None:
            replayed.setLevel(logging.DEBUG)
            loggers.append(replayed)
        for lg in loggers:
            lg.addHandler(capture)
        result: RunResult | None = None
        final: JSONDict = {"type": "run_finished"}
        try:
            try:
                result = scheduler.run()
            except RunInterrupted as exc:
                result = exc.result
            code = (
                ExitCode.INTERRUPTED
                if result.interrupted
                else (ExitCode.OK if result.ok else ExitCode.TASKS_FAILED)
            )
            final.update(self._summary(result, names, preds))
            logs = {name: "\n".join(lines) for name, lines in capture.lines.items()}
            final["history_id"] = self._record(opts, prep, result, int(code), rerun_of, logs)
        except Exception as exc:  # report it on the page rather than lose it on a thread
            final.update({"error": f"{type(exc).__name__}: {exc}"})
        finally:
            close_backend(scheduler)  # a --local cluster lives for one run
            for lg in loggers:
                lg.removeHandler(capture)
            replayed.setLevel(level)
            self.last_result = result
            self._scheduler = None
            self.log.extend([final], close=True)

    @staticmethod
    def _summary(result: RunResult, names: list[str], preds: list[list[int]]) -> JSONDict:
        durations = {r.name: r.duration or 0.0 for r in result}
        chain = analyze(names, preds).critical_path(durations).chain
        ids = {n: i for i, n in enumerate(names)}
        return {
            "duration": result.duration,
            "interrupted": result.interrupted,
            "counts": {str(k): v for k, v in result.counts().items()},
            "critical_path": [ids[n] for n in chain if n in ids],
        }

    @staticmethod
    def _record(
        opts: RunOptions,
        prep: Prepared,
        result: RunResult,
        code: int,
        rerun_of: int | None,
        logs: dict[str, str],
    ) -> int | None:
        if opts.no_history:
            return None
        from thread_order_cli.history import record_run

        modules = {t.name: t.module for t in prep.suite.tasks}
        run_id = record_run(
            opts.history,
            result,
            modules,
            logs,
            targets=opts.targets,
            exit_code=code,
        )
        if rerun_of is not None:
            history.link(opts.history, run_id, rerun_of)
        return run_id

    def cancel(self) -> bool:
        scheduler = self._scheduler
        return bool(scheduler is not None and scheduler.cancel())

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def close(self) -> None:
        """Cancel a run in progress and wait for it to wind down."""
        self.cancel()
        self.wait(10.0)
