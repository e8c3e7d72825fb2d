"""成品退货与销货折让 (§4, R1–R8), run in-process: the approvers by authority (R2), the customer's
stamp and the booking (R3), the warehouse receipt and booking of a return (R4–R6)."""

from decimal import Decimal

import pytest

from flows.returns import allowance, goods_return
from models.answers import Decision
from models.returns_answers import AllowanceBooking, CustomerConfirmation, GoodsReceived, ReturnBooking
from tests.flows.harness import ACCOUNTING, CUSTOMER, DEPUTY_GM, DEPUTY_SALES_MANAGER, GM, PENDING, SALES_MANAGER, SALESPERSON, WAREHOUSE

APPROVE = Decision(decision="approve")
ALL_APPROVERS = {"approve-sales-manager": APPROVE, "approve-deputy-sales-manager": APPROVE,
                 "approve-deputy-gm": APPROVE, "approve-general-manager": APPROVE}


def allowance_answers(**over) -> dict:
    return ALL_APPROVERS | {
        "customer-confirmation": CustomerConfirmation(decision="confirmed"),
        "booking": AllowanceBooking(proof="stamped_allowance_certificate"),
    } | over


def test_a_small_allowance_approved_by_the_sales_manager_confirmed_and_booked(office):
    case_no = office.allowance_or_return("allowance", "3000.00")
    run = office.run(allowance, case_no, allowance_answers())
    assert run.result == "booked"
    assert run.steps == ["approve-sales-manager", "customer-confirmation", "booking"]
    assert run.step("approve-sales-manager").assignee == SALES_MANAGER
    assert run.step("customer-confirmation").assignee == CUSTOMER  # the customer stamps it by their own link
    assert run.step("booking").assignee == ACCOUNTING
    assert run.task("approve-sales-manager").requested_by == SALESPERSON  # never approves their own form
    for step in ("approve-sales-manager", "customer-confirmation", "booking"):  # each is asked with the form
        summary = run.step(step).summary
        assert (summary["单号"], summary["客户"], summary["金额（元）"]) == (case_no, "无锡华美服饰有限公司", "3000.00")


@pytest.mark.parametrize("amount,approvers", [
    ("5000.00", [SALES_MANAGER]),
    ("5000.01", [DEPUTY_SALES_MANAGER, DEPUTY_GM]),
    ("900000.00", [DEPUTY_SALES_MANAGER, DEPUTY_GM, GM]),
])
def test_an_allowance_asks_every_approver_of_its_authority_band_in_order(office, amount, approvers):
    run = office.run(allowance, office.allowance_or_return("allowance", amount), allowance_answers())
    asked = [a.assignee for a in run.asked if a.step.startswith("approve-")]
    assert asked == approvers and run.result == "booked"


def test_an_allowance_rejected_by_the_second_approver_stops_there(office):
    case_no = office.allowance_or_return("allowance", "20000.00")
    run = office.run(allowance, case_no, allowance_answers(**{
        "approve-deputy-gm": Decision(decision="reject", comment="依据不足")}))
    assert run.result == "rejected" and run.case.state == "rejected"
    assert run.steps == ["approve-deputy-sales-manager", "approve-deputy-gm"]
    (notice,) = run.mails_to(SALESPERSON, "单据未获通过")
    assert "依据不足" in notice.text


def outbox_keys(office, case_no: str) -> list[str]:
    from sqlmodel import select

    from models.tables import OutboxMessage

    with office.svc.store.session() as s:
        return [m.dedupe_key for m in s.exec(select(OutboxMessage).where(OutboxMessage.case_no == case_no))]


@pytest.mark.parametrize("kind,comment,reason", [("allowance", "依据不足", "依据不足"), ("allowance", "", "（未填写）"),
                                                 ("return", "退货理由不成立", "退货理由不成立")])
def test_a_rejection_closes_the_form_recording_who_rejected_and_why(office, kind, comment, reason):
    # R2: the approver's rejection ends the form: closed, the approver and the reason in the audit trail,
    # the salesperson told why (or that no reason was given)
    case_no = office.allowance_or_return(kind, "20000.00")
    answers = allowance_answers if kind == "allowance" else return_answers
    run = office.run(allowance if kind == "allowance" else goods_return, case_no, answers(**{
        "approve-deputy-gm": Decision(decision="reject", comment=comment)}))
    assert run.case.closed_at is not None and run.case.state == "rejected"
    (event,) = run.events(f"{kind}_rejected")
    assert event.actor == DEPUTY_GM and event.data["reason"] == comment
    (notice,) = run.mails_to(SALESPERSON)
    assert notice.subject == f"【通知】{case_no} 单据未获通过" and f"理由：{reason}" in notice.text
    assert f"notice:{case_no}:rejected" in outbox_keys(office, case_no)


def test_an_approved_return_waits_for_the_warehouse_as_approved(office):
    case_no = office.allowance_or_return("return", "3000.00")
    run = office.run(goods_return, case_no, return_answers(**{"warehouse-receipt": PENDING}))
    assert run.waiting_on == "warehouse-receipt" and run.case.state == "approved"
    assert "return_approved" in run.event_kinds and run.step("approve-sales-manager").title == "审批《成品退货单》"
    # R4: the warehouse's page offers the approved quantity, to be signed for as actually received
    receipt = run.task("warehouse-receipt")
    assert receipt.title == "仓库验收并签收实退量" and receipt.answer == {"received_quantity": 100}


def test_the_warehouse_signs_for_the_quantity_actually_received(office):
    case_no = office.allowance_or_return("return", "3000.00")
    run = office.run(goods_return, case_no, return_answers(**{
        "warehouse-receipt": GoodsReceived(received_quantity=99), "booking": PENDING}))
    assert run.waiting_on == "booking" and run.case.state == "received"
    (event,) = run.events("goods_received")
    assert event.actor == WAREHOUSE and (event.data["approved"], event.data["received"]) == (100, 99)


def test_the_customer_refusing_the_allowance_closes_it(office):
    run = office.run(allowance, office.allowance_or_return("allowance", "3000.00"), allowance_answers(**{
        "customer-confirmation": CustomerConfirmation(decision="refused", comment="金额不对")}))
    assert run.result == "customer_refused" and "booking" not in run.steps


def test_an_allowance_waits_on_the_customer_as_approved_then_on_accounting_as_confirmed(office):
    # R3: approved by its authority, the certificate goes to the customer to stamp — by their own link, due in
    # 3 business days (Wednesday 10:00 → Monday 10:00), overdue to the salesperson —, then accounting books it
    case_no = office.allowance_or_return("allowance", "3000.00")
    run = office.run(allowance, case_no, allowance_answers(**{"customer-confirmation": PENDING}))
    assert run.waiting_on == "customer-confirmation" and run.case.state == "approved"
    assert run.step("approve-sales-manager").title == "审批《销货折让证明单》"
    assert [e.kind for e in run.events() if e.kind.startswith("allowance_")] == ["allowance_approved"]
    asked = run.step("customer-confirmation")
    assert (asked.title, asked.role, asked.assignee, asked.escalate_to) == (
        "客户确认《销货折让证明单》", "salesperson", CUSTOMER, SALESPERSON)
    assert asked.due.isoformat() == "2026-11-30T02:00:00+00:00"
    (mail,) = run.mails_to(CUSTOMER)  # the customer's own letter, not a staff member's 【待办】
    assert mail.subject == f"【请确认】《销货折让证明单》{case_no}" and "尊敬的客户" in mail.text
    run = office.run(allowance, case_no, allowance_answers(**{"booking": PENDING}))
    assert run.waiting_on == "booking" and run.case.state == "confirmed"
    (confirmed,) = run.events("allowance_confirmed")
    assert confirmed.actor == CUSTOMER
    assert (run.step("booking").title, run.step("booking").assignee) == ("会计科入账（销货折让）", ACCOUNTING)
    run = office.run(allowance, case_no, allowance_answers())
    (booked,) = run.events("booked")
    assert booked.actor == ACCOUNTING and run.case.state == "booked" and run.case.closed_at is not None


def test_without_the_customers_email_the_salesperson_is_asked_to_record_the_stamp(office):
    # the form's own salesperson (here the second holder of the role), not the role's first holder
    second = "guo.xin@huajin.example"
    case_no = office.allowance_or_return("allowance", "3000.00", customer_email=None, salesperson=second)
    run = office.run(allowance, case_no, allowance_answers(**{"booking": PENDING}))
    asked = run.step("customer-confirmation")
    assert (asked.title, asked.role, asked.assignee) == ("登记客户盖章的《销货折让证明单》", "salesperson", second)
    (confirmed,) = run.events("allowance_confirmed")
    assert confirmed.actor == second and run.case.state == "confirmed"


def test_the_customers_refusal_is_recorded_as_theirs_with_the_reason_and_the_salesperson_told(office):
    run = office.run(allowance, office.allowance_or_return("allowance", "3000.00"), allowance_answers(**{
        "customer-confirmation": CustomerConfirmation(decision="refused", comment="金额不对")}))
    assert run.case.state == "customer_refused" and run.case.closed_at is not None
    (refused,) = run.events("allowance_customer_refused")
    assert refused.actor == CUSTOMER and refused.data["reason"] == "金额不对"
    (notice,) = run.mails_to(SALESPERSON, "单据未获通过")
    assert "理由：金额不对" in notice.text


def return_answers(**over) -> dict:
    return ALL_APPROVERS | {
        "warehouse-receipt": GoodsReceived(received_quantity=100),
        "booking": ReturnBooking(proof="return_certificate"),
    } | over


def test_a_return_approved_received_and_booked(office):
    case_no = office.allowance_or_return("return", "3000.00")
    run = office.run(goods_return, case_no, return_answers())
    assert run.result == "booked"
    assert run.steps[-2:] == ["warehouse-receipt", "booking"]
    assert run.step("warehouse-receipt").assignee == WAREHOUSE
    assert run.case.data["received_quantity"] == 100


def test_accounting_books_the_quantity_received_with_its_proof(office):
    # R4–R6: accounting sees the quantity received and books it (the history gets the return, §3 N1)
    case_no = office.allowance_or_return("return", "3000.00")
    run = office.run(goods_return, case_no, return_answers(**{"warehouse-receipt": GoodsReceived(received_quantity=99)}))
    booking = run.step("booking")
    assert booking.title == "会计科核对入账（退回证明）" and booking.summary["实退量"] == "99 件"
    assert run.case.data["booking"]["booked_quantity"] == 99 and run.case.data["booking"]["proof"] == "return_certificate"
    (event,) = run.events("booked")
    assert event.actor == ACCOUNTING and run.case.closed_at is not None


def test_a_return_beyond_the_over_acceptance_ratio_needs_a_decision(office):
    from models.returns_answers import QuantityDecision

    case_no = office.allowance_or_return("return", "3000.00")
    run = office.run(goods_return, case_no, return_answers(**{
        "warehouse-receipt": GoodsReceived(received_quantity=110),
        "quantity-decision": QuantityDecision(decision="accept_actual")}))
    assert "quantity-decision" in run.steps and run.result == "booked"
    decision = run.step("quantity-decision")
    assert decision.assignee == DEPUTY_SALES_MANAGER and decision.title == "退货数量差异超出允收比率"
    assert (decision.summary["实退量"], decision.summary["允收比率"]) == ("110 件", "0.02")
    assert run.case.data["received_quantity"] == 110  # the actual quantity is booked


def test_a_difference_within_the_over_acceptance_ratio_is_booked_without_a_decision(office):
    # R5: 99 received of 100 approved is within the company's default ratio (2 %): accounting books the actual
    run = office.run(goods_return, office.allowance_or_return("return", "3000.00"), return_answers(**{
        "warehouse-receipt": GoodsReceived(received_quantity=99)}))
    assert run.result == "booked" and "quantity-decision" not in run.steps
    assert run.case.data["received_quantity"] == 99


def test_a_quantity_difference_rejected_by_the_deputy_manager_is_never_booked(office):
    from models.returns_answers import QuantityDecision

    run = office.run(goods_return, office.allowance_or_return("return", "3000.00"), return_answers(**{
        "warehouse-receipt": GoodsReceived(received_quantity=130),
        "quantity-decision": QuantityDecision(decision="reject", comment="实退量与单据不符，退回重点")}))
    assert run.result == "quantity_rejected" and run.case.state == "quantity_rejected"
    (event,) = run.events("return_quantity_rejected")
    assert event.actor == DEPUTY_SALES_MANAGER
    assert "booking" not in run.steps
    (notice,) = run.mails_to(SALESPERSON, "单据未获通过")
    assert "退回重点" in notice.text


def test_without_the_customers_email_the_salesperson_records_the_stamped_certificate(office):
    # R3: the customer stamps the 《销货折让证明单》; without their email the salesperson records the stamped copy
    case_no = office.allowance_or_return("allowance", "3000.00", customer_email=None)
    run = office.run(allowance, case_no, allowance_answers())
    confirmation = run.step("customer-confirmation")
    assert confirmation.assignee == SALESPERSON and confirmation.requested_by is None
    assert run.result == "booked" and not run.mails_to(CUSTOMER)


@pytest.mark.parametrize("amount,approvers", [
    ("5000.00", [SALES_MANAGER]),
    ("12800.00", [DEPUTY_SALES_MANAGER, DEPUTY_GM]),
    ("900000.00", [DEPUTY_SALES_MANAGER, DEPUTY_GM, GM]),
])
def test_a_return_asks_every_approver_of_its_authority_band_in_order(office, amount, approvers):
    """Issue 19 R2: a ¥900,000 return asked only the deputy sales manager."""
    run = office.run(goods_return, office.allowance_or_return("return", amount), return_answers())
    asked = [a.assignee for a in run.asked if a.step.startswith("approve-")]
    assert asked == approvers and run.result == "booked"


def test_a_return_rejected_by_the_general_manager_is_never_received(office):
    run = office.run(goods_return, office.allowance_or_return("return", "900000.00"), return_answers(**{
        "approve-general-manager": Decision(decision="reject", comment="超出授权")}))
    assert run.result == "rejected" and "warehouse-receipt" not in run.steps
    assert run.steps == ["approve-deputy-sales-manager", "approve-deputy-gm", "approve-general-manager"]


# ---- R7/R8: the product's receivable, excluded from the salesperson's collection rate ----------------
def excluded(office) -> dict:
    from tasks.platform.runtime import use_services
    from tasks.returns.steps import excluded_receivables

    with use_services(office.svc):
        return excluded_receivables(SALESPERSON)


def test_the_exclusion_is_the_products_receivable_not_the_allowance_amount(office):
    """Issue 19 R7: the allowance amount (¥3,000) was excluded instead of the product's receivable."""
    run = office.run(allowance, office.allowance_or_return("allowance", "3000.00"), allowance_answers(**{
        "booking": AllowanceBooking(proof="stamped_allowance_certificate", receivable_amount="56000.00")}))
    assert run.case.data["booking"]["receivable_excluded"] == "56000.00"
    assert excluded(office) == {"CY-40S": Decimal("56000.00")}


def test_a_complaint_that_did_not_affect_collection_excludes_nothing(office):
    run = office.run(allowance, office.allowance_or_return("allowance", "3000.00"), allowance_answers())
    assert run.case.data["booking"]["receivable_excluded"] == "0.00" and excluded(office) == {}


def not_established_complaint(office) -> str:
    from flows.complaint.handling import complaint
    from models.complaint.answers import ComplaintIntake

    case_no = office.complaint()
    assert office.run(complaint, case_no, {"intake": ComplaintIntake(
        decision="not_established", level=1, comment="非我司产品")}).result == "not_established"
    return case_no


def test_a_return_linked_to_a_not_established_complaint_excludes_no_receivable(office):
    """Issue 19 R8: such a return stored complaint_established=True."""
    case_no = office.allowance_or_return("return", "3000.00", complaint_case_no=not_established_complaint(office))
    assert office.svc.store.get_case(case_no).data["complaint_established"] is False
    run = office.run(goods_return, case_no, return_answers(**{
        "booking": ReturnBooking(proof="return_certificate", receivable_amount="56000.00")}))
    assert run.result == "booked" and run.case.data["booking"]["receivable_excluded"] == "0.00"
    assert excluded(office) == {}


def test_a_return_linked_to_an_established_complaint_stores_it_established(office):
    from flows.complaint.handling import complaint
    from tests.flows.test_complaint import handled

    complaint_no = office.complaint()
    assert office.run(complaint, complaint_no, handled(1)).result == "closed"
    case_no = office.allowance_or_return("return", "3000.00", complaint_case_no=complaint_no)
    assert office.svc.store.get_case(case_no).data["complaint_established"] is True
    # R7: booked, the product's receivable that accounting states is excluded
    run = office.run(goods_return, case_no, return_answers(**{
        "booking": ReturnBooking(proof="return_certificate", receivable_amount="56000.00")}))
    assert run.case.data["booking"]["receivable_excluded"] == "56000.00"


def test_the_products_receivable_is_excluded_once_per_complaint(office):
    from flows.complaint.handling import complaint
    from tests.flows.test_complaint import handled

    complaint_no = office.complaint()
    office.run(complaint, complaint_no, handled(1))
    booking = {"booking": AllowanceBooking(proof="stamped_allowance_certificate", receivable_amount="56000.00")}
    first = office.run(allowance, office.allowance_or_return("allowance", "3000.00", complaint_case_no=complaint_no),
                       allowance_answers(**booking))
    second = office.run(allowance, office.allowance_or_return("allowance", "1000.00", complaint_case_no=complaint_no,
                                                              invoice_no="No.2"), allowance_answers(**booking))
    assert first.case.data["booking"]["receivable_excluded"] == "56000.00"
    assert second.case.data["booking"]["receivable_excluded"] == "0.00"
    assert excluded(office) == {"CY-40S": Decimal("56000.00")}
