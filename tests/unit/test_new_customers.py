"""New-customer certification (§3, N1–N6): the pure rules, the application form, and the checks on a
case with fakes (in-memory store, fixed clock) — no Prefect."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from models.archive.records import TransactionIn
from models.business_days import TZ
from models.new_customers import (
    NewCustomerApplicationIn,
    add_months,
    application_summary,
    check_submission,
    first_transaction,
    history_check,
    history_text,
    lookback_start,
    names_match,
    submission_deadline,
)
from models.returns import returned_amount
from tasks.new_customer.steps import file_new_customer_application, form_summary, history_of, submission_check
from tasks.platform.intake import IntakeError
from tests.fakes import fake_services

FIRST = date(2026, 10, 15)
GOOD_ID = "11010519491231002X"


@dataclass
class T:
    reference: str
    on: date
    kind: str = "sale"
    amount: Decimal = Decimal("100.00")


def at(d: date, hh: int = 12, mm: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=TZ)


def stated(on: date = FIRST):
    return first_transaction(on, "FP-001", [])


# ---- N2: one month ---------------------------------------------------------------------------------
@pytest.mark.parametrize("first,deadline", [
    (date(2026, 10, 15), date(2026, 11, 15)),
    (date(2026, 1, 31), date(2026, 2, 28)),   # clamped to the end of February
    (date(2028, 1, 31), date(2028, 2, 29)),   # leap year
    (date(2026, 12, 31), date(2027, 1, 31)),  # over the year end
    (date(2026, 3, 31), date(2026, 4, 30)),
])
def test_the_deadline_is_the_same_day_next_month_clamped(first, deadline):
    assert submission_deadline(first) == deadline


def test_one_month_exactly_is_accepted_one_day_later_refused():
    ok = check_submission(customer_name="甲公司", invoicing_name="甲公司", first=stated(),
                          submitted_at=at(date(2026, 11, 15), 23, 59))
    late = check_submission(customer_name="甲公司", invoicing_name="甲公司", first=stated(),
                            submitted_at=at(date(2026, 11, 16), 0, 1))
    assert ok.accepted and ok.on_time and ok.deadline == date(2026, 11, 15)
    assert not late.accepted and not late.on_time
    assert late.reasons == ["超过1个月，不给予认定：首次交易 2026-10-15，申请须于 2026-11-15 前提交，实际提交 2026-11-16"]


def test_the_submission_day_is_the_shanghai_date():
    # 2026-11-15 17:30 UTC is already 16 November in Shanghai: one day late
    from datetime import timezone

    late = check_submission(customer_name="甲", invoicing_name="甲", first=stated(),
                            submitted_at=datetime(2026, 11, 15, 17, 30, tzinfo=timezone.utc))
    assert late.submitted_on == date(2026, 11, 16) and not late.on_time


# ---- N2: the customer name equals the invoicing name ---------------------------------------------------
def test_names_are_compared_after_normalising_width_spaces_and_case():
    assert names_match("ABC（苏州）纺织有限公司", "ａｂｃ(苏州) 纺织有限公司")
    assert names_match(" 甲 公司 ", "甲公司")
    assert not names_match("甲纺织有限公司", "甲纺织有限责任公司")
    assert not names_match("", "")


def test_a_different_invoicing_name_is_refused_with_the_reason():
    c = check_submission(customer_name="苏州甲纺织有限公司", invoicing_name="苏州乙纺织有限公司", first=stated(),
                         submitted_at=at(date(2026, 10, 20)))
    assert not c.accepted and c.on_time and not c.same_name
    assert c.reasons == ["客户名称「苏州甲纺织有限公司」与开票资料名称「苏州乙纺织有限公司」不一致"]


# ---- the first transaction: stated, cross-checked with the history -------------------------------------
def test_the_recorded_sale_with_the_stated_reference_wins():
    recorded = [T("FP-001", date(2026, 9, 1)), T("FP-002", date(2026, 10, 15))]
    first = first_transaction(date(2026, 10, 15), "FP-001", recorded)
    assert (first.on, first.source) == (date(2026, 9, 1), "history")
    late = check_submission(customer_name="甲", invoicing_name="甲", first=first, submitted_at=at(date(2026, 10, 20)))
    assert not late.accepted and "（以交易记录为准）" in late.reasons[0]


def test_without_the_reference_in_the_history_the_stated_date_is_used():
    assert first_transaction(FIRST, "FP-001", [T("FP-009", date(2026, 9, 1))]).source == "stated"
    # a sample shipment is never the first transaction
    assert first_transaction(FIRST, "FP-001", [T("FP-001", date(2026, 9, 1), "sample")]).on == FIRST


# ---- N1: three years, samples excluded -------------------------------------------------------------
def test_lookback_boundary_days():
    assert lookback_start(date(2026, 10, 15)) == date(2023, 10, 15)
    assert lookback_start(date(2028, 2, 29)) == date(2025, 2, 28)
    assert add_months(date(2026, 1, 15), -1) == date(2025, 12, 15)


def test_a_trade_3_years_and_1_day_before_is_outside_3_years_minus_1_day_inside():
    three = date(2023, 10, 15)
    outside = history_check(FIRST, "FP-001", [T("OLD", three - timedelta(days=1))])
    inside = history_check(FIRST, "FP-001", [T("RECENT", three + timedelta(days=1))])
    boundary = history_check(FIRST, "FP-001", [T("EDGE", three)])
    assert outside.is_new and outside.trades == []
    assert not inside.is_new and [t["reference"] for t in inside.trades] == ["RECENT"]
    assert not boundary.is_new  # exactly three years before: inside (the window's first day)
    assert (inside.since, inside.until) == (three, date(2026, 10, 14))


def test_a_sample_only_history_is_a_new_customer_but_returns_count():
    samples = history_check(FIRST, "FP-001", [T("YP-1", date(2025, 5, 1), "sample"),
                                              T("YP-2", date(2026, 1, 1), "sample")])
    assert samples.is_new
    assert "无交易记录（样品不计）" in history_text(samples.as_record())
    assert not history_check(FIRST, "FP-001", [T("TH-1", date(2025, 5, 1), "return", Decimal("-5.00"))]).is_new


def test_the_first_transaction_and_later_trades_are_not_prior_trades():
    check = history_check(FIRST, "FP-001", [T("FP-001", FIRST), T("S-2", FIRST), T("S-3", date(2026, 10, 20))])
    assert check.is_new
    found = history_check(FIRST, "FP-001", [T("S-1", date(2025, 1, 2)), T("YP-1", date(2025, 1, 3), "sample")])
    text = history_text(found.as_record())
    assert "查到 1 笔交易" in text and "2025-01-02 销售 S-1 ¥100.00" in text and "YP-1" not in text


# ---- the form (N3) ----------------------------------------------------------------------------------
def application(**over):
    body = {
        "customer": {"name": "苏州新锦纺织有限公司", "invoicing_name": "苏州新锦纺织有限公司",
                     "customer_class": "enterprise", "contact_name": "陈先生", "phone": "13912345678",
                     "registration": {"credit_code": "91320500MA1XYZ1234"}, "address": "苏州工业园区"},
        "first_transaction": {"date": "2026-11-10", "amount": "35600.00", "reference": "XS-20261110-01"},
        "development_history": "展会结识，三次拜访，报价后试单",
        "evaluation": {"contribution": "年采购约 200 万", "long_term_impact": "带动华东经销", "credit": "预付款，信用良好"},
        "support_needed": "首批样品与技术支持",
        "salesperson": "lin.tao@huajin.example",
    }
    body.update(over)
    return body


def test_the_form_validates_each_field():
    NewCustomerApplicationIn.model_validate(application())
    bad = [
        {"customer": {**application()["customer"], "customer_class": "resident"}},  # resident: id_card
        {"customer": {**application()["customer"], "registration": {}}},  # enterprise: registration
        {"customer": {**application()["customer"], "archive_no": "DA-2026-000001"}},
        {"customer": {**application()["customer"], "phone": "12345"}},
        {"first_transaction": {"date": "2026-11-10", "amount": 35600.0, "reference": "X"}},
        {"evaluation": {"contribution": "x", "long_term_impact": "y"}},
        {"development_history": ""},
        {"unknown": 1},
    ]
    for over in bad:
        with pytest.raises(ValidationError):
            NewCustomerApplicationIn.model_validate(application(**over))
    resident = {**application()["customer"], "customer_class": "resident", "id_card": GOOD_ID, "registration": {}}
    NewCustomerApplicationIn.model_validate(application(customer=resident))


def test_the_form_as_read_masks_personal_data():
    resident = {**application()["customer"], "customer_class": "resident", "id_card": GOOD_ID}
    body = NewCustomerApplicationIn.model_validate(application(customer=resident)).model_dump(mode="json")
    form = application_summary("XK-2026-000001", body)
    text = " ".join(form.values())
    assert "13912345678" not in text and "139****5678" in text
    assert GOOD_ID not in text and "110105********002X" in text
    assert form["开拓经过"] == "展会结识，三次拜访，报价后试单" and form["评价·信用"] == "预付款，信用良好"


# ---- the checks on a case, with fakes ------------------------------------------------------------------
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)


@pytest.fixture
def svc(tmp_path):
    return fake_services(tmp_path, NOW)


def file(svc, **over):
    case, created = file_new_customer_application(svc, NewCustomerApplicationIn.model_validate(application(**over)))
    assert created
    return case


def test_filing_checks_the_salesperson_and_the_date(svc):
    with pytest.raises(IntakeError) as e:
        file(svc, salesperson="wu.jing@huajin.example")  # the market branch is no salesperson
    assert e.value.field == "salesperson"
    with pytest.raises(IntakeError) as e:
        file(svc, first_transaction={"date": "2026-11-26", "amount": "1.00", "reference": "X"})
    assert e.value.field == "first_transaction.date"
    assert svc.store.list_cases()[0] == 0
    case = file(svc, salesperson="Lin.Tao@huajin.example")
    assert case.case_no == "XK-2026-000001" and case.procedure == "new_customer" and case.state == "submitted"
    assert case.data["salesperson"] == "lin.tao@huajin.example"
    assert "archive_no" not in case.data["application"]["customer"]


def tx(ref, on, kind="sale", customer="苏州新锦纺织有限公司", invoicing_name=""):
    return TransactionIn(reference=ref, customer=customer, invoicing_name=invoicing_name, on=on,
                         amount=Decimal("10.00"), kind=kind)


def test_the_history_decides_the_first_transaction_of_a_case(svc):
    # the books say the stated sale was on 1 October: submitted 25 November, more than a month later
    svc.store.import_transactions([tx("XS-20261110-01", date(2026, 10, 1))])
    case = file(svc)
    check = submission_check(svc, case.case_no)
    assert check["first_transaction_source"] == "history" and not check["accepted"]
    assert check["first_transaction_on"] == "2026-10-01" and check["deadline"] == "2026-11-01"


def test_checks_are_computed_once_per_case(svc):
    case = file(svc)
    first = submission_check(svc, case.case_no)
    assert first["accepted"] and first["first_transaction_source"] == "stated"
    svc.store.import_transactions([tx("XS-20261110-01", date(2026, 9, 1))])  # imported meanwhile
    assert submission_check(svc, case.case_no) == first  # a re-run reads the kept result
    history = history_of(svc, case.case_no)
    assert history["is_new"]
    assert [e.kind for e in svc.store.events(case.case_no)].count("submission_checked") == 1


def test_the_history_check_finds_trades_by_customer_or_invoicing_name(svc):
    svc.store.import_transactions([
        tx("OLD-1", date(2023, 11, 9)),                                     # 3 years + 1 day before: outside
        tx("S-1", date(2024, 3, 1), customer="新锦纺织", invoicing_name="苏州新锦纺织有限公司"),
        tx("YP-1", date(2025, 3, 1), kind="sample"),                        # samples never count
        tx("R-1", date(2025, 4, 1), kind="return", customer="别的客户", invoicing_name="别的客户"),
    ])
    case = file(svc)
    assert submission_check(svc, case.case_no)["accepted"]
    history = history_of(svc, case.case_no)
    assert [t["reference"] for t in history["trades"]] == ["S-1"]
    assert history["since"] == "2023-11-10" and history["until"] == "2026-11-09"
    summary = form_summary({"case_no": case.case_no, "data": svc.store.get_case(case.case_no).data})
    assert "查到 1 笔交易" in summary["三年交易记录核查"] and "按规定不予认定" in summary["三年交易记录核查"]
    assert "139****5678" in summary["联系人 / 电话"]


def test_a_booked_return_is_a_negative_transaction_for_the_quantity_booked():
    assert returned_amount(Decimal("12800.00"), 100, 98) == Decimal("-12544.00")
    assert returned_amount(Decimal("100.00"), 3, 1) == Decimal("-33.33")
    assert returned_amount(Decimal("100.00"), 3, 3) == Decimal("-100.00")


# ---- decision points the mutation run of `models/new_customers.py` found untested (session 13) -----------
def test_n3_a_float_amount_is_refused_naming_the_amount_and_a_naive_submission_time_too():
    from models.new_customers import local_date

    with pytest.raises(ValidationError, match="amount must be a decimal string, not a float"):
        NewCustomerApplicationIn.model_validate(application(
            first_transaction={"date": "2026-11-10", "amount": 35600.0, "reference": "X"}))
    with pytest.raises(ValueError, match="an aware datetime is needed"):
        local_date(datetime(2026, 11, 10, 12, 0))


def test_n2_a_late_submission_says_the_recorded_date_was_used_only_when_it_differs_from_the_stated_one():
    recorded = first_transaction(date(2026, 10, 16), "FP-001", [T("FP-001", FIRST)])
    late = check_submission(customer_name="甲", invoicing_name="甲", first=recorded, submitted_at=at(date(2026, 11, 16)))
    assert late.reasons == ["超过1个月，不给予认定：首次交易 2026-10-15（以交易记录为准），申请须于 2026-11-15 前提交，"
                            "实际提交 2026-11-16"]
    assert late.as_record() == {"first_transaction_on": "2026-10-15", "first_transaction_source": "history",
                                "stated_on": "2026-10-16", "submitted_on": "2026-11-16", "deadline": "2026-11-15",
                                "on_time": False, "same_name": True, "accepted": False, "reasons": late.reasons}
    same = first_transaction(FIRST, "FP-001", [T("FP-001", FIRST)])
    late = check_submission(customer_name="甲", invoicing_name="乙", first=same, submitted_at=at(date(2026, 11, 16)))
    assert late.reasons[0] == "超过1个月，不给予认定：首次交易 2026-10-15，申请须于 2026-11-15 前提交，实际提交 2026-11-16"
    assert late.as_record()["same_name"] is False and late.as_record()["on_time"] is False
    ok = check_submission(customer_name="甲", invoicing_name="甲", first=same, submitted_at=at(FIRST))
    assert ok.as_record()["same_name"] is True and ok.as_record()["accepted"] is True


def test_n1_a_trade_the_day_before_the_first_transaction_is_a_prior_trade_recorded_with_its_kind():
    found = history_check(FIRST, "FP-001", [T("S-2", date(2026, 10, 14)), T("R-1", date(2025, 3, 1), "return")])
    assert found.trades == [
        {"reference": "R-1", "on": "2025-03-01", "kind": "return", "kind_label": "退货", "amount": "100.00"},
        {"reference": "S-2", "on": "2026-10-14", "kind": "sale", "kind_label": "销售", "amount": "100.00"}]
    assert history_text(found.as_record()) == ("2023-10-15 至 2026-10-14 查到 2 笔交易（样品不计）："
                                               "2025-03-01 退货 R-1 ¥100.00；2026-10-14 销售 S-2 ¥100.00")
    assert history_text(history_check(FIRST, "FP-001", []).as_record()) == \
        "2023-10-15 至 2026-10-14 无交易记录（样品不计），符合新客户条件"


def test_n3_the_form_as_read_has_every_label_with_blanks_as_dashes():
    resident = {**application()["customer"], "customer_class": "resident", "id_card": GOOD_ID,
                "registration": {"credit_code": "91320500MA1XYZ1234", "bank": "工行苏州分行"}}
    body = NewCustomerApplicationIn.model_validate(application(customer=resident)).model_dump(mode="json")
    assert application_summary("XK-2026-000001", body) == {
        "申请编号": "XK-2026-000001", "客户名称": "苏州新锦纺织有限公司", "开票资料名称": "苏州新锦纺织有限公司",
        "客户类别": "个人居民", "联系人 / 电话": "陈先生 / 139****5678", "身份证号码": "110105********002X",
        "注册资料": "credit_code: 91320500MA1XYZ1234；bank: 工行苏州分行", "地址": "苏州工业园区",
        "首次交易": "2026-11-10 ¥35600.00（单据号 XS-20261110-01）", "开拓经过": "展会结识，三次拜访，报价后试单",
        "评价·贡献": "年采购约 200 万", "评价·长期销售影响": "带动华东经销", "评价·信用": "预付款，信用良好",
        "需要支持": "首批样品与技术支持", "业务员": "lin.tao@huajin.example"}
    bare = {"name": "苏州新锦", "invoicing_name": "苏州新锦", "customer_class": "lessee"}
    body = NewCustomerApplicationIn.model_validate(application(customer=bare, support_needed="")).model_dump(mode="json")
    form = application_summary("XK-2026-000002", body)
    assert form["联系人 / 电话"] == "— / —" and form["需要支持"] == "—" and form["客户类别"] == "承租户"
    assert not {"身份证号码", "注册资料", "地址"} & set(form)
