"""The small module of the 1.4.0 reference captures: tags, a failure, a mock, a state value."""

from thread_order import ThreadProxyLogger, dmark, mark

logger = ThreadProxyLogger()


@mark(tags="smoke,fast")
def fn_a(state):
    logger.info(f"fn_a env={state.get('env')} region={state.get('region')}")
    return "A"


@mark(after=["fn_a"], tags="smoke")
def fn_b(state):
    logger.info(f"fn_b sees result fn_a={state['results'].get('fn_a')!r}")
    return "B"


@mark(after=["fn_a"], tags="slow")
def fn_c(state):
    raise RuntimeError("boom in c")


@mark(after=["fn_c", "fn_b"])
def fn_d(state):
    return "D"


@dmark()
def fn_nostate():
    return "nostate"
