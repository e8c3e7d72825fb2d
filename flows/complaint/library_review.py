"""典型案例库季度审核 — the case library's quarterly review (procedures §7.1 C23; 004 售后管理主管职责(7)).

Each quarter the CS manager reviews the library: a task lists every published entry, and the answer
records per entry keep / update its text / retire. An updated text is anonymised again and the earlier
one kept; a retired entry leaves the searchable library and S3's typical cases. A review that cannot be
read goes back to the CS manager with the reason."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path

from itertools import count

from prefect import flow

from models.archive.periodic import quarter_before
from models.complaint.answers import CaseLibraryQuarterReview
from models.complaint.library import REVIEW_ACTIONS, parse_review
from models.archive.corrections import step_key
from tasks.complaint.library import apply_library_review, library_entries, open_library_review
from tasks.cases import record_state
from tasks.ask import ask
from tasks.platform.run_names import period_run_name
from tasks.platform.runtime import services


@flow(name="case-library-review", flow_run_name=period_run_name("case-library-review", "quarter", quarter_before), log_prints=True)
def case_library_review(quarter: str | None = None) -> str:
    return case_library_review_steps(quarter)


def case_library_review_steps(quarter: str | None) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    svc = services()
    quarter = quarter or quarter_before(svc.clock.now())
    entries = library_entries()
    case_no = open_library_review(quarter, entries)
    if not entries:
        record_state(case_no, "done", "case_library_empty", closed=True)
        return case_no
    listing = {e["case_no"]: f"{e['category']} · {e['product'] or '—'}：{e['cause'][:80]}（经验：{e['lessons'][:60]}）"
               for e in entries}
    staff = [p.name for p in svc.org.people]
    note = ""
    for n in count(1):
        answer = ask(CaseLibraryQuarterReview, case_no=case_no, step=step_key("review", n),
                     title="典型案例库季度审核：逐条保留、更新或停用", role="cs_manager", due_business_days=5,
                     summary={**listing, "可选": "、".join(f"{k} {v}" for k, v in REVIEW_ACTIONS.items()),
                              **({"退回意见": note} if note else {})})
        try:
            reviews = parse_review(answer.reviews, listing, staff)
        except ValueError as exc:
            note = str(exc)
            continue
        apply_library_review(case_no, [{"case_no": r.case_no, "action": r.action, "texts": r.texts} for r in reviews],
                             answer.decided_by)
        return case_no
    raise AssertionError("unreachable")
