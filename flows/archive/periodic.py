"""客户档案的定期工作 — the customer archive's periodic work (procedures §7.2).

A5 定期清理 (quarterly): the system lists the records that look expired or invalid; the archive clerk
proposes keep / deactivate / merge / correct for each; the CS manager approves the batch (a rejection
goes back to the clerk with the comment); deactivating or merging is a new version with the reason
「定期清理」 — nothing is erased — and a record linked to an open case or within C13's retention is kept;
corrections go through A2.
A6 《客户档案报表》 (monthly): to the GM and the CS manager."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path

from itertools import count
from typing import NamedTuple

from prefect import flow

from deployments.names import ARCHIVE_CLEANUP, ARCHIVE_REPORT, flow_name
from models.archive.periodic import ACTION_LABELS, CleanupProposal, parse_proposals, quarter_before
from models.business_days import TZ
from models.archive.corrections import step_key
from models.statistics import previous_month_key
from tasks.archive.periodic import (apply_cleanup, archive_report_figures, list_cleanup_candidates, open_cleanup_case,
                                    report_summary)
from tasks.cases import record_state
from models.answers import Decision
from models.archive.answers import ArchiveCleanupProposals
from tasks.ask import asking, review_loop
from tasks.notify import notify
from tasks.platform.run_names import period_run_name
from tasks.platform.runtime import services


@flow(name=flow_name(ARCHIVE_CLEANUP), flow_run_name=period_run_name("archive-cleanup", "quarter", quarter_before), log_prints=True)
def archive_cleanup(quarter: str | None = None) -> str:
    return archive_cleanup_steps(quarter)


def archive_cleanup_steps(quarter: str | None) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    now = services().clock.now().astimezone(TZ)
    quarter = quarter or quarter_before(now)
    candidates = list_cleanup_candidates(now.date().isoformat())
    case_no = open_cleanup_case(quarter, candidates)
    if not candidates:
        record_state(case_no, "done", "archive_cleanup_nothing", closed=True)
        return case_no
    listing = {c["archive_no"]: f"{c['name']}：{'；'.join(c['reasons'])}" for c in candidates}
    ask = asking(case_no)

    def propose(first: int, note: str) -> Batch:
        """The clerk's proposals (a batch that does not parse goes back at once, with the reason)."""
        for n in count(first):
            answer = ask(ArchiveCleanupProposals, step=step_key("proposals", n), title="定期清理：逐条提出处理建议",
                         role="archive_clerk", due_business_days=5, summary={**listing, **({"退回意见": note} if note else {})})
            try:
                return Batch(n, answer, parse_proposals(answer.proposals, listing))
            except ValueError as exc:
                note = str(exc)
        raise AssertionError("unreachable")

    approvals: list[Decision] = []

    def approve(batch: Batch, _round: int) -> list[Decision]:
        approvals.append(ask(Decision, step=step_key("cs-manager-approval", batch.round), title="客服部经理审批定期清理批次",
                             role="cs_manager", requested_by=batch.answer.decided_by,
                             summary={p.archive_no: ACTION_LABELS[p.action] + (f" → {p.merge_into}" if p.merge_into else "")
                                      for p in batch.proposals} | {"纸质档案": batch.answer.paper_files or "—"}))
        return approvals[-1:]

    batch = review_loop(propose(1, ""), approve,
                        lambda b, _round, rejections: propose(b.round + 1, rejections[0].comment or "（未填写）"))
    record_state(case_no, "approved", "archive_cleanup_approved", actor=approvals[-1].decided_by,
                 data={"paper_files": batch.answer.paper_files})
    apply_cleanup(case_no, [p.model_dump() for p in batch.proposals], approvals[-1].decided_by)
    return case_no


class Batch(NamedTuple):
    """A clerk's proposals that parse, with the round they were made in (its step keys)."""
    round: int
    answer: ArchiveCleanupProposals
    proposals: list[CleanupProposal]


@flow(name=flow_name(ARCHIVE_REPORT), flow_run_name=period_run_name("archive-report", "month", previous_month_key), log_prints=True)
def archive_report(month: str | None = None) -> dict:
    return archive_report_steps(month)


def archive_report_steps(month: str | None) -> dict:  # undecorated: mutation testing reaches it (docs/testing.md)
    svc = services()
    month = month or previous_month_key(svc.clock.now())
    fig = archive_report_figures(month)
    to = sorted({p.email for r in ("general_manager", "cs_manager") for p in svc.org.people_for_role(r)})
    notify(f"ARCHIVE-{month}", "archive-report", "notice", to,
           {"case_no": f"客户档案报表 {month}", "title": f"《客户档案报表》{month}",
            "message": "上月客户档案情况如下（个人信息已遮蔽；完整档案查阅按查阅权限并登记）。", "summary": report_summary(fig)})
    return fig
