"""看门狗 — the deadline watchdog, on an interval schedule (and `kefu sla-check --now`).

No `from __future__ import annotations` in a flow module: Prefect validates a run's parameters against
the flow's annotations, which must resolve wherever the flow is unpickled (Prefect's spawn start sends
the flow by value; tests/unit/test_served_flows.py checks every served flow that way)."""

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path
from datetime import datetime

from prefect import flow, get_run_logger

from deployments.names import SLA_WATCHDOG, flow_name
from tasks.platform.runtime import services
from tasks.platform.watchdog import sla_check


@flow(name=flow_name(SLA_WATCHDOG), log_prints=True)
def sla_watchdog(now: datetime | None = None) -> dict:
    svc = services()
    counts = sla_check(svc, now or svc.clock.now())
    get_run_logger().info("watchdog: %s", counts)
    return counts
