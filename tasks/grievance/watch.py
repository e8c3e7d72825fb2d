"""The product-complaint deadlines the watchdog enforces, as of `now` (C8 via C16, R9).

- C8: 15 / 20 days from the company's receipt — a reminder one business day before, a 《催办单》 to
  the GM office and the step's holder after it (each once per case);
- R9: while the quantity is pending, a weekly reminder to the salesperson (once per week).
Every notice goes through the outbox under a stable key, so each is sent once however often the
watchdog runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from models.complaint.handling import overdue_notices
from models.grievance import QUANTITY_REMINDER_DAYS
from models.tables import Case
from tasks.grievance.steps import OPEN_STATES, PROCEDURE
from tasks.platform.render import render_mail
from tasks.platform.runtime import Services


def _queue(svc: Services, case: Case, key: str, to: list[str], title: str, message: str, event: str,
           now: datetime) -> int:
    mail = render_mail("notice", to, case_no=case.case_no, title=title, message=message,
                       summary={"编号": case.case_no, "标题": case.title,
                                "结案期限": case.data["deadlines"]["close"][:16].replace("T", " ")})
    return int(svc.store.queue_mail(f"notice:{case.case_no}:{key}", case.case_no, mail, now,
                                    event=(event, {"to": to, "key": key})))


def _holders(svc: Services, case: Case) -> list[str]:
    """The GM office and whoever holds the case's open step now."""
    out = {p.email for p in svc.org.people_for_role("gm_office")}
    out |= {t.assignee for t in svc.store.tasks_of(case.case_no) if t.state in ("open", "escalated")}
    return sorted(out)


def grievance_checks(svc: Services, now: datetime) -> dict[str, Any]:
    counts = {"grievance_close_reminders": 0, "grievance_urge_notices": 0, "quantity_reminders": 0}
    _total, cases = svc.store.list_cases(procedure=PROCEDURE, limit=100000)
    for case in cases:
        if case.closed_at is not None or case.state not in (*OPEN_STATES, "filed", "returned"):
            continue
        d = case.data["deadlines"]
        close = datetime.fromisoformat(d["close"])
        due = close.strftime("%Y-%m-%d %H:%M")
        for notice in overdue_notices(close, now, None, remind_at=datetime.fromisoformat(d["remind_before_close"])):
            if notice == "reminder":
                counts["grievance_close_reminders"] += _queue(
                    svc, case, "close-reminder", _holders(svc, case), "客户抱怨结案期限提醒",
                    f"客户抱怨 {case.case_no} 将于 {due} 到期（15/20 天），请抓紧处理。", "close_reminder", now)
            else:
                counts["grievance_urge_notices"] += _queue(
                    svc, case, "urge-notice", _holders(svc, case), "《催办单》",
                    f"客户抱怨 {case.case_no} 已超过结案期限（{due}）仍未处理完毕，请立即处理并回复。", "urge_notice", now)
        since = case.data.get("quantity_pending_since")
        if case.state == "quantity_pending" and since:
            weeks = (now - datetime.fromisoformat(since)) // timedelta(days=QUANTITY_REMINDER_DAYS)
            if weeks >= 1:
                counts["quantity_reminders"] += _queue(
                    svc, case, f"quantity-reminder-{weeks}", [case.data["salesperson"]], "退换数量待填写（每周提醒）",
                    f"客户抱怨 {case.case_no} 已核决，退换数量「客户加工中未确定」，请客户加工完毕后尽快填写数量。",
                    "quantity_reminder", now)
    return counts
