"""Rule defects of §1 that issue 19 lists, as the correct behaviour (strict xfail until fixed: a fix
turns them into passes, and then the marker must go). The fix's step keys are not known yet, so the
runs stop at the first step the script does not answer and the tests look at what was asked or sent."""

import pytest
from pydantic import ValidationError

from flows.complaint.handling import complaint
from models.answers import Done
from models.complaint.answers import ComplaintIntake, CustomerInformed
from tests.flows.harness import CS_STAFF, CUSTOMER, GM, L2_HANDLER, L3_SALES_DIRECTOR, PENDING
from tests.flows.test_complaint import APPROVE, PLAN, REJECT, handled


def test_a_plan_rejected_nine_times_is_never_reported_approved(office):
    rejected = {f"plan-{n}": PLAN for n in range(1, 11)} | {
        f"solution-{a}-{n}": (REJECT if a == "l2-handler" else APPROVE)
        for n in range(1, 11) for a in ("quality-lead", "l2-handler")}
    run = office.run(complaint, office.complaint(), handled(1) | rejected, stop_at_unscripted=True)
    assert not run.mails_to(GM, "投诉调查处理报告")
    assert "outcome" not in run.steps
    assert run.waiting_on == "plan-11"  # the department writes the plan again: the loop does not run out
    assert run.step("plan-2").summary["驳回意见"].endswith("方案未说明赔付标准")


def test_a_form_rejected_nine_times_in_review_is_never_archived(office):
    reviews = {"review-l2-handler": REJECT} | {f"review-l2-handler-{n}": REJECT for n in range(2, 12)} | {
        f"review-l2-handler-revision-{n}": Done() for n in range(1, 12)}
    run = office.run(complaint, office.complaint(), handled(1) | reviews, stop_at_unscripted=True)
    assert "archive" not in run.steps and run.case.state != "closed"
    assert run.waiting_on == "review-l2-handler-12"


def test_a_not_established_complaint_without_email_asks_the_receiver_to_tell_the_customer(office):
    # received by the second of the L1 handlers: the receiver is asked, not the role's first holder
    case_no = office.complaint(email=None, received_by=CS_STAFF)
    run = office.run(complaint, case_no, {
        "intake": ComplaintIntake(decision="not_established", level=1, comment="不属于受理范围")},
        stop_at_unscripted=True)
    assert [a.assignee for a in run.asked] == [CS_STAFF, CS_STAFF]
    tell = run.step("tell-customer")
    assert tell.title == "电话/短信告知客户投诉不成立的原因并记录"
    assert tell.summary["不成立的说明"] == "不属于受理范围" and tell.summary["投诉编号"] == case_no
    assert tell.summary["投诉人"].startswith("张女士（")  # whom to call or text


def test_a_not_established_complaint_without_email_closes_once_the_customer_was_told(office):
    run = office.run(complaint, office.complaint(email=None), {
        "intake": ComplaintIntake(decision="not_established", level=1, comment="不属于受理范围"),
        "tell-customer": CustomerInformed(told_via="sms", note="已短信说明，客户表示理解")})
    assert run.result == "not_established" and run.case.state == "not_established"
    assert run.steps == ["intake", "tell-customer"]


def test_not_established_needs_the_explanation_to_the_customer():
    with pytest.raises(ValidationError, match="委婉说明"):
        ComplaintIntake(decision="not_established", level=1)
    assert ComplaintIntake(decision="stands", level=1).comment == ""


def test_a_gm_meeting_case_gets_a_return_visit(office):
    run = office.run(complaint, office.complaint(media=True), handled(3, score=5), stop_at_unscripted=True)
    assert any(a.answer_model == "ReturnVisit" for a in run.asked)


def test_the_gm_gives_an_instruction_on_the_investigation_report(office):
    run = office.run(complaint, office.complaint(), handled(1), stop_at_unscripted=True)
    approved = run.steps.index("solution-l2-handler-1")
    assert any(a.assignee == GM for a in run.asked[approved + 1:])


def test_each_not_established_complaint_gets_its_own_reply_naming_its_case(office):
    """C2: two complaints found not established, one after the other — each customer's reply is sent
    (neither taken for a repeat of the other) and names its own case number."""
    reasons = ("产品在保修期外", "不属于受理范围")
    runs = [office.run(complaint, office.complaint(), {
        "intake": ComplaintIntake(decision="not_established", level=1, comment=reason)}) for reason in reasons]
    for run, reason in zip(runs, reasons, strict=True):
        (reply,) = run.mails_to(CUSTOMER, "关于您的投诉的答复")
        assert reason in reply.text and f"投诉编号：{run.case_no}" in reply.text
        assert reply.subject == f"【通知】{run.case_no} 关于您的投诉的答复"


def test_the_form_goes_to_the_handler_not_to_the_recused_holder_of_the_level_role(office):
    # C5 + recusal: the level-2 handler (周敏) is complained about; her superior (赵磊) handles the case
    run = office.run(complaint, office.complaint(category="服务行为", persons_involved=[L2_HANDLER]),
                     handled(2) | {"responsible-department": PENDING})
    (passed,) = run.events("form_passed_on")
    assert passed.data["to"] == [L3_SALES_DIRECTOR]
