"""``--junitxml`` and ``--json-report``: files built from the ``RunResult`` only.

JUnit: one ``<testcase>`` per task (classname = module, name = task, time = duration), a
``<failure>`` with message and traceback, ``<skipped message="upstream X failed">``, and the
thread as a ``<property>``, the task's captured log as ``<system-out>``. Cancelled tasks are
skipped with their reason. A timed-out task is a ``<failure type="TimeoutError">`` whose message
is ``timed out after ...`` and whose body is the stack where it was stuck. A retried task has
an ``attempts`` property and one ``retried`` property per failed attempt; the failed attempts'
tracebacks are appended to ``<system-out>``.
"""

from __future__ import annotations

import json
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .paths import ensure_parent

if TYPE_CHECKING:
    from thread_order import RunResult, TaskError

REPORT_VERSION = 1  # fields are only ever added (attempts, flaky, retried came later)
# Characters XML 1.0 cannot carry (ANSI colour codes in a log, NULs in an error message).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("?", text)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch))


def junit_tree(
    result: RunResult, modules: Mapping[str, str], logs: Mapping[str, str] | None = None
) -> ET.ElementTree:
    counts = {str(k): v for k, v in result.counts().items()}
    failures = counts["FAILED"] + counts["TIMED_OUT"]
    skipped = counts["SKIPPED"] + counts["CANCELLED"]
    suites = ET.Element("testsuites", name="tdrun")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="tdrun",
        tests=str(len(result)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{result.duration:.3f}",
        timestamp=_iso(result.started_at),
        hostname=socket.gethostname(),
    )
    for r in result.records:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=modules.get(r.name, ""),
            name=r.name,
            time=f"{r.duration or 0.0:.3f}",
        )
        if r.thread or r.retried:
            props = ET.SubElement(case, "properties")
            if r.thread:
                ET.SubElement(props, "property", name="thread", value=r.thread)
            if r.retried:
                ET.SubElement(props, "property", name="attempts", value=str(r.attempts))
                ET.SubElement(props, "property", name="flaky", value=str(r.flaky).lower())
                for k, e in enumerate(r.retried, 1):
                    text = _xml(f"attempt {k}: {e.type}: {e.message}")
                    ET.SubElement(props, "property", name="retried", value=text)
        status = str(r.status)
        if status in ("FAILED", "TIMED_OUT"):
            err = r.error
            if err is None:
                message = status
            elif status == "TIMED_OUT":
                message = err.message  # "timed out after 2s; ..."
            else:
                message = f"{err.type}: {err.message}"
            node = ET.SubElement(
                case, "failure", message=_xml(message), type=err.type if err else status
            )
            node.text = _xml(err.traceback if err and err.traceback else message)
        elif status in ("SKIPPED", "CANCELLED"):
            message = r.reason or (r.error.message if r.error else status.lower())
            ET.SubElement(case, "skipped", message=_xml(message))
        out = [logs[r.name]] if logs and logs.get(r.name) else []
        for k, e in enumerate(r.retried, 1):
            out.append(f"--- attempt {k} failed: {e.type}: {e.message}\n{e.traceback}".rstrip())
        if out:
            ET.SubElement(case, "system-out").text = _xml("\n".join(out))
    return ET.ElementTree(suites)


def write_junit(
    path: str,
    result: RunResult,
    modules: Mapping[str, str],
    logs: Mapping[str, str] | None = None,
) -> None:
    ensure_parent(path)
    tree = junit_tree(result, modules, logs)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def json_record(
    result: RunResult,
    modules: Mapping[str, str],
    logs: Mapping[str, str] | None = None,
    *,
    exit_code: int,
) -> dict[str, Any]:
    """The full run record: run fields plus one entry per task (times in epoch seconds)."""
    to_epoch = result.started_at - result.started_perf
    logs = logs or {}
    tasks = []
    for r in result.records:
        err = r.error
        tasks.append(
            {
                "name": r.name,
                "module": modules.get(r.name, ""),
                "status": str(r.status),
                "thread": r.thread,
                "start": None if r.start is None else r.start + to_epoch,
                "end": None if r.end is None else r.end + to_epoch,
                "duration": r.duration,
                "reason": r.reason,
                "error": None if err is None else _error(err),
                "attempts": r.attempts,
                "flaky": r.flaky,
                "retried": [_error(e) for e in r.retried],
                "result": _jsonable(r.result),
                "log": logs.get(r.name, ""),
            }
        )
    return {
        "version": REPORT_VERSION,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "duration": result.duration,
        "workers": result.workers,
        "interrupted": result.interrupted,
        "exit_code": int(exit_code),
        "counts": {str(k).lower(): v for k, v in result.counts().items()},
        "summary": result.summary_text(),
        "flaky": result.flaky(),
        "tasks": tasks,
    }


def _error(err: TaskError) -> dict[str, Any]:
    return {
        "type": err.type,
        "message": err.message,
        "traceback": err.traceback,
        "context": _jsonable(err.context),
    }


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def write_json(
    path: str,
    result: RunResult,
    modules: Mapping[str, str],
    logs: Mapping[str, str] | None = None,
    *,
    exit_code: int,
) -> None:
    ensure_parent(path)
    record = json_record(result, modules, logs, exit_code=exit_code)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=2)
        fh.write("\n")
