"""群诉 — group complaints (procedures §7.1 C26; 004 第二章5(1)–(2), 6(2)).

The watchdog suggests a group (≥ 3 open complaints with one subject and category within 7 days); the L2
handler confirms it. A confirmed group is level 3, its members linked under this case; the CS department
head is told at once (C21's 10 minutes), meets the complainants in person first and records it within
12 hours; one spokesperson answers all members with one approved text (口径一致); a widespread issue gets
a special study with a recorded conclusion."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path

from prefect import flow

from deployments.names import GROUP_COMPLAINT, flow_name
from tasks.cases import load_case, record_state
from models.answers import Decision
from models.complaint.answers import GroupConfirm, GroupMeeting, GroupReply, SpecialStudy
from models.complaint.group import GroupData, group_head, spokesperson_of
from tasks.ask import asking, rejection_notes, review_loop
from tasks.complaint.steps import answer_group_members, link_group_members, notice
from tasks.platform.runtime import services


@flow(name=flow_name(GROUP_COMPLAINT), flow_run_name="group-complaint-{case_no}", log_prints=True)
def group_complaint(case_no: str) -> str:
    return group_complaint_steps(case_no)


def group_complaint_steps(case_no: str) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    org = services().org
    case = load_case(case_no)
    data = GroupData.of(case)
    members = data.members
    summary = {"群诉编号": case_no, "投诉对象": data.subject, "类别": data.category,
               "成员投诉": "、".join(members)}

    ask = asking(case_no, summary=summary)

    confirm = ask(GroupConfirm, step="confirm", title="群诉确认（系统建议）", role="l2_handler")
    if confirm.decision == "reject":
        record_state(case_no, "not_group", "group_not_confirmed", actor=confirm.decided_by, closed=True)
        return "not_group"
    l2 = org.first_for_role("l2_handler").email
    spokesperson, speaker_role = spokesperson_of(org, confirm.spokesperson, l2)
    record_state(case_no, "confirmed", "group_confirmed", actor=confirm.decided_by,
                 data={"widespread": confirm.widespread, "spokesperson": spokesperson})
    link_group_members(case_no, members)

    # the CS department head is told at once and meets the complainants in person first (12 h)
    head = group_head(org, l2)
    notice(case_no, "group-head", [head], "群诉：请第一时间出面接待", f"群诉 {case_no}（{len(members)} 件投诉）已确认为三级投诉，"
           "请第一时间出面接待投诉人，并于12小时内记录接待时间、地点和参加人员。", summary, event="group_head_notified")
    meeting = ask(GroupMeeting, step="in-person-meeting", title="群诉：第一时间出面接待并记录（12小时内）", role="cs_manager",
                  assignee=head, due_hours=12, due_business_days=None)
    record_state(case_no, "confirmed", "group_meeting_recorded", actor=meeting.decided_by,
                 data={"meeting": meeting.model_dump(include={"met_at", "place", "attendees"})})

    # one spokesperson, one approved text
    def draft(round_no: int, note: str = "") -> GroupReply:
        return ask(GroupReply, step=f"unified-reply-{round_no}", title="群诉统一口径答复（发言人）", role=speaker_role,
                   assignee=spokesperson,
                   summary={**summary, **({"退回意见": note} if note else {})})

    reply = review_loop(
        draft(1),
        lambda text, n: [ask(Decision, step=f"unified-reply-approval-{n}", title="审批群诉统一答复口径", role="l3_sales_director",
                             requested_by=spokesperson, summary={**summary, "统一答复": text.text})],
        lambda _text, n, rejections: draft(n + 1, rejection_notes(rejections)))
    answer_group_members(case_no, members, reply.text, spokesperson)

    if confirm.widespread:
        study = ask(SpecialStudy, step="special-study", title="群诉专题研究", role="gm_office")
        record_state(case_no, "confirmed", "special_study_concluded", actor=study.decided_by,
                     data={"special_study": study.conclusion})
    record_state(case_no, "closed", "group_closed", closed=True, data={"reply": reply.text})
    return "closed"
