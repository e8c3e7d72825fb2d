"""客户抱怨处理 (§7 C6 in C16, C18), in-process with scripted answers: the GM's 批示 on the investigation as the GM
sees it and as the case keeps it, the consolidation the bases refuse going back to the clerk who wrote it, and the
tracked improvement — who carries it out, who checks its effect, and by when."""

from datetime import datetime

from flows.grievance.chain import grievance
from models.business_days import TZ, add_business_days
from models.grievance import NO_PROMISE
from models.grievance_answers import EffectCheck, ImprovementDone
from tests.flows.harness import BACK_OFFICE, GM, PENDING, PRODUCTION, QUALITY_LEAD, answer
from tests.flows.test_grievance import CONSOLIDATED, GM_OFFICE, at, chain, file


def test_the_gm_sees_the_investigation_by_three_business_days_after_the_plan_and_the_case_keeps_his_instruction(office):
    """C6 inside the chain: once production has answered (steps 2–3, the plan), the investigation goes to the GM —
    the form, quality's cause and responsible department, production's countermeasure, and the no-promise line —
    due 3 business days after the plan's 1-day deadline, not a business day after it is asked; his 批示 is kept on
    the case."""
    run = office.run(grievance, file(office), chain(manager=PENDING))
    assert run.waiting_on == "manager" and run.case.state == "investigating"
    report = run.step("gm-report")
    assert (report.assignee, report.role, report.answer_model) == (GM, "general_manager", "GmInstruction")
    assert report.title == "客户抱怨调查报告：总经理批示（3个工作日内）"
    form = {k: v for k, v in run.step("register").summary.items() if k != "承诺限制"}
    assert report.summary == {**form, "承诺限制": NO_PROMISE, "质量管理部": "粗纱条干 CV 超标",
                              "责任单位（质量判定）": "生产部", "制造部门对策": "更换皮辊"}
    deadlines = run.case.data["deadlines"]
    plan = datetime.fromisoformat(deadlines["plan"])
    due = run.task("gm-report").due_at
    assert due == datetime.fromisoformat(deadlines["gm_report"]) == add_business_days(plan, 3, office.svc.calendar)
    assert due != add_business_days(report.at, 1, office.svc.calendar)
    assert run.case.data["gm_instruction"] == "同意调查结论，按对策执行"


def test_a_refused_consolidation_goes_back_to_the_clerk_who_wrote_it_showing_the_chain_and_why(office):
    """C18: the GM office's consolidation refused by the bases goes back to the clerk who consolidated it — not to
    whoever holds the GM office first now — as the GM office's step, with everything the chain said and the reason."""
    case_no = file(office)
    over = CONSOLIDATED.model_copy(update={"fines": "生产部: 1200"})  # the example basis: ≤ 1,000 for quality
    run = office.run(grievance, case_no, chain(consolidation=PENDING))
    assert run.waiting_on == "consolidation" and run.step("consolidation").assignee == GM_OFFICE
    office.edit_org(f"  gm_office: [{GM_OFFICE}]", f"  gm_office: [{BACK_OFFICE}, {GM_OFFICE}]")
    run = office.run(grievance, case_no, chain(**{"consolidation": over, "consolidation-bases-2": PENDING}))
    assert run.waiting_on == "consolidation-bases-2"
    back = run.step("consolidation-bases-2")
    assert (back.assignee, back.role, back.answer_model) == (GM_OFFICE, "gm_office", "GrievanceConsolidation")
    assert back.title == "按核算/罚扣基准修正汇总（损失项目或罚扣不符）"
    assert back.summary["交涉结果"] == "客户同意退货并接受运费赔付" and back.summary["业务处理意见"] == "退货 300 kg，按 32 元/kg"
    assert back.summary["不符之处"].startswith("生产部 罚扣 1200 元超出 ")


def test_the_improvement_is_the_decisions_not_the_salespersons_request_and_its_doer_never_checks_its_effect(office):
    """C18 列入追踪: the owner carries the measure out — a task the decision gives, requested by nobody (not the
    salesperson's request) — and the quality department checks its effect; someone who holds both roles and
    carried the measure out is not the one to confirm it works: the next quality holder does."""
    office.edit_org(f"  quality_lead: [{QUALITY_LEAD}]", f"  quality_lead: [{PRODUCTION}, {QUALITY_LEAD}]")
    run = office.run(grievance, file(office), chain())
    assert run.result == "closed"
    done, check = run.step("improvement"), run.step("effect-check")
    assert (done.assignee, done.role, done.requested_by) == (PRODUCTION, "production", None)
    assert done.title == "落实改善措施（列入追踪）"
    assert (check.assignee, check.role, check.requested_by) == (QUALITY_LEAD, "quality_lead", PRODUCTION)
    assert check.title == "效果确认（质量管理部）"


def test_an_owner_the_org_does_not_know_leaves_the_improvement_to_production(office, prepared):
    """C18: the GM office names the owner by email or name; one the org directory does not know (an outside
    worker) leaves the measure to production's first holder rather than to nobody."""
    outside = CONSOLIDATED.model_copy(update={"improvement_owner": "外协厂李工"})
    run = office.resume(at(prepared, "consolidation"), chain(consolidation=answer(outside, hours=2)))
    assert run.result == "closed" and run.step("improvement").assignee == PRODUCTION
    assert run.case.data["decision"]["improvement_owner"] == "外协厂李工"


def test_an_improvement_due_at_the_very_moment_it_is_asked_gives_a_business_day(office, prepared):
    """C18: the measure is due by 17:30 of its due date; asked at that very moment (the consolidation came in at
    17:30 on the due date), the owner still gets a business day rather than a task already due."""
    today = CONSOLIDATED.model_copy(update={"improvement_due": "2026-11-25"})
    run = office.resume(at(prepared, "consolidation"), chain(consolidation=answer(today, hours=7.5), improvement=PENDING))
    t = run.task("improvement")
    assert t.created_at == datetime(2026, 11, 25, 17, 30, tzinfo=TZ)
    assert t.due_at == add_business_days(t.created_at, 1, office.svc.calendar) and t.due_at > t.created_at


def test_each_ineffective_check_asks_the_owner_again_and_the_case_closes_on_the_effective_one(office):
    """C18: an ineffective measure is carried out again (round 2, 3 …) until quality finds it effective; each
    check is recorded with its result, and the case closes after the last."""
    run = office.run(grievance, file(office), chain(**{
        "effect-check": EffectCheck(decision="ineffective", comment="仍有云斑"),
        "improvement-2": ImprovementDone(result="调整牵伸工艺"),
        "effect-check-2": EffectCheck(decision="ineffective", comment="云斑减少未消除"),
        "improvement-3": ImprovementDone(result="更换原料批次"), "effect-check-3": EffectCheck(decision="effective")}))
    assert run.result == "closed" and run.case.state == "closed"
    assert [s for s in run.steps if s.startswith(("improvement", "effect-check"))] == [
        "improvement", "effect-check", "improvement-2", "effect-check-2", "improvement-3", "effect-check-3"]
    assert [(e.kind, e.data) for e in run.events() if e.kind.startswith("effect_checked")] == [
        ("effect_checked:1", {"effective": False}), ("effect_checked:2", {"effective": False}),
        ("effect_checked:3", {"effective": True})]
    assert run.step("improvement-3").assignee == PRODUCTION and run.step("effect-check-3").summary["落实情况"] == "更换原料批次"


def test_c18_the_tracked_measure_is_reminded_on_its_due_date(office, prepared):
    """C18: "a tracked measure is reminded on its due date" — the owner's task is due at 17:30 on the due date
    (2026-12-20) and reminded at 08:30 that day, not halfway from the decision (the escalation stays at the due time)."""
    run = office.resume(at(prepared, "consolidation"), chain())
    task = office.svc.store.get_task(run.step("improvement").task_id)
    assert task.due_at == datetime(2026, 12, 20, 17, 30, tzinfo=TZ)
    assert task.remind_at == datetime(2026, 12, 20, 8, 30, tzinfo=TZ)
