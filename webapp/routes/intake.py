"""The intake API: each procedure's form is filed as a case and its flow run started in the background
(never inside the request: tasks/platform/flow_starts.py). Bad input answers 422 and stores nothing; an
`Idempotency-Key` finds the case it filed before (webapp/idempotency.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from models.archive.corrections import CorrectionIn
from models.complaint.handling import ComplaintIn
from models.new_customers import NewCustomerApplicationIn
from models.returns import ReturnRequestIn
from models.samples import SampleRequestIn
from models.errors import problem
from tasks.archive.intake import file_correction
from tasks.complaint.intake import file_complaint
from tasks.new_customer.steps import file_new_customer_application
from tasks.platform.intake import IntakeError, file_and_start
from tasks.platform.store_access import KeyRevoked
from tasks.returns.intake import file_return
from tasks.samples.intake import file_sample_request
from webapp.auth import REFUSED_KEY, AuthError, Caller, caller_may_backfill, filed_as, require
from webapp.deps import DispatcherDep, ServicesDep
from webapp.idempotency import once
from webapp.responses import FILED, IDEMPOTENCY_KEY

log = logging.getLogger("kefu.web")
router = APIRouter()


class Filing:
    """A route dependency: files the request's body as a case, once per `Idempotency-Key`."""

    def __init__(self, request: Request, svc: ServicesDep, dispatcher: DispatcherDep,
                 idempotency_key: str | None = IDEMPOTENCY_KEY) -> None:
        self.request, self.svc, self.wake, self.key = request, svc, dispatcher.wake, idempotency_key

    def __call__(self, body: BaseModel, file: Callable[[str | None, str], tuple[Any, bool]]) -> JSONResponse:
        """`file(scoped_key, fingerprint)` stores the case with its start request (or finds it by
        Idempotency-Key); the dispatcher is woken, Prefect never waited on. `flow_run_id` is null until
        the run exists (GET /api/cases/{case_no} shows it then)."""
        try:
            case, created = file_and_start(self.svc, once(self.request, body, self.key, file), wake=self.wake)
        except IntakeError as exc:
            return JSONResponse(problem(exc.details), status_code=422)
        except KeyRevoked as exc:  # revoked since it was cached: found in the filing's own transaction
            self.request.app.state.api_keys.forget(exc.args[0])
            log.warning("API key %s refused (revoked)", exc.args[0])
            raise AuthError(401, *REFUSED_KEY) from None
        return JSONResponse({"case_no": case.case_no, "flow_run_id": case.flow_run_id},
                            status_code=201 if created else 200)


FilingDep = Annotated[Filing, Depends()]


@router.post("/api/sample-requests", status_code=201, tags=["samples"], responses=FILED,
             summary="提交《取样出门审批单》 / file a free-sample request (P1–P3)")
def create_sample_request(body: SampleRequestIn, filing: FilingDep,
                          caller: Caller = Depends(require("sample_requests"))) -> JSONResponse:
    body = filed_as(filing.svc, caller, body, "requested_by")
    return filing(body, lambda key, fp: file_sample_request(filing.svc, body, key, request_fingerprint=fp,
                                                            filed=caller.filing))


@router.post("/api/complaints", status_code=201, tags=["complaints"], responses=FILED,
             summary="受理投诉 / file a complaint (C1)",
             description="The 《投诉处理单》 as received. Unknown fields are refused. A repeated POST with "
                         "the same `Idempotency-Key` header returns the same case (200). "
                         "Answers `{case_no, flow_run_id}` (the run is started in the background: "
                         "`flow_run_id` may be null, GET /api/cases/{case_no} shows it); invalid input answers 422 with one message per "
                         "field in Chinese and English, and stores nothing.")
def create_complaint(body: ComplaintIn, filing: FilingDep, caller: Caller = Depends(require("complaints"))) -> JSONResponse:
    backfill = caller_may_backfill(filing.svc, caller)
    body = filed_as(filing.svc, caller, body, "received_by")
    return filing(body, lambda key, fp: file_complaint(filing.svc, body, key, request_fingerprint=fp, backfill=backfill,
                                                       filed=caller.filing))


@router.post("/api/returns", status_code=201, tags=["returns"], responses=FILED,
             summary="退货 / 折让 / file a return or an allowance (R1)",
             description="A case decided outside the system (or linked to a complaint). `amount` is a decimal "
                         "string in yuan; a return needs `quantity` {value, unit}. The approvers follow the "
                         "approval-authority table (R2).")
def create_return(body: ReturnRequestIn, filing: FilingDep, caller: Caller = Depends(require("returns"))) -> JSONResponse:
    body = filed_as(filing.svc, caller, body, "salesperson")
    return filing(body, lambda key, fp: file_return(filing.svc, body, key, request_fingerprint=fp, filed=caller.filing))


@router.post("/api/archive-corrections", status_code=201, tags=["archive"], responses=FILED,
             summary="客户信息更正（补救处理方案）/ file an archive correction (A1–A2)",
             description="The remedy plan drafted by CS staff: `archive_no`, `changes` {field: new value}, "
                         "`reason`, `drafted_by`, `departments` (codes from the org directory, or "
                         "{department, action, due_business_days}). Starts the nine-step chain "
                         "`archive-correction-{case_no}`. Invalid input answers 422 with one message per field "
                         "and stores nothing; the same `Idempotency-Key` makes one case.")
def create_correction(body: CorrectionIn, filing: FilingDep,
                      caller: Caller = Depends(require("archive_corrections"))) -> JSONResponse:
    body = filed_as(filing.svc, caller, body, "drafted_by")
    return filing(body, lambda key, fp: file_correction(filing.svc, body, key, request_fingerprint=fp,
                                                        filed=caller.filing))


@router.post("/api/new-customer-applications", status_code=201, tags=["new customers"], responses=FILED,
             summary="提交《新客户开发申请表》 / apply for new-customer certification (N2, N3)",
             description="The salesperson's application: `customer` (with `invoicing_name`), `first_transaction` "
                         "{date, amount, reference}, `development_history`, `evaluation` {contribution, "
                         "long_term_impact, credit}, `support_needed`, `salesperson`. A late application (more "
                         "than one month after the first transaction) or a customer name that differs from the "
                         "invoicing name is still filed and refused by the flow, with the reason. Same "
                         "`Idempotency-Key`, same case (200); invalid input: 422, nothing stored.")
def create_new_customer_application(body: NewCustomerApplicationIn, filing: FilingDep,
                                    caller: Caller = Depends(require("new_customers"))) -> JSONResponse:
    body = filed_as(filing.svc, caller, body, "salesperson")
    return filing(body, lambda key, fp: file_new_customer_application(filing.svc, body, key, request_fingerprint=fp,
                                                                      filed=caller.filing))
