"""A lifecycle suite for ``tdrun``: prepare a theatre, operate, and see what a failure does.

Six tasks share one state dict, and use it in the way that also works on a Dask cluster
(``tdrun examples/surgery.py --backend dask --local 2``, see docs/distributed.md): values set
before the run are read, and a task's changes are new values it assigns, which its dependents
see. ``sterilize_instruments`` fails on purpose, so
``perform_surgery`` (which needs it) is skipped with the reason "upstream sterilize_instruments
failed", while the independent branch still runs. Run it with::

    tdrun examples/surgery.py            # per-task lines and a summary; exit code 1
    tdrun examples/surgery.py --graph    # the dependency graph, nothing run
    tdrun examples/surgery.py --state-check   # confirms the state use is portable
"""

import time

from thread_order import ThreadProxyLogger, mark

logger = ThreadProxyLogger()


def setup_state(state):
    """Called once by tdrun before the run: seed the shared state."""
    state.setdefault("theatre", "OR-3")
    state["patient"] = {"id": 4711, "ready": False}


def step(state, name, seconds=0.1):
    time.sleep(seconds)
    logger.info(f"{name} done in {state['theatre']}")
    return name


@mark()
def assess_patient(state):
    # a new value, not a change in place: the tasks after this one see it on any backend
    state["patient"] = {**state["patient"], "ready": True}
    return step(state, "assess_patient")


@mark(after=["assess_patient"])
def assign_staff(state):
    return step(state, "assign_staff", 0.2)


@mark(after=["assess_patient"])
def prepare_room(state):
    return step(state, "prepare_room", 0.15)


@mark(after=["prepare_room"])
def sterilize_instruments(state):
    step(state, "sterilize_instruments", 0.1)
    assert False, {"message": "autoclave cycle incomplete", "context": {"autoclave": 2}}


@mark(after=["prepare_room"], tags="checks")
def check_equipment(state):
    return step(state, "check_equipment", 0.1)


@mark(after=["assign_staff", "sterilize_instruments"])
def perform_surgery(state):
    assert state["patient"]["ready"]
    return step(state, "perform_surgery", 0.3)
