"""Who a waiting run waits for, where the Prefect UI shows it: the run's labels
(`kefu.waiting.step`, `kefu.waiting.title`, `kefu.waiting.for`, `kefu.waiting.due`) and the markdown
artifact `waiting-{case_no}` on the run, kept current when the run suspends, when the watchdog
escalates the task and when the answer is recorded. A customer's address is masked."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from models.answers import CHOICE_LABELS
from models.org import ROLE_LABELS, OrgDirectory
from models.privacy import mask_data, mask_email
from models.tables import HumanTask
from tasks.render import fmt_dt, render

LABEL_KEYS = ("kefu.waiting.step", "kefu.waiting.title", "kefu.waiting.for", "kefu.waiting.due")


def person_label(org: OrgDirectory, email: str | None, role: str | None = None) -> str:
    """张伟（部门负责人） for a member of staff; 客户 w***@example.com for anyone else."""
    if not email:
        return "—"
    who = org.find(email)
    if who is None:
        return f"客户 {mask_email(email)}"
    return f"{who.name}（{ROLE_LABELS.get(role, role)}）" if role else who.name


def waiting_view(org: OrgDirectory, task: HumanTask, now: datetime) -> dict[str, Any]:
    """What the Prefect UI shows of a task: `labels` for the run and the artifact's `markdown`."""
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
        who = ctx["waiting_for"] + (f"；已上报 {ctx['escalated_to']}" if task.escalated_to else "")
        labels = {"kefu.waiting.step": task.step_key, "kefu.waiting.title": task.title,
                  "kefu.waiting.for": who, "kefu.waiting.due": ctx["due"] or "—"}
    else:  # the run goes on: nobody is waited for (until its next step)
        labels = {k: "" for k in LABEL_KEYS}
    return mask_data({"labels": labels, "markdown": render("forms/waiting.md.j2", **ctx)})


def artifact_key(case_no: str) -> str:
    return f"waiting-{case_no.lower()}"


def publish_waiting(org: OrgDirectory, task: HumanTask, now: datetime) -> None:
    """Write the view onto the task's flow run through Prefect's API (from the run itself, or
    from the watchdog or the web app)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate

    if not task.flow_run_id:
        return
    view = waiting_view(org, task, now)
    run_id = UUID(task.flow_run_id)
    with get_client(sync_client=True) as client:
        client.update_flow_run_labels(run_id, view["labels"])
        client.create_artifact(ArtifactCreate(
            key=artifact_key(task.case_no), type="markdown", data=view["markdown"], flow_run_id=run_id,
            description=f"{task.case_no} 等待谁处理 / who the run waits for"))
