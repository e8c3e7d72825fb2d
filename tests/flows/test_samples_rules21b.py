"""P5 (procedures §7.6): the month-end totals reconcile the samples from stock with the storekeeper's
warehouse ledger; a mismatch is an exception in P3's report to finance."""

from datetime import date

from flows.samples.request import sample_request
from flows.samples.monthly import sample_month_totals_flow
from models.answers import Decision, Done
from models.samples_answers import GateCheck, SampleRequisition, StockWithdrawal, WarehouseLedger
from models.samples import gate_pass_code
from tasks.samples.steps import sample_month_totals, stock_mismatch
from tests.flows.harness import ACCOUNTING
from tests.flows.test_samples_rules21 import ALL_MATCH, APPROVE


def _from_stock(office, ledger: int, requisition: int) -> str:
    case_no = office.sample_request(from_stock=True)
    code = gate_pass_code(office.svc.settings.secret_key, case_no)
    office.run(sample_request, case_no, {
        "leader-approval": APPROVE, "gm-approval": APPROVE, "stock-withdrawal": StockWithdrawal(note="TK-1"),
        "warehouse-ledger": WarehouseLedger(taker="王师傅", quantity=ledger, taken_on=date(2026, 11, 25)),
        "requisition": SampleRequisition(quantity=requisition, purpose="客户打样"),
        "requisition-gm-approval": Decision(decision="approve"), "stock-issue": Done(), "sample-booking": Done(),
        "gate-check": GateCheck(decision="released", pass_code=code, **ALL_MATCH)})
    return case_no


def test_a_stock_sample_whose_requisition_differs_from_the_warehouse_ledger_is_an_exception(office):
    agreed = _from_stock(office, 6, 6)
    differs = _from_stock(office, 6, 4)
    totals = sample_month_totals(office.svc.store, date(2026, 11, 1))
    assert totals["stock_mismatches"] == [{"case_no": differs, "counted": 6, "warehouse_ledger": 6, "requisition": 4}]
    assert agreed not in str(totals["stock_mismatches"])
    from tasks.platform.runtime import use_services

    with use_services(office.svc):
        sample_month_totals_flow("2026-11")
    (report,) = [m for m in office.mailer.sent if ACCOUNTING in m.to and "样品出门汇总" in m.subject]
    assert f"{differs} 汇总 6 台账 6 领用单 4" in report.text


def test_the_rule():
    ok = {"warehouse_ledger": {"quantity": 6}, "requisition": {"quantity": 6}}
    assert stock_mismatch("YP-1", ok, 6) is None
    assert stock_mismatch("YP-1", ok, 5) == {"case_no": "YP-1", "counted": 5, "warehouse_ledger": 6, "requisition": 6}
    assert stock_mismatch("YP-1", {"requisition": {"quantity": 6}}, 6)["warehouse_ledger"] is None  # never recorded
