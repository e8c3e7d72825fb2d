"""Returns and allowances (§4) as the platform knows them; the approval authorities are their
config table."""

from __future__ import annotations

from deployments.names import ALLOWANCE, RETURN
from models import returns_answers  # noqa: F401 - the procedure's answers register themselves by name
from models.tables import Case, FlowStart
from tasks.platform.procedures import Procedure
from tasks.returns.authority import AUTHORITY, AUTHORITY_TABLE
from tasks.returns.intake import file_return

DEPLOYMENTS = {"allowance": ALLOWANCE, "return": RETURN}


def start_return_or_allowance(case: Case) -> FlowStart:
    kind = case.procedure  # "return" / "allowance"
    return FlowStart(deployment=DEPLOYMENTS[kind], run_name=f"{kind}-{case.case_no}", tags=[f"procedure:{kind}"])


PROCEDURE = Procedure(
    name="returns",
    intake=file_return,
    starts={"allowance": start_return_or_allowance, "return": start_return_or_allowance},
    config_tables={AUTHORITY: AUTHORITY_TABLE},
)
