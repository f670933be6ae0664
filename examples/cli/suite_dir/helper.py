"""Not a suite file (no test_ prefix or _test suffix): folder discovery skips it."""

from thread_order import mark


@mark()
def never_collected(state):
    raise AssertionError("helper.py must not be collected")
