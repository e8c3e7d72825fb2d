"""客户投诉处理 — complaint handling (procedures §1, C1–C13).

The receiver decides whether the complaint stands and confirms its level; contacts the customer
within one business day; the form goes to the handler of its level; the responsible department
states responsibility and a plan within a day, which the quality lead and the manager approve before
it is carried out (nothing is promised before); the outcome is recorded; the customer says how
satisfied they are — 1–3 close the case, 4–5 open a new case one level up, an unsatisfied Level 3
goes to the GM's meeting; the return visit follows within 24 hours; the reviewer reviews; the clerk
archives. Deadlines, reminders, 《催办单》 and 《治办单》 are the watchdog's (tasks/complaint_watch)."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from models.complaints import (LEVEL_LABELS, SATISFACTION_LABELS, escalated_level, return_visit_role,
                               routing, satisfaction_outcome)
from tasks.authority import decide_outcome_by_authority
from tasks.cases import load_case, record_state
from tasks.complaints import (check_first_contact, close_case, complaint_summary, notice, open_linked_case,
                              pass_on, publish_complaint_form, record_outcome,
                              start_return_credit_procedure, tag_run)
from tasks.human import StepRequest, request_decision
from tasks.notify import deliver_mail


@flow(name="complaint", flow_run_name="complaint-{case_no}", log_prints=True)
def complaint(case_no: str) -> str:
    case = load_case(case_no)
    data, form = case["data"], case["data"]["form"]
    receiver, recused = data["received_by"], data["recused"]
    customer_email = form["complainant"].get("email")
    summary = complaint_summary(case)
    publish_complaint_form(case_no)

    def ask(step: str, title: str, role: str, model: str = "Decision", **kw) -> object:
        kw.setdefault("summary", summary)
        return request_decision(StepRequest(case_no=case_no, step_key=step, title=title, role=role,
                                            recused=recused, answer_model=model, **kw))

    # C2 validity and C3 level, decided by the receiver (an escalated case arrives with its level)
    level = case["level"]
    if not case["parent"]:
        intake = ask("intake", "受理确认：投诉是否成立、投诉级别", "l1_handler", "ComplaintIntake",
                     assignee=receiver, defaults={"level": data["proposed_level"]},
                     summary={**summary, "系统建议级别": LEVEL_LABELS[data["proposed_level"]],
                              "建议理由": "；".join(data["level_reasons"]) or "—"})
        if intake.decision == "not_established":
            if customer_email:
                notice(case_no, "not-established", [customer_email], "关于您的投诉的答复",
                       f"尊敬的{form['complainant']['name']}：感谢您的反馈。经核实，{intake.comment or '该问题不属于投诉受理范围'}。"
                       "如有疑问，欢迎随时与我们联系。", {"投诉编号": case_no})
            close_case(case_no, "not_established", "complaint_not_established")
            publish_complaint_form(case_no)
            return "not_established"
        level = intake.level
        record_state(case_no, "accepted", "complaint_accepted", actor=intake.decided_by, level=level)
        tag_run(level, form["kind"], form["category"])
    summary = complaint_summary(load_case(case_no))
    route = routing(level)
    handler_role = route.handler
    handler = handler_for(handler_role, recused, receiver if handler_role == "l1_handler" else None)
    record_state(case_no, "accepted", "handler_assigned", data={"handler": handler},
                 event_data={"handler": handler, "level": level})

    # C5: by level, the form goes at once to the handler (and is reported to the directors at L3)
    if route.reported_via or route.informed:
        pass_on(case_no, [handler_role, *route.reported_via[1:], *route.informed], summary,
                f"{LEVEL_LABELS[level]}：《投诉处理单》{case_no} 转交处理。", f"pass-on-l{level}")
        deliver_mail(case_no, return_state=True)

    # C4: first contact within one business day (late: ¥30 violation, C12)
    if not case["parent"]:
        ask("first-contact", "首次联系客户并填写《投诉处理单》", "l1_handler", "FirstContact", assignee=receiver,
            due_at=datetime.fromisoformat(data["deadlines"]["first_contact"]))
        check_first_contact(case_no)
        publish_complaint_form(case_no)

    # C6: the responsible department's plan within a day; the solution approved before it is carried out
    for round_no in range(1, 10):
        plan = ask(f"plan-{round_no}", "调查：责任归属与处理方案（1日内）", handler_role, "InvestigationPlan",
                   assignee=handler,
                   due_at=datetime.fromisoformat(data["deadlines"]["plan"]) if round_no == 1 else None)
        record_state(case_no, "accepted", f"plan_submitted_{round_no}", actor=plan.decided_by,
                     data={"plan": plan.model_dump(include={"responsibility_department", "responsibility",
                                                            "plan", "first_agreement"})})
        plan_summary = {**summary, "责任部门": plan.responsibility_department, "责任说明": plan.responsibility,
                        "处理方案": plan.plan}
        approvals = [ask(f"solution-{role.replace('_', '-')}-{round_no}", "处理方案审批", role, summary=plan_summary)
                     for role in route.solution_approvers]
        if all(a.decision == "approve" for a in approvals):
            break
        publish_complaint_form(case_no)
    notice(case_no, "gm-report", _people(route.gm_report_to), "投诉调查处理报告",
           f"投诉 {case_no} 的调查结论与处理方案已获批准，现报告总经理。", plan_summary, event="gm_report_sent")
    publish_complaint_form(case_no)

    # C11: the outcome with responsibility and loss (an allowance or a return starts §4 once closed)
    outcome = ask("outcome", "处理结果登记（责任归属、损失金额）", handler_role, "ComplaintOutcome", assignee=handler,
                  defaults={"responsibility_department": plan.responsibility_department})
    # R2 / 000 «13» 第九条五: an outcome with an amount is decided by the approvers of its authority band
    outcome = decide_outcome_by_authority(ask, outcome, handler_role, handler, summary)
    record_outcome(case_no, outcome.model_dump(mode="json"))
    publish_complaint_form(case_no)

    # C9: satisfaction — by the customer's own survey link, or recorded by the handler
    if customer_email:
        sat = ask("satisfaction", "满意度调查", handler_role, "Satisfaction", external_assignee=customer_email,
                  escalate_to=handler, template="satisfaction_survey", due_business_days=2,
                  summary={"投诉编号": case_no, "处理结果": outcome.comment or "已处理"})
    else:
        sat = ask("satisfaction", "告知处理结果并记录客户满意度", handler_role, "Satisfaction", assignee=handler)
    action = satisfaction_outcome(sat.score, level)
    record_state(case_no, "resolved", "satisfaction_recorded", actor=sat.decided_by,
                 data={"satisfaction": sat.score}, event_data={"score": sat.score, "label": SATISFACTION_LABELS[sat.score],
                                                               "action": action})
    if action == "escalate":
        child = open_linked_case(case_no, escalated_level(level))
        close_case(case_no, "escalated", "complaint_escalated")
        publish_complaint_form(case_no)
        return f"escalated:{child}"
    if action == "gm_meeting":
        notice(case_no, "gm-meeting", _people("general_manager") + _people("l3_admin_director"),
               "总经理例会议题：三级投诉客户不满意",
               f"三级投诉 {case_no} 客户评价「{SATISFACTION_LABELS[sat.score]}」，提交总经理例会研究处理。",
               summary, event="gm_meeting_agenda")
        close_case(case_no, "gm_meeting", "complaint_to_gm_meeting")
        publish_complaint_form(case_no)
        return "gm_meeting"

    # C10: the return visit within 24 hours — the receiver (minor) or the area manager (major)
    visit_role = return_visit_role(level)
    ask("return-visit", "回访（24小时内）", visit_role, "ReturnVisit", due_hours=24,
        assignee=receiver if visit_role == "l1_handler" else None)
    # C5: review — a rejection goes back to the handler with the reviewer's comment, then again
    for reviewer in route.reviewers:
        review_step(case_no, ask, reviewer, handler_role, handler, summary)
    # C13: the clerk archives the case file
    ask("archive", "投诉档案存档", route.archiver, "Done")
    close_case(case_no, "closed", "complaint_closed")
    # R1: the closed complaint's allowance or return goes to the return/credit procedure
    start_return_credit_procedure(case_no, summary)
    deliver_mail(case_no, return_state=True)
    publish_complaint_form(case_no)
    return "closed"


def review_step(case_no: str, ask, reviewer: str, handler_role: str, handler: str,  # noqa: ANN001
                summary: dict) -> None:
    """C5 审核: until the reviewer approves, the handler revises the 《投诉处理单》 as commented."""
    key = f"review-{reviewer.replace('_', '-')}"
    for round_no in range(1, 10):
        suffix = "" if round_no == 1 else f"-{round_no}"
        review = ask(f"{key}{suffix}", "审核《投诉处理单》" + (f"（第 {round_no} 轮）" if round_no > 1 else ""), reviewer)
        if review.decision == "approve":
            return
        ask(f"{key}-revision-{round_no}", "按审核意见修改《投诉处理单》", handler_role, "Done", assignee=handler,
            summary={**summary, "审核意见": review.comment or "（未填写）"})
        publish_complaint_form(case_no)


def handler_for(role: str, recused: list[str], preferred: str | None) -> str:
    from models.rules import pick_assignee
    from tasks.runtime import services

    return pick_assignee(services().org, role, set(recused), preferred=preferred).email


def _people(role: str) -> list[str]:
    from tasks.runtime import services

    return [p.email for p in services().org.people_for_role(role)]
