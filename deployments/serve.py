"""How the flows are served locally: every deployment in one `prefect.serve` process.

Production uses `deployments/prefect.yaml` with a work pool and workers instead."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from prefect.exceptions import TerminationSignal
from prefect.runner import Runner
from prefect.schedules import Cron, Interval

from deployments import names
from deployments.names import deployment_name
from deployments.prefect_seams import seam_problems
from deployments.runner import KefuRunner
from deployments.warm_start import WarmRunner, preload_for
from flows.archive.correction import archive_correction
from flows.archive.periodic import archive_cleanup, archive_report
from flows.backup import archive_backup
from flows.complaint.group import group_complaint
from flows.complaint.handling import complaint
from flows.complaint.library_review import case_library_review
from flows.grievance.chain import grievance
from flows.grievance.month import grievance_month
from flows.new_customer import new_customer
from flows.returns import allowance, goods_return
from flows.samples.monthly import sample_month_totals_flow
from flows.samples.request import sample_request
from flows.statistics import analysis_report, monthly_statistics, weekly_report
from flows.watchdog import sla_watchdog
from models.archive.periodic import MONTH_CRON, QUARTER_CRON
from models.complaint.library import REVIEW_CRON
from models.settings import Settings
from models.statistics import SCHEDULES

TZ = "Asia/Shanghai"


def local_flows(settings: Settings) -> list[tuple[Any, dict[str, Any]]]:
    """Every served flow with its deployment's name, tags and schedules."""
    def cron(expr: str) -> dict[str, Any]:
        return {"schedules": [Cron(expr, timezone=TZ)]}

    def name(full: str) -> str:
        return deployment_name(full)

    return [
        (complaint, {"name": name(names.COMPLAINT), "tags": ["procedure:complaint"]}),
        (sample_request, {"name": name(names.SAMPLE_REQUEST), "tags": ["procedure:sample-request"]}),
        (allowance, {"name": name(names.ALLOWANCE), "tags": ["procedure:allowance"]}),
        (goods_return, {"name": name(names.RETURN), "tags": ["procedure:return"]}),
        (archive_correction, {"name": name(names.ARCHIVE_CORRECTION), "tags": ["procedure:archive-correction"]}),
        (archive_backup, {"name": name(names.ARCHIVE_BACKUP), **cron("0 2 * * *")}),
        (new_customer, {"name": name(names.NEW_CUSTOMER), "tags": ["procedure:new-customer"]}),
        (grievance, {"name": name(names.GRIEVANCE), "tags": ["procedure:grievance"]}),
        (sla_watchdog, {"name": name(names.SLA_WATCHDOG), "schedules": [
            Interval(timedelta(seconds=settings.watchdog_interval_seconds), timezone=TZ)]}),
        (sample_month_totals_flow, {"name": name(names.SAMPLE_MONTH_TOTALS), **cron("0 8 1 * *")}),
        (monthly_statistics, {"name": name(names.MONTHLY_STATISTICS), **cron(SCHEDULES["monthly"])}),
        (weekly_report, {"name": name(names.WEEKLY_REPORT), **cron(SCHEDULES["weekly"])}),
        (analysis_report, {"name": name(names.ANALYSIS_REPORT), **cron(SCHEDULES["analysis"])}),
        # S5/S6: days 1–7 at 09:00, the run on the first business day does the work
        (grievance_month, {"name": name(names.GRIEVANCE_MONTH), **cron("0 9 1-7 * *")}),
        (group_complaint, {"name": name(names.GROUP_COMPLAINT), "tags": ["procedure:group-complaint"]}),
        # §7.2 (issue 21): A5 the quarterly archive clean-up, A6 the monthly archive report
        (archive_cleanup, {"name": name(names.ARCHIVE_CLEANUP), **cron(QUARTER_CRON)}),
        (archive_report, {"name": name(names.ARCHIVE_REPORT), **cron(MONTH_CRON)}),
        # C23 (issue 21): the CS manager's quarterly review of the case library
        (case_library_review, {"name": name(names.CASE_LIBRARY_REVIEW), **cron(REVIEW_CRON)}),
    ]


def local_deployments(settings: Settings) -> list:
    return [flow.to_deployment(**options) for flow, options in local_flows(settings)]


def serve_all(settings: Settings) -> None:



    # PREFECT_RUNNER_POLL_FREQUENCY is an int (≥ 1 s); the runner itself takes a float, so a
    # sub-second KEFU_RUNNER_POLL_SECONDS (e.g. 0.25) is passed here: a resumed run is picked up
    # sooner, at the cost of that many queries a second to Prefect's API.
    # KEFU_RUNNER_START=warm (default): runs are forks of a warm process (deployments/warm_start.py);
    # spawn: Prefect's own starter, a new interpreter per run.
    served = local_flows(settings)
    options = {"limit": settings.serve_limit, "pause_on_shutdown": True, "query_seconds": settings.runner_poll_seconds}
    kefu_options = {"wake_on_events": settings.runner_wake_on_events}
    problems = seam_problems()
    if problems:
        print("WARNING: serving with Prefect's own runner (spawn start, unbounded poll), because: "
              + "; ".join(problems), flush=True)
        runner = Runner(**options)
        start = "spawn, Prefect's own runner"
    elif settings.runner_start == "warm":
        runner = WarmRunner(**options, **kefu_options, warm_preload=preload_for([flow for flow, _ in served]),
                            flow_heartbeats=settings.flow_heartbeats)
        start = "warm start"
    else:
        runner = KefuRunner(**options, **kefu_options)
        start = "spawn start"
    for flow, deployment in served:
        # add_flow (not add_deployment): the runner keeps the flow object and starts runs from it
        # directly, instead of `python -m prefect.engine` re-loading the code from storage.
        runner.add_flow(flow, **deployment)
    wake = ", woken by Prefect's events" if settings.runner_wake_on_events and isinstance(runner, KefuRunner) else ""
    print(f"Serving {len(served)} deployments ({start}, "
          f"poll {settings.runner_poll_seconds} s{wake})", flush=True)
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        print("Shutting down the runner", flush=True)
