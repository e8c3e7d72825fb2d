"""客户投诉处理 (§1, C1–C13), run in-process with scripted answers: who is asked what, in which order,
who is told, which state the case ends in."""

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from deployments import names
from flows.complaint.handling import complaint
from models.answers import Decision, Done
from models.complaint.answers import (
    ComplaintIntake,
    ComplaintOutcome,
    ComplaintReview,
    FirstContact,
    GmInstruction,
    GmMeetingDecision,
    InvestigationPlan,
    ResponsibleDepartment,
    ReturnVisit,
    Satisfaction,
)
from models.business_days import TZ
from models.complaint.handling import LEVEL_LABELS
from models.tables import OutboxMessage
from tests.flows.harness import (
    ARCHIVE_CLERK,
    AREA_MANAGER,
    CS_STAFF,
    CUSTOMER,
    DEPUTY_GM,
    GM,
    L2_HANDLER,
    L3_ADMIN_DIRECTOR,
    L3_SALES_DIRECTOR,
    PENDING,
    PRODUCTION_HEAD,
    QUALITY_LEAD,
    RECEIVER,
    SALES_MANAGER,
    answer,
)

APPROVE, REJECT = Decision(decision="approve"), Decision(decision="reject", comment="方案未说明赔付标准")
PLAN = InvestigationPlan(responsibility_department="生产部", responsibility="纱线批次染色不匀",
                         plan="为客户更换同批次纱线并上门致歉")
INSTRUCTION = GmInstruction(instruction="同意方案，三日内完成更换并回访")
MEETING = GmMeetingDecision(handling_plan="同意处理方案，不通报主管部门")
OUTCOME = ComplaintOutcome(handling="replacement", responsibility_department="生产部", our_fault=True)

# the steps of each level, as routed by C5/C6 (handler, solution approvers, return visitor, reviewer)
HANDLER = {1: RECEIVER, 2: L2_HANDLER, 3: L3_SALES_DIRECTOR}
APPROVERS = {1: ("quality-lead", "l2-handler"), 2: ("quality-lead", "l3-sales-director"),
             3: ("quality-lead", "general-manager")}
REVIEWER = {1: "l2-handler", 2: "l3-sales-director", 3: "general-manager"}


def handled(level: int, *, score: int = 2, **over) -> dict:
    """The answers of a complaint that stands at `level` and is handled to the end."""
    script = {
        "intake": ComplaintIntake(decision="stands", level=level),
        "first-contact": answer(FirstContact(contact_note="客户称染色不匀，已致歉并约定次日答复"), hours=2),
        "responsible-department": ResponsibleDepartment(department="生产部"),
        "plan-1": answer(PLAN, hours=3),
        **{f"solution-{a}-1": APPROVE for a in APPROVERS[level]},
        **({"gm-meeting": MEETING} if level == 3 else {}),  # C25: every level-3 case
        "gm-instruction": INSTRUCTION,
        "outcome": OUTCOME,
        "satisfaction": Satisfaction(score=score),
        "return-visit": ReturnVisit(result="客户确认已更换，无其他诉求"),
        f"review-{REVIEWER[level]}": APPROVE,
        "archive": Done(),
    }
    return script | over


@pytest.mark.parametrize("level", [1, 2, 3])
def test_an_established_complaint_is_handled_at_its_level_to_the_archive(office, level):
    case_no = office.complaint()
    run = office.run(complaint, case_no, handled(level))

    assert run.result == "closed" and run.case.state == "closed" and run.case.level == level
    assert run.steps == ["intake", "first-contact", "responsible-department", "plan-1",
                         *(f"solution-{a}-1" for a in APPROVERS[level]), *(["gm-meeting"] if level == 3 else []),
                         "gm-instruction", "outcome", "satisfaction",
                         "return-visit", f"review-{REVIEWER[level]}", "archive"]
    # C2/C3 by the receiver; C4 first contact by the receiver; C6 the level's handler names the department
    # complained about, whose head writes the plan
    assert run.step("intake").assignee == RECEIVER and run.step("first-contact").assignee == RECEIVER
    assert run.step("responsible-department").assignee == HANDLER[level]
    assert run.step("plan-1").assignee == PRODUCTION_HEAD and run.step("outcome").assignee == HANDLER[level]
    # C9 the customer's own survey link; C10 the return visit by the receiver (L1) or the area manager
    assert run.step("satisfaction").assignee == CUSTOMER
    assert run.step("return-visit").assignee == (RECEIVER if level == 1 else AREA_MANAGER)
    assert run.step("archive").assignee == ARCHIVE_CLERK
    assert run.case.data["handler"] == HANDLER[level]
    # C6: once approved, the investigation report goes to the GM for 批示, which the handling follows
    assert run.step("gm-instruction").assignee == GM and run.mails_to(GM, "投诉调查处理报告")
    assert run.step("outcome").summary["总经理批示"] == INSTRUCTION.instruction
    assert "gm_instruction_recorded" in run.event_kinds and "complaint_closed" in run.event_kinds


def test_level1_form_stays_with_the_receiver_no_pass_on(office):
    run = office.run(complaint, office.complaint(), handled(1))
    assert "form_passed_on" not in run.event_kinds


def test_level2_form_is_passed_at_once_to_the_l2_handler(office):
    run = office.run(complaint, office.complaint(category="服务行为"), handled(2))
    passed = run.events("form_passed_on")
    assert len(passed) == 1 and passed[0].data["to"] == [L2_HANDLER]
    (mail,) = run.notices_to(L2_HANDLER, "《投诉处理单》转交 / 上报")
    assert f"二级（较严重投诉）：《投诉处理单》{run.case_no} 转交处理。" in mail.text
    # ... before the first contact is asked for
    kinds = run.event_kinds
    assert kinds.index("form_passed_on") < [e.step_key for e in run.events()].index("first-contact")


def test_level3_form_is_reported_to_both_directors_and_the_l2_handler(office):
    run = office.run(complaint, office.complaint(media=True), handled(3))
    (passed,) = run.events("form_passed_on")
    assert sorted(passed.data["to"]) == sorted([L2_HANDLER, L3_SALES_DIRECTOR, L3_ADMIN_DIRECTOR])
    for person in (L2_HANDLER, L3_SALES_DIRECTOR, L3_ADMIN_DIRECTOR):
        assert run.mails_to(person, "转交")


def test_with_smtp_down_the_complaint_is_still_passed_on_and_closed_its_mail_left_in_the_outbox(office):
    # SMTP down from the intake to the end, through every try of every delivery (the waits between
    # tries are on the fake clock): the form is passed on and the case closed all the same — a
    # failed delivery fails neither the pass-on nor the closing; what was not sent stays in the outbox
    case_no = office.complaint(category="服务行为")
    office.mailer.fail_next = 10**6
    run = office.run(complaint, case_no, handled(2))
    assert run.result == "closed" and run.case.state == "closed" and run.mails == []
    (passed,) = run.events("form_passed_on")
    assert passed.data["to"] == [L2_HANDLER]
    with office.svc.store.session() as s:
        notice = s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"notice:{case_no}:pass-on-l2")).one()
    assert notice.sent_at is None and notice.attempts > 0 and L2_HANDLER in notice.to


def test_the_receiver_confirms_the_proposed_level(office):
    case_no = office.complaint(category="服务行为")  # C3 proposes level 2
    run = office.run(complaint, case_no, handled(1, **{"intake": ComplaintIntake(decision="stands", level=1)}))
    assert run.step("intake").summary["系统建议级别"].startswith("二级")
    assert run.case.level == 1 and run.step("responsible-department").assignee == RECEIVER  # level 1 chosen


def test_a_not_established_complaint_is_closed_as_such_with_an_explanation_to_the_customer(office):
    case_no = office.complaint()
    run = office.run(complaint, case_no, {
        "intake": ComplaintIntake(decision="not_established", level=1, comment="产品在保修期外且系人为损坏")})
    assert run.result == "not_established" and run.steps == ["intake"]
    assert run.case.state == "not_established" and run.case.closed_at is not None
    (reply,) = run.mails_to(CUSTOMER, "关于您的投诉的答复")
    assert "产品在保修期外且系人为损坏" in reply.text
    assert "complaint_not_established" in run.event_kinds


def test_first_contact_is_recorded_and_a_late_one_costs_the_receiver_30_yuan(office):
    from sqlmodel import select

    from models.tables import PenaltyRecord

    case_no = office.complaint()
    script = handled(1) | {"first-contact": answer(FirstContact(contact_note="晚了"), days=3)}
    run = office.run(complaint, case_no, script)
    assert run.case.data["first_contact_at"].startswith("2026-11-28")
    assert run.events("first_contact_recorded")[0].data == {"late": True}
    with office.svc.store.session() as s:
        (p,) = s.exec(select(PenaltyRecord).where(PenaltyRecord.case_no == case_no)).all()
    assert p.handler == RECEIVER and p.amount == 30


def test_a_first_contact_in_time_is_recorded_without_a_penalty(office):
    run = office.run(complaint, office.complaint(), handled(1))
    assert run.events("first_contact_recorded")[0].data == {"late": False}
    assert "penalty_recorded" not in run.event_kinds


def test_level2_plan_rejected_once_then_approved(office):
    case_no = office.complaint(category="服务行为")
    run = office.run(complaint, case_no, handled(2, **{
        "solution-l3-sales-director-1": REJECT,
        "plan-2": InvestigationPlan(responsibility_department="生产部", responsibility="纱线批次染色不匀",
                                    plan="更换纱线，按合同赔付运费 200 元"),
        "solution-quality-lead-2": APPROVE, "solution-l3-sales-director-2": APPROVE}))
    assert run.result == "closed"
    assert run.steps[3:9] == ["plan-1", "solution-quality-lead-1", "solution-l3-sales-director-1",
                              "plan-2", "solution-quality-lead-2", "solution-l3-sales-director-2"]
    assert run.step("solution-l3-sales-director-1").assignee == L3_SALES_DIRECTOR
    assert run.step("solution-quality-lead-1").assignee == QUALITY_LEAD
    assert run.step("solution-quality-lead-2").summary["处理方案"] == "更换纱线，按合同赔付运费 200 元"
    # the department's head writes each round, the second with the rejection's comment and a new deadline
    plan1, plan2 = run.step("plan-1"), run.step("plan-2")
    assert plan1.title == plan2.title == "调查：责任归属与处理方案（生产部，1日内）"
    assert plan1.role == plan2.role == "department_head" and plan1.assignee == plan2.assignee == PRODUCTION_HEAD
    assert plan1.summary["被投诉部门"] == "生产部" and "驳回意见" not in plan1.summary
    assert plan2.summary["驳回意见"] == f"{L3_SALES_DIRECTOR}：方案未说明赔付标准"
    assert plan2.due > plan2.at and plan2.due != plan1.due
    for key in ("solution-quality-lead-1", "solution-l3-sales-director-1", "solution-l3-sales-director-2"):
        approval = run.step(key)
        assert approval.title == "处理方案审批" and approval.requested_by == PRODUCTION_HEAD
        assert approval.summary["责任说明"] == "纱线批次染色不匀" and approval.summary["责任部门"] == "生产部"
    assert run.step("solution-quality-lead-1").summary["处理方案"] == PLAN.plan
    assert [(e.kind, e.actor) for e in run.events() if e.kind.startswith("plan_submitted")] == [
        ("plan_submitted_1", PRODUCTION_HEAD), ("plan_submitted_2", PRODUCTION_HEAD)]
    (report,) = run.mails_to(GM, "投诉调查处理报告")
    assert "更换纱线，按合同赔付运费 200 元" in report.text
    assert run.case.data["plan"] == {"responsibility_department": "生产部", "responsibility": "纱线批次染色不匀",
                                     "plan": "更换纱线，按合同赔付运费 200 元", "first_agreement": False}


def test_nothing_is_carried_out_before_the_solution_is_approved(office):
    run = office.run(complaint, office.complaint(), handled(1, **{"solution-l2-handler-1": PENDING}))
    assert run.waiting_on == "solution-l2-handler-1"
    assert "outcome" not in run.steps and not run.mails_to(GM, "投诉调查处理报告")
    assert run.case.state == "accepted" and run.case.data["plan"]["plan"] == PLAN.plan  # the plan waits, submitted


@pytest.mark.parametrize("score", [1, 3])
def test_satisfied_1_to_3_closes_with_return_visit_review_and_archive(office, score):
    run = office.run(complaint, office.complaint(), handled(1, score=score))
    assert run.result == "closed" and run.case.state == "closed"
    assert run.steps[-3:] == ["return-visit", "review-l2-handler", "archive"]
    assert run.events("satisfaction_recorded")[0].data["action"] == "close"
    assert office.flows.started == []


@pytest.mark.parametrize("level,score", [(1, 4), (2, 5)])
def test_unsatisfied_4_or_5_opens_a_linked_case_one_level_up(office, level, score):
    case_no = office.complaint()
    run = office.run(complaint, case_no, handled(level, score=score))
    child = run.result.removeprefix("escalated:")
    assert run.case.state == "escalated" and run.case.closed_at is not None
    assert "archive" not in run.steps and run.events("complaint_escalated")
    # C10: the escalated case is visited too (100%), before the new case is opened
    assert run.steps[-1] == "return-visit" and run.task("return-visit").state == "decided"
    opened = office.svc.store.get_case(child)
    assert opened.parent_case_no == case_no and opened.level == level + 1
    (started,) = office.flows.started
    assert started.case_no == child and f"level:{level + 1}" in started.tags


def test_the_escalated_case_is_handled_at_the_higher_level(office):
    first = office.run(complaint, office.complaint(), handled(1, score=4))
    child = first.result.removeprefix("escalated:")
    run = office.run(complaint, child, handled(2))
    # an escalated case arrives with its level: no intake, no new first contact
    assert run.steps[0] == "responsible-department" and "intake" not in run.steps and "first-contact" not in run.steps
    assert run.step("responsible-department").assignee == L2_HANDLER
    assert run.result == "closed" and run.case.level == 2
    assert run.events("form_passed_on")[0].data["to"] == [L2_HANDLER]
    # C21: reported as a major complaint of its new level as it arrives
    assert [e.data["title"] for e in run.events("major_complaint_reported")] == ["重大投诉上报（二级（较严重投诉））"]


@pytest.mark.parametrize("score", [4, 5])
def test_level3_unsatisfied_goes_to_the_gm_meeting(office, score):
    run = office.run(complaint, office.complaint(media=True), handled(3, score=score))
    assert run.result == "gm_meeting" and run.case.state == "gm_meeting"
    assert office.flows.started == []  # no level above 3
    (agenda,) = run.notices_to(GM, "总经理例会议题：三级投诉客户不满意")
    assert L3_ADMIN_DIRECTOR in agenda.to  # C25's submitter
    label = {4: "不满意", 5: "很不满意"}[score]
    assert f"三级投诉 {run.case_no} 客户评价「{label}」，提交总经理例会研究处理。" in agenda.text
    assert len(run.events("gm_meeting_agenda")) == 2  # on the agenda once for the plan (C25), once for this
    assert sorted(e.data["key"] for e in run.events("gm_meeting_agenda")) == ["gm-meeting", "gm-meeting-agenda"]
    assert run.events("complaint_to_gm_meeting")


def test_a_level3_visit_rating_the_result_5_goes_to_the_gm_meeting_though_the_survey_said_2(office):
    # C22/C9: the visit's rating counts like the survey's; at level 3 there is no level above
    from models.archive.answers import DepartmentFeedback

    visit = ReturnVisit(result="客户对处理结果很不满意", result_satisfaction=5)
    run = office.run(complaint, office.complaint(media=True), handled(3, score=2) | {
        "return-visit": visit, "visit-follow-up": DepartmentFeedback(feedback="已重新核定赔付方案")})
    assert run.result == "gm_meeting" and run.case.state == "gm_meeting" and office.flows.started == []


def test_the_return_visit_is_due_24_hours_after_resolution_not_after_the_satisfaction_answer(office):
    run = office.run(complaint, office.complaint(), handled(1, satisfaction=answer(Satisfaction(score=2), hours=20)))
    visit = run.step("return-visit")
    assert visit.due == run.task("outcome").decided_at + timedelta(hours=24) and visit.role == "l1_handler"
    assert visit.due - visit.at == timedelta(hours=4)


def test_major_return_visit_by_the_area_manager_in_person(office):
    run = office.run(complaint, office.complaint(category="服务行为"), handled(2))
    visit = run.step("return-visit")
    assert visit.assignee == AREA_MANAGER and visit.due == run.task("outcome").decided_at + timedelta(hours=24)


def test_a_review_rejection_goes_back_to_the_handler_then_again_to_the_reviewer(office):
    # the first rejection also records a routing violation (C12) without a reason; the second has no comment
    case_no = office.complaint(received_by=CS_STAFF)  # the level-1 handler is its receiver, the second L1 handler
    run = office.run(complaint, case_no, handled(1, **{
        "review-l2-handler": ComplaintReview(decision="reject", comment="补充回访记录", routing_penalty="30"),
        "review-l2-handler-revision-1": Done(), "review-l2-handler-2": Decision(decision="reject"),
        "review-l2-handler-revision-2": Done(), "review-l2-handler-3": APPROVE}))
    assert run.steps[-6:] == ["review-l2-handler", "review-l2-handler-revision-1", "review-l2-handler-2",
                              "review-l2-handler-revision-2", "review-l2-handler-3", "archive"]
    revision = run.step("review-l2-handler-revision-1")
    assert revision.assignee == CS_STAFF and revision.role == "l1_handler"
    assert revision.title == "按审核意见修改《投诉处理单》" and revision.summary["审核意见"] == "补充回访记录"
    assert run.step("review-l2-handler-revision-2").summary["审核意见"] == "（未填写）"
    assert [run.step(k).title for k in ("review-l2-handler", "review-l2-handler-2", "review-l2-handler-3")] == [
        "审核《投诉处理单》", "审核《投诉处理单》（第 2 轮）", "审核《投诉处理单》（第 3 轮）"]
    assert run.step("review-l2-handler-2").role == "l2_handler"
    assert _penalties(office, case_no) == {"routing_not_followed": (CS_STAFF, 30)}
    assert run.events("penalty_recorded")[0].data["reason"].endswith(f"：审核人 {L2_HANDLER} 认定")


def test_without_customer_email_the_handler_records_the_satisfaction(office):
    run = office.run(complaint, office.complaint(email=None, received_by=CS_STAFF), handled(1))
    sat = run.step("satisfaction")
    assert sat.assignee == CS_STAFF and sat.title == "告知处理结果并记录客户满意度" and run.result == "closed"


def test_a_case_is_resolved_once_the_satisfaction_is_recorded(office):
    run = office.run(complaint, office.complaint(), handled(1, score=3, **{"return-visit": PENDING}))
    assert run.waiting_on == "return-visit" and run.case.state == "resolved" and run.case.data["satisfaction"] == 3
    (recorded,) = run.events("satisfaction_recorded")
    assert recorded.actor == CUSTOMER and recorded.data == {"score": 3, "label": "可理解/接受", "action": "close"}


def closed_with(office, outcome: ComplaintOutcome):
    """A level-1 complaint closed with `outcome` (its amount within the sales manager's authority):
    the run and the §4 case it started."""
    run = office.run(complaint, office.complaint(), handled(1, outcome=outcome, **{"authority-sales-manager": APPROVE}))
    assert run.result == "closed"
    (started,) = office.flows.started
    child = office.svc.store.get_case(started.case_no)
    assert child.parent_case_no == run.case_no and child.data["product_code"] == "CY-40S"
    return run, started.deployment, child


def test_an_allowance_outcome_starts_the_return_credit_procedure_once_closed(office):
    run, deployment, allowance = closed_with(office, ComplaintOutcome(
        handling="allowance", responsibility_department="生产部", our_fault=True, loss_amount="1200.00"))
    assert deployment == names.ALLOWANCE and allowance.data["amount"] == "1200.00"


def test_a_return_outcome_starts_the_return_procedure_with_its_quantity_once_closed(office):
    # C11/R1: 退货/重处理 goes to §4 as a return of the quantity decided, for the complaint's product
    run, deployment, ret = closed_with(office, ComplaintOutcome(
        handling="return", responsibility_department="生产部", our_fault=True, loss_amount="4200.00",
        return_quantity=30, unit="筒"))
    assert deployment == names.RETURN and ret.data["amount"] == "4200.00"
    assert ret.data["quantity"] == {"value": 30, "unit": "筒"}
    assert run.mails_to(SALES_MANAGER, "第三联")


@pytest.mark.parametrize("handling", ["explanation", "repair", "replacement"])
def test_an_outcome_without_allowance_or_return_starts_no_other_procedure(office, handling):
    outcome = ComplaintOutcome(handling=handling, responsibility_department="生产部")
    run = office.run(complaint, office.complaint(), handled(1, outcome=outcome))
    assert run.result == "closed" and office.flows.started == []
    assert "return_credit_requested" not in run.event_kinds
    assert not [s for s in run.steps if s.startswith("authority-")]  # no amount: no authority asked


def test_the_receiver_may_raise_the_proposed_level(office):
    # C3: the rules propose level 1 for a repair request; the receiver decides level 2 — handled at 2
    case_no = office.complaint()
    run = office.run(complaint, case_no, handled(2, **{"intake": ComplaintIntake(decision="stands", level=2)}))
    assert run.step("intake").summary["系统建议级别"].startswith("一级")
    assert run.case.level == 2 and run.step("responsible-department").assignee == L2_HANDLER
    assert run.mails_to(L2_HANDLER, "转交") and run.result == "closed"


def test_the_urge_notice_after_the_close_deadline_goes_to_the_responsible_department_too(office):
    # C8: a case still open after its close deadline: 《催办单》 to the handler, the responsible department's
    # head (named in the plan) and their superiors
    run = office.run(complaint, office.complaint(), handled(1, outcome=PENDING))
    assert run.waiting_on == "outcome" and run.case.state == "accepted"
    assert run.task("outcome").answer == {"responsibility_department": "生产部"}  # pre-filled from the plan
    office.later(days=8)
    office.watchdog()
    urge = [m for m in office.mailer.sent if "催办单" in m.subject]
    assert len(urge) == 1
    assert {RECEIVER, PRODUCTION_HEAD, DEPUTY_GM} <= set(urge[0].to)
    assert len(urge[0].to) > 1


# ---- C6: the department complained about writes the plan; the GM's 批示 within 3 business days ----------
def test_the_plan_is_written_by_the_head_of_the_department_named(office):
    run = office.run(complaint, office.complaint(), handled(1, **{
        "responsible-department": ResponsibleDepartment(department="quality"), "plan-1": PENDING}))
    assert run.waiting_on == "plan-1" and run.step("plan-1").assignee == QUALITY_LEAD  # 质量部's head
    # asked as the department's head (not as quality lead, the role 冯涛 holds first), the form pre-filled
    assert run.step("plan-1").role == "department_head" and run.task("plan-1").answer == {"responsibility_department": "质量部"}
    assert run.step("plan-1").summary["被投诉部门"] == "质量部"
    assert run.case.data["responsible_department"] == "质量部" and run.case.data["plan_writer"] == QUALITY_LEAD
    named = run.step("responsible-department")
    assert named.title == "指定被投诉部门（责任部门）" and named.role == "l1_handler" and "未找到的部门" not in named.summary
    assert {"质量部", "生产部", "综合服务部"} <= set(named.summary["可选部门"].split("、"))
    assert "总经办" not in named.summary["可选部门"]  # no head to write a plan
    (event,) = run.events("responsible_department_named")
    assert event.data == {"department": "质量部", "head": QUALITY_LEAD} and event.actor == RECEIVER
    assert run.case.state == "accepted"


def test_an_unknown_department_is_named_again(office):
    run = office.run(complaint, office.complaint(), handled(1, **{
        "responsible-department": ResponsibleDepartment(department="采购部"),
        "responsible-department-2": ResponsibleDepartment(department="生产部"), "plan-1": PENDING}))
    assert run.step("responsible-department-2").summary["未找到的部门"] == "采购部"
    assert run.step("plan-1").assignee == PRODUCTION_HEAD


def test_a_head_complained_about_is_recused_and_the_plan_goes_to_their_superior(office):
    case_no = office.complaint(persons_involved=[PRODUCTION_HEAD])
    run = office.run(complaint, case_no, handled(1, **{"plan-1": PENDING}))
    assert run.step("plan-1").assignee == DEPUTY_GM and run.step("plan-1").role == "deputy_gm"  # as who they are
    assert all(PRODUCTION_HEAD in a.recused for a in run.asked)  # from the intake on, never asked to decide


def test_a_handler_complained_about_is_recused_and_their_superior_handles(office):
    # C5: the level-2 handler (周敏) is the person complained about: the case goes to her superior (赵磊)
    case_no = office.complaint(category="服务行为", persons_involved=[L2_HANDLER])
    run = office.run(complaint, case_no, handled(2, **{"responsible-department": PENDING}))
    assert run.step("responsible-department").assignee == L3_SALES_DIRECTOR
    assert run.case.data["handler"] == L3_SALES_DIRECTOR


def test_the_gm_instruction_is_due_3_business_days_after_the_plan_deadline_and_reminded(office):
    case_no = office.complaint()
    run = office.run(complaint, case_no, handled(1, **{"gm-instruction": PENDING}))
    assert run.waiting_on == "gm-instruction"
    due = run.task("gm-instruction").due_at
    assert due == datetime.fromisoformat(run.case.data["deadlines"]["gm_report"])
    office.clock.advance(seconds=(due - office.clock.now()).total_seconds() - 60)
    assert office.watchdog()["reminded"] >= 1
    assert [m for m in office.mailer.sent if GM in m.to and m.subject.startswith("【催办】") and "总经理批示" in m.subject]


# ---- C12: the violations recorded when the flow finds them -------------------------------------------
def _penalties(office, case_no):
    from sqlmodel import select

    from models.tables import PenaltyRecord

    with office.svc.store.session() as s:
        return {p.rule: (p.handler, p.amount) for p in s.exec(select(PenaltyRecord).where(
            PenaltyRecord.case_no == case_no)).all()}


@pytest.mark.parametrize("finding,amount", [("not_asked", 50), ("faked", 100)])
def test_a_return_visit_finding_the_satisfaction_not_asked_or_faked_costs_the_handler(office, finding, amount):
    case_no = office.complaint(email=None, category="服务行为")  # level 2: the L2 handler records the satisfaction
    run = office.run(complaint, case_no, handled(2, **{"return-visit": ReturnVisit(
        result="客户表示没有人问过满意度", satisfaction_check=finding)}))
    assert run.result == "closed"
    assert _penalties(office, case_no) == {"closing_without_satisfaction": (L2_HANDLER, amount)}
    assert run.events("penalty_recorded")[0].data["reason"].endswith("：回访核实：客户表示没有人问过满意度")


def test_a_confirmed_satisfaction_records_no_violation(office):
    case_no = office.complaint()
    office.run(complaint, case_no, handled(1))
    assert _penalties(office, case_no) == {}


def test_the_reviewer_records_a_routing_violation_of_the_handler(office):
    case_no = office.complaint()
    run = office.run(complaint, case_no, handled(1, **{"review-l2-handler": ComplaintReview(
        decision="approve", routing_penalty="50", routing_reason="未亲自跟进生产部环节，客户再次来电投诉")}))
    assert run.result == "closed"
    assert _penalties(office, case_no) == {"routing_not_followed": (RECEIVER, 50)}
    assert "未亲自跟进" in run.events("penalty_recorded")[0].data["reason"]


# ---- the whole procedure as a table (issue 19: a mutation of any step's who, what or when fails here) ----
@pytest.mark.parametrize("level", [1, 2])
def test_each_step_is_asked_of_its_holder_with_its_title_and_deadline(office, level):
    """C2–C13, step by step: what is asked, in which role, of whom, by when. The complaint is received by
    the second L1 handler (陈静) and its run starts 3 hours after receipt: the receiver, not the role's
    first holder, confirms and contacts — and at level 1 handles — and the deadlines of the rules run
    from receipt, not from when a step is asked."""
    from models.rules import task_deadline

    from tests.flows.test_complaint_rules21b import _tags

    category = "服务行为" if level == 2 else "维修服务"
    case_no = office.complaint(received_by=CS_STAFF, category=category)
    office.later(hours=3)
    run = office.run(complaint, case_no, handled(level))
    assert run.result == "closed"
    # the run says the level confirmed, the kind and the category (no group)
    assert sorted(t for t in _tags(run) if t.startswith(("level:", "kind:", "category:", "group:"))) == sorted(
        [f"level:{level}", "kind:consumer", f"category:{category}"])
    handler, role = (CS_STAFF, "l1_handler") if level == 1 else (L2_HANDLER, "l2_handler")
    approvers = {1: [("quality_lead", QUALITY_LEAD), ("l2_handler", L2_HANDLER)],
                 2: [("quality_lead", QUALITY_LEAD), ("l3_sales_director", L3_SALES_DIRECTOR)]}[level]
    reviewer = {1: ("l2_handler", L2_HANDLER), 2: ("l3_sales_director", L3_SALES_DIRECTOR)}[level]
    assert [(a.step, a.title, a.role, a.assignee) for a in run.asked] == [
        ("intake", "受理确认：投诉是否成立、投诉级别", "l1_handler", CS_STAFF),
        ("first-contact", "首次联系客户、告知受理流程并填写《投诉处理单》", "l1_handler", CS_STAFF),
        ("responsible-department", "指定被投诉部门（责任部门）", role, handler),
        ("plan-1", "调查：责任归属与处理方案（生产部，1日内）", "department_head", PRODUCTION_HEAD),
        *((f"solution-{r.replace('_', '-')}-1", "处理方案审批", r, who) for r, who in approvers),
        ("gm-instruction", "投诉调查处理报告：总经理批示（3个工作日内）", "general_manager", GM),
        ("outcome", "处理结果登记（责任归属、损失金额）", role, handler),
        ("satisfaction", "满意度调查", role, CUSTOMER),
        ("return-visit", "回访（处理完毕后24小时内）", *(("l1_handler", CS_STAFF) if level == 1 else ("area_manager", AREA_MANAGER))),
        (f"review-{reviewer[0].replace('_', '-')}", "审核《投诉处理单》", *reviewer),
        ("archive", "投诉档案存档", "archive_clerk", ARCHIVE_CLERK)]
    # the rules' deadlines, from receipt (C4 first contact, C6 the GM's 批示)
    deadlines = {k: datetime.fromisoformat(v) for k, v in run.case.data["deadlines"].items()}
    assert run.step("first-contact").due == deadlines["first_contact"] != run.step("intake").due
    assert run.step("gm-instruction").due == deadlines["gm_report"]
    # C9: the customer has 2 business days for the survey, overdue goes to the handler
    survey = run.step("satisfaction")
    assert survey.due == task_deadline(survey.at, office.svc.calendar, business_days=2).due_at and survey.escalate_to == handler
    assert survey.summary == {"投诉编号": case_no, "处理结果": "已处理"}
    assert [m for m in run.mails_to(CUSTOMER) if m.subject.startswith("【满意度调查】")]
    # what each step is shown: every person asked inside the company sees the 《投诉处理单》 (C20's single
    # contact copied on it too), with the step's own facts beside it
    for asked in run.asked:
        if asked.step != "satisfaction":
            assert (asked.summary["投诉编号"], asked.summary["投诉内容"], asked.summary["投诉人"]) == (
                case_no, "报修后三天无人上门", "张女士（13812345678）"), asked.step
    intake = run.step("intake")
    assert intake.summary["系统建议级别"] == LEVEL_LABELS[level]
    assert run.step("first-contact").summary["受理告知（请告知客户）"] == process_outline_of(office, case_no)
    assert run.step("outcome").summary["总经理批示"] == INSTRUCTION.instruction
    assert run.step("outcome").summary["处理方案"] == PLAN.plan
    # what is recorded, by whom
    (accepted,) = run.events("complaint_accepted")
    assert accepted.actor == CS_STAFF and accepted.data == {"state": ["received", "accepted"]} and run.case.level == level
    (told,) = run.events("process_notice_given")
    assert told.actor == CS_STAFF and told.data["via"] == "read_out"
    assert [e.data for e in run.events("handler_assigned")] == [{"handler": handler, "level": level}]
    (instructed,) = run.events("gm_instruction_recorded")
    assert instructed.actor == GM and instructed.data == {"instruction": INSTRUCTION.instruction}
    assert run.case.data["gm_instruction"] == INSTRUCTION.instruction
    if level >= 2:  # C21: a major complaint's solution is agreed at the latest with the outcome
        assert run.case.data["c21_solution"]["done"] == run.task("outcome").decided_at.astimezone(TZ).isoformat()
    (closed,) = run.events("complaint_closed")
    assert run.case.state == "closed" and closed.data == {"state": ["resolved", "closed"]}


def process_outline_of(office, case_no: str) -> str:
    from tasks.complaint.steps import process_outline
    from tasks.platform.runtime import use_services

    with use_services(office.svc):
        return process_outline(case_no)


def test_the_receiver_is_offered_the_proposed_level_and_why(office):
    case_no = office.complaint(category="服务行为", emotional=True)  # C3: two reasons for level 2
    run = office.run(complaint, case_no, {"intake": PENDING})
    intake = run.task("intake")
    assert run.waiting_on == "intake" and intake.answer == {"level": 2}  # the form pre-filled with the proposal
    assert run.step("intake").summary["建议理由"] == "二级：带有情绪反馈的投诉；二级：对服务态度/服务质量不满的投诉"
