"""The complaint deadlines the watchdog enforces (C4, C7, C8, 001's 10-day rule), as of `now`.

Every notice goes through the outbox under a stable key, so each is sent once however often the
watchdog runs; every violation is recorded once per case and rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.complaint.handling import (NOTICE_LABELS, first_contact_penalty, level_after_days_open,
                               next_progress_contact, overdue_notices)
from models.tables import Case
from tasks.complaint.notices import department_heads as _department_heads
from tasks.complaint.notices import handler_of as _handler
from tasks.complaint.notices import inquiry_if_late  # noqa: F401 - C8's 《治办单》, also sent at the close
from tasks.complaint.notices import iso_time as _dt
from tasks.complaint.notices import queue_case_notice as _queue
from tasks.platform.runtime import Services
from models.rules import task_deadline
from models.tables import HumanTask
from tasks.human import render_request_mail
from models.complaint.hours import is_major, major_solution_due, minor_feedback_due
from tasks.complaint.steps import hour_record, report_major
from tasks.complaint.steps import open_group_cases
from tasks.complaint.steps import send_process_notice
from tasks.complaint.steps import save_penalty
from datetime import timedelta

OPEN_STATES = ("received", "accepted", "resolved")


def last_contact(svc: Services, case: Case) -> datetime | None:
    """The latest contact with the customer: the first contact or a recorded progress contact."""
    times = [t.decided_at for t in svc.store.tasks_of(case.case_no)
             if t.step_key.startswith("progress-") and t.decided_at]
    if case.data.get("first_contact_at"):
        times.append(_dt(case.data["first_contact_at"]))
    return max(times) if times else None


def ask_progress_contact(svc: Services, case: Case, now: datetime) -> int:
    """C7: when a contact is due, the handler gets a task (with its link) to tell the customer how
    the case stands; the answer is the contact's record and restarts the interval."""
    last = last_contact(svc, case)
    if last is None or not case.level:
        return 0
    due = next_progress_contact(last, case.level, svc.calendar)
    if now <= due:
        return 0
    deadline = task_deadline(now, svc.calendar, business_days=1)
    row = HumanTask(case_no=case.case_no, step_key=f"progress-{due.date().isoformat()}",
                    title="进度回复：联系客户告知处理进度", role="l1_handler", assignee=_handler(svc, case),
                    recused=case.data.get("recused", []), answer_model="ProgressContact", choices=["contacted"],
                    summary={"投诉编号": case.case_no, "标题": case.title,
                             "上次联系": last.astimezone(due.tzinfo).strftime("%Y-%m-%d %H:%M")},
                    created_at=now, remind_at=deadline.remind_at, due_at=deadline.due_at)
    _task, created = svc.store.ensure_task(row, lambda t: [render_request_mail(svc, t, t.assignee, now)], now)
    return int(created)


def hour_checks(svc: Services, case: Case, now: datetime) -> dict[str, int]:
    """C21 (001 篇2 四(1)2.4–2.5), as of `now`:
    - a major complaint (level, or the level proposed while the receiver has not confirmed) not yet
      reported is reported by the system from 5 minutes after receipt — within the 10 minutes;
    - a minor complaint whose customer had no feedback 24 h after receipt: the handler and the L2
      handler are told (once); the miss counts in S1;
    - a major complaint without a solution agreed 12 h after receipt (or escalation): the L3 director(s)
      get the report of the obstacle, the handler a copy (once).
    The department's 1 office hour is its plan task's deadline (reminder, then escalation)."""
    out = {"major_reports": 0, "feedback_missed": 0, "solution_reports": 0}
    level = case.level or case.data.get("proposed_level") or 1
    start = case.created_at if case.parent_case_no else _dt(case.data["deadlines"]["received_at"])
    if is_major(level):
        if not (case.data.get("c21_major_report") or {}).get("done") and now >= start + timedelta(minutes=5):
            report_major(svc, case.case_no, level)
            out["major_reports"] += 1
        solved = case.data.get("c21_solution") or {}
        if case.state != "received" and not solved.get("done") and not solved.get("reported_at") \
                and now > major_solution_due(start):
            roles = ["l3_sales_director", "l3_admin_director"] if level == 3 else ["l3_sales_director"]
            to = sorted({p.email for r in roles for p in svc.org.people_for_role(r)} | {_handler(svc, case)})
            out["solution_reports"] += _queue(
                svc, case, "solution-12h", to, "重大投诉12小时内未达成解决方案",
                f"投诉 {case.case_no} 受理已逾12小时，尚未与客户商定解决方案。请处理人说明障碍并持续跟进，"
                "三级受理人督导处理。", "solution_not_agreed_12h", now)
            hour_record(svc, case.case_no, "solution", due=major_solution_due(start), reported_at=now.isoformat())
    elif not case.parent_case_no and case.state != "received":
        fed = case.data.get("c21_feedback") or {}
        if not fed.get("done") and not fed.get("missed_notice_at") and now > minor_feedback_due(start):
            to = sorted({_handler(svc, case), *(p.email for p in svc.org.people_for_role("l2_handler"))})
            out["feedback_missed"] += _queue(
                svc, case, "feedback-24h", to, "一般投诉24小时内未向客户反馈",
                f"投诉 {case.case_no} 受理已逾24小时，客户尚未得到处理反馈。请立即联系客户并告知受理流程。",
                "feedback_missed_24h", now)
            hour_record(svc, case.case_no, "feedback", due=minor_feedback_due(start), missed_notice_at=now.isoformat())
    return out


def complaint_checks(svc: Services, now: datetime) -> dict[str, Any]:
    counts = {"penalties": 0, "urge_notices": 0, "close_reminders": 0, "progress_reminders": 0,
              "upgraded": 0, "major_reports": 0, "feedback_missed": 0, "solution_reports": 0}
    _total, cases = svc.store.list_cases(procedure="complaint", limit=100000)
    for case in cases:
        if case.closed_at is not None or case.state not in OPEN_STATES or "deadlines" not in case.data:
            continue
        d = case.data["deadlines"]
        received = _dt(d["received_at"])
        # C4 / C12: no first contact within 1 business day
        if "first_contact_at" not in case.data:
            p = first_contact_penalty(received, None, now, svc.calendar, handler=case.data["received_by"])
            if p is not None:
                counts["penalties"] += int(save_penalty(svc, case.case_no, p))
        # C8: reminder before the close deadline, 《催办单》 after it
        for notice in overdue_notices(_dt(d["close"]), now, None, remind_at=_dt(d["remind_before_close"])):
            if notice == "reminder":
                legal = [p.email for p in svc.org.people_for_role("legal_counsel")] \
                    if case.data.get("in_legal_process") else []  # C27: the legal counsel too
                counts["close_reminders"] += _queue(
                    svc, case, "close-reminder", sorted({_handler(svc, case), *legal}), "结案期限提醒",
                    f"投诉 {case.case_no} 将于 {d['close'][:16].replace('T', ' ')} 到期，请抓紧处理。",
                    "close_reminder", now)
            else:
                counts["urge_notices"] += _queue(
                    svc, case, "urge-notice", _department_heads(svc, case), f"《{NOTICE_LABELS['urge_notice']}》",
                    f"投诉 {case.case_no} 已超过结案期限（{d['close'][:16].replace('T', ' ')}）仍未处理完毕，"
                    "请责任部门立即处理并回复。", "urge_notice", now)
        # C21: the hour deadlines of seed 001
        for k, n in hour_checks(svc, case, now).items():
            counts[k] += n
        # C7: progress contacts with the customer (weekly; L2/L3 every 3 business days)
        counts["progress_reminders"] += ask_progress_contact(svc, case, now)
        # 001: not reasonably resolved within 10 days becomes major
        if case.level and level_after_days_open(case.level, received, now) > case.level:
            svc.store.update_case(case.case_no, actor="watchdog", kind="level_raised", now=now, level=2,
                                  event_data={"reason": "10 天内未合理解决，转为重大投诉"})
            counts["upgraded"] += 1

            send_process_notice(svc, case.case_no, "email", update="10天内未合理解决，转为重大投诉（二级）")  # C20
    # C26: suggest group complaints (群诉) to the L2 handler

    counts["group_suggestions"] = open_group_cases(svc, now)
    return counts
