"""The deadline watchdog (催办 / 逾期上报): one pass, as of `now`.

- an open task past its remind-at gets one reminder;
- an open task past its due-at is escalated to the assignee's superior, who gets their own link;
- a decided task whose run was not resumed (Prefect was unreachable) is resumed;
- a case's flow-run start still pending (Prefect was unreachable, the web app down) is delivered;
- undelivered mail in the outbox is retried;
- the procedures' own checks run: those they registered (`Procedure.watchdog_checks`,
  tasks/platform/procedures.py)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from tasks.human import render_request_mail
from tasks.notify import deliver_outbox
from tasks.platform import procedures
from tasks.platform.flow_starts import dispatch_flow_starts, ensure_start_request, start_request
from tasks.platform.resume import resume_task_run
from tasks.platform.run_audit import audit_runs
from tasks.platform.runtime import Services
from tasks.platform.waiting import publish_waiting
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.tables import Case, HumanTask

log = logging.getLogger("kefu.watchdog")


def escalation_target(svc: Services, task: HumanTask) -> str | None:
    """The assignee's nearest superior who is not recused (or the step's own fallback)."""
    if task.escalate_to:
        return task.escalate_to
    excluded = {e.lower() for e in task.recused}
    boss = svc.org.superior_of(task.assignee) if svc.org.find(task.assignee) else None
    while boss is not None and boss.email.lower() in excluded:
        boss = svc.org.superior_of(boss.email)
    return boss.email if boss else None


def start_case_run(svc: Services, case: Case) -> str:
    """Start a case's flow run now, with the case number as Prefect's idempotency key (a run deleted
    in Prefect frees it): for the run audit, which replaces a deleted run (tasks/platform/run_audit.py)."""
    r = start_request(case)
    return svc.flows.start(r.deployment, case.case_no, list(r.tags), r.run_name, dict(r.parameters),
                           idempotency_key=case.case_no)


def start_pending_runs(svc: Services, *, max_rounds: int = 100) -> dict[str, int]:
    """Deliver the flow-run start requests still pending (tasks/platform/flow_starts.py) — also when the web
    app, whose dispatcher normally does it within seconds, is down. A case filed before start
    requests were stored with the case (revision 0006) and still without a run gets its request
    first. Real time, not the pass's `now`: a request's next try is a real time."""
    for case in svc.store.cases_without_start(svc.clock.now() - timedelta(seconds=30), list(procedures.starts())):
        try:
            ensure_start_request(svc, case)
        except (KeyError, TypeError) as exc:  # data that no flow can start from: say so, go on
            log.error("case %s has no run and cannot be started: %s: %r", case.case_no, type(exc).__name__, exc)
    with ThreadPoolExecutor(max_workers=svc.settings.flow_start_concurrency,
                            thread_name_prefix="kefu-watchdog-start") as pool:
        return dispatch_flow_starts(svc, pool=pool, max_rounds=max_rounds)


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
    if resume:  # resume=False: a pass that does not talk to Prefect
        counts.update(audit_runs(svc, now, start_case_run))
        starts = start_pending_runs(svc)
        counts["started"], counts["start_failed"] = starts["started"], starts["failed"]
    for check in procedures.watchdog_checks():
        for k, v in check(svc, now).items():
            counts[k] = counts.get(k, 0) + v
    sent, failed = deliver_outbox(svc.store, svc.mailer, now, limit=500)
    counts["mail_sent"], counts["mail_failed"] = sent, failed
    # staff sessions that expired or ended: one DELETE (a sign-in removes them too; issue 24)
    counts["sessions_removed"] = svc.store.remove_dead_sessions(now)
    return counts
