"""The customer archive's periodic work (procedures §7.2): A5 the quarterly clean-up, A6 the monthly
《客户档案报表》. Pure: records and dates in, lists and figures out; `today` passed in.

Interpretations:
- «5»'s 删除 is marking invalid: a deactivated or merged record keeps every version (A3); its state is
  the registration's `archive_status` (`inactive`, or `merged` with `merged_into`), written as a new
  version with the reason 「定期清理 / periodic clean-up」.
- The criteria are configurable (`CleanupCriteria`); the defaults are the regulation's: moved out or lease
  ended, no transaction for 3 years, a duplicate invoicing name or ID number, mandatory fields missing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from models.business_days import TZ

CLEANUP_REASON = "定期清理 / periodic clean-up"
MANDATORY_FIELDS: tuple[str, ...] = ("name", "customer_class", "invoicing_name", "phone", "address")
ACTIONS = ("keep", "deactivate", "merge", "correct")
ACTION_LABELS = {"keep": "保留", "deactivate": "注销（标记无效）", "merge": "合并", "correct": "更正（走更正程序 A2）"}
QUARTER_CRON = "0 9 1 1,4,7,10 *"   # A5: the first day of each quarter, 09:00 Asia/Shanghai
MONTH_CRON = "0 9 1 * *"            # A6: the first day of each month, 09:00


@dataclass(frozen=True)
class CleanupCriteria:
    idle_years: int = 3
    mandatory: tuple[str, ...] = MANDATORY_FIELDS


def status_of(record: dict[str, Any]) -> str:
    return (record.get("registration") or {}).get("archive_status") or "active"


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def missing_fields(record: dict[str, Any], mandatory: Iterable[str] = MANDATORY_FIELDS) -> list[str]:
    return [f for f in mandatory if not str(record.get(f) or "").strip()]


def cleanup_candidates(records: list[dict[str, Any]], last_transaction: dict[str, date], today: date,
                       criteria: CleanupCriteria = CleanupCriteria()) -> list[dict[str, Any]]:
    """A5: the active records that look expired or invalid, each with its reasons (Chinese). The last
    transaction is looked up by customer name and by invoicing name; a record created within the idle
    period is not idle."""
    active = [r for r in records if status_of(r) == "active"]
    invoicing = Counter(r["invoicing_name"].strip() for r in active if (r.get("invoicing_name") or "").strip())
    ids = Counter(r["id_card"].strip().upper() for r in active if (r.get("id_card") or "").strip())
    idle_since = _years_before(today, criteria.idle_years)
    out = []
    for r in sorted(active, key=lambda r: r["archive_no"]):
        reasons = []
        reg = r.get("registration") or {}
        if reg.get("moved_out"):
            reasons.append("已迁出")
        lease = reg.get("lease_end")
        if lease and str(lease) < today.isoformat():
            reasons.append(f"租期已满（{lease}）")
        last = max((d for d in (last_transaction.get(r.get("name") or ""),
                                last_transaction.get(r.get("invoicing_name") or "")) if d), default=None)
        created = r.get("created_on")
        if (last is None or last < idle_since) and (created is None or created < idle_since):
            reasons.append(f"{criteria.idle_years}年内无交易" + (f"（最近 {last}）" if last else ""))
        if (r.get("invoicing_name") or "").strip() and invoicing[r["invoicing_name"].strip()] > 1:
            reasons.append("开票资料名称重复")
        if (r.get("id_card") or "").strip() and ids[r["id_card"].strip().upper()] > 1:
            reasons.append("身份证号码重复")
        missing = missing_fields(r, criteria.mandatory)
        if missing:
            reasons.append("必填项缺失：" + "、".join(missing))
        if reasons:
            out.append({"archive_no": r["archive_no"], "name": r.get("name", ""), "reasons": reasons})
    return out


class CleanupProposal(BaseModel):
    archive_no: str
    action: str
    merge_into: str | None = None


def json_object(text: str, zh: str, en: str) -> dict:
    """A person's JSON answer (`{}` when empty), which must be an object. Raises ValueError (Chinese / English)."""
    try:
        raw = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"{zh}须为 JSON 对象 / {en} must be a JSON object: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{zh}须为 JSON 对象 / {en} must be a JSON object")
    return raw


def parse_proposals(text: str, candidates: Iterable[str]) -> list[CleanupProposal]:
    """The archive clerk's proposals: JSON {archive_no: "keep" | "deactivate" | "merge:DA-…" | "correct"}
    for the listed records; a record not named is kept. Raises ValueError (Chinese / English)."""
    listed = set(candidates)
    raw = json_object(text, "处理建议", "proposals")
    out = []
    for no in sorted(listed):
        value = str(raw.get(no, "keep"))
        action, _, target = value.partition(":")
        if action not in ACTIONS or (action == "merge") != bool(target):
            raise ValueError(f"{no}：无效的处理建议 {value!r} / invalid proposal {value!r} "
                             "(keep, deactivate, merge:<archive_no>, correct)")
        if target == no:
            raise ValueError(f"{no}：不能合并到自身 / cannot merge into itself")
        out.append(CleanupProposal(archive_no=no, action=action, merge_into=target or None))
    unknown = sorted(set(raw) - listed)
    if unknown:
        raise ValueError(f"不在清理清单中：{', '.join(unknown)} / not on the clean-up list: {', '.join(unknown)}")
    return out


def quarter_key(today: date) -> str:
    """The quarter a clean-up run on `today` reviews: the one just ended."""
    q = (today.month - 1) // 3
    return f"{today.year - 1}-Q4" if q == 0 else f"{today.year}-Q{q}"


def quarter_before(now: datetime) -> str:
    """`quarter_key` of `now`'s day in Asia/Shanghai (a quarterly run's default quarter)."""
    return quarter_key(now.astimezone(TZ).date())


__all__ = [
    "ACTIONS", "ACTION_LABELS", "CLEANUP_REASON", "CleanupCriteria", "CleanupProposal", "MANDATORY_FIELDS",
    "MONTH_CRON", "QUARTER_CRON", "cleanup_candidates", "missing_fields", "parse_proposals", "quarter_key",
    "status_of",
]
