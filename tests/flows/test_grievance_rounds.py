"""客户抱怨处理 (§7 C16), in-process with scripted answers: what the chain records of each step and each return,
what the author of a returned step is shown, who is asked again, the GM's ruling on a third return and the
rounds after it, and C6's plan deadline inside the chain."""

from datetime import datetime

from flows.grievance.chain import grievance
from models.answers import Decision
from models.business_days import add_business_days
from models.grievance_answers import (FormRevision, GmRuling, GrievanceRegistration, ManagerInstruction,
                                      ProductionAnalysis)
from tests.flows.harness import DEPUTY_SALES_MANAGER, GM, PENDING, PRODUCTION, PRODUCTION_HEAD, QUALITY_LEAD, answer
from tests.flows.test_grievance import GM_OFFICE, at, chain, file

QUALITY = chain()["quality"]
PRODUCED = chain()["production"]


def back(model, why: str):
    return model(decision="returned", comment=why)


def test_each_step_done_and_each_return_is_recorded_with_its_author_step_and_comment(office):
    """C16: the case's history names every step done (C16's number and title, who answered) and every return
    (who returned it, with the comment); the case is registered, then investigating, then deciding."""
    run = office.run(grievance, file(office), chain(**{
        "production": back(ProductionAnalysis, "对策不具体"), "quality-2": QUALITY, "production-2": PRODUCED}))
    assert run.result == "closed"
    done = [e.kind for e in run.events() if e.kind.startswith("done:")]
    assert done[:5] == ["done:register", "done:quality", "done:quality-2", "done:production-2", "done:manager"]
    assert "done:decide-deputy-gm" in done
    (register,) = run.events("done:register")
    assert register.actor == GM_OFFICE and register.data == {"step": 1, "title": "总经理室编号登记《客户抱怨处理表》（当日）",
                                                              "state": ["filed", "registered"]}
    (quality,) = run.events("done:quality")
    assert quality.actor == QUALITY_LEAD and quality.data["step"] == 2 and quality.data["state"] == ["registered",
                                                                                                      "investigating"]
    (returned,) = run.events("returned:production")
    assert returned.actor == PRODUCTION and returned.data == {"step": 3, "comment": "对策不具体",
                                                              "state": ["investigating", "returned"]}
    (opinion,) = run.events("done:opinion")
    assert opinion.data == {"step": 7, "title": "总经理室综合意见", "state": ["investigating", "deciding"]}


def test_an_approvers_rejection_without_a_comment_says_so_to_the_previous_author(office, prepared):
    run = office.resume(at(prepared, "instruct-deputy-sales-manager"), chain(**{
        "instruct-deputy-sales-manager": Decision(decision="reject"), "opinion-2": chain()["opinion"],
        "instruct-deputy-sales-manager-2": Decision(decision="approve")}))
    assert run.step("opinion-2").summary["被退回"] == "依核决权限批示处理意见：（未填写）"
    (returned,) = run.events("returned:instruct-deputy-sales-manager")
    assert returned.actor == DEPUTY_SALES_MANAGER and returned.data["step"] == 7


def test_the_salesperson_revising_a_returned_form_sees_why_and_the_gm_office_sees_the_revision(office):
    """C16 step 1 returned: the salesperson sees the GM office's comment; the GM office then sees the revision
    (its opinion, else its comment, else that the form was revised)."""
    run = office.run(grievance, file(office), chain(**{
        "register": back(GrievanceRegistration, "缺订单附件"),
        "form-revision-1": FormRevision(decision="resubmitted", opinion="已补订单附件"),
        "register-2": back(GrievanceRegistration, "订单号不符"),
        "form-revision-2": FormRevision(decision="resubmitted", comment="订单号已更正"),
        "register-3": GrievanceRegistration(decision="registered")}))
    assert run.steps[:5] == ["register", "form-revision-1", "register-2", "form-revision-2", "register-3"]
    assert run.step("form-revision-1").summary["退回意见"] == "缺订单附件"
    assert run.step("form-revision-2").summary["退回意见"] == "订单号不符"
    assert run.step("register-2").summary["业务员补正"] == "已补订单附件"
    assert run.step("register-3").summary["业务员补正"] == "订单号已更正"
    step_1 = "总经理室编号登记《客户抱怨处理表》（当日）"  # a round after the first says which it is
    assert [run.task(k).title for k in ("register", "register-2", "register-3")] == [
        step_1, f"{step_1}（第 2 次）", f"{step_1}（第 3 次）"]
    assert run.task("form-revision-1").title == "补正《客户抱怨处理表》（被退回）"

    run = office.run(grievance, file(office), chain(**{
        "register": back(GrievanceRegistration, "缺订单附件"), "form-revision-1": FormRevision(decision="resubmitted"),
        "register-2": GrievanceRegistration(decision="registered")}))
    assert run.step("register-2").summary["业务员补正"] == "（已补正）"


def test_the_gm_rules_on_a_third_return_seeing_the_step_and_why_and_later_returns_count_afresh(office, prepared):
    """C16: the third return of a step goes to the GM with the step and the comment (none written: said so);
    the GM's ruling without a comment keeps the draft going; after it the step's returns count from zero
    again — two more go back to the author before the GM would be asked again."""
    reject, opinion = Decision(decision="reject"), chain()["opinion"]
    run = office.resume(at(prepared, "instruct-deputy-sales-manager"), chain(**{
        "instruct-deputy-sales-manager": reject, "opinion-2": opinion, "instruct-deputy-sales-manager-2": reject,
        "opinion-3": opinion, "instruct-deputy-sales-manager-3": reject,
        "gm-ruling-instruct-deputy-sales-manager-3": GmRuling(decision="upheld"),
        "instruct-deputy-sales-manager-4": reject, "opinion-4": opinion, "instruct-deputy-sales-manager-5": reject,
        "opinion-5": opinion, "instruct-deputy-sales-manager-6": Decision(decision="approve")}))
    ruling = run.step("gm-ruling-instruct-deputy-sales-manager-3")
    assert ruling.assignee == GM
    assert (ruling.summary["退回环节"], ruling.summary["退回意见"]) == ("依核决权限批示处理意见", "（未填写）")
    assert run.step("instruct-deputy-sales-manager-4").summary["总经理裁定"] == "维持原稿，继续流转（不再退回）"
    i = run.steps.index("instruct-deputy-sales-manager-4")
    assert run.steps[i:i + 5] == ["instruct-deputy-sales-manager-4", "opinion-4", "instruct-deputy-sales-manager-5",
                                  "opinion-5", "instruct-deputy-sales-manager-6"]
    assert run.result == "closed"


def test_a_step_asked_again_goes_to_its_earlier_author_and_only_steps_2_3_first_time_have_the_plan_deadline(
        office):
    """C16: a step asked again goes to whoever answered it before, even when the role has another holder
    listed first by then; C6's 1-day plan binds steps 2–3 the first time only — later steps and later rounds
    have a business day of their own."""

    case_no = file(office)
    script = chain(**{"production": answer(PRODUCED, hours=5), "manager": PENDING})
    run = office.run(grievance, case_no, script)
    assert run.waiting_on == "manager" and run.step("production").assignee == PRODUCTION
    office.edit_org("  production: [han.xue@huajin.example]", f"  production: [{PRODUCTION_HEAD}, han.xue@huajin.example]")
    run = office.run(grievance, case_no, script | {
        "manager": answer(back(ManagerInstruction, "对策需细化"), hours=1), "production-2": answer(PRODUCED, hours=1),
        "manager-2": chain()["manager"]})
    assert run.step("production-2").assignee == PRODUCTION  # who answered it before, not the first holder now
    plan = datetime.fromisoformat(run.case.data["deadlines"]["plan"])
    assert run.task("quality").due_at == plan and run.task("production").due_at == plan
    for step in ("manager", "production-2"):
        t = run.task(step)
        assert t.due_at != plan and t.due_at == add_business_days(t.created_at, 1, office.svc.calendar), step
    assert run.result == "closed"


def test_c6s_plan_deadline_runs_from_receipt_though_the_gm_office_registers_the_form_hours_later(office):
    """C6: steps 2–3 state responsibility and the plan within a day of the receipt, not of the registration — a form
    registered five hours after it was received leaves them five hours less than a business day of their own."""
    run = office.run(grievance, file(office), chain(register=answer(chain()["register"], hours=5), production=PENDING))
    plan = datetime.fromisoformat(run.case.data["deadlines"]["plan"])
    for step in ("quality", "production"):
        t = run.task(step)
        assert t.due_at == plan and t.due_at < add_business_days(t.created_at, 1, office.svc.calendar), step
