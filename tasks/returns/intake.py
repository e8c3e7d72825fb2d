"""R1: filing an allowance or a return (the procedure's intake, registered with the platform)."""

from __future__ import annotations

from models.business_days import TZ
from models.returns import approvers_for, over_acceptance_ratio
from tasks.platform.flow_starts import start_request
from tasks.platform.intake import IntakeError
from tasks.platform.store import CaseNotFound
from tasks.returns.authority import authority
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.returns import ReturnRequestIn
    from models.tables import Case
    from tasks.platform.runtime import Services
    from tasks.platform.store_access import Filing


def file_return(svc: Services, body: ReturnRequestIn, idempotency_key: str | None = None, *,
                complaint_established: bool | None = None, request_fingerprint: str | None = None,
                filed: Filing | None = None) -> tuple[Case, bool]:
    """R1: an allowance or a return, from a closed complaint or decided outside the system. R8: a case
    linked to a complaint closed as not established stores `complaint_established=False` (its
    receivable is collected on the normal term); one without a linked complaint counts as established."""
    salesperson = str(body.salesperson) if body.salesperson else svc.org.first_for_role("salesperson").email
    if not svc.org.find(salesperson) or not svc.org.has_role(salesperson, "salesperson"):
        raise IntakeError("salesperson", f"{salesperson} 不是业务员", f"{salesperson} is not a salesperson")
    if body.complaint_case_no:
        try:
            linked = svc.store.get_case(body.complaint_case_no)
        except CaseNotFound:
            raise IntakeError("complaint_case_no", "投诉不存在", "no such complaint") from None
        if complaint_established is None:
            complaint_established = linked.state != "not_established"
    now = svc.clock.now()
    data = body.model_dump(mode="json") | {
        "salesperson": salesperson, "approvers": approvers_for(body.amount, authority(svc)),
        "over_acceptance_ratio": str(over_acceptance_ratio(body.customer, authority(svc))),
        "complaint_established": complaint_established is not False}
    prefix = "ZR" if body.kind == "allowance" else "TH"
    return svc.store.create_case(
        procedure=body.kind, prefix=prefix, year=now.astimezone(TZ).year, state="pending_approval",
        title=f"{body.customer} {body.product_name or body.product_code} ¥{body.amount}", data=data,
        requested_by=salesperson, idempotency_key=idempotency_key, request_fingerprint=request_fingerprint,
        parent_case_no=body.complaint_case_no, actor=salesperson, now=now, start=start_request, filed=filed)
