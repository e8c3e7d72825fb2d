"""The hour deadlines of seed 001 (C21) and the customer's process notice (C20): pure functions, every
one taking the moment it counts from (or `now`) explicitly; results in Asia/Shanghai.

C21 (001 篇2 四(1)2.4–2.5), stricter than C4–C6, so they apply as well; minor = level 1, major = 2–3:
- major, **10 min** from receipt (or escalation): the report to the L2 handler (level 3: also both L3
  directors) — sent by the flow when the level is set, by the watchdog if the run has not;
- department, **1 h** of office time from the hand-over: a department outside CS gets a 《工作联系函》
  (liaison_letter) and its head enters the analysis and handling method within it (office hours:
  business days, default 08:30–17:30);
- minor, **24 h** (clock time) from receipt: the customer gets feedback on the handling — the process
  notice (C20) counts;
- major, **12 h** (clock time) from receipt or escalation: a solution agreed with the customer, else
  the L3 director(s) get the report of the obstacle (an escalation, not a closing deadline or a fine).

C20 (000 «1/12» 5.3.1.3–5.3.1.4; «2» 二(五)): the process outline for the level with each step's
approximate time, written from the case's computed deadlines."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from models.business_days import TZ, BusinessCalendar

MAJOR_REPORT_MINUTES = 10
DEPARTMENT_ANALYSIS_OFFICE_HOURS = 1
MINOR_FEEDBACK_HOURS = 24
MAJOR_SOLUTION_HOURS = 12
OFFICE_OPENS, OFFICE_CLOSES = time(8, 30), time(17, 30)

# name → label (S1's on-time table and the case form)
HOUR_DEADLINE_LABELS: dict[str, str] = {
    "major_report": "重大投诉上报（10分钟）",
    "dept_analysis": "部门分析与处理方法（1小时，工作时间）",
    "feedback": "一般投诉反馈客户（24小时）",
    "solution": "重大投诉解决方案（12小时）",
}


def _local(t: datetime, name: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name}: naive datetime, pass an aware datetime")
    return t.astimezone(TZ)


def is_major(level: int) -> bool:
    if isinstance(level, bool) or level not in (1, 2, 3):
        raise ValueError(f"level must be 1, 2 or 3, got {level!r}")
    return level >= 2


def major_report_due(start: datetime) -> datetime:
    """10 minutes after receipt (or escalation)."""
    return _local(start, "start") + timedelta(minutes=MAJOR_REPORT_MINUTES)


def minor_feedback_due(received_at: datetime) -> datetime:
    """24 hours (clock time) after receipt — never laxer than C4's 1 business day."""
    return _local(received_at, "received_at") + timedelta(hours=MINOR_FEEDBACK_HOURS)


def major_solution_due(start: datetime) -> datetime:
    """12 hours (clock time) after receipt or escalation."""
    return _local(start, "start") + timedelta(hours=MAJOR_SOLUTION_HOURS)


def add_office_hours(start: datetime, hours: float, calendar: BusinessCalendar, *,
                     opens: time = OFFICE_OPENS, closes: time = OFFICE_CLOSES) -> datetime:
    """`start` plus `hours` of office time: only business days between `opens` and `closes` count. A
    hand-over after hours starts counting at the next opening; the deadline falls at or before a closing."""
    if opens >= closes:
        raise ValueError("office hours must open before they close")
    if hours < 0:
        raise ValueError("hours must not be negative")
    t = _local(start, "start")
    left = timedelta(hours=hours)
    for _ in range(3700):  # ten years, one day per step (as add_business_days)
        day = t.date()
        open_at, close_at = datetime.combine(day, opens, TZ), datetime.combine(day, closes, TZ)
        if not calendar.is_workday(day) or t >= close_at:
            t = datetime.combine(day + timedelta(days=1), opens, TZ)
            continue
        t = max(t, open_at)
        if t + left <= close_at:
            return t + left
        left -= close_at - t
        t = datetime.combine(day + timedelta(days=1), opens, TZ)
    raise ValueError("no office hours within ten years")


def department_analysis_due(handed_over_at: datetime, calendar: BusinessCalendar, *,
                            opens: time = OFFICE_OPENS, closes: time = OFFICE_CLOSES) -> datetime:
    """1 office hour after a department outside CS was handed the case (with the 《工作联系函》)."""
    return add_office_hours(handed_over_at, DEPARTMENT_ANALYSIS_OFFICE_HOURS, calendar, opens=opens, closes=closes)


def hour_deadlines(received_at: datetime, level: int) -> dict[str, datetime]:
    """The C21 deadlines known at receipt for a level: major → 10 min report and 12 h solution; minor →
    24 h feedback. (The department's 1 h runs from its hand-over, `department_analysis_due`.)"""
    if is_major(level):
        return {"major_report": major_report_due(received_at), "solution": major_solution_due(received_at)}
    return {"feedback": minor_feedback_due(received_at)}


def met(due: datetime | str, done: datetime | str | None) -> bool | None:
    """On time (True), late (False), or not yet done (None). Done exactly at the deadline is on time."""
    due = datetime.fromisoformat(due) if isinstance(due, str) else due
    if done is None:
        return None
    done = datetime.fromisoformat(done) if isinstance(done, str) else done
    return _local(done, "done") <= _local(due, "due")


# ---- C20: the process notice ------------------------------------------------------------------
def process_steps(level: int, deadlines: dict[str, str], hours: dict[str, str]) -> list[dict[str, str]]:
    """The outline the customer is told for the level: each step and its approximate time (the
    case's computed deadlines, ISO-8601 text as stored on the case)."""
    def at(value: str) -> str:
        return datetime.fromisoformat(value).astimezone(TZ).strftime("%Y-%m-%d %H:%M")

    steps = [{"step": "受理登记，确认投诉级别", "by": "已完成"}]
    if is_major(level):
        steps.append({"step": "上报客服部主管" + ("及中心总监" if level == 3 else ""),
                      "by": at(hours["major_report"]) if "major_report" in hours else "立即"})
    steps.append({"step": "首次联系，了解原因与经过", "by": at(deadlines["first_contact"])})
    if "feedback" in hours:
        steps.append({"step": "向您反馈处理安排", "by": at(hours["feedback"])})
    steps.append({"step": "责任部门调查，提出处理方案", "by": at(deadlines["plan"])})
    if "solution" in hours:
        steps.append({"step": "与您商定解决方案", "by": at(hours["solution"])})
    steps += [{"step": "处理方案审批后实施，告知处理结果并请您评价", "by": at(deadlines["close"])},
              {"step": "处理完毕后回访", "by": "处理完毕后24小时内"}]
    return steps


__all__ = [
    "DEPARTMENT_ANALYSIS_OFFICE_HOURS", "HOUR_DEADLINE_LABELS", "MAJOR_REPORT_MINUTES", "MAJOR_SOLUTION_HOURS",
    "MINOR_FEEDBACK_HOURS", "OFFICE_CLOSES", "OFFICE_OPENS", "add_office_hours", "department_analysis_due",
    "hour_deadlines", "is_major", "major_report_due", "major_solution_due", "met", "minor_feedback_due",
    "process_steps",
]
