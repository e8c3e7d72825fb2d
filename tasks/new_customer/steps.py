"""Steps of new-customer certification (§3): filing the 《新客户开发申请表》, the N2 and N1 checks
(computed once and kept on the case, so a re-run after a resume reads the same result even if the
history was imported again meanwhile), the archive record (N5), the certification (N6), refusals."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from prefect import task

from models.archive.records import CustomerIn
from models.business_days import TZ
from models.new_customers import (
    STATE_LABELS,
    application_summary,
    check_submission,
    first_transaction,
    history_check,
    history_text,
    lookback_start,
)
from tasks.cases import publish_form, record_state
from tasks.notify import notify
from tasks.platform.flow_starts import start_request
from tasks.platform.intake import IntakeError
from tasks.platform.policy import IO_TASK
from tasks.platform.render import render
from tasks.platform.runtime import Services, services
from tasks.replay import replayed
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.new_customers import NewCustomerApplicationIn
    from models.tables import Case
    from tasks.platform.store_access import Filing

PROCEDURE = "new_customer"


# ---- intake ------------------------------------------------------------------------------------
def file_new_customer_application(svc: Services, body: NewCustomerApplicationIn, idempotency_key: str | None = None,
                                  *, request_fingerprint: str | None = None,
                                  filed: Filing | None = None) -> tuple[Case, bool]:
    """N2/N3: the salesperson's 《新客户开发申请表》; returns (case, created). The N2 rules are the
    flow's first step, so a late application is still a case (refused, counted)."""
    given = str(body.salesperson)
    if not svc.org.find(given) or not svc.org.has_role(given, "salesperson"):
        raise IntakeError("salesperson", f"{given} 不是业务员", f"{given} is not a salesperson")
    salesperson = svc.org.find(given).email  # as the org directory spells it: one key per person
    now = svc.clock.now()
    if body.first_transaction.date > now.astimezone(TZ).date():
        raise IntakeError("first_transaction.date", "首次交易日期不能晚于今天", "must not be in the future")
    application = body.model_dump(mode="json", exclude={"customer": {"archive_no", "salesperson"}}) | {
        "salesperson": salesperson}
    return svc.store.create_case(
        procedure=PROCEDURE, prefix="XK", year=now.astimezone(TZ).year, state="submitted",
        title=f"新客户认定 · {body.customer.name}", data={"application": application, "salesperson": salesperson},
        requested_by=salesperson, idempotency_key=idempotency_key, request_fingerprint=request_fingerprint,
        actor=salesperson, now=now, start=start_request, filed=filed)


# ---- the form -----------------------------------------------------------------------------------
def form_summary(case: dict[str, Any]) -> dict[str, str]:
    """The application with what the steps so far have added (shown to every signer)."""
    d = case["data"]
    out = application_summary(case["case_no"], d["application"])
    check = d.get("submission_check")
    if check:
        source = "交易记录" if check["first_transaction_source"] == "history" else "申请表所填，交易记录中未找到该单据"
        out["首次交易核对"] = (f"首次交易 {check['first_transaction_on']}（{source}）；"
                         f"申请期限 {check['deadline']}，提交 {check['submitted_on']}；"
                         f"客户名称与开票资料名称{'一致' if check['same_name'] else '不一致'}")
    if d.get("instruction") is not None:
        out["业务部经理批示"] = d["instruction"] or "—"
    if d.get("history_check"):
        out["三年交易记录核查"] = history_text(d["history_check"]) + (
            "。按规定不予认定（N4：仅在确认无业务往来后方可签字认定）" if d["history_check"]["trades"] else "")
    return out


@replayed("skip")
@task(name="更新新客户开发申请表 publish application", **IO_TASK)
def publish_application(case_no: str) -> None:
    """The 《新客户开发申请表》 as the case's Prefect markdown artifact (personal data masked)."""
    svc = services()
    case = svc.store.get_case(case_no)
    md = render("forms/new_customer_application.md.j2", case=case, state_label=STATE_LABELS.get(case.state, case.state),
                form=form_summary({"case_no": case_no, "data": case.data}), d=case.data,
                tasks=svc.store.tasks_of(case_no), events=svc.store.events(case_no))
    publish_form.fn(case_no, md, f"new-customer-form-{case_no.lower()}")


def _recorded(svc: Services, application: dict[str, Any], since: date, until: date,
              kinds: tuple[str, ...]) -> list:
    """The customer's recorded transactions, found by the customer name or the invoicing name."""
    c = application["customer"]
    found = {}
    for name in dict.fromkeys((c["name"], c["invoicing_name"])):
        for t in svc.store.transactions_of(name, since=since, until=until, kinds=kinds):
            found[t.reference] = t
    return sorted(found.values(), key=lambda t: (t.on, t.reference))


def _once(svc: Services, case_no: str, key: str, kind: str, compute: Callable[[Case], dict[str, Any]]) -> dict[str, Any]:
    """A check computed once per case and kept on it (the flow re-runs from the top after a resume)."""
    case = svc.store.get_case(case_no)
    if key in case.data:
        return case.data[key]
    record = compute(case)
    svc.store.update_case(case_no, actor="system", kind=kind, now=svc.clock.now(), data={key: record},
                          event_data=record)
    return record


def submission_check(svc: Services, case_no: str) -> dict[str, Any]:
    """N2 on the case: the first transaction cross-checked with the history, the one-month window
    from the submission time (the case's creation), the names."""
    def compute(case: Case) -> dict[str, Any]:
        app = case.data["application"]
        ft = app["first_transaction"]
        recorded = _recorded(svc, app, date(1900, 1, 1), date(9999, 12, 31), ("sale",))
        first = first_transaction(date.fromisoformat(ft["date"]), ft["reference"], recorded)
        return check_submission(customer_name=app["customer"]["name"],
                                invoicing_name=app["customer"]["invoicing_name"], first=first,
                                submitted_at=case.created_at).as_record()

    return _once(svc, case_no, "submission_check", "submission_checked", compute)


def history_of(svc: Services, case_no: str) -> dict[str, Any]:
    """N1 on the case: the recorded transactions (all kinds; the rule leaves samples out) of the
    three years before the first transaction."""
    def compute(case: Case) -> dict[str, Any]:
        app = case.data["application"]
        first = date.fromisoformat(case.data["submission_check"]["first_transaction_on"])
        recorded = _recorded(svc, app, lookback_start(first), first - timedelta(days=1),
                             ("sale", "return", "sample"))
        return history_check(first, app["first_transaction"]["reference"], recorded).as_record()

    return _once(svc, case_no, "history_check", "history_checked", compute)


@replayed("read")  # recorded on the case once (`_once`); called in place, no task run (tasks/replay.py)
@task(name="核对提交期限与开票名称 check submission (N2)", **IO_TASK)
def check_submission_rules(case_no: str) -> dict[str, Any]:
    return submission_check(services(), case_no)


@replayed("read")
@task(name="核查三年交易记录 check 3-year history (N1)", **IO_TASK)
def check_history(case_no: str) -> dict[str, Any]:
    return history_of(services(), case_no)


@task(name="建立客户档案 create the archive record (N5)", **IO_TASK)
def create_archive_record(case_no: str, actor: str) -> str:
    """The customer archive record (§2 A3), once per case; its number is kept on the case."""
    svc = services()
    case = svc.store.get_case(case_no)
    row = CustomerIn.model_validate({**case.data["application"]["customer"], "salesperson": case.data["salesperson"]})
    customer = svc.store.create_customer(row, by=actor, reason=f"新客户认定 {case_no}", source="certification",
                                         now=svc.clock.now(), case_no=case_no)
    if case.data.get("archive_no") != customer.archive_no:
        svc.store.update_case(case_no, actor=actor, kind="archived", now=svc.clock.now(),
                              data={"archive_no": customer.archive_no},
                              event_data={"archive_no": customer.archive_no})
    return customer.archive_no


def certify(case: dict[str, Any], archive_no: str, actor: str) -> str:
    """N6: the certification, recorded for the salesperson's reward: the case is `certified`, closed at
    the certification time, with the audit event `certified` (the monthly statistics count these)."""
    case_no, salesperson = case["case_no"], case["data"]["salesperson"]
    record_state(case_no, "certified", "certified", actor=actor, closed=True,
                 event_data={"salesperson": salesperson, "archive_no": archive_no})
    publish_application(case_no)
    notify(case_no, "certified", "new_customer_notice", [salesperson],
           {"case_no": case_no, "title": "新客户已认定",
            "message": f"您提交的《新客户开发申请表》已认定，客户档案编号 {archive_no}。认定记入本月业务员奖励统计。",
            "summary": form_summary({"case_no": case_no, "data": services().store.get_case(case_no).data})})
    return "certified"


def refuse(case: dict[str, Any], *, step: str, by: str, reason: str) -> str:
    """A refusal (automatic by the N2 rules, or by a signer) closes the case as `refused` with the
    reason, and tells the salesperson."""
    case_no = case["case_no"]
    refusal = {"step": step, "by": by, "reason": reason or "（未填写理由）", "auto": by == "system"}
    record_state(case_no, "refused", "refused", actor=by, closed=True, data={"refusal": refusal},
                 event_data=refusal)
    publish_application(case_no)
    notify(case_no, "refused", "new_customer_notice", [case["data"]["salesperson"]],
           {"case_no": case_no, "title": "新客户不予认定",
            "message": f"您提交的《新客户开发申请表》不予认定。\n理由：{refusal['reason']}",
            "summary": form_summary({"case_no": case_no, "data": services().store.get_case(case_no).data})})
    return "refused"
