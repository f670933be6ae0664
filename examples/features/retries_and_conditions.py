"""Retries and run-time conditions in an API lifecycle.

``register_webhook`` hits a flaky endpoint: its first attempt raises ``ConnectionError`` and,
with ``retries=2`` on ``retry_on=ConnectionError``, the second attempt passes. The failed attempt
is recorded and the task is reported as flaky. ``rotate_key`` runs only when its ``run_if``
predicate, given the shared state, says so; here it does not, so it is SKIPPED with the reason
"run_if condition of rotate_key is false". ``notify`` decides from the upstream result instead:
its predicate's parameter is named after its dependency. ``delete_key`` is teardown
(``run_if='all_done'``): it runs whatever happened upstream. Run it with::

    tdrun examples/features/retries_and_conditions.py    # 1 flaky, 1 skipped, exit code 0
"""

from thread_order import mark


def setup_state(state):
    """Called once by tdrun before the run."""
    state.setdefault("rotate_keys", False)  # set True to run rotate_key
    state["webhook_calls"] = 0


@mark()
def create_api_key(state):
    return {"key": "key-123", "scopes": ["read", "write"]}


@mark(after=["create_api_key"], retries=2, retry_delay=0.05, backoff=2, retry_on=ConnectionError)
def register_webhook(state, create_api_key):
    with state["_state_lock"]:
        state["webhook_calls"] += 1
        attempt = state["webhook_calls"]
    if attempt == 1:
        raise ConnectionError("webhook endpoint reset the connection")  # passes on attempt 2
    return {"webhook": "wh-1", "key": create_api_key["key"], "attempt": attempt}


@mark(after=["create_api_key"], run_if=lambda state: state["rotate_keys"])
def rotate_key(state, create_api_key):
    return {"key": create_api_key["key"] + "-rotated"}


@mark(after=["register_webhook"], run_if=lambda register_webhook: register_webhook["attempt"] > 1)
def notify(state, register_webhook):
    # runs: the webhook needed a retry, which someone should hear about
    return f"webhook {register_webhook['webhook']} needed {register_webhook['attempt']} attempts"


@mark(after=["register_webhook", "rotate_key"], run_if="all_done")
def delete_key(state):
    # teardown: runs once its dependencies are finished, whatever their status
    return "key-123 deleted"
