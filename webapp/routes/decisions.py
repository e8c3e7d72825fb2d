"""The decision pages behind the emailed links (`/t/{token}`): the link is the credential, signed for
one task and one person (models/tokens.py). A GET only shows the page (mail scanners open links); the
form's POST records the answer — the first valid answer wins — and the run is resumed after the
response (tasks/platform/resume.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args, get_origin

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from models.answers import ANSWER_MODELS, CHOICE_LABELS, FIELD_LABELS, extra_fields
from models.complaint.handling import OUTCOME_LABELS
from models.org import ROLE_LABELS
from models.privacy import mask_data
from models.returns import PROOF_LABELS
from models.tables import HumanTask
from models.tokens import InvalidToken, check_csrf, csrf_for, read_token
from tasks.platform.render import fmt_dt
from tasks.platform.runtime import Services
from webapp.deps import NowDep, ServicesDep
from models.errors import describe_all
from webapp.responses import HTML, INVALID_ON_PAGE, html, not_found_page

router = APIRouter(tags=["decisions"])

OPTION_LABELS = {k: f"{v}（{k}）" for k, v in {**OUTCOME_LABELS, **PROOF_LABELS}.items()}
DECISION_PAGE = {
    200: {"description": "决定页面 / the decision page (or: already decided, by whom and when)", **HTML},
    403: {"description": "不属于您、回避、自己的申请，或表单失效 / not yours, recused, own request, "
                         "or the form's CSRF field is missing or wrong", **HTML},
    404: {"description": "链接伪造、被改动或已过期 / forged, altered or expired link", **HTML},
    410: {"description": "事项已撤销 / the task was cancelled", **HTML},
}
DECISION_FORM = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["csrf", "choice"],
    "properties": {"csrf": {"type": "string", "description": "the page's hidden CSRF field"},
                   "choice": {"type": "string", "description": "one of the task's choices"},
                   "comment": {"type": "string", "maxLength": 2000}},
    "additionalProperties": {"type": "string", "description": "the typed answer's own fields"}}}}}}
CANCELLED = "此事项已撤销，无需处理。/ This task was cancelled."


def field_specs(model: type[BaseModel], values: dict[str, Any]) -> list[dict[str, Any]]:
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


def resolve(svc: Services, token: str, now: datetime) -> tuple[HumanTask, str] | None:
    """The task and the person a link was signed for; None for a forged, altered or expired link."""
    settings = svc.settings
    try:
        claim = read_token(settings.secret_key, token, now, settings.token_max_age_days)
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


def page_ctx(svc: Services, task: HumanTask, person: str, token: str, **extra: Any) -> dict[str, Any]:
    who = svc.org.find(person)
    decider = svc.org.find(task.decided_by or "") if task.decided_by else None
    model = ANSWER_MODELS[task.answer_model]
    return mask_data({
        "case_no": task.case_no, "title": task.title, "summary": task.summary,
        "role_label": ROLE_LABELS.get(task.role, task.role),
        "person_name": who.name if who else person, "due_at": fmt_dt(task.due_at),
        "choices": [{"value": c, "label": CHOICE_LABELS.get(c, c)} for c in task.choices],
        "csrf": csrf_for(svc.settings.secret_key, token), "token": token,
        "decided_by": (decider.name if decider else task.decided_by) or "",
        "decided_via": {"email": "邮件链接", "ui": "Prefect 界面"}.get(task.decided_via or "", ""),
        "decided_at": fmt_dt(task.decided_at), "decision_label": CHOICE_LABELS.get(task.decision or "", ""),
        "comment_value": "", "errors": [], "selected": "",
        "fields": field_specs(model, task.answer if task.state in ("open", "escalated") else {}),
        "state": task.state,
    } | extra)


@router.get("/t/{token}", response_class=HTMLResponse, responses={**DECISION_PAGE, **INVALID_ON_PAGE},
            summary="决定页面 / the decision page behind an emailed link (a GET never decides)")
def decision_page(token: str, svc: ServicesDep, now: NowDep, choice: str | None = None) -> Response:
    found = resolve(svc, token, now)
    if not found:
        return not_found_page()
    task, person = found
    if task.state == "decided":
        return html("already.html.j2", **page_ctx(svc, task, person, token))
    if task.state == "cancelled":
        return html("message.html.j2", status=410, **page_ctx(svc, task, person, token), message=CANCELLED)
    reason = refusal(task, person)
    if reason:
        return html("message.html.j2", status=403, **page_ctx(svc, task, person, token), message=reason)
    selected = choice if choice in task.choices else (task.choices[0] if len(task.choices) == 1 else "")
    return html("decision.html.j2", **page_ctx(svc, task, person, token, selected=selected))


@router.post("/t/{token}", response_class=HTMLResponse, openapi_extra=DECISION_FORM,
             responses={**DECISION_PAGE, 422: {
                 "description": "答案无效，页面附说明 / invalid answer, the page again with the messages "
                                "(a NUL character anywhere: the JSON problem)",
                 "content": {**HTML["content"], **INVALID_ON_PAGE[422]["content"]}}},
             summary="提交决定 / submit the decision form (once; the first answer wins)")
async def decide(token: str, request: Request, svc: ServicesDep) -> Response:
    found = resolve(svc, token, svc.clock.now())
    if not found:
        return not_found_page()
    task, person = found
    form = await request.form()
    if task.state == "decided":
        return html("already.html.j2", **page_ctx(svc, task, person, token))
    if task.state == "cancelled":
        return html("message.html.j2", status=410, **page_ctx(svc, task, person, token), message=CANCELLED)
    if not check_csrf(svc.settings.secret_key, token, str(form.get("csrf") or "")):
        return html("message.html.j2", status=403, **page_ctx(svc, task, person, token),
                    message="表单已失效，请从邮件链接重新打开。/ The form expired; open the link again.")
    reason = refusal(task, person)
    if reason:
        return html("message.html.j2", status=403, **page_ctx(svc, task, person, token), message=reason)
    model = ANSWER_MODELS[task.answer_model]
    # every field of the form has one value: a repeated one (choice=approve&choice=reject) is
    # ambiguous and refused, never "the last wins"
    repeated = sorted({k for k in form.keys() if len(form.getlist(k)) > 1})
    if repeated:
        errors = [f"{k}：此字段提交了多次，含义不明确，请重新提交 / {k}: the field was sent more than once, "
                  "which is ambiguous; please submit again" for k in repeated]
        return html("decision.html.j2", status=422, **page_ctx(svc, task, person, token, errors=errors))
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
        return html("decision.html.j2", status=422, **page_ctx(
            svc, task, person, token, errors=errors, selected=values["decision"],
            comment_value=values["comment"], fields=field_specs(model, values)))
    data = answer.model_dump(mode="json")
    won, task = await run_in_threadpool(svc.store.decide, task.id, decision=data["decision"],
                                        comment=data["comment"], answer=data, by=person, via="email",
                                        now=svc.clock.now())
    if not won:
        return html("already.html.j2", **page_ctx(svc, task, person, token))
    # The approver's page never waits on Prefect: the run is resumed right after the response
    # (and, if it is still finishing its suspension, as soon as it waits on this step).
    response = html("done.html.j2", **page_ctx(svc, task, person, token))
    response.background = BackgroundTask(svc.flows.resume_when_waiting, svc.store, task.id)
    return response
