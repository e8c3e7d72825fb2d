"""Issue 7: return and credit processing (R1–R8) end to end on the real stack."""

from datetime import datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from models.business_days import TZ
from models.org import load_org
from models.tables import Transaction
from models.settings import REPO_ROOT
from tests.e2e.test_complaint import answer
from tests.e2e.test_sample_request import no_duplicates

pytestmark = pytest.mark.e2e

ORG = load_org(REPO_ROOT / "deployments" / "org.yaml")
R = {role: ORG.first_for_role(role).email for role in ORG.roles}
CUSTOMER = "buyer@customer.example"


def file(stack, **over):
    body = {"kind": "return", "customer": "杭州某纺织品公司", "product_code": "YN-3201", "product_name": "32S 棉纱",
            "amount": "12800.00", "quantity": {"value": 100, "unit": "箱"}, "reason": "色差", "invoice_no": "No.0012",
            "handling": "退货重处理", "basis": "质检报告"}
    body.update(over)
    r = stack.client.post(f"{stack.web}/api/returns", json=body)
    assert r.status_code == 201, r.text
    return r.json()["case_no"], stack.flow_run_of(r.json()["case_no"])


def test_allowance_above_the_deputy_gm_band(stack):
    case_no, run_id = file(stack, kind="allowance", amount="80000.00", quantity=None, customer_email=CUSTOMER)
    assert case_no.startswith("ZR-") and stack.prefect_run(run_id)["name"] == f"allowance-{case_no}"
    case = stack.case(case_no)
    assert case["data"]["approvers"] == ["deputy_sales_manager", "deputy_gm", "general_manager"]
    # the salesperson's own approval is never asked; the three approvers sign in order
    answer(stack, case_no, R["deputy_sales_manager"], "审批《销货折让证明单》", "approve")
    answer(stack, case_no, R["deputy_gm"], "审批《销货折让证明单》", "approve")
    answer(stack, case_no, R["general_manager"], "审批《销货折让证明单》", "approve")
    confirm = stack.wait_mail(to=CUSTOMER, subject=case_no)[0]
    assert "80000.00" in confirm["text"]
    assert stack.submit(stack.link(confirm, "confirmed")).status_code == 200
    booking = stack.wait_mail(to=R["accounting"], subject=f"{case_no} 会计科入账")[0]
    bad = stack.submit(stack.link(booking, "booked"))  # no proof: refused, nothing changes
    assert bad.status_code == 422 and stack.case(case_no)["state"] == "confirmed"
    assert stack.submit(stack.link(booking, "booked"), proof="stamped_allowance_certificate",
                        receivable_amount="96000.00").status_code == 200
    case = stack.wait_state(case_no, "booked")
    assert case["data"]["booking"]["receivable_excluded"] == "96000.00"  # R7: the product's receivable
    art = stack.prefect("GET", f"/artifacts/allowance-form-{case_no.lower()}/latest").json()
    assert "销货折让证明单" in art["data"]
    no_duplicates(stack, case_no)
    assert transactions(stack, case_no) == []  # an allowance returns no goods: no "return" transaction


def test_return_received_short_within_the_tolerance_books_the_actual_quantity(stack):
    case_no, _ = file(stack)
    assert case_no.startswith("TH-")
    answer(stack, case_no, R["deputy_sales_manager"], "审批《成品退货单》", "approve")
    answer(stack, case_no, R["deputy_gm"], "审批《成品退货单》", "approve")  # R2: ¥12,800 is the deputy GM's band
    answer(stack, case_no, R["warehouse"], "仓库验收", "received", received_quantity="98")
    answer(stack, case_no, R["accounting"], "会计科核对入账", "booked", proof="return_certificate")
    case = stack.wait_state(case_no, "booked")
    assert case["data"]["booking"]["booked_quantity"] == 98
    assert not [t for t in case["tasks"] if t["step_key"] == "quantity-decision"]
    # the history (§3 N1) holds the return once, negative, for the 98 of 100 booked
    [tx] = transactions(stack, case_no)
    assert (tx.kind, tx.customer, tx.amount, tx.case_no) == ("return", "杭州某纺织品公司", Decimal("-12544.00"), case_no)
    assert tx.on == datetime.now(TZ).date()


def transactions(stack, reference):
    with stack.store().session() as s:
        return list(s.exec(select(Transaction).where(Transaction.reference == reference)).all())


def test_return_received_short_beyond_the_tolerance_goes_back_for_a_decision(stack):
    case_no, _ = file(stack)
    answer(stack, case_no, R["deputy_sales_manager"], "审批《成品退货单》", "approve")
    answer(stack, case_no, R["deputy_gm"], "审批《成品退货单》", "approve")  # R2: ¥12,800 is the deputy GM's band
    answer(stack, case_no, R["warehouse"], "仓库验收", "received", received_quantity="90")
    answer(stack, case_no, R["deputy_sales_manager"], "退货数量差异", "accept_actual", comment="按实收")
    answer(stack, case_no, R["accounting"], "会计科核对入账", "booked", proof="original_invoice")
    case = stack.wait_state(case_no, "booked")
    assert case["data"]["booking"]["booked_quantity"] == 90
    assert [t.amount for t in transactions(stack, case_no)] == [Decimal("-11520.00")]


def test_bad_return_requests_are_refused(stack):
    total = stack.client.get(f"{stack.web}/api/cases").json()["total"]
    r = stack.client.post(f"{stack.web}/api/returns", json={"kind": "return", "customer": "c", "product_code": "P",
                                                            "amount": 12.5, "reason": "r"})
    assert r.status_code == 422
    assert stack.client.get(f"{stack.web}/api/cases").json()["total"] == total
