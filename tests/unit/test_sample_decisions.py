"""样品出门审批 (§6 P2–P3, §7 P4): the decision points the mutation run of `models/samples.py` found untested."""

from datetime import date

import pytest

from models.samples import gate_decision, gate_pass_code, previous_month, sample_weight_kg

OK = {"product_matches": True, "spec_matches": True, "size_class_matches": True, "quantity_matches": True}


def test_p4_a_gate_pass_code_printed_once_stays_the_same_code():
    assert gate_pass_code("secret-a", "YP-2026-000001") == "QSG5AGBF"


def test_p4_gate_pass_codes_are_upper_case_without_0_o_1_or_i():
    codes = [gate_pass_code("secret-a", f"YP-2026-{n:06d}") for n in range(1, 301)]
    assert all(c == c.upper() and len(c) == 8 for c in codes)
    assert not set("".join(codes)) & set("0O1I")
    assert {"X", "Y"} <= set("".join(codes))  # O and I came out of base32 and were replaced


def test_p4_goods_not_matching_the_pass_are_refused_naming_each_item_that_differs():
    code = gate_pass_code("s", "YP-2026-000001")
    decision, note = gate_decision(code, code, False, OK | {"product_matches": False, "quantity_matches": False}, "released")
    assert decision == "refused" and "品名" in note and "数量" in note and "规格" not in note


def test_p4_a_guard_refusing_without_a_note_still_records_why():
    code = gate_pass_code("s", "YP-2026-000001")
    decision, note = gate_decision(code, code, False, OK, "refused")
    assert decision == "refused" and "拒绝" in note


def test_p4_no_code_given_is_an_invalid_code():
    code = gate_pass_code("s", "YP-2026-000001")
    assert gate_decision(code, None, False, OK, "released") == ("refused", "出门证编码无效")


def test_p2_a_sample_of_no_bobbins_is_refused():
    assert str(sample_weight_kg("small", 1)) == "0.120"
    with pytest.raises(ValueError, match="must be positive"):
        sample_weight_kg("whole", 0)


def test_p3_the_month_before_any_day_of_a_month():
    assert previous_month(date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 3, 1))
    assert previous_month(date(2026, 3, 1)) == (date(2026, 2, 1), date(2026, 3, 1))
