"""A small suite for the dashboard tests: a pass, a failure with hostile text, a skip."""

import time

from thread_order import ThreadProxyLogger, mark

logger = ThreadProxyLogger()


@mark()
def prepare(state):
    logger.info("<script>alert('log')</script> prepared")
    time.sleep(0.05)


@mark(after=["prepare"])
def explode(state):
    raise ValueError("<img src=x onerror=alert(1)>")


@mark(after=["explode"])
def after_explode(state):
    pass


@mark(after=["prepare"], tags="fast")
def fine(state):
    time.sleep(0.05)
