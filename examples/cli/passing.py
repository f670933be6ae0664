"""Three tasks that pass: a -> b, and c on its own. Used for exit code 0 and reports."""

from thread_order import mark


def setup_state(state):
    state.setdefault("greeting", "hello")


@mark()
def a(state):
    return state["greeting"]


@mark(after=["a"])
def b(state):
    return state["results"]["a"] + "!"


@mark(tags="solo")
def c(state):
    return "c"
