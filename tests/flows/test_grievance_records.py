"""客户抱怨处理 (§7 C6 in C16, C17, C18, R9), in-process with scripted answers: what the decision stores for the
later steps and the reports, the consolidation sent back by the bases, the GM's 批示 on the investigation,
the new form of a rejected decision, and the tracked improvement."""

from datetime import datetime

from flows.grievance.chain import grievance
from models.answers import Decision
from models.business_days import TZ, add_business_days
from models.grievance import QUANTITY_PENDING_TEXT
from models.grievance_answers import CustomerDecisionReply, EffectCheck, GrievanceForm, ImprovementDone, QuantityEntry
from tests.flows.harness import GM, PENDING, PRODUCTION, PRODUCTION_HEAD, QUALITY_LEAD, SALESPERSON
from tests.flows.test_grievance import CONSOLIDATED, GM_OFFICE, at, chain, file

REJECTED = CustomerDecisionReply(decision="rejected", passed_on_via="phone", note="客户要求全额退货")


def test_the_decision_stores_handling_responsibility_improvement_loss_and_fines_with_the_bases_versions(office, prepared):
    """C18: the decision as stored — what R9, the notices (C19), the tracking and the month's figures (S1, S6)
    read later — holds the handling by the approved proposal and everything the GM office consolidated, the
    loss by the basis with its breakdown and the fines, each with the basis version."""
    run = office.resume(at(prepared, "consolidation"), chain())
    assert run.case.data["decision"] == {
        "handling": "return", "unit_price": "32.00", "amount": "9600.00", "approvers": ["deputy_sales_manager", "deputy_gm"],
        "result": "同意退货 300 kg，赔付运费", "cause": "our_quality", "cause_label": "本公司品质问题",
        "responsible_units": "生产部", "responsible_persons": "韩雪", "tracked": True,
        "improvement_measure": "更换粗纱机皮辊并加强条干检测", "improvement_owner": PRODUCTION, "improvement_due": "2026-12-20",
        "loss_total": "10400.00", "loss_breakdown": [
            {"item": "returned_goods", "label": "退货货值", "quantity": "9600", "unit": "元", "rate": None, "amount": "9600.00"},
            {"item": "freight", "label": "往返运费", "quantity": "1", "unit": "趟", "rate": "800.00", "amount": "800.00"}],
        "loss_basis_version": "2026-11-example",
        "fines": [{"party": "生产部", "amount": "500.00", "penalty_type": "品质异常罚扣", "sanction": ""}],
        "penalty_basis_version": "2026-11-example"}


def test_a_consolidation_the_bases_refuse_goes_back_prefilled_and_due_in_a_business_day(office, prepared):
    """C18: the GM office's consolidation with a fine beyond the penalty basis comes back to it the next business
    day, its own figures pre-filled to correct."""
    over = CONSOLIDATED.model_copy(update={"fines": "生产部: 1200"})
    run = office.resume(at(prepared, "consolidation"), chain(**{"consolidation": over, "consolidation-bases-2": PENDING}))
    t = run.task("consolidation-bases-2")
    assert t.assignee == GM_OFFICE and t.due_at == add_business_days(t.created_at, 1, office.svc.calendar)
    assert t.answer == over.model_dump(mode="json", exclude={"decision", "comment", "code", "decided_by"})
    assert t.answer["fines"] == "生产部: 1200" and "decision" not in t.answer


def test_the_gms_instruction_on_the_investigation_is_recorded_with_its_author(office, prepared):
    """C6 inside the chain: the GM's 批示 on the investigation is an event of the case, by the GM."""
    run = office.resume(at(prepared, "consolidation"), chain())
    (recorded,) = run.events("gm_instruction_recorded")
    assert (recorded.actor, recorded.data) == (GM, {"instruction": "同意调查结论，按对策执行"})


def test_the_new_form_of_a_rejected_decision_comes_prefilled_from_the_original_and_keeps_it_foreign(office):
    """C17: the customer rejects the decision — sales sees the decision and finds the original's form pre-filled
    (the return quantity as filed, or 0 when it was still unknown); a foreign customer's new grievance stays
    foreign (20 days)."""
    case_no = file(office, foreign=True)
    run = office.run(grievance, case_no, chain(**{"decision-told": REJECTED, "objection-production": PENDING,
                                                  "new-form": PENDING}))
    assert run.waiting_on == "new-form" and run.step("new-form").assignee == SALESPERSON
    assert run.task("new-form").title == "客户不接受核决：重新填写《客户抱怨处理表》（另案重办）"
    assert run.task("new-form").answer == {
        "abnormality_no": "YC-2026-031", "order_no": "XS-20261102-07", "item_no": "CY-40S", "customer": "无锡华美服饰有限公司",
        "ship_date": "2026-11-02", "description": "条干不匀，布面云斑", "demand": "退货 300 kg", "grievance_class": "quality",
        "sample_attached": True, "opinion": "属实，建议退货", "quantity_shipped": 2000, "unit": "kg",
        "defective_quantity": 300, "return_quantity": 300}
    assert run.step("new-form").summary["交涉结果"] == "客户同意退货并接受运费赔付"

    form = GrievanceForm(abnormality_no="YC-2026-031-2", order_no="XS-20261102-07", item_no="CY-40S", customer="无锡华美服饰有限公司",
                         quantity_shipped=2000, ship_date="2026-11-02", defective_quantity=300, description="客户不接受",
                         demand="全额退货 2000 kg", return_quantity=2000, grievance_class="quality", opinion="客户坚持全额退货")
    run = office.run(grievance, case_no, chain(**{"decision-told": REJECTED, "objection-production": PENDING,
                                                  "new-form": form}))
    new = office.svc.store.get_case(run.case.data["refiled_as"])
    assert new.data["form"]["foreign"] is True and new.data["form"]["previous_case_no"] == case_no

    pending = file(office, demand=QUANTITY_PENDING_TEXT, return_quantity=None)
    run = office.run(grievance, pending, chain(**{
        "quantity": QuantityEntry(quantity=100), "quantity-review": Decision(decision="approve"), "decision-told": REJECTED,
        "objection-production": PENDING, "new-form": PENDING}))
    assert run.task("new-form").answer["return_quantity"] == 0 and run.task("new-form").answer["demand"] == \
        QUANTITY_PENDING_TEXT


def test_the_tracked_improvement_goes_to_its_owner_by_its_due_date_and_quality_checks_its_effect(office):
    """C18 列入追踪: the owner named (not merely the first holder of the role) carries the measure out by 17:30 of
    its due date, seeing the measure and the date; quality checks the effect seeing what was done; each check is
    recorded with its result."""

    office.edit_org("  production: [han.xue@huajin.example]", f"  production: [{PRODUCTION_HEAD}, han.xue@huajin.example]")
    run = office.run(grievance, file(office), chain(**{
        "effect-check": EffectCheck(decision="ineffective", comment="仍有云斑"),
        "improvement-2": ImprovementDone(result="调整牵伸工艺"), "effect-check-2": EffectCheck(decision="effective")}))
    assert run.result == "closed"
    done = run.step("improvement")
    assert done.assignee == PRODUCTION  # the owner named in the decision
    assert run.task("improvement").due_at == datetime(2026, 12, 20, 17, 30, tzinfo=TZ)
    assert (done.summary["改善措施"], done.summary["完成期限"]) == ("更换粗纱机皮辊并加强条干检测", "2026-12-20")
    check = run.step("effect-check")
    assert check.assignee == QUALITY_LEAD and check.summary["落实情况"] == "已更换全部皮辊"
    assert run.step("effect-check-2").summary["落实情况"] == "调整牵伸工艺"
    checks = [(e.kind, e.actor, e.data) for e in run.events() if e.kind.startswith("effect_checked")]
    assert checks == [("effect_checked:1", QUALITY_LEAD, {"effective": False}),
                      ("effect_checked:2", QUALITY_LEAD, {"effective": True})]


def test_an_improvement_due_date_already_past_gives_a_business_day(office, prepared):
    """C18: a due date the GM office set in the past leaves the owner one business day, not an overdue task."""
    past = CONSOLIDATED.model_copy(update={"improvement_due": "2026-11-20"})
    run = office.resume(at(prepared, "consolidation"), chain(consolidation=past, improvement=PENDING))
    t = run.task("improvement")
    assert t.due_at == add_business_days(t.created_at, 1, office.svc.calendar)


def test_r9_a_higher_band_reapproval_stops_at_the_first_rejection(office):
    """R9: the quantity's amount reaches the third band (three approvers); the second one rejects — the third
    is not asked and sales enters the quantity again."""
    case_no = file(office, demand=QUANTITY_PENDING_TEXT, return_quantity=None)
    approve = Decision(decision="approve")
    run = office.run(grievance, case_no, chain("3000.00", ("sales_manager",), **{
        "quantity": QuantityEntry(quantity=2500), "quantity-review": approve,  # 2,500 × 32 = 80,000
        "reapprove-deputy-sales-manager": approve, "reapprove-deputy-gm": Decision(decision="reject", comment="数量过大"),
        "quantity-2": QuantityEntry(quantity=90), "quantity-review-2": approve}))
    assert [s for s in run.steps if s.startswith(("quantity", "reapprove"))] == [
        "quantity", "quantity-review", "reapprove-deputy-sales-manager", "reapprove-deputy-gm", "quantity-2",
        "quantity-review-2"]
    assert run.step("quantity-2").summary["驳回意见"] == "数量过大" and run.result == "closed"
