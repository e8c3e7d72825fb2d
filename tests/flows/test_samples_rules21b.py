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


def test_p3_the_month_totals_are_a_table_in_prefect_one_row_a_product_and_size(office):
    from tasks.platform.runtime import use_services

    _from_stock(office, 6, 6)
    with use_services(office.svc):
        totals = sample_month_totals_flow("2026-11")
    assert office.artifacts.tables["sample-month-totals"] == totals["lines"] and len(totals["lines"]) == 1
    assert office.artifacts.descriptions["sample-month-totals"] == (
        f"2026-11 样品汇总：1 次，{totals['quantity']} 个，{totals['weight_kg']} kg")
    with use_services(office.svc):
        sample_month_totals_flow("2026-10")  # nothing issued that month: the table says so
    assert office.artifacts.tables["sample-month-totals"] == [{"product": "（本月无样品）"}]
    assert office.artifacts.descriptions["sample-month-totals"] == "2026-10 样品汇总：0 次，0 个，0.000 kg"


def test_p3_the_scheduled_run_reports_the_month_before_to_accounting_once(office):
    """The schedule starts it without a month: the month before the services' clock (25 November →
    October); a second run of the month sends nothing again."""
    run = office.run(sample_month_totals_flow, None, {})
    assert run.result["month"] == "2026-10"
    (mail,) = run.mails
    assert mail.to == [ACCOUNTING] and mail.subject.endswith("2026-10 样品出门汇总（计入销售费用）")
    assert "\n以下为上月经审批发放的免费样品，已与车间样品台账核对，请计入销售费用。\n" in mail.text  # the line as written
    assert "月份：2026-10" in mail.text and "已批未发：无" in mail.text
    assert office.run(sample_month_totals_flow, None, {}).mails == []
    november = office.run(sample_month_totals_flow, "2026-11", {})  # another month is its own report
    assert [m.subject.endswith("2026-11 样品出门汇总（计入销售费用）") for m in november.mails] == [True]
