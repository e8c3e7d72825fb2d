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


def test_the_watchdog_suggests_a_group_the_l2_handler_confirms_and_one_text_answers_all(office):
    members = _three(office)
    office.watchdog()
    (group_no,) = suggested(office)
    assert office.svc.store.get_case(group_no).data["members"] == sorted(members)
    office.watchdog()  # suggested once
    assert suggested(office) == [group_no]

    run = office.run(group_complaint, group_no, {
        "confirm": GroupConfirm(decision="confirm", widespread=True),
        "in-person-meeting": GroupMeeting(met_at="2026-11-25 14:00", place="售楼处会议室", attendees="周敏、业主代表3人"),
        "unified-reply-1": GroupReply(text="我司将于本周内完成3号楼外墙修复。"),
        "unified-reply-approval-1": Decision(decision="reject", comment="写明具体日期"),
        "unified-reply-2": GroupReply(text="我司将于11月28日前完成3号楼外墙修复。"),
        "unified-reply-approval-2": Decision(decision="approve"),
        "special-study": SpecialStudy(conclusion="外墙防水工艺整改，纳入质量改进")})
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
