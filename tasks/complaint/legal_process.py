"""C27 (procedures §7.1): a complaint's `in_legal_process` flag and the changes in its proceedings, as
the web app records them (webapp/complaints_legal.py) — rules in models/complaint/legal_process.py.

Setting the flag tells the GM, the chairman, both L3 directors and the legal counsel (the same notice the
flow sends when the handler sets the flag on naming the department: one outbox key, sent once); each
recorded change in the proceedings goes to them at once; a refused clear is recorded on the case."""

from __future__ import annotations

from typing import Any

from models.business_days import TZ
from models.complaint.legal_process import TOLD_ROLES, flag_refusal, update_refusal
from tasks.platform.runtime import Services
from tasks.complaint.steps import _notice
from tasks.notify import deliver_outbox


class LegalProcessRefused(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def told(svc: Services) -> list[str]:
    return sorted({p.email for r in TOLD_ROLES for p in svc.org.people_for_role(r)})


def _tell(svc: Services, case_no: str, key: str, title: str, message: str) -> None:

    case = svc.store.get_case(case_no)
    _notice(svc, case_no, key, told(svc), title, message, {"投诉编号": case_no, "标题": case.title},
            event="legal_process_notice_sent")
    deliver_outbox(svc.store, svc.mailer, svc.clock.now(), case_no=case_no)  # at once; a failure: the watchdog's


def _is_handler(svc: Services, case_no: str, person: str) -> bool:
    data = svc.store.get_case(case_no).data
    return person.lower() in {str(data.get(k) or "").lower() for k in ("handler", "received_by")}


def set_flag(svc: Services, case_no: str, person: str, on: bool, reason: str) -> dict[str, Any]:
    """Set or clear the flag as `person`. A refusal is recorded (event `legal_process_change_refused`) and
    raised; an unchanged flag changes nothing."""
    now = svc.clock.now()
    case = svc.store.get_case(case_no)
    why = flag_refusal(svc.org.roles_of(person), on=on, is_case_handler=_is_handler(svc, case_no, person))
    if why:
        svc.store.add_event(case_no, "legal_process_change_refused", actor=person, now=now,
                            data={"in_legal_process": on, "reason": why[1]})
        raise LegalProcessRefused(*why)
    record = dict(case.data.get("legal_process") or {})
    if bool(case.data.get("in_legal_process")) == on:
        return record
    at = now.astimezone(TZ).isoformat()
    record |= ({"flagged_by": person, "flagged_at": at, "reason": reason} if on
               else {"cleared_by": person, "cleared_at": at, "clear_reason": reason})
    svc.store.update_case(case_no, actor=person, kind="in_legal_process_set" if on else "in_legal_process_cleared",
                          now=now, data={"in_legal_process": on, "legal_process": record},
                          event_data={"reason": reason})
    if on:
        _tell(svc, case_no, "legal-process", "投诉涉及司法程序",
              f"投诉 {case_no} 涉及司法程序（{reason}），处理方案须经行政管理中心、法律顾问审核，总经理、董事长批准后方可实施。")
    else:
        n = len(record.get("updates") or []) + 1
        _tell(svc, case_no, f"legal-cleared-{n}", "投诉司法程序已结束",
              f"投诉 {case_no} 已由法律顾问解除「涉及司法程序」标记：{reason}")
    return record


def record_update(svc: Services, case_no: str, person: str, text: str) -> dict[str, Any]:
    """A change in the proceedings (开庭、判决、调解…), recorded on the case and sent at once."""
    now = svc.clock.now()
    case = svc.store.get_case(case_no)
    why = update_refusal(svc.org.roles_of(person), flagged=bool(case.data.get("in_legal_process")),
                         is_case_handler=_is_handler(svc, case_no, person))
    if why:
        svc.store.add_event(case_no, "legal_process_update_refused", actor=person, now=now, data={"reason": why[1]})
        raise LegalProcessRefused(*why)
    record = dict(case.data.get("legal_process") or {})
    update = {"at": now.astimezone(TZ).isoformat(), "by": person, "text": text}
    record["updates"] = [*(record.get("updates") or []), update]
    n = len(record["updates"])
    svc.store.update_case(case_no, actor=person, kind="legal_process_update_recorded", now=now,
                          data={"legal_process": record}, event_data={"n": n, "text": text})
    _tell(svc, case_no, f"legal-update-{n}", f"司法程序进展（第 {n} 次）", f"投诉 {case_no} 司法程序有新进展：{text}")
    return update
