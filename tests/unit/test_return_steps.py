"""§4's steps that decide or show something (tasks/returns/steps.py), without Prefect: the form's summary
every approver reads, and R7's exclusions of a product's receivable — once per complaint and 料号, summed
per 料号 for the salesperson (docs/testing.md, session 15)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from models.tables import ReceivableExclusion
from tasks.platform.runtime import use_services
from tasks.returns.steps import excluded_before, excluded_receivables, form_summary
from tests.fakes import fake_services

SALES = "lin.tao@huajin.example"


def test_r3_r4_the_summary_names_the_form_and_only_what_it_has():
    full = {"case_no": "TH-2026-0007", "data": {
        "kind": "return", "customer": "无锡华美服饰有限公司", "product_code": "CY-40S", "product_name": "精梳棉纱",
        "amount": "12000.00", "reason": "色差", "salesperson": SALES, "quantity": {"value": 50, "unit": "箱"},
        "handling": "重处理", "basis": "质检报告 Q-17", "complaint_case_no": "TS-2026-0003"}}
    assert form_summary(full) == {
        "单号": "TH-2026-0007", "类别": "成品退货", "客户": "无锡华美服饰有限公司", "料号 / 品名": "CY-40S 精梳棉纱",
        "金额（元）": "12000.00", "原因": "色差", "业务员": SALES, "核定量": "50 箱", "处理方式": "重处理",
        "依据": "质检报告 Q-17", "来源投诉": "TS-2026-0003"}
    bare = {"case_no": "ZR-2026-0001", "data": {
        "kind": "allowance", "customer": "甲公司", "product_code": "CY-40S", "amount": "300.00", "reason": "短装",
        "salesperson": SALES, "quantity": None, "handling": "", "basis": "", "complaint_case_no": None}}
    assert form_summary(bare) == {"单号": "ZR-2026-0001", "类别": "销货折让", "客户": "甲公司", "料号 / 品名": "CY-40S",
                                  "金额（元）": "300.00", "原因": "短装", "业务员": SALES}


@pytest.fixture
def svc(tmp_path):
    s = fake_services(tmp_path)
    with use_services(s):
        yield s


def exclude(svc, case_no: str, complaint: str | None, product: str, amount: str, salesperson: str = SALES) -> None:
    with svc.store.session() as s:
        s.add(ReceivableExclusion(case_no=case_no, complaint_case_no=complaint, salesperson=salesperson, product_code=product,
                                  amount=Decimal(amount), at=datetime(2026, 11, 25, 2, tzinfo=timezone.utc)))
        s.commit()


def test_r7_a_receivable_is_excluded_once_per_complaint_and_product_by_another_case(svc):
    exclude(svc, "ZR-1", "TS-1", "CY-40S", "56000.00")
    assert excluded_before("TS-1", "CY-40S", "ZR-2") is True       # a sibling case excluded it already
    assert excluded_before("TS-1", "CY-40S", "ZR-1") is False      # its own exclusion does not count
    assert excluded_before("TS-1", "CY-60S", "ZR-2") is False      # another product
    assert excluded_before("TS-2", "CY-40S", "ZR-2") is False      # another complaint


def test_r7_the_salespersons_exclusions_are_summed_per_product(svc):
    assert excluded_receivables(SALES) == {}
    exclude(svc, "ZR-1", "TS-1", "CY-40S", "56000.00")
    exclude(svc, "ZR-2", "TS-2", "CY-40S", "0.50")
    exclude(svc, "TH-3", None, "CY-60S", "100.00")
    exclude(svc, "TH-4", "TS-4", "CY-60S", "7.00", salesperson="other@huajin.example")
    got = excluded_receivables(SALES)
    assert got == {"CY-40S": Decimal("56000.50"), "CY-60S": Decimal("100.00")}
    assert [str(v) for v in got.values()] == ["56000.50", "100.00"]
    assert excluded_receivables("other@huajin.example") == {"CY-60S": Decimal("7.00")}
