"""The anonymised case library (典型案例库, procedures §7.1 C23; 001 篇2 四(1)3.3; 004 售后管理主管职责(7)):
pure rules. An entry holds no names, phone or ID numbers: category, product, cause, handling, outcome,
satisfaction, lessons and improvement (000 «10» 第三条7)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from models import privacy
from models.archive.periodic import json_object

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


# ---- the CS manager's quarterly review (update, retire) ----------------------------------------------
REVIEW_CRON = "30 9 1 1,4,7,10 *"  # the first day of each quarter, 09:30 Asia/Shanghai (A5's runs at 09:00)
REVIEW_ACTIONS = {"keep": "保留", "update": "更新文字", "retire": "停用（移出案例库）"}
UPDATABLE = ("cause", "lessons", "improvement")  # the texts an update may rewrite (anonymised again)


@dataclass(frozen=True)
class EntryReview:
    case_no: str
    action: str  # keep | update | retire
    texts: dict[str, str] = field(default_factory=dict)  # update: field -> new text, anonymised


def parse_review(text: str, listed: Iterable[str], names: Iterable[str] = ()) -> list[EntryReview]:
    """The CS manager's answer per listed entry: JSON {case_no: "keep" | "retire" | {field: new text}} with
    fields among cause, lessons, improvement; an entry not named is kept. New texts are anonymised (no
    `names`, phone or ID numbers). Raises ValueError (Chinese / English)."""

    listed = sorted(set(listed))
    raw = json_object(text, "审核结果", "the review")
    unknown = sorted(set(raw) - set(listed))
    if unknown:
        raise ValueError(f"不在案例库清单中：{', '.join(unknown)} / not in the listed library: {', '.join(unknown)}")
    names = list(names)
    out = []
    for no in listed:
        value = raw.get(no, "keep")
        if isinstance(value, dict):
            bad = sorted(set(value) - set(UPDATABLE))
            texts = {k: str(v).strip() for k, v in value.items() if k in UPDATABLE}
            if bad or not texts or not all(texts.values()):
                raise ValueError(f"{no}：更新须给出 {'、'.join(UPDATABLE)} 中的新文字 / an update gives new text for "
                                 f"some of {', '.join(UPDATABLE)}")
            out.append(EntryReview(no, "update", {k: anonymise(v, names) for k, v in texts.items()}))
        elif value in ("keep", "retire"):
            out.append(EntryReview(no, value))
        else:
            raise ValueError(f"{no}：无效的审核结果 {value!r} / invalid review {value!r} (keep, retire, {{field: text}})")
    return out


__all__ = ["HIDDEN", "REVIEW_ACTIONS", "REVIEW_CRON", "UPDATABLE", "EntryReview", "anonymise", "library_entry",
           "parse_review", "search"]
