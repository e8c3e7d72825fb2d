"""Complaint rules C2–C13 (procedures §1, `models/complaint/handling.py`) at their edges: each reason,
refusal and record text in full, each boundary on both sides, and the guards' exact reach — the
decision points mutation testing found unchecked by `test_complaint_rules.py` (docs/testing.md,
session 15)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from models.business_days import TZ, BusinessCalendar
from models.complaint.handling import (
    ComplaintData,
    ComplaintIn,
    Routing,
    _aware,
    _aware_in_range,
    _check_level,
    _iso_with_zone,
    _money,
    _roll_to_workday,
    close_reminder_at,
    closing_without_satisfaction_penalty,
    complaint_deadlines,
    escalated_level,
    first_contact_penalty,
    level_after_days_open,
    next_progress_contact,
    overdue_notices,
    previous_business_moment,
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
    visit_action,
    visit_unsatisfactory,
)

CAL = BusinessCalendar()


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


class NoOffset(tzinfo):
    """A time zone that does not know its offset: such a datetime is naive for Python."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "?"


class EveryDay:
    """A calendar where every day is a workday (weekends too)."""

    def is_workday(self, d: date) -> bool:
        return True


class OnlyOn:
    """A calendar with a single workday."""

    def __init__(self, day: date) -> None:
        self.day = day

    def is_workday(self, d: date) -> bool:
        return d == self.day


def body(**over) -> dict:
    b = {
        "complainant": {"name": "王芳", "phone": "13812345678", "email": "wang.fang@example.com"},
        "kind": "consumer", "channel": "phone", "category": "维修服务", "description": "空调维修后仍不制冷",
        "received_by": "li.na@huajin.example", "received_at": "2026-03-09T10:00:00+08:00",
    }
    b.update(over)
    return b


def complaint(**over) -> ComplaintIn:
    return ComplaintIn.model_validate(body(**over))


# ---- the input's times and levels ------------------------------------------------------------------
def test_iso_text_is_taken_stripped_and_anything_else_is_refused_by_name():
    assert _iso_with_zone(" 2026-03-09T10:00:00+08:00 ") == "2026-03-09T10:00:00+08:00"
    assert _iso_with_zone(None) is None
    moment = at(2026, 3, 9)
    assert _iso_with_zone(moment) is moment
    for bad in (1773021600, "1773021600", "2026-03-09", "2026-03-09T10:00:00", b"2026-03-09T10:00:00+08:00"):
        with pytest.raises(PydanticCustomError) as e:
            _iso_with_zone(bad)
        assert e.value.type == "iso_datetime_with_zone"
        assert e.value.message() == "must be ISO-8601 text with a time zone, e.g. 2026-11-25T10:00:00+08:00"


def test_a_received_time_must_know_its_offset_and_be_within_a_datetimes_range():
    assert _aware_in_range(None) is None
    moment = at(2026, 3, 9)
    assert _aware_in_range(moment) is moment
    for naive in (datetime(2026, 3, 9, 10), datetime(2026, 3, 9, 10, tzinfo=NoOffset())):
        with pytest.raises(ValueError, match=r"^must include a time zone \(e\.g\. \+08:00\) / 必须包含时区$"):
            _aware_in_range(naive)
    with pytest.raises(PydanticCustomError) as e:
        _aware_in_range(datetime.fromisoformat("0001-01-01T00:00:00+14:00"))
    assert e.value.type == "datetime_out_of_range" and e.value.message() == "is out of range"
    with pytest.raises(PydanticCustomError, match="is out of range"):  # past the last day in Shanghai, whatever the local zone
        _aware_in_range(datetime(9999, 12, 31, 23, 0, tzinfo=timezone.utc))
    with pytest.raises(ValidationError, match="is out of range"):
        complaint(received_at="0001-01-01T00:00:00+14:00")


@pytest.mark.parametrize("level", [0, 4, True, False, "2", 2.5, None])
def test_a_level_is_1_2_or_3_and_nothing_else(level):
    with pytest.raises(ValueError, match=rf"^level must be 1, 2 or 3, got {level!r}$".replace(".", r"\.")):
        _check_level(level)


def test_a_level_given_as_1_2_or_3_is_returned_as_the_int():
    assert [_check_level(n) for n in (1, 2, 3)] == [1, 2, 3]
    assert type(_check_level(2)) is int


def test_aware_times_are_read_in_shanghai_and_naive_ones_refused_naming_the_argument():
    utc = datetime(2026, 3, 9, 2, 0, tzinfo=timezone.utc)
    got = _aware(utc, "now")
    assert got == at(2026, 3, 9) and got.tzinfo is TZ and got.hour == 10
    for naive in (datetime(2026, 3, 9, 10), datetime(2026, 3, 9, 10, tzinfo=NoOffset())):
        with pytest.raises(ValueError, match=r"^now: naive datetime, pass an aware datetime$"):
            _aware(naive, "now")


@pytest.mark.parametrize("call,name", [
    (lambda n: level_after_days_open(1, n, at(2026, 3, 9)), "opened_at"),
    (lambda n: level_after_days_open(1, at(2026, 3, 9), n), "now"),
    (lambda n: previous_business_moment(n, CAL), "t"),
    (lambda n: close_reminder_at(n, CAL), "close_due"),
    (lambda n: close_reminder_at(at(2026, 3, 16), CAL, n), "received_at"),
    (lambda n: complaint_deadlines(n, 1, "货运", False, CAL), "received_at"),
    (lambda n: overdue_notices(n, at(2026, 3, 9), None), "close_due"),
    (lambda n: overdue_notices(at(2026, 3, 16), n, None), "now"),
    (lambda n: overdue_notices(at(2026, 3, 16), at(2026, 3, 9), n), "closed_at"),
    (lambda n: overdue_notices(at(2026, 3, 16), at(2026, 3, 9), None, remind_at=n), "remind_at"),
    (lambda n: return_visit_due(n), "resolved_at"),
    (lambda n: first_contact_penalty(at(2026, 3, 9), n, at(2026, 3, 9), CAL), "contacted_at"),
    (lambda n: first_contact_penalty(at(2026, 3, 9), None, n, CAL), "now"),
    (lambda n: retention_until(n), "closed_at"),
])
def test_every_rule_refuses_a_naive_time_naming_it(call, name):
    with pytest.raises(ValueError, match=rf"^{name}: naive datetime, pass an aware datetime$"):
        call(datetime(2026, 3, 9, 10))


def test_an_amount_is_yuan_to_the_fen_and_anything_else_is_refused_naming_it():
    assert str(_money(30)) == "30.00" and str(_money("55.5")) == "55.50" and str(_money(55.5)) == "55.50"
    assert str(_money(Decimal("55.555"))) == "55.56" and str(_money("0.1")) == "0.10"
    for bad, shown in (("abc", "'abc'"), ("Infinity", "'Infinity'"), (Decimal("NaN"), "Decimal('NaN')"),
                       (float("inf"), "inf")):
        with pytest.raises(ValueError, match=rf"^invalid amount {shown}$".replace("(", r"\(").replace(")", r"\)")):
            _money(bad)


# ---- C2 validity -------------------------------------------------------------------------------------
def test_c2_a_complaint_that_does_not_stand_needs_the_explanation_given():
    with pytest.raises(ValueError, match="^投诉不成立时须向客户委婉说明 / a polite explanation to the customer is required$"):
        validity_next_step(False)
    assert validity_next_step(True, "") == "handle"


# ---- C3 levels ---------------------------------------------------------------------------------------
def test_c3_every_reason_is_given_in_full_level_3_first():
    forwarded = {"forwarder": "government", "forwarder_name": "市市场监管局", "reference": "沪监 2026-1",
                 "company_received_at": "2026-03-09T10:00:00+08:00"}
    c = complaint(channel="forwarded", forwarded=forwarded, hotline_12315=True, media=True, batch=True,
                  department_failed_to_act=True, repeat_event_ref="TS-2026-0001", emotional=True, category="服务行为")
    assert propose_level(c) == (3, [
        "三级：消费者已投诉至 12315 热线", "三级：媒体介入，可能影响公司声誉", "三级：新品质量批量投诉",
        "三级：投诉职能部门不作为", "三级：政府机关转来（市市场监管局）",
        "二级：同一客户针对同一事件的二次投诉（前次投诉 TS-2026-0001）", "二级：带有情绪反馈的投诉",
        "二级：对服务态度/服务质量不满的投诉"])


def test_c3_each_level_2_reason_in_full():
    assert propose_level(complaint(category="政策")) == (2, ["二级：对政策不理解、不满意的投诉"])
    assert propose_level(complaint(), same_customer_same_event=True) == (2, ["二级：同一客户针对同一事件的二次投诉"])
    assert propose_level(complaint(emotional=True, category="服务行为")) == (
        2, ["二级：带有情绪反馈的投诉", "二级：对服务态度/服务质量不满的投诉"])
    assert propose_level(complaint(repeat_event_ref="TS-9"), same_customer_same_event=True) == (
        2, ["二级：同一客户针对同一事件的二次投诉（前次投诉 TS-9）"])


def test_c3_c28_a_judicial_forward_is_level_3_and_another_forward_is_not():
    fw = lambda who: complaint(channel="forwarded", forwarded={  # noqa: E731
        "forwarder": who, "forwarder_name": "区司法局", "reference": "1", "company_received_at": "2026-03-09T10:00:00+08:00"})
    assert propose_level(fw("judicial_administration")) == (3, ["三级：司法行政机关转来（区司法局）"])
    for who in ("sales_showroom", "property_management", "lawyers_association", "other"):
        assert propose_level(fw(who)) == (1, ["一级：可由一级受理人直接处理的具体问题（普通投诉）"])
    assert propose_level(complaint()) == (1, ["一级：可由一级受理人直接处理的具体问题（普通投诉）"])


def test_c3_ten_days_open_counts_from_opening_to_the_minute_in_any_zone():
    opened = datetime(2026, 3, 9, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
    assert level_after_days_open(1, opened, at(2026, 3, 19, 10, 0)) == 1
    assert level_after_days_open(1, opened, at(2026, 3, 19, 10, 1)) == 2
    assert level_after_days_open(1, opened, at(2026, 3, 16), days=7) == 1
    assert level_after_days_open(1, opened, at(2026, 3, 16, 10, 1), days=7) == 2
    assert level_after_days_open(3, opened, at(2026, 3, 9, 11)) == 3
    with pytest.raises(ValueError, match="^level must be"):
        level_after_days_open(4, opened, opened)


def test_c9_escalation_refuses_a_level_it_does_not_know():
    with pytest.raises(ValueError, match="^level must be 1, 2 or 3, got 4$"):
        escalated_level(4)


# ---- C5 routing --------------------------------------------------------------------------------------
def test_c5_each_levels_routing_in_full():
    assert routing(1) == Routing(level=1, handler="l1_handler", reviewers=("l2_handler",), informed=(), reported_via=(),
                                 solution_approvers=("quality_lead", "l2_handler"), gm_report_by="quality_lead",
                                 gm_report_to="general_manager", archiver="archive_clerk")
    assert routing(2) == Routing(level=2, handler="l2_handler", reviewers=("l3_sales_director",), informed=(),
                                 reported_via=("l1_handler",), solution_approvers=("quality_lead", "l3_sales_director"))
    assert routing(3) == Routing(level=3, handler="l3_sales_director", reviewers=("general_manager",),
                                 informed=("l3_admin_director",), reported_via=("l1_handler", "l2_handler"),
                                 solution_approvers=("quality_lead", "general_manager"))
    with pytest.raises(ValueError, match="^level must be 1, 2 or 3, got 0$"):
        routing(0)


# ---- C4, C6, C7, C8 deadlines --------------------------------------------------------------------
def test_c7_the_major_interval_may_be_1_to_5_business_days():
    assert progress_interval_business_days(2, major_interval=1) == 1
    assert progress_interval_business_days(3, major_interval=5) == 5
    for bad in (0, 6):
        with pytest.raises(ValueError, match="^major_interval must be between 1 and 5 business days$"):
            progress_interval_business_days(2, major_interval=bad)
    with pytest.raises(ValueError, match="^level must be"):
        progress_interval_business_days(0)


def test_c7_the_next_contact_uses_the_major_interval_given():
    monday = at(2026, 3, 9)
    assert next_progress_contact(monday, 2, CAL, major_interval=1) == at(2026, 3, 10)
    assert next_progress_contact(monday, 3, CAL, major_interval=5) == at(2026, 3, 16)
    assert next_progress_contact(monday, 1, CAL, major_interval=1) == at(2026, 3, 16)


def test_the_previous_business_moment_keeps_the_wall_clock_time_in_shanghai():
    monday_utc = datetime(2026, 3, 16, 2, 30, tzinfo=timezone.utc)  # Monday 10:30 in Shanghai
    got = previous_business_moment(monday_utc, CAL)
    assert got == at(2026, 3, 13, 10, 30) and got.tzinfo is TZ and (got.hour, got.minute) == (10, 30)
    assert previous_business_moment(at(2026, 3, 17, 9), CAL) == at(2026, 3, 16, 9)
    assert previous_business_moment(at(2026, 3, 16, 9), EveryDay()) == at(2026, 3, 15, 9)


def test_the_previous_business_moment_looks_back_ten_years_and_no_further():
    t = at(2036, 3, 16, 9)
    got = previous_business_moment(t, OnlyOn(t.date() - timedelta(days=3700)))
    assert got.date() == t.date() - timedelta(days=3700) and (got.hour, got.minute) == (9, 0) and got.tzinfo is TZ
    with pytest.raises(ValueError, match="^no workday within ten years$"):
        previous_business_moment(t, OnlyOn(t.date() - timedelta(days=3701)))
    with pytest.raises(ValueError, match="^no workday within ten years$"):
        previous_business_moment(t, OnlyOn(t.date()))  # the day itself is not before it


def test_c8_rolling_to_a_workday_looks_ahead_ten_years_and_no_further():
    t = at(2026, 3, 15, 9, 30)  # a Sunday
    assert _roll_to_workday(t, CAL) == at(2026, 3, 16, 9, 30)
    assert _roll_to_workday(at(2026, 3, 16, 9, 30), CAL) == at(2026, 3, 16, 9, 30)  # a workday stays
    got = _roll_to_workday(t, OnlyOn(t.date() + timedelta(days=3699)))
    assert got.date() == t.date() + timedelta(days=3699) and (got.hour, got.minute) == (9, 30) and got.tzinfo is TZ
    with pytest.raises(ValueError, match="^no workday within ten years$"):
        _roll_to_workday(t, OnlyOn(t.date() + timedelta(days=3700)))


def test_c8_the_reminder_halves_the_time_left_when_the_day_before_is_the_receipt_itself():
    received, close = at(2026, 3, 9, 10), at(2026, 3, 10, 10)  # Monday → Tuesday
    assert close_reminder_at(close, CAL) == at(2026, 3, 9, 10)
    assert close_reminder_at(close, CAL, received) == at(2026, 3, 9, 22)  # not at the receipt: halfway
    assert close_reminder_at(close, CAL, at(2026, 3, 9, 9, 59)) == at(2026, 3, 9, 10)  # after receipt: stays
    utc = close_reminder_at(datetime(2026, 3, 10, 2, tzinfo=timezone.utc), CAL, datetime(2026, 3, 9, 2, tzinfo=timezone.utc))
    assert utc == at(2026, 3, 9, 22) and utc.tzinfo is TZ


def test_c8_the_close_days_and_the_interval_given_are_the_ones_used():
    received = at(2026, 3, 9, 11, 15)
    d = complaint_deadlines(received, 2, "货运", True, CAL, ordinary_close_days=5, product_close_days_domestic=10,
                            product_close_days_foreign=12, major_progress_interval=4)
    assert (d.close, d.close_days, d.close_rule) == (received + timedelta(days=5), 5, "ordinary")
    assert d.progress_interval_business_days == 4 and d.received_at == received
    p = complaint_deadlines(received, 1, "产品质量", False, CAL, product_close_days_domestic=10, product_close_days_foreign=12)
    assert (p.close, p.close_days, p.close_rule) == (received + timedelta(days=10), 10, "product_domestic")
    f = complaint_deadlines(received, 1, "产品质量", True, CAL, product_close_days_domestic=10, product_close_days_foreign=12)
    assert (f.close, f.close_days, f.close_rule) == (received + timedelta(days=12), 12, "product_foreign")
    with pytest.raises(ValueError, match="^unknown category 'quality'$"):
        complaint_deadlines(received, 1, "quality", False, CAL)
    with pytest.raises(ValueError, match="^level must be 1, 2 or 3, got 4$"):
        complaint_deadlines(received, 4, "货运", False, CAL)


def test_c8_every_deadline_is_in_shanghai_time_from_a_receipt_in_any_zone():
    d = complaint_deadlines(datetime(2026, 3, 9, 2, 0, tzinfo=timezone.utc), 1, "货运", False, CAL)
    assert d.received_at == at(2026, 3, 9) and d.received_at.tzinfo is TZ
    assert (d.first_contact, d.plan, d.gm_report, d.close, d.remind_before_close) == (
        at(2026, 3, 10), at(2026, 3, 10), at(2026, 3, 13), at(2026, 3, 16), at(2026, 3, 13))


def test_c8_the_default_reminder_window_is_one_business_day_of_the_calendar_given():
    close = at(2026, 3, 16)  # Monday 10:00
    assert overdue_notices(close, at(2026, 3, 13, 9, 59), None) == []
    assert overdue_notices(close, at(2026, 3, 13, 10), None) == ["reminder"]
    assert overdue_notices(close, at(2026, 3, 14, 10), None, calendar=CAL) == ["reminder"]
    assert overdue_notices(close, at(2026, 3, 14, 10), None, calendar=EveryDay()) == []  # opens Sunday 10:00
    assert overdue_notices(close, at(2026, 3, 15, 10), None, calendar=EveryDay()) == ["reminder"]


def test_c8_a_case_closed_is_judged_on_its_closing_whatever_now_is():
    close = at(2026, 3, 16)
    assert overdue_notices(close, at(2026, 3, 1), close + timedelta(minutes=1)) == ["inquiry_notice"]
    assert overdue_notices(close, at(2026, 3, 30), close) == []
    assert overdue_notices(close, at(2026, 3, 15), at(2026, 3, 14), remind_at=at(2026, 3, 13)) == []
    utc_close = datetime(2026, 3, 16, 2, 1, tzinfo=timezone.utc)  # 10:01 in Shanghai: late
    assert overdue_notices(close, at(2026, 3, 30), utc_close) == ["inquiry_notice"]


# ---- C9, C10, C22 satisfaction and the return visit ---------------------------------------------
def test_c9_a_score_or_level_refused_names_it():
    with pytest.raises(ValueError, match=r"^satisfaction score must be an integer 1–5, got '4'$"):
        satisfaction_outcome("4", 1)
    with pytest.raises(ValueError, match=r"^level must be 1, 2 or 3, got 4$"):
        satisfaction_outcome(4, 4)
    with pytest.raises(ValueError, match=r"^level must be"):
        satisfaction_outcome(1, 0)  # a closing score does not excuse a bad level


def test_c10_the_return_visit_is_24_hours_after_resolution_in_shanghai_time():
    got = return_visit_due(datetime(2026, 3, 13, 8, 0, tzinfo=timezone.utc))
    assert got == at(2026, 3, 14, 16) and got.tzinfo is TZ
    with pytest.raises(ValueError, match="^level must be"):
        return_visit_role(4)


@pytest.mark.parametrize("ratings,unresolved,expected", [
    ([], False, False), ([None, None, None], False, False), ([1, 2, 3], False, False), ([3, None, 3], False, False),
    ([1, 4, 1], False, True), ([None, None, 5], False, True), ([4], False, True),
    ([], True, True), ([1, 1, 1], True, True),
])
def test_c22_a_visit_is_unsatisfactory_at_any_rating_of_4_or_5_or_a_shortcoming_unresolved(ratings, unresolved, expected):
    assert visit_unsatisfactory(ratings, unresolved) is expected


@pytest.mark.parametrize("action,process,result,level,expected", [
    ("close", None, None, 1, "close"),
    ("close", 3, 3, 1, "close"),
    ("close", 4, None, 1, "escalate"),     # the process alone rated 4
    ("close", None, 4, 2, "escalate"),     # the result alone rated 4
    ("close", 5, 2, 1, "escalate"),        # the process 5, the result fine
    ("close", 2, 5, 3, "gm_meeting"),      # at level 3 the GM meeting
    ("close", 4, 1, 3, "gm_meeting"),
    ("escalate", 1, 1, 1, "escalate"),     # the survey's action stands
    ("gm_meeting", None, None, 3, "gm_meeting"),
    ("escalate", 5, 5, 3, "escalate"),
])
def test_c22_a_visit_rating_the_process_or_result_4_or_5_overrides_a_closing_survey(action, process, result, level, expected):
    assert visit_action(action, process, result, level) == expected


# ---- C11, C12 -------------------------------------------------------------------------------------
def test_c11_an_unknown_handling_is_refused_naming_it():
    with pytest.raises(ValueError, match="^unknown handling 'refund'$"):
        starts_return_flow("refund")


def test_c12_a_late_first_contact_is_recorded_with_its_deadline_and_when_it_came():
    received = datetime(2026, 3, 13, 8, 0, tzinfo=timezone.utc)  # Friday 16:00 in Shanghai
    contacted = datetime(2026, 3, 16, 8, 1, tzinfo=timezone.utc)  # Monday 16:01 in Shanghai
    p = first_contact_penalty(received, contacted, at(2026, 3, 30), CAL, handler="li.na@huajin.example")
    assert p is not None and (p.handler, p.rule, str(p.amount)) == ("li.na@huajin.example", "first_contact_late", "30.00")
    assert p.reason == "未在1个工作日内应诉并填报《投诉处理单》（应于 2026-03-16 16:00 前联系，实际联系时间 2026-03-16 16:01）"
    q = first_contact_penalty(received, None, at(2026, 3, 16, 16, 1), CAL)
    assert q is not None and q.handler == ""
    assert q.reason == "未在1个工作日内应诉并填报《投诉处理单》（应于 2026-03-16 16:00 前联系，至今未联系客户）"
    # contacted on time: no penalty however late `now` is; not contacted: judged on `now`
    assert first_contact_penalty(received, at(2026, 3, 16, 16), at(2026, 4, 30), CAL) is None
    assert first_contact_penalty(received, None, at(2026, 3, 16, 16), CAL) is None


def test_c12_a_routing_penalty_records_its_handler_amount_and_reason():
    p = routing_penalty("55.555", handler="li.na@huajin.example", reason="未当即转交二级受理人")
    assert (p.handler, p.rule, str(p.amount)) == ("li.na@huajin.example", "routing_not_followed", "55.56")
    assert p.reason == "未按受理权责及业务指引操作：未当即转交二级受理人"
    q = routing_penalty(30)
    assert (q.handler, q.reason, str(q.amount)) == ("", "未按受理权责及业务指引操作", "30.00")
    with pytest.raises(ValueError, match="^invalid amount 'abc'$"):
        routing_penalty("abc")


def test_c12_closing_without_satisfaction_is_recorded_as_not_asked_or_faked_with_the_reason():
    p = closing_without_satisfaction_penalty(60, handler="li.na@huajin.example", reason="未回访即结案")
    assert (p.handler, p.rule, str(p.amount)) == ("li.na@huajin.example", "closing_without_satisfaction", "60.00")
    assert p.reason == "结案前未咨询客户满意度：未回访即结案"
    assert closing_without_satisfaction_penalty(50).reason == "结案前未咨询客户满意度"
    assert closing_without_satisfaction_penalty(50).handler == ""
    assert closing_without_satisfaction_penalty(100, faked=True).reason == "私自填写满意度（舞弊）"
    assert closing_without_satisfaction_penalty(100, faked=True, reason="代客户打分").reason == "私自填写满意度（舞弊）：代客户打分"
    with pytest.raises(ValueError, match="^invalid amount 'Infinity'$"):
        closing_without_satisfaction_penalty("Infinity")


# ---- recusal, C13, the case data -------------------------------------------------------------------
def test_recusal_skips_blank_and_missing_entries_and_goes_on():
    directory = {"李娜": " Li.Na@huajin.example "}
    assert recused_people(["", None, "  ", "李娜", "无名", "Zhou.Min@Huajin.example"], directory.get) == {
        "li.na@huajin.example", "zhou.min@huajin.example"}
    assert recused_people([None], directory.get) == set()
    asked: list[str] = []
    recused_people([None, " 李娜 ", "", "a@b.example"], lambda n: asked.append(n) or None)
    assert asked == ["李娜"]  # an email is not looked up; a name is, stripped; a missing or blank entry is not


def test_c13_retention_from_a_date_or_a_time():
    assert retention_until(date(2026, 3, 16)) == date(2028, 3, 16)
    assert retention_until(datetime(2028, 2, 29, 12, tzinfo=TZ)) == date(2030, 3, 1)


def test_the_case_data_reads_a_deadline_by_name_as_an_aware_time():
    data = ComplaintData.model_validate({
        "form": {"complainant": {"name": "王芳"}, "kind": "consumer", "category": "货运", "description": "到货不足"},
        "received_by": "li.na@huajin.example", "proposed_level": 1,
        "deadlines": {"close": "2026-03-16T10:00:00+08:00", "first_contact": "2026-03-10T02:00:00+00:00"}})
    assert data.due("close") == at(2026, 3, 16) and data.due("close").utcoffset() == timedelta(hours=8)
    assert data.due("first_contact") == at(2026, 3, 10)
    with pytest.raises(KeyError):
        data.due("plan")
