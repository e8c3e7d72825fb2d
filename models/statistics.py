"""Statistics and reports (procedures §5, S1–S4): periods, schedules, the complaint facts the
reports group by, and the figures' arithmetic. Pure: no database, no Prefect; `now` is passed in.

Interpretations:
- S1 counts the complaints closed in the month (Asia/Shanghai), every closing state included
  (不成立 is "still recorded and counted", C2). Violations (负激励) count by when they were recorded;
  allowances and returns by when they were booked (closed); certified new customers by certification.
- "Overdue" in a period: closed in it after the close deadline (a 《治办单》 case), or still open at
  the period's end with the deadline passed (a 《催办单》 case). Both are fixed once the period is
  over, so re-running a past period gives the same figures.
- Shares and rates are exact fractions rounded half-up to four places (0.1234 = 12.34%); a rate of
  no cases is null, not zero.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from models.business_days import TZ

ReportKind = Literal["monthly", "weekly", "analysis"]
REPORT_TITLES: dict[str, str] = {"monthly": "客诉案件统计表", "weekly": "投诉周报", "analysis": "客户投诉分析报告表"}
REPORT_IDS: dict[str, str] = {"monthly": "monthly_statistics", "weekly": "weekly_report", "analysis": "analysis_report"}

# S1 before the 10th: the 2nd at 09:00 leaves a day for late entries and eight for any retry.
# S2 Monday morning for the week before; S3 on the month's last day for the month ending.
SCHEDULES: dict[str, str] = {"monthly": "0 9 2 * *", "weekly": "30 8 * * 1", "analysis": "0 18 L * *"}
TREND_MONTHS = 6

CLOSING_STATE_LABELS: dict[str, str] = {"closed": "结案", "not_established": "不成立", "escalated": "升级",
                                        "gm_meeting": "提交总经理例会"}
DEADLINE_LABELS: dict[str, str] = {"first_contact": "首次联系（1个工作日）", "plan": "调查与处理方案（1日）",
                                   "close": "结案期限（7/15/20天）",
                                   # C21 (001), clock time except the department's office hour
                                   "major_report": "重大投诉上报（10分钟）", "dept_analysis": "部门分析（1小时）",
                                   "feedback": "一般投诉反馈（24小时）", "solution": "重大投诉解决方案（12小时）"}
HOUR_DEADLINES = ("major_report", "dept_analysis", "feedback", "solution")
FAULT_LABELS: dict[str, str] = {"true": "我方责任", "false": "非我方责任", "none": "未认定"}
RETURN_KIND_LABELS: dict[str, str] = {"allowance": "销货折让", "return": "成品退货"}

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


# ---- periods -------------------------------------------------------------------------------
def month_period(key: str) -> tuple[datetime, datetime]:
    """'2026-10' → [2026-10-01 00:00, 2026-11-01 00:00) Asia/Shanghai."""
    m = _MONTH.match(key or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"month must look like 2026-10, got {key!r}")
    first = date(int(m.group(1)), int(m.group(2)), 1)
    return datetime.combine(first, time(), TZ), datetime.combine(_next_month(first), time(), TZ)


def week_period(key: str) -> tuple[datetime, datetime]:
    """ISO week '2026-W44' → [Monday 00:00, next Monday 00:00) Asia/Shanghai."""
    m = _WEEK.match(key or "")
    if not m:
        raise ValueError(f"week must look like 2026-W44, got {key!r}")
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise ValueError(f"no such ISO week {key!r}") from exc
    return datetime.combine(monday, time(), TZ), datetime.combine(monday + timedelta(days=7), time(), TZ)


def period_bounds(kind: str, key: str) -> tuple[datetime, datetime]:
    return week_period(key) if kind == "weekly" else month_period(key)


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def previous_month_key(now: datetime) -> str:
    """The month before `now`'s month (Asia/Shanghai): what the monthly statistics report on."""
    first = now.astimezone(TZ).date().replace(day=1)
    return month_key(first - timedelta(days=1))


def current_month_key(now: datetime) -> str:
    """The month `now` is in: the month-end analysis reports on the month ending."""
    return month_key(now.astimezone(TZ).date())


def previous_week_key(now: datetime) -> str:
    """The ISO week before `now`'s week: the Monday report covers the week just ended."""
    y, w, _ = (now.astimezone(TZ).date() - timedelta(days=7)).isocalendar()
    return f"{y:04d}-W{w:02d}"


def default_period(kind: str, now: datetime) -> str:
    if kind == "weekly":
        return previous_week_key(now)
    return current_month_key(now) if kind == "analysis" else previous_month_key(now)


def months_back(key: str, n: int) -> list[str]:
    """The n months ending with `key`, oldest first."""
    first = month_period(key)[0].date()
    out = [first]
    for _ in range(n - 1):
        out.append((out[-1] - timedelta(days=1)).replace(day=1))
    return [month_key(d) for d in reversed(out)]


# ---- arithmetic ----------------------------------------------------------------------------
_FOUR = Decimal("0.0001")
_CENT = Decimal("0.01")


def ratio(part: int, whole: int) -> str | None:
    """An exact fraction rounded half-up to 4 places, as a string; None when `whole` is 0."""
    if not whole:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(_FOUR, rounding=ROUND_HALF_UP))


def money(value: Any) -> str:
    """Yuan, two places, as a string (sums of NUMERIC come back as Decimal, float or None)."""
    return str(Decimal(str(value or 0)).quantize(_CENT, rounding=ROUND_HALF_UP))


def percent(rate: str | None) -> str:
    return "—" if rate is None else f"{Decimal(rate) * 100:.2f}%"


def with_shares(rows: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    return [{**r, "share": ratio(r["count"], total)} for r in rows]


# ---- complaint facts -----------------------------------------------------------------------
ESTABLISHED_STATES = frozenset({"accepted", "resolved", "closed", "escalated", "gm_meeting"})


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def complaint_fact_values(case_no: str, state: str, level: int | None, parent_case_no: str | None,
                          data: dict[str, Any], created_at: datetime,
                          closed_at: datetime | None) -> dict[str, Any]:
    """The columns of a complaint's `complaint_facts` row, from its case (C1–C13 data).

    An escalated case (C9) carries its parent's data: its first contact and deadlines are the
    parent's, so they are counted once, on the parent; it is "received" when it was opened.
    A complaint that does not stand (C2) closes at intake: it has no first-contact or plan deadline."""
    form = data.get("form") or {}
    dl = data.get("deadlines") or {}
    outcome = data.get("outcome") or {}
    plan = data.get("plan") or {}
    child = parent_case_no is not None
    no_steps = child or state == "not_established"  # C2: closed at intake, before any contact or plan
    loss = outcome.get("loss_amount")
    return {
        "case_no": case_no, "parent_case_no": parent_case_no, "state": state, "level": level,
        "kind": form.get("kind", ""), "channel": form.get("channel", ""), "category": form.get("category", ""),
        "receiver": data.get("received_by", ""), "handler": data.get("handler"),
        "established": False if state == "not_established" else (True if state in ESTABLISHED_STATES else None),
        "responsible_department": outcome.get("responsibility_department") or plan.get("responsibility_department"),
        "our_fault": outcome.get("our_fault"), "handling": outcome.get("handling"),
        "loss_amount": Decimal(str(loss)) if loss is not None else None,
        "satisfaction": data.get("satisfaction"),
        "received_at": created_at if child else (_when(dl.get("received_at")) or created_at),
        "first_contact_due": None if no_steps else _when(dl.get("first_contact")),
        "first_contact_at": None if no_steps else _when(data.get("first_contact_at")),
        "plan_due": None if no_steps else _when(dl.get("plan")),
        "close_due": _when(dl.get("close")),
        "closed_at": closed_at,
        "event_key": data.get("event_key"),
        **_hour_facts(data),
    }


def _hour_facts(data: dict[str, Any]) -> dict[str, Any]:
    """C21: each hour deadline's due and done (`c21_<name>` on the case)."""
    out: dict[str, Any] = {}
    for name in HOUR_DEADLINES:
        rec = data.get(f"c21_{name}") or {}
        out[f"{name}_due"], out[f"{name}_at"] = _when(rec.get("due")), _when(rec.get("done"))
    return out


__all__ = [
    "CLOSING_STATE_LABELS", "DEADLINE_LABELS", "FAULT_LABELS", "HOUR_DEADLINES", "REPORT_IDS", "REPORT_TITLES",
    "RETURN_KIND_LABELS", "SCHEDULES", "TREND_MONTHS", "complaint_fact_values", "current_month_key",
    "default_period", "money", "month_key", "month_period", "months_back", "percent", "period_bounds",
    "previous_month_key", "previous_week_key", "ratio", "week_period", "with_shares",
]
