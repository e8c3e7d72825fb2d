"""Validation errors as people read them: one message per field, in Chinese with the English field
name and the English message."""

from __future__ import annotations

from typing import Any

_ZH = {
    "missing": "必填",
    "extra_forbidden": "不允许的字段",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "必须大于或等于 {ge}",
    "less_than": "必须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "string_too_short": "不能少于 {min_length} 个字符",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_type": "必须是文本",
    "int_parsing": "必须是整数",
    "int_type": "必须是整数",
    "int_from_float": "必须是整数",
    "float_parsing": "必须是数字",
    "decimal_parsing": "必须是数字",
    "bool_parsing": "必须是 true 或 false",
    "literal_error": "必须是以下之一：{expected}",
    "enum": "必须是以下之一：{expected}",
    "value_error": "格式无效",
    "datetime_parsing": "日期时间格式无效（ISO-8601）",
    "datetime_from_date_parsing": "日期时间格式无效（ISO-8601）",
    "date_parsing": "日期格式无效（YYYY-MM-DD）",
    "json_invalid": "JSON 格式错误",
    "model_attributes_type": "必须是对象",
    "dict_type": "必须是对象",
    "list_type": "必须是列表",
    "string_pattern_mismatch": "格式无效",
    "timezone_aware": "必须带时区",
    "decimal_max_places": "小数位数过多",
    "string_nul": "不能包含 NUL 字符",
    "control_char": "只能填一行，不能包含控制字符（换行、回车、制表符、NUL 等）",
    "multiline_control_char": "除换行和制表符外不能包含控制字符",
    "number_not_bool": "必须是数字，不能是 true/false",
    "decimal_type": "必须是数字",
    "iso_datetime_with_zone": "必须是带时区的 ISO-8601 时间文本，如 2026-11-25T10:00:00+08:00",
    "datetime_out_of_range": "超出范围",
    "duplicate_key": "字段重复出现，含义不明确",
    "float_type": "必须是数字",
}


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def describe(err: dict[str, Any]) -> dict[str, str]:
    ctx = err.get("ctx") or {}
    zh = _ZH.get(err.get("type", ""), "无效")
    try:
        zh = zh.format(**{k: v for k, v in ctx.items()})
    except (KeyError, IndexError):
        pass
    field = field_name(err.get("loc", ()))
    msg = str(err.get("msg", ""))
    return {"field": field, "message": f"{field}：{zh} / {field}: {msg}"}


def describe_all(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One message per field (the first error of each field)."""
    seen: dict[str, dict[str, str]] = {}
    for err in errors:
        d = describe(err)
        seen.setdefault(d["field"], d)
    return list(seen.values())


def problem(errors: list[dict[str, str]]) -> dict[str, Any]:
    return {"error": "输入无效 / invalid input", "detail": errors}
