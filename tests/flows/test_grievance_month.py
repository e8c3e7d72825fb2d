"""客户抱怨月度确认 (§7.5 S5, S6, C19 from S5), in-process with scripted answers: last month's closed product
complaints of several responsible units — one unit the org directory does not know, one head without the
department-head role — each head confirming or proposing, the GM office settling, a 《签呈》 to the GM, and the
《奖罚通知单》 per unit with the disputed fines held for their own notice.

The month reads only closed grievances and their recorded decision, so the cases here are filed through the real
intake and closed with the decision the chain records (C18: the fines checked against the penalty basis in force)
without running the nine steps again (tests/flows/test_grievance.py runs them)."""

import hashlib
from datetime import datetime

from flows.grievance.month import grievance_month
from models.answers import Decision, Done
from models.business_days import TZ, add_business_days
from models.grievance import CAUSE_LABELS, check_fines, parse_pairs
from models.grievance_answers import Petition, PetitionAnswer, PetitionForward, ShareConfirmation, ShareSettlement
from tasks.grievance.steps import bases
from tests.flows.harness import ACCOUNTING, GM, PENDING, PRODUCTION_HEAD, QUALITY_LEAD, answer
from tests.flows.test_grievance import GM_OFFICE, RD, file

APPROVE = Decision(decision="approve")
DEPARTMENT_HEADS = sorted(["zhou.min@huajin.example", "zhao.lei@huajin.example", "qian.hui@huajin.example",
                           "sun.qiang@huajin.example", "wu.jing@huajin.example", "zheng.yan@huajin.example",
                           QUALITY_LEAD, "chu.gang@huajin.example", ACCOUNTING, "jiang.hua@huajin.example",
                           PRODUCTION_HEAD, RD])
# a unit the org directory does not know: its notice's step key is its name's digest (a key is ASCII)
OUTSIDE_NOTICE = f"notice-unit-{hashlib.sha256('外协厂'.encode()).hexdigest()[:8]}"
DUE = datetime(2026, 12, 8, 17, 30, tzinfo=TZ)  # S5: 2 business days before the 10th (Tue 1 Dec → Tue 8 Dec)


def closed(office, customer: str, units: str, fines: str = "", cause: str = "our_quality") -> str:
    """A grievance closed now (in November) with its decision: responsible units and fines."""
    svc = office.svc
    case_no = file(office, customer=customer)
    decision = {"cause": cause, "cause_label": CAUSE_LABELS[cause], "responsible_units": units,
                "fines": check_fines(parse_pairs(fines, "罚扣"), cause, bases(svc)[1])}
    svc.store.update_case(case_no, actor=GM_OFFICE, kind="grievance_closed", now=svc.clock.now(), state="closed",
                          data={"decision": decision}, closed=True)
    return case_no


def notice_mail(run, title: str):
    (mail,) = [m for m in run.mails if m.subject == f"【通知】{run.result['case_no']} {title}"]
    return mail


def test_s5_every_head_confirms_the_draft_of_the_units_own_cases_and_s6_publishes_and_notices(office):
    a = closed(office, "无锡华美服饰有限公司", "生产部、研发部", "生产部: 500")
    b = closed(office, "常州新纺织造有限公司", "生产部", "韩雪: 600", cause="human_negligence")
    c = closed(office, "南通永盛家纺有限公司", "外协厂", "外协厂: 400", cause="human_negligence")
    office.later(days=6)  # Tuesday 1 December 2026, the first business day
    run = office.run(grievance_month, None, {
        "shares-production": ShareConfirmation(decision="confirmed", improvement_state="done"),
        "shares-rd": ShareConfirmation(decision="confirmed", improvement_state="ineffective"),
        "notice-production": APPROVE, "notice-rd": APPROVE, OUTSIDE_NOTICE: APPROVE})
    month_no = run.result["case_no"]
    assert run.result == {"case_no": month_no, "month": "2026-11", "cases": 3, "notices": 3, "sanctions": 2,
                          "petitions": 0, "confirmed": 2, "proposed": 0}
    assert run.steps == ["shares-production", "shares-rd", "notice-production", "notice-rd", OUTSIDE_NOTICE]

    # S5: one task per head, all at once, listing the unit's own cases with their draft shares
    prod, rd = run.step("shares-production"), run.step("shares-rd")
    assert (prod.assignee, prod.role, rd.assignee, rd.role) == (PRODUCTION_HEAD, "department_head", RD, "rd")
    assert prod.title == "确认客户抱怨责任比率（生产部，2026-11）" and rd.title == "确认客户抱怨责任比率（研发部，2026-11）"
    assert prod.due == DUE and rd.due == DUE and prod.answer_model == "ShareConfirmation"
    assert prod.summary == {"月份": "2026-11", "责任单位": "生产部",
                            "案件与草拟比率": f"{a} 无锡华美服饰有限公司：50.00%\n{b} 常州新纺织造有限公司：100.00%"}
    assert rd.summary == {"月份": "2026-11", "责任单位": "研发部", "案件与草拟比率": f"{a} 无锡华美服饰有限公司：50.00%"}

    # the confirmed shares are stored on each case (S1 counts them); the unknown unit's stays the draft
    store = office.svc.store
    assert store.get_case(a).data["shares"] == {"生产部": {"share": "50.00", "confirmed": True},
                                                "研发部": {"share": "50.00", "confirmed": True}}
    assert store.get_case(b).data["shares"] == {"生产部": {"share": "100.00", "confirmed": True}}
    assert "shares" not in store.get_case(c).data
    assert [e.data for e in store.events(a) if e.kind == "shares_confirmed"] == [
        {"month": "2026-11", "units": ["生产部", "研发部"]}]
    # the unit the org directory does not know is reported to the GM office
    unknown = notice_mail(run, "责任单位不在组织架构中 2026-11")
    assert unknown.to == [GM_OFFICE] and "外协厂" in unknown.text

    # S6 (1): the sanction published to every department head, the customer left out
    personnel = notice_mail(run, "《人事公布单》2026-11")
    assert sorted(personnel.to) == DEPARTMENT_HEADS
    assert f"\n处分：{b} 韩雪：书面警告（人为疏忽罚扣）\n{c} 外协厂：书面警告（人为疏忽罚扣）\n" in personnel.text
    assert "客户抱怨责任处分公布如下（客户资料已隐去）" in personnel.text
    assert "常州新纺织造有限公司" not in personnel.text and a not in personnel.text
    # S6 (2): per unit, the GM approves the notice of its fines, then three copies
    n = run.step("notice-production")
    assert (n.assignee, n.role, n.title) == (GM, "general_manager", "总经理核准《奖罚通知单》")
    assert n.summary == {"月份": "2026-11", "单位": "生产部", "罚扣合计（元）": "1100.00",
                         "明细": f"{a} 生产部 500.00 元（本公司品质问题）\n{b} 韩雪 600.00 元（人为疏忽）"}
    assert run.step("notice-rd").summary["罚扣合计（元）"] == "500.00"
    copies = notice_mail(run, "《奖罚通知单》生产部 2026-11")
    assert copies.to == [GM_OFFICE, ACCOUNTING, PRODUCTION_HEAD] and "1100.00" in copies.text
    assert "一联会计科核对" in copies.text
    assert notice_mail(run, "《奖罚通知单》研发部 2026-11").to == [GM_OFFICE, ACCOUNTING, RD]
    # a unit the org directory does not know: the GM office approves its notice and takes its copy
    assert run.step(OUTSIDE_NOTICE).summary["单位"] == "外协厂"
    assert notice_mail(run, "《奖罚通知单》外协厂 2026-11").to == [GM_OFFICE, ACCOUNTING, GM_OFFICE]

    month = store.get_case(month_no)
    assert month.state == "done" and month.closed_at is not None
    assert month.data["shares"] == {
        "confirmed": [{"unit": "生产部", "by": PRODUCTION_HEAD, "improvement_state": "done", "proposal": "", "reason": ""},
                      {"unit": "研发部", "by": RD, "improvement_state": "ineffective", "proposal": "", "reason": ""}],
        "proposed": [], "unknown_units": ["外协厂"]}
    assert month.data["notices"] == [
        {"unit": "生产部", "amount": "1100.00", "to": [GM_OFFICE, ACCOUNTING, PRODUCTION_HEAD]},
        {"unit": "研发部", "amount": "500.00", "to": [GM_OFFICE, ACCOUNTING, RD]},
        {"unit": "外协厂", "amount": "400.00", "to": [GM_OFFICE, ACCOUNTING, GM_OFFICE]}]
    assert month.data["sanctions"] == 2 and month.data["petitions"] == []
    assert [e.kind for e in store.events(month_no) if e.kind.endswith("_notice")] == [
        "personnel_notice", "reward_penalty_notice", "reward_penalty_notice", "reward_penalty_notice"]


def test_s5_proposals_settled_or_petitioned_and_the_held_fine_gets_its_own_notice(office):
    a = closed(office, "无锡华美服饰有限公司", "生产部、研发部", "生产部: 500")
    b = closed(office, "常州新纺织造有限公司", "生产部", "生产部: 300")
    q = closed(office, "南通永盛家纺有限公司", "质量部", "质量部: 200")
    office.later(days=6)  # Tuesday 1 December
    script = {
        "shares-production": answer(ShareConfirmation(decision="proposed", proposal=f"{a}: 60", comment="原料也有责任",
                                                      improvement_state="in_progress"), hours=1),
        "shares-rd": ShareConfirmation(decision="proposed", proposal=f"{a}: 30", comment="配棉非研发责任"),
        "shares-quality": ShareConfirmation(decision="confirmed"),
        # the first settlement names a case not the unit's: asked again with what is wrong
        "settle-production": ShareSettlement(decision="settled", shares=f"{q}: 50"),
        "settle-production-2": ShareSettlement(decision="settled", shares=f"{a}: 60", comment="协调一致"),
        "settle-rd": ShareSettlement(decision="unsettled", comment="双方意见不一"),
        "notice-production": Decision(decision="reject"), "notice-production-revision-1": Done(comment="已修改"),
        "notice-production-2": APPROVE, "notice-quality": APPROVE,
        "petition-rd": PENDING}
    run = office.run(grievance_month, None, script)
    assert run.waiting_on == "petition-rd"
    assert run.steps == ["shares-production", "shares-rd", "shares-quality", "settle-production", "settle-production-2",
                         "settle-rd", "notice-production", "notice-production-revision-1", "notice-production-2",
                         "notice-quality", "petition-rd"]
    # the quality head is asked as the department's head, not as the quality lead (his first role)
    assert (run.step("shares-quality").assignee, run.step("shares-quality").role) == (QUALITY_LEAD, "department_head")
    # S5: the GM office settles each proposal with the unit's head
    settle = run.step("settle-production")
    assert (settle.assignee, settle.role, settle.requested_by) == (GM_OFFICE, "gm_office", PRODUCTION_HEAD)
    assert settle.title == "与生产部负责人协调责任比率（S5）"
    assert settle.summary == {"月份": "2026-11", "责任单位": "生产部", "提出的比率": f"{a}: 60", "理由": "原料也有责任",
                              "草拟比率": f"{a}：50.00%\n{b}：100.00%"}
    again = run.step("settle-production-2")
    assert "不是 生产部 的案件" in again.summary["不符之处"] and again.summary["草拟比率"] == settle.summary["草拟比率"]
    assert run.step("settle-rd").summary["草拟比率"] == f"{a}：50.00%"
    store = office.svc.store
    # the settled share is stored as confirmed; the disputed unit's stays the draft until the GM answers
    assert store.get_case(a).data["shares"] == {"生产部": {"share": "60.00", "confirmed": True},
                                                "研发部": {"share": "50.00", "confirmed": False}}
    assert [e.data for e in store.events(a) if e.kind == "shares_confirmed"][-1] == {
        "month": "2026-11", "units": ["生产部"], "source": "settle-production-2"}
    assert "shares" not in store.get_case(b).data  # the settlement named only the first case
    assert store.get_case(q).data["shares"] == {"质量部": {"share": "100.00", "confirmed": True}}
    # S6 (2) before the 《签呈》: the disputed unit's fine waits; a rejected notice is revised by the GM office
    revision = run.step("notice-production-revision-1")
    assert (revision.assignee, revision.role) == (GM_OFFICE, "gm_office")
    assert revision.title == "按总经理意见修改《奖罚通知单》" and revision.summary["总经理意见"] == "（未填写）"
    assert revision.summary["罚扣合计（元）"] == "800.00"
    assert "notice-rd" not in run.steps
    # C19: the head files the 《签呈》 within 3 business days, pre-filled with the proposal and its reason
    pet = run.step("petition-rd")
    assert (pet.assignee, pet.role, pet.answer_model) == (RD, "rd", "Petition")
    assert pet.title == "责任比率未能协调：填写《签呈》呈总经理（研发部，3个工作日内）"
    assert pet.due == add_business_days(pet.at, 3, office.svc.calendar) and pet.summary == run.step("settle-rd").summary
    filled = store.get_task(pet.task_id).answer
    assert filled | {"decision": "petition", "subject": "share", "reasons": "配棉非研发责任", "change_asked": f"{a}: 30"} == filled

    # while the month waits on the 《签呈》, the chain's own C19 petition on case a is answered: the GM lowers
    # its fine (recorded on the case as `petition_to_gm` records it); the held fine's notice reads it afresh
    changed = {**store.get_case(a).data["decision"],
               "fines": check_fines(parse_pairs("生产部: 350", "罚扣"), "our_quality", bases(office.svc)[1])}
    store.update_case(a, actor=GM, kind="petition_answered:objection-production", now=office.svc.clock.now(),
                      data={"decision": changed})
    run = office.run(grievance_month, None, script | {
        "petition-rd": Petition(decision="petition", subject="share", reasons="配棉由生产部决定",
                                change_asked=f"{a}: 30", attachments="配棉单.pdf"),
        "petition-rd-forward": PetitionForward(opinion="建议研发部承担 40%"),
        "petition-rd-answer": PetitionAnswer(decision="changed", answer="研发部承担 40%", shares=f"{b}: 40"),
        "petition-rd-answer-2": PetitionAnswer(decision="changed", answer="研发部承担 40%", shares=f"{a}: 40"),
        "notice-rd-petition": APPROVE})
    assert run.steps[-5:] == ["petition-rd", "petition-rd-forward", "petition-rd-answer", "petition-rd-answer-2",
                              "notice-rd-petition"]
    fwd, gm = run.step("petition-rd-forward"), run.step("petition-rd-answer")
    assert (fwd.assignee, fwd.role, fwd.requested_by, fwd.title) == (GM_OFFICE, "gm_office", RD, "《签呈》经总经理室呈总经理")
    assert fwd.summary | {"异议事项": "责任比率", "理由": "配棉由生产部决定", "请求变更为": f"{a}: 30",
                          "附件": "配棉单.pdf"} == fwd.summary
    assert (gm.assignee, gm.role, gm.requested_by) == (GM, "general_manager", RD)
    assert gm.title == "总经理批示《签呈》（最终决定）" and gm.summary["总经理室意见"] == "建议研发部承担 40%"
    assert "不是 研发部 的案件" in run.step("petition-rd-answer-2").summary["不符之处"]
    # the GM's change, before S1's table is issued on the 2nd, is stored as confirmed
    assert store.get_case(a).data["shares"] == {"生产部": {"share": "60.00", "confirmed": True},
                                                "研发部": {"share": "40.00", "confirmed": True}}
    assert [e.data for e in store.events(a) if e.kind == "shares_confirmed"][-1]["source"] == "petition-rd"
    assert "shares" not in store.get_case(b).data
    # the held fine, once answered, on a notice of its own
    held = run.step("notice-rd-petition")
    assert held.summary["单位"] == "研发部" and held.summary["明细"] == f"{a} 生产部 350.00 元（本公司品质问题）"
    assert held.summary["罚扣合计（元）"] == "350.00"
    assert notice_mail(run, "《奖罚通知单》研发部 2026-11").to == [GM_OFFICE, ACCOUNTING, RD]
    month = store.get_case(run.result["case_no"])
    assert run.result | {"notices": 3, "petitions": 1, "confirmed": 1, "proposed": 2, "sanctions": 0} == run.result
    assert month.data["sanctions"] == 0 and not [m for m in run.mails if "人事公布单" in m.subject]  # none this month
    assert month.data["petitions"] == [{"unit": "研发部", "by": RD, "decision": "petition", "answer": "changed",
                                        "gm_answer": "研发部承担 40%", "answered_by": GM}]
    assert [n["unit"] for n in month.data["notices"]] == ["生产部", "质量部", "研发部"]
    assert month.data["shares"]["proposed"] == [
        {"unit": "生产部", "by": PRODUCTION_HEAD, "improvement_state": "in_progress", "proposal": f"{a}: 60",
         "reason": "原料也有责任"},
        {"unit": "研发部", "by": RD, "improvement_state": "in_progress", "proposal": f"{a}: 30", "reason": "配棉非研发责任"}]


def test_c19_a_head_who_accepts_or_a_gm_who_maintains_leaves_the_draft_and_the_fine_is_noticed_after(office):
    a = closed(office, "无锡华美服饰有限公司", "生产部、研发部", "生产部: 500")
    office.later(days=6)
    script = {
        "shares-production": ShareConfirmation(decision="confirmed"),
        "shares-rd": ShareConfirmation(decision="proposed", proposal=f"{a}: 30", comment="配棉非研发责任"),
        # unsettled: whatever shares the GM office wrote are not read
        "settle-rd": ShareSettlement(decision="unsettled", shares="KS-2026-999999: 10"),
        "notice-production": APPROVE, "notice-rd-petition": APPROVE,
        "petition-rd": Petition(decision="accepted")}
    run = office.run(grievance_month, None, script)
    assert run.steps == ["shares-production", "shares-rd", "settle-rd", "notice-production", "petition-rd",
                         "notice-rd-petition"]
    month = office.svc.store.get_case(run.result["case_no"])
    assert month.data["petitions"] == [{"unit": "研发部", "by": RD, "decision": "accepted"}]
    assert run.step("petition-rd").summary["理由"] == "配棉非研发责任"
    assert office.svc.store.get_case(a).data["shares"]["研发部"] == {"share": "50.00", "confirmed": False}


def test_c19_the_gm_maintains_the_draft(office):
    a = closed(office, "无锡华美服饰有限公司", "生产部、研发部", "生产部: 500")
    office.later(days=6)
    run = office.run(grievance_month, None, {
        "shares-production": ShareConfirmation(decision="confirmed"),
        "shares-rd": ShareConfirmation(decision="proposed", proposal=f"{a}: 30", comment="配棉非研发责任"),
        "settle-rd": ShareSettlement(decision="unsettled"),
        "petition-rd": Petition(decision="petition", subject="share", reasons="配棉由生产部决定", change_asked=f"{a}: 30"),
        "petition-rd-forward": PetitionForward(opinion="请裁定"),
        "petition-rd-answer": PetitionAnswer(decision="maintained", answer="维持草拟比率", shares=f"{a}: 30"),
        "notice-production": APPROVE, "notice-rd-petition": APPROVE})
    assert run.step("petition-rd-forward").summary["附件"] == "无"
    assert office.svc.store.get_case(a).data["shares"]["研发部"] == {"share": "50.00", "confirmed": False}
    month = office.svc.store.get_case(run.result["case_no"])
    assert month.data["petitions"][0] | {"answer": "maintained", "gm_answer": "维持草拟比率"} == month.data["petitions"][0]


def _run_name(run) -> str:
    return run.flow_run().name


def test_a_month_given_is_run_on_any_day_and_names_the_run_else_the_schedules_run_names_last_month(office):
    office.later(days=7)  # Wednesday 2 December: not the first business day, but the month is given
    run = office.run(grievance_month, "2026-10", {})
    assert run.result["month"] == "2026-10" and run.result["cases"] == 0 and run.steps == []
    assert _run_name(run) == "grievance-month-2026-10"
    run = office.run(grievance_month, None, {})
    assert "skipped" in run.result
    assert _run_name(run) == "grievance-month-2026-11"  # the month before the services' clock's
