"""Dynamic tasks: a running task adds the tasks it finds it needs to its own run.

``list_nodes`` learns at run time which nodes the cluster has and adds one ``drain[...]`` task
per node (``add_task`` with ``params``), each after ``list_nodes`` and before
``delete_cluster``, the teardown, which therefore waits for every drain. Node ``n3`` does not
drain, so ``drain[n3]`` fails; the ``page_on_call`` task that ``list_nodes`` added as well
(``run_if='any_failed'`` over every drain) runs because of it, and the teardown still runs.
Statuses: ``drain[n3]`` failed, everything else passed. Run it with::

    tdrun examples/features/dynamic_tasks.py
"""

from thread_order import add_task, dmark


@dmark()
def create_cluster():
    return {"id": "c-42"}


@dmark(after=["create_cluster"])
def list_nodes(create_cluster):
    nodes = ["n1", "n2", "n3"]  # what the cluster's API answered
    add_task(drain, params=nodes, after=["list_nodes"], before=["delete_cluster"])
    add_task(page_on_call, after=["drain[*]"], run_if="any_failed")
    return nodes


def drain(param):  # not marked: it only ever runs as an added task
    if param == "n3":
        raise RuntimeError(f"node {param} did not drain: 2 pods still running")
    return f"{param} drained"


def page_on_call():
    return "on-call paged: a node did not drain"


@dmark(after=["create_cluster", "list_nodes"], run_if="all_done")
def delete_cluster(create_cluster):
    return f"deleted {create_cluster['id']}"
