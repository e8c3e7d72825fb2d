"""统计报表 — the scheduled statistics (procedures §5, S1–S4).

S1 《客诉案件统计表》 early each month for the previous month (out before the 10th); S2 the clerk's
《投诉周报》 on Monday morning for the week just ended; S3 《客户投诉分析报告表》 at month end. Each
report: the figures by grouped queries, the workbook and the HTML with its charts, the Prefect
artifacts process owners see, then the email to the report's recipients."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from prefect import flow, task
from prefect.runtime import flow_run

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path
from deployments.names import ANALYSIS_REPORT, MONTHLY_STATISTICS, WEEKLY_REPORT, flow_name
from models.privacy import mask_data, mask_text
from models.statistics import REPORT_TITLES, default_period, period_bounds
from tasks.notify import deliver_mail
from tasks.platform.policy import IO_TASK
from tasks.platform.runtime import services
from tasks.reports.steps import build_report_task, queue_report_mail, recipients, report_key

if TYPE_CHECKING:
    from tasks.platform.artifacts import RunArtifacts
    from tasks.reports.output import RenderedReport


def period_of_run(kind: str, param: str, parameters: dict | None, now: datetime) -> str:
    """The period a run reports on: its parameter `param` when given, else the period before `now`'s."""
    return (parameters or {}).get(param) or default_period(kind, now)


def run_name(kind: str, param: str) -> Callable[[], str]:
    """`monthly-statistics-2026-10`: the period the run reports on, also for scheduled runs (no parameter)."""
    def name() -> str:
        return f"{flow_run.flow_name}-{period_of_run(kind, param, flow_run.parameters, services().clock.now())}"
    return name


def run_report(kind: str, period: str | None) -> dict:
    svc = services()
    period = period or default_period(kind, svc.clock.now())
    period_bounds(kind, period)  # a malformed period fails here, before any work
    built = build_report_task(kind, period)
    publish_report(kind, period, built.report)
    queue_report_mail(built, recipients(svc, kind))
    deliver_mail(report_key(kind, period), return_state=True)
    return built.report.figures


@task(name="发布报表 publish the report in Prefect", **IO_TASK)
def publish_report(kind: str, period: str, report: RenderedReport) -> None:
    publish_artifacts(kind, period, report, services().artifacts)


def publish_artifacts(kind: str, period: str, report: RenderedReport, artifacts: RunArtifacts) -> None:
    """S4: the report's tables as Prefect artifacts (the long lists cut, see the workbook; personal
    data masked)."""
    slug = f"{kind}-report"
    lines = [f"# 《{REPORT_TITLES[kind]}》{period}", ""]
    for t in report.previews:
        lines += [f"## {t['title']}", ""]
        if t["note"]:
            lines += [t["note"], ""]
        if not t["rows"]:
            lines += ["（无）", ""]
            continue
        lines += ["| " + " | ".join(t["headers"]) + " |", "|" + "---|" * len(t["headers"])]
        lines += ["| " + " | ".join(v.replace("|", "/") for v in row) + " |" for row in t["rows"]]
        lines += ["", "（仅列出前若干项，完整清单见邮件附件 Excel）" if t["more"] else ""]
    artifacts.markdown(slug, mask_text("\n".join(lines)), f"《{REPORT_TITLES[kind]}》{period}")
    main = report.previews[0]
    artifacts.table(f"{slug}-summary", mask_data([dict(zip(main["headers"], row, strict=True)) for row in main["rows"]]),
                    f"《{REPORT_TITLES[kind]}》{period}：{main['title']}")


@flow(name=flow_name(MONTHLY_STATISTICS), flow_run_name=run_name("monthly", "month"), log_prints=True)
def monthly_statistics(month: str | None = None) -> dict:
    """S1: the previous month's 《客诉案件统计表》 (or `month`, e.g. 2026-10)."""
    return run_report("monthly", month)


@flow(name=flow_name(WEEKLY_REPORT), flow_run_name=run_name("weekly", "week"), log_prints=True)
def weekly_report(week: str | None = None) -> dict:
    """S2: the previous ISO week's 《投诉周报》 (or `week`, e.g. 2026-W44)."""
    return run_report("weekly", week)


@flow(name=flow_name(ANALYSIS_REPORT), flow_run_name=run_name("analysis", "month"), log_prints=True)
def analysis_report(month: str | None = None) -> dict:
    """S3: the ending month's 《客户投诉分析报告表》: trends against previous months, typical cases."""
    return run_report("analysis", month)


__all__ = ["analysis_report", "monthly_statistics", "weekly_report"]
