"""Reading cases and customer archive records: masked (ID-card and phone numbers), and for a staff
member only what they need to know (models/access.py; an API key with read_cases reads every case)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from models.access import department_members, may_read_case, may_read_customer, people_on_case, reads_every_case
from models.business_days import TZ
from models.privacy import mask_data
from tasks.archive.store import CustomerNotFound, record_of
from tasks.complaint.register import complaint_register, register_workbook
from tasks.platform.render import fmt_dt
from tasks.platform.runtime import Services
from tasks.platform.store import CaseNotFound
from webapp.auth import AuthError, Caller, require
from webapp.deps import ServicesDep
from webapp.responses import AUTH, DB_INT, INVALID, Missing, table, table_answers

router = APIRouter()
ISO = "%Y-%m-%dT%H:%M:%S%z"


def _iso(value: datetime | None) -> str | None:
    """ISO-8601 in Asia/Shanghai."""
    return value.astimezone(TZ).isoformat() if value else None


def case_json(svc: Services, case_no: str) -> dict[str, Any]:
    case = svc.store.get_case(case_no)
    tasks = svc.store.tasks_of(case_no)
    open_people = []
    for t in tasks:
        if t.state in ("open", "escalated"):
            open_people.append(t.assignee)
            if t.escalated_to:
                open_people.append(t.escalated_to)
    linked = svc.store.children_of(case_no)
    events = svc.store.events(case_no)
    first = next((e.data or {} for e in events if e.kind == "case_created"), {})
    return mask_data({
        "case_no": case.case_no, "procedure": case.procedure, "state": case.state,
        "level": case.level, "title": case.title, "requested_by": case.requested_by,
        "flow_run_id": case.flow_run_id,
        # who filed it: an API key's name or a staff member (audit trail, issue 24)
        "filed_by": first.get("filed_by"), "filed_via": first.get("filed_via"),
        "created_at": fmt_dt(case.created_at, ISO),
        "closed_at": fmt_dt(case.closed_at, ISO) if case.closed_at else None,
        "assignees": sorted(set(open_people)),
        "deadlines": case.data.get("deadlines", {}),
        "linked_cases": ([case.parent_case_no] if case.parent_case_no else []) + linked,
        "data": case.data,
        "tasks": [{"step_key": t.step_key, "title": t.title, "role": t.role, "assignee": t.assignee,
                   "state": t.state, "decision": t.decision, "decided_by": t.decided_by,
                   "decided_via": t.decided_via, "escalated_to": t.escalated_to,
                   "remind_at": _iso(t.remind_at), "due_at": _iso(t.due_at)}
                  for t in tasks],
        "events": [{"at": fmt_dt(e.at, ISO), "kind": e.kind, "actor": e.actor,
                    "step_key": e.step_key, "data": e.data} for e in events],
    })


def case_readable_by(svc: Services, email: str, case_no: str) -> None:
    """C24 need-to-know for a staff member (webapp/auth.py: a key with read_cases reads every case)."""
    case = svc.store.get_case(case_no)
    tasks = svc.store.tasks_of(case_no)
    people = people_on_case(case.data, case.requested_by,
                            [p for t in tasks for p in (t.assignee, t.escalated_to, t.decided_by)])
    recused = set(case.data.get("recused") or []) | {r for t in tasks for r in t.recused}
    if not may_read_case(svc.org, email, people, recused):
        raise AuthError(403, f"您不在案件 {case_no} 的处理人之列，无权查阅", f"you are not on case {case_no} "
                             "(need-to-know: requester, receiver, handler, approvers, their department head)")


@router.get("/api/customers/{archive_no}", tags=["archive"],
            summary="客户档案（脱敏）/ a customer archive record, masked, with its versions",
            responses={404: {"model": Missing, "description": "档案不存在 / no such customer archive"}, **INVALID,
                       **AUTH})
def get_customer(archive_no: str, svc: ServicesDep, caller: Caller = Depends(require("read_customers"))) -> JSONResponse:
    try:
        record = record_of(svc.store.get_customer(archive_no))
    except CustomerNotFound:
        return JSONResponse({"error": f"档案 {archive_no} 不存在 / customer archive {archive_no} not found"},
                            status_code=404)
    if caller.staff and not may_read_customer(svc.org, caller.staff, record.get("salesperson")):
        raise AuthError(403, f"您无权查阅档案 {archive_no}（需档案查阅权限或为该客户的业务员）",
                        f"you may not read archive {archive_no} (archive roles or the customer's salesperson)")
    versions = [{"version": v.version, "changed_by": v.changed_by,
                 "changed_at": fmt_dt(v.changed_at, ISO), "reason": v.reason,
                 "source": v.source, "case_no": v.case_no,
                 "changes": {k: [v.before.get(k), v.after.get(k)] for k in v.after}}
                for v in svc.store.customer_versions(archive_no)]
    # ID-card and phone numbers masked, in the record and in every version's before/after
    return JSONResponse(mask_data({**record, "versions": versions}))


@router.get("/api/complaints/register", tags=["cases"], summary="客户投诉登记表 / the complaint register (C14)",
            description="Every complaint, established or not: case number, received at, channel, complainant "
                        "(phone masked), category, level, handler, responsible department, each deadline and "
                        "whether it was met, closed at, result, satisfaction. `?format=xlsx` gives the Excel "
                        "workbook. Read with the `read_cases` scope, or by a staff member who reads every case.",
            responses={**table_answers("the register"), **INVALID, **AUTH})
def complaints_register(svc: ServicesDep, format: Literal["json", "xlsx"] = "json",  # noqa: A002 - the query's name
                        caller: Caller = Depends(require("read_cases"))) -> Response:
    if caller.kind == "staff" and not reads_every_case(svc.org, caller.name):
        raise AuthError(403, "无权查阅投诉登记表", "you may not read the complaint register")
    rows = complaint_register(svc, svc.clock.now())
    return table(rows, format, lambda: register_workbook(rows), "complaint-register.xlsx")


@router.get("/api/cases/{case_no}", tags=["cases"], summary="案件详情 / one case with its audit trail",
            responses={404: {"model": Missing, "description": "案件不存在 / no such case"}, **INVALID, **AUTH})
def get_case(case_no: str, svc: ServicesDep, caller: Caller = Depends(require("read_cases"))) -> JSONResponse:
    try:
        if caller.staff:
            case_readable_by(svc, caller.staff, case_no)
        return JSONResponse(case_json(svc, case_no))
    except CaseNotFound:
        return JSONResponse({"error": f"案件 {case_no} 不存在 / case {case_no} not found"},
                            status_code=404)


@router.get("/api/cases", tags=["cases"], summary="案件列表 / list cases (a staff member: the cases they are on)",
            responses={**INVALID, **AUTH})
def list_cases(svc: ServicesDep, state: str | None = None, level: int | None = Query(None, ge=1, le=3),
               procedure: str | None = None, limit: int = Query(50, ge=1, le=500),
               offset: int = Query(0, ge=0, le=DB_INT),
               caller: Caller = Depends(require("read_cases"))) -> JSONResponse:
    people = None
    if caller.staff and not reads_every_case(svc.org, caller.staff):
        people = sorted(department_members(svc.org, caller.staff))
    total, items = svc.store.list_cases(state=state, level=level, procedure=procedure,
                                        limit=limit, offset=offset, people=people)
    return JSONResponse({"total": total, "items": [mask_data({
        "case_no": c.case_no, "procedure": c.procedure, "state": c.state, "level": c.level,
        "title": c.title, "created_at": fmt_dt(c.created_at, ISO)}) for c in items]})
