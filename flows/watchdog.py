"""看门狗 — the deadline watchdog, on an interval schedule (and `kefu sla-check --now`)."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger

from tasks.runtime import services
from tasks.watchdog import sla_check


@flow(name="sla-watchdog", log_prints=True)
def sla_watchdog(now: datetime | None = None) -> dict:
    svc = services()
    counts = sla_check(svc, now or svc.clock.now())
    get_run_logger().info("watchdog: %s", counts)
    return counts
