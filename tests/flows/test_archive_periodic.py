"""A5 the quarterly archive clean-up and A6 the monthly archive report (procedures §7.2), run in-process
as their schedules run them (no parameters: the quarter / month before the clock's)."""

from flows.archive.periodic import archive_cleanup, archive_report
from models.answers import Decision
from models.archive.answers import ArchiveCleanupProposals
from tests.flows.harness import ARCHIVE_CLERK, CS_MANAGER, GM


def _file_customers(office):
    office.customer_on_file("DA-2026-000001", name="甲公司", invoicing_name="甲公司")
    office.customer_on_file("DA-2026-000002", name="乙公司", invoicing_name="甲公司")  # duplicate invoicing name
    office.customer_on_file("DA-2026-000003", name="丙公司", invoicing_name="丙公司", registration={"moved_out": True})
    for no, name in (("R1", "甲公司"), ("R2", "乙公司"), ("R3", "丙公司")):
        office.trade(no, 30, customer=name)


def run_cleanup(office, answers):
    """The schedule passes no parameter; the flow opens its own case (found again by its quarter)."""
    from tasks.platform.runtime import use_services

    office.human.script = dict(answers)
    office.human.keys = []
    with use_services(office.svc):
        return archive_cleanup()


def test_the_quarterly_clean_up_deactivates_and_merges_as_new_versions_nothing_erased(office):
    _file_customers(office)
    case_no = run_cleanup(office, {
        "proposals": ArchiveCleanupProposals(proposals='{"DA-2026-000002": "merge:DA-2026-000001", "DA-2026-000003": "deactivate"}',
                                             paper_files="档案柜 A3，已装订"),
        "cs-manager-approval": Decision(decision="approve")})
    asked = {a.step: a for a in office.human.asked}
    assert asked["proposals"].assignee == ARCHIVE_CLERK and asked["cs-manager-approval"].assignee == CS_MANAGER
    assert "已迁出" in asked["proposals"].summary["DA-2026-000003"]
    merged = office.svc.store.get_customer("DA-2026-000002")
    assert merged.registration == {"archive_status": "merged", "merged_into": "DA-2026-000001"}
    gone = office.svc.store.get_customer("DA-2026-000003")   # still there, marked invalid
    assert gone.registration["archive_status"] == "inactive" and gone.version == 2
    (v1, v2) = office.svc.store.customer_versions("DA-2026-000003")
    assert v2.reason.startswith("定期清理") and v2.case_no == case_no
    case = office.svc.store.get_case(case_no)
    assert case.closed_at is not None and case.data["paper_files"] == "档案柜 A3，已装订"
    assert office.svc.store.get_customer("DA-2026-000001").version == 1  # kept


def test_a_record_linked_to_an_open_case_cannot_be_deactivated_and_a_rejection_goes_back(office):
    _file_customers(office)
    office.correction(archive_no="DA-2026-000003")  # an open A2 correction on the record
    case_no = run_cleanup(office, {
        "proposals": ArchiveCleanupProposals(proposals='{"DA-2026-000003": "deactivate"}'),
        "cs-manager-approval": Decision(decision="reject", comment="请先核实丙公司是否已迁出"),
        "proposals-2": ArchiveCleanupProposals(proposals='{"DA-2026-000003": "deactivate", "DA-2026-000001": "correct"}'),
        "cs-manager-approval-2": Decision(decision="approve")})
    assert "请先核实" in {a.step: a for a in office.human.asked}["proposals-2"].summary["退回意见"]
    results = {r["archive_no"]: r for r in office.svc.store.get_case(case_no).data["results"]}
    assert results["DA-2026-000003"]["result"] == "blocked" and "关联未结案件" in results["DA-2026-000003"]["reason"]
    assert office.svc.store.get_customer("DA-2026-000003").version == 1
    assert results["DA-2026-000001"]["result"] == "to_correct"
    assert any("定期清理：请按更正程序提交更正" in m.subject for m in office.mailer.sent)


def test_the_monthly_archive_report_goes_to_the_gm_and_the_cs_manager(office):
    _file_customers(office)
    office.later(days=7)  # 2026-12-02: the report covers November
    from tasks.platform.runtime import use_services

    with use_services(office.svc):
        fig = archive_report()
    assert fig["period"] == "2026-11" and fig["new"] == 3 and fig["total_active"] == 3
    assert {c["class"]: c["count"] for c in fig["by_class"]} == {"enterprise": 3}
    (mail,) = [m for m in office.mailer.sent if "客户档案报表" in m.subject]
    assert set(mail.to) == {GM, CS_MANAGER} and "本月新建：3" in mail.text


def test_a5_a_quarter_with_nothing_to_clean_is_opened_for_that_quarter_and_closed_done(office):
    case_no = run_cleanup(office, {})  # nobody is asked
    case = office.svc.store.get_case(case_no)
    assert (case.state, case.data["quarter"], case.data["candidates"], case.title) == (
        "done", "2026-Q3", [], "客户档案定期清理 2026-Q3")
    assert case.closed_at is not None and office.human.asked == []
    assert [e.kind for e in office.svc.store.events(case_no)] == ["case_created", "archive_cleanup_nothing"]
    assert run_cleanup(office, {}) == case_no  # the quarter's case is found again, not opened twice


def test_a6_the_month_s_report_is_sent_once_and_another_month_is_its_own(office):
    from tasks.platform.runtime import use_services

    _file_customers(office)
    with use_services(office.svc):
        archive_report()
        archive_report()
        archive_report("2026-09")
    assert sorted(m.subject for m in office.mailer.sent if "客户档案报表" in m.subject) == [
        "【通知】客户档案报表 2026-09 《客户档案报表》2026-09", "【通知】客户档案报表 2026-10 《客户档案报表》2026-10"]
    (october,) = [m for m in office.mailer.sent if "2026-10" in m.subject]
    assert "\n上月客户档案情况如下（个人信息已遮蔽；完整档案查阅按查阅权限并登记）。\n" in october.text  # the line as written


def test_a5_the_clerk_has_5_business_days_a_batch_that_does_not_parse_goes_back_with_why_and_the_manager_approves(office):
    from datetime import datetime, timezone

    _file_customers(office)
    listing = {"DA-2026-000001": "甲公司：开票资料名称重复；必填项缺失：address",
               "DA-2026-000002": "乙公司：开票资料名称重复；必填项缺失：address",
               "DA-2026-000003": "丙公司：已迁出；必填项缺失：address"}
    case_no = run_cleanup(office, {
        "proposals": ArchiveCleanupProposals(proposals='{"DA-2099-000009": "keep"}'),  # not on the list
        "proposals-2": ArchiveCleanupProposals(proposals='{"DA-2026-000002": "merge:DA-2026-000001", "DA-2026-000003": "deactivate"}'),
        "cs-manager-approval-2": Decision(decision="reject"),  # no comment
        "proposals-3": ArchiveCleanupProposals(proposals='{"DA-2026-000003": "keep"}'),
        "cs-manager-approval-3": Decision(decision="approve")})
    asked = {a.step: a for a in office.human.asked}
    assert list(asked) == ["proposals", "proposals-2", "cs-manager-approval-2", "proposals-3", "cs-manager-approval-3"]
    first = asked["proposals"]
    assert (first.title, first.summary, first.due) == (
        "定期清理：逐条提出处理建议", listing, datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc))  # 5 business days
    assert asked["proposals-2"].summary == listing | {
        "退回意见": "不在清理清单中：DA-2099-000009 / not on the clean-up list: DA-2099-000009"}
    assert asked["proposals-3"].summary == listing | {"退回意见": "（未填写）"}
    approval = asked["cs-manager-approval-2"]
    assert (approval.title, approval.assignee, approval.requested_by, approval.summary) == (
        "客服部经理审批定期清理批次", CS_MANAGER, ARCHIVE_CLERK,
        {"DA-2026-000001": "保留", "DA-2026-000002": "合并 → DA-2026-000001", "DA-2026-000003": "注销（标记无效）", "纸质档案": "—"})
    approved = [(e.actor, e.data) for e in office.svc.store.events(case_no) if e.kind == "archive_cleanup_approved"]
    assert approved == [(CS_MANAGER, {"state": ["proposing", "approved"]})]
    (applied,) = [e for e in office.svc.store.events(case_no) if e.kind == "archive_cleanup_applied"]
    assert applied.actor == CS_MANAGER
