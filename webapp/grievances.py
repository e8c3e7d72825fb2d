"""The product-complaint intake (客户抱怨处理, §7 C15) and its register (C14): the router `create_app`
includes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from models.access import reads_grievance_register
from models.grievance import QUANTITY_PENDING_TEXT, GrievanceIn
from tasks.grievance.steps import file_grievance, grievance_register, register_workbook
from webapp.auth import AUTH_RESPONSES, AuthError, Caller, filed_as, require
from webapp.deps import ServicesDep
from webapp.responses import FILED, INVALID, table, table_answers
from webapp.routes.intake import FilingDep


router = APIRouter(tags=["grievances"])


@router.post("/api/grievances", status_code=201, responses=FILED,
             summary="提交《客户抱怨处理表》 / file a product-quality complaint (C15)",
             description="The salesperson's 《客户抱怨处理表》, sent at once to the GM office: abnormality no., order "
                         "no., item no., quantity shipped, ship date, defective quantity, customer demand, class "
                         "(quality / non_quality), whether a defective sample is attached, the salesperson's "
                         f"opinion. While the customer is still processing the goods the demand is exactly "
                         f"「{QUANTITY_PENDING_TEXT}」 and `return_quantity` stays empty (R9). Starts "
                         "`grievance-{case_no}`. Invalid input answers 422 with one message per field in Chinese "
                         "and English and stores nothing; the same `Idempotency-Key` makes one case.")
def create_grievance(body: GrievanceIn, filing: FilingDep,
                     caller: Caller = Depends(require("grievances"))) -> JSONResponse:
    body = filed_as(filing.svc, caller, body, "salesperson")
    return filing(body, lambda key, fp: file_grievance(filing.svc, body, key, request_fingerprint=fp,
                                                       filed=caller.filing))


@router.get("/api/grievances/register", summary="《客户抱怨案件登记追踪表》 / the grievance register (C14)",
            description="Every product complaint: current step, holder, since when, days overdue. "
                        "`?format=xlsx` gives the Excel workbook.",
            responses={**table_answers("the register"), **INVALID, **AUTH_RESPONSES})
def register(svc: ServicesDep, format: Literal["json", "xlsx"] = "json",  # noqa: A002 - the query parameter's name
             caller: Caller = Depends(require("read_cases"))) -> Response:
    if caller.kind == "staff" and not reads_grievance_register(svc.org, caller.name):
        raise AuthError(403, "无权查阅客户抱怨登记表", "you may not read the grievance register")
    rows = grievance_register(svc, svc.clock.now())
    return table(rows, format, lambda: register_workbook(rows), "grievance-register.xlsx")
