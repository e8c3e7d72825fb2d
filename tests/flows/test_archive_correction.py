"""客户信息错误更正 (§2, A1–A2), run in-process: the remedy plan reviewed by the CS manager, approved by
the GM, executed by the departments, reported, the report reviewed and approved, archived."""

from sqlmodel import select

from flows.archive.correction import archive_correction
from models.answers import Decision
from models.archive.answers import CorrectionReport, DepartmentFeedback, PlanRevision
from models.grievance_answers import GmRuling
from models.tables import OutboxMessage
from tests.flows.harness import ACCOUNTING, CS_MANAGER, CS_STAFF, GM, L3_SALES_DIRECTOR, PENDING

APPROVE = Decision(decision="approve")
CHAIRMAN = "dong.cheng@huajin.example"
OTHER_CS_STAFF = "li.na@huajin.example"  # cs_staff: [CS_STAFF, li.na]
FORM = "archive-correction-form-{}"  # the 《客户信息更正单》 artifact, re-published after every step that changes it


def steps_recorded(run) -> list[tuple[str, str | None, list[str] | None]]:
    """The chain's own events (kind, who, state from → to), without the task bookkeeping."""
    return [(e.kind, e.actor, e.data.get("state")) for e in run.events()
            if e.kind not in ("case_created", "task_created", "task_decided")]


def chain(**over) -> dict:
    return {
        "cs-manager-review": APPROVE, "gm-approval": APPROVE,
        "dept-sales": DepartmentFeedback(feedback="销售台账已更新电话"),
        "dept-accounting": DepartmentFeedback(feedback="开票资料已更新"),
        "cs-report": CorrectionReport(report="两部门均已执行，核对无误"),
        "cs-manager-report-review": APPROVE, "gm-report-approval": APPROVE,
    } | over


def test_the_correction_goes_through_the_nine_steps_and_is_archived_as_a_new_version(office):
    case_no = office.correction()
    run = office.run(archive_correction, case_no, chain())
    assert run.result == "archived" and run.case.state == "archived"
    assert run.steps == ["cs-manager-review", "gm-approval", "dept-sales", "dept-accounting", "cs-report",
                         "cs-manager-report-review", "gm-report-approval"]
    who = {a.step: a.assignee for a in run.asked}
    assert who == {"cs-manager-review": CS_MANAGER, "gm-approval": GM, "dept-sales": L3_SALES_DIRECTOR,
                   "dept-accounting": ACCOUNTING, "cs-report": CS_STAFF,
                   "cs-manager-report-review": CS_MANAGER, "gm-report-approval": GM}
    # the plan is approved (manager, then GM) before any department acts; the report likewise after
    roles = [a.role for a in run.asked]
    assert roles[:2] == ["cs_manager", "general_manager"] and roles[-2:] == ["cs_manager", "general_manager"]
    assert run.step("cs-manager-report-review").summary["更正报告"] == "两部门均已执行，核对无误"
    assert run.case.data["applied"]["version"] == 2
    assert office.svc.store.get_customer("DA-2026-000001").phone == "13987654321"
    (archived,) = run.notices_to(CS_STAFF, "客户信息更正已存档")
    with office.svc.store.session() as s:  # the notice is the case's
        assert s.exec(select(OutboxMessage.case_no).where(OutboxMessage.subject == archived.subject)).one() == case_no
    assert "档案 DA-2026-000001 已按批准的更正存为第 2 版" in archived.text and "联系电话" in archived.text
    assert steps_recorded(run) == [
        ("approved:cs-manager-review", CS_MANAGER, ["drafted", "in_progress"]),
        ("approved:gm-approval", GM, None), ("handed_to_departments", None, ["in_progress", "executing"]),
        ("departments_done", None, ["executing", "reporting"]), ("report_written", CS_STAFF, None),
        ("approved:cs-manager-report-review", CS_MANAGER, ["reporting", "in_progress"]),
        ("approved:gm-report-approval", GM, None), ("correction_archived", None, ["in_progress", "archived"])]
    assert run.events("handed_to_departments")[0].data["departments"] == ["sales", "accounting"]
    assert run.events("correction_archived")[0].data["version"] == 2 and run.case.closed_at is not None
    assert run.case.data["plan"] == {"changes": {"phone": "13987654321"}, "reason": "电话变更"}
    assert run.case.data["feedback"] == {"销售中心": "销售台账已更新电话", "会计科": "开票资料已更新"}
    assert run.case.data["report"] == "两部门均已执行，核对无误"
    # round 1 is the step's own title; the departments and the author are asked by no one to recuse
    assert run.step("gm-approval").title == "总经理审批《客户信息更正单》"
    report = run.step("cs-report")
    assert (report.role, report.title, report.requested_by) == ("cs_staff", "撰写客户信息更正报告", None)
    assert run.step("cs-report").summary["各部门反馈"] == "销售中心：销售台账已更新电话\n会计科：开票资料已更新"
    sales = run.step("dept-sales")
    assert (sales.role, sales.requested_by, sales.title) == ("department_head", None, "执行客户信息更正并反馈（销售中心）")
    assert sales.summary["本部门执行内容"] == "按更正内容执行"  # no action named: the correction itself
    assert office.artifacts.writes[FORM.format(case_no.lower())] == 4  # drafted, handed on, fed back, archived


def test_the_drafter_never_approves_their_own_correction(office):
    run = office.run(archive_correction, office.correction(), chain())
    for step in ("cs-manager-review", "gm-approval", "cs-manager-report-review", "gm-report-approval"):
        assert run.step(step).requested_by == CS_STAFF


def test_a_rejected_plan_goes_back_to_its_author_and_the_chain_resumes_at_the_step(office):
    case_no = office.correction()
    answers = chain(**{"gm-approval": Decision(decision="reject", comment="需说明变更依据"),
                       "revise-gm-approval": PlanRevision(decision="resubmitted", reason="客户来函变更电话"),
                       "gm-approval-2": PENDING})
    waiting = office.run(archive_correction, case_no, answers)
    # the revised plan is on the case (and its form) while the GM looks at it again
    assert waiting.waiting_on == "gm-approval-2" and waiting.case.state == "revised"
    assert waiting.case.data["plan"] == {"changes": {"phone": "13987654321"}, "reason": "客户来函变更电话"}
    run = office.run(archive_correction, case_no, answers | {"gm-approval-2": APPROVE})
    run.asked = waiting.asked + run.asked
    assert run.steps[:4] == ["cs-manager-review", "gm-approval", "revise-gm-approval", "gm-approval-2"]
    revise = run.step("revise-gm-approval")
    assert (revise.assignee, revise.role, revise.requested_by) == (CS_STAFF, "cs_staff", None)
    assert revise.title == "修改补救处理方案（被驳回）"
    assert (revise.summary["驳回环节"], revise.summary["驳回人"], revise.summary["驳回意见"]) == (
        "总经理审批《客户信息更正单》", GM, "需说明变更依据")
    assert run.step("gm-approval-2").title == "总经理审批《客户信息更正单》（第 2 轮）"
    assert run.step("gm-approval-2").summary["错误说明与理由"] == "客户来函变更电话"
    assert steps_recorded(run)[1:4] == [("rejected:gm-approval", GM, ["in_progress", "returned"]),
                                        ("revised:revise-gm-approval", CS_STAFF, ["returned", "revised"]),
                                        ("approved:gm-approval-2", GM, ["revised", "in_progress"])]
    rejected = run.events("rejected:gm-approval")[0].data
    assert (rejected["step"], rejected["comment"]) == ("gm-approval", "需说明变更依据")
    # the revision left the changes blank: the plan keeps them, with the new reason
    assert run.case.data["plan"] == {"changes": {"phone": "13987654321"}, "reason": "客户来函变更电话"}
    customer = office.svc.store.get_customer("DA-2026-000001")
    assert customer.phone == "13987654321"
    assert office.svc.store.customer_versions("DA-2026-000001")[-1].reason.startswith("客户来函变更电话（更正单 ")
    assert office.artifacts.writes[FORM.format(run.case_no.lower())] >= 5  # and once more on the rejection
    assert run.result == "archived"


def test_a_rejected_report_is_revised_and_reviewed_again(office):
    run = office.run(archive_correction, office.correction(), chain(**{
        "cs-manager-report-review": Decision(decision="reject"),
        "revise-cs-manager-report-review": CorrectionReport(report="补充：会计科 11 月 26 日完成"),
        "cs-manager-report-review-2": APPROVE}))
    assert run.steps[-4:] == ["cs-manager-report-review", "revise-cs-manager-report-review",
                              "cs-manager-report-review-2", "gm-report-approval"]
    revise = run.step("revise-cs-manager-report-review")
    assert (revise.title, revise.assignee) == ("修改更正报告（被驳回）", CS_STAFF)
    assert revise.summary["驳回意见"] == "（未填写）"  # rejected without a word
    assert run.case.data["report"] == "补充：会计科 11 月 26 日完成"
    (revised,) = run.events("revised:revise-cs-manager-report-review")
    assert (revised.actor, revised.data["state"]) == (CS_STAFF, ["returned", "revised"])
    assert run.result == "archived"


def test_a_withdrawn_plan_closes_the_case_without_touching_the_archive(office):
    # drafted by the other CS staff member: the revision and the closing notice go to that author
    run = office.run(archive_correction, office.correction(drafted_by=OTHER_CS_STAFF), chain(**{
        "cs-manager-review": Decision(decision="reject", comment="不需更正"),
        "revise-cs-manager-review": PlanRevision(decision="withdrawn")}))
    assert run.result == "withdrawn" and run.case.state == "withdrawn" and run.case.closed_at is not None
    assert run.steps == ["cs-manager-review", "revise-cs-manager-review"]  # the GM is never asked
    assert run.step("revise-cs-manager-review").assignee == OTHER_CS_STAFF
    assert run.step("cs-manager-review").requested_by == OTHER_CS_STAFF
    assert office.svc.store.get_customer("DA-2026-000001").phone == "13812345678"
    assert steps_recorded(run)[-1] == ("correction_withdrawn", None, ["returned", "withdrawn"])
    (notice,) = run.notices_to(OTHER_CS_STAFF, "客户信息更正未完成")
    assert "补救处理方案已撤回（或经裁定撤销），案件关闭。" in notice.text
    with office.svc.store.session() as s:  # the notice is the case's
        assert s.exec(select(OutboxMessage.case_no).where(OutboxMessage.subject == notice.subject)).one() == run.case_no
    assert office.artifacts.writes[FORM.format(run.case_no.lower())] == 3  # drafted, rejected, withdrawn


def test_each_department_executes_at_once_with_its_own_deadline(office):
    # A2 step 5: in parallel, each named department with its own feedback deadline (sales 3, accounting 2
    # business days from Wednesday 2026-11-25 10:00)
    run = office.run(archive_correction, office.correction(), chain(**{"dept-accounting": PENDING}))
    sales, accounting = run.step("dept-sales"), run.step("dept-accounting")
    assert sales.at == accounting.at  # both asked at once, before either answered
    assert (sales.due.isoformat(), accounting.due.isoformat()) == ("2026-11-30T02:00:00+00:00",
                                                                   "2026-11-27T02:00:00+00:00")
    assert run.waiting_on == "dept-accounting" and run.case.state == "executing"


def test_a_gm_rejection_of_the_report_goes_back_to_cs_and_the_gm_decides_again(office):
    run = office.run(archive_correction, office.correction(), chain(**{
        "gm-report-approval": Decision(decision="reject", comment="报告未附客户来函"),
        "revise-gm-report-approval": CorrectionReport(report="已附客户来函扫描件"),
        "gm-report-approval-2": APPROVE}))
    assert run.steps[-3:] == ["gm-report-approval", "revise-gm-report-approval", "gm-report-approval-2"]
    assert run.step("revise-gm-report-approval").assignee == CS_STAFF
    assert run.step("gm-report-approval-2").summary["更正报告"] == "已附客户来函扫描件"
    assert run.result == "archived"


def rejected_nine_times(base: str, revision) -> dict:
    """A step rejected in each of its MAX_ROUNDS rounds, the author revising after all but the last."""
    rounds = {base if n == 1 else f"{base}-{n}": Decision(decision="reject", comment=f"第 {n} 次驳回") for n in range(1, 10)}
    return rounds | {f"revise-{base}" if n == 1 else f"revise-{base}-{n}": revision for n in range(1, 9)}


def test_a_draft_rejected_nine_times_is_ruled_on_by_the_gm_or_for_the_gms_own_step_the_chairman(office):
    # A2 (review loop): the GM's own approval rejected nine times goes to the chairman, who upholds the plan
    # (its last revision's changes go on); the CS manager's review of the report rejected nine times goes to the
    # GM, who withdraws the case (closed, the archive untouched, the GM's report approval never asked)
    run = office.run(archive_correction, office.correction(), chain(
        **rejected_nine_times("gm-approval", PlanRevision(decision="resubmitted", changes='{"phone": "13900001111"}',
                                                          reason="  ")),
        **{"ruling-gm-approval-9": GmRuling(decision="upheld")},
        **rejected_nine_times("cs-manager-report-review", CorrectionReport(report="再次补充")),
        **{"ruling-cs-manager-report-review-9": GmRuling(decision="withdrawn", comment="多次修改仍不合格")}))
    chairman = run.step("ruling-gm-approval-9")
    assert (chairman.role, chairman.assignee) == ("chairman", CHAIRMAN)
    assert chairman.title == "多次驳回，呈董事长裁定（总经理审批《客户信息更正单》）"
    assert (chairman.summary["驳回人"], chairman.summary["驳回意见"]) == (GM, "第 9 次驳回")
    gm = run.step("ruling-cs-manager-report-review-9")
    assert (gm.role, gm.assignee, gm.title) == ("general_manager", GM, "多次驳回，呈总经理裁定（客服部经理审核更正报告）")
    assert run.steps[run.steps.index("ruling-gm-approval-9") + 1] == "dept-sales"
    assert "gm-report-approval" not in run.steps and "cs-manager-report-review-10" not in run.steps
    assert ("upheld:ruling-gm-approval-9", CHAIRMAN, ["returned", "in_progress"]) in steps_recorded(run)
    assert steps_recorded(run)[-2:] == [
        ("withdrawn:ruling-cs-manager-report-review-9", GM, None),  # still returned, then closed
        ("correction_withdrawn", None, ["returned", "withdrawn"])]
    ruling = run.events("withdrawn:ruling-cs-manager-report-review-9")[0].data
    assert (ruling["step"], ruling["comment"]) == ("ruling-cs-manager-report-review-9", "多次修改仍不合格")
    assert run.case.data["plan"] == {"changes": {"phone": "13900001111"}, "reason": "电话变更"}  # a blank reason kept
    assert run.result == "withdrawn" and run.case.state == "withdrawn"
    assert office.svc.store.get_customer("DA-2026-000001").phone == "13812345678"
    (notice,) = run.notices_to(CS_STAFF, "客户信息更正未完成")
    assert "更正报告经裁定撤销，案件关闭。" in notice.text
