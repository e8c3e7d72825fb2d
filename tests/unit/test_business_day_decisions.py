"""Decision points of models/business_days.py that the mutation run (make mutants) found untested:
zero business days, the 00:00 start of a non-workday receipt, the ten-year guard's exact reach, the
warning only for a year without a notice, counting workdays between two moments."""

import logging
from datetime import date, datetime, timedelta

import pytest

from models.business_days import (TZ, BusinessCalendar, add_business_days, business_days_between,
                                  deadline_after_calendar_days, deadline_after_hours, next_workday)

CAL = BusinessCalendar()


class OnlyWorkday:
    """A calendar with a single workday (an override file marking everything else a holiday)."""

    def __init__(self, day: date) -> None:
        self.day = day

    def is_workday(self, d: date) -> bool:
        return d == self.day


def test_zero_business_days_is_now_on_a_workday():
    tue = datetime(2026, 11, 24, 9, 30, tzinfo=TZ)
    assert add_business_days(tue, 0, CAL) == tue


def test_zero_business_days_from_a_saturday_is_monday_0000():
    sat = datetime(2026, 11, 21, 15, 45, tzinfo=TZ)
    assert add_business_days(sat, 0, CAL) == datetime(2026, 11, 23, 0, 0, tzinfo=TZ)


def test_negative_business_days_are_refused():
    with pytest.raises(ValueError, match="^n must be >= 0$"):
        add_business_days(datetime(2026, 11, 24, 9, 0, tzinfo=TZ), -1, CAL)


def test_naive_datetimes_are_refused_saying_why():
    with pytest.raises(ValueError, match=r"^naive datetime: pass an aware datetime \(Asia/Shanghai or UTC\)$"):
        deadline_after_hours(datetime(2026, 11, 24, 9, 0), 1)


def test_the_ten_year_guard_reaches_exactly_3700_days():
    start = date(2026, 1, 1)
    assert next_workday(start, OnlyWorkday(start + timedelta(days=3700))) == start + timedelta(days=3700)
    with pytest.raises(ValueError, match="^no workday within ten years$"):
        next_workday(start, OnlyWorkday(start + timedelta(days=3701)))


def test_next_workday_is_the_first_one_after():
    assert next_workday(date(2026, 11, 19), OnlyWorkday(date(2026, 11, 21))) == date(2026, 11, 21)
    assert next_workday(date(2026, 11, 20), CAL) == date(2026, 11, 23)


def test_calendar_and_hour_deadlines_move_forward():
    now = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    assert deadline_after_calendar_days(now, 7) == datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    assert deadline_after_hours(now, 1.5) == datetime(2026, 11, 24, 10, 30, tzinfo=TZ)


@pytest.mark.parametrize("start,end,count", [
    (datetime(2026, 11, 24, 9, 0), datetime(2026, 11, 24, 18, 0), 0),    # the same day
    (datetime(2026, 11, 24, 9, 0), datetime(2026, 11, 25, 8, 0), 1),
    (datetime(2026, 11, 20, 9, 0), datetime(2026, 11, 23, 9, 0), 1),    # Friday → Monday
    (datetime(2026, 11, 23, 9, 0), datetime(2026, 11, 27, 9, 0), 4),
    (datetime(2026, 11, 27, 9, 0), datetime(2026, 11, 23, 9, 0), 0),    # backwards
])
def test_business_days_between(start, end, count):
    assert business_days_between(start.replace(tzinfo=TZ), end.replace(tzinfo=TZ), CAL) == count


def test_a_year_with_a_notice_never_warns(caplog):
    cal = BusinessCalendar()
    with caplog.at_level(logging.WARNING, logger="kefu.calendar"):
        assert cal.is_workday(date(2026, 11, 24))
        assert not cal.is_workday(date(2026, 10, 1))
    assert [r for r in caplog.records if r.name == "kefu.calendar"] == []


def test_a_year_without_a_notice_warns_once_naming_the_year(caplog):
    cal = BusinessCalendar()
    with caplog.at_level(logging.WARNING, logger="kefu.calendar"):
        assert cal.is_workday(date(2027, 1, 4))
        assert not cal.is_workday(date(2027, 1, 1))
    (rec,) = [r for r in caplog.records if r.name == "kefu.calendar"]
    assert rec.getMessage() == (
        "no holiday notice for 2027 yet: using Monday–Friday minus the statutory holidays "
        "(no 调休); add make-up workdays to the calendar override file")


def test_overrides_and_the_library_answer_in_turn():
    cal = BusinessCalendar({date(2026, 11, 24): False})
    assert not cal.is_workday(date(2026, 11, 24)) and not cal.is_workday(date(2026, 11, 24))
    assert cal.is_workday(date(2026, 11, 25))
    assert BusinessCalendar.from_file(None).overrides == {} and BusinessCalendar.from_file("").overrides == {}


# ---- the calendar override file (KEFU_CALENDAR_FILE): what is read, and the error that names the line ----
def _load(tmp_path, text):
    from models.business_days import load_overrides

    f = tmp_path / "cal.yaml"
    f.write_text(text, encoding="utf-8")
    return f, load_overrides(f)


@pytest.mark.parametrize("text,zh,en", [
    ("holidays: [2026-11-24]\nworkdays:\n  - 2026-13-01\n", "第 3 行: 无效日期 '2026-13-01'",
     "line 3: invalid date '2026-13-01'"),
    ("holidays: [2026-11-24]\nworkdays: [2026-11-24]\n", "第 2 行: 2026-11-24 同时列为假日和工作日",
     "line 2: 2026-11-24 is listed as both holiday and workday"),
    ("- 2026-11-24\n", "第 1 行: 顶层必须是映射（holidays / workdays）",
     "line 1: the top level must be a mapping with holidays / workdays"),
    ("holidays: []\nweekends: [2026-11-24]\n", "第 2 行: 未知的键 'weekends'", "line 2: unknown key 'weekends'"),
    ("holidays: 2026-11-24\n", "第 1 行: holidays 必须是日期列表", "line 1: holidays must be a list of dates"),
])
def test_override_file_errors_in_full(tmp_path, text, zh, en):
    f = tmp_path / "cal.yaml"
    f.write_text(text, encoding="utf-8")
    from models.business_days import load_overrides

    with pytest.raises(ValueError) as e:
        load_overrides(f)
    assert str(e.value) == f"日历文件 {f} {zh} / calendar file {f} {en}"


def test_invalid_yaml_names_its_line(tmp_path):
    from models.business_days import load_overrides

    f = tmp_path / "cal.yaml"
    f.write_text("holidays: [2026-11-24]\nworkdays: [2026-11-28\n", encoding="utf-8")
    with pytest.raises(ValueError) as e:
        load_overrides(f)
    assert str(e.value).startswith(f"日历文件 {f} 第 3 行: YAML 格式错误 / calendar file {f} line 3: invalid YAML (")


def test_an_unreadable_file_says_so_without_a_line(tmp_path):
    from models.business_days import load_overrides

    f = tmp_path / "missing.yaml"
    with pytest.raises(ValueError) as e:
        load_overrides(f)
    msg = str(e.value)
    assert msg.startswith(f"日历文件 {f} 无法读取（") and f" / calendar file {f} cannot be read (" in msg
    assert "No such file" in msg and "行" not in msg and "line" not in msg


@pytest.mark.parametrize("empty", ["", "~", "null", "''"])
def test_an_empty_list_is_skipped_and_the_next_key_still_read(tmp_path, empty):
    _, out = _load(tmp_path, f"holidays: {empty}\nworkdays: [2026-11-28]\n")
    assert out == {date(2026, 11, 28): True}


def test_an_empty_file_overrides_nothing(tmp_path):
    assert _load(tmp_path, "")[1] == {}
    assert _load(tmp_path, "holidays: [2026-11-24, 2026-11-25]\n")[1] == {
        date(2026, 11, 24): False, date(2026, 11, 25): False}


def test_a_year_is_read_from_the_holidays_package_once(monkeypatch, caplog):
    """From an empty per-year cache (another test may have filled it): the CN State Council days."""
    import models.business_days as bd

    monkeypatch.setattr(bd, "_YEARS", {})
    year = bd._year(2026)
    assert year.announced and bd._year(2026) is year and set(bd._YEARS) == {2026}
    assert not year.calendar.is_working_day(date(2026, 10, 1))   # National Day
    assert year.calendar.is_working_day(date(2026, 10, 10))       # its make-up Saturday
    assert not bd._year(2027).announced                            # no notice yet
    with caplog.at_level(logging.WARNING, logger="kefu.calendar"):
        assert not BusinessCalendar().is_workday(date(2026, 10, 1))
    assert [r for r in caplog.records if r.name == "kefu.calendar"] == []


def test_a_control_character_is_invalid_yaml_without_a_line(tmp_path):
    """PyYAML's reader error carries no line mark: the message then names no line."""
    from models.business_days import load_overrides

    f = tmp_path / "cal.yaml"
    f.write_text("holidays: [2026-11-24]\x01\n", encoding="utf-8")
    with pytest.raises(ValueError) as e:
        load_overrides(f)
    assert str(e.value).startswith(f"日历文件 {f} YAML 格式错误 / calendar file {f} invalid YAML (")
