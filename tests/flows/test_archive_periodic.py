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
