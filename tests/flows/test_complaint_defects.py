"""Rule defects of §1 that issue 19 lists, as the correct behaviour (strict xfail until fixed: a fix
turns them into passes, and then the marker must go). The fix's step keys are not known yet, so the
runs stop at the first step the script does not answer and the tests look at what was asked or sent."""

import pytest

from flows.complaint import complaint
from models.answers import ComplaintIntake
from tests.flows.harness import GM, RECEIVER
from tests.flows.test_complaint import APPROVE, PLAN, REJECT, handled


@pytest.mark.xfail(strict=True, reason="issue 19: the plan loop (range(1, 10)) falls through after nine rejections "
                                       "and the GM is told the plan 已获批准")
def test_a_plan_rejected_nine_times_is_never_reported_approved(office):
    rejected = {f"plan-{n}": PLAN for n in range(1, 11)} | {
        f"solution-{a}-{n}": (REJECT if a == "l2-handler" else APPROVE)
        for n in range(1, 11) for a in ("quality-lead", "l2-handler")}
    run = office.run(complaint, office.complaint(), handled(1) | rejected, stop_at_unscripted=True)
    assert not run.mails_to(GM, "投诉调查处理报告")
    assert "outcome" not in run.steps


@pytest.mark.xfail(strict=True, reason="issue 19: C2 — without an email the receiver gets no task to tell the "
                                       "customer by phone/SMS and record it")
def test_a_not_established_complaint_without_email_asks_the_receiver_to_tell_the_customer(office):
    run = office.run(complaint, office.complaint(email=None), {
        "intake": ComplaintIntake(decision="not_established", level=1, comment="不属于受理范围")},
        stop_at_unscripted=True)
    assert [a.assignee for a in run.asked[1:]] == [RECEIVER]


@pytest.mark.xfail(strict=True, reason="issue 19: C10 — a case closed at the GM's meeting gets no return visit "
                                       "(the seed wants every case visited)")
def test_a_gm_meeting_case_gets_a_return_visit(office):
    run = office.run(complaint, office.complaint(media=True), handled(3, score=5), stop_at_unscripted=True)
    assert any(a.answer_model == "ReturnVisit" for a in run.asked)


@pytest.mark.xfail(strict=True, reason="issue 19: C6 — the GM report has no step for the GM's 批示")
def test_the_gm_gives_an_instruction_on_the_investigation_report(office):
    run = office.run(complaint, office.complaint(), handled(1), stop_at_unscripted=True)
    approved = run.steps.index("solution-l2-handler-1")
    assert any(a.assignee == GM for a in run.asked[approved + 1:])
