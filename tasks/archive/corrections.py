"""Steps of the archive-correction chain (§2 A2): what the approvers read, the 《客户信息更正单》
artifact, and applying the approved correction as a new archive version (step 9)."""

from __future__ import annotations

from typing import Any

from prefect import task

from models.archive.corrections import change_lines
from tasks.cases import publish_form
from tasks.platform.policy import IO_TASK
from tasks.replay import replayed
from tasks.platform.render import render
from tasks.platform.runtime import services
from tasks.archive.store import record_of


def plan_summary(case: dict[str, Any], plan: dict[str, Any], **more: Any) -> dict[str, Any]:
    """The remedy plan as an approver reads it (ID-card and phone numbers masked)."""
    d = case["data"]
    current = record_of(services().store.get_customer(d["archive_no"]))
    out = {"单号": case["case_no"], "档案编号": d["archive_no"], "客户": d["customer_name"],
           "更正内容（原 → 新）": "\n".join(change_lines(current, plan["changes"])),
           "错误说明与理由": plan["reason"], "起草人": d["drafted_by"],
           "执行部门": "、".join(f"{x['name']}（{x['action'] or '按更正内容执行'}，{x['due_business_days']} 个工作日）"
                            for x in d["departments"])}
    return out | {k: v for k, v in more.items() if v}


def applied_lines(applied: dict[str, Any]) -> list[str]:
    """The before/after of the version written (masked)."""
    return change_lines(applied["before"], applied["after"])


def feedback_text(feedback: dict[str, str]) -> str:
    return "\n".join(f"{dept}：{text}" for dept, text in feedback.items())


@replayed("skip")
@task(name="记录环节 record step", **IO_TASK)
def record_step(case_no: str, state: str, kind: str, actor: str | None = None, data: dict[str, Any] | None = None,
                closed: bool = False, event_data: dict[str, Any] | None = None) -> None:
    """The case's state and its audit event, once per event kind (each kind names its step, and
    a resumed run passes every earlier step again)."""
    svc = services()
    if kind in {e.kind for e in svc.store.events(case_no)}:
        return
    svc.store.update_case(case_no, actor=actor, kind=kind, now=svc.clock.now(), state=state, data=data,
                          closed=closed, event_data=event_data)


@replayed("skip")
@task(name="更新《客户信息更正单》 publish correction form", **IO_TASK)
def publish_correction_form(case_no: str) -> None:
    """The case's 《客户信息更正单》 as a Prefect markdown artifact, current after every step."""
    svc = services()
    case = svc.store.get_case(case_no)
    d = case.data
    plan = d.get("plan") or {"changes": d["changes"], "reason": d["reason"]}
    current = record_of(svc.store.get_customer(d["archive_no"]))
    applied = d.get("applied")
    lines = applied_lines(applied) if applied else change_lines(current, plan["changes"])
    md = render("forms/archive_correction.md.j2", case=case, d=d, plan=plan, lines=lines,
                tasks=svc.store.tasks_of(case_no), applied=applied)
    publish_form.fn(case_no, md, f"archive-correction-form-{case_no.lower()}")


@task(name="更正存档 apply the correction as a new version", **IO_TASK)
def apply_correction(case_no: str, changes: dict[str, Any], reason: str) -> dict[str, Any]:
    """A2 step 9: the approved changes become a new version of the archive record, linked to
    this case (once per case: a re-run returns the version already written)."""
    svc = services()
    case = svc.store.get_case(case_no)
    v = svc.store.apply_customer_changes(
        case.data["archive_no"], changes, by=case.data["drafted_by"], case_no=case_no, now=svc.clock.now(),
        reason=f"{reason}（更正单 {case_no}，经客服部经理审核、总经理批准）")
    return {"version": v.version, "before": v.before, "after": v.after}
