"""Complaint procedure rules C1–C13 (procedures §1): each test fails if its rule is removed or
changed. Calendar-dependent expectations are checked against `BusinessCalendar()` itself."""

from __future__ import annotations

import typing
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from models.business_days import TZ, BusinessCalendar
from models.complaint.handling import (
    CATEGORIES,
    CHANNEL_LABELS,
    KIND_LABELS,
    LEVEL_LABELS,
    OUTCOME_LABELS,
    RETENTION_YEARS,
    SATISFACTION_LABELS,
    Channel,
    ComplaintIn,
    Kind,
    Penalty,
    closing_without_satisfaction_penalty,
    complaint_deadlines,
    escalated_level,
    first_contact_penalty,
    level_after_days_open,
    next_progress_contact,
    overdue_notices,
    progress_interval_business_days,
    propose_level,
    recused_people,
    retention_until,
    return_visit_due,
    return_visit_role,
    routing,
    routing_penalty,
    satisfaction_outcome,
    starts_return_flow,
    validity_next_step,
)

CAL = BusinessCalendar()


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def body(**over) -> dict:
    b = {
        "complainant": {"name": "王芳", "phone": "13812345678", "email": "wang.fang@example.com"},
        "kind": "consumer",
        "channel": "phone",
        "category": "维修服务",
        "description": "空调维修后仍不制冷",
        "event": {"time": "2026-03-01 下午", "place": "南京路店"},
        "stores": ["南京路店"],
        "persons_involved": ["李娜"],
        "products": [{"name": "空调", "code": "KT-100"}],
        "demand": "上门重新维修",
        "received_by": "li.na@huajin.example",
        "received_at": "2026-03-09T10:00:00+08:00",
    }
    b.update(over)
    return b


def complaint(**over) -> ComplaintIn:
    return ComplaintIn.model_validate(body(**over))


# ---- C1 intake ------------------------------------------------------------------------------
def test_c1_full_form_is_accepted_and_stripped():
    c = complaint(description="  空调维修后仍不制冷  ")
    assert c.description == "空调维修后仍不制冷"
    assert c.complainant.phone == "13812345678"
    assert c.products[0].code == "KT-100"
    assert c.received_at == at(2026, 3, 9)
    assert c.foreign is False and c.hotline_12315 is False and c.repeat_event_ref is None


def test_c1_minimal_form_defaults():
    c = ComplaintIn.model_validate({"complainant": {"name": "王芳", "phone": "021-58881234"},
                                    "kind": "franchisee", "channel": "web", "category": "货运",
                                    "description": "到货数量不足"})
    assert c.stores == [] and c.persons_involved == [] and c.products == [] and c.demand == ""
    assert c.received_at is None and c.complainant.email is None


def test_c1_vocabularies_match_the_spec():
    assert set(CATEGORIES) == {"工程质量", "规划设计", "销售管理", "物业管理", "服务行为", "维修服务",
                               "外部环境", "产品质量", "货运", "政策"}
    assert set(CHANNEL_LABELS) == set(typing.get_args(Channel)) == {
        "phone", "sms", "letter", "fax", "web", "onsite", "written", "forwarded"}  # C28 转来
    assert set(KIND_LABELS) == set(typing.get_args(Kind)) == {"consumer", "franchisee"}
    assert KIND_LABELS["consumer"] == "消费者投诉" and KIND_LABELS["franchisee"] == "加盟商投诉"
    assert LEVEL_LABELS == {1: "一级（普通投诉）", 2: "二级（较严重投诉）", 3: "三级（非常严重投诉）"}
    assert SATISFACTION_LABELS == {1: "非常满意", 2: "满意", 3: "可理解/接受", 4: "不满意", 5: "很不满意"}
    assert OUTCOME_LABELS == {"explanation": "仅解释说明", "repair": "维修", "replacement": "更换",
                              "allowance": "折让/赔款", "return": "退货/重处理"}


@pytest.mark.parametrize("channel", sorted(CHANNEL_LABELS))
def test_c1_every_channel_accepted(channel):
    forwarded = {"forwarded": {"forwarder": "other", "forwarder_name": "甲", "reference": "1",
                               "company_received_at": "2026-03-09T10:00:00+08:00"}} if channel == "forwarded" else {}
    assert complaint(channel=channel, **forwarded).channel == channel


@pytest.mark.parametrize("category", CATEGORIES)
def test_c1_every_category_accepted(category):
    assert complaint(category=category).category == category


@pytest.mark.parametrize("over", [
    {"unknown": 1},
    {"complainant": {"name": "王芳", "phone": "13812345678", "wechat": "wf"}},
    {"event": {"time": "", "place": "", "weather": "rain"}},
    {"products": [{"name": "空调", "code": "KT", "price": 1}]},
    {"channel": "email"},
    {"channel": "电话"},
    {"category": "价格"},
    {"category": "quality"},
    {"kind": "supplier"},
    {"received_at": "2026-03-09T10:00:00"},
    {"description": ""},
    {"description": "x" * 5001},
    {"demand": "x" * 2001},
    {"complainant": {"name": "", "phone": "13812345678"}},
    {"complainant": {"name": "王" * 51, "phone": "13812345678"}},
    {"complainant": {"name": "王芳", "phone": "13812345678", "email": "not-an-email"}},
    {"received_by": "li.na"},
    {"event": {"time": "x" * 101, "place": ""}},
])
def test_c1_invalid_input_rejected(over):
    with pytest.raises(ValidationError):
        complaint(**over)


def test_c1_naive_received_at_names_the_problem():
    with pytest.raises(ValidationError, match="must include a time zone"):
        complaint(received_at=datetime(2026, 3, 9, 10, 0))


@pytest.mark.parametrize("phone", ["12345678901", "1381234567", "138123456789", "10086", "abcdefghijk",
                                   "138-1234-5678x", "0000000", "02158881234567890123", "+8613812345678"])
def test_c1_bad_phone_rejected(phone):
    with pytest.raises(ValidationError):
        complaint(complainant={"name": "王芳", "phone": phone})


@pytest.mark.parametrize("phone", ["13812345678", "19912345678", "021-58881234", "02158881234",
                                   "0755-12345678", "58881234", "021-58881234-801", " 13812345678 "])
def test_c1_good_phones_accepted(phone):
    assert complaint(complainant={"name": "王芳", "phone": phone}).complainant.phone == phone.strip()


# ---- C2 validity -----------------------------------------------------------------------------
def test_c2_not_established_closes_after_a_polite_explanation():
    assert validity_next_step(True) == "handle"
    assert validity_next_step(False, "经核实为正常色差，已向客户说明") == "close_not_established"
    with pytest.raises(ValueError):
        validity_next_step(False, "  ")


# ---- C3 levels -------------------------------------------------------------------------------
def test_c3_concrete_problem_is_level_1():
    level, reasons = propose_level(complaint())
    assert level == 1 and reasons and all(isinstance(r, str) for r in reasons)


@pytest.mark.parametrize("flag,word", [("hotline_12315", "12315"), ("media", "媒体"),
                                       ("batch", "批量"), ("department_failed_to_act", "不作为")])
def test_c3_level_3_triggers(flag, word):
    level, reasons = propose_level(complaint(**{flag: True}))
    assert level == 3
    assert any(word in r for r in reasons)


@pytest.mark.parametrize("over,word", [
    ({"emotional": True}, "情绪"),
    ({"repeat_event_ref": "TS-2026-0001"}, "TS-2026-0001"),
    ({"category": "服务行为"}, "服务"),
    ({"category": "政策"}, "政策"),
])
def test_c3_level_2_triggers(over, word):
    level, reasons = propose_level(complaint(**over))
    assert level == 2
    assert any(word in r for r in reasons)


def test_c3_same_customer_same_event_is_at_least_level_2():
    assert propose_level(complaint())[0] == 1
    assert propose_level(complaint(), same_customer_same_event=True)[0] == 2


def test_c3_level_3_wins_and_keeps_all_reasons():
    level, reasons = propose_level(complaint(hotline_12315=True, emotional=True))
    assert level == 3
    assert any("12315" in r for r in reasons) and any("情绪" in r for r in reasons)


def test_c3_unresolved_after_10_days_becomes_major():
    opened = at(2026, 3, 9)
    assert level_after_days_open(1, opened, opened + timedelta(days=10)) == 1
    assert level_after_days_open(1, opened, opened + timedelta(days=10, minutes=1)) == 2
    assert level_after_days_open(2, opened, opened + timedelta(days=30)) == 2
    assert level_after_days_open(3, opened, opened + timedelta(days=30)) == 3


# ---- C4 first contact ------------------------------------------------------------------------
def test_c4_first_contact_one_business_day_on_a_plain_weekday():
    d = complaint_deadlines(at(2026, 3, 10, 14, 30), 1, "维修服务", False, CAL)  # Tuesday
    assert d.first_contact == at(2026, 3, 11, 14, 30)


def test_c4_friday_receipt_skips_the_weekend():
    friday = at(2026, 3, 13, 16, 0)
    assert friday.weekday() == 4
    assert CAL.is_workday(date(2026, 3, 16)) and not CAL.is_workday(date(2026, 3, 14))
    d = complaint_deadlines(friday, 1, "维修服务", False, CAL)
    assert d.first_contact == at(2026, 3, 16, 16, 0)  # Monday, same time


def test_c4_national_day_2026():
    # the holidays package: 2026-10-01..07 holidays, Saturday 2026-10-10 a make-up workday.
    assert all(not CAL.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert CAL.is_workday(date(2026, 9, 30)) and CAL.is_workday(date(2026, 10, 8))
    assert CAL.is_workday(date(2026, 10, 10)) and date(2026, 10, 10).weekday() == 5
    assert not CAL.is_workday(date(2026, 10, 11))
    fc = lambda t: complaint_deadlines(t, 1, "货运", False, CAL).first_contact  # noqa: E731
    assert fc(at(2026, 9, 30, 10)) == at(2026, 10, 8, 10)
    assert fc(at(2026, 10, 3, 10)) == at(2026, 10, 9, 0)   # received on a holiday: clock starts 10-08 00:00
    assert fc(at(2026, 10, 9, 15)) == at(2026, 10, 10, 15)  # Friday → make-up Saturday
    assert fc(at(2026, 10, 10, 15)) == at(2026, 10, 12, 15)  # make-up Saturday → Monday


def test_c4_c12_first_contact_penalty_edge():
    received = at(2026, 3, 13, 16, 0)  # Friday
    due = at(2026, 3, 16, 16, 0)       # Monday
    assert first_contact_penalty(received, due, due + timedelta(days=5), CAL) is None
    p = first_contact_penalty(received, due + timedelta(minutes=1), due + timedelta(days=5), CAL,
                              handler="li.na@huajin.example")
    assert isinstance(p, Penalty)
    assert p.amount == Decimal("30") and p.rule == "first_contact_late"
    assert p.handler == "li.na@huajin.example" and "1个工作日" in p.reason


def test_c4_c12_missing_first_contact_penalised_only_after_the_deadline():
    received = at(2026, 3, 13, 16, 0)
    due = at(2026, 3, 16, 16, 0)
    assert first_contact_penalty(received, None, due, CAL) is None
    assert first_contact_penalty(received, None, at(2026, 3, 15, 12), CAL) is None  # Sunday: not late yet
    p = first_contact_penalty(received, None, due + timedelta(minutes=1), CAL)
    assert p is not None and p.amount == Decimal("30")


# ---- C5 routing ------------------------------------------------------------------------------
def test_c5_level_1_routing():
    r = routing(1)
    assert r.handler == "l1_handler" and r.reviewers == ("l2_handler",)
    assert r.archiver == "archive_clerk" and r.informed == ()


def test_c5_level_2_routing():
    r = routing(2)
    assert r.handler == "l2_handler" and r.reviewers == ("l3_sales_director",)
    assert r.reported_via == ("l1_handler",) and r.archiver == "archive_clerk"


def test_c5_level_3_routing():
    r = routing(3)
    assert r.handler == "l3_sales_director"
    assert "l3_admin_director" in r.informed
    assert r.reported_via[-1] == "l2_handler"
    assert r.reviewers == ("general_manager",) and r.archiver == "archive_clerk"


def test_c5_c6_nobody_approves_their_own_solution():
    for level in (1, 2, 3):
        r = routing(level)
        assert "quality_lead" in r.solution_approvers
        assert r.handler not in r.solution_approvers and r.handler not in r.reviewers


def test_c5_escalation_goes_one_level_up_and_stops_at_3():
    assert [escalated_level(n) for n in (1, 2, 3)] == [2, 3, 3]
    with pytest.raises(ValueError):
        routing(4)
    with pytest.raises(ValueError):
        escalated_level(0)


# ---- C6 investigation ------------------------------------------------------------------------
def test_c6_plan_within_one_business_day_and_gm_report_three_business_days_later():
    friday = at(2026, 3, 13, 16, 0)
    d = complaint_deadlines(friday, 2, "产品质量", False, CAL)
    assert d.plan == at(2026, 3, 16, 16, 0)       # Monday
    assert d.gm_report == at(2026, 3, 19, 16, 0)  # Thursday
    hd = complaint_deadlines(at(2026, 9, 30, 10), 2, "产品质量", False, CAL)
    assert hd.plan == at(2026, 10, 8, 10)
    assert hd.gm_report == at(2026, 10, 12, 10)  # 10-09, 10-10 (make-up Saturday), 10-12


# ---- C7 progress contact ---------------------------------------------------------------------
def test_c7_progress_interval_by_level():
    assert progress_interval_business_days(1) == 5
    assert progress_interval_business_days(2) == 3 and progress_interval_business_days(3) == 3
    assert progress_interval_business_days(2, major_interval=2) == 2
    assert progress_interval_business_days(1, major_interval=2) == 5
    assert complaint_deadlines(at(2026, 3, 9), 1, "货运", False, CAL).progress_interval_business_days == 5
    assert complaint_deadlines(at(2026, 3, 9), 3, "货运", False, CAL,
                               major_progress_interval=2).progress_interval_business_days == 2
    with pytest.raises(ValueError):
        progress_interval_business_days(2, major_interval=0)


def test_c7_next_progress_contact_counts_business_days():
    monday = at(2026, 3, 9)
    assert next_progress_contact(monday, 1, CAL) == at(2026, 3, 16)  # a week later
    assert next_progress_contact(monday, 2, CAL) == at(2026, 3, 12)  # Thursday
    assert next_progress_contact(at(2026, 3, 12), 2, CAL) == at(2026, 3, 17)  # over the weekend


# ---- C8 closing deadlines and notices --------------------------------------------------------
@pytest.mark.parametrize("category,foreign,days,rule", [
    ("维修服务", False, 7, "ordinary"),
    ("维修服务", True, 7, "ordinary"),        # foreign but not a product complaint: 7 (stricter)
    ("服务行为", False, 7, "ordinary"),
    ("产品质量", False, 15, "product_domestic"),
    ("产品质量", True, 20, "product_foreign"),
])
def test_c8_close_deadline(category, foreign, days, rule):
    received = at(2026, 3, 9, 11, 15)
    d = complaint_deadlines(received, 1, category, foreign, CAL)
    assert d.close == received + timedelta(days=days)
    assert d.close_days == days and d.close_rule == rule


def test_c8_reminder_one_business_day_before_close():
    d = complaint_deadlines(at(2026, 3, 9), 1, "货运", False, CAL)  # Monday
    assert d.close == at(2026, 3, 16)
    assert d.remind_before_close == at(2026, 3, 13)  # the Friday before
    d15 = complaint_deadlines(at(2026, 3, 9), 1, "产品质量", False, CAL)
    assert d15.close == at(2026, 3, 24) and d15.remind_before_close == at(2026, 3, 23)


def test_c8_reminder_over_national_day_stays_between_receipt_and_close():
    received = at(2026, 9, 30, 10)
    d = complaint_deadlines(received, 1, "货运", False, CAL)
    assert d.close == at(2026, 10, 7, 10)
    assert received < d.remind_before_close < d.close


def test_c8_optional_roll_to_next_workday():
    received = at(2026, 9, 30, 10)
    d = complaint_deadlines(received, 1, "货运", False, CAL, roll_close_to_workday=True)
    assert d.close == at(2026, 10, 8, 10)


def test_c8_notices():
    close = at(2026, 3, 16)
    remind = at(2026, 3, 13)
    n = lambda now, closed=None: overdue_notices(close, now, closed, remind_at=remind)  # noqa: E731
    assert n(at(2026, 3, 12)) == []
    assert n(remind) == ["reminder"]
    assert n(close) == ["reminder"]
    assert n(close + timedelta(minutes=1)) == ["urge_notice"]
    assert n(close + timedelta(days=3), closed=close) == []
    assert n(close + timedelta(days=3), closed=close + timedelta(minutes=1)) == ["inquiry_notice"]
    assert n(at(2026, 3, 14), closed=at(2026, 3, 12)) == []


def test_c8_notice_default_window_uses_the_calendar():
    close = at(2026, 3, 16)  # Monday: the window opens Friday at the same time
    assert overdue_notices(close, at(2026, 3, 13, 9, 59), None, calendar=CAL) == []
    assert overdue_notices(close, at(2026, 3, 13, 10, 0), None, calendar=CAL) == ["reminder"]


# ---- C9 satisfaction -------------------------------------------------------------------------
@pytest.mark.parametrize("score,level,expected", [
    (1, 1, "close"), (2, 2, "close"), (3, 1, "close"), (3, 3, "close"),
    (4, 1, "escalate"), (5, 1, "escalate"), (4, 2, "escalate"), (5, 2, "escalate"),
    (4, 3, "gm_meeting"), (5, 3, "gm_meeting"),
])
def test_c9_satisfaction(score, level, expected):
    assert satisfaction_outcome(score, level) == expected


@pytest.mark.parametrize("score", [0, 6, -1, True, "3", 3.0, None])
def test_c9_invalid_score(score):
    with pytest.raises(ValueError):
        satisfaction_outcome(score, 1)


# ---- C10 return visit ------------------------------------------------------------------------
def test_c10_return_visit_within_24_hours_by_the_right_role():
    assert return_visit_due(at(2026, 3, 13, 16)) == at(2026, 3, 14, 16)  # calendar hours, weekend too
    assert return_visit_role(1) == "l1_handler"
    assert return_visit_role(2) == "area_manager" and return_visit_role(3) == "area_manager"


# ---- C11 outcome -----------------------------------------------------------------------------
def test_c11_outcome_is_the_answer_model_with_a_decimal_loss():
    from models.complaint.answers import ComplaintOutcome

    o = ComplaintOutcome(handling="allowance", responsibility_department="质检部", our_fault=True,
                         loss_amount="1234.5")
    assert isinstance(o.loss_amount, Decimal) and o.loss_amount == Decimal("1234.50")
    assert o.human_negligence is False and o.responsible_person == "" and o.our_fault is True
    for bad in ("-0.01", "1.005"):
        with pytest.raises(ValidationError):
            ComplaintOutcome(handling="repair", responsibility_department="质检部", loss_amount=bad)
    with pytest.raises(ValidationError):
        ComplaintOutcome(handling="refund", responsibility_department="质检部")
    import models.complaint.handling

    assert not hasattr(models.complaint.handling, "Outcome")  # one source of truth for the outcome's fields


def test_c11_allowance_and_return_start_the_return_flow():
    assert starts_return_flow("allowance") == "allowance"
    assert starts_return_flow("return") == "return"
    for h in ("explanation", "repair", "replacement"):
        assert starts_return_flow(h) is None


# ---- C12 penalties ---------------------------------------------------------------------------
def test_c12_routing_penalty_range():
    assert routing_penalty(30).amount == Decimal("30")
    assert routing_penalty("100").amount == Decimal("100")
    assert routing_penalty(Decimal("55.5"), handler="li.na@huajin.example").rule == "routing_not_followed"
    for bad in (29, "29.99", 101, "100.01"):
        with pytest.raises(ValueError):
            routing_penalty(bad)


def test_c12_closing_without_satisfaction_penalty_range():
    p = closing_without_satisfaction_penalty(50)
    assert p.amount == Decimal("50") and p.rule == "closing_without_satisfaction"
    assert closing_without_satisfaction_penalty(100, faked=True).amount == Decimal("100")
    assert "舞弊" in closing_without_satisfaction_penalty(80, faked=True).reason
    for bad in (30, 49, 101):
        with pytest.raises(ValueError):
            closing_without_satisfaction_penalty(bad)


# ---- recusal (000 «2»: 被投诉人应当回避) -----------------------------------------------------
def test_recusal_resolves_names_and_emails():
    directory = {"李娜": "Li.Na@huajin.example", "周敏": "zhou.min@huajin.example"}
    out = recused_people(["李娜", " Chen.Jing@Huajin.example ", "不认识的人", ""], directory.get)
    assert out == {"li.na@huajin.example", "chen.jing@huajin.example"}
    assert recused_people(complaint().persons_involved, directory.get) == {"li.na@huajin.example"}


# ---- C13 archive -----------------------------------------------------------------------------
def test_c13_retention_at_least_two_years():
    assert RETENTION_YEARS == 2
    assert retention_until(at(2026, 3, 16, 18)) == date(2028, 3, 16)
    assert retention_until(date(2028, 2, 29)) == date(2030, 3, 1)
    # Closing time is read in Asia/Shanghai: 2026-12-31 20:00 UTC is 2027-01-01 there.
    from datetime import timezone
    assert retention_until(datetime(2026, 12, 31, 20, 0, tzinfo=timezone.utc)) == date(2029, 1, 1)
