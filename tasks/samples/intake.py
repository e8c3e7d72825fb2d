"""P2: filing a free-sample request (the procedure's intake, registered with the platform)."""

from __future__ import annotations

from models.business_days import TZ
from tasks.platform.flow_starts import start_request
from tasks.platform.intake import IntakeError
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.samples import SampleRequestIn
    from models.tables import Case
    from tasks.platform.runtime import Services
    from tasks.platform.store_access import Filing


def file_sample_request(svc: Services, body: SampleRequestIn, idempotency_key: str | None = None, *,
                        request_fingerprint: str | None = None, filed: Filing | None = None) -> tuple[Case, bool]:
    """P2: a complete 《取样出门审批单》 from marketing; returns (case, created)."""
    requester = body.requested_by or svc.org.first_for_role("marketing").email
    if not svc.org.has_role(requester, "marketing"):
        raise IntakeError("requested_by", f"{requester} 不是营销部人员", f"{requester} is not in the marketing department")
    now = svc.clock.now()
    case, created = svc.store.create_case(
        procedure="sample_request", prefix="YP", year=now.astimezone(TZ).year, state="pending_leader",
        title=f"{body.customer} {body.product} 取样", data=body.model_dump(mode="json") | {"requested_by": requester},
        requested_by=requester, idempotency_key=idempotency_key, request_fingerprint=request_fingerprint, now=now,
        start=start_request, filed=filed)
    return case, created
