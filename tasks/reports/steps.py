"""Build a report (§5) of a period into a directory: `report.html`, `report.xlsx`, `figures.json`,
and the pieces the flow sends (S4). Used by the scheduled flows and by `kefu report …`."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import task
from sqlalchemy.orm import Session

from models.statistics import REPORT_TITLES, period_bounds
from tasks.platform.mail import Attachment, OutgoingMail
from tasks.platform.policy import IO_TASK
from tasks.platform.render import render_mail
from tasks.reports.output import (PREVIEW_ROWS, RenderedReport, Table, analysis_tables, charts, json_row,
                                 monthly_tables, previews, render_html, weekly_tables, write_figures,
                                 write_workbook)
from tasks.platform.runtime import Services, services
from tasks.reports.statistics import (analysis_figures, monthly_figures, overdue_cases, typical_cases,
                              weekly_figures)
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@dataclass
class BuiltReport:
    report: RenderedReport
    html_path: Path
    xlsx_path: Path
    json_path: Path


def _tables(kind: str, s: Session, period: str, figures: dict[str, Any], names: Callable[[str], str]) -> list[Table]:
    if kind == "analysis":
        return analysis_tables(figures, lambda: typical_cases(s, period))
    start, end = period_bounds(kind, period)
    overdue = lambda: overdue_cases(s, start, end, names)  # noqa: E731 - a fresh cursor per reader
    return monthly_tables(figures, overdue) if kind == "monthly" else weekly_tables(figures, overdue)


def build_report(engine: Engine, kind: str, period: str, out_dir: Path, names: Callable[[str], str] = lambda e: e,
                 font_file: Path | None = None) -> BuiltReport:
    """Figures by grouped queries, then the workbook, `figures.json` and the HTML (charts embedded).
    Each case list is read once from its cursor: into the workbook, a spool file for figures.json
    and the first rows for the HTML."""
    figure_fn = {"monthly": monthly_figures, "weekly": weekly_figures, "analysis": analysis_figures}[kind]
    out_dir.mkdir(parents=True, exist_ok=True)
    xlsx, js, html = out_dir / "report.xlsx", out_dir / "figures.json", out_dir / "report.html"
    with Session(engine) as s, tempfile.TemporaryDirectory(prefix="kefu-report-") as spool_dir:
        figures = figure_fn(s, period, names)
        tables = _tables(kind, s, period, figures, names)
        spools = {t.key: open(Path(spool_dir) / f"{t.key}.jsonl", "w+", encoding="utf-8")  # noqa: SIM115
                  for t in tables if t.streamed}
        first: dict[str, list[dict]] = {k: [] for k in spools}

        def tap(t: Table, row: dict) -> None:
            spools[t.key].write(json_row(row) + "\n")
            if len(first[t.key]) <= PREVIEW_ROWS:
                first[t.key].append(row)

        try:
            write_workbook(xlsx, f"{REPORT_TITLES[kind]} {period}", tables, tap)
            for fh in spools.values():
                fh.seek(0)
            write_figures(js, figures, spools)
        finally:
            for fh in spools.values():
                fh.close()
        report = RenderedReport(kind=kind, period=period, title=REPORT_TITLES[kind], figures=figures,
                                charts=charts(kind, figures, font_file), previews=previews(tables, first))
    html.write_text(render_html(report, inline=False), encoding="utf-8")
    return BuiltReport(report=report, html_path=html, xlsx_path=xlsx, json_path=js)


def person_name(svc: Services) -> Callable[[str], str]:
    def name(email: str) -> str:
        p = svc.org.find(email) if email else None
        return p.name if p else email
    return name


def recipients(svc: Services, kind: str) -> list[str]:
    """The report's recipients: configured per report (KEFU_REPORT_<KIND>_TO), else by role."""
    configured = svc.settings.report_recipients(kind)
    if configured:
        return configured
    roles = {"monthly": ("general_manager", "l2_handler", "quality_lead"),
             "weekly": ("l2_handler", "archive_clerk"),
             "analysis": ("general_manager", "l3_sales_director", "l3_admin_director", "l2_handler")}[kind]
    out: list[str] = []
    for role in roles:
        for p in svc.org.people_for_role(role):
            if p.email not in out:
                out.append(p.email)
    return out


@task(name="生成报表 build report", **IO_TASK)
def build_report_task(kind: str, period: str) -> BuiltReport:
    svc = services()
    return build_report(svc.store.engine, kind, period, svc.settings.home / "reports" / kind / period,
                        person_name(svc), font_file=svc.settings.cjk_font)


def report_mail(built: BuiltReport, to: list[str]) -> OutgoingMail:
    """S4: the HTML email (charts inline by cid), the workbook attached."""
    r = built.report
    mail = render_mail("report", to, title=r.title, period=r.period, case_no=f"{r.title} {r.period}")
    mail.html = render_html(r, inline=True)
    mail.inline_images = {cid: Attachment.from_bytes(f"{cid}.png", png, "image/png")
                          for cid, (_cap, png) in r.charts.items()}
    mail.attachments = [Attachment.from_bytes(
        f"{r.title}-{r.period}.xlsx", built.xlsx_path.read_bytes(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]
    return mail


@task(name="邮件发送报表 queue report mail", **IO_TASK)
def queue_report_mail(built: BuiltReport, to: list[str]) -> bool:
    """Queued once per report and period (a re-run of the flow sends nothing twice)."""
    svc = services()
    r = built.report
    return svc.store.queue_mail(f"report:{r.kind}:{r.period}", report_key(r.kind, r.period), report_mail(built, to),
                                svc.clock.now())


def report_key(kind: str, period: str) -> str:
    """The outbox's case key of a report's email (as `SAMPLES-2026-10` for the sample totals)."""
    return f"REPORT-{kind}-{period}"
