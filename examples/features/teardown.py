"""Cleanup that always runs: trigger rules for teardown and on-failure handlers.

``attach_volume`` fails, so ``verify_volume`` is skipped, but ``delete_instance``
(``run_if='all_done'``) still runs once everything before it has finished, and
``collect_diagnostics`` (``run_if='any_failed'``) runs because something upstream failed.
``page_oncall`` would run only if ``create_instance`` failed; it is skipped. Run it with::

    tdrun examples/features/teardown.py          # exit code 1: attach_volume failed
"""

from thread_order import mark


def setup_state(state):
    state["deleted"] = []


@mark()
def create_instance(state):
    return "i-0abc"


@mark(after=["create_instance"])
def attach_volume(state):
    raise RuntimeError("volume vol-9 is in another availability zone")


@mark(after=["attach_volume"])
def verify_volume(state):
    return "mounted"


@mark(after=["verify_volume", "create_instance"], run_if="all_done")
def delete_instance(state):
    # assigned, not appended in place, so that it also works on a Dask cluster
    state["deleted"] = [*state["deleted"], state["results"]["create_instance"]]
    return "deleted"


@mark(after=["attach_volume"], run_if="any_failed")
def collect_diagnostics(state):
    return "diagnostics.tar.gz"


@mark(after=["create_instance"], run_if="any_failed")
def page_oncall(state):
    return "paged"
