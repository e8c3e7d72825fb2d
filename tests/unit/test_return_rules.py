"""R2 approval authority (every band edge), R5 reconciliation, R7/R8 receivables, input rules."""

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.org import ROLES
from models.returns import (ReturnRequestIn, approvers_for, load_authority, over_acceptance_ratio,
                            receivable_exclusion, reconcile)

TABLE = load_authority(Path(__file__).resolve().parents[2] / "deployments" / "approval_authority.yaml", ROLES)


@pytest.mark.parametrize("amount,roles", [
    ("0.01", ["sales_manager"]),
    ("5000.00", ["sales_manager"]),
    ("5000.01", ["deputy_sales_manager", "deputy_gm"]),
    ("50000.00", ["deputy_sales_manager", "deputy_gm"]),
    ("50000.01", ["deputy_sales_manager", "deputy_gm", "general_manager"]),
    ("9999999.99", ["deputy_sales_manager", "deputy_gm", "general_manager"]),
])
def test_every_band_edge(amount, roles):
    assert approvers_for(Decimal(amount), TABLE) == roles


def test_amounts_must_be_positive_decimals():
    with pytest.raises(TypeError):
        approvers_for(5000.0, TABLE)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        approvers_for(Decimal("0"), TABLE)


@pytest.mark.parametrize("text", [
    "bands: []\ndefault_over_acceptance_ratio: '0.02'\n",
    "bands:\n  - {up_to: '100', roles: [sales_manager]}\ndefault_over_acceptance_ratio: '0.02'\n",
    "bands:\n  - {up_to: '100', roles: [sales_manager]}\n  - {up_to: '50', roles: [deputy_gm]}\n"
    "  - {up_to: null, roles: [general_manager]}\ndefault_over_acceptance_ratio: '0.02'\n",
    "bands:\n  - {up_to: null, roles: [wizard]}\ndefault_over_acceptance_ratio: '0.02'\n",
    "bands:\n  - {up_to: null, roles: [sales_manager]}\ndefault_over_acceptance_ratio: '1.5'\n",
])
def test_bad_tables_are_refused_at_start(tmp_path, text):
    f = tmp_path / "a.yaml"
    f.write_text(text)
    with pytest.raises(ValueError) as e:
        load_authority(f, ROLES)
    assert "核决权限文件" in str(e.value)


def test_over_acceptance_ratio_customer_own_else_default():
    assert over_acceptance_ratio("苏州锦华服饰有限公司", TABLE) == Decimal("0.05")
    assert over_acceptance_ratio("别的客户", TABLE) == Decimal("0.02")


@pytest.mark.parametrize("approved,received,ratio,outcome", [
    (100, 100, "0.02", "book"),
    (100, 98, "0.02", "book"),     # short, exactly at the tolerance
    (100, 97, "0.02", "decide"),   # short beyond it
    (100, 102, "0.02", "book"),    # over, at the tolerance
    (100, 103, "0.02", "decide"),
    (100, 95, "0.05", "book"),
])
def test_reconciliation(approved, received, ratio, outcome):
    assert reconcile(approved, received, Decimal(ratio)) == outcome


def test_receivables_excluded_only_when_the_complaint_stood():
    assert receivable_exclusion(Decimal("1200.00"), True) == Decimal("1200.00")
    assert receivable_exclusion(Decimal("1200.00"), False) == Decimal("0.00")


def test_r7_the_receivable_excluded_is_stated_to_the_fen_and_a_bad_one_is_refused_saying_why():
    assert str(receivable_exclusion(Decimal("1200"), True)) == "1200.00"
    assert str(receivable_exclusion(Decimal("0"), True)) == "0.00"  # the complaint did not affect collection
    with pytest.raises(TypeError) as refused:
        receivable_exclusion(1200.0, True)  # a float is not an amount
    assert str(refused.value) == "the receivable must be a Decimal"
    with pytest.raises(ValueError) as refused:
        receivable_exclusion(Decimal("-0.01"), True)
    assert str(refused.value) == "the receivable cannot be negative"
    with pytest.raises(ValueError):
        receivable_exclusion(Decimal("-1"), False)  # refused whether or not the complaint stood


def test_request_rules():
    base = {"kind": "return", "customer": "c", "product_code": "P1", "amount": "100.00", "reason": "r"}
    with pytest.raises(ValidationError):
        ReturnRequestIn.model_validate(base)  # a return needs a quantity
    ok = ReturnRequestIn.model_validate({**base, "quantity": {"value": 10, "unit": "箱"}})
    assert ok.amount == Decimal("100.00") and ok.quantity.value == 10
    with pytest.raises(ValidationError):
        ReturnRequestIn.model_validate({**base, "kind": "allowance", "amount": 100.5})  # float
    with pytest.raises(ValidationError):
        ReturnRequestIn.model_validate({**base, "kind": "allowance", "amount": "1.234"})
