"""客户抱怨处理 (§7 C15–C18, R9), in-process with scripted answers: what the flow itself records between the
chain and the close — the 《异常处理单》 of a grievance without loss, the withdrawn form's notice, the decision
recorded before the customer is told, the refiled case, the supplier claim, the improvement tracked, the close —
and the run's tags."""

from flows.grievance.chain import grievance
from models.business_days import add_business_days
from models.grievance import NO_PROMISE, QUANTITY_PENDING_TEXT
from models.grievance_answers import (CustomerDecisionReply, FormRevision, GrievanceForm, GrievanceRegistration,
                                      SupplierClaim)
from tests.flows.harness import PENDING, PRODUCTION, QUALITY_LEAD, SALESPERSON
from tests.flows.test_grievance import CONSOLIDATED, GM_OFFICE, chain, file


def _tags(run) -> set[str]:
    """The tags of this run's flow run, as the Prefect server has them (its name names the case)."""
    flow_run = run.flow_run()
    assert flow_run.name == f"grievance-{run.case_no}"
    return set(flow_run.tags)


def test_a_grievance_without_loss_closes_with_an_abnormality_report_to_quality_production_and_sales(office):
    """C15: the GM office finds no loss — quality, production and the salesperson get the 《异常处理单》 with the
    GM office's comment (none: 请相关单位改善) and the form; the case closes as an abnormality report."""
    run = office.run(grievance, file(office), {
        "register": GrievanceRegistration(decision="abnormality_only", comment="客户自行挑拣，无损失")})
    assert run.result == "abnormality_report" and run.case.state == "abnormality_report"
    assert run.case.closed_at is not None
    (mail,) = [m for m in run.mails if m.subject == f"【通知】{run.case_no} 《异常处理单》"]
    assert mail.to == [QUALITY_LEAD, PRODUCTION, SALESPERSON]
    assert f"客户抱怨 {run.case_no} 未造成损失，按《异常处理单》处理：客户自行挑拣，无损失" in mail.text
    assert "订单编号：XS-20261102-07" in mail.text and NO_PROMISE in mail.text  # the form as it stands, and nothing promised
    (reported,) = run.events("abnormality_report")
    assert reported.data == {"to": [QUALITY_LEAD, PRODUCTION, SALESPERSON], "key": "abnormality-report"}
    (closed,) = run.events("abnormality_reported")
    assert closed.data == {"state": ["filed", "abnormality_report"]}

    run = office.run(grievance, file(office), {"register": GrievanceRegistration(decision="abnormality_only")})
    (mail,) = [m for m in run.mails if m.subject == f"【通知】{run.case_no} 《异常处理单》"]
    assert f"客户抱怨 {run.case_no} 未造成损失，按《异常处理单》处理：请相关单位改善" in mail.text


def test_a_withdrawn_form_closes_and_the_salesperson_and_the_gm_office_are_told(office):
    """C16 step 1: the salesperson withdraws the returned form — the case closes as withdrawn and the salesperson
    and the GM office get the notice with the form."""
    run = office.run(grievance, file(office), {"register": GrievanceRegistration(decision="returned", comment="不属实"),
                                               "form-revision-1": FormRevision(decision="withdrawn")})
    assert run.result == "withdrawn" and run.case.state == "withdrawn" and run.case.closed_at is not None
    (mail,) = [m for m in run.mails if m.subject == f"【通知】{run.case_no} 客户抱怨案件已撤销"]
    assert mail.to == [SALESPERSON, GM_OFFICE]
    assert f"客户抱怨 {run.case_no} 已撤销。" in mail.text and "订单编号：XS-20261102-07" in mail.text and NO_PROMISE in mail.text
    (withdrawn,) = run.events("grievance_withdrawn")
    assert withdrawn.data == {"state": ["returned", "withdrawn"]}


def test_the_decision_is_recorded_before_the_customer_is_told_then_tracked_and_closed_and_the_run_tagged(office):
    """C16 step 9 decided: the case is `decided` with its amount (no quantity pending) before sales tells the
    customer; C18 列入追踪: the case is `tracking` while the owner carries the measure out; then it closes. The
    run is tagged as a level-2 product complaint."""
    case_no = file(office)
    run = office.run(grievance, case_no, chain(**{"decision-told": PENDING}))
    assert run.waiting_on == "decision-told" and run.case.state == "decided"
    assert run.case.data["decision"]["loss_total"] == "10400.00"
    (decided,) = run.events("grievance_decided")
    assert decided.data == {"amount": "9600.00", "quantity_pending": False, "state": ["deciding", "decided"]}
    assert {"level:2", "kind:product", "category:产品质量"} <= _tags(run)

    run = office.run(grievance, case_no, chain(improvement=PENDING))
    assert run.waiting_on == "improvement" and run.case.state == "tracking"
    (tracked,) = run.events("improvement_tracked")
    assert tracked.data == {"state": ["decided", "tracking"]}

    run = office.run(grievance, case_no, chain())
    assert run.result == "closed" and run.case.state == "closed"
    (closed,) = run.events("grievance_closed")
    assert closed.data == {"state": ["tracking", "closed"]}


def test_a_pending_quantity_is_recorded_with_the_decision(office):
    """R9: the decision's event says the quantity is still pending."""
    run = office.run(grievance, file(office, demand=QUANTITY_PENDING_TEXT, return_quantity=None),
                     chain("3000.00", ("sales_manager",), quantity=PENDING))
    assert run.waiting_on == "quantity"
    (decided,) = run.events("grievance_decided")
    assert decided.data == {"amount": "3000.00", "quantity_pending": True, "state": ["deciding", "decided"]}


def test_the_rejected_decisions_case_records_the_new_case_it_was_refiled_as(office):
    """C17: the customer rejects the decision — the case closes naming the new, linked case."""
    form = GrievanceForm(abnormality_no="YC-2026-031-2", order_no="XS-20261102-07", item_no="CY-40S",
                         customer="无锡华美服饰有限公司", quantity_shipped=2000, ship_date="2026-11-02",
                         defective_quantity=300, description="客户不接受", demand="全额退货 2000 kg",
                         return_quantity=2000, grievance_class="quality", opinion="客户坚持全额退货")
    run = office.run(grievance, file(office), chain(**{
        "decision-told": CustomerDecisionReply(decision="rejected", passed_on_via="phone", note="客户要求全额退货"),
        "objection-production": PENDING, "new-form": form}))
    assert run.result == "customer_rejected"
    new_no = run.case.data["refiled_as"]
    (refiled,) = run.events("grievance_refiled")
    assert refiled.data == {"case_no": new_no, "state": ["decided", "customer_rejected"]}


def test_a_supplier_claim_goes_to_the_gm_office_within_ten_business_days_and_is_recorded_in_full(office):
    """C18: the supplier's liability — the GM office records the claim (supplier, what is claimed, the amount
    recovered) within 10 business days, seeing the decided case (nothing promised any more)."""
    supplier = CONSOLIDATED.model_copy(update={"cause": "supplier", "fines": "", "improvement_measure": ""})
    case_no = file(office)
    script = chain(**{"consolidation": supplier, "supplier-claim": PENDING})
    run = office.run(grievance, case_no, script)
    assert run.waiting_on == "supplier-claim"
    t = run.task("supplier-claim")
    assert (t.assignee, t.title, t.answer_model) == (GM_OFFICE, "供应商索赔（索赔内容与追回金额）", "SupplierClaim")
    assert t.due_at == add_business_days(t.created_at, 10, office.svc.calendar)
    assert t.summary == run.step("decision-told").summary and "承诺限制" not in t.summary
    assert t.summary["业务处理意见"] == "退货 300 kg，按 32 元/kg"

    run = office.run(grievance, case_no, script | {
        "supplier-claim": SupplierClaim(supplier="某棉花供应商", claim="原棉含杂超标", recovered="5000.00")})
    assert run.result == "closed" and "improvement" not in run.steps
    assert run.case.data["supplier_claim"] == {"supplier": "某棉花供应商", "claim": "原棉含杂超标", "recovered": "5000.00"}
    (recorded,) = run.events("supplier_claim_recorded")
    assert (recorded.actor, recorded.data) == (GM_OFFICE, {})
    (closed,) = run.events("grievance_closed")
    assert closed.data == {"state": ["decided", "closed"]}
