"""The complaint's statistics row (`complaint_facts`, read by the monthly statistics, S1–S5) kept
current with the case — registered with the platform as the complaint's statistics hooks — and the
complaint's own store query (C3's repeat lookup), a store extension."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from models.statistics import complaint_fact_values
from models.tables import Case, ComplaintFact, HumanTask

NOTICE_FACTS = {"urge_notice": "urge_notice_at", "inquiry_notice": "inquiry_notice_at"}


def sync_complaint_fact(s: Session, case: Case, kind: str, now: datetime, new: bool = False) -> None:
    """Keep the complaint's `complaint_facts` row (the statistics' columns) current with the case,
    in the same transaction as the change."""
    if case.procedure != "complaint":
        return
    values = complaint_fact_values(case.case_no, case.state, case.level, case.parent_case_no, case.data,
                                   case.created_at, case.closed_at)
    fact = None if new else s.exec(select(ComplaintFact).where(ComplaintFact.case_no == case.case_no)).first()
    if fact is None:
        fact = ComplaintFact(**values)
    else:
        for k, v in values.items():
            setattr(fact, k, v)
    if fact.plan_at is None and kind.startswith("plan_submitted_"):
        # C6: the first plan's answer time (its task), against the 1-day plan deadline
        fact.plan_at = s.exec(select(HumanTask.decided_at).where(
            HumanTask.case_no == case.case_no, HumanTask.step_key == "plan-1")).first() or now
    s.add(fact)


def record_notice_fact(s: Session, case_no: str, kind: str, now: datetime) -> None:
    """C8: the 《催办单》 / 《治办单》 of a complaint, queued with its event, for S1."""
    if kind in NOTICE_FACTS:
        s.execute(update(ComplaintFact).where(ComplaintFact.case_no == case_no).values({NOTICE_FACTS[kind]: now}))


class ComplaintStore:
    """The complaint's queries, found on `Store` (a registered store extension)."""

    def first_complaint_with_event(self, event_key: str) -> str | None:
        """C3: the first complaint about the same customer's same event (an indexed lookup)."""
        with self.session() as s:  # type: ignore[attr-defined]
            return s.exec(select(ComplaintFact.case_no).where(ComplaintFact.event_key == event_key)
                          .order_by(ComplaintFact.id).limit(1)).first()
