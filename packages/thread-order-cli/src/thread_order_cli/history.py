"""Run history in SQLite: every run and every task, for ``--lf`` and ``tdrun history``.

The database (``.tdrun/history.db`` by default) is created with owner-only permissions: task
errors and tracebacks can contain secrets from the system under test.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exitcodes import UsageError

if TYPE_CHECKING:
    from thread_order import RunResult, TaskRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    duration REAL NOT NULL,
    targets TEXT NOT NULL,
    workers INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    cancelled INTEGER NOT NULL,
    interrupted INTEGER NOT NULL,
    exit_code INTEGER NOT NULL,
    timed_out INTEGER NOT NULL DEFAULT 0,
    flaky INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tasks (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    module TEXT NOT NULL,
    status TEXT NOT NULL,
    thread TEXT NOT NULL,
    started_at REAL,
    duration REAL,
    error_type TEXT,
    error_message TEXT,
    traceback TEXT,
    reason TEXT NOT NULL,
    log TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    retried TEXT
);
CREATE INDEX IF NOT EXISTS tasks_run ON tasks(run_id);
"""

TASK_COLUMNS = (
    "run_id, name, module, status, thread, started_at, duration, error_type, error_message,"
    " traceback, reason, log, attempts, retried"
)
# Columns added after the first schema: (table, column, declaration), added to older databases.
_ADDED = (
    ("tasks", "log", "TEXT"),
    ("tasks", "attempts", "INTEGER NOT NULL DEFAULT 1"),
    ("tasks", "retried", "TEXT"),
    ("runs", "timed_out", "INTEGER NOT NULL DEFAULT 0"),
    ("runs", "flaky", "INTEGER NOT NULL DEFAULT 0"),
)
NOT_PASSED = ("FAILED", "SKIPPED", "CANCELLED", "TIMED_OUT")


def connect(path: str, *, create: bool = True) -> sqlite3.Connection:
    """Open (and create, owner-only) the history database."""
    p = Path(path)
    if not p.exists():
        if not create:
            raise UsageError(f"no run history at {path}")
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o600))
    db = sqlite3.connect(p)
    try:
        db.executescript(SCHEMA)
        columns = {
            table: {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for table in ("runs", "tasks")
        }
        for table, column, declaration in _ADDED:  # a database from an older tdrun
            if column not in columns[table]:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    except sqlite3.DatabaseError as exc:
        db.close()  # not left for the garbage collector (Python 3.13 warns about that)
        raise UsageError(f"--history {path}: not a run history database ({exc})") from None
    return db


def record_run(
    path: str,
    result: RunResult,
    modules: Mapping[str, str],
    logs: Mapping[str, str] | None = None,
    *,
    targets: Sequence[str],
    exit_code: int,
) -> int:
    """Store one run and its tasks (task start times in epoch seconds); return its id."""
    counts = {str(k): v for k, v in result.counts().items()}
    with closing(connect(path)) as db, db:
        cur = db.execute(
            "INSERT INTO runs (started_at, duration, targets, workers, passed, failed, skipped,"
            " cancelled, interrupted, exit_code, timed_out, flaky)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                result.started_at,
                result.duration,
                json.dumps(list(targets)),
                result.workers,
                counts["PASSED"],
                counts["FAILED"] + counts["TIMED_OUT"],
                counts["SKIPPED"],
                counts["CANCELLED"],
                int(result.interrupted),
                int(exit_code),
                counts["TIMED_OUT"],
                len(result.flaky()),
            ),
        )
        run_id = int(cur.lastrowid or 0)
        logs = logs or {}
        to_epoch = result.started_at - result.started_perf
        db.executemany(
            f"INSERT INTO tasks ({TASK_COLUMNS}) VALUES ({','.join('?' * 14)})",
            [_task_row(run_id, r, modules, to_epoch, logs) for r in result.records],
        )
    return run_id


def _task_row(
    run_id: int, r: TaskRecord, modules: Mapping[str, str], to_epoch: float, logs: Mapping[str, str]
) -> tuple[Any, ...]:
    err = r.error
    return (
        run_id,
        r.name,
        modules.get(r.name, ""),
        str(r.status),
        r.thread,
        None if r.start is None else r.start + to_epoch,
        r.duration,
        err.type if err else None,
        err.message if err else None,
        err.traceback if err else None,
        r.reason,
        logs.get(r.name) or None,
        r.attempts,
        json.dumps(
            [{"type": e.type, "message": e.message, "traceback": e.traceback} for e in r.retried]
        )
        if r.retried
        else None,
    )


def last_failed_tasks(path: str) -> list[str] | None:
    """Names of the last run's tasks that did not pass; None if there are none."""
    if not Path(path).exists():
        return None
    with closing(connect(path)) as db:
        row = db.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        marks = ",".join("?" * len(NOT_PASSED))
        names = [
            n
            for (n,) in db.execute(
                f"SELECT name FROM tasks WHERE run_id = ? AND status IN ({marks})",
                (row[0], *NOT_PASSED),
            )
        ]
    return names or None


def recent_durations(path: str, runs: int = 5) -> dict[str, float]:
    """Per task name, the median duration over the last ``runs`` runs that ran it (passed or
    not); empty when there is no history database."""
    if not os.path.exists(path):
        return {}
    with closing(connect(path, create=False)) as db:
        rows = db.execute(
            "SELECT name, duration FROM tasks WHERE duration IS NOT NULL AND run_id IN "
            "(SELECT id FROM runs ORDER BY id DESC LIMIT ?)",
            (runs,),
        ).fetchall()
    by_name: dict[str, list[float]] = {}
    for name, duration in rows:
        by_name.setdefault(name, []).append(float(duration))
    return {name: statistics.median(values) for name, values in by_name.items()}


def recent_runs(path: str, limit: int) -> list[tuple[Any, ...]]:
    with closing(connect(path, create=False)) as db:
        return db.execute(
            "SELECT id, started_at, duration, passed, failed, skipped, cancelled, exit_code,"
            " targets, timed_out, flaky FROM runs ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()


def run_tasks(path: str, run_id: int) -> list[tuple[Any, ...]]:
    with closing(connect(path, create=False)) as db:
        if db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            raise UsageError(f"no run {run_id} in {path}")
        return db.execute(
            "SELECT name, status, thread, duration, error_type, error_message, reason, log,"
            " attempts FROM tasks WHERE run_id = ? ORDER BY rowid",
            (run_id,),
        ).fetchall()


def format_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def history_lines(rows: Iterable[tuple[Any, ...]]) -> list[str]:
    out = []
    for rid, started, dur, p, f, s, c, code, targets, timed_out, flaky in rows:
        what = ", ".join(json.loads(targets))
        extra = f", {timed_out} timed out" if timed_out else ""
        extra += f", {c} cancelled" if c else ""
        extra += f", {flaky} flaky" if flaky else ""
        failed = f - timed_out  # the failed column counts timed-out tasks too
        out.append(
            f"#{rid}  {format_time(started)}  {p} passed, {failed} failed, {s} skipped{extra}"
            f" in {dur:.2f}s  exit {code}  {what}"
        )
    return out
