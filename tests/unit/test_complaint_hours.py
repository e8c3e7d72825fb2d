"""C21 hour deadlines (001 篇2 四(1)2.4–2.5) and C20's process outline, as pure functions of the moment
they count from. Wednesday 2026-11-25 is a business day; 2026-11-28/29 a weekend."""

from datetime import datetime, time, tzinfo
from zoneinfo import ZoneInfo

import pytest

from models.business_days import TZ, BusinessCalendar
from models.complaint.hours import (add_office_hours, department_analysis_due, hour_deadlines, major_report_due,
                                    major_solution_due, met, minor_feedback_due, process_steps)

CAL = BusinessCalendar()


def at(day: int, hh: int, mm: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=TZ)


def test_major_report_is_due_ten_minutes_after_receipt():
    assert major_report_due(at(25, 10)) == at(25, 10, 10)
    assert met(major_report_due(at(25, 10)), at(25, 10, 10)) is True
    assert met(major_report_due(at(25, 10)), at(25, 10, 11)) is False
    assert met(major_report_due(at(25, 10)), None) is None


def test_minor_feedback_24h_and_major_solution_12h_are_clock_time_across_the_weekend():
    assert minor_feedback_due(at(27, 16)) == at(28, 16)  # Friday → Saturday: clock time, not business days
    assert major_solution_due(at(27, 20)) == at(28, 8)


@pytest.mark.parametrize("start,due", [
    (at(25, 10), at(25, 11)),              # in office hours
    (at(25, 17), at(26, 9)),               # 30 min left today, 30 tomorrow from 08:30
    (at(25, 18), at(26, 9, 30)),           # after hours: counts from the next opening
    (at(25, 7), at(25, 9, 30)),            # before opening
    (at(27, 17, 15), at(30, 9, 15)),       # Friday evening → Monday (the weekend does not count)
    (at(28, 10), at(30, 9, 30)),           # handed over on a Saturday
    (at(30, 17, month=9), at(8, 9, month=10)),     # 2026: 30 min on 30 September, the rest after National Day
])
def test_the_departments_hour_runs_in_office_hours(start, due):
    assert department_analysis_due(start, CAL) == due


def test_office_hours_are_configurable_and_checked():
    assert add_office_hours(at(25, 8, 45), 1, CAL, opens=time(9), closes=time(18)) == at(25, 10)
    assert department_analysis_due(at(25, 8, 45), CAL, opens=time(9), closes=time(18)) == at(25, 10)
    assert department_analysis_due(at(25, 17, 45), CAL, opens=time(9), closes=time(18)) == at(26, 9, 45)
    with pytest.raises(ValueError):
        add_office_hours(at(25, 10), 1, CAL, opens=time(18), closes=time(9))
    with pytest.raises(ValueError):
        add_office_hours(datetime(2026, 11, 25, 10), 1, CAL)  # naive


def test_which_hour_deadlines_a_level_has():
    assert set(hour_deadlines(at(25, 10), 1)) == {"feedback"}
    assert hour_deadlines(at(25, 10), 2) == {"major_report": at(25, 10, 10), "solution": at(25, 22)}
    assert set(hour_deadlines(at(25, 10), 3)) == {"major_report", "solution"}
    with pytest.raises(ValueError):
        hour_deadlines(at(25, 10), 4)


def test_the_process_outline_gives_each_step_its_time():
    deadlines = {"first_contact": at(26, 10).isoformat(), "plan": at(26, 10).isoformat(),
                 "close": at(2, 10, month=12).isoformat()}
    minor = process_steps(1, deadlines, {k: v.isoformat() for k, v in hour_deadlines(at(25, 10), 1).items()})
    assert [s["step"] for s in minor][:3] == ["受理登记，确认投诉级别", "首次联系，了解原因与经过", "向您反馈处理安排"]
    assert {"step": "向您反馈处理安排", "by": "2026-11-26 10:00"} in minor
    major = process_steps(3, deadlines, {k: v.isoformat() for k, v in hour_deadlines(at(25, 10), 3).items()})
    assert {"step": "上报客服部主管及中心总监", "by": "2026-11-25 10:10"} in major
    assert {"step": "与您商定解决方案", "by": "2026-11-25 22:00"} in major
    assert major[-2]["by"] == "2026-12-02 10:00"


NAIVE = datetime(2026, 11, 25, 10, 0)


@pytest.mark.parametrize("call,name", [
    (major_report_due, "start"),
    (minor_feedback_due, "received_at"),
    (major_solution_due, "start"),
    (lambda t: add_office_hours(t, 1, CAL), "start"),
    (lambda t: met(t, at(25, 10)), "due"),
    (lambda t: met(at(25, 10), t), "done"),
])
def test_a_time_without_a_zone_is_refused_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}: naive datetime, pass an aware datetime$"):
        call(NAIVE)


def test_office_hours_at_their_edges():
    assert add_office_hours(at(25, 16, 30), 1, CAL) == at(25, 17, 30)  # due exactly at closing: the same day
    assert add_office_hours(at(25, 17, 30), 1, CAL) == at(26, 9, 30)  # handed over at closing: from the next opening
    assert add_office_hours(at(25, 10), 0, CAL) == at(25, 10)  # no hours: at once, in office time
    assert add_office_hours(at(25, 19), 0, CAL) == at(26, 8, 30)  # … or at the next opening
    assert add_office_hours(at(25, 17), 9.5, CAL) == at(26, 17, 30)  # 0.5 h + a whole day: at its closing, not the next opening
    with pytest.raises(ValueError, match="^office hours must open before they close$"):
        add_office_hours(at(25, 10), 1, CAL, opens=time(9), closes=time(9))
    with pytest.raises(ValueError, match="^hours must not be negative$"):
        add_office_hours(at(25, 10), -0.1, CAL)


class NoWorkdays:
    def is_workday(self, d) -> bool:  # noqa: ARG002 - a calendar without a single business day
        return False


def test_a_calendar_without_business_days_is_an_error_not_a_hang():
    with pytest.raises(ValueError, match="^no office hours within ten years$"):
        add_office_hours(at(25, 10), 1, NoWorkdays())


@pytest.mark.parametrize("level", [0, 4, True, False, "2", None])
def test_only_levels_1_to_3_have_hour_deadlines(level):
    with pytest.raises(ValueError, match=rf"^level must be 1, 2 or 3, got {level!r}$"):
        hour_deadlines(at(25, 10), level)


def test_on_time_is_judged_as_instants_given_as_text_or_in_any_zone():
    due = at(25, 10, 10)
    assert met(due.isoformat(), at(25, 10, 10).isoformat()) is True
    assert met(due.isoformat(), at(25, 10, 11).isoformat()) is False
    assert met(due, datetime(2026, 11, 25, 2, 10, tzinfo=ZoneInfo("UTC"))) is True  # the same instant in UTC
    assert met(due, datetime(2026, 11, 25, 2, 11, tzinfo=ZoneInfo("UTC"))) is False


def test_a_level_2_outline_reports_to_the_manager_only_and_reports_at_once_without_a_computed_time():
    deadlines = {"first_contact": at(26, 10).isoformat(), "plan": at(26, 10).isoformat(),
                 "close": at(2, 10, month=12).isoformat()}
    major = process_steps(2, deadlines, {"solution": at(25, 22).isoformat()})
    assert {"step": "上报客服部主管", "by": "立即"} in major
    assert "向您反馈处理安排" not in [s["step"] for s in major]
    assert major[0] == {"step": "受理登记，确认投诉级别", "by": "已完成"}
    assert major[-1] == {"step": "处理完毕后回访", "by": "处理完毕后24小时内"}
    assert major[-2]["step"] == "处理方案审批后实施，告知处理结果并请您评价"


def test_c21_a_hand_over_at_closing_counts_from_the_next_opening_even_for_no_hours():
    assert add_office_hours(at(25, 17, 30), 0, CAL) == at(26, 8, 30)
    assert add_office_hours(at(25, 17, 29), 0, CAL) == at(25, 17, 29)


class FirstWorkdayAfter:
    """A calendar whose only business days lie `days` days or more after 2026-11-25."""

    def __init__(self, days: int) -> None:
        self.first = at(25, 0).date().toordinal() + days

    def is_workday(self, d) -> bool:
        return d.toordinal() >= self.first


def test_c21_office_hours_are_looked_for_over_ten_years_as_the_error_says():
    # 3 700 days, the guard of add_business_days: one day looked at per step
    last = at(25, 10).date().fromordinal(at(25, 10).date().toordinal() + 3699)
    assert add_office_hours(at(25, 10), 1, FirstWorkdayAfter(3699)) == datetime.combine(last, time(9, 30), TZ)
    with pytest.raises(ValueError, match="^no office hours within ten years$"):
        add_office_hours(at(25, 10), 1, FirstWorkdayAfter(3700))


class NoOffset(tzinfo):
    """A zone that does not know its offset: Python counts such a time as naive."""

    def utcoffset(self, dt):
        return None


def test_c21_a_time_whose_zone_has_no_offset_is_refused_as_naive():
    with pytest.raises(ValueError, match="^start: naive datetime, pass an aware datetime$"):
        major_report_due(datetime(2026, 11, 25, 10, tzinfo=NoOffset()))


def test_c20_the_outline_names_every_step_in_order():
    deadlines = {"first_contact": at(26, 10).isoformat(), "plan": at(27, 10).isoformat(),
                 "close": at(2, 10, month=12).isoformat()}
    major = process_steps(3, deadlines, {k: v.isoformat() for k, v in hour_deadlines(at(25, 10), 3).items()})
    assert [(s["step"], s["by"]) for s in major] == [
        ("受理登记，确认投诉级别", "已完成"), ("上报客服部主管及中心总监", "2026-11-25 10:10"),
        ("首次联系，了解原因与经过", "2026-11-26 10:00"), ("责任部门调查，提出处理方案", "2026-11-27 10:00"),
        ("与您商定解决方案", "2026-11-25 22:00"), ("处理方案审批后实施，告知处理结果并请您评价", "2026-12-02 10:00"),
        ("处理完毕后回访", "处理完毕后24小时内")]


def test_c21_deadlines_are_given_in_shanghai_time_whatever_the_zone_of_receipt():
    received = datetime(2026, 11, 25, 2, 0, tzinfo=ZoneInfo("UTC"))  # 10:00 in Shanghai
    for due in (major_report_due(received), minor_feedback_due(received), major_solution_due(received)):
        assert due.tzinfo is TZ
    assert major_report_due(received).isoformat() == "2026-11-25T10:10:00+08:00"
