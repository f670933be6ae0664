"""Past runs, read from tdrun's SQLite history (``thread_order_cli.history``).

A past run is served in the same event shape as a live one, so the page draws it with the same
code. The database stores no dependencies, so the graph of a past run is the current suite's
graph restricted to the tasks the run had (tasks no longer in the suite stand alone).
The one thing added to the database is ``ui_reruns``: which run a rerun was started from.
"""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Any

from thread_order_cli.exitcodes import UsageError
from thread_order_cli.history import NOT_PASSED, connect

from .events import JSONDict

LINKS = (
    "CREATE TABLE IF NOT EXISTS ui_reruns (run_id INTEGER PRIMARY KEY, rerun_of INTEGER NOT NULL)"
)


def link(path: str, run_id: int, rerun_of: int) -> None:
    with closing(connect(path)) as db, db:
        db.execute(LINKS)
        db.execute("INSERT OR REPLACE INTO ui_reruns VALUES (?, ?)", (run_id, rerun_of))


def runs(path: str, limit: int = 100) -> list[JSONDict]:
    """The most recent runs, newest first, each with the run it reran (if started here)."""
    if not Path(path).exists():
        return []
    with closing(connect(path)) as db, db:
        db.execute(LINKS)
        rows = db.execute(
            "SELECT r.id, r.started_at, r.duration, r.targets, r.workers, r.passed, r.failed,"
            " r.skipped, r.cancelled, r.interrupted, r.exit_code, l.rerun_of"
            " FROM runs r LEFT JOIN ui_reruns l ON l.run_id = r.id ORDER BY r.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
    keys = (
        "id", "started_at", "duration", "targets", "workers", "passed", "failed", "skipped",
        "cancelled", "interrupted", "exit_code", "rerun_of",
    )  # fmt: skip
    out = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        item["targets"] = json.loads(item["targets"])
        item["interrupted"] = bool(item["interrupted"])
        out.append(item)
    return out


def not_passed(path: str, run_id: int | None) -> list[str] | None:
    """Names of a run's tasks that did not pass (the last run when ``run_id`` is None)."""
    if not Path(path).exists():
        if run_id is not None:
            raise UsageError(f"no run {run_id}: there is no run history yet")
        return None
    with closing(connect(path)) as db:
        if run_id is None:
            row = db.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                return None
            run_id = int(row[0])
        elif db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            raise UsageError(f"no run {run_id} in the history")
        marks = ",".join("?" * len(NOT_PASSED))
        names = [
            n
            for (n,) in db.execute(
                f"SELECT name FROM tasks WHERE run_id = ? AND status IN ({marks})",
                (run_id, *NOT_PASSED),
            )
        ]
    if not names:
        raise UsageError(f"run {run_id} has no failed, skipped or cancelled task")
    return names


def run_events(path: str, run_id: int, graph: dict[str, list[str]] | None) -> list[JSONDict]:
    """One past run as events: ``run``, one ``finished`` per task, ``run_finished``.

    ``graph`` maps task names to their dependencies in the current suite (None if unknown).
    """
    if not Path(path).exists():
        raise UsageError("no run history yet")
    with closing(connect(path)) as db, db:
        db.execute(LINKS)
        run = db.execute(
            "SELECT r.started_at, r.duration, r.workers, r.passed, r.failed, r.skipped,"
            " r.cancelled, r.interrupted, l.rerun_of, r.targets"
            " FROM runs r LEFT JOIN ui_reruns l ON l.run_id = r.id WHERE r.id = ?",
            (run_id,),
        ).fetchone()
        if run is None:
            raise UsageError(f"no run {run_id} in the history")
        tasks = db.execute(
            "SELECT name, status, thread, started_at, duration, error_type, error_message,"
            " traceback, reason, log FROM tasks WHERE run_id = ? ORDER BY rowid",
            (run_id,),
        ).fetchall()
    (
        started,
        duration,
        workers,
        passed,
        failed,
        skipped,
        cancelled,
        interrupted,
        rerun_of,
        targets,
    ) = run
    names = [t[0] for t in tasks]
    ids = {n: i for i, n in enumerate(names)}
    deps = graph or {}
    preds = [[ids[d] for d in deps.get(n, []) if d in ids] for n in names]
    threads = sorted({t[2] for t in tasks if t[2]})
    events: list[JSONDict] = [
        {
            "type": "run",
            "live": False,
            "history_id": run_id,
            "names": names,
            "preds": preds,
            "workers": workers,
            "threads": threads,
            "state": {},
            "selection": {},
            "rerun_of": rerun_of,
            "targets": json.loads(targets),
        },
        {"type": "run_started", "workers": workers, "wall": started},
    ]
    for i, (_, status, thread, t_start, dur, etype, emsg, tb, reason, log) in enumerate(tasks):
        start = None if t_start is None else round(t_start - started, 6)
        end = start + dur if start is not None and dur is not None else None
        error = (
            None if etype is None else {"type": etype, "message": emsg or "", "traceback": tb or ""}
        )
        events.append(
            {
                "type": "finished",
                "task": i,
                "status": status,
                "thread": thread,
                "start": start,
                "end": end,
                "error": error,
                "reason": reason,
            }
        )
        events += [{"type": "log", "task": i, "line": line} for line in (log or "").splitlines()]
    events.append(
        {
            "type": "run_finished",
            "history_id": run_id,
            "duration": duration,
            "interrupted": bool(interrupted),
            "counts": {
                "PASSED": passed,
                "FAILED": failed,
                "SKIPPED": skipped,
                "CANCELLED": cancelled,
            },
            "critical_path": _critical(names, preds, tasks),
        }
    )
    for k, event in enumerate(events):
        event["id"] = k + 1
    return events


def _critical(names: list[str], preds: list[list[int]], tasks: list[Any]) -> list[int]:
    from thread_order import analyze

    durations = {t[0]: t[4] or 0.0 for t in tasks}
    chain = analyze(names, preds).critical_path(durations).chain if names else ()
    ids = {n: i for i, n in enumerate(names)}
    return [ids[n] for n in chain]
