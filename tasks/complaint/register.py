"""C14: the complaint register (投诉登记表 / 台账) — one line per complaint, established or not, as a view over
the complaint's statistics row (`complaint_facts`, kept current by the store) and its case; exportable to Excel.
The complainant's phone is masked; a deadline shows its time and whether it was met (按时 / 超时 / 未到期)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select

from models.business_days import TZ
from models.complaint.handling import CHANNEL_LABELS, LEVEL_LABELS
from models.privacy import mask_phone
from models.tables import Case, ComplaintFact
from tasks.platform.runtime import Services
from tasks.reports.output import workbook_bytes

SHEET = "客户投诉登记表"
COLUMNS = (("编号", "text", 16), ("受理时间", "text", 17), ("渠道", "text", 8), ("投诉人", "text", 12),
           ("电话", "text", 14), ("类别", "text", 10), ("级别", "text", 16), ("处理人", "text", 26),
           ("责任部门", "text", 12), ("首次联系期限", "text", 17), ("首次联系", "text", 8), ("方案期限", "text", 17),
           ("方案", "text", 8), ("结案期限", "text", 17), ("结案", "text", 8), ("结案时间", "text", 17),
           ("结果", "text", 16), ("满意度", "text", 8))


def _at(t: datetime | None) -> str:
    return t.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if t else "—"


def met(due: datetime | None, done: datetime | None, now: datetime) -> str:
    """按时 when done by the deadline, 超时 when done late or overdue and not done, 未到期 while it runs."""
    if due is None:
        return "—"
    if done is not None:
        return "按时" if done <= due else "超时"
    return "超时" if now > due else "未到期"


def complaint_register(svc: Services, now: datetime) -> list[dict[str, Any]]:
    """Every complaint, in case-number order."""
    with svc.store.session() as s:
        pairs = s.exec(select(ComplaintFact, Case).where(ComplaintFact.case_no == Case.case_no)
                       .order_by(ComplaintFact.case_no)).all()
        rows = []
        for f, case in pairs:
            who = (case.data.get("form") or {}).get("complainant") or {}
            rows.append({
                "编号": f.case_no, "受理时间": _at(f.received_at), "渠道": CHANNEL_LABELS.get(f.channel, f.channel),
                "投诉人": who.get("name", "—"), "电话": mask_phone(who.get("phone")) or "—", "类别": f.category,
                "级别": LEVEL_LABELS.get(f.level or 0, "—"), "处理人": f.handler or f.receiver or "—",
                "责任部门": f.responsible_department or "—",
                "首次联系期限": _at(f.first_contact_due), "首次联系": met(f.first_contact_due, f.first_contact_at, now),
                "方案期限": _at(f.plan_due), "方案": met(f.plan_due, f.plan_at, now),
                "结案期限": _at(f.close_due), "结案": met(f.close_due, f.closed_at, now),
                "结案时间": _at(f.closed_at), "结果": f.state,
                "满意度": str(f.satisfaction) if f.satisfaction is not None else "—"})
    return rows


def register_workbook(rows: list[dict[str, Any]]) -> bytes:
    return workbook_bytes(SHEET, "complaint_register", COLUMNS, rows)
