"""Steps of the free-sample procedure: the slip, the workshop sample ledger, the month's totals."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from prefect import task
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models.business_days import TZ
from models.samples import SIZE_CLASS_KG, SIZE_CLASS_LABELS, sample_weight_kg
from models.tables import SampleLedgerEntry
from tasks.runtime import services
from tasks.policy import IO_TASK



@task(name="生成取样出门审批单 render slip", **IO_TASK)
def slip_context(case_no: str) -> dict[str, Any]:
    svc = services()
    case = svc.store.get_case(case_no)
    tasks = {t.step_key: t for t in svc.store.tasks_of(case_no)}
    form = case.data
    signatures = []
    for key, label in (("leader-approval", "部门负责人"), ("gm-approval", "总经理")):
        t = tasks.get(key)
        if t and t.decided_by:
            who = svc.org.find(t.decided_by)
            signatures.append({"label": label, "name": who.name if who else t.decided_by,
                               "at": t.decided_at.isoformat() if t.decided_at else ""})
    return {
        "recipients": [p.email for p in svc.org.people_for_role("production")],
        "case_no": case_no, "title": "取样出门审批单（已生效）",
        "form": {**form, "size_label": SIZE_CLASS_LABELS[form["size_class"]],
                 "unit_kg": str(SIZE_CLASS_KG[form["size_class"]]),
                 "weight_kg": str(sample_weight_kg(form["size_class"], form["quantity"]))},
        "requester": case.requested_by, "signatures": signatures, "summary": {},
    }


@task(name="登记车间样品台账 record in sample ledger", **IO_TASK)
def record_sample_issue(case_no: str, taker: str, quantity: int, recorded_by: str) -> None:
    svc = services()
    case = svc.store.get_case(case_no)
    entry = SampleLedgerEntry(case_no=case_no, issued_at=svc.clock.now(), product=case.data["product"],
                              spec=case.data["spec"], size_class=case.data["size_class"],
                              quantity=quantity, weight_kg=sample_weight_kg(case.data["size_class"], quantity),
                              taker=taker, recorded_by=recorded_by or "")
    with svc.store.session() as s:
        if s.exec(select(SampleLedgerEntry.id).where(SampleLedgerEntry.case_no == case_no)).first():
            return  # recorded by an earlier run
        s.add(entry)
        try:
            s.commit()
        except IntegrityError:
            s.rollback()


def month_bounds(first: date) -> tuple[datetime, datetime]:
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return (datetime.combine(first, time(), TZ), datetime.combine(nxt, time(), TZ))


def sample_month_totals(store, first: date) -> dict[str, Any]:  # noqa: ANN001
    """P3: the month's issued samples from the workshop ledger, by product and size class."""
    start, end = month_bounds(first)
    with store.session() as s:
        rows = s.exec(
            select(SampleLedgerEntry.product, SampleLedgerEntry.size_class,
                   func.count(), func.sum(SampleLedgerEntry.quantity), func.sum(SampleLedgerEntry.weight_kg))
            .where(SampleLedgerEntry.issued_at >= start, SampleLedgerEntry.issued_at < end)
            .group_by(SampleLedgerEntry.product, SampleLedgerEntry.size_class)
            .order_by(SampleLedgerEntry.product, SampleLedgerEntry.size_class)
        ).all()
    lines = [{"product": p, "size_class": sc, "size_label": SIZE_CLASS_LABELS.get(sc, sc),
              "issues": int(n), "quantity": int(q or 0), "weight_kg": str(Decimal(w or 0).quantize(Decimal("0.001")))}
             for p, sc, n, q, w in rows]
    # reconcile the approved slips of the month with the ledger: issued quantity differing from the
    # slip, or a valid slip never issued
    from models.tables import Case

    with store.session() as s:
        slips = s.exec(select(Case).where(Case.procedure == "sample_request",
                                          Case.state.in_(("approved", "issued")),
                                          Case.created_at >= start, Case.created_at < end)).all()
        issued = {e.case_no: e for e in s.exec(select(SampleLedgerEntry).where(
            SampleLedgerEntry.case_no.in_([c.case_no for c in slips]))).all()} if slips else {}
    differences = [{"case_no": c.case_no, "approved": c.data["quantity"], "issued": issued[c.case_no].quantity}
                   for c in slips if c.case_no in issued and issued[c.case_no].quantity != c.data["quantity"]]
    unissued = [c.case_no for c in slips if c.case_no not in issued]
    return {"month": first.strftime("%Y-%m"), "lines": lines, "differences": differences, "unissued": unissued,
            "issues": sum(x["issues"] for x in lines), "quantity": sum(x["quantity"] for x in lines),
            "weight_kg": str(sum((Decimal(x["weight_kg"]) for x in lines), Decimal("0.000")))}
