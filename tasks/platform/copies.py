"""C20 (procedures §7.1): when other departments hold a step, the handler stays the customer's single
contact and is copied on every task and every answer of the case — a copy mail (抄送) for each task
opened for someone else, and one for each answer given by someone else.

A copy carries no decision link and no answer code: the handler reads, the assignee decides. Its subject
names the person and the step (two approvers, or two rounds, of one step title get distinct copies). Each copy has its own outbox
key (the task's `ask:1`, `task:{id}:copy-answer`), so a re-run never sends it twice."""

from __future__ import annotations

from datetime import datetime

from models.answers import CHOICE_LABELS
from models.org import ROLE_LABELS
from models.tables import HumanTask
from tasks.platform.mail import OutgoingMail
from tasks.platform.render import fmt_dt, render_mail
from tasks.platform.runtime import Services


def _someone_else(task: HumanTask, copy_to: str | None, person: str | None) -> bool:
    return bool(copy_to) and bool(person) and person.lower() != copy_to.lower()


def _name(svc: Services, email: str) -> str:
    who = svc.org.find(email)
    return who.name if who else email


def task_copy(svc: Services, task: HumanTask, copy_to: str | None, *, external: bool = False) -> list[OutgoingMail]:
    """The copy of a task opened for someone other than `copy_to` (none for a customer's own step)."""
    if external or not _someone_else(task, copy_to, task.assignee):
        return []
    due = f"，期限 {fmt_dt(task.due_at)}" if task.due_at else ""
    who = _name(svc, task.assignee)
    return [render_mail("notice", [copy_to], case_no=task.case_no, title=f"抄送：{task.title}（{who}）[{task.step_key}]",
                        message=f"{task.case_no} 的步骤「{task.title}」已交 {who}"
                                f"（{ROLE_LABELS.get(task.role, task.role)}）办理{due}。您是客户的唯一联系人，"
                                "此件仅供知悉，无需操作；办理结果也将抄送您。",
                        summary=task.summary)]


def copy_answer(svc: Services, task: HumanTask, copy_to: str | None, now: datetime) -> bool:
    """The copy of the answer to `task` when someone other than `copy_to` gave it. Once per task."""
    if task.state != "decided" or not _someone_else(task, copy_to, task.decided_by):
        return False
    answer = {k: str(v) for k, v in (task.answer or {}).items()
              if v not in (None, "", [], {}) and k not in ("code", "decided_by", "decision", "comment")}
    summary = {"决定": CHOICE_LABELS.get(task.decision or "", task.decision or "—"),
               **({"意见": task.comment} if task.comment else {}), **answer}
    who = _name(svc, task.decided_by)
    mail = render_mail("notice", [copy_to], case_no=task.case_no, title=f"抄送：{task.title}（{who} 已办理）[{task.step_key}]",
                       message=f"{task.case_no} 的步骤「{task.title}」已由 {who} 于 "
                               f"{fmt_dt(task.decided_at)} 办理，结果如下。您是客户的唯一联系人，请据此告知客户进展。",
                       summary=summary)
    return svc.store.queue_mail(f"task:{task.id}:copy-answer", task.case_no, mail, now,
                                event=("copy_sent", {"to": [copy_to], "step_key": task.step_key, "of": "answer"}))
