"""The figures of the reports (§5 S1–S3), computed in the database: each figure is one grouped
query over `complaint_facts` (or `penalties`, `cases`), never a load of the cases into Python.

`monthly_figures`, `weekly_figures` and `analysis_figures` return the report's figures (bounded in
size whatever the number of cases); the case lists (overdue cases, typical cases) are iterators
over a cursor, streamed into the workbook and `figures.json`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Numeric, and_, case, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from models.business_days import TZ
from models.complaint.handling import (
    CATEGORIES,
    CHANNEL_LABELS,
    KIND_LABELS,
    LEVEL_LABELS,
    OUTCOME_LABELS,
    PENALTY_LABELS,
    SATISFACTION_LABELS,
)
from models.grievance import month_figures
from models.privacy import mask_text
from models.statistics import (
    CLOSING_STATE_LABELS,
    DEADLINE_LABELS,
    FAULT_LABELS,
    HOUR_DEADLINES,
    REPORT_IDS,
    REPORT_TITLES,
    RETURN_KIND_LABELS,
    TREND_MONTHS,
    money,
    month_period,
    months_back,
    period_bounds,
    ratio,
    with_shares,
)
from models.tables import Case, HumanTask, PenaltyRecord
from models.tables import ComplaintFact as F
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import InstrumentedAttribute

Names = Callable[[str], str]
YIELD_ROWS = 256  # case lists are fetched this many rows at a time: memory stays flat however long they are


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(TZ).isoformat(timespec="minutes") if t else None


def _on_time(done: InstrumentedAttribute, due: InstrumentedAttribute) -> ColumnElement[int]:  # SQL: 1 when on time
    return func.sum(case((and_(done.is_not(None), done <= due), 1), else_=0))


def _closed_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(F.closed_at >= start, F.closed_at < end)


def _grouped(s: Session, col: ColumnElement, where: ColumnElement[bool], total: int, labels: dict | None = None,
             name: str = "key", order: tuple = ()) -> list[dict[str, Any]]:
    """Counts and shares by `col`, in the vocabulary's order (`order`, else `labels`), then by value,
    "not filled in" last — the same order on any database."""
    rows = s.execute(select(col, func.count()).where(where).group_by(col)).all()
    rank = {k: i for i, k in enumerate(order or tuple(labels or ()))}
    rows = sorted(rows, key=lambda r: (r[0] is None, rank.get(r[0], len(rank)), str(r[0])))
    out = [{name: k, "label": (labels or {}).get(k, k if k is not None else "未填写"), "count": int(n)}
           for k, n in rows]
    return with_shares(out, total)


# ---- S1: 《客诉案件统计表》 ----------------------------------------------------------------
def monthly_figures(s: Session, month: str, names: Names = lambda e: e) -> dict[str, Any]:
    start, end = month_period(month)
    closed = _closed_in(start, end)
    total = int(s.scalar(select(func.count()).select_from(F).where(closed)) or 0)
    fig: dict[str, Any] = {
        "report": REPORT_IDS["monthly"], "title": REPORT_TITLES["monthly"], "period": month,
        "start": _iso(start), "end": _iso(end), "total_closed": total,
        "by_state": _grouped(s, F.state, closed, total, CLOSING_STATE_LABELS, "state"),
        "by_level": _grouped(s, F.level, closed, total, LEVEL_LABELS, "level"),
        "by_kind": _grouped(s, F.kind, closed, total, KIND_LABELS, "kind"),
        "by_category": _grouped(s, F.category, closed, total, None, "category", CATEGORIES),
        "by_channel": _grouped(s, F.channel, closed, total, CHANNEL_LABELS, "channel"),
        "by_department": _grouped(s, F.responsible_department, closed, total, None, "department"),
    }
    fault = s.execute(select(F.our_fault, func.count()).where(closed).group_by(F.our_fault)).all()
    counts = {str(k).lower(): int(n) for k, n in fault}
    fig["by_fault"] = with_shares([{"our_fault": v, "label": FAULT_LABELS[k], "count": counts.get(k, 0)}
                                   for k, v in (("true", True), ("false", False), ("none", None))], total)
    # on-time rate per deadline: due = cases with that deadline, on_time = done at or before it
    # (C21's hour deadlines of 001 among them: a deadline counts where the case had it)
    pairs = [(F.first_contact_at, F.first_contact_due), (F.plan_at, F.plan_due), (F.closed_at, F.close_due),
             *((getattr(F, f"{k}_at"), getattr(F, f"{k}_due")) for k in HOUR_DEADLINES)]
    row = s.execute(select(*(c for done, due in pairs for c in (func.count(due), _on_time(done, due))))
                    .where(closed)).one()
    fig["on_time"] = [{"deadline": k, "label": DEADLINE_LABELS[k], "due": int(row[2 * i] or 0),
                       "on_time": int(row[2 * i + 1] or 0), "rate": ratio(int(row[2 * i + 1] or 0), int(row[2 * i] or 0))}
                      for i, k in enumerate(("first_contact", "plan", "close", *HOUR_DEADLINES))]
    # escalations (C9): closed by escalation, to the GM's meeting, and the cases opened by escalation
    esc = dict(s.execute(select(F.state, func.count()).where(closed, F.state.in_(("escalated", "gm_meeting")))
                         .group_by(F.state)).all())
    from_level = s.execute(select(F.level, func.count()).where(closed, F.state == "escalated")
                           .group_by(F.level).order_by(F.level)).all()
    fig["escalations"] = {
        "escalated": int(esc.get("escalated", 0)), "gm_meeting": int(esc.get("gm_meeting", 0)),
        "escalated_cases_closed": int(s.scalar(select(func.count()).select_from(F).where(
            closed, F.parent_case_no.is_not(None))) or 0),
        "from_level": [{"level": lv, "label": LEVEL_LABELS.get(lv, "—"), "count": int(n)} for lv, n in from_level]}
    fig["return_visits"] = return_visit_figures(s, closed)
    sat = dict(s.execute(select(F.satisfaction, func.count()).where(closed).group_by(F.satisfaction)).all())
    fig["satisfaction"] = with_shares(
        [{"score": k, "label": SATISFACTION_LABELS[k], "count": int(sat.get(k, 0))} for k in SATISFACTION_LABELS]
        + [{"score": None, "label": "未评价", "count": int(sat.get(None, 0))}], total)
    fig["overdue"] = overdue_summary(s, start, end)
    fig["penalties"] = penalty_figures(s, start, end, names)
    loss = s.execute(select(func.count(F.loss_amount), func.sum(F.loss_amount)).where(
        closed, F.loss_amount > 0)).one()
    fig["losses"] = {
        "cases": int(loss[0] or 0), "total": money(loss[1]),
        "by_department": [{"department": d or "未填写", "cases": int(n), "amount": money(a)} for d, n, a in s.execute(
            select(F.responsible_department, func.count(), func.sum(F.loss_amount)).where(closed, F.loss_amount > 0)
            .group_by(F.responsible_department).order_by(F.responsible_department)).all()],
        "by_handling": [{"handling": h, "cases": int(n), "amount": money(a)} for h, n, a in s.execute(
            select(F.handling, func.count(), func.sum(F.loss_amount)).where(closed, F.loss_amount > 0)
            .group_by(F.handling).order_by(F.handling)).all()]}
    fig["returns"] = return_figures(s, start, end)
    fig["new_customers"] = new_customer_figures(s, start, end, names)
    fig["grievances"] = grievance_figures(s, start, end)
    return fig


def grievance_figures(s: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """§7: the product complaints (客户抱怨) closed in the period — causes, loss, fines, shares (S5)."""
    rows = s.execute(select(Case.state, Case.data).where(Case.procedure == "grievance", Case.closed_at >= start,
                                                          Case.closed_at < end).order_by(Case.case_no)).all()
    # C19 / S4: changes decided this month to cases of months already issued (the shares a 《签呈》 changed)
    month = start.astimezone(TZ).strftime("%Y-%m")
    earlier = s.execute(select(Case.case_no, Case.data).where(Case.procedure == "grievance", Case.closed_at < start)
                        .order_by(Case.case_no)).all()
    corrections = [{"case_no": no, **c} for no, data in earlier for c in (data.get("corrections") or [])
                   if c.get("month") == month]
    return month_figures([(state, data) for state, data in rows], corrections)


VISITED_STATES = ("closed", "escalated", "gm_meeting")  # C10: every established case is visited


def return_visit_figures(s: Session, closed: ColumnElement[bool]) -> dict[str, Any]:
    """C10 (001: 回访率100%): the established cases closed in the period (closed, escalated, to the GM's
    meeting), how many had their return visit recorded, and the rate."""
    due = int(s.scalar(select(func.count()).select_from(F).where(closed, F.state.in_(VISITED_STATES))) or 0)
    visited = int(s.scalar(select(func.count(func.distinct(HumanTask.case_no))).select_from(HumanTask).join(
        F, F.case_no == HumanTask.case_no).where(closed, F.state.in_(VISITED_STATES), HumanTask.step_key == "return-visit",
                                                 HumanTask.state == "decided")) or 0)
    return {"due": due, "visited": visited, "rate": ratio(visited, due)}


def overdue_summary(s: Session, start: datetime, end: datetime) -> dict[str, int]:
    late = s.execute(select(func.count(), func.count(F.inquiry_notice_at), func.count(F.urge_notice_at)).where(
        _closed_in(start, end), F.closed_at > F.close_due)).one()
    still = [sum(x) for x in zip(*(s.execute(select(func.count(), func.count(F.urge_notice_at)).where(w)).one()
                                   for w in _open_overdue_at(end)), strict=True)]
    return {"closed_late": int(late[0]), "closed_late_inquiry_notices": int(late[1]),
            "closed_late_urge_notices": int(late[2]), "open_overdue": int(still[0]),
            "open_overdue_urge_notices": int(still[1])}


def _open_at(end: datetime) -> tuple:
    """Open at `end`: not closed, or closed later — two conditions, each served by the closed_at
    index (one OR makes the database scan every case received before `end`)."""
    return (and_(F.closed_at.is_(None), F.received_at < end), and_(F.closed_at >= end, F.received_at < end))


def _open_overdue_at(end: datetime) -> tuple:
    return tuple(and_(w, F.close_due < end) for w in _open_at(end))


OVERDUE_COLUMNS = ("case_no", "status", "level", "category", "handler", "department", "close_due", "closed_at",
                   "urge_notice_at", "inquiry_notice_at")


def overdue_cases(s: Session, start: datetime, end: datetime, names: Names = lambda e: e) -> Iterator[dict]:
    """The overdue cases of the period, oldest deadline first, streamed from the cursor."""
    cols = (F.case_no, F.level, F.category, F.handler, F.responsible_department, F.close_due, F.closed_at,
            F.urge_notice_at, F.inquiry_notice_at)
    late = select(literal("closed_late").label("status"), *cols).where(_closed_in(start, end), F.closed_at > F.close_due)
    still = [select(literal("open_overdue").label("status"), *cols).where(w) for w in _open_overdue_at(end)]
    q = union_all(late, *still).subquery()
    for r in s.execute(select(q).order_by(q.c.status, q.c.close_due, q.c.case_no).execution_options(yield_per=YIELD_ROWS)):
        yield {"case_no": r.case_no, "status": "逾期结案" if r.status == "closed_late" else "期末仍逾期未结",
               "level": r.level, "category": r.category, "handler": names(r.handler) if r.handler else "",
               "department": r.responsible_department or "", "close_due": _iso(r.close_due),
               "closed_at": _iso(r.closed_at), "urge_notice_at": _iso(r.urge_notice_at),
               "inquiry_notice_at": _iso(r.inquiry_notice_at)}


def penalty_figures(s: Session, start: datetime, end: datetime, names: Names) -> dict[str, Any]:
    P = PenaltyRecord
    rows = s.execute(select(P.handler, P.rule, func.count(), func.sum(P.amount))
                     .where(P.at >= start, P.at < end).group_by(P.handler, P.rule).order_by(P.handler, P.rule)).all()
    by_handler: dict[str, dict[str, Any]] = {}
    for handler, rule, n, amount in rows:
        h = by_handler.setdefault(handler, {"handler": handler, "name": names(handler), "count": 0,
                                            "amount": "0.00", "rules": []})
        h["count"] += int(n)
        h["amount"] = money(_dec(h["amount"]) + _dec(money(amount)))
        h["rules"].append({"rule": rule, "label": PENALTY_LABELS.get(rule, rule), "count": int(n),
                           "amount": money(amount)})
    handlers = list(by_handler.values())
    return {"count": sum(h["count"] for h in handlers),
            "amount": money(sum((_dec(h["amount"]) for h in handlers), _dec("0"))), "by_handler": handlers}


def _dec(v: Any) -> Decimal:
    return Decimal(str(v or 0))


def _json_str(col: InstrumentedAttribute, *path: str) -> ColumnElement[str]:
    expr = col
    for p in path:
        expr = expr[p]
    return expr.as_string()


def return_figures(s: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Allowances and returns booked in the period (R3–R6): count, amount, approved vs received."""
    amount = cast(_json_str(Case.data, "amount"), Numeric(14, 2))
    approved = cast(_json_str(Case.data, "quantity", "value"), Integer)
    received = cast(_json_str(Case.data, "received_quantity"), Integer)
    rows = dict((r[0], r[1:]) for r in s.execute(
        select(Case.procedure, func.count(), func.sum(amount), func.sum(approved), func.sum(received))
        .where(Case.procedure.in_(("allowance", "return")), Case.closed_at >= start, Case.closed_at < end,
               Case.state == "booked").group_by(Case.procedure)).all())
    out = []
    for kind, label in RETURN_KIND_LABELS.items():
        n, amt, appr, rec = rows.get(kind, (0, None, None, None))
        item = {"kind": kind, "label": label, "count": int(n), "amount": money(amt)}
        if kind == "return":
            item |= {"approved_quantity": int(appr or 0), "received_quantity": int(rec or 0),
                     "quantity_variance": int(rec or 0) - int(appr or 0)}
        out.append(item)
    return out


def new_customer_figures(s: Session, start: datetime, end: datetime, names: Names) -> list[dict[str, Any]]:
    """N6: new customers certified in the period, per salesperson (for their reward)."""
    sp = _json_str(Case.data, "salesperson")
    rows = s.execute(select(sp, func.count()).where(
        Case.procedure == "new_customer", Case.state == "certified", Case.closed_at >= start,
        Case.closed_at < end).group_by(sp).order_by(sp)).all()
    return [{"salesperson": e, "name": names(e) if e else "", "count": int(n)} for e, n in rows]


# ---- S2: 《投诉周报》 ------------------------------------------------------------------------
def weekly_figures(s: Session, week: str, names: Names = lambda e: e) -> dict[str, Any]:
    start, end = period_bounds("weekly", week)
    received = and_(F.received_at >= start, F.received_at < end)

    def by_level(*where: ColumnElement[bool]) -> dict[str, Any]:  # counted over each condition, summed
        rows: dict[Any, int] = {}
        for w in where:
            for lv, n in s.execute(select(F.level, func.count()).where(w).group_by(F.level)).all():
                rows[lv] = rows.get(lv, 0) + int(n)
        return {"total": int(sum(rows.values())),
                "by_level": [{"level": lv, "label": LEVEL_LABELS[lv], "count": int(rows.get(lv, 0))}
                             for lv in LEVEL_LABELS]}

    return {"report": REPORT_IDS["weekly"], "title": REPORT_TITLES["weekly"], "period": week,
            "start": _iso(start), "end": _iso(end),
            "new": by_level(received), "closed": by_level(_closed_in(start, end)),
            "open": by_level(*_open_at(end)), "overdue": by_level(*_open_overdue_at(end)),
            "closed_late": int(s.scalar(select(func.count()).select_from(F).where(
                _closed_in(start, end), F.closed_at > F.close_due)) or 0),
            "by_category_new": _grouped(s, F.category, received,
                                        int(s.scalar(select(func.count()).select_from(F).where(received)) or 0),
                                        None, "category", CATEGORIES)}


# ---- S3: 《客户投诉分析报告表》 ------------------------------------------------------------
TYPICAL_COLUMNS = ("case_no", "title", "level", "category", "department", "handling", "loss_amount", "satisfaction",
                   "state")


def analysis_figures(s: Session, month: str, names: Names = lambda e: e) -> dict[str, Any]:
    trend = []
    for key in months_back(month, TREND_MONTHS):
        start, end = month_period(key)
        received = int(s.scalar(select(func.count()).select_from(F).where(
            F.received_at >= start, F.received_at < end)) or 0)
        r = s.execute(select(func.count(), _on_time(F.closed_at, F.close_due), func.count(F.satisfaction),
                             func.sum(F.satisfaction), func.sum(F.loss_amount),
                             func.sum(case((F.level == 3, 1), else_=0)),
                             func.sum(case((F.our_fault.is_(True), 1), else_=0))).where(_closed_in(start, end))).one()
        closed = int(r[0] or 0)
        trend.append({"month": key, "received": received, "closed": closed,
                      "on_time_close_rate": ratio(int(r[1] or 0), closed),
                      "satisfaction_avg": (str((_dec(r[3]) / _dec(r[2])).quantize(_dec("0.01"))) if r[2] else None),
                      "loss_total": money(r[4]), "level3": int(r[5] or 0), "our_fault": int(r[6] or 0)})
    months = [t["month"] for t in trend]
    first, _ = month_period(months[0])
    _, last = month_period(month)
    cats = sorted(s.execute(select(F.category, func.count()).where(_closed_in(first, last))
                            .group_by(F.category)).all(), key=lambda r: (-r[1], str(r[0])))
    by_cat_month = []
    for key in months:
        start, end = month_period(key)
        rows = dict(s.execute(select(F.category, func.count()).where(_closed_in(start, end))
                              .group_by(F.category)).all())
        by_cat_month.append({"month": key, **{c: int(rows.get(c, 0)) for c, _n in cats}})
    cur, prev = trend[-1], trend[-2] if len(trend) > 1 else None
    return {"report": REPORT_IDS["analysis"], "title": REPORT_TITLES["analysis"], "period": month,
            "start": _iso(month_period(month)[0]), "end": _iso(month_period(month)[1]),
            "trend": trend, "categories": [c for c, _n in cats], "by_category_month": by_cat_month,
            "change": {"closed": cur["closed"] - prev["closed"] if prev else None,
                       "received": cur["received"] - prev["received"] if prev else None}}


def typical_cases(s: Session, month: str, limit: int = 10) -> Iterator[dict[str, Any]]:
    """S3 typical cases: the case library's entries published in the month (C23, anonymised) first, then
    the month's level-3 cases and largest losses (at most `limit` in all)."""
    start, end = month_period(month)
    lib = Case.data["case_library"]
    published = s.execute(
        select(Case.case_no, lib, F.level, F.loss_amount, F.state).join(F, F.case_no == Case.case_no)
        .where(Case.procedure == "complaint", lib["state"].as_string() == "published",
               lib["reviewed_at"].as_string() >= start.isoformat(), lib["reviewed_at"].as_string() < end.isoformat())
        .order_by(Case.case_no).limit(limit)).all()
    for no, rec, level, loss, state in published:
        e = rec["entry"]
        yield {"case_no": no, "title": f"典型案例：{e['cause'][:60]}", "level": level, "category": e["category"],
               "department": e["department"], "handling": e["handling"],
               "loss_amount": money(loss) if loss is not None else None, "satisfaction": e["satisfaction"],
               "state": CLOSING_STATE_LABELS.get(state, state)}
    limit -= len(published)
    if limit <= 0:
        return
    q = (select(F.case_no, Case.title, F.level, F.category, F.responsible_department, F.handling, F.loss_amount,
                F.satisfaction, F.state).join(Case, Case.case_no == F.case_no).where(_closed_in(start, end))
         .order_by((F.level == 3).desc(), F.loss_amount.desc().nulls_last(), F.case_no).limit(limit))
    for r in s.execute(q):
        if r.case_no in {p[0] for p in published}:
            continue
        yield {"case_no": r.case_no, "title": mask_text(r.title or ""), "level": r.level, "category": r.category,
               "department": r.responsible_department or "", "handling": OUTCOME_LABELS.get(r.handling, r.handling or ""),
               "loss_amount": money(r.loss_amount) if r.loss_amount is not None else None,
               "satisfaction": r.satisfaction, "state": CLOSING_STATE_LABELS.get(r.state, r.state)}
