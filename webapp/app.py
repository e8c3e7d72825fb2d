"""The approvers' web app: decision pages behind signed links, the intake API, case views, the dev
mailbox and the health check."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from html import escape
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

import flows  # noqa: F401 - registers every procedure with the platform (flows/__init__.py)
from deployments.dev_mail import Mailbox, mailbox_path
from models.answers import ANSWER_MODELS, CHOICE_LABELS, FIELD_LABELS, extra_fields
from models.complaint.handling import OUTCOME_LABELS
from models.returns import PROOF_LABELS, ReturnRequestIn
from models.org import ROLE_LABELS
from models.privacy import mask_data
from models.samples import SampleRequestIn
from models.tables import HumanTask
from models.tokens import InvalidToken, check_csrf, csrf_for, read_token
from models.complaint.handling import ComplaintIn
from models.archive.corrections import CorrectionIn
from models.new_customers import NewCustomerApplicationIn
from tasks.platform.flow_starts import FlowStartDispatcher
from tasks.archive.intake import file_correction
from tasks.complaint.intake import file_complaint
from tasks.platform.intake import IntakeError, file_and_start
from tasks.returns.intake import file_return
from tasks.samples.intake import file_sample_request
from tasks.new_customer.steps import file_new_customer_application
from tasks.platform.render import fmt_dt, render
from tasks.platform.health import Health, check_health, http_status
from tasks.platform.runtime import Services
from tasks.platform.store import CaseNotFound
from tasks.archive.store import CustomerNotFound, record_of
from models.access import department_members, may_read_case, may_read_customer, people_on_case, reads_every_case
from tasks.platform.store_access import KeyRevoked
from webapp.auth import (REFUSED_KEY, SESSION_COOKIE, AuthError, Caller, KeyCache, auth_error_response, auth_router,
                         caller_may_backfill, filed_as, require, session_secret)
from models.errors import describe_all, problem
from webapp.idempotency import once
from webapp.limits import BodyLimit
from webapp.grievances import grievance_router
from models.business_days import TZ
from tasks.platform.runtime import services
from typing import Literal, get_args, get_origin
import json
from urllib.parse import unquote_to_bytes
from webapp.complaints_legal import legal_router
from webapp.customer_list import customer_list_router

log = logging.getLogger("kefu.web")

OPTION_LABELS = {k: f"{v}（{k}）" for k, v in {**OUTCOME_LABELS, **PROOF_LABELS}.items()}


# ---- what the API answers, declared so its OpenAPI document is true (the fuzz tests check it) ----
class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """Invalid input: one message per field, in Chinese and English; nothing was stored."""
    error: str
    detail: list[FieldProblem]


class CaseFiled(BaseModel):
    case_no: str
    flow_run_id: str | None = Field(description="the case's Prefect flow run; null until it is started "
                                                "(in the background, seconds later): GET /api/cases/{case_no}")


class Missing(BaseModel):
    error: str


class Refused(BaseModel):
    """No credential (401) or one that may not (403), in Chinese and English; nothing was read or stored."""
    error: str


# every API route but the decision pages and /healthz: a credential (webapp/auth.py)
AUTH = {401: {"model": Refused, "description": "未登录或 API 密钥无效 / no valid credential (nothing stored)"},
        403: {"model": Refused, "description": "无权 / the credential may not (nothing stored)"}}


INVALID = {422: {"model": Problem, "description": "输入无效 / invalid input (nothing stored)"}}
# the same answer from a route whose own pages are HTML
INVALID_ON_PAGE = {422: {"description": "输入无效 / invalid input (nothing stored)",
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}}
IDEMPOTENCY_KEY = Header(None, alias="Idempotency-Key", min_length=1, max_length=200,
                         description="the same key on this endpoint makes one case: a repeat with the same body "
                                     "answers 200 with it, one with another body 422 (nothing filed)")
DB_INT = 2**63 - 1  # ids and offsets beyond a 64-bit integer are refused, not passed to the database
FILED = {201: {"model": CaseFiled, "description": "已受理 / filed"},
         200: {"model": CaseFiled, "description": "同一 Idempotency-Key 的重复提交 / repeat of a filed case"},
         413: {"model": Problem, "description": "请求体过大，未读取 / body over KEFU_MAX_BODY_BYTES, unread"},
         **INVALID, **AUTH}
_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
DECISION_PAGE = {
    200: {"description": "决定页面 / the decision page (or: already decided, by whom and when)", **_HTML},
    403: {"description": "不属于您、回避、自己的申请，或表单失效 / not yours, recused, own request, "
                         "or the form's CSRF field is missing or wrong", **_HTML},
    404: {"description": "链接伪造、被改动或已过期 / forged, altered or expired link", **_HTML},
    410: {"description": "事项已撤销 / the task was cancelled", **_HTML},
}
DECISION_FORM = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["csrf", "choice"],
    "properties": {"csrf": {"type": "string", "description": "the page's hidden CSRF field"},
                   "choice": {"type": "string", "description": "one of the task's choices"},
                   "comment": {"type": "string", "maxLength": 2000}},
    "additionalProperties": {"type": "string", "description": "the typed answer's own fields"}}}}}}
NOT_FOUND_HTML = "<!doctype html><meta charset=utf-8><title>404</title><p>链接无效或不存在 / Not found</p>"


def _html(template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(render(f"pages/{template}", **ctx), status_code=status)


def _field_specs(model, values: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: ANN001
    """Describe the typed answer's own fields for the page form."""
    specs = []
    for name in extra_fields(model):
        f = model.model_fields[name]
        ann = f.annotation
        kind, options = "text", []
        if get_origin(ann) is Literal:
            kind = "select"
            options = [{"value": str(a), "label": OPTION_LABELS.get(str(a), str(a))} for a in get_args(ann)]
        elif ann is int:
            kind = "number"
        elif getattr(ann, "__name__", "") == "date":  # e.g. P5's date taken
            kind = "date"
        elif ann is bool:
            kind = "checkbox"
        elif getattr(ann, "__name__", "") in {"Decimal", "float"}:
            kind = "decimal"
        specs.append({"name": name, "label": FIELD_LABELS.get(name, f.description or name),
                      "help": f.description or "", "kind": kind, "options": options,
                      "required": f.is_required(), "value": values.get(name, "")})
    return specs


def _nul_fields(value: Any, where: tuple) -> list[tuple]:
    """Locations of strings holding a NUL character (PostgreSQL stores no NUL in text)."""
    if isinstance(value, str):
        return [where] if "\x00" in value else []
    if isinstance(value, dict):
        return [loc for k, v in value.items() for loc in
                ([(*where, k)] if "\x00" in str(k) else []) + _nul_fields(v, (*where, k))]
    if isinstance(value, list):
        return [loc for i, v in enumerate(value) for loc in _nul_fields(v, (*where, i))]
    return []


async def refuse_nul(request: Request) -> None:
    """Bad input, not a database error: a NUL character anywhere in the path, query, headers or body
    is refused with 422 before anything is read or stored. So is a JSON body naming one field twice
    ({"quantity": 1, "quantity": 1000}): ambiguous, never "the last wins"."""
    locs: list[tuple] = []
    if b"\x00" in unquote_to_bytes(request.scope.get("raw_path") or request.url.path.encode()):
        locs.append(("path",))
    locs += [("query", k) for k, v in request.query_params.multi_items() if "\x00" in k + v]
    locs += [("header", k) for k, v in request.headers.items() if "\x00" in k + v]
    body = await request.body()
    kind = request.headers.get("content-type", "")
    repeated: list[str] = []

    def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [k for k, _ in pairs]
        repeated.extend(sorted({k for k in names if names.count(k) > 1}))
        return dict(pairs)

    if body and "json" in kind:
        try:
            locs += _nul_fields(json.loads(body, object_pairs_hook=_pairs), ("body",))
        except ValueError:
            pass  # not JSON: FastAPI answers it
    if repeated:
        raise RequestValidationError([{"type": "duplicate_key", "loc": ("body", k),
                                       "msg": "the field is given more than once, which is ambiguous"}
                                      for k in repeated])
    elif b"\x00" in body or b"%00" in body:
        locs.append(("body",))
    if locs:
        raise RequestValidationError([{"type": "string_nul", "loc": loc, "msg": "NUL characters are not allowed"}
                                      for loc in locs])


def create_app(svc: Services, *, oidc_client_kwargs: dict[str, Any] | None = None) -> FastAPI:
    """The web app on `svc`; `oidc_client_kwargs` go to Authlib's httpx client (a test's fake IdP)."""
    settings = svc.settings
    # Flow runs are started in the background, never inside an intake request (tasks/platform/flow_starts.py):
    # woken right after each intake commit, and every few seconds for requests stored elsewhere.
    dispatcher = FlowStartDispatcher(svc)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # noqa: ANN202
        if settings.flow_start_in_web:
            dispatcher.start()
            dispatcher.wake()  # requests left by an earlier process or filed while it was down
        try:
            yield
        finally:
            dispatcher.stop()

    app = FastAPI(
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
        title="客服流程 Kefu Flows",
        description="Customer-service procedures as Prefect flows. 投诉、样品、档案更正等流程的接口与审批页面。",
        version="0.1.0",
        # /docs, /redoc and /openapi.json: dev only, unless enabled (KEFU_API_DOCS_ENABLED)
        **({} if settings.serves_api_docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}),
    )
    app.state.svc = svc
    app.state.api_keys = KeyCache()  # keys verified once (webapp/auth.py); revocation is read live
    # the staff session: a signed cookie (HttpOnly, SameSite=Lax, Secure in prod) with a server-side id
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings.secret_key),
                       session_cookie=SESSION_COOKIE, max_age=int(settings.session_hours * 3600),
                       same_site="lax", https_only=settings.secure_cookies)
    # outermost: a body over the limit is refused before anything reads it
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.include_router(auth_router(svc, oidc_client_kwargs))
    app.state.flow_starts = dispatcher

    @app.exception_handler(AuthError)
    async def _auth(_req: Request, exc: AuthError) -> JSONResponse:
        return auth_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(problem(describe_all(exc.errors())), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:  # a body that cannot be parsed at all (not UTF-8, broken form)
            return JSONResponse(problem([{"field": "body", "message": "body：请求体无法解析 / body: "
                                                                       "the request body cannot be parsed"}]),
                                status_code=422)
        return await http_exception_handler(req, exc)

    def now() -> datetime:
        return svc.clock.now()

    # ---- health -------------------------------------------------------------------
    started_at = svc.clock.now()

    @app.get("/healthz", tags=["ops"], summary="运行状况 / health of every part", responses={
        200: {"model": Health, "description": "ok 或 degraded（看门狗或邮件积压）/ ok or degraded"},
        503: {"model": Health, "description": "starting（流程尚未全部就绪）或 unavailable / not ready"}})
    def healthz() -> JSONResponse:
        health = check_health(svc, svc.clock.now(), started_at)
        return JSONResponse(health.model_dump(mode="json"), status_code=http_status(health))

    # ---- intake -------------------------------------------------------------------------
    def _file_and_start(file) -> JSONResponse:  # noqa: ANN001
        """Store the case with its start request (or find it by Idempotency-Key) and wake the
        dispatcher; never waits on Prefect. `flow_run_id` is null until the run exists
        (GET /api/cases/{case_no} shows it then)."""
        try:
            case, created = file_and_start(svc, file, wake=dispatcher.wake)
        except IntakeError as exc:
            return JSONResponse(problem(exc.details), status_code=422)
        except KeyRevoked as exc:  # revoked since it was cached: found in the filing's own transaction
            app.state.api_keys.forget(exc.args[0])
            log.warning("API key %s refused (revoked)", exc.args[0])
            raise AuthError(401, *REFUSED_KEY) from None
        return JSONResponse({"case_no": case.case_no, "flow_run_id": case.flow_run_id},
                            status_code=201 if created else 200)

    @app.post("/api/sample-requests", status_code=201, tags=["samples"], responses=FILED,
              summary="提交《取样出门审批单》 / file a free-sample request (P1–P3)")
    def create_sample_request(body: SampleRequestIn, request: Request,
                              idempotency_key: str | None = IDEMPOTENCY_KEY,
                              caller: Caller = Depends(require("sample_requests"))) -> JSONResponse:
        body = filed_as(svc, caller, body, "requested_by")
        return _file_and_start(once(request, body, idempotency_key, lambda key, fp: file_sample_request(
                                   svc, body, key, request_fingerprint=fp, filed=caller.filing)))

    @app.post("/api/complaints", status_code=201, tags=["complaints"], responses=FILED,
              summary="受理投诉 / file a complaint (C1)",
              description="The 《投诉处理单》 as received. Unknown fields are refused. A repeated POST with "
                          "the same `Idempotency-Key` header returns the same case (200). "
                          "Answers `{case_no, flow_run_id}` (the run is started in the background: "
                          "`flow_run_id` may be null, GET /api/cases/{case_no} shows it); invalid input answers 422 with one message per "
                          "field in Chinese and English, and stores nothing.")
    def create_complaint(body: ComplaintIn, request: Request,
                         idempotency_key: str | None = IDEMPOTENCY_KEY,
                         caller: Caller = Depends(require("complaints"))) -> JSONResponse:
        backfill = caller_may_backfill(svc, caller)
        body = filed_as(svc, caller, body, "received_by")
        return _file_and_start(once(request, body, idempotency_key, lambda key, fp: file_complaint(
                                   svc, body, key, request_fingerprint=fp, backfill=backfill, filed=caller.filing)))

    @app.post("/api/returns", status_code=201, tags=["returns"], responses=FILED,
              summary="退货 / 折让 / file a return or an allowance (R1)",
              description="A case decided outside the system (or linked to a complaint). `amount` is a decimal "
                          "string in yuan; a return needs `quantity` {value, unit}. The approvers follow the "
                          "approval-authority table (R2).")
    def create_return(body: ReturnRequestIn, request: Request,
                      idempotency_key: str | None = IDEMPOTENCY_KEY,
                      caller: Caller = Depends(require("returns"))) -> JSONResponse:
        body = filed_as(svc, caller, body, "salesperson")
        return _file_and_start(once(request, body, idempotency_key, lambda key, fp: file_return(
                                   svc, body, key, request_fingerprint=fp, filed=caller.filing)))

    @app.post("/api/archive-corrections", status_code=201, tags=["archive"], responses=FILED,
              summary="客户信息更正（补救处理方案）/ file an archive correction (A1–A2)",
              description="The remedy plan drafted by CS staff: `archive_no`, `changes` {field: new value}, "
                          "`reason`, `drafted_by`, `departments` (codes from the org directory, or "
                          "{department, action, due_business_days}). Starts the nine-step chain "
                          "`archive-correction-{case_no}`. Invalid input answers 422 with one message per field "
                          "and stores nothing; the same `Idempotency-Key` makes one case.")
    def create_correction(body: CorrectionIn, request: Request,
                          idempotency_key: str | None = IDEMPOTENCY_KEY,
                          caller: Caller = Depends(require("archive_corrections"))) -> JSONResponse:
        body = filed_as(svc, caller, body, "drafted_by")
        return _file_and_start(once(request, body, idempotency_key, lambda key, fp: file_correction(
                                   svc, body, key, request_fingerprint=fp, filed=caller.filing)))

    @app.get("/api/customers/{archive_no}", tags=["archive"],
             summary="客户档案（脱敏）/ a customer archive record, masked, with its versions",
             responses={404: {"model": Missing, "description": "档案不存在 / no such customer archive"}, **INVALID,
                        **AUTH})
    def get_customer(archive_no: str, caller: Caller = Depends(require("read_customers"))) -> JSONResponse:
        try:
            record = record_of(svc.store.get_customer(archive_no))
        except CustomerNotFound:
            return JSONResponse({"error": f"档案 {archive_no} 不存在 / customer archive {archive_no} not found"},
                                status_code=404)
        if caller.staff and not may_read_customer(svc.org, caller.staff, record.get("salesperson")):
            raise AuthError(403, f"您无权查阅档案 {archive_no}（需档案查阅权限或为该客户的业务员）",
                            f"you may not read archive {archive_no} (archive roles or the customer's salesperson)")
        versions = [{"version": v.version, "changed_by": v.changed_by,
                     "changed_at": fmt_dt(v.changed_at, "%Y-%m-%dT%H:%M:%S%z"), "reason": v.reason,
                     "source": v.source, "case_no": v.case_no,
                     "changes": {k: [v.before.get(k), v.after.get(k)] for k in v.after}}
                    for v in svc.store.customer_versions(archive_no)]
        # ID-card and phone numbers masked, in the record and in every version's before/after
        return JSONResponse(mask_data({**record, "versions": versions}))

    @app.post("/api/new-customer-applications", status_code=201, tags=["new customers"], responses=FILED,
              summary="提交《新客户开发申请表》 / apply for new-customer certification (N2, N3)",
              description="The salesperson's application: `customer` (with `invoicing_name`), `first_transaction` "
                          "{date, amount, reference}, `development_history`, `evaluation` {contribution, "
                          "long_term_impact, credit}, `support_needed`, `salesperson`. A late application (more "
                          "than one month after the first transaction) or a customer name that differs from the "
                          "invoicing name is still filed and refused by the flow, with the reason. Same "
                          "`Idempotency-Key`, same case (200); invalid input: 422, nothing stored.")
    def create_new_customer_application(body: NewCustomerApplicationIn,
                                        request: Request,
                                        idempotency_key: str | None = IDEMPOTENCY_KEY,
                                        caller: Caller = Depends(require("new_customers"))) -> JSONResponse:
        body = filed_as(svc, caller, body, "salesperson")
        return _file_and_start(once(request, body, idempotency_key, lambda key, fp: file_new_customer_application(
                                   svc, body, key, request_fingerprint=fp, filed=caller.filing)))


    app.include_router(grievance_router(svc, _file_and_start, FILED, INVALID, IDEMPOTENCY_KEY))

    app.include_router(legal_router(svc, INVALID))

    app.include_router(customer_list_router(svc, INVALID))

    # ---- cases ------------------------------------------------------------------
    def case_json(case_no: str) -> dict[str, Any]:
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
            "created_at": fmt_dt(case.created_at, "%Y-%m-%dT%H:%M:%S%z"),
            "closed_at": fmt_dt(case.closed_at, "%Y-%m-%dT%H:%M:%S%z") if case.closed_at else None,
            "assignees": sorted(set(open_people)),
            "deadlines": case.data.get("deadlines", {}),
            "linked_cases": ([case.parent_case_no] if case.parent_case_no else []) + linked,
            "data": case.data,
            "tasks": [{"step_key": t.step_key, "title": t.title, "role": t.role, "assignee": t.assignee,
                       "state": t.state, "decision": t.decision, "decided_by": t.decided_by,
                       "decided_via": t.decided_via, "escalated_to": t.escalated_to,
                       "remind_at": _iso(t.remind_at), "due_at": _iso(t.due_at)}
                      for t in tasks],
            "events": [{"at": fmt_dt(e.at, "%Y-%m-%dT%H:%M:%S%z"), "kind": e.kind, "actor": e.actor,
                        "step_key": e.step_key, "data": e.data} for e in events],
        })

    @app.get("/api/cases/{case_no}", tags=["cases"], summary="案件详情 / one case with its audit trail",
             responses={404: {"model": Missing, "description": "案件不存在 / no such case"}, **INVALID, **AUTH})
    def get_case(case_no: str, caller: Caller = Depends(require("read_cases"))) -> JSONResponse:
        try:
            if caller.staff:
                case_readable_by(caller.staff, case_no)
            return JSONResponse(case_json(case_no))
        except CaseNotFound:
            return JSONResponse({"error": f"案件 {case_no} 不存在 / case {case_no} not found"},
                                status_code=404)

    def case_readable_by(email: str, case_no: str) -> None:
        """C24 need-to-know for a staff member (webapp/auth.py: a key with read_cases reads every case)."""
        case = svc.store.get_case(case_no)
        tasks = svc.store.tasks_of(case_no)
        people = people_on_case(case.data, case.requested_by,
                                [p for t in tasks for p in (t.assignee, t.escalated_to, t.decided_by)])
        recused = set(case.data.get("recused") or []) | {r for t in tasks for r in t.recused}
        if not may_read_case(svc.org, email, people, recused):
            raise AuthError(403, f"您不在案件 {case_no} 的处理人之列，无权查阅", f"you are not on case {case_no} "
                                 "(need-to-know: requester, receiver, handler, approvers, their department head)")

    @app.get("/api/cases", tags=["cases"], summary="案件列表 / list cases (a staff member: the cases they are on)",
             responses={**INVALID, **AUTH})
    def list_cases(state: str | None = None, level: int | None = Query(None, ge=1, le=3),
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
            "title": c.title, "created_at": fmt_dt(c.created_at, "%Y-%m-%dT%H:%M:%S%z")}) for c in items]})

    # ---- decision pages -----------------------------------------------------------------
    def resolve(token: str) -> tuple[HumanTask, str] | None:
        try:
            claim = read_token(settings.secret_key, token, now(), settings.token_max_age_days)
        except InvalidToken:
            return None
        task = svc.store.get_task(claim.task_id)
        if task is None:
            return None
        return task, claim.person

    def refusal(task: HumanTask, person: str) -> str | None:
        p = person.lower()
        if task.requested_by and p == task.requested_by.lower():
            return "您不能审批自己提交的申请。/ You cannot decide on your own request."
        if p in {r.lower() for r in task.recused}:
            return "您是本案的被投诉人或申请人，依规定回避。/ You are recused from this case."
        allowed = {task.assignee.lower()} | ({task.escalated_to.lower()} if task.escalated_to else set())
        if p not in allowed:
            return "此链接不属于当前处理人。/ This link is not for the current assignee."
        return None

    def page_ctx(task: HumanTask, person: str, token: str, **extra: Any) -> dict[str, Any]:
        who = svc.org.find(person)
        decider = svc.org.find(task.decided_by or "") if task.decided_by else None
        model = ANSWER_MODELS[task.answer_model]
        return mask_data({
            "case_no": task.case_no, "title": task.title, "summary": task.summary,
            "role_label": ROLE_LABELS.get(task.role, task.role),
            "person_name": who.name if who else person, "due_at": fmt_dt(task.due_at),
            "choices": [{"value": c, "label": CHOICE_LABELS.get(c, c)} for c in task.choices],
            "csrf": csrf_for(settings.secret_key, token), "token": token,
            "decided_by": (decider.name if decider else task.decided_by) or "",
            "decided_via": {"email": "邮件链接", "ui": "Prefect 界面"}.get(task.decided_via or "", ""),
            "decided_at": fmt_dt(task.decided_at), "decision_label": CHOICE_LABELS.get(task.decision or "", ""),
            "comment_value": "", "errors": [], "selected": "",
            "fields": _field_specs(model, task.answer if task.state in ("open", "escalated") else {}),
            "state": task.state,
        } | extra)

    @app.get("/t/{token}", response_class=HTMLResponse, tags=["decisions"], responses={**DECISION_PAGE, **INVALID_ON_PAGE},
             summary="决定页面 / the decision page behind an emailed link (a GET never decides)")
    def decision_page(token: str, choice: str | None = None) -> Response:
        found = resolve(token)
        if not found:
            return HTMLResponse(NOT_FOUND_HTML, status_code=404)
        task, person = found
        if task.state == "decided":
            return _html("already.html.j2", **page_ctx(task, person, token))
        if task.state == "cancelled":
            return _html("message.html.j2", status=410, **page_ctx(task, person, token),
                         message="此事项已撤销，无需处理。/ This task was cancelled.")
        reason = refusal(task, person)
        if reason:
            return _html("message.html.j2", status=403, **page_ctx(task, person, token), message=reason)
        selected = choice if choice in task.choices else (task.choices[0] if len(task.choices) == 1 else "")
        return _html("decision.html.j2", **page_ctx(task, person, token, selected=selected))

    @app.post("/t/{token}", response_class=HTMLResponse, tags=["decisions"], openapi_extra=DECISION_FORM,
              responses={**DECISION_PAGE, 422: {
                  "description": "答案无效，页面附说明 / invalid answer, the page again with the messages "
                                 "(a NUL character anywhere: the JSON problem)",
                  "content": {**_HTML["content"], **INVALID_ON_PAGE[422]["content"]}}},
              summary="提交决定 / submit the decision form (once; the first answer wins)")
    async def decide(token: str, request: Request) -> Response:
        found = resolve(token)
        if not found:
            return HTMLResponse(NOT_FOUND_HTML, status_code=404)
        task, person = found
        form = await request.form()
        if task.state == "decided":
            return _html("already.html.j2", **page_ctx(task, person, token))
        if task.state == "cancelled":
            return _html("message.html.j2", status=410, **page_ctx(task, person, token),
                         message="此事项已撤销，无需处理。/ This task was cancelled.")
        if not check_csrf(settings.secret_key, token, str(form.get("csrf") or "")):
            return _html("message.html.j2", status=403, **page_ctx(task, person, token),
                         message="表单已失效，请从邮件链接重新打开。/ The form expired; open the link again.")
        reason = refusal(task, person)
        if reason:
            return _html("message.html.j2", status=403, **page_ctx(task, person, token), message=reason)
        model = ANSWER_MODELS[task.answer_model]
        # every field of the form has one value: a repeated one (choice=approve&choice=reject) is
        # ambiguous and refused, never "the last wins"
        repeated = sorted({k for k in form.keys() if len(form.getlist(k)) > 1})
        if repeated:
            errors = [f"{k}：此字段提交了多次，含义不明确，请重新提交 / {k}: the field was sent more than once, "
                      "which is ambiguous; please submit again" for k in repeated]
            return _html("decision.html.j2", status=422, **page_ctx(task, person, token, errors=errors))
        # a browser sends every rendered field, blanks included: a blank optional field is "not
        # given" (its default applies), a blank required one stays blank and is refused
        values: dict[str, Any] = {k: v for k, v in form.items() if k in model.model_fields
                                  and not (v == "" and not model.model_fields[k].is_required())}
        values["decision"] = str(form.get("choice") or "")
        values["comment"] = str(form.get("comment") or "")
        values["decided_by"] = person
        try:
            answer = model.model_validate(values)
        except ValidationError as exc:
            errors = [e["message"] for e in describe_all(exc.errors())]
            return _html("decision.html.j2", status=422, **page_ctx(
                task, person, token, errors=errors, selected=values["decision"],
                comment_value=values["comment"], fields=_field_specs(model, values)))
        data = answer.model_dump(mode="json")
        won, task = await _in_thread(svc.store.decide, task.id, decision=data["decision"],
                                     comment=data["comment"], answer=data, by=person, via="email",
                                     now=now())
        if not won:
            return _html("already.html.j2", **page_ctx(task, person, token))
        # The approver's page never waits on Prefect: the run is resumed right after the response
        # (and, if it is still finishing its suspension, as soon as it waits on this step).
        response = _html("done.html.j2", **page_ctx(task, person, token))
        response.background = BackgroundTask(svc.flows.resume_when_waiting, svc.store, task.id)
        return response

    # ---- dev mailbox: every decision link is in it, so dev only unless enabled (KEFU_DEV_MAIL_ENABLED) --
    if settings.serves_dev_mail:
        mailbox = Mailbox(mailbox_path(settings.home))

        @app.get("/dev/mail.json", tags=["dev"], summary="开发邮箱 / messages at the local SMTP sink",
                 responses=INVALID)
        def dev_mail_json(since_id: int = Query(0, ge=0, le=DB_INT), to: str | None = None) -> JSONResponse:
            return JSONResponse(mailbox.list(since_id=since_id, to=to))

        @app.get("/dev/mail", response_class=HTMLResponse, tags=["dev"], responses=INVALID_ON_PAGE)
        def dev_mail(to: str | None = None) -> HTMLResponse:
            msgs = list(reversed(mailbox.list(to=to)))
            return _html("mailbox.html.j2", messages=msgs[:500], to=to or "")

        @app.get("/dev/mail/{msg_id}", response_class=HTMLResponse, tags=["dev"], responses={
            404: {"description": "no such message", **_HTML}, **INVALID_ON_PAGE})
        def dev_mail_one(msg_id: int = PathParam(ge=1, le=DB_INT)) -> Response:
            m = mailbox.get(msg_id)
            if not m:
                return HTMLResponse(NOT_FOUND_HTML, status_code=404)
            return _html("mail_one.html.j2", m=m)

        @app.get("/dev/mail/{msg_id}/html", response_class=HTMLResponse, include_in_schema=False)
        def dev_mail_html(msg_id: int = PathParam(ge=1, le=DB_INT)) -> Response:
            m = mailbox.get(msg_id)
            if not m:
                return HTMLResponse(NOT_FOUND_HTML, status_code=404)
            # A link clicked in the message opens in the whole window, as from a mail client (inside
            # the sandboxed frame the decision form could not be submitted).
            page = m["html"] or f"<pre style=\"white-space:pre-wrap\">{escape(m['text'] or '')}</pre>"
            return HTMLResponse(_open_links_on_top(page),
                                headers={"Content-Security-Policy": "script-src 'none'"})

    @app.get("/", response_class=PlainTextResponse, include_in_schema=False)
    def index() -> str:
        return ("客服流程 Kefu Flows\n" + ("/docs  API\n" if settings.serves_api_docs else "") + "/healthz\n"
                + "/login  员工登录 staff sign-in\n"
                + ("/dev/mail  开发邮箱 dev mailbox\n" if settings.serves_dev_mail else ""))

    return app


def _open_links_on_top(html: str) -> str:
    base = '<base target="_top">'
    head = html.lower().find("<head>")
    return html[:head + 6] + base + html[head + 6:] if head >= 0 else base + html


def _iso(value: datetime | None) -> str | None:
    """ISO-8601 in Asia/Shanghai."""
    return value.astimezone(_tz()).isoformat() if value else None


def _tz():  # noqa: ANN202
    return TZ


async def _in_thread(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args, **kwargs)


def app_from_env() -> FastAPI:
    """uvicorn factory: `uvicorn webapp.app:app_from_env --factory`."""
    svc = services()
    svc.settings.check_for_start()
    return create_app(svc)
