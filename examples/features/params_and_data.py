"""Parametrized tasks and data passing: one VPC per region, each gateway attached to its own.

``create_vpc`` is registered once with ``params={'region': [...]}`` and becomes one task per
region, ``create_vpc[us-west]`` and ``create_vpc[eu]``. ``attach_gateway[{region}]`` depends on
the matching instance (``create_vpc[{region}]``) and receives its result as the parameter named
after it, ``create_vpc``: no digging in ``state['results']``, and a failed upstream is a clear
error rather than ``None``. ``audit`` depends on every instance (``attach_gateway[*]``) and so
receives a dict ``{instance name: result}``. Run it with::

    tdrun examples/features/params_and_data.py           # 7 tasks, all passed
    tdrun examples/features/params_and_data.py --graph   # the expanded graph, nothing run
"""

import time

from thread_order import dmark, mark

REGIONS = ["us-west", "eu"]


def setup_state(state):
    """Called once by tdrun before the run: the account every resource is created in."""
    state.setdefault("account", "acct-42")


@mark(params={"region": REGIONS})
def create_vpc(state, region):
    time.sleep(0.05)  # the API call
    return {"id": f"vpc-{region}", "region": region, "account": state["account"]}


@dmark(params={"region": REGIONS}, after=["create_vpc[{region}]"])
def attach_gateway(region, create_vpc):
    # create_vpc is the result of create_vpc[<this region>], the only instance we depend on
    assert create_vpc["region"] == region, create_vpc
    return {"gateway": f"igw-{region}", "vpc": create_vpc["id"]}


@dmark(after=["attach_gateway[*]"])
def audit(attach_gateway):
    # several instances of one family: a dict keyed by instance name, in registration order
    assert list(attach_gateway) == [f"attach_gateway[{r}]" for r in REGIONS], attach_gateway
    return sorted(result["vpc"] for result in attach_gateway.values())


@dmark(params=["admin", "viewer"], after=["create_vpc"])
def grant_role(param, create_vpc):
    # a plain list of params arrives as `param`; the bare family name means every instance
    return {"role": param, "vpcs": sorted(create_vpc)}
