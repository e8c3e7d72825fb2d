"""样品月度汇总 — month-end sample totals for finance (P3), reconciled with the workshop ledger."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path

from datetime import date

from prefect import flow, task

from deployments.names import SAMPLE_MONTH_TOTALS, flow_name
from models.samples import month_totals_summary
from models.statistics import previous_month_key
from tasks.notify import notify
from tasks.platform.run_names import period_run_name
from tasks.platform.runtime import services
from tasks.samples.steps import sample_month_totals
from tasks.platform.policy import IO_TASK


@task(name="汇总当月样品 total the month's samples", **IO_TASK)
def total_samples(first_day: str) -> dict:
    return sample_month_totals(services().store, date.fromisoformat(first_day))


@task(name="发布样品汇总 publish the totals in Prefect", **IO_TASK)
def publish_totals(totals: dict) -> None:
    services().artifacts.table("sample-month-totals", totals["lines"] or [{"product": "（本月无样品）"}],
                               f"{totals['month']} 样品汇总：{totals['issues']} 次，"
                               f"{totals['quantity']} 个，{totals['weight_kg']} kg")


@flow(name=flow_name(SAMPLE_MONTH_TOTALS), flow_run_name=period_run_name("sample-month-totals", "month", previous_month_key))
def sample_month_totals_flow(month: str | None = None) -> dict:
    return sample_month_totals_steps(month)


def sample_month_totals_steps(month: str | None) -> dict:  # undecorated: mutation testing reaches it (docs/testing.md)
    svc = services()
    first = date.fromisoformat(f"{month or previous_month_key(svc.clock.now())}-01")
    totals = total_samples(first.isoformat())
    publish_totals(totals)
    summary = month_totals_summary(totals)
    notify(f"SAMPLES-{totals['month']}", "month-totals", "notice",
           [p.email for p in svc.org.people_for_role("accounting")],
           {"case_no": f"样品月报 {totals['month']}", "title": f"{totals['month']} 样品出门汇总（计入销售费用）",
            "message": "以下为上月经审批发放的免费样品，已与车间样品台账核对，请计入销售费用。", "summary": summary})
    return totals
