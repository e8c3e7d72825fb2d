"""客户投诉处理 — complaint handling (procedures §1, C1–C13).

The receiver decides whether the complaint stands (one that does not gets a polite explanation, by
email or by the receiver's phone call / SMS) and confirms its level; contacts the customer within one
business day; the form goes to the handler of its level, who names the department complained about;
its head states responsibility and a plan within a day, which the quality lead and the manager approve
before it is carried out (nothing is promised before; a rejected plan is revised until approved); the
GM gives 批示 on the investigation report within 3 business days; the outcome is recorded; the
customer says how satisfied they are; every case is visited within 24 hours of resolution; then 1–3
close the case, 4–5 open a new case one level up, an unsatisfied Level 3 goes to the GM's meeting; the
reviewer reviews; the clerk archives. Deadlines, reminders, 《催办单》 and 《治办单》 are the watchdog's
(tasks/complaint_watch)."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path

from datetime import datetime
from itertools import count

from prefect import flow

from deployments.names import COMPLAINT, flow_name
from models.answers import Decision, Done
from models.archive.answers import DepartmentFeedback
from models.complaint.answers import (ComplaintIntake, ComplaintOutcome, ComplaintReview, CustomerInformed,
                                      FirstContact, GmInstruction, GmMeetingDecision, InvestigationPlan,
                                      ResponsibleDepartment, ReturnVisit, Satisfaction)
from models.complaint.handling import (GM_MEETING_SUBMITTER, LEVEL_LABELS, SATISFACTION_LABELS, ComplaintData,
                                       ComplaintForm, Routing, escalated_level, return_visit_due, return_visit_role,
                                       routing, satisfaction_outcome, validity_next_step, visit_action,
                                       visit_unsatisfactory)
from models.archive.corrections import step_key
from models.org import Department, Person
from models.rules import plan_writer, responsible_department
from flows.grievance.chain import route_complaint
from tasks.complaint.authority import decide_outcome_by_authority
from tasks.cases import load_case, record_state
from models.complaint.hours import is_major
from models.complaint.group import group_level
from tasks.complaint.steps import (check_first_contact, check_satisfaction_asked, close_case, complaint_summary, notice,
                              open_linked_case, pass_on, process_outline, record_return_visit, publish_complaint_form, record_hour_steps,
                              record_outcome, record_routing_violation, report_major_complaint,
                              publish_case_library_entry, send_written_reply, write_case_library_entry,
                              send_liaison_letter, start_return_credit_procedure, tag_group_member, tag_run,
                              tell_process, update_process_notice)
from tasks.ask import Asking, asking, rejection_notes, review_loop
from tasks.notify import deliver_mail
from tasks.platform.runtime import services
from models.rules import pick_assignee


@flow(name=flow_name(COMPLAINT), flow_run_name="complaint-{case_no}", log_prints=True)
def complaint(case_no: str) -> str:
    return complaint_steps(case_no)


def complaint_steps(case_no: str) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    case = load_case(case_no)
    data = ComplaintData.of(case)
    form, receiver, recused = data.form, data.received_by, data.recused
    customer_email = form.complainant.email
    summary = complaint_summary(case)
    publish_complaint_form(case_no)

    ask = asking(case_no, recused=recused, summary=summary)

    # C21: a major complaint is reported within 10 minutes — on the level the rules propose at receipt
    if is_major(data.proposed_level) or case["parent"]:
        report_major_complaint(case_no, case["level"] if case["parent"] else data.proposed_level)

    # C2 validity and C3 level, decided by the receiver (an escalated case arrives with its level)
    level = case["level"]
    if not case["parent"]:
        intake = ask(ComplaintIntake, step="intake", title="受理确认：投诉是否成立、投诉级别", role="l1_handler",
                     assignee=receiver, defaults={"level": data.proposed_level},
                     summary={**summary, "系统建议级别": LEVEL_LABELS[data.proposed_level],
                              "建议理由": "；".join(data.level_reasons) or "—"})
        if validity_next_step(intake.decision == "stands", intake.comment) == "close_not_established":
            explain_not_established(case_no, ask, form, intake.comment, receiver)
            close_case(case_no, "not_established", "complaint_not_established")
            publish_complaint_form(case_no)
            return "not_established"
        level = group_level(intake.level, data.model_dump())  # C26: a group's member keeps the group's level 3
        record_state(case_no, "accepted", "complaint_accepted", actor=intake.decided_by, level=level)
        tag_run(level, form.kind, form.category, data.group_case)
        if is_major(level) and level > data.proposed_level:  # C21: and again on a higher level confirmed
            report_major_complaint(case_no, level)
        if data.route == "grievance":  # C15: routed by the intake to a grievance (§7)
            return route_complaint(case_no, ask, form, complaint_summary(load_case(case_no)))
    if data.group_case:  # C26: joined a group (maybe after its intake): its run goes on at level 3, tagged
        level = group_level(level, data.model_dump())
        tag_group_member(level, form.kind, form.category, data.group_case)
    summary = complaint_summary(load_case(case_no))
    ask = ask.sharing(summary=summary)
    route = routing(level)
    handler_role = route.handler
    handler = handler_for(handler_role, recused, receiver if handler_role == "l1_handler" else None)
    record_state(case_no, "accepted", "handler_assigned", data={"handler": handler},
                 event_data={"handler": handler, "level": level})
    if data.group_case:  # C26: a member that joined after its intake: the level-3 handler takes over
        record_state(case_no, "accepted", "group_handler_assigned", data={"handler": handler},
                     event_data={"handler": handler, "level": level, "group_case": data.group_case})
    ask = ask.sharing(copy_to=handler)  # C20: the single contact, copied on every task and answer of others

    # C5: by level, the form goes at once to the handler (and is reported to the directors at L3)
    if route.reported_via or route.informed:
        pass_on(case_no, handler, [*route.reported_via[1:], *route.informed], recused, summary,
                f"{LEVEL_LABELS[level]}：《投诉处理单》{case_no} 转交处理。", f"pass-on-l{level}")
        deliver_mail(case_no, return_state=True)

    # C4: first contact within one business day (late: ¥30 violation, C12); C20: the customer is told the
    # process, each step's time and the handler's direct contact (受理告知) — the handler says how
    if not case["parent"]:
        contact = ask(FirstContact, step="first-contact", title="首次联系客户、告知受理流程并填写《投诉处理单》", role="l1_handler",
                      assignee=receiver, due_at=data.due("first_contact"),
                      summary={**summary, "受理告知（请告知客户）": process_outline(case_no)})
        check_first_contact(case_no)
        tell_process(case_no, contact.process_notice_via, contact.decided_by)
        publish_complaint_form(case_no)
    else:  # C20: an escalated case has a new level and handler: the customer gets the updated outline
        update_process_notice(case_no, f"投诉升级为{LEVEL_LABELS[level]}，处理人变更")

    # C6: the handler names the department complained about; its head states responsibility and a plan
    # within a day; the quality lead and the manager approve it before it is carried out (nothing is
    # promised before); the investigation report goes to the GM, whose 批示 is due within 3 business days
    writer, flags = name_responsible_department(case_no, ask, handler_role, handler, recused, summary)
    # C21: a department outside CS gets a 《工作联系函》 and enters its analysis within 1 office hour
    analysis_due = send_liaison_letter(case_no, writer[0].code, writer[1].email, summary)
    plan_due = min(data.due("plan"), datetime.fromisoformat(analysis_due)) if analysis_due else data.due("plan")
    # C27: a complaint in legal process: the plan goes via the administration centre to the legal counsel,
    # then the GM and the chairman — nothing is carried out or promised before they approve
    # the flag may also be set (by any handler) or cleared (by the legal counsel) on the case (tasks/complaint/legal_process.py)
    legal = bool(data.in_legal_process if data.in_legal_process is not None else flags.get("in_legal_process"))
    if legal:
        tell_legal_process(case_no, summary)
    plan = plan_until_approved(case_no, ask, route, writer, summary, due=plan_due, legal=legal)
    record_hour_steps(case_no, plan.first_agreement)
    # C25: every level-3 case and any matter of principle goes on the GM meeting's agenda, which decides
    # the handling plan and whether to notify the authorities
    if level == 3 or flags.get("matter_of_principle"):
        meeting = gm_meeting(case_no, ask, plan_summary(summary, plan))
        summary = {**summary, "总经理例会决定": meeting.handling_plan}
        ask = ask.sharing(summary=summary)
    instruction = ask(GmInstruction, step="gm-instruction", title="投诉调查处理报告：总经理批示（3个工作日内）", role=route.gm_report_to,
                      summary=plan_summary(summary, plan), due_at=data.due("gm_report"))
    record_state(case_no, "accepted", "gm_instruction_recorded", actor=instruction.decided_by,
                 data={"gm_instruction": instruction.instruction}, event_data={"instruction": instruction.instruction})
    publish_complaint_form(case_no)

    # C11: the outcome with responsibility and loss (an allowance or a return starts §4 once closed)
    outcome = ask(ComplaintOutcome, step="outcome", title="处理结果登记（责任归属、损失金额）", role=handler_role, assignee=handler,
                  defaults={"responsibility_department": plan.responsibility_department},
                  summary={**plan_summary(summary, plan), "总经理批示": instruction.instruction})
    # R2 / 000 «13» 第九条五: an outcome with an amount is decided by the approvers of its authority band
    outcome = decide_outcome_by_authority(ask, outcome, handler_role, handler, summary)
    record_outcome(case_no, outcome.model_dump(mode="json"))
    record_hour_steps(case_no, True)  # C21: the handling is agreed at the latest with the outcome
    # C24: the complainant gets the decision in writing (《投诉处理答复函》), kept as an original
    send_written_reply(case_no, outcome.reply_via, outcome.reply_text, outcome.oral_reason)
    publish_complaint_form(case_no)

    # C9: satisfaction — by the customer's own survey link, or recorded by the handler
    if customer_email:
        sat = ask(Satisfaction, step="satisfaction", title="满意度调查", role=handler_role, external_assignee=customer_email,
                  escalate_to=handler, template="satisfaction_survey", due_business_days=2,
                  summary={"投诉编号": case_no, "处理结果": outcome.comment or "已处理"})
    else:
        sat = ask(Satisfaction, step="satisfaction", title="告知处理结果并记录客户满意度", role=handler_role, assignee=handler)
    action = satisfaction_outcome(sat.score, level)
    record_state(case_no, "resolved", "satisfaction_recorded", actor=sat.decided_by,
                 data={"satisfaction": sat.score}, event_data={"score": sat.score, "label": SATISFACTION_LABELS[sat.score],
                                                               "action": action})

    # C10: every case is visited (100%) within 24 hours of resolution — the receiver (minor) or the area manager (major)
    visit_role = return_visit_role(level)
    visit = ask(ReturnVisit, step="return-visit", title="回访（处理完毕后24小时内）", role=visit_role,
                due_at=return_visit_due(resolved_at(case_no)), assignee=receiver if visit_role == "l1_handler" else None)
    # C12: the visit asks whether the customer was asked their satisfaction (not asked, or faked: a violation)
    check_satisfaction_asked(case_no, visit.satisfaction_check, visit.result)
    # C22: what the visit found is recorded; an unsatisfactory visit goes to the L2 handler and back to the
    # department with a 《工作联系函》 and a deadline; a process or result rated 4–5 also escalates (C9)
    record_return_visit(case_no, visit.model_dump(mode="json"))
    if visit_unsatisfactory((visit.service_quality, visit.service_attitude, visit.process_satisfaction,
                             visit.result_satisfaction), visit.shortcoming_unresolved):
        send_back_to_department(case_no, ask, summary, visit.shortcomings or visit.result)
        action = visit_action(action, visit.process_satisfaction, visit.result_satisfaction, level)

    if action == "escalate":
        child = open_linked_case(case_no, escalated_level(level))
        close_case(case_no, "escalated", "complaint_escalated")
        publish_complaint_form(case_no)
        return f"escalated:{child}"
    if action == "gm_meeting":
        notice(case_no, "gm-meeting", _people("general_manager") + _people(GM_MEETING_SUBMITTER),
               "总经理例会议题：三级投诉客户不满意",
               f"三级投诉 {case_no} 客户评价「{SATISFACTION_LABELS[sat.score]}」，提交总经理例会研究处理。",
               summary, event="gm_meeting_agenda")
        close_case(case_no, "gm_meeting", "complaint_to_gm_meeting")
        publish_complaint_form(case_no)
        return "gm_meeting"

    # C5: review — a rejection goes back to the handler with the reviewer's comment, then again
    for reviewer in route.reviewers:
        review_step(case_no, ask, reviewer, handler_role, handler, summary)
    # C13: the clerk archives the case file
    ask(Done, step="archive", title="投诉档案存档", role=route.archiver)
    close_case(case_no, "closed", "complaint_closed")
    # R1: the closed complaint's allowance or return goes to the return/credit procedure
    start_return_credit_procedure(case_no, summary)
    deliver_mail(case_no, return_state=True)
    publish_complaint_form(case_no)
    return "closed"


def name_responsible_department(case_no: str, ask: Asking, handler_role: str, handler: str,
                                recused: list[str], summary: dict) -> tuple[tuple[Department, Person], dict]:
    """C6 被投诉部门: the handler names it (again, if the org directory has no such department with a
    head); its head writes the plan. With the flags the handler set (C25 matter of principle, C27 legal
    process)."""
    org, unknown = services().org, ""
    for n in count(1):
        named = ask(ResponsibleDepartment, step=step_key("responsible-department", n), title="指定被投诉部门（责任部门）",
                    role=handler_role,
                    assignee=handler,
                    summary={**summary, **({"未找到的部门": unknown} if unknown else {}),
                             "可选部门": "、".join(d.name for d in org.departments if d.head)})
        dept = responsible_department(org, named.department)
        if dept is not None:
            writer = plan_writer(org, dept, set(recused))
            flags = {k: True for k in ("matter_of_principle", "in_legal_process") if getattr(named, k)}
            record_state(case_no, "accepted", "responsible_department_named", actor=named.decided_by,
                         data={"responsible_department": dept.name, "plan_writer": writer.email, **flags},
                         event_data={"department": dept.name, "head": writer.email, **flags})
            return (dept, writer), flags
        unknown = named.department
    raise AssertionError("unreachable")


LEGAL_CHAIN = ("l3_admin_director", "legal_counsel", "general_manager", "chairman")


def plan_until_approved(case_no: str, ask: Asking, route: Routing, writer: tuple[Department, Person],
                        summary: dict, due: datetime, legal: bool = False) -> InvestigationPlan:
    """C6: the department's head writes the plan (1 day); the solution approvers approve it, or it goes
    back to the head with their comments and they approve the revised plan — as often as it takes."""
    dept, head = writer
    roles = services().org.roles_of(head.email)
    approvers = route.solution_approvers + (tuple(r for r in LEGAL_CHAIN if r not in route.solution_approvers)
                                            if legal else ())
    role = "department_head" if "department_head" in roles else roles[0]

    def write(round_no: int, rejected: str = "") -> InvestigationPlan:
        plan = ask(InvestigationPlan, step=f"plan-{round_no}", title=f"调查：责任归属与处理方案（{dept.name}，1日内）", role=role,
                   assignee=head.email, defaults={"responsibility_department": dept.name},
                   summary={**summary, "被投诉部门": dept.name, **({"驳回意见": rejected} if rejected else {})},
                   due_at=due if round_no == 1 else None)
        record_state(case_no, "accepted", f"plan_submitted_{round_no}", actor=plan.decided_by,
                     data={"plan": plan.model_dump(include={"responsibility_department", "responsibility",
                                                            "plan", "first_agreement"})})
        return plan

    def approve(plan: InvestigationPlan, round_no: int) -> list[Decision]:
        return [ask(Decision, step=f"solution-{r.replace('_', '-')}-{round_no}", title="处理方案审批", role=r, requested_by=head.email,
                    summary=plan_summary(summary, plan)) for r in approvers]

    def revise(_plan: InvestigationPlan, round_no: int, rejections: list[Decision]) -> InvestigationPlan:
        publish_complaint_form(case_no)
        return write(round_no + 1, rejection_notes(rejections))

    return review_loop(write(1), approve, revise)


def send_back_to_department(case_no: str, ask: Asking, summary: dict, finding: str) -> None:
    """C22: the L2 handler is told; the department's head gets the 《工作联系函》 as a step with a deadline
    (1 business day) and records what was done."""
    case_data = ComplaintData.model_validate(services().store.get_case(case_no).data)  # named after the flow read it
    l2 = _people("l2_handler")
    notice(case_no, "visit-unsatisfactory", l2, "回访不满意", f"投诉 {case_no} 回访结果不满意：{finding}", summary,
           event="return_visit_unsatisfactory")
    head = case_data.plan_writer or l2[0]
    role = "department_head" if services().org.has_role(head, "department_head") else services().org.roles_of(head)[0]
    ask(DepartmentFeedback, step="visit-follow-up", title="《工作联系函》：回访不满意，请整改并反馈（1个工作日内）", role=role,
        assignee=head, due_business_days=1,
        summary={**summary, "责任部门": case_data.responsible_department or "—", "回访发现": finding})


def gm_meeting(case_no: str, ask: Asking, summary: dict) -> GmMeetingDecision:
    """C25: the case goes on the next GM regular meeting's agenda (总经理例会); the GM office records its
    decision — the handling plan, whether the authorities are notified (which, by whom)."""
    notice(case_no, "gm-meeting-agenda", _people("general_manager") + _people("gm_office"), "列入总经理例会：三级投诉/原则性问题",
           f"投诉 {case_no} 列入下次总经理例会议题（三级投诉或原则性问题），请例会决定处理方案及是否通报主管部门。",
           summary, event="gm_meeting_agenda")
    meeting = ask(GmMeetingDecision, step="gm-meeting", title="总经理例会：决定处理方案、是否通报主管部门", role="gm_office",
                  summary=summary)
    record_state(case_no, "accepted", "gm_meeting_decided", actor=meeting.decided_by,
                 data={"gm_meeting": meeting.model_dump(include={"handling_plan", "interim_confirmed",
                                                                 "notify_authorities", "authority", "notified_by"})})
    return meeting


def tell_legal_process(case_no: str, summary: dict) -> None:
    """C27: the GM, the chairman, both L3 directors and the legal counsel are told at once."""
    to = sorted({e for r in ("general_manager", "chairman", "l3_sales_director", "l3_admin_director", "legal_counsel")
                 for e in _people(r)})
    notice(case_no, "legal-process", to, "投诉涉及司法程序",
           f"投诉 {case_no} 涉及司法程序（诉讼/仲裁），处理方案须经行政管理中心、法律顾问审核，总经理、董事长批准后方可实施。",
           summary, event="in_legal_process_flagged")


def plan_summary(summary: dict, plan: InvestigationPlan) -> dict:
    return {**summary, "责任部门": plan.responsibility_department, "责任说明": plan.responsibility,
            "处理方案": plan.plan}


def explain_not_established(case_no: str, ask: Asking, form: ComplaintForm, explanation: str, receiver: str) -> None:
    """C2: the customer gets the receiver's polite explanation — by email, or, without an email, the
    receiver tells them by phone or SMS and records it."""
    customer = form.complainant
    if customer.email:
        notice(case_no, "not-established", [customer.email], "关于您的投诉的答复",
               f"尊敬的{customer.name}：感谢您的反馈。经核实，{explanation}。如有疑问，欢迎随时与我们联系。",
               {"投诉编号": case_no})
        return
    ask(CustomerInformed, step="tell-customer", title="电话/短信告知客户投诉不成立的原因并记录", role="l1_handler",
        assignee=receiver, summary={"投诉编号": case_no, "投诉人": f"{customer.name}（{customer.phone}）",
                                    "不成立的说明": explanation})


def review_step(case_no: str, ask: Asking, reviewer: str, handler_role: str, handler: str,
                summary: dict) -> None:
    """C5 审核: until the reviewer approves, the handler revises the 《投诉处理单》 as commented."""
    key = f"review-{reviewer.replace('_', '-')}"

    def review(_form: None, round_no: int) -> list[ComplaintReview]:
        suffix = "" if round_no == 1 else f"-{round_no}"
        review = ask(ComplaintReview, step=f"{key}{suffix}",
                     title="审核《投诉处理单》" + (f"（第 {round_no} 轮）" if round_no > 1 else ""), role=reviewer)
        # C12: the reviewer records a handler who did not follow the routing and guidance (视情 ¥30–100)
        record_routing_violation(case_no, review.routing_penalty, review.routing_reason, review.decided_by)
        if review.decision == "approve" and review.typical_case:  # C23: a typical case for the library
            typical.append(review)
        return [review]

    def revise(_form: None, round_no: int, rejections: list[ComplaintReview]) -> None:
        ask(Done, step=f"{key}-revision-{round_no}", title="按审核意见修改《投诉处理单》", role=handler_role, assignee=handler,
            summary={**summary, "审核意见": rejections[0].comment or "（未填写）"})
        publish_complaint_form(case_no)

    typical: list[ComplaintReview] = []
    review_loop(None, review, revise)
    if typical:
        case_library_review(case_no, ask, typical[-1])


def case_library_review(case_no: str, ask: Asking, marked: ComplaintReview) -> None:
    """C23: the anonymised entry is written and the CS manager reviews it before publication."""
    entry = write_case_library_entry(case_no, marked.lessons, marked.improvement, marked.decided_by)
    check = ask(Decision, step="case-library-review", title="审核典型案例（发布前）", role="cs_manager",
                summary={"投诉编号": case_no, **{k: str(v) for k, v in entry.items()}})
    publish_case_library_entry(case_no, check.decision == "approve", check.decided_by, check.comment)


def resolved_at(case_no: str) -> datetime:
    """C10 "resolution" (处理完毕) is the moment the handler recorded the outcome (处理结果登记)."""
    return services().store.find_task(case_no, "outcome").decided_at


def handler_for(role: str, recused: list[str], preferred: str | None) -> str:
    return pick_assignee(services().org, role, set(recused), preferred=preferred).email


def _people(role: str) -> list[str]:
    return [p.email for p in services().org.people_for_role(role)]
