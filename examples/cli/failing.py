"""Independent tasks, three of which fail: for -x, --maxfail and --lf."""

from thread_order import mark


@mark()
def ok_1(state):
    pass


@mark()
def bad_1(state):
    raise ValueError("one")


@mark()
def bad_2(state):
    raise ValueError("two")


@mark()
def bad_3(state):
    raise ValueError("three")


@mark(after=["bad_3"])
def after_bad_3(state):
    pass


@mark()
def ok_2(state):
    pass
