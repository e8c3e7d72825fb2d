"""样品月度汇总 — month-end sample totals for finance (P3), reconciled with the workshop ledger."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path

from datetime import date

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from deployments.names import SAMPLE_MONTH_TOTALS, flow_name
from models.business_days import TZ
from models.samples import previous_month
from tasks.notify import notify
from tasks.platform.runtime import services
from tasks.samples.steps import sample_month_totals
from tasks.platform.policy import IO_TASK


@task(name="汇总当月样品 total the month's samples", **IO_TASK)
def total_samples(first_day: str) -> dict:
    return sample_month_totals(services().store, date.fromisoformat(first_day))


@flow(name=flow_name(SAMPLE_MONTH_TOTALS), flow_run_name="sample-month-totals-{month}")
def sample_month_totals_flow(month: str | None = None) -> dict:
    svc = services()
    first = date.fromisoformat(f"{month}-01") if month else previous_month(svc.clock.now().astimezone(TZ).date())[0]
    totals = total_samples(first.isoformat())
    create_table_artifact(key="sample-month-totals", table=totals["lines"] or [{"product": "（本月无样品）"}],
                          description=f"{totals['month']} 样品汇总：{totals['issues']} 次，"
                                      f"{totals['quantity']} 个，{totals['weight_kg']} kg")
    summary = {"月份": totals["month"], "发放次数": totals["issues"], "数量（个）": totals["quantity"],
               "重量（kg）": totals["weight_kg"]}
    for line in totals["lines"]:
        summary[f"{line['product']} / {line['size_label']}"] = f"{line['quantity']} 个，{line['weight_kg']} kg"
    summary["与审批单数量不符"] = "；".join(f"{d['case_no']} 批 {d['approved']} 发 {d['issued']}"
                                    for d in totals["differences"]) or "无"
    summary["已批未发"] = "、".join(totals["unissued"]) or "无"
    summary["已发放未经门卫核验放行（P4）"] = "、".join(totals["no_gate_check"]) or "无"
    summary["库存取样与仓库台账不符（P5）"] = "；".join(
        f"{m['case_no']} 汇总 {m['counted']} 台账 {m['warehouse_ledger'] if m['warehouse_ledger'] is not None else '未登记'}"
        f" 领用单 {m['requisition'] if m['requisition'] is not None else '无'}" for m in totals["stock_mismatches"]) or "无"
    notify(f"SAMPLES-{totals['month']}", "month-totals", "notice",
           [p.email for p in svc.org.people_for_role("accounting")],
           {"case_no": f"样品月报 {totals['month']}", "title": f"{totals['month']} 样品出门汇总（计入销售费用）",
            "message": "以下为上月经审批发放的免费样品，已与车间样品台账核对，请计入销售费用。", "summary": summary})
    return totals
