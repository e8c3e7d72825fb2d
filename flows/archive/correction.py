"""客户信息错误更正 — the archive-correction approval chain (procedures §2, A1–A2).

1. CS staff drafts the remedy plan (补救处理方案: what is wrong, the corrected values, who must act);
2. the CS manager reviews it; 3. the GM approves it; 4. CS hands it to the departments named in the
plan; 5. each department executes and sends its feedback, in parallel, each with its own deadline;
6. CS writes the report; 7. the CS manager reviews it; 8. the GM approves it; 9. the correction is
applied to the archive as a new version (存档). A rejection returns the item to its author with the
comment; after the revision the chain resumes at the step that rejected it. The drafter never
approves their own correction."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path

from collections.abc import Callable
from typing import Any

from prefect import flow

from deployments.names import ARCHIVE_CORRECTION, flow_name
from models.answers import Decision
from models.archive.answers import CorrectionReport, DepartmentFeedback, PlanRevision
from models.grievance_answers import GmRuling
from models.archive.records import validate_changes
from models.archive.corrections import (MAX_ROUNDS, CorrectionData, PLAN_REVIEWS, REPORT_REVIEWS, department_key,
                                parse_revised_changes, step_key)
from tasks.cases import load_case
from tasks.archive.corrections import (applied_lines, apply_correction, feedback_text, plan_summary, publish_correction_form,
                               record_step)
from tasks.ask import WITHDRAWN, A, Asking, Escalation, Withdrawn, asking, review_loop
from tasks.notify import notify

Draft = dict[str, Any]


def _on_case(case: dict) -> Asking:
    """The case's steps: the drafter never approves their own correction."""
    return asking(case["case_no"], requested_by=CorrectionData.of(case).drafted_by)


def _by_author(case: dict, model: type[A], step: str, title: str, summary: dict) -> A:
    """A step for the author of the plan and the report (the CS staff who drafted it)."""
    return _on_case(case)(model, step=step, title=title, role="cs_staff", assignee=CorrectionData.of(case).drafted_by,
                          requested_by=None, summary=summary)


def _reviewed(case: dict, base: str, title: str, role: str, draft: Draft,
              summary_of: Callable[[Draft], dict], revise: Callable[[dict, str, dict, Draft], Draft | Withdrawn]) -> Draft | Withdrawn:
    """Ask `role` to approve `draft`; on a rejection the author revises it and the same step asks
    again (`base`, `base-2`, …). After MAX_ROUNDS rejections the GM (the chairman, for the GM's own
    steps) rules: the draft upheld, or the case withdrawn."""
    ask = _on_case(case)

    def approve(d: Draft, n: int) -> list[Decision]:
        key = step_key(base, n)
        a = ask(Decision, step=key, title=title if n == 1 else f"{title}（第 {n} 轮）", role=role, summary=summary_of(d))
        if a.decision == "approve":
            record_step(case["case_no"], "in_progress", f"approved:{key}", actor=a.decided_by)
        else:
            record_step(case["case_no"], "returned", f"rejected:{key}", actor=a.decided_by,
                        event_data={"step": key, "comment": a.comment})
            publish_correction_form(case["case_no"])
        return [a]

    def rejection(d: Draft, n: int, rejections: list[Decision]) -> dict:
        a = rejections[0]
        return summary_of(d) | {"驳回环节": title, "驳回人": a.decided_by, "驳回意见": a.comment or "（未填写）"}

    def rule(d: Draft, rejections: list[Decision]) -> Draft | Withdrawn:
        key = f"ruling-{step_key(base, MAX_ROUNDS)}"
        r = ask(GmRuling, step=key, title=f"多次驳回，呈{RULING_LABEL[ruler(role)]}裁定（{title}）", role=ruler(role),
                summary=rejection(d, MAX_ROUNDS, rejections))
        record_step(case["case_no"], "in_progress" if r.decision == "upheld" else "returned", f"{r.decision}:{key}",
                    actor=r.decided_by, event_data={"step": key, "comment": r.comment})
        return d if r.decision == "upheld" else WITHDRAWN

    return review_loop(draft, approve,
                       lambda d, n, rejections: revise(case, f"revise-{step_key(base, n)}", rejection(d, n, rejections), d),
                       Escalation(MAX_ROUNDS, rule))


RULING_LABEL = {"general_manager": "总经理", "chairman": "董事长"}


def ruler(role: str) -> str:
    """Who rules on a draft rejected MAX_ROUNDS times: the GM, or the chairman over the GM's own step."""
    return "chairman" if role == "general_manager" else "general_manager"


def _revise_plan(case: dict, key: str, summary: dict, plan: Draft) -> Draft | Withdrawn:
    r = _by_author(case, PlanRevision, key, "修改补救处理方案（被驳回）", summary)
    if r.decision == "withdrawn":
        return WITHDRAWN
    revised = parse_revised_changes(r.changes)
    plan = {"changes": validate_changes(revised) if revised else plan["changes"],
            "reason": r.reason.strip() or plan["reason"]}
    record_step(case["case_no"], "revised", f"revised:{key}", actor=r.decided_by, data={"plan": plan})
    return plan


def _revise_report(case: dict, key: str, summary: dict, _report: Draft) -> Draft:
    r = _by_author(case, CorrectionReport, key, "修改更正报告（被驳回）", summary)
    record_step(case["case_no"], "revised", f"revised:{key}", actor=r.decided_by, data={"report": r.report})
    return {"report": r.report}


def _closed(case: dict, state: str, message: str) -> str:
    record_step(case["case_no"], state, f"correction_{state}", closed=True)
    publish_correction_form(case["case_no"])
    notify(case["case_no"], state, "notice", [CorrectionData.of(case).drafted_by],
           {"case_no": case["case_no"], "title": "客户信息更正未完成", "message": message, "summary": {}})
    return state


def execute_in_departments(case: dict, plan: Draft) -> dict[str, str]:
    """Steps 4–5: every named department gets its own task (deadline, reminder) at once; their
    feedback is collected whatever order it comes in."""
    depts = CorrectionData.of(case).departments
    answers = _on_case(case).each(DepartmentFeedback, [
        {"step": department_key(x.department), "title": f"执行客户信息更正并反馈（{x.name}）",
         "role": "department_head", "assignee": x.head, "requested_by": None, "due_business_days": x.due_business_days,
         "summary": plan_summary(case, plan, 本部门执行内容=x.action or "按更正内容执行")}
        for x in depts])
    return {x.name: a.feedback for x, a in zip(depts, answers, strict=True)}


@flow(name=flow_name(ARCHIVE_CORRECTION), flow_run_name="archive-correction-{case_no}", log_prints=True)
def archive_correction(case_no: str) -> str:
    return archive_correction_steps(case_no)


def archive_correction_steps(case_no: str) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    case = load_case(case_no)
    d = CorrectionData.of(case)
    publish_correction_form(case_no)

    # 1–3: the remedy plan, reviewed by the CS manager, approved by the GM
    plan: Draft = {"changes": d.changes, "reason": d.reason}
    for key, title, role in PLAN_REVIEWS:
        reviewed = _reviewed(case, key, title, role, plan, lambda p: plan_summary(case, p), _revise_plan)
        if reviewed is WITHDRAWN:
            return _closed(case, "withdrawn", "补救处理方案已撤回（或经裁定撤销），案件关闭。")
        plan = reviewed

    # 4–5: CS hands it to the departments; each executes and sends its feedback
    record_step(case_no, "executing", "handed_to_departments", data={"plan": plan},
                 event_data={"departments": [x.department for x in d.departments]})
    publish_correction_form(case_no)
    feedback = execute_in_departments(case, plan)
    record_step(case_no, "reporting", "departments_done", data={"feedback": feedback})
    publish_correction_form(case_no)

    # 6–8: CS writes the report; the CS manager reviews it, the GM approves it
    with_feedback = plan_summary(case, plan, 各部门反馈=feedback_text(feedback))
    r = _by_author(case, CorrectionReport, "cs-report", "撰写客户信息更正报告", with_feedback)
    report: Draft = {"report": r.report}
    record_step(case_no, "reporting", "report_written", actor=r.decided_by, data={"report": r.report})
    for key, title, role in REPORT_REVIEWS:
        reviewed = _reviewed(case, key, title, role, report, lambda rep: with_feedback | {"更正报告": rep["report"]},
                             _revise_report)
        if reviewed is WITHDRAWN:
            return _closed(case, "withdrawn", "更正报告经裁定撤销，案件关闭。")
        report = reviewed

    # 9: archived — the correction becomes a new version of the record
    applied = apply_correction(case_no, plan["changes"], plan["reason"])
    record_step(case_no, "archived", "correction_archived", data={"applied": applied}, closed=True,
                 event_data={"version": applied["version"]})
    publish_correction_form(case_no)
    notify(case_no, "archived", "notice", [d.drafted_by],
           {"case_no": case_no, "title": "客户信息更正已存档",
            "message": f"档案 {d.archive_no} 已按批准的更正存为第 {applied['version']} 版。",
            "summary": {"更正内容（原 → 新）": "\n".join(applied_lines(applied))}})
    return "archived"
