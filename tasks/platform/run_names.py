"""A periodic flow's run is named after the period it works on (`archive-report-2026-10`): the
parameter when the run was given one, else the period its steps default to as the services' clock
sees it — a scheduled run has no parameter, and a template name would read `archive-report-None`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prefect.runtime import flow_run

from tasks.platform.runtime import services


def period_run_name(prefix: str, param: str, default: Callable[[datetime], str]) -> Callable[[], str]:
    """For `@flow(flow_run_name=…)`: `{prefix}-{period}`, the period `param`'s value or `default(now)`."""
    def name() -> str:
        return f"{prefix}-{(flow_run.parameters or {}).get(param) or default(services().clock.now())}"
    return name
