"""客户信息错误更正 (§2, A1–A2), run in-process: the remedy plan reviewed by the CS manager, approved by
the GM, executed by the departments, reported, the report reviewed and approved, archived."""

from flows.archive.correction import archive_correction
from models.answers import Decision
from models.archive.answers import CorrectionReport, DepartmentFeedback, PlanRevision
from tests.flows.harness import ACCOUNTING, CS_MANAGER, CS_STAFF, GM, L3_SALES_DIRECTOR, PENDING

APPROVE = Decision(decision="approve")


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
    assert run.mails_to(CS_STAFF, "客户信息更正已存档")


def test_the_drafter_never_approves_their_own_correction(office):
    run = office.run(archive_correction, office.correction(), chain())
    for step in ("cs-manager-review", "gm-approval", "cs-manager-report-review", "gm-report-approval"):
        assert run.step(step).requested_by == CS_STAFF


def test_a_rejected_plan_goes_back_to_its_author_and_the_chain_resumes_at_the_step(office):
    run = office.run(archive_correction, office.correction(), chain(**{
        "gm-approval": Decision(decision="reject", comment="需说明变更依据"),
        "revise-gm-approval": PlanRevision(decision="resubmitted", reason="客户来函变更电话"),
        "gm-approval-2": APPROVE}))
    assert run.steps[:4] == ["cs-manager-review", "gm-approval", "revise-gm-approval", "gm-approval-2"]
    assert run.step("revise-gm-approval").assignee == CS_STAFF
    assert run.step("revise-gm-approval").summary["驳回意见"] == "需说明变更依据"
    assert run.result == "archived"


def test_a_rejected_report_is_revised_and_reviewed_again(office):
    run = office.run(archive_correction, office.correction(), chain(**{
        "cs-manager-report-review": Decision(decision="reject", comment="缺会计科反馈日期"),
        "revise-cs-manager-report-review": CorrectionReport(report="补充：会计科 11 月 26 日完成"),
        "cs-manager-report-review-2": APPROVE}))
    assert run.steps[-4:] == ["cs-manager-report-review", "revise-cs-manager-report-review",
                              "cs-manager-report-review-2", "gm-report-approval"]
    assert run.result == "archived"


def test_a_withdrawn_plan_closes_the_case_without_touching_the_archive(office):
    run = office.run(archive_correction, office.correction(), chain(**{
        "cs-manager-review": Decision(decision="reject", comment="不需更正"),
        "revise-cs-manager-review": PlanRevision(decision="withdrawn")}))
    assert run.result == "withdrawn" and run.case.state == "withdrawn"
    assert office.svc.store.get_customer("DA-2026-000001").phone == "13812345678"


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
