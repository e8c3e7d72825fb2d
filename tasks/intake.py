"""File cases; start a case's flow run from its deployment through `svc.flows` (tasks/flow_runs.py),
used by the web API, the CLI and the watchdog."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("kefu.intake")


def start_flow_run(deployment: str, case_no: str, tags: list[str], run_name: str,
                   parameters: dict | None = None, attempts: int = 4) -> str:
    """Create the flow run (name and tags carry the case) and return its id. Retries with backoff."""
    from prefect.deployments import run_deployment

    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            run = run_deployment(name=deployment, parameters=parameters or {"case_no": case_no},
                                 flow_run_name=run_name, timeout=0, tags=tags, as_subflow=False,
                                 idempotency_key=f"{deployment}:{case_no}")
            return str(run.id)
        except Exception as exc:  # noqa: BLE001 - Prefect API unreachable: back off and retry
            if attempt == attempts:
                raise
            log.warning("starting %s for %s failed (%s); retrying", deployment, case_no, exc)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


class IntakeError(ValueError):
    """Bad input found beyond the schema (e.g. a person without the right role): one per field."""

    def __init__(self, field: str, zh: str, en: str) -> None:
        super().__init__(f"{field}：{zh} / {field}: {en}")
        self.field = field


def file_sample_request(svc, body, idempotency_key: str | None = None):  # noqa: ANN001, ANN201
    """P2: a complete 《取样出门审批单》 from marketing; returns (case, created)."""
    from models.business_days import TZ

    requester = body.requested_by or svc.org.first_for_role("marketing").email
    if not svc.org.has_role(requester, "marketing"):
        raise IntakeError("requested_by", f"{requester} 不是营销部人员", f"{requester} is not in the marketing department")
    now = svc.clock.now()
    case, created = svc.store.create_case(
        procedure="sample_request", prefix="YP", year=now.astimezone(TZ).year, state="pending_leader",
        title=f"{body.customer} {body.product} 取样", data=body.model_dump(mode="json") | {"requested_by": requester},
        requested_by=requester, idempotency_key=idempotency_key, now=now)
    return case, created


def _event_key(body) -> str:  # noqa: ANN001
    import hashlib
    import re

    phone = re.sub(r"\D", "", body.complainant.phone)
    ev = body.event
    return hashlib.sha1(f"{phone}|{ev.time.strip()}|{ev.place.strip()}".encode()).hexdigest()[:16]


def file_complaint(svc, body, idempotency_key: str | None = None):  # noqa: ANN001, ANN201
    """C1: a complaint received; the rules propose a level (C3) and compute its deadlines."""
    from sqlalchemy import String, cast
    from sqlmodel import select

    from models.business_days import TZ
    from models.complaints import KIND_LABELS, complaint_deadlines, propose_level, recused_people
    from models.tables import Case

    receiver = body.received_by or svc.org.first_for_role("l1_handler").email
    if not svc.org.find(receiver) or not svc.org.has_role(receiver, "l1_handler"):
        raise IntakeError("received_by", f"{receiver} 不是一级受理人", f"{receiver} is not an L1 handler")
    now = svc.clock.now()
    received_at = body.received_at or now
    if received_at > now:
        raise IntakeError("received_at", "不能晚于当前时间", "must not be in the future")
    key = _event_key(body)
    with svc.store.session() as s:
        repeat = s.exec(select(Case.case_no).where(
            Case.procedure == "complaint", cast(Case.data, String).like(f'%"event_key": "{key}"%'))).first()
    level, reasons = propose_level(body, same_customer_same_event=bool(repeat))
    dl = complaint_deadlines(received_at, level, body.category, body.foreign, svc.calendar)
    deadlines = {k: getattr(dl, k).astimezone(TZ).isoformat()
                 for k in ("received_at", "first_contact", "plan", "gm_report", "close", "remind_before_close")}
    recused = sorted(recused_people(body.persons_involved,
                                    lambda s: (svc.org.find(s).email if svc.org.find(s) else None)))
    data = {"form": body.model_dump(mode="json"), "received_by": receiver, "proposed_level": level,
            "level_reasons": reasons, "deadlines": deadlines, "recused": recused, "event_key": key,
            "repeat_of": repeat, "close_rule": dl.close_rule}
    return svc.store.create_case(
        procedure="complaint", prefix="TS", year=received_at.astimezone(TZ).year, state="received",
        title=f"{KIND_LABELS[body.kind]} · {body.category} · {body.complainant.name}", data=data, level=level,
        idempotency_key=idempotency_key, actor=receiver, now=now)


def start_complaint_flow(flows, case_no: str, level: int, form: dict) -> str:  # noqa: ANN001
    return flows.start("complaint/complaint", case_no,
                          ["procedure:complaint", f"level:{level}", f"kind:{form['kind']}",
                           f"category:{form['category']}"], run_name=f"complaint-{case_no}")


def start_sample_flow(flows, case_no: str, size_class: str) -> str:  # noqa: ANN001
    return flows.start("sample-request/sample-request", case_no,
                          ["procedure:sample-request", f"size:{size_class}"], run_name=f"sample-request-{case_no}")


def file_return(svc, body, idempotency_key: str | None = None, *, complaint_established: bool = True):  # noqa: ANN001, ANN201
    """R1: an allowance or a return, from a closed complaint or decided outside the system."""
    from models.business_days import TZ
    from models.returns import approvers_for, over_acceptance_ratio

    salesperson = str(body.salesperson) if body.salesperson else svc.org.first_for_role("salesperson").email
    if not svc.org.find(salesperson) or not svc.org.has_role(salesperson, "salesperson"):
        raise IntakeError("salesperson", f"{salesperson} 不是业务员", f"{salesperson} is not a salesperson")
    if body.complaint_case_no:
        from tasks.store import CaseNotFound

        try:
            svc.store.get_case(body.complaint_case_no)
        except CaseNotFound:
            raise IntakeError("complaint_case_no", "投诉不存在", "no such complaint") from None
    now = svc.clock.now()
    data = body.model_dump(mode="json") | {
        "salesperson": salesperson, "approvers": approvers_for(body.amount, svc.authority),
        "over_acceptance_ratio": str(over_acceptance_ratio(body.customer, svc.authority)),
        "complaint_established": complaint_established}
    prefix = "ZR" if body.kind == "allowance" else "TH"
    return svc.store.create_case(
        procedure=body.kind, prefix=prefix, year=now.astimezone(TZ).year, state="pending_approval",
        title=f"{body.customer} {body.product_name or body.product_code} ¥{body.amount}", data=data,
        requested_by=salesperson, idempotency_key=idempotency_key, parent_case_no=body.complaint_case_no,
        actor=salesperson, now=now)


def start_return_flow(flows, case_no: str, kind: str) -> str:  # noqa: ANN001
    return flows.start(f"{kind}/{kind}", case_no, [f"procedure:{kind}"], run_name=f"{kind}-{case_no}")
