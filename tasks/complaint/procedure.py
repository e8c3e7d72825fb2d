"""The complaint procedure (§1, and C26's group complaints) as the platform knows it."""

from __future__ import annotations

from deployments.names import COMPLAINT, GROUP_COMPLAINT
from models.complaint import answers  # noqa: F401 - the procedure's answers register themselves by name
from sqlalchemy import func, or_, select
from sqlmodel.sql.expression import Select

from models.tables import Case, ComplaintFact, FlowStart
from tasks.complaint.facts import ComplaintStore, record_notice_fact, sync_complaint_fact
from tasks.complaint.intake import file_complaint
from tasks.complaint.watch import complaint_checks
from tasks.platform.procedures import Procedure


def start_complaint(case: Case) -> FlowStart:
    form = case.data["form"]
    return FlowStart(deployment=COMPLAINT, run_name=f"complaint-{case.case_no}",
                     tags=["procedure:complaint", f"level:{case.level or 1}", f"kind:{form['kind']}",
                           f"category:{form['category']}"])


def start_group_complaint(case: Case) -> FlowStart:
    return FlowStart(deployment=GROUP_COMPLAINT, run_name=f"group-complaint-{case.case_no}",
                     tags=["procedure:group-complaint", "level:3", f"category:{case.data['category']}"])


def complaints_of(people: list[str]) -> Select:
    """C24: the complaints `people` received or handle (the statistics row keeps both)."""
    return select(ComplaintFact.case_no).where(or_(
        func.lower(ComplaintFact.receiver).in_(people), func.lower(ComplaintFact.handler).in_(people)))


PROCEDURE = Procedure(
    name="complaint",
    intake=file_complaint,
    starts={"complaint": start_complaint, "group_complaint": start_group_complaint},
    watchdog_checks=(complaint_checks,),
    case_hooks=(sync_complaint_fact,),
    mail_event_hooks=(record_notice_fact,),
    store_extensions=(ComplaintStore,),
    case_people=(complaints_of,),
)
