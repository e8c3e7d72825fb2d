"""How the flows are served locally: every deployment in one `prefect.serve` process.

Production uses `deployments/prefect.yaml` with a work pool and workers instead."""

from __future__ import annotations

from datetime import timedelta

from prefect.schedules import Cron, Interval

from models.settings import Settings

TZ = "Asia/Shanghai"


def local_deployments(settings: Settings) -> list:
    from flows.archive_correction import archive_correction
    from flows.backup import archive_backup
    from flows.complaint import complaint
    from flows.new_customer import new_customer
    from flows.returns import allowance, goods_return
    from flows.sample_request import sample_request
    from flows.samples_monthly import sample_month_totals_flow
    from flows.statistics import analysis_report, monthly_statistics, weekly_report
    from models.statistics import SCHEDULES
    from flows.watchdog import sla_watchdog

    return [
        complaint.to_deployment(name="complaint", tags=["procedure:complaint"]),
        sample_request.to_deployment(name="sample-request", tags=["procedure:sample-request"]),
        allowance.to_deployment(name="allowance", tags=["procedure:allowance"]),
        goods_return.to_deployment(name="return", tags=["procedure:return"]),
        archive_correction.to_deployment(name="archive-correction", tags=["procedure:archive-correction"]),
        archive_backup.to_deployment(name="archive-backup", schedules=[Cron("0 2 * * *", timezone=TZ)]),
        new_customer.to_deployment(name="new-customer", tags=["procedure:new-customer"]),
        sla_watchdog.to_deployment(
            name="sla-watchdog",
            schedules=[Interval(timedelta(seconds=settings.watchdog_interval_seconds), timezone=TZ)],
        ),
        sample_month_totals_flow.to_deployment(
            name="sample-month-totals", schedules=[Cron("0 8 1 * *", timezone=TZ)]),
        monthly_statistics.to_deployment(
            name="monthly-statistics", schedules=[Cron(SCHEDULES["monthly"], timezone=TZ)]),
        weekly_report.to_deployment(name="weekly-report", schedules=[Cron(SCHEDULES["weekly"], timezone=TZ)]),
        analysis_report.to_deployment(
            name="analysis-report", schedules=[Cron(SCHEDULES["analysis"], timezone=TZ)]),
    ]


def serve_all(settings: Settings) -> None:
    from prefect import serve

    # PREFECT_RUNNER_POLL_FREQUENCY is an int (≥ 1 s); the runner itself takes a float, so a
    # sub-second KEFU_RUNNER_POLL_SECONDS (e.g. 0.25) is passed here: a resumed run is picked up
    # sooner, at the cost of that many queries a second to Prefect's API.
    serve(*local_deployments(settings), limit=settings.serve_limit, print_starting_message=True,
          query_seconds=settings.runner_poll_seconds)
