"""Streaming results, a Chrome trace and the post-run profile, from the library API.

``iter_run()`` yields each task's record the moment it completes, while the rest still run;
a listener subscribed to some kinds of event only (here ``TaskStarted``) receives just those.
Afterwards the trace (open it in Perfetto or chrome://tracing: one lane per worker thread)
and the profile (critical path, each task's slack, parallelism) explain the run's length.
Run it with::

    python examples/features/streaming_and_trace.py [trace.json]
"""

import sys
import time

from thread_order import Scheduler, TaskStarted, profile, write_trace


def build():
    s = Scheduler(workers=3)
    s.register(lambda: time.sleep(0.2), "provision_db")
    s.register(lambda: time.sleep(0.05), "provision_cache")
    s.register(lambda: time.sleep(0.1), "migrate", after="provision_db")
    s.register(lambda: time.sleep(0.05), "warm_cache", after="provision_cache")
    s.register(lambda: "ok", "smoke_test", after=["migrate", "warm_cache"])
    return s


def main(trace_path):
    s = build()
    started = []
    s.subscribe(lambda events: started.extend(e.task for e in events), kinds=[TaskStarted])
    stream = s.iter_run()
    while True:
        try:
            record = next(stream)
        except StopIteration as done:
            result = done.value
            break
        print(f"{record.name:<16} {record.status.value:<7} {record.duration:.3f}s {record.thread}")
    print(f"a TaskStarted listener saw {len(started)} starts")
    write_trace(result, trace_path)
    prof = profile(result, s.compile())
    print("critical path:", " -> ".join(prof.critical_path), f"({prof.critical_seconds:.2f}s)")
    print("slack:", {name: round(v, 3) for name, v in prof.slack.items()})
    print(f"parallelism: {prof.parallelism:.2f}; trace written to {trace_path}")
    return result


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "trace.json")
