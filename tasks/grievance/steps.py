"""Steps of product complaints (§7 C14–C18, R9): filing the 《客户抱怨处理表》, its live form, the five
copies, the bases, the register."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from prefect import task

from models.business_days import TZ
from models.complaint.handling import PRODUCT_CATEGORY, complaint_deadlines
from models.grievance import (
    CLASS_LABELS,
    COPIES,
    COPY_FILE_PREFIX,
    QUANTITY_PENDING_TEXT,
    GrievanceIn,
    LossBasis,
    PenaltyBasis,
    check_copy_recipients,
    days_overdue,
    load_loss_basis,
    load_penalty_basis,
    quantity_pending,
)
from tasks.cases import publish_form
from tasks.complaint.intake import deadline_record
from tasks.grievance.pdf import copy_pdf
from tasks.notify import notify
from tasks.platform.flow_starts import start_request
from tasks.platform.intake import IntakeError, file_and_start
from tasks.platform.mail import Attachment
from tasks.platform.policy import IO_TASK
from tasks.platform.render import fmt_dt, render
from tasks.platform.runtime import Services, services
from tasks.platform.store import CaseNotFound
from tasks.reports.output import workbook_bytes
from tasks.replay import replayed
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.tables import Case
    from tasks.platform.store_access import Filing

PROCEDURE = "grievance"
PREFIX = "KS"  # C14: grievance numbers are their own series, never reused
OPEN_STATES = ("registered", "investigating", "deciding", "quantity_pending", "decided", "tracking")


@lru_cache(maxsize=4)
def _bases(loss_file: Path, penalty_file: Path) -> tuple[LossBasis, PenaltyBasis]:
    return load_loss_basis(loss_file), load_penalty_basis(penalty_file)


def bases(svc: Services) -> tuple[LossBasis, PenaltyBasis]:
    """The loss and penalty bases in force (validated; a bad file stops with its name)."""
    return _bases(svc.settings.loss_basis_file, svc.settings.penalty_basis_file)


# ---- intake ----------------------------------------------------------------------------------------
def file_grievance(svc: Services, body: GrievanceIn, idempotency_key: str | None = None, *,
                   request_fingerprint: str | None = None, filed: Filing | None = None) -> tuple[Case, bool]:
    """C15: the salesperson's form, at once to the GM office; returns (case, created). The close
    deadline (C8: 15 / 20 days) counts from the company's receipt."""
    errors: list[IntakeError] = []
    salesperson = str(body.salesperson)
    if not svc.org.find(salesperson) or not svc.org.has_role(salesperson, "salesperson"):
        errors.append(IntakeError("salesperson", f"{salesperson} 不是业务员", f"{salesperson} is not a salesperson"))
    now = svc.clock.now()
    received_at = body.received_at or now
    if received_at > now:
        errors.append(IntakeError("received_at", "不能晚于当前时间", "must not be in the future"))
    if body.ship_date > now.astimezone(TZ).date():
        errors.append(IntakeError("ship_date", "交运日期不能晚于今天", "the ship date must not be in the future"))
    for field in ("complaint_case_no", "previous_case_no"):
        ref = getattr(body, field)
        if ref:
            try:
                svc.store.get_case(ref)
            except CaseNotFound:
                errors.append(IntakeError(field, f"案件 {ref} 不存在", f"no case {ref}"))
    if errors:
        raise IntakeError.many(errors)
    salesperson = svc.org.person(salesperson).email
    dl = complaint_deadlines(received_at, 2, PRODUCT_CATEGORY, body.foreign, svc.calendar)
    data = {"form": body.model_dump(mode="json") | {"salesperson": salesperson},
            "salesperson": salesperson, "deadlines": deadline_record(dl),
            "quantity_pending": quantity_pending(body)}
    return svc.store.create_case(
        procedure=PROCEDURE, prefix=PREFIX, year=received_at.astimezone(TZ).year, state="filed",
        title=f"客户抱怨 · {body.customer} · {body.item_no}", data=data, level=2, requested_by=salesperson,
        parent_case_no=body.previous_case_no or body.complaint_case_no, idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint, actor=salesperson, now=now, start=start_request, filed=filed)


# ---- what a person reads ---------------------------------------------------------------------------
def grievance_summary(case: dict[str, Any]) -> dict[str, Any]:
    f = case["data"]["form"]
    q = f.get("return_quantity")
    return {
        "编号": case["case_no"], "异常编号": f["abnormality_no"], "客户": f["customer"], "订单编号": f["order_no"],
        "料号 / 品名": f"{f['item_no']} {f.get('product_name', '')}".strip(),
        "交运数量 / 日期": f"{f['quantity_shipped']['value']} {f['quantity_shipped']['unit']} / {f['ship_date']}",
        "不良数量": f"{f['defective_quantity']['value']} {f['defective_quantity']['unit']}",
        "异常情况": f["description"], "客户要求": f["demand"],
        "退换数量": f"{q['value']} {q['unit']}" if q else QUANTITY_PENDING_TEXT,
        "类别": CLASS_LABELS[f["grievance_class"]], "附不良样品": "是" if f["sample_attached"] else "否",
        "业务员意见": f["opinion"], "业务员": f["salesperson"],
        "结案期限": case["data"]["deadlines"]["close"][:16].replace("T", " "),
    }


def form_markdown(svc: Services, case_no: str, copy: str = "") -> str:
    case = svc.store.get_case(case_no)
    summary = grievance_summary({"case_no": case_no, "data": case.data})
    return render("forms/grievance_form.md.j2", case=case, d=case.data, summary=summary, copy=copy,
                  tasks=svc.store.tasks_of(case_no))


@replayed("skip")  # a bookkeeping step: no task run of its own (tasks/replay.py)
@task(name="更新客户抱怨处理表 publish grievance form", **IO_TASK)
def publish_grievance_form(case_no: str) -> None:
    """The 《客户抱怨处理表》 as it stands, a live markdown artifact of the run."""
    publish_form.fn(case_no, form_markdown(services(), case_no), f"grievance-form-{case_no.lower()}")


# ---- C17: the five copies ----------------------------------------------------------------------------
def copy_holders(svc: Services, salesperson: str) -> list[tuple[Any, str]]:
    """Each copy with the person it goes to: the unit's role holder (sales: the case's salesperson)."""
    return [(c, salesperson if c.role == "salesperson" else svc.org.first_for_role(c.role).email) for c in COPIES]


@task(name="发出五联 issue the five copies", **IO_TASK)
def issue_copies(case_no: str) -> list[dict[str, Any]]:
    """C17: on the decision, copies 1–5 to quality, production, sales (starts R1), accounting (the
    approved quantity for R5) and the GM office, each delivery logged; never to a customer address
    (refused before anything is queued)."""
    svc = services()
    case = svc.store.get_case(case_no)
    holders = copy_holders(svc, case.data["salesperson"])
    check_copy_recipients([to for _c, to in holders], {p.email.lower() for p in svc.org.people})
    summary = grievance_summary({"case_no": case_no, "data": case.data})
    steps = [(t.title, t.decided_by or t.assignee, t.decision or t.state, fmt_dt(t.decided_at or t.created_at))
             for t in svc.store.tasks_of(case_no)]
    log = []
    for c, to in holders:
        pdf = copy_pdf(case_no, c.mark, c.unit, summary, case.data.get("decision"), steps, svc.documents)
        notify(case_no, f"copy-{c.no}", "notice", [to],
               {"case_no": case_no, "title": f"《客户抱怨处理表》{c.mark}（{c.unit}）",
                "message": f"客户抱怨 {case_no} 已核决，附《客户抱怨处理表》{c.mark}（PDF），请存查并按职责办理。",
                "summary": {"编号": case_no, "联次": f"{c.mark}（{c.unit}）"}},
               attachments=[Attachment.from_bytes(f"{COPY_FILE_PREFIX}-{case_no}-{c.mark}.pdf", pdf, "application/pdf")],
               event="copy_delivered")
        log.append({"copy": c.mark, "unit": c.unit, "to": to})
    return log


# ---- C14: the register -------------------------------------------------------------------------
def grievance_register(svc: Services, now: datetime) -> list[dict[str, Any]]:
    """《客户抱怨案件登记追踪表》: each grievance with its current step, holder, since when, days overdue."""
    _total, cases = svc.store.list_cases(procedure=PROCEDURE, limit=100000)
    rows = []
    for case in sorted(cases, key=lambda c: c.case_no):
        open_tasks = [t for t in svc.store.tasks_of(case.case_no) if t.state in ("open", "escalated")]
        t = open_tasks[-1] if open_tasks else None
        rows.append({"编号": case.case_no, "客户": case.data["form"]["customer"], "料号": case.data["form"]["item_no"],
                     "状态": case.state, "当前环节": t.title if t else "—", "经办人": t.assignee if t else "—",
                     "起始时间": t.created_at.isoformat() if t else "—",
                     "逾期天数": days_overdue(t.due_at, now) if t else 0,
                     "结案时间": case.closed_at.isoformat() if case.closed_at else "—"})
    return rows


REGISTER_COLUMNS = (("编号", "text", 16), ("客户", "text", 24), ("料号", "text", 12), ("状态", "text", 14),
                    ("当前环节", "text", 36), ("经办人", "text", 26), ("起始时间", "text", 20), ("逾期天数", "int", 10),
                    ("结案时间", "text", 20))


def register_workbook(rows: list[dict[str, Any]]) -> bytes:
    """C14: the register as an Excel workbook (the report writer's typed cells and widths)."""
    return workbook_bytes("客户抱怨案件登记追踪表", "grievance_register", REGISTER_COLUMNS, rows)


def open_linked_grievance(source_case_no: str, form: dict[str, Any], key: str, event: str) -> str:
    """A new grievance filed from `source_case_no` (one per `key`, re-run safe), the event on the source,
    its run started here or by the dispatchers."""
    svc = services()
    case, _ = file_and_start(svc, lambda: file_grievance(svc, GrievanceIn.model_validate(form), key), here=True)
    svc.store.add_event(source_case_no, event, actor="system", now=svc.clock.now(), data={"case_no": case.case_no})
    return case.case_no


@task(name="转客户抱怨处理 open the grievance of a complaint", **IO_TASK)
def open_grievance_from_complaint(complaint_case_no: str, form: dict[str, Any]) -> str:
    """C15: a product-quality complaint naming an order becomes a grievance, linked to the complaint
    (one per complaint, re-run safe); its run is started here or by the dispatchers."""
    return open_linked_grievance(complaint_case_no, form, f"complaint:{complaint_case_no}", "routed_to_grievance")


@task(name="客户不接受，另填新表 refile the grievance the customer rejected", **IO_TASK)
def refile_rejected_grievance(case_no: str, form: dict[str, Any]) -> str:
    """C17: the customer rejects the decision — the new 《客户抱怨处理表》 sales filled, linked to the
    original (`previous_case_no`, its parent), runs the chain again (as C9); the original's open steps
    (objections to a decision that no longer stands) are cancelled."""
    svc = services()
    new_no = open_linked_grievance(case_no, form, f"rejected:{case_no}", "refiled_after_rejection")
    svc.store.cancel_open_tasks(case_no, svc.clock.now(), actor="system")
    return new_no
