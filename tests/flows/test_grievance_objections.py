"""客户抱怨处理 after issue 20's first part (§7 C6 in C16, C17, C19), in-process with scripted answers: the
1-day plan and the GM report with its 批示 inside the chain, the no-promise rule, the customer rejecting the
decision (a new linked form and run), and objections by 《签呈》 — after the decision and from S5's shares."""

from datetime import datetime

from flows.grievance.chain import grievance
from flows.grievance.month import grievance_month
from models.answers import Decision
from models.complaint.answers import GmInstruction
from models.grievance_answers import (CustomerDecisionReply, GrievanceForm, ObjectionFollowUp, PersonalOpinionReply, Petition,
                                      PetitionAnswer, PetitionForward, ShareConfirmation, ShareSettlement)
from models.business_days import add_business_days
from models.grievance import NO_PROMISE
from tests.flows.harness import GM, PENDING, PRODUCTION, PRODUCTION_HEAD, SALESPERSON, answer
from tests.flows.test_grievance import CONSOLIDATED, GM_OFFICE, OTHER_SALESPERSON, at, chain, file

APPROVE = Decision(decision="approve")
CHAIRMAN = "dong.cheng@huajin.example"


def test_c6_steps_2_3_by_the_plan_deadline_and_the_gm_report_reminded_then_escalated(office):
    case_no = file(office)
    run = office.run(grievance, case_no, chain(**{"gm-report": PENDING}))
    assert run.steps == ["register", "quality", "production", "gm-report"] and run.waiting_on == "gm-report"
    deadlines = run.case.data["deadlines"]
    plan, report = datetime.fromisoformat(deadlines["plan"]), datetime.fromisoformat(deadlines["gm_report"])
    assert run.task("quality").due_at == plan and run.task("production").due_at == plan  # C6: 1 day, steps 2–3
    t = run.task("gm-report")
    assert t.assignee == GM and t.answer_model == "GmInstruction" and t.due_at == report
    assert "制造部门对策" in t.summary and t.summary["承诺限制"] == NO_PROMISE

    office.later(days=4)  # past the reminder, before the deadline
    assert office.watchdog()["reminded"] == 1
    assert [m for m in office.mailer.sent if GM in m.to and "调查报告" in m.subject and "催办" in m.subject]
    office.later(days=3)  # past the 3 business days: up to the chairman (the GM has no superior)
    assert office.watchdog()["escalated"] == 1
    assert [m for m in office.mailer.sent if CHAIRMAN in m.to and "逾期上报" in m.subject and "调查报告" in m.subject]

    run = office.run(grievance, case_no, chain(**{"gm-report": GmInstruction(instruction="同意，三日内答复客户")}))
    assert run.result == "closed" and run.case.data["gm_instruction"] == "同意，三日内答复客户"
    assert run.step("manager").summary["总经理批示（调查报告）"] == "同意，三日内答复客户"


def test_nothing_is_promised_before_the_decision(office):
    run = office.run(grievance, file(office), chain())
    before = run.steps[:run.steps.index("decide-deputy-gm") + 1]
    assert all(run.step(s).summary.get("承诺限制") == NO_PROMISE for s in before)
    assert "承诺限制" not in run.step("decision-told").summary  # now the customer may be told
    assert not [m for m in run.mails if any(not a.endswith("@huajin.example") for a in m.to)]


def test_a_customer_who_rejects_the_decision_gets_a_new_linked_form_and_run(office):
    case_no = file(office)
    run = office.run(grievance, case_no, chain(**{
        "decision-told": CustomerDecisionReply(decision="rejected", passed_on_via="phone", note="客户要求全额退货"),
        "objection-production": PENDING,
        "new-form": GrievanceForm(abnormality_no="YC-2026-031-2", order_no="XS-20261102-07", item_no="CY-40S",
                                  customer="无锡华美服饰有限公司", quantity_shipped=2000, ship_date="2026-11-02",
                                  defective_quantity=300, description="条干不匀，客户不接受退货 300 kg 的决定",
                                  demand="全额退货 2000 kg", return_quantity=2000, grievance_class="quality",
                                  opinion="客户坚持全额退货")}))
    assert run.result == "customer_rejected" and run.case.state == "customer_rejected" and run.case.closed_at
    assert run.steps[-2:] == ["decision-told", "new-form"] and run.step("new-form").assignee == SALESPERSON
    assert run.task("new-form").answer["order_no"] == "XS-20261102-07"  # the original's form pre-filled
    new_no = run.case.data["refiled_as"]
    new = office.svc.store.get_case(new_no)
    assert new.parent_case_no == case_no and new.data["form"]["previous_case_no"] == case_no
    assert new.state == "filed" and new_no in office.flows.calls  # its own run, started at once: C16 again
    assert run.task("objection-production").state == "cancelled"  # the objections to it are moot
    assert "penalty-approval" not in run.steps

    again = office.run(grievance, new_no, chain())
    assert again.result == "closed" and again.steps[0] == "register"


def test_a_units_petition_goes_via_the_gm_office_to_the_gm_and_the_disputed_fine_waits(office):
    case_no = file(office)
    petition = Petition(decision="petition", subject="penalty", reasons="皮辊属正常磨损，已按周期更换",
                        change_asked="罚扣减为 300 元", attachments="皮辊更换记录.xlsx")
    script = chain(**{"objection-production": petition,
                      "objection-production-forward": PetitionForward(opinion="更换记录属实，建议减轻"),
                      "objection-production-answer": PENDING})
    run = office.run(grievance, case_no, script)
    # the customer was told before any objection was heard; the objection is due 3 business days after notice
    assert run.steps.index("decision-told") < run.steps.index("objection-production")
    t = run.task("objection-production")
    assert t.assignee == PRODUCTION_HEAD and t.due_at == add_business_days(t.created_at, 3, office.svc.calendar)
    assert "罚扣" in t.summary and "500.00" in t.summary["罚扣"]
    assert run.step("objection-production-forward").assignee == GM_OFFICE
    answer_step = run.task("objection-production-answer")
    assert answer_step.assignee == GM and answer_step.summary["总经理室意见"] == "更换记录属实，建议减轻"
    assert answer_step.summary["请求变更为"] == "罚扣减为 300 元" and answer_step.summary["附件"] == "皮辊更换记录.xlsx"
    assert run.case.data["petitions"]["objection-production"]["state"] == "open"
    assert run.case.data["decision"]["fines"][0]["amount"] == "500.00"  # the decision as it stands meanwhile
    assert "penalty-approval" not in run.steps and run.case.closed_at is None  # the fine waits

    # S6 of the month: another case's fine is noticed, the disputed one is not
    other = file(office)
    assert office.run(grievance, other, chain()).result == "closed"
    office.later(days=6)  # 1 December, the first business day
    month = office.run(grievance_month, None, {"notice-production": APPROVE, "shares-production": ShareConfirmation(
        decision="confirmed", improvement_state="done")})
    (notice,) = [m for m in month.mails if "奖罚通知单" in m.subject and m.subject.startswith("【通知】")]
    assert other in notice.text and case_no not in notice.text

    run = office.run(grievance, case_no, script | {"objection-production-answer": PetitionAnswer(
        decision="changed", answer="同意减为 300 元", fines="生产部: 300")})
    assert run.result == "closed"
    assert run.steps.index("objection-production-answer") < run.steps.index("penalty-approval")
    assert run.case.data["decision"]["fines"][0]["amount"] == "300.00"
    assert run.case.data["petitions"]["objection-production"] | {"gm_answer": "同意减为 300 元"} == \
        run.case.data["petitions"]["objection-production"] and run.case.data["petitions"][
            "objection-production"]["state"] == "answered"
    assert "300" in run.step("penalty-approval").summary["罚扣"]


def person_objects_and_petitions(consolidated: dict, *, objection: str, follow_up: str, reasons: str,
                                 forward: str) -> dict:
    """C19: a fine on a person for negligence; they object, their objection is followed up and they petition;
    the 《签呈》 is forwarded and the GM maintains the decision."""
    negligence = CONSOLIDATED.model_copy(update={"cause": "human_negligence", **consolidated})
    return chain(**{
        "consolidation": answer(negligence, hours=2),
        "opinion-person-1": PersonalOpinionReply(decision="objects", objection=objection),
        "opinion-person-1-follow-up": ObjectionFollowUp(decision="petition", follow_up=follow_up),
        "opinion-person-1-petition": Petition(decision="petition", subject="penalty", reasons=reasons,
                                              change_asked="免于罚扣"),
        "opinion-person-1-petition-forward": PetitionForward(opinion=forward),
        "opinion-person-1-petition-answer": PetitionAnswer(decision="maintained", answer="维持原决定")})


def test_the_person_complained_about_is_told_objects_to_the_handler_and_petitions(office, prepared):
    run = office.resume(at(prepared, "consolidation"), person_objects_and_petitions(
        {"fines": "韩雪: 600"}, objection="当班已按规程检查皮辊", follow_up="已面谈，本人仍不同意",
        reasons="当班已按规程检查", forward="维持"))
    told = run.step("opinion-person-1")
    assert told.assignee == PRODUCTION and "600.00" in told.summary["对您的处理意见"]
    assert run.step("opinion-person-1-follow-up").assignee == GM_OFFICE  # the handler records the follow-up
    assert run.step("opinion-person-1-petition").assignee == PRODUCTION
    assert run.step("opinion-person-1-petition-answer").assignee == GM
    assert "objection_followed_up:opinion-person-1" in run.event_kinds and run.result == "closed"
    assert [k for k in run.event_kinds if k.startswith("petition_")] == [
        "petition_filed:opinion-person-1-petition", "petition_answered:opinion-person-1-petition"]
    assert run.case.data["decision"]["fines"][0]["amount"] == "600.00"  # maintained: final

    run = office.resume(at(prepared, "consolidation"), chain(**{
        "consolidation": answer(CONSOLIDATED.model_copy(update={"cause": "human_negligence", "fines": "韩雪: 600"}),
                                hours=2),
        "opinion-person-1": PersonalOpinionReply(decision="objects", objection="不同意"),
        "opinion-person-1-follow-up": ObjectionFollowUp(decision="resolved", follow_up="解释后本人接受")}))
    assert "opinion-person-1-petition" not in run.steps and run.result == "closed"


def test_an_unsettled_share_becomes_a_petition_and_the_gms_change_is_next_months_correction(office, tmp_path):
    import json

    from tasks.reports.steps import build_report

    case_no = file(office)
    assert office.run(grievance, case_no, chain()).result == "closed"
    office.later(days=6)  # Tuesday 1 December
    run = office.run(grievance_month, None, {
        "shares-production": ShareConfirmation(decision="proposed", proposal=f"{case_no}: 60", comment="原料也有责任"),
        "settle-production": ShareSettlement(decision="unsettled", comment="双方意见不一"),
        "petition-production": Petition(decision="petition", subject="share", reasons="原料配棉异常",
                                        change_asked=f"{case_no}: 60"),
        "petition-production-forward": PetitionForward(opinion="请总经理裁定"),
        "petition-production-answer": answer(PetitionAnswer(decision="changed", answer="生产部承担 60%",
                                                            shares=f"{case_no}: 60"), hours=30),  # 2 December
        "notice-production-petition": PENDING})
    assert run.step("settle-production").assignee == GM_OFFICE
    pet = run.step("petition-production")
    assert pet.assignee == PRODUCTION_HEAD and pet.answer_model == "Petition"
    assert pet.due == add_business_days(pet.at, 3, office.svc.calendar)
    assert run.step("petition-production-answer").assignee == GM
    # the unit's fine on the disputed case waited for the answer: no notice before it
    assert run.waiting_on == "notice-production-petition" and "notice-production" not in run.steps
    case = office.svc.store.get_case(case_no)
    assert case.data.get("shares") is None  # November, issued on the 2nd, stays as it was
    (fix,) = case.data["corrections"]
    assert fix | {"month": "2026-12", "of_month": "2026-11", "share_from": "100.00", "share_to": "60.00"} == fix
    nov = build_report(office.svc.store.engine, "monthly", "2026-11", tmp_path / "nov")
    dec = build_report(office.svc.store.engine, "monthly", "2026-12", tmp_path / "dec")
    assert json.loads(nov.json_path.read_text(encoding="utf-8"))["grievances"]["corrections"] == []
    (row,) = json.loads(dec.json_path.read_text(encoding="utf-8"))["grievances"]["corrections"]
    assert row["case_no"] == case_no and row["share_to"] == "60.00"


def test_an_unanswered_decision_notice_is_reminded_then_escalated_after_3_business_days(office):
    from tests.flows.harness import DEPUTY_GM

    case_no = file(office)
    run = office.run(grievance, case_no, chain(**{"objection-production": PENDING, "opinion-person-1": PENDING}))
    assert run.waiting_on == "objection-production" and run.case.closed_at is None
    office.later(days=3)  # Saturday: past half of the time to Monday's deadline
    assert office.watchdog()["reminded"] == 2
    assert [m for m in office.mailer.sent if PRODUCTION_HEAD in m.to and "催办" in m.subject and "核决通知" in m.subject]
    office.later(days=3)  # Tuesday: past Monday's deadline
    assert office.watchdog()["escalated"] == 2
    assert [m for m in office.mailer.sent if DEPUTY_GM in m.to and "逾期上报" in m.subject and "核决通知" in m.subject]


def test_the_gms_changed_fine_outside_the_basis_is_asked_again_and_applies_before_the_approval(office):
    """C19: the 《签呈》 reaches the GM with who filed it, about what, why, the change asked and its attachments
    (none: 无); a changed fine the penalty basis refuses goes back to the GM with the reason; the GM's answer is
    recorded in full, replaces the decision's fine at once and is what the supervisor approves (C18)."""
    from models.grievance_answers import PETITION_SUBJECTS

    case_no = file(office)
    petition = Petition(decision="petition", subject="penalty", reasons="皮辊属正常磨损", change_asked="罚扣减为 300 元")
    run = office.run(grievance, case_no, chain(**{
        "objection-production": petition,
        "objection-production-forward": PetitionForward(opinion="建议减轻"),
        "objection-production-answer": PetitionAnswer(decision="changed", answer="减为 1200 元", fines="生产部: 1200"),
        "objection-production-answer-2": PetitionAnswer(decision="changed", answer="减为 300 元", fines="生产部: 300"),
        "penalty-approval": PENDING}))
    shown = run.step("objection-production-forward").summary
    assert (shown["签呈人"], shown["异议事项"], shown["理由"], shown["请求变更为"], shown["附件"]) == (
        PRODUCTION_HEAD, PETITION_SUBJECTS["penalty"], "皮辊属正常磨损", "罚扣减为 300 元", "无")
    assert run.steps.index("objection-production-answer-2") == run.steps.index("objection-production-answer") + 1
    again = run.step("objection-production-answer-2")
    assert again.assignee == GM and "超出" in again.summary["不符之处"]
    assert run.waiting_on == "penalty-approval" and run.case.data["decision"]["fines"][0]["amount"] == "300.00"
    assert "300.00" in run.step("penalty-approval").summary["罚扣"]
    assert run.case.data["petitions"] == {"objection-production": {
        "by": PRODUCTION_HEAD, "subject": "penalty", "reasons": "皮辊属正常磨损", "change_asked": "罚扣减为 300 元",
        "attachments": "", "state": "answered", "answer": "changed", "gm_answer": "减为 300 元", "answered_by": GM}}
    (filed,) = run.events("petition_filed:objection-production")
    (answered,) = run.events("petition_answered:objection-production")
    assert (filed.actor, filed.data) == (PRODUCTION_HEAD, {"petition": "objection-production", "subject": "penalty",
                                                           "state": "open"})
    assert (answered.actor, answered.data) == (GM, {"petition": "objection-production", "subject": "penalty",
                                                    "state": "answered"})


def test_a_gm_who_maintains_the_decision_keeps_the_fine_whatever_is_typed_in_its_fines(office, prepared):
    """C19: only a changed decision changes the fine; the GM's answer is final either way."""
    run = office.resume(at(prepared, "consolidation"), chain(**{
        "objection-production": Petition(decision="petition", subject="penalty", reasons="不同意",
                                         change_asked="免于罚扣"),
        "objection-production-forward": PetitionForward(opinion="维持"),
        "objection-production-answer": PetitionAnswer(decision="maintained", answer="维持原决定", fines="生产部: 300")}))
    assert run.result == "closed" and run.case.data["decision"]["fines"][0]["amount"] == "500.00"
    assert "objection-production-answer-2" not in run.steps


def assert_forwarded_and_answered_as_the_petitioners(run, key: str, petitioner: str) -> None:
    """C19: a 《签呈》 goes via the GM office to the GM, each step the petitioner's request (never theirs to decide)."""
    fwd, gm = run.step(f"{key}-forward"), run.step(f"{key}-answer")
    assert (fwd.assignee, fwd.role, fwd.requested_by) == (GM_OFFICE, "gm_office", petitioner)
    assert fwd.title == "《签呈》经总经理室呈总经理"
    assert (gm.assignee, gm.role, gm.requested_by) == (GM, "general_manager", petitioner)
    assert gm.title == "总经理批示《签呈》（最终决定）"


def test_the_forms_own_salesperson_fined_as_a_person_objects_and_their_own_petition_comes_back_to_them(office):
    """C19: the person complained about — here the second salesperson, who filed the form — objects to the
    handler (the GM office), who sees who objects and why and records the follow-up; continued disagreement
    comes back to that person as a 《签呈》 pre-filled with the objection, due in 3 business days; the unit's
    petition and the person's are both kept on the case."""
    negligence = CONSOLIDATED.model_copy(update={"cause": "human_negligence", "responsible_persons": "郭欣",
                                                 "fines": "生产部: 500\n郭欣: 600"})
    case_no = file(office, salesperson=OTHER_SALESPERSON)
    script = chain(**{
        "consolidation": answer(negligence, hours=2),
        "objection-production": Petition(decision="petition", subject="responsibility", reasons="非生产原因",
                                         change_asked="不属生产部责任"),
        "objection-production-forward": PetitionForward(opinion="请裁定"),
        "objection-production-answer": PetitionAnswer(decision="maintained", answer="维持"),
        "opinion-person-1": PersonalOpinionReply(decision="objects", objection="已按规程填写订单"),
        "opinion-person-1-follow-up": ObjectionFollowUp(decision="petition", follow_up="已面谈，本人仍不同意"),
        "opinion-person-1-petition": PENDING})
    run = office.run(grievance, case_no, script)
    # the unit's 《签呈》 is its head's request, forwarded and answered as such — not the form's salesperson's
    assert_forwarded_and_answered_as_the_petitioners(run, "objection-production", PRODUCTION_HEAD)
    assert run.step("opinion-person-1").assignee == OTHER_SALESPERSON
    follow = run.step("opinion-person-1-follow-up")
    assert (follow.assignee, follow.role, follow.requested_by) == (GM_OFFICE, "gm_office", OTHER_SALESPERSON)
    assert follow.title == "受理人跟进被投诉人的异议并记录"
    assert (follow.summary["异议人"], follow.summary["异议内容"]) == (OTHER_SALESPERSON, "已按规程填写订单")
    (followed,) = run.events("objection_followed_up:opinion-person-1")
    assert (followed.actor, followed.data) == (GM_OFFICE, {"person": OTHER_SALESPERSON, "follow_up": "已面谈，本人仍不同意",
                                                           "result": "petition"})
    pet = run.task("opinion-person-1-petition")
    assert pet.assignee == OTHER_SALESPERSON and pet.due_at == add_business_days(pet.created_at, 3, office.svc.calendar)
    assert pet.title == "填写《签呈》（对处理意见仍有异议）"
    assert pet.answer == {"decision": "petition", "subject": "penalty", "reasons": "已按规程填写订单"}
    assert run.step("opinion-person-1-petition").summary["受理人跟进"] == "已面谈，本人仍不同意"

    run = office.run(grievance, case_no, script | {
        "opinion-person-1-petition": Petition(decision="petition", subject="penalty", reasons="已按规程填写订单",
                                              change_asked="免于罚扣"),
        "opinion-person-1-petition-forward": PetitionForward(opinion="维持"),
        "opinion-person-1-petition-answer": PetitionAnswer(decision="maintained", answer="维持原决定")})
    assert run.result == "closed"
    assert set(run.case.data["petitions"]) == {"objection-production", "opinion-person-1-petition"}
    assert_forwarded_and_answered_as_the_petitioners(run, "opinion-person-1-petition", OTHER_SALESPERSON)


def test_the_gm_office_clerk_complained_about_never_handles_their_own_objection_or_petition(office, prepared):
    """C19 with recusal: the person complained about is the GM office's own clerk — their objection is followed up,
    and their 《签呈》 forwarded, by their superior, not by themselves."""
    from tests.flows.harness import DEPUTY_GM

    run = office.resume(at(prepared, "consolidation"), person_objects_and_petitions(
        {"responsible_persons": "谢宁", "fines": "谢宁: 600"}, objection="登记无误", follow_up="本人仍不同意",
        reasons="登记无误", forward="请裁定"))
    assert run.step("opinion-person-1").assignee == GM_OFFICE and run.result == "closed"
    assert run.step("opinion-person-1-follow-up").assignee == DEPUTY_GM
    assert run.step("opinion-person-1-petition").assignee == GM_OFFICE
    assert run.step("opinion-person-1-petition-forward").assignee == DEPUTY_GM
    assert run.step("opinion-person-1-petition-answer").assignee == GM
