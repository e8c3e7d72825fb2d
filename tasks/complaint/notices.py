"""The complaint's deadline notices (C8) sent through the outbox under a stable key — by the watchdog's
checks (tasks/complaint/watch.py) and by the close step (tasks/complaint/steps.py) alike."""

from __future__ import annotations

from datetime import datetime

from models.complaint.handling import overdue_notices
from models.tables import Case
from tasks.platform.render import render_mail
from tasks.platform.runtime import Services


def iso_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def handler_of(svc: Services, case: Case) -> str:
    return case.data.get("handler") or case.data["received_by"]


def department_heads(svc: Services, case: Case) -> list[str]:
    """The responsible department (named in the plan) and its head's superior, for a 《催办单》."""
    name = (case.data.get("plan") or {}).get("responsibility_department", "")
    out: list[str] = []
    for d in svc.org.departments:
        if d.head and name and (d.name == name or d.code == name):
            out.append(d.head)
            boss = svc.org.superior_of(d.head)
            if boss:
                out.append(boss.email)
    handler = handler_of(svc, case)
    boss = svc.org.superior_of(handler) if svc.org.find(handler) else None
    return sorted({handler, *out, *([boss.email] if boss else [])})


def queue_case_notice(svc: Services, case: Case, key: str, to: list[str], title: str, message: str,
           event: str, now: datetime) -> int:
    mail = render_mail("notice", to, case_no=case.case_no, title=title, message=message,
                       summary={"投诉编号": case.case_no, "标题": case.title,
                                "结案期限": case.data["deadlines"]["close"][:16].replace("T", " ")})
    return int(svc.store.queue_mail(f"notice:{case.case_no}:{key}", case.case_no, mail, now,
                                    event=(event, {"to": to, "key": key})))


def inquiry_if_late(svc: Services, case: Case) -> int:
    """C8: a case closed after its deadline gets a 《治办单》 asking why it was late."""
    if case.closed_at is None or "deadlines" not in case.data:
        return 0
    if "inquiry_notice" not in overdue_notices(iso_time(case.data["deadlines"]["close"]), case.closed_at,
                                               case.closed_at):
        return 0
    return queue_case_notice(svc, case, "inquiry-notice", department_heads(svc, case), "《治办单》",
                  f"投诉 {case.case_no} 已于结案期限后结案，请说明逾期原因并提出改进措施。",
                  "inquiry_notice", svc.clock.now())
