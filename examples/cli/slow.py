"""A chain of slow tasks, for Ctrl-C: interrupt it and the rest is reported cancelled."""

import time

from thread_order import mark


@mark()
def first(state):
    time.sleep(0.4)


@mark(after=["first"])
def second(state):
    time.sleep(1.5)


@mark(after=["second"])
def third(state):
    pass


@mark()
def side(state):
    time.sleep(0.1)
