"""What the complaint procedure owes the regulations beyond C1–C13 (procedures §7.1, issue 21), run
in-process with scripted answers: C20 the customer told the process, C21 the hour deadlines of seed
001, C28 forwarded complaints."""

from datetime import datetime, timedelta

from flows.complaint.handling import complaint
from models.business_days import TZ
from models.rules import task_deadline
from models.complaint.answers import ComplaintIntake, FirstContact, ResponsibleDepartment
from tasks.reports.statistics import monthly_figures
from tests.flows.harness import (CUSTOMER, DEPUTY_GM, GM, L2_HANDLER, L3_ADMIN_DIRECTOR, L3_SALES_DIRECTOR, PENDING, PRODUCTION_HEAD,
                                 QUALITY_LEAD, RECEIVER, answer)
from tests.flows.test_complaint import APPROVE, OUTCOME, PLAN, handled

# §7's roles (deployments/org.yaml)
GM_OFFICE, LEGAL_COUNSEL, CHAIRMAN = "xie.ning@huajin.example", "tang.lv@huajin.example", "dong.cheng@huajin.example"
GATE_GUARD, STOREKEEPER = "gu.wei@huajin.example", "tao.ran@huajin.example"

FORWARDED = {"forwarder": "government", "forwarder_name": "苏州工业园区市场监督管理局", "reference": "园市监转〔2026〕88号",
             "company_received_at": "2026-11-25T09:00:00+08:00"}


def _on_time(office) -> dict[str, tuple[int, int]]:
    with office.svc.store.session() as s:
        return {x["deadline"]: (x["due"], x["on_time"]) for x in monthly_figures(s, "2026-11")["on_time"]}


# ---- C28 ---------------------------------------------------------------------------------------
def test_a_complaint_forwarded_by_a_government_body_counts_from_the_companys_receipt_at_level_3(office):
    case_no = office.complaint(channel="forwarded", forwarded=FORWARDED)
    case = office.svc.store.get_case(case_no)
    assert case.data["deadlines"]["received_at"] == "2026-11-25T09:00:00+08:00"  # not the filing time (10:00)
    assert case.data["proposed_level"] == 3 and any("政府机关转来" in r for r in case.data["level_reasons"])
    run = office.run(complaint, case_no, {"intake": PENDING})
    summary = run.step("intake").summary
    assert summary["渠道"] == "转来" and "园市监转〔2026〕88号" in summary["转来单位"]
    # … and goes straight to the L2 handler (专门负责人): the major complaint's report (C21)
    assert run.mails_to(L2_HANDLER, "重大投诉上报")


# ---- C20 ---------------------------------------------------------------------------------------
def test_at_first_contact_the_customer_is_sent_the_process_each_steps_time_and_the_handlers_contact(office):
    run = office.run(complaint, office.complaint(), handled(1) | {
        "first-contact": answer(FirstContact(contact_note="已致歉", process_notice_via="email"), hours=2)})
    (notice,) = run.mails_to(CUSTOMER, "受理告知")
    assert "李娜" in notice.text and RECEIVER in notice.text  # the handler's name and direct email
    assert "首次联系，了解原因与经过：2026-11-26 10:00" in notice.text and "向您反馈处理安排：2026-11-26 10:00" in notice.text
    given = run.case.data["process_notice"]
    assert given["via"] == "email" and given["at"].startswith("2026-11-25T12:00") and given["versions"] == 1
    assert "process_notice_given" in run.event_kinds
    # the outline was on the first-contact page for the handler to read out
    assert "首次联系，了解原因与经过" in run.step("first-contact").summary["受理告知（请告知客户）"]


def test_a_notice_read_out_is_recorded_and_no_email_goes_to_the_customer(office):
    run = office.run(complaint, office.complaint(), handled(1))
    assert not run.mails_to(CUSTOMER, "受理告知")
    assert run.case.data["process_notice"]["via"] == "read_out"


def test_an_escalation_sends_the_customer_the_updated_outline(office):
    first = office.run(complaint, office.complaint(), handled(1, score=4) | {
        "first-contact": answer(FirstContact(contact_note="已致歉", process_notice_via="email"), hours=2)})
    child = first.result.removeprefix("escalated:")
    run = office.run(complaint, child, {"responsible-department": PENDING})
    (update,) = run.mails_to(CUSTOMER, "处理安排更新")
    assert "二级" in update.text and "周敏" in update.text  # the new level and the new handler
    assert f"您的投诉（编号 {child}）处理安排有更新：投诉升级为二级（较严重投诉），处理人变更。" in update.text
    assert "13900000005" in update.text  # with the new handler's direct phone (C20: given to the customer)
    assert run.case.data["process_notice"]["versions"] == 2


# ---- C21 ---------------------------------------------------------------------------------------
def test_a_major_complaint_is_reported_within_ten_minutes_level3_to_both_directors(office):
    run = office.run(complaint, office.complaint(media=True), {"intake": PENDING})
    for person in (L2_HANDLER, L3_SALES_DIRECTOR, L3_ADMIN_DIRECTOR):
        assert run.mails_to(person, "重大投诉上报")
    rec = run.case.data["c21_major_report"]
    assert rec["due"].startswith("2026-11-25T10:10") and rec["done"].startswith("2026-11-25T10:00")
    minor = office.run(complaint, office.complaint(event={"time": "2026-11-21", "place": "另一事件"}), {"intake": PENDING})
    assert not minor.mails_to(L2_HANDLER, "重大投诉上报") and "c21_major_report" not in minor.case.data


def test_a_major_complaint_whose_run_has_not_reported_is_reported_by_the_watchdog(office):
    case_no = office.complaint(category="服务行为")  # level 2 proposed; its run has not started
    office.later(minutes=6)
    office.watchdog()
    case = office.svc.store.get_case(case_no)
    assert case.data["c21_major_report"]["done"].startswith("2026-11-25T10:06")
    assert any(L2_HANDLER in m.to and "重大投诉上报" in m.subject for m in office.mailer.sent)


def test_a_department_outside_cs_gets_a_liaison_letter_and_one_office_hour(office):
    run = office.run(complaint, office.complaint(), handled(1) | {"plan-1": PENDING})
    (letter,) = run.mails_to(PRODUCTION_HEAD, "工作联系函")
    assert "客户诉求" in letter.text and "2026-11-25 13:00" in letter.text  # named at 12:00, due an hour later
    assert run.task("plan-1").due_at.astimezone(TZ) == datetime(2026, 11, 25, 13, 0, tzinfo=TZ)


def test_a_cs_department_gets_no_liaison_letter(office):
    run = office.run(complaint, office.complaint(), handled(1) | {
        "responsible-department": ResponsibleDepartment(department="综合服务部"), "plan-1": PENDING})
    assert not [m for m in run.mails if "工作联系函" in m.subject]
    assert "c21_dept_analysis" not in run.case.data


def test_hour_deadlines_count_in_s1_on_time_rates(office):
    # level 1 (received 10:00): feedback by the notice at first contact (12:00: in time); the department,
    # named at 12:00, analyses at 15:00 (late)
    assert office.run(complaint, office.complaint(), handled(1)).result == "closed"
    # level 2 (received 15:00): reported at once (in time); the department, named at 17:00, analyses at
    # 20:00 — in time: its office hour ends at 09:00 the next morning; the solution agreed with the
    # outcome, the next day (late)
    late = handled(2) | {"gm-instruction": answer(handled(2)["gm-instruction"], hours=20)}
    other = {"time": "2026-11-21", "place": "另一事件"}
    assert office.run(complaint, office.complaint(category="服务行为", event=other), late).result == "closed"
    on_time = _on_time(office)
    assert on_time["feedback"] == (1, 1)
    assert on_time["dept_analysis"] == (2, 1)
    assert on_time["major_report"] == (1, 1)
    assert on_time["solution"] == (1, 0)


def test_no_feedback_in_24_hours_tells_the_handler_and_the_l2_handler(office):
    run = office.run(complaint, office.complaint(), {"intake": ComplaintIntake(decision="stands", level=1),
                                                     "first-contact": PENDING})
    office.later(hours=23)
    office.watchdog()
    assert not [m for m in office.mailer.sent if "24小时内未向客户反馈" in m.subject]
    office.later(hours=2)
    office.watchdog()
    office.watchdog()
    missed = [m for m in office.mailer.sent if "24小时内未向客户反馈" in m.subject]
    assert len(missed) == 1 and set(missed[0].to) == {RECEIVER, L2_HANDLER}
    assert office.svc.store.get_case(run.case_no).data["c21_feedback"]["due"].startswith("2026-11-26T10:00")


def test_no_solution_in_12_hours_reports_the_obstacle_to_the_l3_director(office):
    run = office.run(complaint, office.complaint(category="服务行为"), handled(2) | {"plan-1": PENDING})
    office.later(hours=9)  # received 10:00, now 21:00
    office.watchdog()
    assert not [m for m in office.mailer.sent if "12小时内未达成解决方案" in m.subject]
    office.later(hours=2)
    office.watchdog()
    (report,) = [m for m in office.mailer.sent if "12小时内未达成解决方案" in m.subject]
    assert L3_SALES_DIRECTOR in report.to and L2_HANDLER in report.to
    assert office.svc.store.get_case(run.case_no).data["c21_solution"]["reported_at"]


def test_a_plan_agreed_with_the_customer_in_time_meets_the_12_hours(office):
    agreed = PLAN.model_copy(update={"first_agreement": True})
    run = office.run(complaint, office.complaint(category="服务行为"), handled(2) | {
        "plan-1": answer(agreed, hours=3), "outcome": answer(OUTCOME, hours=10)})  # the outcome after the 12 hours
    rec = run.case.data["c21_solution"]
    # agreed with the plan: its time is the solution's, not the outcome's 10 hours later
    assert datetime.fromisoformat(rec["done"]) <= datetime.fromisoformat(rec["due"]) - timedelta(hours=6)


# ---- C22 ---------------------------------------------------------------------------------------
def test_the_return_visit_records_what_001_asks(office):
    from models.complaint.answers import ReturnVisit

    visit = ReturnVisit(result="客户认可", method="in_person", signature="张三", service_quality=1, service_attitude=2,
                        fee_as_agreed="yes", process_satisfaction=2, result_satisfaction=1, suggestions="希望提前电话预约",
                        repair_quality="一次修好，当天完成")
    run = office.run(complaint, office.complaint(), handled(1) | {"return-visit": visit})
    rec = run.case.data["return_visit"]
    assert rec["method"] == "in_person" and rec["signature"] == "张三" and rec["visitor"] == RECEIVER
    assert rec["fee_as_agreed"] == "yes" and rec["suggestions"] == "希望提前电话预约" and rec["service_attitude"] == 2
    assert run.result == "closed" and "visit-follow-up" not in run.steps


def test_an_in_person_visit_needs_the_signature():
    import pytest
    from pydantic import ValidationError

    from models.complaint.answers import ReturnVisit

    with pytest.raises(ValidationError, match="验证人签名"):
        ReturnVisit(result="x", method="in_person")


def test_an_unsatisfactory_visit_goes_back_to_the_department_and_a_bad_result_escalates(office):
    from models.archive.answers import DepartmentFeedback
    from models.complaint.answers import ReturnVisit

    visit = ReturnVisit(result="客户仍有意见", result_satisfaction=4, shortcomings="更换的纱线色差仍在", shortcoming_unresolved=True)
    run = office.run(complaint, office.complaint(), handled(1) | {
        "return-visit": visit, "visit-follow-up": DepartmentFeedback(feedback="已重新配色并送样")})
    (told,) = run.notices_to(L2_HANDLER, "回访不满意")
    assert f"投诉 {run.case_no} 回访结果不满意：更换的纱线色差仍在" in told.text
    assert len(run.events("return_visit_unsatisfactory")) == 1  # the notice is on the case's record
    follow = run.step("visit-follow-up")
    assert follow.assignee == PRODUCTION_HEAD and follow.role == "department_head"
    assert follow.title == "《工作联系函》：回访不满意，请整改并反馈（1个工作日内）"
    assert "色差仍在" in follow.summary["回访发现"] and follow.summary["责任部门"] != "—"
    assert follow.due == task_deadline(follow.at, run.office.svc.calendar, business_days=1).due_at  # C22: 1 business day
    assert run.result.startswith("escalated:")  # 4 on the result escalates though the survey said 2 (C9)


def test_a_visit_rating_the_process_4_escalates_though_the_survey_and_the_result_said_2(office):
    # C22/C9: the handling process rated 4 (不满意) counts as the result would; the result itself rated well
    from models.archive.answers import DepartmentFeedback
    from models.complaint.answers import ReturnVisit

    visit = ReturnVisit(result="结果可以接受，但处理过程拖沓", process_satisfaction=4, result_satisfaction=2,
                        shortcomings="处理过程多次催问才有答复")
    run = office.run(complaint, office.complaint(), handled(1) | {
        "return-visit": visit, "visit-follow-up": DepartmentFeedback(feedback="已规定答复时限")})
    (told,) = run.notices_to(L2_HANDLER, "回访不满意")
    assert f"投诉 {run.case_no} 回访结果不满意：处理过程多次催问才有答复" in told.text
    follow = run.step("visit-follow-up")
    assert follow.assignee == PRODUCTION_HEAD and follow.role == "department_head"
    assert run.events("satisfaction_recorded")[0].data["action"] == "close"  # the survey's 2 alone would close
    # … and the visit escalates it exactly as a result rated 4 does: a linked case one level up, not archived
    child = run.result.removeprefix("escalated:")
    assert child != run.result and run.case.state == "escalated" and run.events("complaint_escalated")
    assert "archive" not in run.steps and run.steps[-1] == "visit-follow-up"
    opened = office.svc.store.get_case(child)
    assert opened.parent_case_no == run.case_no and opened.level == 2
    (started,) = office.flows.started
    assert started.case_no == child and "level:2" in started.tags


def test_a_shortcoming_unresolved_goes_back_without_escalating(office):
    from models.archive.answers import DepartmentFeedback
    from models.complaint.answers import ReturnVisit

    visit = ReturnVisit(result="基本满意", result_satisfaction=2, shortcomings="上门迟到", shortcoming_unresolved=True)
    run = office.run(complaint, office.complaint(), handled(1) | {
        "responsible-department": ResponsibleDepartment(department="质量部"),
        "return-visit": visit, "visit-follow-up": DepartmentFeedback(feedback="已约谈维修员")})
    assert "visit-follow-up" in run.steps and run.result == "closed"
    # the letter goes to the head of the department named, as its head (冯涛 is quality lead first)
    follow = run.step("visit-follow-up")
    assert follow.assignee == QUALITY_LEAD and follow.role == "department_head" and follow.summary["责任部门"] == "质量部"


def test_an_unsatisfactory_visit_goes_to_the_plan_writer_standing_in_for_a_recused_head(office):
    from models.archive.answers import DepartmentFeedback
    from models.complaint.answers import ReturnVisit

    visit = ReturnVisit(result="基本满意", shortcomings="上门迟到", shortcoming_unresolved=True)
    run = office.run(complaint, office.complaint(persons_involved=[PRODUCTION_HEAD]), handled(1) | {
        "return-visit": visit, "visit-follow-up": DepartmentFeedback(feedback="已约谈维修员")})
    follow = run.step("visit-follow-up")
    assert follow.assignee == DEPUTY_GM and follow.role == "deputy_gm" and run.result == "closed"


# ---- C25 / C27 ---------------------------------------------------------------------------------
def test_a_level3_case_goes_on_the_gm_meetings_agenda_which_records_its_decision(office):
    from models.complaint.answers import GmMeetingDecision

    decision = GmMeetingDecision(handling_plan="总监上门致歉并赔偿", notify_authorities=True, authority="区市场监管局",
                                 notified_by="行政管理中心总监")
    run = office.run(complaint, office.complaint(media=True), handled(3) | {"gm-meeting": decision})
    assert run.steps.index("gm-meeting") < run.steps.index("gm-instruction")
    meeting = run.step("gm-meeting")
    assert meeting.assignee == GM_OFFICE and meeting.role == "gm_office"
    assert meeting.title == "总经理例会：决定处理方案、是否通报主管部门" and meeting.summary["处理方案"] == PLAN.plan
    (decided,) = run.events("gm_meeting_decided")
    assert decided.actor == GM_OFFICE and "state" not in decided.data  # recorded; the case stays accepted
    # the agenda notice, to the GM and the GM office, names the case and what the meeting decides
    (agenda,) = run.notices_to(GM, "列入总经理例会：三级投诉/原则性问题")
    assert GM_OFFICE in agenda.to and f"投诉 {run.case_no} 列入下次总经理例会议题" in agenda.text
    assert "是否通报主管部门" in agenda.text and len(run.events("gm_meeting_agenda")) == 1
    assert run.case.data["gm_meeting"] == {"handling_plan": "总监上门致歉并赔偿", "interim_confirmed": True,
                                           "notify_authorities": True, "authority": "区市场监管局",
                                           "notified_by": "行政管理中心总监"}
    assert run.step("gm-instruction").summary["总经理例会决定"] == "总监上门致歉并赔偿"


def test_a_matter_of_principle_at_level_1_goes_on_the_agenda_too(office):
    from models.complaint.answers import GmMeetingDecision

    run = office.run(complaint, office.complaint(), handled(1) | {
        "responsible-department": ResponsibleDepartment(department="生产部", matter_of_principle=True),
        "gm-meeting": GmMeetingDecision(handling_plan="按方案处理")})
    assert "gm-meeting" in run.steps and run.result == "closed"
    plain = office.run(complaint, office.complaint(event={"time": "2026-11-21", "place": "另一事件"}), handled(1))
    assert "gm-meeting" not in plain.steps


def test_notifying_the_authorities_needs_which_and_by_whom():
    import pytest
    from pydantic import ValidationError

    from models.complaint.answers import GmMeetingDecision

    with pytest.raises(ValidationError, match="由谁通报"):
        GmMeetingDecision(handling_plan="x", notify_authorities=True)


def test_a_complaint_in_legal_process_needs_legal_counsel_gm_and_chairman_before_anything_is_done(office):
    from models.answers import Decision

    reject = Decision(decision="reject", comment="赔偿金额须与诉讼请求协调")
    run = office.run(complaint, office.complaint(), handled(1) | {
        "responsible-department": ResponsibleDepartment(department="生产部", in_legal_process=True),
        "solution-legal-counsel-1": reject, "plan-2": PLAN,
        **{f"solution-{r}-{n}": APPROVE for r in ("l3-admin-director", "general-manager", "chairman") for n in (1, 2)},
        **{f"solution-{r}-2": APPROVE for r in ("quality-lead", "l2-handler", "legal-counsel")}})
    assert run.steps[3:9] == ["plan-1", "solution-quality-lead-1", "solution-l2-handler-1",
                              "solution-l3-admin-director-1", "solution-legal-counsel-1", "solution-general-manager-1"]
    assert "solution-chairman-1" in run.steps and "plan-2" in run.steps  # the rejection went back to its author
    assert run.steps.index("solution-chairman-2") < run.steps.index("gm-instruction")
    assert run.step("solution-legal-counsel-1").assignee == LEGAL_COUNSEL
    assert run.step("solution-chairman-2").assignee == CHAIRMAN
    (told,) = run.notices_to(GM, "投诉涉及司法程序")  # C27: one notice to all five at once, on the case's record
    assert sorted(told.to) == sorted([GM, CHAIRMAN, L3_SALES_DIRECTOR, L3_ADMIN_DIRECTOR, LEGAL_COUNSEL])
    assert f"投诉 {run.case_no} 涉及司法程序" in told.text and "董事长批准后方可实施" in told.text
    assert len(run.events("in_legal_process_flagged")) == 1
    assert run.case.data["in_legal_process"] is True and run.result == "closed"


def test_a_step_needing_a_role_nobody_holds_names_it(office, tmp_path):
    """An org file from before §7 (no gm_office) loads; the level-3 case stops at the meeting, naming the role."""
    import dataclasses
    from pathlib import Path

    import pytest

    from models.org import RoleNotHeld, load_org

    shipped = Path(__file__).resolve().parents[2] / "deployments" / "org.yaml"
    older = tmp_path / "org.yaml"
    older.write_text("".join(line for line in shipped.read_text(encoding="utf-8").splitlines(keepends=True)
                             if not line.startswith("  gm_office:")), encoding="utf-8")
    office.svc = dataclasses.replace(office.svc, org=load_org(older))
    with pytest.raises(Exception) as e:
        office.run(complaint, office.complaint(media=True), handled(3))
    assert isinstance(e.value, RoleNotHeld) or "gm_office" in str(e.value)
    assert "总经理例会" in str(e.value)


# ---- C24 ---------------------------------------------------------------------------------------
def test_the_complainant_gets_the_written_reply_kept_unchanged_and_the_file_joins_its_years_volume(office):
    from models.complaint.answers import ComplaintOutcome
    from tasks.complaint.steps import originals_intact

    outcome = ComplaintOutcome(handling="replacement", responsibility_department="生产部", responsible_person="韩雪",
                               our_fault=True, reply_text="我司将为您免费更换同批次纱线。")
    run = office.run(complaint, office.complaint(), handled(1) | {"outcome": outcome})
    (reply,) = run.mails_to(CUSTOMER, "投诉处理答复函")
    assert "处理方式：更换" in reply.text and "免费更换同批次纱线" in reply.text
    assert "韩雪" not in reply.text and "生产部" not in reply.text  # never persons' responsibility
    written = run.case.data["written_reply"]
    assert written["via"] == "email" and written["original"]["sha256"] == run.case.data["originals"][0]["sha256"]
    assert originals_intact(office.svc, run.case_no) == {"投诉处理答复函.txt": True}
    (office.svc.settings.home / written["original"]["file"]).chmod(0o644)
    (office.svc.settings.home / written["original"]["file"]).write_text("改过的答复")
    assert originals_intact(office.svc, run.case_no) == {"投诉处理答复函.txt": False}
    assert run.case.data["volume"] == "2026年度案卷"


def test_an_oral_only_reply_records_why_and_a_reply_naming_fines_is_refused(office):
    import pytest
    from pydantic import ValidationError

    from models.complaint.answers import ComplaintOutcome

    with pytest.raises(ValidationError, match="仅口头答复须说明原因"):
        ComplaintOutcome(handling="explanation", responsibility_department="生产部", reply_via="oral_only")
    with pytest.raises(ValidationError, match="不得写责任人或罚款"):
        ComplaintOutcome(handling="explanation", responsibility_department="生产部", reply_text="已对责任人罚款200元")
    oral = ComplaintOutcome(handling="explanation", responsibility_department="生产部", reply_via="oral_only",
                            oral_reason="客户拒绝留下地址和邮箱")
    run = office.run(complaint, office.complaint(), handled(1) | {"outcome": oral})
    assert run.case.data["written_reply"] == {"via": "oral_only", "at": run.case.data["written_reply"]["at"],
                                              "oral_reason": "客户拒绝留下地址和邮箱"}
    assert not run.mails_to(CUSTOMER, "投诉处理答复函")


# ---- C23 ---------------------------------------------------------------------------------------
def test_a_typical_case_is_written_anonymised_reviewed_then_published_and_searchable(office):
    from models.answers import Decision
    from models.complaint.answers import ComplaintReview
    from tasks.complaint.steps import case_library

    review = ComplaintReview(decision="approve", typical_case=True, lessons="张女士来电 13812345678 后，李娜未及时转交",
                             improvement="报修单当日派工")
    case_no = office.complaint(description="报修后三天无人上门，联系电话 13812345678")
    run = office.run(complaint, case_no, handled(1) | {"review-l2-handler": review,
                                                       "case-library-review": Decision(decision="approve")})
    assert run.steps[-2:] == ["case-library-review", "archive"] and run.result == "closed"
    assert run.step("case-library-review").assignee == L2_HANDLER  # the CS manager (周敏 holds both roles)
    rec = run.case.data["case_library"]
    assert rec["state"] == "published" and rec["entry"]["category"] == "维修服务"
    text = str(rec["entry"])
    assert "张女士" not in text and "李娜" not in text and "1381234" not in text and "****" not in text
    assert "报修单当日派工" in rec["entry"]["improvement"] and "未及时转交" in rec["entry"]["lessons"]
    # written by the reviewer who marked it; the CS manager reviews the entry itself, then is recorded
    assert rec["by"] == L2_HANDLER and rec["reviewed_by"] == L2_HANDLER
    check = run.step("case-library-review")
    assert check.title == "审核典型案例（发布前）" and check.summary["投诉编号"] == case_no
    assert check.summary["lessons"] == rec["entry"]["lessons"] and check.summary["improvement"] == rec["entry"]["improvement"]
    (found,) = case_library(office.svc, category="维修服务", keyword="派工")
    assert found["case_no"] == case_no
    assert case_library(office.svc, category="产品质量") == []


def test_an_entry_the_cs_manager_does_not_approve_is_not_published(office):
    from models.answers import Decision
    from models.complaint.answers import ComplaintReview
    from tasks.complaint.steps import case_library

    review = ComplaintReview(decision="approve", typical_case=True, lessons="x")
    run = office.run(complaint, office.complaint(), handled(1) | {
        "review-l2-handler": review, "case-library-review": Decision(decision="reject", comment="不具代表性")})
    rec = run.case.data["case_library"]
    assert rec["state"] == "not_published" and case_library(office.svc) == []
    assert rec["review_comment"] == "不具代表性" and rec["reviewed_by"] == L2_HANDLER  # why, and who
    plain = office.run(complaint, office.complaint(event={"time": "2026-11-21", "place": "另一事件"}), handled(1))
    assert "case-library-review" not in plain.steps and "case_library" not in plain.case.data


def test_the_months_published_entries_are_s3s_typical_cases_first(office):
    from models.answers import Decision
    from models.complaint.answers import ComplaintReview
    from tasks.reports.statistics import typical_cases

    review = ComplaintReview(decision="approve", typical_case=True, lessons="及时派工")
    ordinary = office.run(complaint, office.complaint(media=True), handled(3))  # level 3: typical by the old rule
    marked = office.run(complaint, office.complaint(event={"time": "2026-11-21", "place": "另一事件"}), handled(1) | {
        "review-l2-handler": review, "case-library-review": Decision(decision="approve")})
    with office.svc.store.session() as s:
        rows = list(typical_cases(s, "2026-11"))
    assert [r["case_no"] for r in rows] == [marked.case_no, ordinary.case_no]
    assert rows[0]["title"].startswith("典型案例：")
