"""The anonymised case library (典型案例库, procedures §7.1 C23; 001 篇2 四(1)3.3; 004 售后管理主管职责(7)):
pure rules. An entry holds no names, phone or ID numbers: category, product, cause, handling, outcome,
satisfaction, lessons and improvement (000 «10» 第三条7)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from models import privacy

HIDDEN = "（已隐去）"


def anonymise(text: str, names: Iterable[str]) -> str:
    """The text without phone and ID numbers (not even masked ones) and without the given names."""
    out = text or ""
    for pattern in (privacy._ID18, privacy._ID15, privacy._MOBILE, privacy._LANDLINE):  # noqa: SLF001
        out = pattern.sub(HIDDEN, out)
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True):
        out = out.replace(name, "某人")
    return out


def library_entry(data: dict[str, Any], *, handling_label: str, outcome_label: str, lessons: str,
                  improvement: str, people: Iterable[str] = ()) -> dict[str, Any]:
    """C23: the entry written from a closed complaint's data; `people` are every name to leave out (the
    complainant, persons involved, staff named)."""
    form = data.get("form") or {}
    names = [(form.get("complainant") or {}).get("name", ""), *(form.get("persons_involved") or []), *people]
    plan = data.get("plan") or {}
    outcome = data.get("outcome") or {}
    return {
        "category": form.get("category", ""),
        "product": "、".join(p.get("name", "") for p in form.get("products") or []),
        "cause": anonymise(plan.get("responsibility") or form.get("description", ""), names),
        "handling": handling_label,
        "outcome": outcome_label,
        "satisfaction": data.get("satisfaction"),
        "lessons": anonymise(lessons, names),
        "improvement": anonymise(improvement, names),
        "department": outcome.get("responsibility_department") or plan.get("responsibility_department") or "",
    }


def search(entries: Iterable[dict[str, Any]], *, category: str | None = None, product: str | None = None,
           keyword: str | None = None) -> list[dict[str, Any]]:
    """Published entries by category, product and keyword (in any text field)."""
    out = []
    for e in entries:
        if category and e.get("category") != category:
            continue
        if product and product not in (e.get("product") or ""):
            continue
        if keyword and not any(keyword in str(v) for v in e.values()):
            continue
        out.append(e)
    return out


__all__ = ["HIDDEN", "anonymise", "library_entry", "search"]
