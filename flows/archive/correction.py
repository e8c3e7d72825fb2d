"""客户信息错误更正 — the archive-correction approval chain (procedures §2, A1–A2).

1. CS staff drafts the remedy plan (补救处理方案: what is wrong, the corrected values, who must act);
2. the CS manager reviews it; 3. the GM approves it; 4. CS hands it to the departments named in the
plan; 5. each department executes and sends its feedback, in parallel, each with its own deadline;
6. CS writes the report; 7. the CS manager reviews it; 8. the GM approves it; 9. the correction is
applied to the archive as a new version (存档). A rejection returns the item to its author with the
comment; after the revision the chain resumes at the step that rejected it. The drafter never
approves their own correction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import flow

from deployments.names import ARCHIVE_CORRECTION, flow_name
from models.archive.records import validate_changes
from models.archive.corrections import (MAX_ROUNDS, PLAN_REVIEWS, REPORT_REVIEWS, department_key,
                                parse_revised_changes, step_key)
from tasks.cases import load_case
from tasks.archive.corrections import (applied_lines, apply_correction, feedback_text, plan_summary, publish_correction_form,
                               record_step)
from tasks.human import StepRequest, request_decision, request_decisions
from tasks.notify import notify

Draft = dict[str, Any]


def _ask(case: dict, step: str, title: str, role: str, model: str = "Decision", **kw):  # noqa: ANN202
    kw.setdefault("requested_by", case["data"]["drafted_by"])  # the drafter never approves it
    return request_decision(StepRequest(case_no=case["case_no"], step_key=step, title=title, role=role,
                                        answer_model=model, **kw))


def _by_author(case: dict, step: str, title: str, model: str, summary: dict):  # noqa: ANN202
    """A step for the author of the plan and the report (the CS staff who drafted it)."""
    return _ask(case, step, title, "cs_staff", model, assignee=case["data"]["drafted_by"], requested_by=None,
                summary=summary)


def _until_approved(case: dict, base: str, title: str, role: str, draft: Draft,
                    summary_of: Callable[[Draft], dict], revise: Callable[..., Draft | None]) -> Draft | None:
    """Ask `role` to approve `draft`; on a rejection the author revises it and the same step asks
    again (`base`, `base-2`, …). None: the author withdrew it."""
    for n in range(1, MAX_ROUNDS + 1):
        key = step_key(base, n)
        a = _ask(case, key, title if n == 1 else f"{title}（第 {n} 轮）", role, summary=summary_of(draft))
        if a.decision == "approve":
            record_step(case["case_no"], "in_progress", f"approved:{key}", actor=a.decided_by)
            return draft
        record_step(case["case_no"], "returned", f"rejected:{key}", actor=a.decided_by,
                     event_data={"step": key, "comment": a.comment})
        publish_correction_form(case["case_no"])
        rejection = {"驳回环节": title, "驳回人": a.decided_by, "驳回意见": a.comment or "（未填写）"}
        draft = revise(case, f"revise-{key}", summary_of(draft) | rejection, draft)
        if draft is None:
            return None
    return None


def _revise_plan(case: dict, key: str, summary: dict, plan: Draft) -> Draft | None:
    r = _by_author(case, key, "修改补救处理方案（被驳回）", "PlanRevision", summary)
    if r.decision == "withdrawn":
        return None
    revised = parse_revised_changes(r.changes)
    plan = {"changes": validate_changes(revised) if revised else plan["changes"],
            "reason": r.reason.strip() or plan["reason"]}
    record_step(case["case_no"], "revised", f"revised:{key}", actor=r.decided_by, data={"plan": plan})
    return plan


def _revise_report(case: dict, key: str, summary: dict, _report: Draft) -> Draft:
    r = _by_author(case, key, "修改更正报告（被驳回）", "CorrectionReport", summary)
    record_step(case["case_no"], "revised", f"revised:{key}", actor=r.decided_by, data={"report": r.report})
    return {"report": r.report}


def _closed(case: dict, state: str, message: str) -> str:
    record_step(case["case_no"], state, f"correction_{state}", closed=True)
    publish_correction_form(case["case_no"])
    notify(case["case_no"], state, "notice", [case["data"]["drafted_by"]],
           {"case_no": case["case_no"], "title": "客户信息更正未完成", "message": message, "summary": {}})
    return state


def execute_in_departments(case: dict, plan: Draft) -> dict[str, str]:
    """Steps 4–5: every named department gets its own task (deadline, reminder) at once; their
    feedback is collected whatever order it comes in."""
    depts = case["data"]["departments"]
    answers = request_decisions([
        StepRequest(case_no=case["case_no"], step_key=department_key(x["department"]),
                    title=f"执行客户信息更正并反馈（{x['name']}）", role="department_head", assignee=x["head"],
                    answer_model="DepartmentFeedback", due_business_days=x["due_business_days"],
                    summary=plan_summary(case, plan, 本部门执行内容=x["action"] or "按更正内容执行"))
        for x in depts])
    return {x["name"]: a.feedback for x, a in zip(depts, answers, strict=True)}


@flow(name=flow_name(ARCHIVE_CORRECTION), flow_run_name="archive-correction-{case_no}", log_prints=True)
def archive_correction(case_no: str) -> str:
    return archive_correction_steps(case_no)


def archive_correction_steps(case_no: str) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    case = load_case(case_no)
    d = case["data"]
    publish_correction_form(case_no)

    # 1–3: the remedy plan, reviewed by the CS manager, approved by the GM
    plan: Draft | None = {"changes": d["changes"], "reason": d["reason"]}
    for key, title, role in PLAN_REVIEWS:
        plan = _until_approved(case, key, title, role, plan, lambda p: plan_summary(case, p), _revise_plan)
        if plan is None:
            return _closed(case, "withdrawn", "补救处理方案已撤回或多次驳回，案件关闭。")

    # 4–5: CS hands it to the departments; each executes and sends its feedback
    record_step(case_no, "executing", "handed_to_departments", data={"plan": plan},
                 event_data={"departments": [x["department"] for x in d["departments"]]})
    publish_correction_form(case_no)
    feedback = execute_in_departments(case, plan)
    record_step(case_no, "reporting", "departments_done", data={"feedback": feedback})
    publish_correction_form(case_no)

    # 6–8: CS writes the report; the CS manager reviews it, the GM approves it
    with_feedback = plan_summary(case, plan, 各部门反馈=feedback_text(feedback))
    r = _by_author(case, "cs-report", "撰写客户信息更正报告", "CorrectionReport", with_feedback)
    report: Draft | None = {"report": r.report}
    record_step(case_no, "reporting", "report_written", actor=r.decided_by, data={"report": r.report})
    for key, title, role in REPORT_REVIEWS:
        report = _until_approved(case, key, title, role, report,
                                 lambda rep: with_feedback | {"更正报告": rep["report"]}, _revise_report)
        if report is None:
            return _closed(case, "withdrawn", "更正报告多次驳回，案件关闭。")

    # 9: archived — the correction becomes a new version of the record
    applied = apply_correction(case_no, plan["changes"], plan["reason"])
    record_step(case_no, "archived", "correction_archived", data={"applied": applied}, closed=True,
                 event_data={"version": applied["version"]})
    publish_correction_form(case_no)
    notify(case_no, "archived", "notice", [d["drafted_by"]],
           {"case_no": case_no, "title": "客户信息更正已存档",
            "message": f"档案 {d['archive_no']} 已按批准的更正存为第 {applied['version']} 版。",
            "summary": {"更正内容（原 → 新）": "\n".join(applied_lines(applied))}})
    return "archived"
