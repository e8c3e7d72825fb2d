"""P3: the month's samples are totalled from the workshop ledger (a grouped query), per month."""

from datetime import date, datetime
from decimal import Decimal

from models.business_days import TZ
from models.samples import sample_weight_kg
from models.tables import SampleLedgerEntry
from tasks.samples.steps import sample_month_totals
from tests.dbs import fresh_store


def entry(no, when, product, size, qty):
    return SampleLedgerEntry(case_no=no, issued_at=when, product=product, spec="s", size_class=size,
                             quantity=qty, weight_kg=sample_weight_kg(size, qty), taker="陈", recorded_by="x")


def test_month_totals_by_product_and_size_class():
    store = fresh_store()
    with store.session() as s:
        s.add_all([
            entry("YP-1", datetime(2026, 10, 1, 0, 30, tzinfo=TZ), "32S", "half", 2),   # 1 Oct local time
            entry("YP-2", datetime(2026, 10, 15, 9, 0, tzinfo=TZ), "32S", "half", 1),
            entry("YP-3", datetime(2026, 10, 31, 23, 59, tzinfo=TZ), "40S", "whole", 1),
            entry("YP-4", datetime(2026, 11, 1, 0, 1, tzinfo=TZ), "40S", "whole", 5),    # November
            entry("YP-5", datetime(2026, 9, 30, 23, 59, tzinfo=TZ), "40S", "small", 5),  # September
        ])
        s.commit()
    t = sample_month_totals(store, date(2026, 10, 1))
    assert t["month"] == "2026-10" and t["issues"] == 3 and t["quantity"] == 4
    assert Decimal(t["weight_kg"]) == Decimal("0.8") * 3 + Decimal("1.9")
    assert [(x["product"], x["size_class"], x["quantity"]) for x in t["lines"]] == [("32S", "half", 3),
                                                                                  ("40S", "whole", 1)]


def test_reconciliation_with_the_approved_slips():
    store = fresh_store()
    oct_ = datetime(2026, 10, 10, 9, 0, tzinfo=TZ)
    for qty, state in ((2, "issued"), (3, "issued"), (1, "approved")):
        store.create_case(procedure="sample_request", prefix="YP", year=2026, state=state, title="t",
                          data={"quantity": qty}, now=oct_)
    with store.session() as s:
        s.add_all([entry("YP-2026-000001", oct_, "32S", "half", 2), entry("YP-2026-000002", oct_, "32S", "half", 2)])
        s.commit()
    t = sample_month_totals(store, date(2026, 10, 1))
    assert t["differences"] == [{"case_no": "YP-2026-000002", "approved": 3, "issued": 2}]
    assert t["unissued"] == ["YP-2026-000003"]


def test_p4_gate_pass_code_is_stable_secret_and_one_time():
    from models.samples import gate_decision, gate_pass_code

    code = gate_pass_code("secret-a", "YP-2026-000001")
    assert code == gate_pass_code("secret-a", "YP-2026-000001") and len(code) == 8
    assert code != gate_pass_code("secret-b", "YP-2026-000001") != gate_pass_code("secret-a", "YP-2026-000002")
    ok = {"product_matches": True, "spec_matches": True, "size_class_matches": True, "quantity_matches": True}
    assert gate_decision(code, f" {code.lower()} ", False, ok, "released") == ("released", "核对无误，放行")
    assert gate_decision(code, "X" * 8, False, ok, "released") == ("refused", "出门证编码无效")
    assert gate_decision(code, code, True, ok, "released") == ("refused", "出门证已使用（一次有效）")
    assert gate_decision(code, code, False, ok | {"spec_matches": False}, "released") == ("refused", "货物与出门证不符：规格")
    assert gate_decision(code, code, False, ok, "refused", "无人签收") == ("refused", "无人签收")


def test_p3_the_report_to_finance_lists_the_totals_each_product_and_every_exception_or_none():
    from models.samples import month_totals_summary

    totals = {"month": "2026-10", "issues": 3, "quantity": 4, "weight_kg": "4.300",
              "lines": [{"product": "32S", "size_label": "半纱", "quantity": 3, "weight_kg": "2.400"},
                        {"product": "40S", "size_label": "整纱", "quantity": 1, "weight_kg": "1.900"}],
              "differences": [{"case_no": "YP-1", "approved": 3, "issued": 2}, {"case_no": "YP-4", "approved": 1, "issued": 5}],
              "unissued": ["YP-2", "YP-3"], "no_gate_check": ["YP-5", "YP-6"],
              "stock_mismatches": [{"case_no": "YP-7", "counted": 6, "warehouse_ledger": 0, "requisition": 0},
                                   {"case_no": "YP-8", "counted": 2, "warehouse_ledger": None, "requisition": None}]}
    assert month_totals_summary(totals) == {
        "月份": "2026-10", "发放次数": 3, "数量（个）": 4, "重量（kg）": "4.300",
        "32S / 半纱": "3 个，2.400 kg", "40S / 整纱": "1 个，1.900 kg",
        "与审批单数量不符": "YP-1 批 3 发 2；YP-4 批 1 发 5",
        "已批未发": "YP-2、YP-3",
        "已发放未经门卫核验放行（P4）": "YP-5、YP-6",
        "库存取样与仓库台账不符（P5）": "YP-7 汇总 6 台账 0 领用单 0；YP-8 汇总 2 台账 未登记 领用单 无"}
    quiet = totals | {"lines": [], "differences": [], "unissued": [], "no_gate_check": [], "stock_mismatches": []}
    assert month_totals_summary(quiet) == {
        "月份": "2026-10", "发放次数": 3, "数量（个）": 4, "重量（kg）": "4.300", "与审批单数量不符": "无", "已批未发": "无",
        "已发放未经门卫核验放行（P4）": "无", "库存取样与仓库台账不符（P5）": "无"}
