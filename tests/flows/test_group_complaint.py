"""C26 group complaints (群诉), in-process: the watchdog suggests, the L2 handler confirms, the members
become level 3 under the group case, the CS head meets the complainants and records it, one approved
text answers every member, a widespread issue gets a special study."""

from deployments import names
from flows.complaint.group import group_complaint
from models.answers import Decision
from models.complaint.answers import GroupConfirm, GroupMeeting, GroupReply, SpecialStudy
from tests.flows.harness import CS_MANAGER, L2_HANDLER, L3_SALES_DIRECTOR

GM_OFFICE = "xie.ning@huajin.example"


def suggested(office) -> list[str]:
    """The group cases the watchdog opened, each stored with the request to start its flow run."""
    from sqlmodel import select

    from models.tables import FlowStart

    _n, cases = office.svc.store.list_cases(procedure="group_complaint")
    with office.svc.store.session() as s:
        for c in cases:
            start = s.exec(select(FlowStart).where(FlowStart.case_no == c.case_no)).one()
            assert start.deployment == names.GROUP_COMPLAINT
    return [c.case_no for c in cases]


def _three(office):
    return [office.complaint(subject="锦绣花园3号楼", category="工程质量", email=f"owner{i}@customer.example",
                             complainant={"name": f"业主{i}", "phone": f"1381234567{i}", "email": f"owner{i}@customer.example"},
                             event={"time": f"2026-11-2{i}", "place": "3号楼"}) for i in range(3)]


FIRST, FINAL = "我司将于本周内完成3号楼外墙修复。", "我司将于11月28日前完成3号楼外墙修复。"


def widespread(**confirm) -> dict:
    """A widespread group's steps: the first text sent back by the director with a comment, the second approved."""
    return {
        "confirm": GroupConfirm(decision="confirm", widespread=True, **confirm),
        "in-person-meeting": GroupMeeting(met_at="2026-11-25 14:00", place="售楼处会议室", attendees="周敏、业主代表3人"),
        "unified-reply-1": GroupReply(text=FIRST),
        "unified-reply-approval-1": Decision(decision="reject", comment="写明具体日期"),
        "unified-reply-2": GroupReply(text=FINAL),
        "unified-reply-approval-2": Decision(decision="approve"),
        "special-study": SpecialStudy(conclusion="外墙防水工艺整改，纳入质量改进")}


def test_the_watchdog_suggests_a_group_the_l2_handler_confirms_and_one_text_answers_all(office):
    members = _three(office)
    office.watchdog()
    (group_no,) = suggested(office)
    assert office.svc.store.get_case(group_no).data["members"] == sorted(members)
    office.watchdog()  # suggested once
    assert suggested(office) == [group_no]

    run = office.run(group_complaint, group_no, widespread())
    assert run.result == "closed"
    assert run.step("confirm").assignee == L2_HANDLER and run.step("in-person-meeting").assignee == CS_MANAGER
    assert run.step("unified-reply-approval-2").assignee == L3_SALES_DIRECTOR and run.step("special-study").assignee == GM_OFFICE
    assert run.mails_to(CS_MANAGER, "第一时间出面接待")
    assert run.case.data["meeting"]["place"] == "售楼处会议室"
    for no in members:
        member = office.svc.store.get_case(no)
        assert member.level == 3 and member.data["group_case"] == group_no
    replies = [m for m in office.mailer.sent if "关于您的投诉的统一答复" in m.subject]
    assert len(replies) == 3 and all("11月28日前" in m.text for m in replies)
    assert run.case.data["special_study"].startswith("外墙防水")


def test_a_suggestion_the_l2_handler_rejects_changes_no_member(office):
    members = _three(office)
    office.watchdog()
    (group_no,) = suggested(office)
    run = office.run(group_complaint, group_no, {"confirm": GroupConfirm(decision="reject")})
    assert run.result == "not_group" and run.case.closed_at is not None
    assert all("group_case" not in office.svc.store.get_case(no).data for no in members)


def _states(run) -> list[tuple[str, str | None, list | None]]:
    """The group case's own records: (event, actor, [state before, state after])."""
    own = ("group_confirmed", "group_not_confirmed", "group_head_notified", "group_meeting_recorded",
           "special_study_concluded", "group_closed")
    return [(e.kind, e.actor, e.data.get("state")) for e in run.events() if e.kind in own]


def test_c26_the_spokesperson_named_drafts_the_one_reply_and_every_step_is_recorded(office):
    from datetime import timedelta

    from tests.flows.harness import CS_STAFF, NOW

    members = _three(office)
    office.watchdog()
    (group_no,) = suggested(office)
    run = office.run(group_complaint, group_no, widespread(spokesperson=CS_STAFF))
    assert run.result == "closed" and run.case.state == "closed" and run.case.closed_at is not None
    summary = {"群诉编号": group_no, "投诉对象": "锦绣花园3号楼", "类别": "工程质量", "成员投诉": "、".join(sorted(members))}
    confirm = run.step("confirm")
    assert (confirm.title, confirm.summary) == ("群诉确认（系统建议）", summary)
    # the CS department's head is told at once and asked to record the meeting within 12 hours
    (told,) = run.notices_to(CS_MANAGER, "群诉：请第一时间出面接待")
    assert (f"\n群诉 {group_no}（3 件投诉）已确认为三级投诉，请第一时间出面接待投诉人，"
            "并于12小时内记录接待时间、地点和参加人员。\n") in told.text
    meeting = run.step("in-person-meeting")
    assert (meeting.assignee, meeting.title, meeting.due) == (
        CS_MANAGER, "群诉：第一时间出面接待并记录（12小时内）", NOW + timedelta(hours=12))
    assert run.case.data["meeting"] == {"met_at": "2026-11-25 14:00", "place": "售楼处会议室", "attendees": "周敏、业主代表3人"}
    # the spokesperson named drafts; the director approves the text the spokesperson asks for; a rejection goes
    # back to the spokesperson with the comment
    first, second = run.step("unified-reply-1"), run.step("unified-reply-2")
    assert (first.assignee, first.title, first.summary) == (CS_STAFF, "群诉统一口径答复（发言人）", summary)
    assert (second.assignee, second.summary) == (CS_STAFF, summary | {"退回意见": f"{L3_SALES_DIRECTOR}：写明具体日期"})
    for n, text in ((1, FIRST), (2, FINAL)):
        approval = run.step(f"unified-reply-approval-{n}")
        assert (approval.title, approval.requested_by, approval.summary) == (
            "审批群诉统一答复口径", CS_STAFF, summary | {"统一答复": text})
    for no in members:
        reply = office.svc.store.get_case(no).data["written_reply"]
        assert (reply["spokesperson"], reply["text"], reply["group_case"]) == (CS_STAFF, FINAL, group_no)
    study = run.step("special-study")
    assert (study.title, study.assignee) == ("群诉专题研究", GM_OFFICE)
    assert (run.case.data["special_study"], run.case.data["reply"]) == ("外墙防水工艺整改，纳入质量改进", FINAL)
    assert (run.case.data["widespread"], run.case.data["spokesperson"]) == (True, CS_STAFF)
    assert _states(run) == [
        ("group_confirmed", L2_HANDLER, ["suggested", "confirmed"]),
        ("group_head_notified", "system", None),
        ("group_meeting_recorded", CS_MANAGER, None),
        ("special_study_concluded", GM_OFFICE, None),
        ("group_closed", None, ["confirmed", "closed"])]


def test_c26_without_a_spokesperson_the_l2_handler_answers_and_a_narrow_issue_gets_no_study(office):
    _three(office)
    office.watchdog()
    (group_no,) = suggested(office)
    run = office.run(group_complaint, group_no, {
        "confirm": GroupConfirm(decision="confirm", spokesperson="nobody@huajin.example"),  # not in the directory
        "in-person-meeting": GroupMeeting(met_at="2026-11-25 14:00", place="3号楼", attendees="周敏"),
        "unified-reply-1": GroupReply(text="11月28日前完成修复。"), "unified-reply-approval-1": Decision(decision="approve")})
    assert run.result == "closed" and run.steps == ["confirm", "in-person-meeting", "unified-reply-1", "unified-reply-approval-1"]
    assert run.step("unified-reply-1").assignee == L2_HANDLER and run.step("unified-reply-approval-1").requested_by == L2_HANDLER
    assert (run.case.data["widespread"], run.case.data["spokesperson"]) == (False, L2_HANDLER)
    assert "special_study" not in run.case.data
    assert [k for k, _a, _s in _states(run)] == ["group_confirmed", "group_head_notified", "group_meeting_recorded",
                                                  "group_closed"]


def test_c26_a_rejected_suggestion_is_closed_as_not_a_group_by_the_l2_handler(office):
    _three(office)
    office.watchdog()
    (group_no,) = suggested(office)
    run = office.run(group_complaint, group_no, {"confirm": GroupConfirm(decision="reject")})
    assert run.case.state == "not_group" and run.steps == ["confirm"]
    assert _states(run) == [("group_not_confirmed", L2_HANDLER, ["suggested", "not_group"])]


def test_c26_a_member_without_email_is_phoned_by_the_spokesperson_with_the_one_text(office):
    """One approved text for all: a member with email gets it by email; for a member without, the
    spokesperson is sent the text and whom to phone (the number masked in the mail: privacy), and the
    group case records that notice; the member's written reply is recorded as by phone."""
    from tests.flows.harness import CS_STAFF

    mailed = _three(office)
    phoned = office.complaint(subject="锦绣花园3号楼", category="工程质量", email=None,
                              complainant={"name": "业主9", "phone": "13812345679"}, event={"time": "2026-11-23", "place": "3号楼"})
    office.watchdog()
    (group_no,) = suggested(office)
    assert office.svc.store.get_case(group_no).data["members"] == sorted([*mailed, phoned])
    run = office.run(group_complaint, group_no, widespread(spokesperson=CS_STAFF))
    assert run.result == "closed"
    replies = [m for m in office.mailer.sent if "关于您的投诉的统一答复" in m.subject]
    assert sorted(m.to[0] for m in replies) == [f"owner{i}@customer.example" for i in range(3)]
    (phone,) = run.notices_to(CS_STAFF, "统一答复：请电话告知以下投诉人")
    assert FINAL in phone.text and f"待电话告知：{phoned} 业主9（138****5679）" in phone.text
    (told,) = [e for e in run.events() if e.data.get("key") == "group-reply-phone"]
    assert (told.kind, told.data) == ("notice_sent", {"to": [CS_STAFF], "key": "group-reply-phone",
                                                      "title": "统一答复：请电话告知以下投诉人"})
    reply = office.svc.store.get_case(phoned).data["written_reply"]
    assert (reply["via"], reply["spokesperson"], reply["text"]) == ("phone", CS_STAFF, FINAL)
