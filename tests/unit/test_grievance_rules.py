"""客户抱怨处理 (§7 C14–C19, R9) as plain rules: the form, the chain, loss and penalty, quantity pending,
the copies."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.grievance import (COPIES, FINE_MAX, FINE_MIN, MAX_RETURNS, QUANTITY_PENDING_TEXT, CustomerAddressRefused,
                              GrievanceIn, after_return, approvers_by_amount, at_fault, chain_steps,
                              check_copy_recipients, check_fines, compute_loss, days_overdue, improvement_tracked,
                              load_loss_basis, load_penalty_basis, parse_pairs, pending_amount, quantity_pending,
                              quantity_reminder_due, reapproval_roles, routed_from_complaint)
from models.org import RoleNotHeld, load_org
from models.returns import load_authority

ROOT = Path(__file__).resolve().parents[2]
AUTHORITY = load_authority(ROOT / "deployments" / "approval_authority.yaml")
LOSS = load_loss_basis(ROOT / "deployments" / "loss_basis.yaml")
PENALTY = load_penalty_basis(ROOT / "deployments" / "penalty_basis.yaml")

FORM = {"abnormality_no": "YC-2026-031", "order_no": "XS-20261102-07", "item_no": "CY-40S", "customer": "无锡华美服饰有限公司",
        "quantity_shipped": {"value": 2000, "unit": "kg"}, "ship_date": "2026-11-02",
        "defective_quantity": {"value": 300, "unit": "kg"}, "description": "40S 纱线条干不匀，织出布面有云斑",
        "demand": "退货 300 kg", "return_quantity": {"value": 300, "unit": "kg"}, "grievance_class": "quality",
        "sample_attached": True, "opinion": "属实，建议退货", "salesperson": "lin.tao@huajin.example"}


# ---- C15 the form ---------------------------------------------------------------------------
def test_a_complete_form_is_accepted():
    form = GrievanceIn.model_validate(FORM)
    assert not quantity_pending(form) and form.return_quantity.value == 300


@pytest.mark.parametrize("field", ["abnormality_no", "order_no", "item_no", "quantity_shipped", "ship_date",
                                   "defective_quantity", "demand", "grievance_class", "sample_attached", "opinion",
                                   "salesperson", "customer"])
def test_every_field_of_the_form_is_mandatory(field):
    with pytest.raises(ValidationError) as err:
        GrievanceIn.model_validate({k: v for k, v in FORM.items() if k != field})
    assert err.value.errors()[0]["loc"] == (field,)


def test_quantity_pending_demand_leaves_the_quantity_empty():
    form = GrievanceIn.model_validate(FORM | {"demand": QUANTITY_PENDING_TEXT, "return_quantity": None})
    assert quantity_pending(form) and quantity_pending(form.model_dump(mode="json"))
    with pytest.raises(ValidationError, match="留空"):
        GrievanceIn.model_validate(FORM | {"demand": QUANTITY_PENDING_TEXT})


def test_without_the_pending_text_the_return_quantity_is_required():
    with pytest.raises(ValidationError, match=QUANTITY_PENDING_TEXT):
        GrievanceIn.model_validate(FORM | {"return_quantity": None})
    # close is not enough: the text is fixed
    with pytest.raises(ValidationError):
        GrievanceIn.model_validate(FORM | {"demand": "客户加工中，未确定", "return_quantity": None})


def test_more_defective_than_shipped_is_refused_and_unknown_fields_too():
    with pytest.raises(ValidationError, match="不良数量"):
        GrievanceIn.model_validate(FORM | {"defective_quantity": {"value": 2001, "unit": "kg"}})
    with pytest.raises(ValidationError):
        GrievanceIn.model_validate(FORM | {"colour": "red"})


def test_a_product_complaint_naming_an_order_is_a_grievance():
    assert routed_from_complaint("产品质量", "XS-1")
    assert not routed_from_complaint("产品质量", "  ") and not routed_from_complaint("产品质量", None)
    assert not routed_from_complaint("维修服务", "XS-1")


# ---- C16 the chain ----------------------------------------------------------------------------
def test_the_chain_runs_in_c16_order():
    keys = [s.key for s in chain_steps(False, ["sales_manager"])]
    assert keys == ["register", "quality", "production", "manager", "gm-check", "proposal", "opinion",
                    "instruct-sales-manager", "negotiation", "sales-review", "consolidation", "decide-sales-manager"]
    assert [s.no for s in chain_steps(False, ["sales_manager"])] == [1, 2, 3, 4, 6, 6, 7, 7, 8, 8, 9, 9]


def test_rd_only_when_asked_and_the_approvers_only_once_the_amount_is_known():
    with_rd = [s.key for s in chain_steps(True, None)]
    assert with_rd == ["register", "quality", "production", "manager", "rd", "gm-check", "proposal"]
    roles = [s.role for s in chain_steps(False, ["deputy_sales_manager", "deputy_gm"])]
    assert roles[-2:] == ["deputy_sales_manager", "deputy_gm"] and roles[7:9] == ["deputy_sales_manager", "deputy_gm"]
    assert chain_steps(False, [])[-1].key == "consolidation"


@pytest.mark.parametrize("amount,roles", [
    ("0", ["sales_manager"]), ("5000.00", ["sales_manager"]), ("5000.01", ["deputy_sales_manager", "deputy_gm"]),
    ("50000.01", ["deputy_sales_manager", "deputy_gm", "general_manager"])])
def test_the_approver_follows_the_authority_table(amount, roles):
    assert approvers_by_amount(Decimal(amount), AUTHORITY) == roles


def test_returns_go_back_to_the_author_twice_then_escalate():
    assert [after_return(n) for n in range(1, MAX_RETURNS + 2)] == ["back_to_author"] * MAX_RETURNS + ["escalate"]
    with pytest.raises(ValueError):
        after_return(0)


# ---- C18 responsibility, loss, penalty -------------------------------------------------------------
def test_only_our_quality_problems_are_tracked_and_only_our_faults_fined():
    assert improvement_tracked("our_quality") and not improvement_tracked("human_negligence")
    assert not improvement_tracked("supplier") and not improvement_tracked("customer")
    assert at_fault("our_quality") and at_fault("human_negligence") and not at_fault("supplier")


def test_loss_by_the_basis_with_its_breakdown():
    total, breakdown = compute_loss(parse_pairs("returned_goods: 9600\nfreight: 2; reprocessing=100.5", "损失"), LOSS)
    assert total == Decimal("9600.00") + Decimal("1600.00") + Decimal("351.75")
    assert [b["item"] for b in breakdown] == ["returned_goods", "freight", "reprocessing"]
    assert breakdown[1] == {"item": "freight", "label": "往返运费", "quantity": "2", "unit": "趟", "rate": "800.00",
                            "amount": "1600.00"}
    with pytest.raises(ValueError, match="不在核算基准"):
        compute_loss([("lunch", Decimal(1))], LOSS)


@pytest.mark.parametrize("text", ["freight", "freight: -1", "freight: abc", "freight: NaN"])
def test_badly_typed_pairs_are_refused(text):
    with pytest.raises(ValueError):
        parse_pairs(text, "损失")


def test_fines_within_the_range_of_the_cause_and_never_outside_200_1500():
    fines = check_fines(parse_pairs("生产部: 500\n韩雪: 1500", "罚扣"), "human_negligence", PENALTY)
    assert [f["amount"] for f in fines] == ["500.00", "1500.00"] and fines[0]["sanction"] == "书面警告"
    with pytest.raises(ValueError, match="超出"):
        check_fines([("生产部", Decimal("1200"))], "our_quality", PENALTY)  # the example table: ≤ 1,000
    with pytest.raises(ValueError, match="超出"):
        check_fines([("生产部", Decimal("199.99"))], "our_quality", PENALTY)
    with pytest.raises(ValueError, match="不罚扣"):
        check_fines([("供应商", Decimal("500"))], "supplier", PENALTY)
    assert check_fines([], "customer", PENALTY) == []


def test_a_basis_file_outside_the_seed_range_or_incomplete_is_invalid(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text('version: x\neffective_from: "2026-01-01"\nrules:\n'
                   '  our_quality: {label: a, fine_min: "100", fine_max: "1000"}\n'
                   '  human_negligence: {label: b, fine_min: "200", fine_max: "1500"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="penalty basis file"):
        load_penalty_basis(bad)
    bad.write_text('version: x\neffective_from: "2026-01-01"\nrules:\n'
                   '  our_quality: {label: a, fine_min: "200", fine_max: "1000"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="human_negligence"):
        load_penalty_basis(bad)
    bad.write_text('version: x\neffective_from: "2026-01-01"\nitems: {Bad-Code: {label: a, unit: b}}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="loss basis file"):
        load_loss_basis(bad)
    assert FINE_MIN == 200 and FINE_MAX == 1500 and LOSS.version and PENALTY.effective_from == date(2026, 1, 1)


# ---- R9 quantity pending ----------------------------------------------------------------------------
def test_weekly_reminders_while_the_quantity_is_pending():
    t0 = datetime(2026, 11, 25, 2, tzinfo=timezone.utc)
    assert not quantity_reminder_due(t0, None, t0 + timedelta(days=6, hours=23))
    assert quantity_reminder_due(t0, None, t0 + timedelta(days=7))
    assert not quantity_reminder_due(t0, t0 + timedelta(days=7), t0 + timedelta(days=13))
    assert quantity_reminder_due(t0, t0 + timedelta(days=7), t0 + timedelta(days=14))


def test_reapproval_only_when_the_amount_passes_the_deciding_band():
    assert pending_amount(Decimal("32.00"), 150) == Decimal("4800.00")
    assert reapproval_roles(Decimal("0"), Decimal("4800.00"), AUTHORITY) == []
    assert reapproval_roles(Decimal("3000"), Decimal("5000.01"), AUTHORITY) == ["deputy_sales_manager", "deputy_gm"]
    assert reapproval_roles(Decimal("6000"), Decimal("49000"), AUTHORITY) == []
    assert reapproval_roles(Decimal("60000"), Decimal("6000"), AUTHORITY) == []  # a lower amount: no one more
    with pytest.raises(ValueError):
        pending_amount(Decimal("1"), -1)


# ---- C17 copies ---------------------------------------------------------------------------------------
def test_five_copies_to_the_five_units_and_never_to_a_customer():
    org = load_org(ROOT / "deployments" / "org.yaml")
    assert [c.mark for c in COPIES] == ["第一联", "第二联", "第三联", "第四联", "第五联"]
    assert [c.role for c in COPIES] == ["quality_lead", "production", "salesperson", "accounting", "gm_office"]
    internal = {p.email.lower() for p in org.people}
    check_copy_recipients([org.first_for_role(c.role).email for c in COPIES], internal)
    with pytest.raises(CustomerAddressRefused, match="buyer@customer.example"):
        check_copy_recipients(["feng.tao@huajin.example", "buyer@customer.example"], internal)


def test_an_org_file_without_the_new_roles_still_loads(tmp_path):
    text = (ROOT / "deployments" / "org.yaml").read_text(encoding="utf-8")
    cut = text[:text.index("  # 客户抱怨处理（C16）")]
    path = tmp_path / "org.yaml"
    path.write_text(cut, encoding="utf-8")
    org = load_org(path)
    assert org.first_for_role("quality_lead")
    with pytest.raises(RoleNotHeld, match="gm_office"):  # named where a procedure needs it (issue 21)
        org.people_for_role("gm_office")


def test_days_overdue():
    due = datetime(2026, 11, 25, 9, tzinfo=timezone.utc)
    assert days_overdue(None, due) == 0 and days_overdue(due, due) == 0
    assert days_overdue(due, due + timedelta(hours=1)) == 1 and days_overdue(due, due + timedelta(days=2)) == 2


def test_draft_shares_sum_to_exactly_100():
    from models.grievance import draft_shares, responsible_units

    assert responsible_units("生产部、质量部，生产部 研发部") == ["生产部", "质量部", "研发部"]
    shares = draft_shares(["生产部", "质量部", "研发部"])
    assert shares == {"生产部": Decimal("33.34"), "质量部": Decimal("33.33"), "研发部": Decimal("33.33")}
    assert sum(shares.values()) == 100 and draft_shares([]) == {} and draft_shares(["a"]) == {"a": Decimal("100.00")}


def test_month_figures_count_causes_losses_fines_and_shares():
    from models.grievance import month_figures

    def decided(cause, loss, fines, units):
        return {"decision": {"cause": cause, "loss_total": loss, "responsible_units": units,
                             "fines": [{"amount": a} for a in fines]}}
    cases = [("closed", decided("our_quality", "800.00", ["500.00"], "生产部")),
             ("closed", decided("supplier", "1200.00", [], "采购部") | {"supplier_claim": {"recovered": "1000.00"}}),
             ("closed", decided("human_negligence", "0.00", ["300.00", "200.00"], "生产部、质量部")
              | {"shares": {"生产部": {"share": "70", "confirmed": True}, "质量部": {"share": "30", "confirmed": True}}}),
             ("withdrawn", {}), ("abnormality_report", {})]
    f = month_figures(cases)
    assert f["total"] == 5 and f["our_fault"] == 2
    assert {r["state"]: r["count"] for r in f["by_state"]} == {"closed": 3, "withdrawn": 1, "abnormality_report": 1}
    assert (f["loss_total"], f["fines"], f["fines_amount"], f["supplier_recovered"]) == ("2000.00", 3, "1000.00", "1000.00")
    shares = {s["unit"]: s for s in f["shares"]}
    assert shares["生产部"]["cases"] == 2 and shares["生产部"]["share_total"] == "170.00"
    assert shares["生产部"]["status"] == "未确认" and shares["质量部"]["status"] == "已确认"
    assert [c["label"] for c in f["by_cause"] if not c["our_fault"]] == ["供应商或其他公司责任", "客户原因"]


def test_before_the_10th_first_business_day_and_due_date():
    from models.business_days import BusinessCalendar
    from models.grievance import confirmations_due, first_business_day, units_with_fines

    cal = BusinessCalendar()
    assert first_business_day(2026, 11, cal) == date(2026, 11, 2)  # 1 Nov 2026 is a Sunday
    assert first_business_day(2026, 10, cal) == date(2026, 10, 8)  # after the National Day holiday (1–7 Oct)
    due = confirmations_due(date(2026, 12, 1), cal)  # 10 Dec 2026 is a Thursday: two business days before
    assert (due.date(), due.hour, due.minute) == (date(2026, 12, 8), 17, 30)
    rows = units_with_fines([("KS-1", {"decision": {"responsible_units": "生产部、质量部", "cause_label": "人为疏忽",
                                                    "fines": [{"party": "韩雪", "amount": "500.00", "sanction": "书面警告"}]}}),
                             ("KS-2", {"decision": {"responsible_units": "生产部", "fines": []}})])
    assert list(rows) == ["生产部", "质量部"] and rows["生产部"][0]["case_no"] == "KS-1"


def test_c18_a_tracked_measure_is_reminded_at_the_start_of_its_due_date():
    from datetime import datetime

    from models.business_days import TZ
    from models.grievance import improvement_reminder

    due = datetime(2026, 12, 20, 17, 30, tzinfo=TZ)
    morning = datetime(2026, 12, 20, 8, 30, tzinfo=TZ)
    assert improvement_reminder(due, datetime(2026, 11, 25, 10, 0, tzinfo=TZ)) == morning
    assert improvement_reminder(due, datetime(2026, 12, 20, 8, 29, tzinfo=TZ)) == morning
    # asked on the due date itself (from 08:30 on): the usual halfway reminder
    assert improvement_reminder(due, morning) is None
    assert improvement_reminder(due, datetime(2026, 12, 20, 9, 0, tzinfo=TZ)) is None
    # a due time at or before the day's start has no reminder of its own that day
    assert improvement_reminder(datetime(2026, 12, 20, 8, 0, tzinfo=TZ), datetime(2026, 12, 1, 9, 0, tzinfo=TZ)) is None
    assert improvement_reminder(morning, datetime(2026, 12, 1, 9, 0, tzinfo=TZ)) is None
