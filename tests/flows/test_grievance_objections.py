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
from tests.flows.test_grievance import CONSOLIDATED, GM_OFFICE, chain, file

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


def test_the_person_complained_about_is_told_objects_to_the_handler_and_petitions(office):
    negligence = CONSOLIDATED.model_copy(update={"cause": "human_negligence", "fines": "韩雪: 600"})
    run = office.run(grievance, file(office), chain(**{
        "consolidation": answer(negligence, hours=2),
        "opinion-person-1": PersonalOpinionReply(decision="objects", objection="当班已按规程检查皮辊"),
        "opinion-person-1-follow-up": ObjectionFollowUp(decision="petition", follow_up="已面谈，本人仍不同意"),
        "opinion-person-1-petition": Petition(decision="petition", subject="penalty", reasons="当班已按规程检查",
                                              change_asked="免于罚扣"),
        "opinion-person-1-petition-forward": PetitionForward(opinion="维持"),
        "opinion-person-1-petition-answer": PetitionAnswer(decision="maintained", answer="维持原决定")}))
    told = run.step("opinion-person-1")
    assert told.assignee == PRODUCTION and "600.00" in told.summary["对您的处理意见"]
    assert run.step("opinion-person-1-follow-up").assignee == GM_OFFICE  # the handler records the follow-up
    assert run.step("opinion-person-1-petition").assignee == PRODUCTION
    assert run.step("opinion-person-1-petition-answer").assignee == GM
    assert "objection_followed_up:opinion-person-1" in run.event_kinds and run.result == "closed"
    assert [k for k in run.event_kinds if k.startswith("petition_")] == [
        "petition_filed:opinion-person-1-petition", "petition_answered:opinion-person-1-petition"]
    assert run.case.data["decision"]["fines"][0]["amount"] == "600.00"  # maintained: final

    run = office.run(grievance, file(office), chain(**{
        "consolidation": answer(negligence, hours=2),
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
