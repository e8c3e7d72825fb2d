"""The grievance procedure (§7, 《客户抱怨处理表》) as the platform knows it."""

from __future__ import annotations

from deployments.names import GRIEVANCE
from models import grievance_answers  # noqa: F401 - the procedure's answers register themselves by name
from models.grievance import check_copy_recipients, is_grievance_form_file
from models.tables import Case, FlowStart
from tasks.grievance.steps import file_grievance
from tasks.grievance.watch import grievance_checks
from tasks.platform.procedures import Procedure
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasks.platform.runtime import Services


def start_grievance(case: Case) -> FlowStart:
    form = case.data["form"]
    return FlowStart(deployment=GRIEVANCE, run_name=f"grievance-{case.case_no}",
                     tags=["procedure:grievance", f"level:{case.level or 2}", "category:产品质量",
                           f"class:{form['grievance_class']}"])


def copies_stay_inside(svc: Services, to: list[str], attachments: list) -> None:
    """C17: a copy of the 《客户抱怨处理表》 goes to people of the org directory only, never to a customer."""
    if any(is_grievance_form_file(a.filename) for a in attachments):
        check_copy_recipients(to, {p.email.lower() for p in svc.org.people})


PROCEDURE = Procedure(
    name="grievance",
    intake=file_grievance,
    starts={"grievance": start_grievance},
    watchdog_checks=(grievance_checks,),
    notice_checks=(copies_stay_inside,),
)
