"""What the free-sample procedure owes the regulations beyond P1–P3 (procedures §7.6, issue 21): P4 the
slip's three copies and the one-time gate pass checked at the gate."""

import pytest

from flows.samples.request import sample_request
from models.answers import Decision
from models.samples import gate_pass_code
from models.samples_answers import GateCheck, SampleIssue
from tasks.samples.steps import sample_month_totals
from tests.flows.harness import MARKETING, PENDING, PRODUCTION

APPROVE = Decision(decision="approve")
GATE_GUARD, STOREKEEPER = "gu.wei@huajin.example", "tao.ran@huajin.example"
ALL_MATCH = {"product_matches": True, "spec_matches": True, "size_class_matches": True, "quantity_matches": True}


def approved_and_issued(**gate) -> dict:
    return {"leader-approval": APPROVE, "gm-approval": APPROVE, "sample-issue": SampleIssue(taker="王师傅", quantity=6),
            **gate}


@pytest.mark.real_pdf
def test_a_valid_slip_is_issued_as_three_pdf_copies_the_third_the_gate_pass(office):
    case_no = office.sample_request()
    run = office.run(sample_request, case_no, approved_and_issued(**{"gate-check": PENDING}))
    code = gate_pass_code(office.svc.settings.secret_key, case_no)
    copies = {m.attachments[0].filename: m for m in run.mails if m.attachments}
    assert sorted(copies) == [f"{case_no}-1-留存.pdf", f"{case_no}-2-生产部.pdf", f"{case_no}-3-出门证.pdf"]
    assert MARKETING in copies[f"{case_no}-1-留存.pdf"].to and PRODUCTION in copies[f"{case_no}-2-生产部.pdf"].to
    gate_pass = copies[f"{case_no}-3-出门证.pdf"]
    assert MARKETING in gate_pass.to and code in gate_pass.text and "第三联 出门证" in gate_pass.text
    import base64

    for m in copies.values():
        assert base64.b64decode(m.attachments[0].content_b64).startswith(b"%PDF")
    assert code not in copies[f"{case_no}-2-生产部.pdf"].text  # only the pass carries the code
    assert [e.data["copy"] for e in run.events("slip_copy_sent")] == [1, 2, 3]
    assert run.waiting_on == "gate-check" and run.step("gate-check").assignee == GATE_GUARD


def test_an_invalid_code_is_refused_and_the_guard_checks_again_then_the_pass_is_used(office):
    case_no = office.sample_request()
    code = gate_pass_code(office.svc.settings.secret_key, case_no)
    run = office.run(sample_request, case_no, approved_and_issued(**{
        "gate-check": GateCheck(decision="released", pass_code="WRONG123", **ALL_MATCH),
        "gate-check-2": GateCheck(decision="released", pass_code=code.lower(), **ALL_MATCH)}))
    assert run.steps[-2:] == ["gate-check", "gate-check-2"]
    again = run.step("gate-check-2")
    assert (again.role, again.assignee, again.title, again.due.isoformat()) == (
        "gate_guard", GATE_GUARD, "门卫核验出门证", "2026-11-26T02:00:00+00:00")
    assert run.events("sample_gate_done")[0].data == {"gate": "released"}
    assert [e.kind for e in run.events() if e.kind.startswith("gate_")] == ["gate_refused", "gate_released"]
    assert run.case.data["gate_checks"]["gate-check"]["reason"] == "出门证编码无效"
    assert run.case.data["gate_pass"]["by"] == GATE_GUARD and run.case.closed_at is not None


def test_goods_not_matching_the_pass_are_refused_and_listed_at_month_end(office):
    case_no = office.sample_request()
    office.mailer.fail_next = 10**6  # and SMTP down all along: the flow goes on without the slip's mail
    code = gate_pass_code(office.svc.settings.secret_key, case_no)
    run = office.run(sample_request, case_no, approved_and_issued(**{
        "gate-check": GateCheck(decision="released", pass_code=code, **(ALL_MATCH | {"quantity_matches": False}))}))
    assert run.case.data["gate_check"]["result"] == "refused"
    assert "数量" in run.case.data["gate_check"]["reason"] and "gate_pass" not in run.case.data
    assert run.steps[-1] == "gate-check"  # goods not matching are refused, not checked again
    assert run.events("sample_gate_done")[0].data == {"gate": "refused"} and run.case.closed_at is not None
    from datetime import date

    totals = sample_month_totals(office.svc.store, date(2026, 11, 1))
    assert totals["no_gate_check"] == [case_no]




# ---- P5 ----------------------------------------------------------------------------------------
def test_a_sample_from_stock_needs_withdrawal_ledger_and_a_gm_approved_requisition_before_issue_and_booking(office):
    from datetime import date

    from models.answers import Done
    from models.samples_answers import SampleRequisition, StockWithdrawal, WarehouseLedger
    from tests.flows.harness import ACCOUNTING, GM, PRODUCTION, WAREHOUSE

    case_no = office.sample_request(from_stock=True)
    code = gate_pass_code(office.svc.settings.secret_key, case_no)
    run = office.run(sample_request, case_no, {
        "leader-approval": APPROVE, "gm-approval": APPROVE,
        "stock-withdrawal": StockWithdrawal(note="退库单 TK-88"),
        "warehouse-ledger": WarehouseLedger(taker="王师傅", quantity=6, taken_on=date(2026, 11, 25)),
        "requisition": SampleRequisition(quantity=6, purpose="客户打样"),
        "requisition-gm-approval": Decision(decision="reject", comment="用途写清客户"),
        "requisition-2": SampleRequisition(quantity=5, purpose="无锡华美打样"),
        "requisition-gm-approval-2": APPROVE,
        "stock-issue": Done(), "sample-booking": Done(),
        "gate-check": GateCheck(decision="released", pass_code=code, **ALL_MATCH)})
    assert run.result == "issued" and "sample-issue" not in run.steps
    assert run.steps[2:] == ["stock-withdrawal", "warehouse-ledger", "requisition", "requisition-gm-approval",
                             "requisition-2", "requisition-gm-approval-2", "stock-issue", "sample-booking", "gate-check"]
    who = {a.step: a.assignee for a in run.asked}
    assert who["stock-withdrawal"] == PRODUCTION and who["warehouse-ledger"] == STOREKEEPER
    assert who["requisition"] == MARKETING and who["requisition-gm-approval-2"] == GM
    assert who["stock-issue"] == WAREHOUSE and who["sample-booking"] == ACCOUNTING
    # the stock issue and the booking were opened only after the GM approved the requisition
    opened = {t.step_key: t.created_at for t in office.svc.store.tasks_of(case_no)}
    approved = run.task("requisition-gm-approval-2").decided_at
    assert opened["stock-issue"] >= approved and opened["sample-booking"] >= approved
    assert run.case.data["warehouse_ledger"] == {"decided_by": STOREKEEPER, "taker": "王师傅", "quantity": 6,
                                                 "taken_on": "2026-11-25"}
    assert run.case.data["requisition"] == {"quantity": 5, "purpose": "无锡华美打样", "approved_by": GM}  # the approved one
    assert [(e.kind, e.actor) for e in run.events() if e.kind in (
        "stock_withdrawn", "warehouse_ledger_recorded", "requisition_approved", "sample_issued")] == [
        ("stock_withdrawn", PRODUCTION), ("warehouse_ledger_recorded", STOREKEEPER), ("requisition_approved", GM),
        ("sample_issued", STOREKEEPER)]  # the ledger's entry is the issue
    assert run.events("stock_withdrawn")[0].data == {"note": "退库单 TK-88"}
    req = run.step("requisition-2")
    assert (req.role, req.title, req.requested_by, req.summary["仓库台账数量"]) == ("marketing", "填写《领用单》", None, 6)
    approval = run.step("requisition-gm-approval-2")
    assert (approval.role, approval.title, approval.requested_by) == ("general_manager", "总经理审批《领用单》", MARKETING)
    assert (approval.summary["领用数量"], approval.summary["用途"], approval.summary["仓库台账数量"]) == (5, "无锡华美打样", 6)
    assert [(run.step(k).role, run.step(k).title, run.step(k).summary["领用数量"]) for k in ("stock-issue", "sample-booking")] == [
        ("warehouse", "仓库办理出库（《领用单》已批准）", 5), ("accounting", "财务入账：销售费用及销售（《领用单》已批准）", 5)]
    assert (run.step("stock-withdrawal").role, run.step("warehouse-ledger").role) == ("production", "storekeeper")
    totals = sample_month_totals(office.svc.store, date(2026, 11, 1))
    assert totals["quantity"] == 6 and totals["no_gate_check"] == []  # P3's month-end totals include it


def test_p5_the_ledger_comes_pre_filled_with_the_slips_quantity_and_the_requester_fills_the_requisition(office):
    from datetime import date

    from models.samples_answers import SampleRequisition, StockWithdrawal, WarehouseLedger

    other_marketing = "xu.fang@huajin.example"  # marketing's second: the requisition is the requester's, not the role's first
    case_no = office.sample_request(from_stock=True, requested_by=other_marketing, quantity=8)
    script = {"leader-approval": APPROVE, "gm-approval": APPROVE, "stock-withdrawal": StockWithdrawal(note="退库单 TK-89"),
              "warehouse-ledger": PENDING}
    run = office.run(sample_request, case_no, script)
    assert run.step("stock-withdrawal").title == "车间办理退库（非在机生产品种取样）"
    ledger = run.step("warehouse-ledger")
    assert (ledger.assignee, ledger.title) == (STOREKEEPER, "司库员登记仓库台账（取样）")
    assert office.svc.store.get_task(ledger.task_id).answer["quantity"] == 8  # the slip's quantity, to be corrected
    run = office.run(sample_request, case_no, script | {
        "warehouse-ledger": WarehouseLedger(taker="王师傅", quantity=7, taken_on=date(2026, 11, 25)), "requisition": PENDING})
    req = run.step("requisition")
    assert (req.assignee, req.role) == (other_marketing, "marketing")
    assert office.svc.store.get_task(req.task_id).answer["quantity"] == 7  # the ledger's quantity
    assert run.case.state == "approved" and run.case.data["warehouse_ledger"]["quantity"] == 7
    run = office.run(sample_request, case_no, script | {
        "warehouse-ledger": WarehouseLedger(taker="王师傅", quantity=7, taken_on=date(2026, 11, 25)),
        "requisition": SampleRequisition(quantity=7, purpose="客户打样"), "requisition-gm-approval": APPROVE,
        "stock-issue": PENDING, "sample-booking": PENDING})
    assert run.waiting_on in ("stock-issue", "sample-booking") and run.case.state == "approved"  # until issued
