"""客户抱怨处理 (§7 C15–C18, R9), run in-process with scripted answers: the nine-step chain in order,
returns to the previous author, the GM's ruling, the abnormality report, R9's quantity, the copies,
loss and penalty, supplier claims and tracked improvements."""

import io
from typing import Any

import pytest
from pypdf import PdfReader

from flows.grievance.chain import grievance
from models.answers import Decision
from models.complaint.answers import GmInstruction
from models.grievance_answers import (CustomerDecisionReply, CustomerNegotiation, EffectCheck, FormRevision, GmOfficeOpinion,
                                      GmRuling, GrievanceConsolidation, GrievanceRegistration, HandlingProposal, ImprovementDone,
                                      ManagerInstruction, PersonalOpinionReply, Petition, ProductionAnalysis, QualityTrace,
                                      QuantityEntry, RdOpinion, SupplierClaim)
from models.business_days import TZ
from models.grievance import QUANTITY_PENDING_TEXT
from tests.flows.harness import (
    ACCOUNTING,
    DEPUTY_GM,
    DEPUTY_SALES_MANAGER,
    GM,
    PENDING,
    PRODUCTION,
    QUALITY_LEAD,
    SALES_MANAGER,
    SALESPERSON,
    answer,
)

GM_OFFICE = "xie.ning@huajin.example"
OTHER_SALESPERSON = "guo.xin@huajin.example"  # the second holder of the role
RD = "tang.wen@huajin.example"
APPROVE = Decision(decision="approve")

FORM = {"abnormality_no": "YC-2026-031", "order_no": "XS-20261102-07", "item_no": "CY-40S", "product_name": "精梳棉纱 40S",
        "customer": "无锡华美服饰有限公司", "quantity_shipped": {"value": 2000, "unit": "kg"}, "ship_date": "2026-11-02",
        "defective_quantity": {"value": 300, "unit": "kg"}, "description": "条干不匀，布面云斑",
        "demand": "退货 300 kg", "return_quantity": {"value": 300, "unit": "kg"}, "grievance_class": "quality",
        "sample_attached": True, "opinion": "属实，建议退货", "salesperson": SALESPERSON}


def file(office, **over: Any) -> str:
    from models.grievance import GrievanceIn
    from tasks.grievance.steps import file_grievance

    case, _ = file_grievance(office.svc, GrievanceIn.model_validate(FORM | over))
    return case.case_no


def returned(why: str, model=QualityTrace) -> Any:
    return model(decision="returned", comment=why)


CONSOLIDATED = GrievanceConsolidation(
    decision="submitted", result="同意退货 300 kg，赔付运费", cause="our_quality", responsible_units="生产部",
    responsible_persons="韩雪", improvement_measure="更换粗纱机皮辊并加强条干检测", improvement_owner=PRODUCTION,
    improvement_due="2026-12-20", loss_items="returned_goods: 9600\nfreight: 1", fines="生产部: 500")


def chain(amount: str = "9600.00", approvers=("deputy_sales_manager", "deputy_gm"), **over: Any) -> dict:
    """The answers of a grievance that runs the whole chain to its decision and closes."""
    script = {
        "register": GrievanceRegistration(decision="registered"),
        "quality": QualityTrace(decision="submitted", cause_analysis="粗纱条干 CV 超标", responsible_department="生产部"),
        "production": ProductionAnalysis(decision="submitted", cause="皮辊磨损", countermeasure="更换皮辊",
                                         production_unit="细纱车间", machine_shift="12# 甲班", operators="韩雪",
                                         production_date="2026-10-28"),
        "gm-report": GmInstruction(instruction="同意调查结论，按对策执行"),
        "manager": ManagerInstruction(decision="instructed", instruction="同意对策，尽快答复客户"),
        "gm-check": APPROVE,
        "proposal": HandlingProposal(decision="submitted", handling="return", unit_price="32.00", amount=amount,
                                     proposal="退货 300 kg，按 32 元/kg"),
        "opinion": GmOfficeOpinion(decision="submitted", opinion="同意业务处理意见"),
        **{f"instruct-{r.replace('_', '-')}": APPROVE for r in approvers},
        "negotiation": CustomerNegotiation(decision="submitted", result="客户同意退货并接受运费赔付"),
        "sales-review": APPROVE,
        "consolidation": answer(CONSOLIDATED, hours=2),
        **{f"decide-{r.replace('_', '-')}": APPROVE for r in approvers},
        "decision-told": CustomerDecisionReply(decision="accepted", passed_on_via="letter", note="已函告，客户接受"),
        "objection-production": Petition(decision="accepted"),
        "opinion-person-1": PersonalOpinionReply(decision="accepted"),
        "penalty-approval": APPROVE,
        "improvement": ImprovementDone(result="已更换全部皮辊"),
        "effect-check": EffectCheck(decision="effective"),
    }
    return script | over


def at(prepared, step: str):
    """The default grievance (`file`, `chain()`) run up to `step` and waiting there, made once per session
    (tests/flows/conftest.py `prepared`): a scenario goes on from it with `office.resume`."""
    return prepared(f"grievance-chain:{step}", lambda office: office.prepare(grievance, file(office), chain(**{step: PENDING})))


CHAIN = ["register", "quality", "production", "gm-report", "manager", "gm-check", "proposal", "opinion",
         "instruct-deputy-sales-manager", "instruct-deputy-gm", "negotiation", "sales-review", "consolidation",
         "decide-deputy-sales-manager", "decide-deputy-gm"]


def test_the_nine_steps_in_order_by_their_roles_to_the_close(office):
    run = office.run(grievance, file(office), chain())
    assert run.result == "closed" and run.case.state == "closed" and run.case.closed_at is not None
    assert run.steps == [*CHAIN, "decision-told", "objection-production", "opinion-person-1", "penalty-approval",
                         "improvement", "effect-check"]
    who = {s: run.step(s).assignee for s in run.steps}
    assert who["register"] == GM_OFFICE and who["quality"] == QUALITY_LEAD and who["production"] == PRODUCTION
    assert who["manager"] == GM and who["gm-check"] == GM_OFFICE and who["proposal"] == SALESPERSON
    assert who["instruct-deputy-sales-manager"] == DEPUTY_SALES_MANAGER and who["instruct-deputy-gm"] == DEPUTY_GM
    assert who["negotiation"] == SALESPERSON and who["sales-review"] == SALES_MANAGER
    assert who["consolidation"] == GM_OFFICE and who["decide-deputy-gm"] == DEPUTY_GM
    assert who["improvement"] == PRODUCTION and who["effect-check"] == QUALITY_LEAD
    assert run.task("quality").requested_by == SALESPERSON  # the salesperson never decides their own form
    # every step was emailed with its signed link
    assert all(run.mails_to(who[s], "") for s in run.steps)
    assert any("/t/" in m.text for m in run.mails_to(QUALITY_LEAD))
    # C16 step 9 within one day
    t = run.task("decide-deputy-gm")
    assert t.due_at is not None and (t.due_at - t.created_at).days <= 3
    # C18: the loss by the basis, with its version; the fine within the range
    d = run.case.data["decision"]
    assert d["loss_total"] == "10400.00" and d["loss_basis_version"] == "2026-11-example"
    assert d["fines"][0]["amount"] == "500.00" and d["tracked"] is True
    # the form is a live markdown artifact
    form = office.artifacts.latest[f"grievance-form-{run.case_no.lower()}"]
    assert "客户抱怨处理表" in form and "10400.00" in form


@pytest.mark.real_pdf
def test_the_five_copies_go_to_the_five_units_and_are_logged(office):
    run = office.run(grievance, file(office), chain())
    copies = run.events("copy_delivered")
    assert len(copies) == 5
    marks = ["第一联", "第二联", "第三联", "第四联", "第五联"]
    for mark, person in zip(marks, [QUALITY_LEAD, PRODUCTION, SALESPERSON, ACCOUNTING, GM_OFFICE], strict=True):
        (mail,) = [m for m in run.mails_to(person, mark)]
        (pdf,) = mail.attachments
        assert pdf.filename == f"客户抱怨处理表-{run.case_no}-{mark}.pdf" and pdf.mime_type == "application/pdf"
        text = "".join(PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().replace("\x00", "").split())
        assert f"{mark}（" in text and "客户抱怨处理表" in text and "10400.00" in text  # the decision is on it
    assert not [m for m in run.mails if any(not a.endswith("@huajin.example") for a in m.to)]


def test_rd_gives_its_opinion_only_when_asked(office):
    run = office.run(grievance, file(office), chain(**{
        "quality": QualityTrace(decision="submitted", cause_analysis="原料异常", responsible_department="研发部",
                                ask_rd=True),
        "rd": RdOpinion(decision="submitted", opinion="原料配棉需调整")}))
    assert run.steps[4:7] == ["manager", "rd", "gm-check"] and run.step("rd").assignee == RD
    assert "rd" not in office.run(grievance, file(office), chain()).steps


def test_rd_gives_its_opinion_when_the_manager_asks_for_it(office, prepared):
    """C16 step 5: step 4 (the manager) may ask for R&D's opinion as well as step 2."""
    manager = at(prepared, "manager")
    run = office.resume(manager, chain(**{
        "manager": ManagerInstruction(decision="instructed", instruction="请研发部评估配棉", ask_rd=True),
        "rd": RdOpinion(decision="submitted", opinion="原料配棉需调整")}))
    assert manager.steps == ["register", "quality", "production", "gm-report", "manager"]
    assert run.steps[:3] == ["manager", "rd", "gm-check"] and run.step("rd").assignee == RD
    assert run.step("gm-check").summary["研发部意见"] == "原料配棉需调整" and run.result == "closed"


@pytest.mark.parametrize("amount,approvers", [("3000.00", ("sales_manager",)),
                                              ("80000.00", ("deputy_sales_manager", "deputy_gm", "general_manager"))])
def test_the_approver_follows_the_amount(office, prepared, amount, approvers):
    run = office.resume(at(prepared, "proposal"), chain(amount, approvers))
    roles = [s for s in run.steps if s.startswith("decide-")]
    assert roles == [f"decide-{r.replace('_', '-')}" for r in approvers] and run.result == "closed"


def test_a_return_goes_back_to_the_previous_author_with_the_comment(office):
    run = office.run(grievance, file(office), chain(**{
        "production": returned("原因追查不充分，请复查粗纱工序", ProductionAnalysis),
        "quality-2": QualityTrace(decision="submitted", cause_analysis="粗纱工序皮辊磨损", responsible_department="生产部"),
        "production-2": chain()["production"]}))
    assert run.steps[:5] == ["register", "quality", "production", "quality-2", "production-2"]
    assert run.step("quality-2").assignee == QUALITY_LEAD
    assert "原因追查不充分" in run.step("quality-2").summary["被退回"]
    assert "returned:production" in run.event_kinds and run.result == "closed"


def test_an_approver_rejection_returns_to_the_gm_office_opinion(office, prepared):
    run = office.resume(at(prepared, "instruct-deputy-sales-manager"), chain(**{
        "instruct-deputy-sales-manager": Decision(decision="reject", comment="综合意见未写运费"),
        "opinion-2": GmOfficeOpinion(decision="submitted", opinion="同意退货并赔付运费"),
        "instruct-deputy-sales-manager-2": APPROVE}))
    i = run.steps.index("instruct-deputy-sales-manager")
    assert run.steps[i + 1:i + 3] == ["opinion-2", "instruct-deputy-sales-manager-2"]
    assert run.step("opinion-2").assignee == GM_OFFICE


def test_the_gm_office_returns_the_form_and_the_salesperson_resubmits_or_withdraws(office):
    run = office.run(grievance, file(office), chain(**{
        "register": returned("缺订单附件", GrievanceRegistration),
        "form-revision-1": FormRevision(decision="resubmitted", opinion="已补订单附件"),
        "register-2": GrievanceRegistration(decision="registered")}))
    assert run.steps[:3] == ["register", "form-revision-1", "register-2"] and run.result == "closed"
    assert run.step("form-revision-1").assignee == SALESPERSON

    run = office.run(grievance, file(office), {"register": returned("不属实", GrievanceRegistration),
                                               "form-revision-1": FormRevision(decision="withdrawn")})
    assert run.result == "withdrawn" and run.case.state == "withdrawn" and run.case.closed_at is not None


def test_a_third_return_goes_to_the_gm_who_upholds_or_withdraws(office):
    back = returned("不同意", ProductionAnalysis)
    again = chain()["quality"]
    script = chain(**{"production": back, "quality-2": again, "production-2": back, "quality-3": again,
                      "production-3": back, "gm-ruling-production-3": GmRuling(decision="upheld", comment="按质量判定执行"),
                      "production-4": chain()["production"]})
    run = office.run(grievance, file(office), script)
    assert "gm-ruling-production-3" in run.steps and run.step("gm-ruling-production-3").assignee == GM
    assert run.step("production-4").summary["总经理裁定"] == "按质量判定执行" and run.result == "closed"

    script |= {"gm-ruling-production-3": GmRuling(decision="withdrawn")}
    run = office.run(grievance, file(office), script)
    assert run.result == "withdrawn" and run.steps[-1] == "gm-ruling-production-3"


def test_the_second_salespersons_form_comes_back_to_them_at_every_sales_step(office):
    """C15/C16/R9: the form's own salesperson (not the first holder of the role) revises a returned form,
    drafts the proposal, negotiates, enters the pending quantity and tells the customer."""
    case_no = file(office, salesperson=OTHER_SALESPERSON, demand=QUANTITY_PENDING_TEXT, return_quantity=None)
    run = office.run(grievance, case_no, chain("3000.00", ("sales_manager",), **{
        "register": returned("缺订单附件", GrievanceRegistration),
        "form-revision-1": FormRevision(decision="resubmitted", opinion="已补订单附件"),
        "register-2": GrievanceRegistration(decision="registered"), "quantity": PENDING}))
    assert run.waiting_on == "quantity"
    for step in ("form-revision-1", "proposal", "negotiation", "quantity"):
        assert run.step(step).assignee == OTHER_SALESPERSON, step
    assert run.task("quality").requested_by == OTHER_SALESPERSON  # never deciding on their own form


def test_no_loss_gets_an_abnormality_report_and_no_chain(office):
    run = office.run(grievance, file(office), {
        "register": GrievanceRegistration(decision="abnormality_only", comment="客户自行挑拣，无损失")})
    assert run.result == "abnormality_report" and run.steps == ["register"]
    assert run.mails_to(QUALITY_LEAD, "异常处理单") and run.mails_to(PRODUCTION, "异常处理单")
    assert "abnormality_reported" in run.event_kinds


def test_quantity_pending_waits_then_the_supervisor_reviews_and_a_higher_band_reapproves(office):
    case_no = file(office, demand=QUANTITY_PENDING_TEXT, return_quantity=None)
    script = chain("3000.00", ("sales_manager",), quantity=PENDING)
    run = office.run(grievance, case_no, script)
    assert run.waiting_on == "quantity" and run.case.state == "quantity_pending"
    assert run.step("quantity").assignee == SALESPERSON
    assert not run.events("copy_delivered")  # copy 4 waits for the approved quantity

    office.later(days=8)
    counts = office.watchdog()
    assert counts["quantity_reminders"] == 1 and office.watchdog()["quantity_reminders"] == 0
    run = office.run(grievance, case_no, script | {
        "quantity": QuantityEntry(quantity=400, unit="kg"),  # 400 × 32 = 12,800: beyond the sales manager
        "quantity-review": APPROVE, "reapprove-deputy-sales-manager": APPROVE, "reapprove-deputy-gm": APPROVE})
    assert run.result == "closed"
    assert [s for s in run.steps if s.startswith(("quantity", "reapprove"))] == [
        "quantity", "quantity-review", "reapprove-deputy-sales-manager", "reapprove-deputy-gm"]
    assert run.case.data["final_quantity"] == {"value": 400, "unit": "kg", "amount": "12800.00"}
    assert len(run.events("copy_delivered")) == 5


def test_a_higher_approvers_rejection_asks_the_quantity_again_and_the_reminders_stop_once_it_is_settled(office):
    """R9: sales sees the decision (no rejection note the first time); the sales supervisor and the higher
    band see the quantity and its amount; the higher approver's rejection (without a comment) stops the
    round and asks sales again; once settled the case is decided, no longer pending, and not reminded."""
    case_no = file(office, demand=QUANTITY_PENDING_TEXT, return_quantity=None)
    script = chain("3000.00", ("sales_manager",), **{
        "quantity": QuantityEntry(quantity=400, unit="kg"), "quantity-review": APPROVE,
        "reapprove-deputy-sales-manager": Decision(decision="reject"),
        "quantity-2": QuantityEntry(quantity=90, unit="kg"), "quantity-review-2": APPROVE})
    run = office.run(grievance, case_no, script | {"decision-told": PENDING})
    assert [s for s in run.steps if s.startswith(("quantity", "reapprove"))] == [
        "quantity", "quantity-review", "reapprove-deputy-sales-manager", "quantity-2", "quantity-review-2"]
    assert run.task("quantity").due_at is None  # no deadline: the customer is still processing the goods
    first = run.step("quantity").summary
    assert "驳回意见" not in first and first["处理方式 / 单价 / 金额（元）"] == "return / 32.00 / 3000.00"
    for step in ("quantity-review", "reapprove-deputy-sales-manager"):
        assert (run.step(step).summary["退换数量"], run.step(step).summary["金额（元）"]) == ("400 kg", "12800.00")
    assert run.step("quantity-2").summary["驳回意见"] == "（未填写）"
    assert run.step("quantity-review-2").summary["退换数量"] == "90 kg"
    assert run.waiting_on == "decision-told" and run.case.state == "decided"
    assert run.case.data["quantity_pending"] is False
    (settled,) = run.events("quantity_settled")
    assert settled.data == {"value": 90, "unit": "kg", "amount": "2880.00", "state": ["quantity_pending", "decided"]}
    assert "quantity_pending" in run.event_kinds
    office.later(days=8)
    assert office.watchdog()["quantity_reminders"] == 0
    assert office.run(grievance, case_no, script).result == "closed"


def test_quantity_within_the_band_needs_no_reapproval_and_a_rejection_asks_again(office):
    case_no = file(office, demand=QUANTITY_PENDING_TEXT, return_quantity=None)
    run = office.run(grievance, case_no, chain("3000.00", ("sales_manager",), **{
        "quantity": QuantityEntry(quantity=100), "quantity-review": Decision(decision="reject", comment="数量有误"),
        "quantity-2": QuantityEntry(quantity=90), "quantity-review-2": APPROVE}))
    assert run.result == "closed" and not [s for s in run.steps if s.startswith("reapprove")]
    assert run.step("quantity-2").summary["驳回意见"] == "数量有误"
    assert run.case.data["final_quantity"]["amount"] == "2880.00"


def test_a_fine_outside_the_basis_goes_back_to_the_gm_office(office, prepared):
    over = CONSOLIDATED.model_copy(update={"fines": "生产部: 1200"})  # the example basis: ≤ 1,000 for quality
    run = office.resume(at(prepared, "consolidation"), chain(**{
        "consolidation": over, "consolidation-bases-2": CONSOLIDATED}))
    assert "consolidation-bases-2" in run.steps and "超出" in run.step("consolidation-bases-2").summary["不符之处"]
    assert run.case.data["decision"]["fines"][0]["amount"] == "500.00"


def test_the_supervisor_rejects_loss_and_penalty_and_the_gm_office_revises(office, prepared):
    revised = CONSOLIDATED.model_copy(update={"fines": "生产部: 300"})
    run = office.resume(at(prepared, "penalty-approval"), chain(**{
        "penalty-approval": Decision(decision="reject", comment="罚扣过重"), "penalty-revision": revised,
        "penalty-approval-2": APPROVE}))
    assert run.step("penalty-revision").assignee == GM_OFFICE
    assert run.case.data["decision"]["fines"][0]["amount"] == "300.00" and run.result == "closed"


@pytest.mark.parametrize("loss_items,fines,loss,shown", [
    ("freight: 2", "", "1600.00", "无"),  # a loss without a fine
    ("", "生产部: 500\n韩雪: 300", "0.00", "生产部 500.00 元；韩雪 300.00 元"),  # fines without a loss
    ("", "", "0.00", None),  # neither: nothing to approve
])
def test_the_supervisor_approves_loss_and_penalty_whenever_there_is_either(office, prepared, loss_items, fines,
                                                                           loss, shown):
    """C18: the supervisor in charge approves loss and penalty before they apply — a loss alone or a fine
    alone is enough; a decision with neither has nothing to approve."""
    c = CONSOLIDATED.model_copy(update={"loss_items": loss_items, "fines": fines})
    run = office.resume(at(prepared, "consolidation"), chain(consolidation=c))
    assert run.result == "closed" and run.case.data["decision"]["loss_total"] == loss
    if shown is None:
        assert "penalty-approval" not in run.steps and not run.events("loss_penalty_approved")
        return
    asked = run.step("penalty-approval")
    assert asked.assignee == GM and (asked.summary["客诉损失金额（元）"], asked.summary["罚扣"]) == (loss, shown)
    (approved,) = run.events("loss_penalty_approved")
    assert approved.data == {"loss_total": loss, "fines": run.case.data["decision"]["fines"]}


def test_a_rejected_loss_and_penalty_goes_back_prefilled_with_the_supervisors_comment(office, prepared):
    """C18: the GM office revises the breakdown the supervisor rejected, its consolidation pre-filled and the
    supervisor's comment (or that none was written) shown."""
    run = office.resume(at(prepared, "penalty-approval"), chain(**{
        "penalty-approval": Decision(decision="reject", comment="罚扣过重"), "penalty-revision": PENDING}))
    t = run.task("penalty-revision")
    assert t.answer == {k: getattr(CONSOLIDATED, k) for k in (
        "result", "cause", "responsible_units", "responsible_persons", "improvement_measure", "improvement_owner",
        "improvement_due")}
    shown = run.step("penalty-revision").summary
    assert (shown["主管意见"], shown["罚扣"], shown["客诉损失金额（元）"]) == ("罚扣过重", "生产部 500.00 元", "10400.00")

    run = office.resume(at(prepared, "penalty-approval"), chain(**{
        "penalty-approval": Decision(decision="reject"), "penalty-revision": PENDING}))
    assert run.step("penalty-revision").summary["主管意见"] == "（未填写）"


def test_supplier_liability_gets_a_supplier_claim_and_no_tracking(office, prepared):
    supplier = CONSOLIDATED.model_copy(update={"cause": "supplier", "fines": "", "improvement_measure": ""})
    run = office.resume(at(prepared, "consolidation"), chain(**{
        "consolidation": supplier,
        "supplier-claim": SupplierClaim(supplier="某棉花供应商", claim="原棉含杂超标", recovered="5000.00")}))
    assert "supplier-claim" in run.steps and "improvement" not in run.steps
    assert run.case.data["supplier_claim"]["recovered"] == "5000.00"


def test_an_ineffective_improvement_is_carried_out_again(office, prepared):
    check = at(prepared, "effect-check")
    run = office.resume(check, chain(**{
        "effect-check": EffectCheck(decision="ineffective", comment="仍有云斑"),
        "improvement-2": ImprovementDone(result="调整牵伸工艺"), "effect-check-2": EffectCheck(decision="effective")}))
    assert check.steps[-2:] == ["improvement", "effect-check"]
    assert run.steps == ["effect-check", "improvement-2", "effect-check-2"] and run.result == "closed"


def test_overdue_close_deadline_sends_an_urge_notice(office):
    case_no = file(office)
    office.run(grievance, case_no, chain(quality=PENDING))
    office.later(days=16)
    counts = office.watchdog()
    assert counts["grievance_urge_notices"] == 1
    assert [m for m in office.mailer.sent if "催办单" in m.subject and GM_OFFICE in m.to]


def test_a_product_complaint_naming_an_order_is_routed_to_a_grievance(office):
    from flows.complaint.handling import complaint
    from models.complaint.answers import ComplaintIntake
    from models.grievance_answers import GrievanceForm

    case_no = office.complaint(category="产品质量", order_no="XS-20261102-07",
                               products=[{"name": "精梳棉纱 40S", "code": "CY-40S"}])
    assert office.svc.store.get_case(case_no).data["route"] == "grievance"
    run = office.run(complaint, case_no, {
        "intake": ComplaintIntake(decision="stands", level=2),
        "grievance-form": GrievanceForm(abnormality_no="YC-1", order_no="XS-20261102-07", item_no="CY-40S",
                                        customer="张女士", quantity_shipped=2000, ship_date="2026-11-02",
                                        defective_quantity=300, description="条干不匀", demand="客户加工中未确定",
                                        grievance_class="quality", opinion="属实")})
    assert run.result.startswith("routed:KS-2026-") and run.case.state == "routed"
    assert run.step("grievance-form").assignee == SALESPERSON
    grievance_no = run.result.split(":", 1)[1]
    g = office.svc.store.get_case(grievance_no)
    assert g.parent_case_no == case_no and g.data["quantity_pending"] is True
    assert g.data["form"]["complaint_case_no"] == case_no
    assert grievance_no in office.flows.calls  # its run started at once
    # a product complaint without an order, or another category, stays a complaint
    assert office.svc.store.get_case(office.complaint(category="产品质量")).data["route"] == "complaint"


def test_the_routed_form_comes_prefilled_from_the_complaint_and_a_foreign_customer_keeps_20_days(office):
    """C15: the salesperson sees the complaint and finds its order, product code, customer, description and
    demand already on the 《客户抱怨处理表》 (no product named: no item no.); a foreign customer's grievance
    closes in 20 days, not 15 (C8)."""
    from datetime import datetime

    from flows.complaint.handling import complaint
    from models.complaint.answers import ComplaintIntake
    from models.complaint.handling import LEVEL_LABELS
    from models.grievance_answers import GrievanceForm

    intake = {"intake": ComplaintIntake(decision="stands", level=2)}
    case_no = office.complaint(category="产品质量", order_no="XS-20261102-07", demand="退货 300 kg",
                               products=[{"name": "精梳棉纱 40S", "code": "CY-40S"}, {"name": "精梳棉纱 60S", "code": "CY-60S"}])
    run = office.run(complaint, case_no, intake | {"grievance-form": PENDING})
    assert run.waiting_on == "grievance-form"
    assert run.task("grievance-form").answer == {"order_no": "XS-20261102-07", "item_no": "CY-40S", "customer": "张女士",
                                                 "description": "报修后三天无人上门", "demand": "退货 300 kg"}
    shown = run.step("grievance-form").summary
    assert shown["投诉编号"] == case_no and shown["产品"] == "精梳棉纱 40S（CY-40S）、精梳棉纱 60S（CY-60S）"
    assert shown["级别"] == LEVEL_LABELS[2]  # as accepted (level 2), not as filed (level 1)

    bare = office.complaint(category="产品质量", order_no="XS-20261102-08", products=[])
    run = office.run(complaint, bare, intake | {"grievance-form": PENDING})
    assert run.task("grievance-form").answer["item_no"] == ""

    form = dict(abnormality_no="YC-1", order_no="XS-20261102-07", item_no="CY-40S", customer="Fabric GmbH",
                quantity_shipped=2000, ship_date="2026-11-02", defective_quantity=300, description="uneven yarn",
                demand="退货 300 kg", return_quantity=300, grievance_class="quality", opinion="属实")
    closes = {}
    for foreign in (True, False):
        case_no = office.complaint(category="产品质量", order_no="XS-20261102-07", foreign=foreign)
        run = office.run(complaint, case_no, intake | {"grievance-form": GrievanceForm(**form)})
        g = office.svc.store.get_case(run.result.split(":", 1)[1])
        assert g.data["form"]["foreign"] is foreign
        assert run.case.state == "routed" and "complaint_routed_to_grievance" in run.event_kinds
        closes[foreign] = datetime.fromisoformat(g.data["deadlines"]["close"])
    assert (closes[True] - closes[False]).days == 5  # 20 days against 15


def test_the_monthly_statistics_gain_the_product_complaint_figures(office, tmp_path):
    from tasks.reports.steps import build_report

    run = office.run(grievance, file(office), chain())
    office.run(grievance, file(office), {"register": GrievanceRegistration(decision="abnormality_only", comment="无损失")})
    assert run.result == "closed"
    built = build_report(office.svc.store.engine, "monthly", "2026-11", tmp_path / "r")
    import json

    g = json.loads(built.json_path.read_text(encoding="utf-8"))["grievances"]
    assert g["total"] == 2 and g["our_fault"] == 1 and g["loss_total"] == "10400.00"
    assert (g["fines"], g["fines_amount"]) == (1, "500.00")
    assert g["shares"] == [{"unit": "生产部", "cases": 1, "share_total": "100.00", "confirmed": 0, "unconfirmed": 1,
                            "status": "未确认"}]
    from openpyxl import load_workbook

    sheets = load_workbook(built.xlsx_path).sheetnames
    assert "客户抱怨-责任比率" in sheets and "客户抱怨-责任原因" in sheets


PRODUCTION_HEAD_ = "shen.bo@huajin.example"


def closed_in_november(office, **over) -> str:
    case_no = file(office)
    assert office.run(grievance, case_no, chain(**over)).result == "closed"
    return case_no


def test_s5_s6_on_the_first_business_day_shares_confirmed_and_a_notice_approved(office):
    from flows.grievance.month import grievance_month
    from models.grievance_answers import ShareConfirmation

    negligence = CONSOLIDATED.model_copy(update={"cause": "human_negligence", "fines": "韩雪: 600"})
    case_no = closed_in_november(office, consolidation=negligence)
    office.later(days=6)  # Tuesday 1 December 2026, the first business day
    run = office.run(grievance_month, None, {"notice-production": APPROVE,
                                             "shares-production": ShareConfirmation(decision="confirmed",
                                                                                     improvement_state="done")})
    assert run.result["month"] == "2026-11" and run.result["confirmed"] == 1 and run.result["notices"] == 1
    assert run.step("notice-production").assignee == GM and run.step("shares-production").assignee == PRODUCTION_HEAD_
    t = office.svc.store.find_task(run.result["case_no"], "shares-production")
    assert run.result["case_no"].startswith("KY-2026-")
    assert t.due_at.astimezone(TZ).date().isoformat() == "2026-12-08"  # 2 business days before the 10th
    assert f"{case_no} 无锡华美服饰有限公司：100.00%" in t.summary["案件与草拟比率"]
    # S6 (1) the sanction published; (2) the approved notice in three copies
    assert [m for m in run.mails if "人事公布单" in m.subject and PRODUCTION_HEAD_ in m.to]
    (copy,) = [m for m in run.mails if m.subject.startswith("【通知】") and "奖罚通知单" in m.subject]
    assert sorted(copy.to) == sorted([GM_OFFICE, ACCOUNTING, PRODUCTION_HEAD_]) and "600" in copy.text
    # S5: the confirmed share is stored, and S1 counts it as confirmed
    assert office.svc.store.get_case(case_no).data["shares"] == {"生产部": {"share": "100.00", "confirmed": True}}


def test_s5_a_proposal_is_settled_by_the_gm_office_and_a_rejected_notice_is_revised(office):
    from flows.grievance.month import grievance_month
    from models.answers import Done
    from models.grievance_answers import ShareConfirmation, ShareSettlement

    case_no = closed_in_november(office)
    office.later(days=6)
    run = office.run(grievance_month, None, {
        "notice-production": Decision(decision="reject", comment="金额核对有误"),
        "notice-production-revision-1": Done(comment="已核对"), "notice-production-2": APPROVE,
        "shares-production": ShareConfirmation(decision="proposed", proposal=f"{case_no}: 60", comment="原料也有责任"),
        "settle-production": PENDING})
    assert run.waiting_on == "settle-production" and run.step("settle-production").assignee == GM_OFFICE
    assert "原料也有责任" in run.step("settle-production").summary["理由"]
    assert office.svc.store.get_case(case_no).data.get("shares") is None  # still the draft: 未确认
    run = office.run(grievance_month, None, {
        "notice-production": Decision(decision="reject", comment="金额核对有误"),
        "notice-production-revision-1": Done(comment="已核对"), "notice-production-2": APPROVE,
        "shares-production": ShareConfirmation(decision="proposed", proposal=f"{case_no}: 60", comment="原料也有责任"),
        "settle-production": ShareSettlement(decision="settled", shares=f"{case_no}: 100", comment="协调后维持")})
    assert run.result["proposed"] == 1 and run.result["confirmed"] == 0 and run.result["petitions"] == 0
    assert run.step("notice-production-revision-1").assignee == GM_OFFICE
    assert office.svc.store.get_case(case_no).data["shares"] == {"生产部": {"share": "100.00", "confirmed": True}}


def test_the_monthly_run_does_nothing_on_another_day(office):
    from flows.grievance.month import grievance_month

    office.later(days=7)  # Wednesday 2 December
    run = office.run(grievance_month, None, {})
    assert "skipped" in run.result and run.steps == []
