"""Depends on a task from another module, by unique name and by ``module::task``."""

from thread_order import mark


@mark(after=["create_db"], tags="api")
def create_user(state):
    assert state["results"]["create_db"] == "db"


@mark(after=["test_setup::create_cache", "create_user"], tags="api,slow")
def login(state):
    return "token"
