"""Who a waiting run waits for, where the Prefect UI shows it: the markdown artifact
`waiting-{case_no}` on the run (the step, the person, the due and reminder times; the superior once
escalated; who answered, once answered) and a line in the run's log. Kept current when the run
suspends, when the watchdog escalates the task and when the answer is recorded. A customer's address
is masked.

Not flow-run labels: Prefect's label PATCH reads then writes in one transaction, and on its SQLite
server that locked the database for a minute while the run's own events were being written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.answers import CHOICE_LABELS
from models.org import ROLE_LABELS, OrgDirectory
from models.privacy import mask_data, mask_email
from models.tables import HumanTask
from tasks.platform.artifacts import PrefectArtifacts, RunArtifacts
from tasks.platform.render import fmt_dt, render


def person_label(org: OrgDirectory, email: str | None, role: str | None = None) -> str:
    """张伟（部门负责人） for a member of staff; 客户 w***@example.com for anyone else."""
    if not email:
        return "—"
    who = org.find(email)
    if who is None:
        return f"客户 {mask_email(email)}"
    return f"{who.name}（{ROLE_LABELS.get(role, role)}）" if role else who.name


def waiting_view(org: OrgDirectory, task: HumanTask, now: datetime) -> dict[str, Any]:
    """What the Prefect UI shows of a task: a one-line `line` for the log and the artifact's
    `markdown`; `waiting` is False once it is answered."""
    waiting = task.state in ("open", "escalated")
    ctx = {
        "case_no": task.case_no, "step_key": task.step_key, "title": task.title,
        "state": "waiting" if waiting else "done",
        "waiting_for": person_label(org, task.assignee, task.role),
        "escalated_to": person_label(org, task.escalated_to) if task.escalated_to else "",
        "due": fmt_dt(task.due_at), "remind": fmt_dt(task.remind_at),
        "decided_by": person_label(org, task.decided_by) if task.decided_by else "Prefect UI",
        "decision": CHOICE_LABELS.get(task.decision or "", task.decision or ""),
        "decided_at": fmt_dt(task.decided_at), "updated": fmt_dt(now),
    }
    if waiting:
        line = (f"等待 {ctx['waiting_for']} 处理「{task.title}」（{task.step_key}），截止 {ctx['due'] or '—'}"
                + (f"；已上报 {ctx['escalated_to']}" if task.escalated_to else ""))
    else:
        line = f"「{task.title}」已由 {ctx['decided_by']} 处理：{ctx['decision']}"
    return mask_data({"waiting": waiting, "line": line, "markdown": render("forms/waiting.md.j2", **ctx)})


def artifact_key(case_no: str) -> str:
    return f"waiting-{case_no.lower()}"


def publish_waiting(org: OrgDirectory, task: HumanTask, now: datetime,
                    artifacts: RunArtifacts | None = None) -> dict[str, Any]:
    """Write the view onto the task's flow run (through Prefect's API, by default: from the run
    itself, or from the watchdog); returns the view."""
    view = waiting_view(org, task, now)
    if task.flow_run_id:
        (artifacts or PrefectArtifacts()).markdown(
            artifact_key(task.case_no), view["markdown"], f"{task.case_no} 等待谁处理 / who the run waits for",
            flow_run_id=task.flow_run_id)
    return view
