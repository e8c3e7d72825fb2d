"""C23's quarterly review of the case library (典型案例库, procedures §7.1): the CS manager keeps, updates
or retires each published entry. Idempotent: the review case is found by its quarter, and each entry
records the review case that changed it, so a re-run changes nothing twice. Nothing is erased: an update
keeps the earlier texts, a retired entry keeps its text with state `retired` (out of the searchable
library and of S3's typical cases)."""

from __future__ import annotations

from typing import Any

from prefect import task

from models.business_days import TZ
from tasks.platform.policy import IO_TASK
from tasks.platform.runtime import services
from tasks.complaint.steps import case_library


@task(name="列出案例库 list the case library", **IO_TASK)
def library_entries() -> list[dict[str, Any]]:
    """Every published entry, oldest first (case number, category, product, cause, lessons)."""

    return sorted(case_library(services()), key=lambda e: e["case_no"])


@task(name="立案案例库季度审核 open the quarterly review", **IO_TASK)
def open_library_review(quarter: str, entries: list[dict[str, Any]]) -> str:
    svc = services()
    now = svc.clock.now()
    case, _ = svc.store.create_case(procedure="case_library_review", prefix="AL", year=now.astimezone(TZ).year,
                                    state="reviewing", title=f"典型案例库季度审核 {quarter}",
                                    data={"quarter": quarter, "entries": [e["case_no"] for e in entries]},
                                    idempotency_key=f"case-library-review:{quarter}", actor="system", now=now)
    return case.case_no


@task(name="执行案例库审核 apply the review", **IO_TASK)
def apply_library_review(review_no: str, reviews: list[dict[str, Any]], reviewer: str) -> dict[str, int]:
    """Each entry's answer recorded on its complaint's `case_library` (once per review case)."""
    svc = services()
    now = svc.clock.now()
    at = now.astimezone(TZ).isoformat()
    counts = {"keep": 0, "update": 0, "retire": 0}
    for r in reviews:
        rec = dict(svc.store.get_case(r["case_no"]).data["case_library"])
        done = rec.get("quarter_reviews") or []
        if any(q["review"] == review_no for q in done):
            counts[r["action"]] += 1
            continue
        record = {"review": review_no, "action": r["action"], "by": reviewer, "at": at}
        if r["action"] == "update":
            record["before"] = {k: rec["entry"].get(k, "") for k in r["texts"]}  # the earlier text stays
            rec["entry"] = {**rec["entry"], **r["texts"]}
        elif r["action"] == "retire":
            rec |= {"state": "retired", "retired_at": at, "retired_by": reviewer}
        rec["quarter_reviews"] = [*done, record]
        svc.store.update_case(r["case_no"], actor=reviewer, kind=f"case_library_review_{r['action']}", now=now,
                              data={"case_library": rec}, event_data={"review": review_no, "action": r["action"]})
        counts[r["action"]] += 1
    svc.store.update_case_once(review_no, actor=reviewer, kind="case_library_reviewed", now=now, state="done",
                               closed=True, data={"reviews": reviews, "counts": counts}, event_data=counts)
    return counts
