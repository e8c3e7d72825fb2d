"""File cases. Each case is stored with the request to start its flow run, in one transaction
(`start=start_request`); the run itself is started by a dispatcher (tasks/platform/flow_starts.py), so filing
never waits on Prefect. Used by the web API, the CLI and the flows that open linked cases."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tasks.platform.flow_starts import ensure_start_request, start_request
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.archive.corrections import CorrectionIn
    from models.complaint.handling import ComplaintIn, Deadlines
    from models.returns import ReturnRequestIn
    from models.samples import SampleRequestIn
    from models.tables import Case
    from tasks.platform.runtime import Services

log = logging.getLogger("kefu.intake")


def file_and_start(svc: Services, file: Callable[[], tuple[Any, bool]],
                   wake: Callable[[], None] | None = None) -> tuple[Any, bool]:
    """Every intake path: `file()` stores the case with its start request (or finds it by its
    Idempotency-Key); then the dispatcher is woken (`wake`) to start the run. Raises IntakeError
    for refused input (nothing stored). A repeat of a case filed before start requests were
    stored with the case gets its request now."""
    case, created = file()
    if not case.flow_run_id:
        if not created:
            ensure_start_request(svc, case)
        if wake is not None:
            wake()
    return case, created


class IntakeError(ValueError):
    """Bad input found beyond the schema (e.g. a person without the right role): one per field."""

    def __init__(self, field: str, zh: str, en: str) -> None:
        super().__init__(f"{field}：{zh} / {field}: {en}")
        self.field = field
        self.details = [{"field": field, "message": str(self)}]

    @classmethod
    def many(cls, errors: list["IntakeError"]) -> "IntakeError":
        """Several fields at once (the API answers one message per field)."""
        first = errors[0]
        first.details = [d for e in errors for d in e.details]
        return first


def file_sample_request(svc: Services, body: SampleRequestIn, idempotency_key: str | None = None, *,
                        request_fingerprint: str | None = None) -> tuple[Case, bool]:
    """P2: a complete 《取样出门审批单》 from marketing; returns (case, created)."""
    from models.business_days import TZ

    requester = body.requested_by or svc.org.first_for_role("marketing").email
    if not svc.org.has_role(requester, "marketing"):
        raise IntakeError("requested_by", f"{requester} 不是营销部人员", f"{requester} is not in the marketing department")
    now = svc.clock.now()
    case, created = svc.store.create_case(
        procedure="sample_request", prefix="YP", year=now.astimezone(TZ).year, state="pending_leader",
        title=f"{body.customer} {body.product} 取样", data=body.model_dump(mode="json") | {"requested_by": requester},
        requested_by=requester, idempotency_key=idempotency_key, request_fingerprint=request_fingerprint, now=now,
        start=start_request)
    return case, created


def _event_key(body: ComplaintIn) -> str | None:
    """C3 "same customer, same event": the complainant's phone with the event's time and place; a
    complaint whose time and place are both blank names no event, so it is nobody's repeat (None)."""
    import hashlib
    import re

    phone = re.sub(r"\D", "", body.complainant.phone)
    ev = body.event
    if not ev.time.strip() and not ev.place.strip():
        return None
    return hashlib.sha1(f"{phone}|{ev.time.strip()}|{ev.place.strip()}".encode()).hexdigest()[:16]


def deadline_record(dl: Deadlines) -> dict[str, str]:
    """The case's C4/C6/C8 deadlines as stored in its data (ISO-8601, Shanghai time)."""
    from models.business_days import TZ

    return {k: getattr(dl, k).astimezone(TZ).isoformat()
            for k in ("received_at", "first_contact", "plan", "gm_report", "close", "remind_before_close")}


BACKFILL_FLOOR_YEAR = 2000  # even a backfill: no complaint received before this year


def file_complaint(svc: Services, body: ComplaintIn, idempotency_key: str | None = None, *,
                   request_fingerprint: str | None = None, backfill: bool = False) -> tuple[Case, bool]:
    """C1: a complaint received; the rules propose a level (C3) and compute its deadlines. `received_at`
    older than the window only with `backfill` (a caller allowed to: webapp/auth.py)."""
    from models.business_days import TZ
    from models.complaint.handling import KIND_LABELS, complaint_deadlines, propose_level, recused_people
    from models.grievance import routed_from_complaint

    receiver = body.received_by or svc.org.first_for_role("l1_handler").email
    if not svc.org.find(receiver) or not svc.org.has_role(receiver, "l1_handler"):
        raise IntakeError("received_by", f"{receiver} 不是一级受理人", f"{receiver} is not an L1 handler")
    now = svc.clock.now()
    received_at = body.received_at or now
    if received_at > now:
        raise IntakeError("received_at", "不能晚于当前时间", "must not be in the future")
    window = svc.settings.received_at_window_days
    if received_at < now - timedelta(days=window) and not backfill:
        raise IntakeError("received_at", f"不能早于 {window} 天前（补录须有 backfill 权限）",
                          f"must not be more than {window} days ago (older only with the backfill permission)")
    if received_at.astimezone(TZ).year < BACKFILL_FLOOR_YEAR:
        raise IntakeError("received_at", f"不能早于 {BACKFILL_FLOOR_YEAR} 年", f"must not be before {BACKFILL_FLOOR_YEAR}")
    key = _event_key(body)
    repeat = svc.store.first_complaint_with_event(key) if key is not None else None
    level, reasons = propose_level(body, same_customer_same_event=bool(repeat))
    dl = complaint_deadlines(received_at, level, body.category, body.foreign, svc.calendar)
    deadlines = deadline_record(dl)
    recused = sorted(recused_people(body.persons_involved,
                                    lambda s: (svc.org.find(s).email if svc.org.find(s) else None)))
    data = {"form": body.model_dump(mode="json"), "received_by": receiver, "proposed_level": level,
            "level_reasons": reasons, "deadlines": deadlines, "recused": recused, "event_key": key,
            "repeat_of": repeat, "close_rule": dl.close_rule,
            # C15's reading: a product-quality complaint naming an order is handled as a grievance (§7)
            "route": "grievance" if routed_from_complaint(body.category, body.order_no) else "complaint"}
    return svc.store.create_case(
        procedure="complaint", prefix="TS", year=received_at.astimezone(TZ).year, state="received",
        title=f"{KIND_LABELS[body.kind]} · {body.category} · {body.complainant.name}", data=data, level=level,
        idempotency_key=idempotency_key, request_fingerprint=request_fingerprint, actor=receiver, now=now,
        start=start_request)


def file_return(svc: Services, body: ReturnRequestIn, idempotency_key: str | None = None, *,
                complaint_established: bool | None = None,
                request_fingerprint: str | None = None) -> tuple[Case, bool]:
    """R1: an allowance or a return, from a closed complaint or decided outside the system. R8: a case
    linked to a complaint closed as not established stores `complaint_established=False` (its
    receivable is collected on the normal term); one without a linked complaint counts as established."""
    from models.business_days import TZ
    from models.returns import approvers_for, over_acceptance_ratio

    salesperson = str(body.salesperson) if body.salesperson else svc.org.first_for_role("salesperson").email
    if not svc.org.find(salesperson) or not svc.org.has_role(salesperson, "salesperson"):
        raise IntakeError("salesperson", f"{salesperson} 不是业务员", f"{salesperson} is not a salesperson")
    if body.complaint_case_no:
        from tasks.platform.store import CaseNotFound

        try:
            linked = svc.store.get_case(body.complaint_case_no)
        except CaseNotFound:
            raise IntakeError("complaint_case_no", "投诉不存在", "no such complaint") from None
        if complaint_established is None:
            complaint_established = linked.state != "not_established"
    now = svc.clock.now()
    data = body.model_dump(mode="json") | {
        "salesperson": salesperson, "approvers": approvers_for(body.amount, svc.authority),
        "over_acceptance_ratio": str(over_acceptance_ratio(body.customer, svc.authority)),
        "complaint_established": complaint_established is not False}
    prefix = "ZR" if body.kind == "allowance" else "TH"
    return svc.store.create_case(
        procedure=body.kind, prefix=prefix, year=now.astimezone(TZ).year, state="pending_approval",
        title=f"{body.customer} {body.product_name or body.product_code} ¥{body.amount}", data=data,
        requested_by=salesperson, idempotency_key=idempotency_key, request_fingerprint=request_fingerprint,
        parent_case_no=body.complaint_case_no, actor=salesperson, now=now, start=start_request)



def file_correction(svc: Services, body: CorrectionIn, idempotency_key: str | None = None, *,
                    request_fingerprint: str | None = None) -> tuple[Case, bool]:
    """A2 step 1: CS staff's remedy plan for an archive record; returns (case, created).
    The record must exist, every field change must be valid, the drafter must be CS staff and
    every department must exist with a head who can act. Nothing is stored otherwise."""
    from models.archive.records import validate_changes
    from models.business_days import TZ
    from models.archive.corrections import change_lines
    from tasks.archive.store import CustomerNotFound, record_of

    errors: list[IntakeError] = []
    customer = None
    try:
        customer = svc.store.get_customer(body.archive_no)
    except CustomerNotFound:
        errors.append(IntakeError("archive_no", f"档案 {body.archive_no} 不存在",
                                  f"no customer archive {body.archive_no}"))
    if not body.changes:
        errors.append(IntakeError("changes", "没有要更正的字段", "no field changes"))
    changes: dict = {}
    for field, value in body.changes.items():
        try:
            changes.update(validate_changes({field: value}))
        except ValueError as exc:
            errors.append(IntakeError(f"changes.{field}", *_zh_en(exc)))
    drafter = body.drafted_by
    if not svc.org.find(drafter) or not svc.org.has_role(drafter, "cs_staff"):
        errors.append(IntakeError("drafted_by", f"{drafter} 不是客服部人员", f"{drafter} is not CS staff"))
    heads = {p.email.lower() for p in svc.org.people_for_role("department_head")}
    codes = {d.code: d for d in svc.org.departments}
    for i, d in enumerate(body.departments):
        dept = codes.get(d.department)
        if dept is None:
            errors.append(IntakeError(f"departments.{i}", f"组织架构中没有部门 {d.department}",
                                      f"no department {d.department} in the org directory"))
        elif not dept.head or dept.head.lower() not in heads:
            errors.append(IntakeError(f"departments.{i}", f"部门 {d.department} 没有可执行的负责人",
                                      f"department {d.department} has no head who can act"))
    if errors:
        raise IntakeError.many(errors)
    drafter = svc.org.person(drafter).email
    record = record_of(customer)
    departments = [{**d.model_dump(), "name": codes[d.department].name, "head": codes[d.department].head}
                   for d in body.departments]
    now = svc.clock.now()
    data = {"archive_no": body.archive_no, "customer_name": customer.name, "changes": changes,
            "reason": body.reason, "drafted_by": drafter, "departments": departments,
            "changes_masked": change_lines(record, changes)}
    return svc.store.create_case(
        procedure="archive_correction", prefix="GZ", year=now.astimezone(TZ).year, state="drafted",
        title=f"客户信息更正 · {body.archive_no} · {customer.name}", data=data, requested_by=drafter,
        idempotency_key=idempotency_key, request_fingerprint=request_fingerprint, actor=drafter, now=now,
        start=start_request)


def _zh_en(exc: ValueError) -> tuple[str, str]:
    """A field's validation error as (Chinese, English)."""
    from pydantic import ValidationError

    from webapp.errors import describe

    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] != "value_error":
            return describe(err)["message"].split("：", 1)[1].split(" / ", 1)[0], msg
    else:
        msg = str(exc)
    zh, _, en = msg.partition(" / ")
    return zh, en or zh

