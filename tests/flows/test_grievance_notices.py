"""C19 after the decision (客户抱怨处理 §7): who is told what. The head of each responsible unit gets the
decision's notice — responsibility, loss, fines — to accept or answer with a 《签呈》, and each responsible
person of ours the opinion concerning them; a person the org directory does not know is told nothing through
the system (and the people after them still are). All due in 3 business days."""

from flows.grievance.chain import grievance
from models.business_days import add_business_days
from models.grievance import CAUSE_LABELS
from models.grievance_answers import Petition, PersonalOpinionReply
from tests.flows.harness import PENDING, PRODUCTION, PRODUCTION_HEAD, SALESPERSON, answer
from tests.flows.test_grievance import CONSOLIDATED, at, chain, file


def test_each_responsible_unit_and_each_person_of_ours_is_told_what_concerns_them(office, prepared):
    decided = CONSOLIDATED.model_copy(update={"cause": "human_negligence", "responsible_units": "生产部",
                                              "responsible_persons": "张外协、韩雪、林涛",
                                              "fines": "生产部: 500\n韩雪: 600"})
    run = office.resume(at(prepared, "consolidation"), chain(**{
        "consolidation": answer(decided, hours=2),
        "opinion-person-1": None,  # 张外协 is nobody of ours: never asked
        "opinion-person-2": PersonalOpinionReply(decision="accepted"),
        "opinion-person-3": PersonalOpinionReply(decision="accepted")}))
    assert run.result == "closed"
    told = [s for s in run.steps if s.startswith(("objection-", "opinion-person-"))]
    assert told == ["objection-production", "opinion-person-2", "opinion-person-3"]
    fine = run.case.data["decision"]["fines"]
    assert [(f["party"], f["amount"]) for f in fine] == [("生产部", "500.00"), ("韩雪", "600.00")]
    cause, kind = CAUSE_LABELS["human_negligence"], fine[1]["penalty_type"]

    unit = run.step("objection-production")
    assert (unit.assignee, unit.answer_model) == (PRODUCTION_HEAD, Petition.__name__)
    assert unit.title == "核决通知（生产部）：无异议请确认；对责任、损失或罚扣有异议请提《签呈》（3个工作日内）"
    assert unit.due == add_business_days(unit.at, 3, office.svc.calendar)
    assert unit.summary["编号"] == run.case_no
    assert {k: unit.summary[k] for k in ("责任原因", "责任单位", "责任人员", "客诉损失金额（元）", "罚扣")} == {
        "责任原因": cause, "责任单位": "生产部", "责任人员": "张外协、韩雪、林涛", "客诉损失金额（元）": "10400.00",
        "罚扣": "生产部 500.00 元；韩雪 600.00 元"}

    fined, unfined = run.step("opinion-person-2"), run.step("opinion-person-3")
    assert (fined.assignee, fined.role, fined.answer_model) == (PRODUCTION, "production", PersonalOpinionReply.__name__)
    assert (unfined.assignee, unfined.role) == (SALESPERSON, "salesperson")
    for s in (fined, unfined):
        assert s.title == "对您本人的处理意见：请知悉，有异议可向受理人提出（3个工作日内）"
        assert s.due == add_business_days(s.at, 3, office.svc.calendar)
        assert s.summary["编号"] == run.case_no and "罚扣" not in s.summary  # only what concerns them
    assert fined.summary["对您的处理意见"] == f"{cause}；责任人员：韩雪；罚扣：600.00 元（{kind}）"
    assert unfined.summary["对您的处理意见"] == f"{cause}；责任人员：林涛；罚扣：无"


def test_a_decision_without_fines_tells_the_unit_so(office, prepared):
    run = office.resume(at(prepared, "consolidation"), chain(**{
        "consolidation": answer(CONSOLIDATED.model_copy(update={"fines": "", "responsible_persons": ""}), hours=2)}))
    assert [s for s in run.steps if s.startswith(("objection-", "opinion-person-"))] == ["objection-production"]
    unit = run.step("objection-production")
    assert (unit.summary["罚扣"], unit.summary["责任人员"]) == ("无", "—")


def test_the_forms_own_salesperson_tells_the_customer_and_the_reply_is_recorded_with_how_it_was_passed_on(office):
    from models.grievance_answers import CustomerDecisionReply
    from tests.flows.test_grievance import OTHER_SALESPERSON

    run = office.run(grievance, file(office, salesperson=OTHER_SALESPERSON), chain(**{
        "decision-told": CustomerDecisionReply(decision="accepted", passed_on_via="phone", note="电话告知，客户接受"),
        "objection-production": PENDING}))
    assert run.waiting_on == "objection-production" and run.case.state == "decided"
    told = run.step("decision-told")
    assert (told.assignee, told.role, told.answer_model) == (OTHER_SALESPERSON, "salesperson", "CustomerDecisionReply")
    assert told.title == "向客户函告或电话告知核决结果，记录客户是否接受"
    assert told.summary["编号"] == run.case_no and told.summary["业务员"] == OTHER_SALESPERSON
    assert told.summary["处理方式 / 单价 / 金额（元）"] == "return / 32.00 / 9600.00" and "承诺限制" not in told.summary
    assert run.case.data["customer_reply"] == {"decision": "accepted", "via": "phone", "note": "电话告知，客户接受"}
    (event,) = [e for e in office.svc.store.events(run.case_no) if e.kind == "customer_accepted"]
    assert (event.actor, event.data) == (OTHER_SALESPERSON, {"via": "phone"})


def test_each_step_sees_the_form_and_everything_said_before_it_and_only_the_decided_case_drops_the_no_promise(office):
    """C16: the chain's summary grows with each step's answer under its own label (R&D's too when asked);
    the proposal adds the handling, price and amount and the approvers by authority (000 «13»); until
    the decision every step carries the no-promise line (C6), after it the customer may be told."""
    from models.grievance import NO_PROMISE
    from models.grievance_answers import ManagerInstruction, RdOpinion

    run = office.run(grievance, file(office), chain(**{
        "manager": ManagerInstruction(decision="instructed", instruction="请研发部评估配棉", ask_rd=True),
        "rd": RdOpinion(decision="submitted", opinion="原料配棉需调整")}))
    form = {k: v for k, v in run.step("register").summary.items() if k != "承诺限制"}
    assert run.step("register").summary == {**form, "承诺限制": NO_PROMISE}
    said = {"质量管理部": "粗纱条干 CV 超标", "责任单位（质量判定）": "生产部", "制造部门对策": "更换皮辊",
            "总经理批示（调查报告）": "同意调查结论，按对策执行", "经理室批示": "请研发部评估配棉", "研发部意见": "原料配棉需调整",
            "业务处理意见": "退货 300 kg，按 32 元/kg", "处理方式 / 单价 / 金额（元）": "return / 32.00 / 9600.00",
            "核决人（依核决权限）": "deputy_sales_manager → deputy_gm", "总经理室综合意见": "同意业务处理意见",
            "交涉结果": "客户同意退货并接受运费赔付"}
    assert run.step("production").summary == {**form, "承诺限制": NO_PROMISE, "质量管理部": "粗纱条干 CV 超标",
                                               "责任单位（质量判定）": "生产部"}
    assert run.step("decide-deputy-gm").summary == {**form, "承诺限制": NO_PROMISE, **said}
    assert run.step("decision-told").summary == {**form, **said}


def test_the_gms_overdue_report_escalates_to_the_chairman_and_without_one_the_report_still_goes_to_the_gm(office):
    """C6 inside the chain: the GM has no superior in the org directory, so the 批示's escalation goes to
    the chairman (董事长) where the org has one; an org without one still asks the GM, with no escalation."""
    from tests.flows.test_grievance_objections import CHAIRMAN

    run = office.run(grievance, file(office), chain(**{"gm-report": PENDING}))
    report = office.svc.store.get_task(run.step("gm-report").task_id)
    assert (report.assignee, report.escalate_to) == ("wang.jianguo@huajin.example", CHAIRMAN)

    office.edit_org(f"  chairman: [{CHAIRMAN}]\n", "")
    run = office.run(grievance, file(office), chain(**{"gm-report": PENDING}))
    assert run.waiting_on == "gm-report"
    assert office.svc.store.get_task(run.step("gm-report").task_id).escalate_to is None

