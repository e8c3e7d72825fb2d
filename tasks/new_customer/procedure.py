"""New-customer certification (§3) as the platform knows it."""

from __future__ import annotations

from deployments.names import NEW_CUSTOMER
from models import new_customer_answers  # noqa: F401 - the procedure's answers register themselves by name
from models.tables import Case, FlowStart
from tasks.new_customer.steps import file_new_customer_application
from tasks.platform.procedures import Procedure


def start_new_customer(case: Case) -> FlowStart:
    customer_class = case.data["application"]["customer"]["customer_class"]
    return FlowStart(deployment=NEW_CUSTOMER, run_name=f"new-customer-{case.case_no}",
                     tags=["procedure:new-customer", f"class:{customer_class}"])


PROCEDURE = Procedure(
    name="new_customer",
    intake=file_new_customer_application,
    starts={"new_customer": start_new_customer},
)
