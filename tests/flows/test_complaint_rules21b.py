"""What issue 21 still owed the complaint procedure (procedures §7.1), in-process with scripted answers:
C20 the handler copied on others' steps and the handler's phone given to the customer, C27 the legal
process flag, C26 a group's members at level 3 with the spokesperson's one text."""

from flows.complaint.handling import complaint
from models.complaint.answers import FirstContact
from tests.flows.harness import CUSTOMER, L2_HANDLER, PENDING, PRODUCTION_HEAD, RECEIVER, answer
from tests.flows.test_complaint import PLAN, handled

L2_PHONE, RECEIVER_PHONE = "13900000005", "13900000006"  # deployments/org.yaml (work phones)


# ---- C20 ---------------------------------------------------------------------------------------
def test_the_handler_is_copied_on_every_task_and_answer_of_others(office):
    run = office.run(complaint, office.complaint(category="服务行为"), handled(2))
    assert run.case.data["handler"] == L2_HANDLER and run.result == "closed"
    copies = [m for m in run.mails_to(L2_HANDLER) if "抄送：" in m.subject]
    subjects = [m.subject for m in copies]
    # the department head's plan: the task opened, then its answer, to the handler
    opened = [m for m in copies if "调查：责任归属与处理方案" in m.subject and "已办理" not in m.subject]
    answered = [m for m in copies if "调查：责任归属与处理方案" in m.subject and "已办理" in m.subject]
    assert len(opened) == 1 and len(answered) == 1, subjects
    assert "沈波" in opened[0].text or PRODUCTION_HEAD in opened[0].text
    assert PLAN.plan in answered[0].text  # the answer itself, for the single contact to tell the customer
    assert "/t/" not in opened[0].text and "答案码" not in opened[0].text  # a copy decides nothing
    # every other person's step is copied: approvals, GM instruction, visit, review, archive
    others = {t.step_key for t in office.svc.store.tasks_of(run.case_no)
              if t.assignee != L2_HANDLER and t.assignee != CUSTOMER and t.step_key != "intake"}
    assert others >= {"first-contact", "plan-1", "gm-instruction", "return-visit", "archive"}
    assert len([m for m in copies if "已办理" in m.subject]) == len(others)
    assert len([m for m in copies if "已办理" not in m.subject]) == len(others)
    # the handler's own steps and the customer's survey are not copied
    assert not [s for s in subjects if "处理结果登记" in s or "满意度" in s]


def test_copies_are_sent_once_however_often_the_run_replays(office):
    case_no = office.complaint(category="服务行为")
    office.run(complaint, case_no, handled(2) | {"outcome": PENDING})
    office.run(complaint, case_no, handled(2))  # resumed: re-runs from the top over the earlier steps
    decided_by_others = [t for t in office.svc.store.tasks_of(case_no)
                         if t.decided_by and t.decided_by != L2_HANDLER and t.assignee != CUSTOMER and t.step_key != "intake"]
    copies = [m for m in office.mailer.sent if L2_HANDLER in m.to and "抄送：" in m.subject
              and "已办理" in m.subject]
    assert decided_by_others and len(copies) == len(decided_by_others)


def test_the_customer_is_given_the_handlers_direct_phone_which_stays_masked_elsewhere(office):
    run = office.run(complaint, office.complaint(), handled(1) | {
        "first-contact": answer(FirstContact(contact_note="已致歉", process_notice_via="email"), hours=2)})
    (notice,) = run.mails_to(CUSTOMER, "受理告知")
    assert RECEIVER_PHONE in notice.text and RECEIVER_PHONE in notice.html  # the work phone, to call
    assert "1381234" not in notice.text  # the customer's own number is never in full
    # elsewhere — the first-contact page's outline, the handler's copies, the form — it stays masked
    for mail in office.mailer.sent:
        if mail is not notice and CUSTOMER not in mail.to:
            assert RECEIVER_PHONE not in mail.text + mail.html, mail.subject
    page = run.step("first-contact").summary["受理告知（请告知客户）"]
    from models.privacy import mask_data

    assert RECEIVER_PHONE not in str(mask_data({"s": page}))


# ---- C27 ---------------------------------------------------------------------------------------
LEGAL_COUNSEL = "tang.lv@huajin.example"


def test_c8_reminders_also_go_to_the_legal_counsel_while_flagged(office):
    from tasks.complaint.legal_process import set_flag

    flagged, plain = office.complaint(), office.complaint(event={"time": "2026-11-21", "place": "另一事件"})
    office.run(complaint, flagged, handled(1) | {"plan-1": PENDING})
    office.run(complaint, plain, handled(1) | {"plan-1": PENDING})
    set_flag(office.svc, flagged, RECEIVER, True, "客户律师函")
    remind_at = office.svc.store.get_case(flagged).data["deadlines"]["remind_before_close"]
    from datetime import datetime

    office.later(seconds=(datetime.fromisoformat(remind_at) - office.svc.clock.now()).total_seconds() + 60)
    office.watchdog()
    reminders = {m.subject.split()[0].removeprefix("【通知】"): m.to for m in office.mailer.sent
                 if "结案期限提醒" in m.subject}
    assert LEGAL_COUNSEL in reminders[flagged] and LEGAL_COUNSEL not in reminders[plain]


def test_a_flag_set_on_the_case_sends_the_plan_through_the_legal_chain(office):
    from tasks.complaint.legal_process import set_flag

    case_no = office.complaint()
    office.run(complaint, case_no, handled(1) | {"responsible-department": PENDING})
    set_flag(office.svc, case_no, RECEIVER, True, "收到法院传票")
    from tests.flows.test_complaint import APPROVE

    run = office.run(complaint, case_no, handled(1) | {"solution-l3-admin-director-1": APPROVE,
                                                       "solution-legal-counsel-1": PENDING})
    assert run.waiting_on == "solution-legal-counsel-1" and "solution-l3-admin-director-1" in run.steps
    assert run.step("solution-legal-counsel-1").assignee == LEGAL_COUNSEL


# ---- C26 ---------------------------------------------------------------------------------------
L3_SALES_DIRECTOR = "zhao.lei@huajin.example"


def _grouped(office, members: list[str] | None = None) -> tuple[list[str], str]:
    """Three complaints about one building, suggested by the watchdog and confirmed as a group."""
    from flows.complaint.group import group_complaint
    from models.answers import Decision
    from models.complaint.answers import GroupConfirm, GroupMeeting, GroupReply
    from tests.flows.test_group_complaint import _three, suggested

    members = members or _three(office)
    office.watchdog()
    (group_no,) = suggested(office)
    office.run(group_complaint, group_no, {
        "confirm": GroupConfirm(decision="confirm"),
        "in-person-meeting": GroupMeeting(met_at="2026-11-25 14:00", place="售楼处", attendees="周敏、业主3人"),
        "unified-reply-1": GroupReply(text="我司将于11月28日前完成3号楼外墙修复。"),
        "unified-reply-approval-1": Decision(decision="approve")})
    return members, group_no


def _tags(run) -> set[str]:
    """The tags of this run's flow run, as the Prefect server has them (its name names the case)."""
    flow_run = run.flow_run()
    assert flow_run.name == f"complaint-{run.case_no}"
    return set(flow_run.tags)


def test_the_run_started_with_the_intakes_tags_keeps_them_with_the_confirmed_level_replacing_the_proposed(office):
    """Principle 1: the intake starts the run tagged with its procedure, the proposed level, kind and
    category (tasks/platform/flow_starts.py); the receiver confirms a higher level: the run then has that
    level alone, and its other tags as they were."""
    from prefect import tags

    from models.complaint.answers import ComplaintIntake

    case_no = office.complaint(category="服务行为")  # C3 proposes level 2
    with tags("procedure:complaint", "level:2", "kind:consumer", "category:服务行为"):
        run = office.run(complaint, case_no, {"intake": ComplaintIntake(decision="stands", level=3)},
                         stop_at_unscripted=True)
    assert run.case.level == 3 and run.waiting_on is not None
    assert _tags(run) == {"procedure:complaint", "level:3", "kind:consumer", "category:服务行为"}


def test_a_groups_member_runs_at_level_3_whatever_its_receiver_confirms_and_its_tags_say_so(office):
    from models.complaint.answers import ComplaintIntake

    members, group_no = _grouped(office)
    run = office.run(complaint, members[0], handled(3) | {"intake": ComplaintIntake(decision="stands", level=1),
                                                          "outcome": PENDING})
    assert run.case.level == 3 and run.case.data["handler"] == L3_SALES_DIRECTOR
    (assigned,) = run.events("group_handler_assigned")
    assert assigned.data == {"handler": L3_SALES_DIRECTOR, "level": 3, "group_case": group_no}
    assert "gm-meeting" in run.steps and "solution-general-manager-1" in run.steps  # level 3's route
    assert sorted(t for t in _tags(run) if t.startswith(("level:", "kind:", "category:", "group:"))) == sorted(
        ["level:3", f"group:{group_no}", "kind:consumer", f"category:{run.case.data['form']['category']}"])


def test_a_member_that_joins_after_its_intake_goes_on_at_level_3(office):
    from tests.flows.test_group_complaint import _three

    members = _three(office)
    first = office.run(complaint, members[0], handled(1) | {"plan-1": PENDING})
    assert first.case.level == 1 and first.case.data["handler"] == RECEIVER
    _members, group_no = _grouped(office, members)
    run = office.run(complaint, members[0], handled(3) | {"intake": handled(1)["intake"], "outcome": PENDING})
    assert run.case.level == 3 and run.case.data["handler"] == L3_SALES_DIRECTOR
    assert "solution-general-manager-1" in run.steps and "solution-l2-handler-1" not in run.steps
    assert {"level:3", f"group:{group_no}"} <= _tags(run)


def test_the_spokespersons_one_text_is_every_members_written_reply(office):
    from models.complaint.answers import ComplaintIntake, ComplaintOutcome

    members, group_no = _grouped(office)
    own = ComplaintOutcome(handling="explanation", responsibility_department="生产部", reply_text="处理人自己的答复")
    run = office.run(complaint, members[1], handled(3) | {"intake": ComplaintIntake(decision="stands", level=1),
                                                          "outcome": own})
    assert run.result == "closed"
    reply = run.case.data["written_reply"]
    assert reply["group_case"] == group_no and reply["text"] == "我司将于11月28日前完成3号楼外墙修复。"
    assert not [m for m in office.mailer.sent if "处理人自己的答复" in m.text]  # no second, different text
    for no in members:
        assert office.svc.store.get_case(no).data["written_reply"]["text"] == reply["text"]
