"""The deadline watchdog (催办 / 逾期上报): one pass, as of `now`.

- an open task past its remind-at gets one reminder;
- an open task past its due-at is escalated to the assignee's superior, who gets their own link;
- a decided task whose run was not resumed (Prefect was unreachable) is resumed;
- undelivered mail in the outbox is retried;
- procedures add their own checks (complaint deadlines: C4, C7, C8) in `PROCEDURE_CHECKS`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tasks.complaint_watch import complaint_checks
from tasks.human import render_request_mail
from tasks.notify import deliver_outbox
from tasks.resume import resume_task_run
from tasks.run_audit import audit_runs
from tasks.runtime import Services
from tasks.waiting import publish_waiting

log = logging.getLogger("kefu.watchdog")

ExtraCheck = Callable[[Services, datetime], dict[str, int]]
PROCEDURE_CHECKS: list[ExtraCheck] = [complaint_checks]


def escalation_target(svc: Services, task) -> str | None:  # noqa: ANN001
    """The assignee's nearest superior who is not recused (or the step's own fallback)."""
    if task.escalate_to:
        return task.escalate_to
    excluded = {e.lower() for e in task.recused}
    boss = svc.org.superior_of(task.assignee) if svc.org.find(task.assignee) else None
    while boss is not None and boss.email.lower() in excluded:
        boss = svc.org.superior_of(boss.email)
    return boss.email if boss else None


def start_case_run(svc: Services, case) -> str:  # noqa: ANN001
    """Start the flow run of a case (idempotent per deployment and case); returns its id."""
    from tasks.intake import start_complaint_flow, start_correction_flow, start_return_flow, start_sample_flow
    from tasks.new_customers import start_new_customer_flow

    starters = {
        "complaint": lambda c: start_complaint_flow(svc.flows, c.case_no, c.level or 1, c.data["form"]),
        "sample_request": lambda c: start_sample_flow(svc.flows, c.case_no, c.data["size_class"]),
        "allowance": lambda c: start_return_flow(svc.flows, c.case_no, "allowance"),
        "return": lambda c: start_return_flow(svc.flows, c.case_no, "return"),
        "archive_correction": lambda c: start_correction_flow(svc.flows, c.case_no),
        "new_customer": lambda c: start_new_customer_flow(
            svc.flows, c.case_no, c.data["application"]["customer"]["customer_class"]),
    }
    return starters[case.procedure](case)


def start_missing_runs(svc: Services, now: datetime) -> int:
    """A case filed while Prefect was unreachable gets its flow run now."""
    started = 0
    for case in svc.store.cases_without_run(now - timedelta(seconds=30)):
        try:
            svc.store.set_flow_run(case.case_no, start_case_run(svc, case))
            started += 1
        except Exception as exc:  # noqa: BLE001 - still unreachable: next pass
            log.warning("starting the flow of %s failed: %r", case.case_no, exc)
    return started


def show_escalation(svc: Services, task_id: int, now: datetime) -> None:
    """The run's "waiting for" labels and artifact name the superior too (best effort)."""
    try:
        publish_waiting(svc.org, svc.store.get_task(task_id), now, svc.artifacts)
    except Exception as exc:  # noqa: BLE001 - Prefect unreachable: the mail went out all the same
        log.warning("could not show the escalation of task %s on its run: %s", task_id, exc)


def sla_check(svc: Services, now: datetime, *, resume: bool = True,
              resume_after: timedelta = timedelta(seconds=20)) -> dict[str, Any]:
    """One pass. An answer is passed on to its run when it is older than `resume_after` (the web app
    resumes fresh answers itself; after a restart nothing is in flight, so recovery passes zero)."""
    counts: dict[str, Any] = {"reminded": 0, "escalated": 0, "resumed": 0, "mail_sent": 0,
                              "mail_failed": 0}
    for task in svc.store.tasks_to_remind(now):
        if svc.store.remind(task, [render_request_mail(svc, task, task.assignee, now, "reminder")], now):
            counts["reminded"] += 1
    for task in svc.store.tasks_to_escalate(now):
        target = escalation_target(svc, task)
        mails = [render_request_mail(svc, task, target, now, "escalation")] if target else []
        if svc.store.escalate(task, target or "", mails, now):
            counts["escalated"] += 1
            if resume:  # resume=False: a pass that does not talk to Prefect
                show_escalation(svc, task.id, now)
    if resume:
        for task in svc.store.tasks_to_resume(now - resume_after):
            try:
                outcome = resume_task_run(task)
            except Exception as exc:  # noqa: BLE001 - Prefect unreachable: next pass
                log.warning("resume of %s/%s failed: %s", task.case_no, task.step_key, exc)
                continue
            if outcome == "resumed":
                svc.store.mark_resumed(task.id, now)
                counts["resumed"] += 1
    if resume:
        counts.update(audit_runs(svc, now, start_case_run))
        counts["started"] = start_missing_runs(svc, now)
    for check in PROCEDURE_CHECKS:
        for k, v in check(svc, now).items():
            counts[k] = counts.get(k, 0) + v
    sent, failed = deliver_outbox(svc.store, svc.mailer, now, limit=500)
    counts["mail_sent"], counts["mail_failed"] = sent, failed
    return counts
