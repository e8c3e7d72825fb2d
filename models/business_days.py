"""Mainland-China business days (工作日), pure functions in Asia/Shanghai.

Official holidays and the make-up working weekends (调休) come from the `holidays` package (China's
State Council notices; checked day by day against `chinese_calendar` for 2004–2026: one day differs,
2005-12-31, a Saturday worked for the 2006 New Year, which `holidays` has and `chinese_calendar` lacks).
For a year whose notice is not out yet (no make-up workday known) it gives Monday–Friday minus the
statutory holidays, and the calendar warns once. The admin's override
file (`KEFU_CALENDAR_FILE`) always wins. Every function takes `now` explicitly."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

TZ = ZoneInfo("Asia/Shanghai")
log = logging.getLogger("kefu.calendar")


class BusinessCalendar:
    def __init__(self, overrides: dict[date, bool] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self._cache: dict[date, bool] = {}
        self._warned = False

    @classmethod
    def from_file(cls, path: Path | str | None) -> "BusinessCalendar":
        if not path:
            return cls()
        return cls(load_overrides(Path(path)))

    def is_workday(self, d: date) -> bool:
        hit = self._cache.get(d)
        if hit is not None:
            return hit
        if d in self.overrides:
            value = self.overrides[d]
        else:
            value = self._library_workday(d)
        self._cache[d] = value
        return value

    def _library_workday(self, d: date) -> bool:
        year = _year(d.year)
        if not year.announced and not self._warned:
            self._warned = True
            log.warning(
                "no holiday notice for %s yet: using Monday–Friday minus the statutory holidays "
                "(no 调休); add make-up workdays to the calendar override file", d.year)
        return year.calendar.is_working_day(d)


class _Year:
    def __init__(self, year: int) -> None:
        import holidays  # lazy: on the first date of a year (≈ 100 ms at import)

        self.calendar = holidays.country_holidays("CN", years=year)
        self.announced = any(w.year == year for w in self.calendar.weekend_workdays)


_YEARS: dict[int, _Year] = {}


def _year(year: int) -> _Year:
    if year not in _YEARS:
        _YEARS[year] = _Year(year)
    return _YEARS[year]


def load_overrides(path: Path) -> dict[date, bool]:
    """Read `holidays: [...]` / `workdays: [...]` (YAML). Errors name the file and line."""

    def fail(line: int | None, zh: str, en: str) -> ValueError:
        where_zh = f"第 {line} 行: " if line else ""
        where_en = f"line {line}: " if line else ""
        return ValueError(f"日历文件 {path} {where_zh}{zh} / calendar file {path} {where_en}{en}")

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(None, f"无法读取（{exc}）", f"cannot be read ({exc})") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise fail(mark.line + 1 if mark else None, "YAML 格式错误", f"invalid YAML ({exc})") from exc
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise fail(root.start_mark.line + 1, "顶层必须是映射（holidays / workdays）",
                   "the top level must be a mapping with holidays / workdays")
    out: dict[date, bool] = {}
    lines: dict[date, int] = {}
    for key_node, value_node in root.value:
        key = key_node.value
        if key not in ("holidays", "workdays"):
            raise fail(key_node.start_mark.line + 1, f"未知的键 {key!r}", f"unknown key {key!r}")
        if isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "null", "~"):
            continue
        if not isinstance(value_node, yaml.SequenceNode):
            raise fail(value_node.start_mark.line + 1, f"{key} 必须是日期列表", f"{key} must be a list of dates")
        for item in value_node.value:
            line = item.start_mark.line + 1
            try:
                d = date.fromisoformat(str(item.value).strip())
            except (ValueError, AttributeError) as exc:
                raise fail(line, f"无效日期 {getattr(item, 'value', item)!r}",
                           f"invalid date {getattr(item, 'value', item)!r}") from exc
            workday = key == "workdays"
            if d in out and out[d] != workday:
                raise fail(line, f"{d} 同时列为假日和工作日", f"{d} is listed as both holiday and workday")
            out[d], lines[d] = workday, line
    return out


# ---- pure functions ---------------------------------------------------------------------
def _local(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (Asia/Shanghai or UTC)")
    return now.astimezone(TZ)


def is_workday(d: date, calendar: BusinessCalendar) -> bool:
    return calendar.is_workday(d)


def next_workday(d: date, calendar: BusinessCalendar) -> date:
    """The first workday strictly after `d`."""
    d += timedelta(days=1)
    for _ in range(3700):  # ten years: guards against an override file marking everything holiday
        if calendar.is_workday(d):
            return d
        d += timedelta(days=1)
    raise ValueError("no workday within ten years")


def add_business_days(now: datetime, n: int, calendar: BusinessCalendar) -> datetime:
    """The same wall-clock time on the n-th workday after `now`'s date (Asia/Shanghai).
    Received on a non-workday, the clock starts at 00:00 of the next workday."""
    if n < 0:
        raise ValueError("n must be >= 0")
    local = _local(now)
    d = local.date()
    if not calendar.is_workday(d):
        d = next_workday(d, calendar)
        local = datetime.combine(d, time(0, 0), TZ)
    for _ in range(n):
        d = next_workday(d, calendar)
    return datetime.combine(d, local.timetz().replace(tzinfo=None), TZ)


deadline_after_business_days = add_business_days


def deadline_after_calendar_days(now: datetime, n: int) -> datetime:
    return _local(now) + timedelta(days=n)


def deadline_after_hours(now: datetime, n: float) -> datetime:
    return _local(now) + timedelta(hours=n)


def business_days_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> int:
    """How many workdays begin after `start`'s date up to and including `end`'s date
    (0 when both fall on the same day; negative never: start after end gives 0)."""
    a, b = _local(start).date(), _local(end).date()
    count = 0
    while a < b:
        a += timedelta(days=1)
        if calendar.is_workday(a):
            count += 1
    return count
