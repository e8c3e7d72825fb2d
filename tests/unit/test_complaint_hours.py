"""C21 hour deadlines (001 篇2 四(1)2.4–2.5) and C20's process outline, as pure functions of the moment
they count from. Wednesday 2026-11-25 is a business day; 2026-11-28/29 a weekend."""

from datetime import datetime, time

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
