"""Group complaints (群诉, procedures §7.1 C26; 004 第二章5(1)–(2), 6(2)): pure rules, `now` passed in.

≥ 3 (configurable) open complaints with the same subject (project, building, product batch) and
category within 7 days are suggested as one group; the L2 handler confirms. A confirmed group is level 3
(as C3's batch complaints), its members linked under one group case."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any

from models.case_data import CaseData
from models.org import OrgDirectory

GROUP_THRESHOLD = 3
GROUP_DAYS = 7


def subject_key(subject: str) -> str:
    """Subjects compare after NFKC, case-folded, without spaces (「3号楼」 = 「３号 楼」)."""
    return "".join(unicodedata.normalize("NFKC", subject or "").casefold().split())


def suggest_groups(rows: list[dict[str, Any]], now: datetime, *, threshold: int = GROUP_THRESHOLD,
                   days: int = GROUP_DAYS) -> list[dict[str, Any]]:
    """The groups to suggest: open complaints (`rows`: case_no, subject, category, received_at, group)
    not yet in a group, received within `days` before `now`, `threshold` or more with the same subject
    and category. Members in case-number order; groups by their first member."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now: naive datetime, pass an aware datetime")
    since = now - timedelta(days=days)
    buckets: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        key = subject_key(r.get("subject") or "")
        if not key or r.get("group") or r["received_at"] < since:
            continue
        buckets.setdefault((key, r["category"]), []).append(r)
    out = [{"subject": members[0]["subject"], "category": category,
            "members": sorted(m["case_no"] for m in members)}
           for (_key, category), members in buckets.items() if len(members) >= threshold]
    return sorted(out, key=lambda g: g["members"][0])


GROUP_LEVEL = 3


def group_head(org: OrgDirectory, l2_handler: str) -> str:
    """C26 (004 第二章5(1)): who meets the complainants in person first — the head of the L2 handler's
    department, or the L2 handler where the department has no head."""
    return org.department_of(l2_handler).head or l2_handler


def spokesperson_of(org: OrgDirectory, named: str, l2_handler: str) -> tuple[str, str]:
    """C26 (004 第二章5(2) 统一口径): the one who drafts and sends the single reply, and the role their
    task is asked in. The person the L2 handler names (email or name) speaks, asked in a role they hold
    (the L2 handler's role if they hold it); nobody named, or someone the org directory does not know or
    who holds no role there, and the L2 handler speaks (the form's default; recorded on the case)."""
    person = org.find(named) if named else None
    roles = org.roles_of(person.email) if person else []
    if person is None or not roles:
        return l2_handler, "l2_handler"
    return person.email, "l2_handler" if "l2_handler" in roles else roles[0]


def group_level(level: int, case_data: dict[str, Any]) -> int:
    """C26: a member of a group complaint is handled at the group's level 3 (as C3's batch complaints),
    whatever level its receiver confirmed; any other case keeps its level."""
    return max(level, GROUP_LEVEL) if case_data.get("group_case") else level


__all__ = ["GROUP_DAYS", "GROUP_LEVEL", "GROUP_THRESHOLD", "GroupData", "group_level", "subject_key", "suggest_groups"]


class GroupData(CaseData):
    """A group complaint's case data: its member complaints, their common subject and category."""
    members: list[str]
    subject: str
    category: str
