"""Decision points of models/returns.py that the mutation run (make mutants) found untested: the
edges of R2's amount check, of R5's reconciliation inputs, and the booked return's amount (N1:
pro rata to the fen, half up, negative)."""

from decimal import Decimal
from pathlib import Path

import pytest

from models.org import ROLES
from models.returns import approvers_for, load_authority, reconcile, returned_amount

TABLE_FILE = Path(__file__).resolve().parents[2] / "deployments" / "approval_authority.yaml"
TABLE = load_authority(TABLE_FILE, ROLES)


def test_an_amount_below_one_yuan_is_still_approved():
    assert approvers_for(Decimal("0.50"), TABLE) == ["sales_manager"]


def test_amount_errors_say_what_is_wrong():
    with pytest.raises(TypeError, match="^amount must be a Decimal$"):
        approvers_for(5000, TABLE)  # type: ignore[arg-type]
    for bad in ("0", "-0.01"):
        with pytest.raises(ValueError, match="^amount must be positive$"):
            approvers_for(Decimal(bad), TABLE)


def test_the_table_loads_without_a_role_check_and_names_unknown_roles(tmp_path):
    assert load_authority(TABLE_FILE).bands == TABLE.bands
    f = tmp_path / "a.yaml"
    f.write_text("bands:\n  - {up_to: null, roles: [wizard, sales_manager]}\n"
                 "default_over_acceptance_ratio: '0.02'\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"未知角色 \['wizard'\] / unknown roles \['wizard'\]"):
        load_authority(f, ROLES)


@pytest.mark.parametrize("approved,received,outcome", [
    (1, 1, "book"),      # one piece approved is a valid return
    (100, 0, "decide"),  # nothing arrived: a valid count, beyond the tolerance
    (1, 0, "decide"),
])
def test_reconciliation_edges(approved, received, outcome):
    assert reconcile(approved, received, Decimal("0.02")) == outcome


@pytest.mark.parametrize("approved,received", [(0, 10), (-1, 10), (10, -1), (-1, -1)])
def test_reconciliation_refuses_impossible_counts(approved, received):
    with pytest.raises(ValueError, match="^approved must be positive and received not negative$"):
        reconcile(approved, received, Decimal("0.02"))


def test_reconciliation_within_a_ratio_of_the_approved_quantity():
    assert reconcile(50, 55, Decimal("0.1")) == "book"
    assert reconcile(50, 56, Decimal("0.1")) == "decide"


@pytest.mark.parametrize("amount,approved,booked,expected", [
    ("100.00", 3, 3, "-100.00"),
    ("100.00", 3, 2, "-66.67"),   # pro rata, to the fen
    ("0.05", 2, 1, "-0.03"),      # half up (0.025), not half even
    ("100.00", 1, 1, "-100.00"),
    ("100.00", 4, 0, "0.00"),     # nothing booked
])
def test_returned_amount(amount, approved, booked, expected):
    got = returned_amount(Decimal(amount), approved, booked)
    assert got == Decimal(expected) and got.as_tuple().exponent == -2


@pytest.mark.parametrize("approved,booked", [(0, 1), (-1, 1), (3, -1), (-1, -1)])
def test_returned_amount_refuses_impossible_counts(approved, booked):
    with pytest.raises(ValueError, match="^approved must be positive and booked not negative$"):
        returned_amount(Decimal("100.00"), approved, booked)
