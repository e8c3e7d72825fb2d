"""客户抱怨处理 (§7 C14–C19, R9): the decision points the mutation run of `models/grievance.py` found
untested — each test names the rule it checks."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from models.grievance import (after_return, approvers_by_amount, case_shares, chain_steps, check_fines, compute_loss,
                              correction_month, days_overdue, draft_shares, load_loss_basis, load_penalty_basis,
                              month_figures, parse_pairs, pending_amount, responsible_units, s1_issued, share_changes,
                              units_with_fines)

ROOT = Path(__file__).resolve().parents[2]


# ---- C18: the admin tables ------------------------------------------------------------------------
def test_c18_the_shipped_loss_and_penalty_bases_load_with_their_versions():
    loss = load_loss_basis(ROOT / "deployments" / "loss_basis.yaml")
    penalty = load_penalty_basis(ROOT / "deployments" / "penalty_basis.yaml")
    assert loss.version == "2026-11-example" and loss.items["freight"].rate == Decimal("800.00")
    assert penalty.rules["human_negligence"].fine_max == Decimal("1500")


@pytest.mark.parametrize("load,table", [(load_loss_basis, "客诉损失金额核算基准"), (load_penalty_basis, "客诉罚扣判定基准")])
def test_c18_an_invalid_basis_file_is_refused_naming_the_table_and_the_file(tmp_path, load, table):
    path = tmp_path / "basis.yaml"
    path.write_text("version: x\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load(path)
    zh, en = str(err.value).split(" / ", 1)
    assert zh.startswith(f"{table}文件 {path} 无效") and f"file {path} is invalid" in en


# ---- R9: the amount once the quantity is known --------------------------------------------------
def test_r9_a_quantity_or_unit_price_of_zero_or_below_one_gives_its_amount():
    assert pending_amount(Decimal("32.00"), 0) == Decimal("0.00")
    assert pending_amount(Decimal("0"), 150) == Decimal("0.00")
    assert pending_amount(Decimal("0.50"), 3) == Decimal("1.50")


def test_r9_the_amount_is_rounded_half_up_to_the_fen():
    assert pending_amount(Decimal("0.125"), 1) == Decimal("0.13")
    assert pending_amount(Decimal("0.005"), 1) == Decimal("0.01")


@pytest.mark.parametrize("price,qty", [(Decimal("-0.01"), 1), (Decimal("1"), -1)])
def test_r9_a_negative_quantity_or_unit_price_is_refused(price, qty):
    with pytest.raises(ValueError, match="must not be negative"):
        pending_amount(price, qty)


# ---- C16 step 9 ----------------------------------------------------------------------------------
def test_c16_step_9_the_consolidation_and_the_decision_are_each_due_in_one_business_day():
    step9 = [s for s in chain_steps(False, ["deputy_sales_manager", "deputy_gm"]) if s.no == 9]
    assert [s.key for s in step9] == ["consolidation", "decide-deputy-sales-manager", "decide-deputy-gm"]
    assert [s.due_business_days for s in step9] == [1, 1, 1]


# ---- C14: the register's days overdue ----------------------------------------------------------------
def test_c14_days_overdue_count_each_day_begun():
    due = datetime(2026, 11, 25, 9, tzinfo=timezone.utc)
    assert days_overdue(due, due - timedelta(seconds=1)) == 0
    assert days_overdue(due, due + timedelta(seconds=1)) == 1
    assert days_overdue(due, due + timedelta(days=1)) == 1
    assert days_overdue(due, due + timedelta(days=1, seconds=1)) == 2
    assert days_overdue(due, due + timedelta(days=3)) == 3


# ---- C19 / S4: a change after S1's table was issued ---------------------------------------------------
def test_c19_s1s_table_is_issued_on_the_2nd_of_the_next_month_also_across_the_year_end():
    sh = timezone(timedelta(hours=8))
    assert not s1_issued("2026-11", datetime(2026, 12, 1, 23, 59, tzinfo=sh))
    assert s1_issued("2026-11", datetime(2026, 12, 2, 0, 0, tzinfo=sh))
    assert s1_issued("2026-11", datetime(2026, 12, 1, 16, 0, tzinfo=timezone.utc))  # 2 Dec 00:00 in Shanghai
    assert not s1_issued("2026-12", datetime(2027, 1, 1, 23, 59, tzinfo=sh))
    assert s1_issued("2026-12", datetime(2027, 1, 2, 0, 0, tzinfo=sh))


def test_c19_a_change_after_the_issue_is_a_correction_in_the_month_it_was_decided():
    sh = timezone(timedelta(hours=8))
    assert correction_month("2026-12", datetime(2027, 1, 1, 12, tzinfo=sh)) is None
    assert correction_month("2026-12", datetime(2027, 1, 5, 12, tzinfo=sh)) == "2027-01"
    assert correction_month("2026-10", datetime(2026, 11, 30, 20, tzinfo=timezone.utc)) == "2026-12"  # Shanghai's month


# ---- C16: returns ---------------------------------------------------------------------------------
def test_c16_a_return_counted_from_zero_is_refused():
    with pytest.raises(ValueError, match="counted from 1"):
        after_return(0)


# ---- S5 / C19: the shares the GM (or a settlement) sets --------------------------------------------
SHARES = {"KS-2026-0001": {"生产部": {"share": "50"}, "质量部": {"share": "50"}}, "KS-2026-0002": {"质量部": {}}}


def test_s5_a_share_of_up_to_100_percent_is_taken_to_the_fen():
    assert share_changes("KS-2026-0001: 100\nKS-2026-0001: 0", "生产部", SHARES) == {"KS-2026-0001": Decimal("0.00")}
    assert share_changes("KS-2026-0001: 33.333", "生产部", SHARES) == {"KS-2026-0001": Decimal("33.33")}


@pytest.mark.parametrize("text,named", [
    ("KS-2026-0001: 100.01", "100.01"),         # above 100 %
    ("KS-2026-0002: 10", "KS-2026-0002"),       # a case of another unit
    ("KS-2026-0009: 10", "KS-2026-0009"),       # a case not in the month at all
    ("KS-2026-0001 10", "比率"),                 # not 「编号: 比率」
])
def test_s5_a_share_outside_0_to_100_or_not_the_units_is_refused_naming_it(text, named):
    with pytest.raises(ValueError, match=named):
        share_changes(text, "生产部", SHARES)


# ---- S1: the month's product-complaint figures -----------------------------------------------------
def test_s1_each_cause_and_each_confirmed_share_is_counted_per_case():
    def decided(cause, unit, confirmed):
        return ("closed", {"decision": {"cause": cause, "loss_total": "0.00", "responsible_units": unit, "fines": []},
                           "shares": {unit: {"share": "100", "confirmed": confirmed}}})
    f = month_figures([decided("our_quality", "生产部", True), decided("our_quality", "生产部", True),
                       decided("our_quality", "生产部", False), decided("supplier", "采购部", False)])
    assert {c["cause"]: c["count"] for c in f["by_cause"]} == {"our_quality": 3, "human_negligence": 0, "supplier": 1,
                                                               "customer": 0}
    assert f["our_fault"] == 3
    unit = next(s for s in f["shares"] if s["unit"] == "生产部")
    assert (unit["cases"], unit["confirmed"], unit["unconfirmed"], unit["share_total"]) == (3, 2, 1, "300.00")


def test_s1_each_closing_state_is_shown_with_its_label_or_else_its_name():
    f = month_figures([("closed", {}), ("withdrawn", {}), ("closed", {}), ("odd_state", {})])
    assert f["by_state"] == [{"state": "closed", "label": "结案", "count": 2},
                             {"state": "odd_state", "label": "odd_state", "count": 1},
                             {"state": "withdrawn", "label": "撤销", "count": 1}]


def test_s6_a_case_without_responsible_units_or_fines_puts_nothing_on_a_notice():
    assert units_with_fines([("KS-1", {"decision": {"fines": [{"party": "韩雪", "amount": "500.00"}]}}),
                             ("KS-2", {"decision": {"responsible_units": "生产部"}}), ("KS-3", {})]) == {}


def test_s6_each_fine_is_a_row_of_its_units_notice_with_case_party_amount_cause_and_sanction():
    rows = units_with_fines([
        ("KS-1", {"decision": {"responsible_units": "生产部", "cause_label": "人为疏忽",
                               "fines": [{"party": "韩雪", "amount": "500.00", "sanction": "书面警告"}]}}),
        ("KS-2", {"decision": {"responsible_units": "生产部", "fines": [{"party": "生产部", "amount": "200.00"}]}})])
    assert rows == {"生产部": [
        {"case_no": "KS-1", "party": "韩雪", "amount": "500.00", "cause": "人为疏忽", "sanction": "书面警告"},
        {"case_no": "KS-2", "party": "生产部", "amount": "200.00", "cause": "", "sanction": ""}]}


# ---- C18: loss and fines -----------------------------------------------------------------------------
LOSS = load_loss_basis(ROOT / "deployments" / "loss_basis.yaml")
PENALTY = load_penalty_basis(ROOT / "deployments" / "penalty_basis.yaml")


def test_c18_a_loss_at_cost_is_rounded_half_up_and_shows_no_rate():
    total, breakdown = compute_loss([("returned_goods", Decimal("0.125")), ("reprocessing", Decimal("0.07"))], LOSS)
    assert [b["amount"] for b in breakdown] == ["0.13", "0.25"] and total == Decimal("0.38")  # 0.245 → 0.25
    assert breakdown[0]["rate"] is None and breakdown[1]["rate"] == "3.50"


def test_c18_a_fine_at_the_bottom_of_the_range_is_accepted():
    assert check_fines([("生产部", Decimal("200"))], "our_quality", PENALTY)[0]["amount"] == "200.00"
    assert check_fines([("韩雪", Decimal("300"))], "human_negligence", PENALTY)[0]["amount"] == "300.00"


@pytest.mark.parametrize("cause,named", [("supplier", "供应商或其他公司责任"), ("weather", "weather")])
def test_c18_a_fine_for_a_cause_not_at_fault_is_refused_naming_the_cause(cause, named):
    with pytest.raises(ValueError, match=f"「{named}」不罚扣"):
        check_fines([("供应商", Decimal("500"))], cause, PENALTY)


# ---- S5: the GM office's draft shares -------------------------------------------------------------------
def test_s5_draft_shares_are_rounded_down_and_the_remainder_goes_to_the_first_unit():
    shares = draft_shares([f"u{i}" for i in range(6)])
    assert shares["u0"] == Decimal("16.70") and {shares[f"u{i}"] for i in range(1, 6)} == {Decimal("16.66")}
    assert case_shares({"decision": {"cause": "customer"}}) == {} and case_shares({}) == {}


# ---- R2 / C16: who instructs and decides ------------------------------------------------------------
def test_r2_an_amount_of_one_yuan_or_less_goes_by_its_band_only_no_amount_to_the_first():
    from models.returns import AuthorityTable

    table = AuthorityTable.model_validate({"bands": [{"up_to": "0.50", "roles": ["sales_manager"]},
                                                     {"up_to": None, "roles": ["deputy_gm"]}],
                                           "default_over_acceptance_ratio": "0.02"})
    assert approvers_by_amount(Decimal("0"), table) == ["sales_manager"]
    assert approvers_by_amount(Decimal("1"), table) == ["deputy_gm"]


# ---- C18 pairs as typed on a decision page ------------------------------------------------------------
def test_c18_typed_pairs_skip_blank_lines_and_take_zero():
    assert parse_pairs("freight: 0\n\n  \nscrap: 2", "损失") == [("freight", Decimal("0")), ("scrap", Decimal("2"))]


@pytest.mark.parametrize("text,named", [("freight 2", "freight 2"), ("freight: 1e", "1e"), ("freight: -1", "-1")])
def test_c18_a_badly_typed_pair_is_refused_naming_the_line_or_number(text, named):
    with pytest.raises(ValueError, match=f"损失.*{named}"):
        parse_pairs(text, "损失")


def test_s5_no_responsible_units_written_is_none():
    assert responsible_units(None) == [] and responsible_units("") == []
