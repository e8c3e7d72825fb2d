"""The complaint's statistics row (`complaint_facts`, read by the monthly statistics, S1–S5) kept
current with the case — registered with the platform as the complaint's statistics hooks — and the
complaint's own store query (C3's repeat lookup), a store extension."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from models.statistics import complaint_fact_values
from models.tables import Case, ComplaintFact, HumanTask

NOTICE_FACTS = {"urge_notice": "urge_notice_at", "inquiry_notice": "inquiry_notice_at"}
_FACTS = ComplaintFact.__table__
_FACT = select(_FACTS.c.id, _FACTS.c.plan_at).where(_FACTS.c.case_no == bindparam("case_no"))
_UPDATE_FACT = _FACTS.update().where(_FACTS.c.id == bindparam("fact_id"))
_FIRST_PLAN_ANSWER = select(HumanTask.decided_at).where(HumanTask.case_no == bindparam("case_no"),
                                                       HumanTask.step_key == "plan-1")


def sync_complaint_fact(s: Connection | Session, case: Case, kind: str, now: datetime, new: bool = False) -> None:
    """Keep the complaint's `complaint_facts` row (the statistics' columns) current with the case,
    in the same transaction as the change (Core statements: the store's hot writes use no ORM unit of work)."""
    if case.procedure != "complaint":
        return
    values = complaint_fact_values(case.case_no, case.state, case.level, case.parent_case_no, case.data,
                                   case.created_at, case.closed_at)
    fact = None if new else s.execute(_FACT, {"case_no": case.case_no}).first()
    if kind.startswith("plan_submitted_") and (fact is None or fact.plan_at is None):
        # C6: the first plan's answer time (its task), against the 1-day plan deadline
        values["plan_at"] = s.execute(_FIRST_PLAN_ANSWER, {"case_no": case.case_no}).scalar() or now
    if fact is None:
        s.execute(_FACTS.insert(), values)
    else:
        s.execute(_UPDATE_FACT, {"fact_id": fact.id, **values})


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
