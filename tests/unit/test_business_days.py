"""Mainland-China business days: holidays, 调休 make-up workdays, the fallback past the library's
data (2027+), and the admin's override file."""

import logging
from datetime import date, datetime, timedelta, timezone

import pytest

from models.business_days import (TZ, BusinessCalendar, add_business_days, business_days_between,
                                  deadline_after_calendar_days, deadline_after_hours, is_workday,
                                  load_overrides, next_workday)

CAL = BusinessCalendar()


def test_national_day_and_make_up_saturday_2026():
    assert not is_workday(date(2026, 10, 5), CAL)  # Monday in the Golden Week
    assert is_workday(date(2026, 10, 10), CAL)  # Saturday, 调休 workday
    assert not is_workday(date(2026, 10, 1), CAL)


def test_ordinary_week():
    assert is_workday(date(2026, 11, 24), CAL)
    assert not is_workday(date(2026, 11, 28), CAL)  # Saturday


def test_friday_plus_one_is_monday_same_time():
    fri = datetime(2026, 11, 20, 16, 0, tzinfo=TZ)
    assert add_business_days(fri, 1, CAL) == datetime(2026, 11, 23, 16, 0, tzinfo=TZ)


def test_saturday_receipt_counts_from_monday_morning():
    sat = datetime(2026, 11, 21, 15, 0, tzinfo=TZ)
    assert add_business_days(sat, 1, CAL) == datetime(2026, 11, 24, 0, 0, tzinfo=TZ)


def test_deadline_across_golden_week_uses_the_make_up_saturday():
    before = datetime(2026, 9, 30, 10, 0, tzinfo=TZ)
    due = add_business_days(before, 1, CAL)
    assert not any(not CAL.is_workday(due.date()) for _ in [0])
    assert due.date() == next_workday(date(2026, 9, 30), CAL)
    # counting from the workday before the make-up Saturday lands on it
    d = next_workday(date(2026, 10, 9), CAL)
    assert d == date(2026, 10, 10)


def test_utc_input_is_converted_to_shanghai():
    # 2026-11-20 17:00 UTC is Saturday 01:00 in Shanghai
    t = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc)
    assert add_business_days(t, 1, CAL) == datetime(2026, 11, 24, 0, 0, tzinfo=TZ)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        add_business_days(datetime(2026, 11, 24, 9, 0), 1, CAL)


def test_year_end_into_2027_falls_back_with_one_warning(caplog):
    cal = BusinessCalendar()
    with caplog.at_level(logging.WARNING, logger="kefu.calendar"):
        due = add_business_days(datetime(2026, 12, 31, 10, 0, tzinfo=TZ), 1, cal)
        for i in range(60):
            cal.is_workday(date(2027, 1, 1) + timedelta(days=i))
    assert due == datetime(2027, 1, 4, 10, 0, tzinfo=TZ)  # 1 Jan holiday, then the weekend
    assert not cal.is_workday(date(2027, 1, 1))
    assert len([r for r in caplog.records if r.name == "kefu.calendar"]) == 1


@pytest.mark.parametrize("year", [2027, 2030, 2100])
def test_far_future_dates_never_crash(year):
    d = add_business_days(datetime(year, 6, 1, 9, 0, tzinfo=TZ), 30, BusinessCalendar())
    assert d.year in (year, year + 1)


def test_overrides_win_over_both_sources(tmp_path):
    f = tmp_path / "cal.yaml"
    f.write_text("holidays: [2026-11-24]\nworkdays: [2027-01-09]\n")
    cal = BusinessCalendar.from_file(f)
    assert not cal.is_workday(date(2026, 11, 24))  # a library workday made a holiday
    assert cal.is_workday(date(2027, 1, 9))  # a 2027 Saturday made a workday
    assert add_business_days(datetime(2026, 11, 23, 9, 0, tzinfo=TZ), 1, cal).date() == date(2026, 11, 25)


@pytest.mark.parametrize("text,line", [
    ("holidays: [2026-11-24]\nworkdays:\n  - 2026-13-01\n", 3),
    ("holidays: [2026-11-24]\nworkdays: [2026-11-24]\n", 2),
    ("- 2026-11-24\n", 1),
    ("weekends: [2026-11-24]\n", 1),
])
def test_bad_override_files_name_the_line(tmp_path, text, line):
    f = tmp_path / "cal.yaml"
    f.write_text(text)
    with pytest.raises(ValueError) as e:
        load_overrides(f)
    assert f"line {line}" in str(e.value) and "日历文件" in str(e.value)


def test_shipped_override_file_loads():
    from models.settings import REPO_ROOT

    BusinessCalendar.from_file(REPO_ROOT / "deployments" / "calendar.yaml")


def test_calendar_and_hour_deadlines_and_counting():
    now = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    assert deadline_after_calendar_days(now, 7) == datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    assert deadline_after_hours(now, 24) == datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
    assert business_days_between(datetime(2026, 11, 20, 9, 0, tzinfo=TZ), now, CAL) == 2


def test_the_holidays_package_gives_the_days_chinese_calendar_gave_2004_to_2026():
    """`chinese_calendar` was dropped for `holidays` alone: every day of 2004–2026 as before, except
    2005-12-31 (a Saturday worked for the 2006 New Year: in the State Council's notice, missing there)."""
    import json
    from pathlib import Path

    before = json.loads((Path(__file__).parent / "data" / "cn_workdays_2004_2026.json").read_text())
    off, worked = set(before["weekday_off"]), set(before["weekend_worked"]) | {"2005-12-31"}
    cal = BusinessCalendar()
    d, differ = date(2004, 1, 1), []
    while d <= date(2026, 12, 31):
        expected = (d.weekday() < 5 and d.isoformat() not in off) or d.isoformat() in worked
        if cal.is_workday(d) != expected:
            differ.append(d)
        d += timedelta(days=1)
    assert differ == []
