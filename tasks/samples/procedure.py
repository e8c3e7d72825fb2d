"""The free-sample procedure (§5, 《取样出门审批单》) as the platform knows it."""

from __future__ import annotations

from deployments.names import SAMPLE_REQUEST
from models import samples_answers  # noqa: F401 - the procedure's answers register themselves by name
from models.tables import Case, FlowStart
from tasks.platform.procedures import Procedure
from tasks.samples.intake import file_sample_request


def start_sample_request(case: Case) -> FlowStart:
    return FlowStart(deployment=SAMPLE_REQUEST, run_name=f"sample-request-{case.case_no}",
                     tags=["procedure:sample-request", f"size:{case.data['size_class']}"])


PROCEDURE = Procedure(
    name="sample_request",
    intake=file_sample_request,
    starts={"sample_request": start_sample_request},
)
