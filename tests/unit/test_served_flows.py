"""Issue 18: a served flow's parameters must validate wherever the flow is unpickled. Prefect's spawn
start sends the flow by value (cloudpickle keeps only the globals its body names); the warm start
sends it by reference (FlowRef). `sla-watchdog` failed every served run until both held."""

import cloudpickle
import pytest

from deployments.names import DEPLOYMENTS, PROCEDURES, deployment_name
from deployments.serve import local_flows
from deployments.warm_start import FlowRef
from models.settings import Settings

SERVED = local_flows(Settings())


def parameters(name: str) -> dict:
    return {"case_no": "TS-2026-000001"} if name in {deployment_name(d) for d in PROCEDURES} else {}


def test_every_deployment_is_served():
    assert sorted(options["name"] for _, options in SERVED) == sorted(deployment_name(d) for d in DEPLOYMENTS)


@pytest.mark.parametrize(("flow", "options"), SERVED, ids=[o["name"] for _, o in SERVED])
def test_parameters_validate_after_a_by_value_round_trip(flow, options):
    copy = cloudpickle.loads(cloudpickle.dumps(flow))
    assert copy.fn is not flow.fn  # really by value, as Prefect's spawn start sends it
    copy.validate_parameters(parameters(options["name"]))


@pytest.mark.parametrize(("flow", "options"), SERVED, ids=[o["name"] for _, o in SERVED])
def test_the_warm_start_sends_each_flow_by_reference(flow, options):
    ref = FlowRef.of(flow)
    assert isinstance(ref, FlowRef)
    back = cloudpickle.loads(cloudpickle.dumps(ref)).load()
    assert back is flow
    back.validate_parameters(parameters(options["name"]))
