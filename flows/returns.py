"""成品退货与销货折让 — return and credit processing (procedures §4, R1–R8).

Allowance (R3): the salesperson's 《销货折让证明单》 is approved by authority (R2), confirmed (stamped)
by the customer, and booked by accounting against its proof. Return (R4–R6): the 《成品退货单》 is
approved by authority (R2) like the allowance; the warehouse signs for the quantity actually received; accounting
reconciles it with the approved quantity within the over-acceptance ratio (beyond it, the deputy
manager decides) and books only once one of the three proofs is recorded. Booking records the
product's receivable that accounting states as excluded from the salesperson's collection-rate
figure (R7) — nothing when the linked complaint did not stand (R8)."""

from __future__ import annotations

from decimal import Decimal

from prefect import flow

from deployments.names import ALLOWANCE, RETURN, flow_name
from models.returns import reconcile
from tasks.cases import load_case, record_state
from tasks.human import StepRequest, request_decision
from tasks.notify import notify
from tasks.returns.steps import book, form_summary, issue_form


def _ask(case: dict, step: str, title: str, role: str, model: str = "Decision", **kw):  # noqa: ANN202
    kw.setdefault("summary", form_summary(case))
    kw.setdefault("requested_by", case["data"]["salesperson"])  # never approves their own form
    return request_decision(StepRequest(case_no=case["case_no"], step_key=step, title=title, role=role,
                                        answer_model=model, **kw))


def _approved_by_authority(case: dict, title: str) -> object | None:
    """R2: every approver of the amount's band (`data.approvers`, from the authority table), in order;
    the first rejection, or None once all approved. 第十三条 names the 副理 for the return slip but
    第九条五/十 let no decision exceed the approver's authority, so the band governs returns as well."""
    for role in case["data"]["approvers"]:
        a = _ask(case, f"approve-{role.replace('_', '-')}", title, role)
        if a.decision == "reject":
            return a
    return None


def _rejected(case: dict, state: str, why: str, by: str) -> str:
    record_state(case["case_no"], state, f"{case['data']['kind']}_{state}", actor=by, closed=True,
                 event_data={"reason": why})
    notify(case["case_no"], state, "notice", [case["data"]["salesperson"]],
           {"case_no": case["case_no"], "title": "单据未获通过", "message": f"理由：{why or '（未填写）'}",
            "summary": form_summary(case)})
    return state


@flow(name=flow_name(ALLOWANCE), flow_run_name="allowance-{case_no}", log_prints=True)
def allowance(case_no: str) -> str:
    return allowance_steps(case_no)


def allowance_steps(case_no: str) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    case = load_case(case_no)
    issue_form(case_no)
    # R2/R3: the approvers by authority, in order
    a = _approved_by_authority(case, "审批《销货折让证明单》")
    if a is not None:
        return _rejected(case, "rejected", a.comment, a.decided_by)
    record_state(case_no, "approved", "allowance_approved")
    issue_form(case_no)
    # R3: the customer stamps it — by their own link, or the salesperson records the stamped copy
    customer = case["data"].get("customer_email")
    if customer:
        c = _ask(case, "customer-confirmation", "客户确认《销货折让证明单》", "salesperson", "CustomerConfirmation",
                 external_assignee=customer, escalate_to=case["data"]["salesperson"],
                 template="customer_confirmation", due_business_days=3)
    else:
        c = _ask(case, "customer-confirmation", "登记客户盖章的《销货折让证明单》", "salesperson",
                 "CustomerConfirmation", assignee=case["data"]["salesperson"], requested_by=None)
    if c.decision == "refused":
        return _rejected(case, "customer_refused", c.comment, c.decided_by)
    record_state(case_no, "confirmed", "allowance_confirmed", actor=c.decided_by)
    # R3: one copy stays with sales, one goes to accounting, which books it against the proof
    b = _ask(case, "booking", "会计科入账（销货折让）", "accounting", "AllowanceBooking")
    book(case_no, b.proof, None, b.decided_by, b.receivable_amount)
    issue_form(case_no)
    return "booked"


@flow(name=flow_name(RETURN), flow_run_name="return-{case_no}", log_prints=True)
def goods_return(case_no: str) -> str:
    return goods_return_steps(case_no)


def goods_return_steps(case_no: str) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    case = load_case(case_no)
    d = case["data"]
    issue_form(case_no)
    # R2/R4: the 《成品退货单》 approved by every approver of the amount's band, in order
    a = _approved_by_authority(case, "审批《成品退货单》")
    if a is not None:
        return _rejected(case, "rejected", a.comment, a.decided_by)
    record_state(case_no, "approved", "return_approved")
    # R4: the warehouse checks the goods against the slip and signs for the quantity received
    approved = d["quantity"]["value"]
    r = _ask(case, "warehouse-receipt", "仓库验收并签收实退量", "warehouse", "GoodsReceived",
             defaults={"received_quantity": approved})
    record_state(case_no, "received", "goods_received", actor=r.decided_by,
                 data={"received_quantity": r.received_quantity},
                 event_data={"approved": approved, "received": r.received_quantity})
    # R5: within the over-acceptance ratio the actual quantity is booked; beyond it, a decision
    if reconcile(approved, r.received_quantity, Decimal(d["over_acceptance_ratio"])) == "decide":
        q = _ask(case, "quantity-decision", "退货数量差异超出允收比率", "deputy_sales_manager", "QuantityDecision",
                 summary={**form_summary(case), "实退量": f"{r.received_quantity} {d['quantity']['unit']}",
                          "允收比率": d["over_acceptance_ratio"]})
        if q.decision == "reject":
            return _rejected(case, "quantity_rejected", q.comment, q.decided_by)
    # R6: booking waits for one of the three proofs (the booking answer cannot be given without one)
    b = _ask(case, "booking", "会计科核对入账（退回证明）", "accounting", "ReturnBooking",
             summary={**form_summary(case), "实退量": f"{r.received_quantity} {d['quantity']['unit']}"})
    book(case_no, b.proof, r.received_quantity, b.decided_by, b.receivable_amount)
    issue_form(case_no)
    return "booked"
