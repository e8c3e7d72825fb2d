"""成品退货与销货折让 — return and credit processing (procedures §4, R1–R8).

Allowance (R3): the salesperson's 《销货折让证明单》 is approved by authority (R2), confirmed (stamped)
by the customer, and booked by accounting against its proof. Return (R4–R6): the 《成品退货单》 is
approved by authority (R2) like the allowance; the warehouse signs for the quantity actually received; accounting
reconciles it with the approved quantity within the over-acceptance ratio (beyond it, the deputy
manager decides) and books only once one of the three proofs is recorded. Booking records the
product's receivable that accounting states as excluded from the salesperson's collection-rate
figure (R7) — nothing when the linked complaint did not stand (R8)."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path


from prefect import flow

from deployments.names import ALLOWANCE, RETURN, flow_name
from models.returns import ReturnData, reconcile
from tasks.cases import load_case, record_state
from models.answers import Decision
from models.returns_answers import (AllowanceBooking, CustomerConfirmation, GoodsReceived, QuantityDecision,
                                    ReturnBooking)
from tasks.ask import Asking, asking
from tasks.notify import notify
from tasks.returns.steps import book, form_summary, issue_form


def _on_case(case: dict) -> Asking:
    """The form's steps: the salesperson never approves their own form."""
    return asking(case["case_no"], summary=form_summary(case), requested_by=ReturnData.of(case).salesperson)


def _approved_by_authority(case: dict, title: str) -> Decision | None:
    """R2: every approver of the amount's band (`data.approvers`, from the authority table), in order;
    the first rejection, or None once all approved. 第十三条 names the 副理 for the return slip but
    第九条五/十 let no decision exceed the approver's authority, so the band governs returns as well."""
    ask = _on_case(case)
    for role in ReturnData.of(case).approvers:
        a = ask(Decision, step=f"approve-{role.replace('_', '-')}", title=title, role=role)
        if a.decision == "reject":
            return a
    return None


def _rejected(case: dict, state: str, why: str, by: str) -> str:
    data = ReturnData.of(case)
    record_state(case["case_no"], state, f"{data.kind}_{state}", actor=by, closed=True,
                 event_data={"reason": why})
    notify(case["case_no"], state, "notice", [data.salesperson],
           {"case_no": case["case_no"], "title": "单据未获通过", "message": f"理由：{why or '（未填写）'}",
            "summary": form_summary(case)})
    return state


@flow(name=flow_name(ALLOWANCE), flow_run_name="allowance-{case_no}", log_prints=True)
def allowance(case_no: str) -> str:
    return allowance_steps(case_no)


def allowance_steps(case_no: str) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    case = load_case(case_no)
    ask = _on_case(case)
    issue_form(case_no)
    # R2/R3: the approvers by authority, in order
    a = _approved_by_authority(case, "审批《销货折让证明单》")
    if a is not None:
        return _rejected(case, "rejected", a.comment, a.decided_by)
    record_state(case_no, "approved", "allowance_approved")
    issue_form(case_no)
    # R3: the customer stamps it — by their own link, or the salesperson records the stamped copy
    data = ReturnData.of(case)
    customer = data.customer_email
    if customer:
        c = ask(CustomerConfirmation, step="customer-confirmation", title="客户确认《销货折让证明单》", role="salesperson",
                 external_assignee=customer, escalate_to=data.salesperson,
                 template="customer_confirmation", due_business_days=3)
    else:
        c = ask(CustomerConfirmation, step="customer-confirmation", title="登记客户盖章的《销货折让证明单》", role="salesperson",
                assignee=data.salesperson, requested_by=None)
    if c.decision == "refused":
        return _rejected(case, "customer_refused", c.comment, c.decided_by)
    record_state(case_no, "confirmed", "allowance_confirmed", actor=c.decided_by)
    # R3: one copy stays with sales, one goes to accounting, which books it against the proof
    b = ask(AllowanceBooking, step="booking", title="会计科入账（销货折让）", role="accounting")
    book(case_no, b.proof, None, b.decided_by, b.receivable_amount)
    issue_form(case_no)
    return "booked"


@flow(name=flow_name(RETURN), flow_run_name="return-{case_no}", log_prints=True)
def goods_return(case_no: str) -> str:
    return goods_return_steps(case_no)


def goods_return_steps(case_no: str) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    case = load_case(case_no)
    ask = _on_case(case)
    d = ReturnData.of(case)
    assert d.quantity is not None  # a return has its quantity (ReturnRequestIn)
    issue_form(case_no)
    # R2/R4: the 《成品退货单》 approved by every approver of the amount's band, in order
    a = _approved_by_authority(case, "审批《成品退货单》")
    if a is not None:
        return _rejected(case, "rejected", a.comment, a.decided_by)
    record_state(case_no, "approved", "return_approved")
    # R4: the warehouse checks the goods against the slip and signs for the quantity received
    approved = d.quantity.value
    r = ask(GoodsReceived, step="warehouse-receipt", title="仓库验收并签收实退量", role="warehouse",
             defaults={"received_quantity": approved})
    record_state(case_no, "received", "goods_received", actor=r.decided_by,
                 data={"received_quantity": r.received_quantity},
                 event_data={"approved": approved, "received": r.received_quantity})
    # R5: within the over-acceptance ratio the actual quantity is booked; beyond it, a decision
    if reconcile(approved, r.received_quantity, d.over_acceptance_ratio) == "decide":
        q = ask(QuantityDecision, step="quantity-decision", title="退货数量差异超出允收比率", role="deputy_sales_manager",
                 summary={**form_summary(case), "实退量": f"{r.received_quantity} {d.quantity.unit}",
                          "允收比率": str(d.over_acceptance_ratio)})
        if q.decision == "reject":
            return _rejected(case, "quantity_rejected", q.comment, q.decided_by)
    # R6: booking waits for one of the three proofs (the booking answer cannot be given without one)
    b = ask(ReturnBooking, step="booking", title="会计科核对入账（退回证明）", role="accounting",
             summary={**form_summary(case), "实退量": f"{r.received_quantity} {d.quantity.unit}"})
    book(case_no, b.proof, r.received_quantity, b.decided_by, b.receivable_amount)
    issue_form(case_no)
    return "booked"
