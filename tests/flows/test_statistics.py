"""S1 《客诉案件统计表》 on cases the complaint flow really handled: the on-time rate of each deadline is
computed from the time that deadline's step was done."""

import pytest

from flows.complaint.handling import complaint
from models.complaint.answers import FirstContact
from tasks.reports.statistics import monthly_figures
from tests.flows.harness import PENDING, answer
from tests.flows.test_complaint import PLAN, handled


def test_the_plan_on_time_rate_counts_the_plan_not_the_first_contact(office):
    # received Wednesday 10:00: first contact at 12:00 (in time), the plan on Friday (1 business day: late)
    case_no = office.complaint()
    run = office.run(complaint, case_no, handled(1) | {
        "first-contact": answer(FirstContact(contact_note="已联系"), hours=2),
        "plan-1": answer(PLAN, days=2)})
    assert run.result == "closed"
    with office.svc.store.session() as s:
        on_time = {x["deadline"]: (x["due"], x["on_time"]) for x in monthly_figures(s, "2026-11")["on_time"]}
    assert on_time["first_contact"] == (1, 1)
    assert on_time["plan"] == (1, 0)


def test_s1_has_the_return_visit_rate_over_closed_escalated_and_gm_meeting_cases(office):
    # C10: every established case is visited; not-established ones are not counted
    assert office.run(complaint, office.complaint(), handled(1)).result == "closed"
    assert office.run(complaint, office.complaint(), handled(1, score=5)).result.startswith("escalated:")
    unvisited = office.run(complaint, office.complaint(media=True), handled(3, score=5, **{"return-visit": PENDING}))
    assert unvisited.waiting_on == "return-visit"
    office.svc.store.update_case(unvisited.case_no, actor="t", kind="x", now=office.clock.now(), state="gm_meeting",
                                 closed=True)  # closed by hand, never visited
    with office.svc.store.session() as s:
        visits = monthly_figures(s, "2026-11")["return_visits"]
    assert visits == {"due": 3, "visited": 2, "rate": "0.6667"}


# ---- the scheduled runs themselves (flows/statistics.py `run_report`) ------------------------------
def report_mails(run, title: str):
    return [m for m in run.mails if m.subject.startswith(f"《{title}》")]


def artifacts_of(run) -> dict:
    """The run's name on the Prefect test server, and the artifacts it wrote (the office's recording
    `RunArtifacts`): key → markdown or table rows."""
    return {"name": run.flow_run().name} | run.office.artifacts.latest | run.office.artifacts.tables


def test_s1_the_monthly_run_of_a_month_mails_its_figures_to_the_recipients_and_publishes_them(office):
    from flows.statistics import monthly_statistics
    from tests.flows.harness import GM, L2_HANDLER, QUALITY_LEAD

    assert office.run(complaint, office.complaint(), handled(1)).result == "closed"
    run = office.run(monthly_statistics, "2026-11", {})
    with office.svc.store.session() as s:
        assert run.result == monthly_figures(s, "2026-11") and run.result["total_closed"] == 1
    (mail,) = report_mails(run, "客诉案件统计表")
    assert mail.subject == "《客诉案件统计表》2026-11" and sorted(mail.to) == sorted([GM, L2_HANDLER, QUALITY_LEAD])
    assert [a.filename for a in mail.attachments] == ["客诉案件统计表-2026-11.xlsx"]
    arts = artifacts_of(run)
    assert arts["name"] == "monthly-statistics-2026-11"
    assert arts["monthly-report"].startswith("# 《客诉案件统计表》2026-11\n") and "monthly-report-summary" in arts
    # run again for the same month: nothing is sent twice
    assert report_mails(office.run(monthly_statistics, "2026-11", {}), "客诉案件统计表") == []


@pytest.mark.parametrize("flow_name,kind,title,period", [
    ("monthly_statistics", "monthly", "客诉案件统计表", "2026-10"),   # S1: the month before (the clock: 25 November)
    ("weekly_report", "weekly", "投诉周报", "2026-W47"),             # S2: the week just ended
    ("analysis_report", "analysis", "客户投诉分析报告表", "2026-11"),  # S3: the month ending
])
def test_s1_s3_a_scheduled_run_reports_on_the_period_before_as_the_services_clock_sees_it(office, flow_name, kind, title,
                                                                                          period):
    import flows.statistics

    run = office.run(getattr(flows.statistics, flow_name), None, {})
    (mail,) = report_mails(run, title)
    assert mail.subject == f"《{title}》{period}"
    assert (office.home / "reports" / kind / period / "report.xlsx").is_file()
    arts = artifacts_of(run)
    assert arts[f"{kind}-report"].startswith(f"# 《{title}》{period}\n")
    assert arts["name"] == f"{flow_name.replace('_', '-')}-{period}"  # the run is named after that period too


def test_a_malformed_period_fails_the_run_before_any_report_is_built_or_mailed(office):
    from flows.statistics import monthly_statistics

    with pytest.raises(ValueError):
        office.run(monthly_statistics, "2026-13", {})
    assert not (office.home / "reports").exists() and office.mailer.sent == []


def test_with_smtp_down_the_report_is_built_and_its_mail_left_in_the_outbox(office):
    from sqlmodel import select

    from flows.statistics import weekly_report
    from models.tables import OutboxMessage

    office.mailer.fail_next = 10**6
    run = office.run(weekly_report, "2026-W47", {})
    assert run.mails == [] and (office.home / "reports" / "weekly" / "2026-W47" / "report.xlsx").is_file()
    with office.svc.store.session() as s:
        (queued,) = s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == "report:weekly:2026-W47")).all()
    assert queued.sent_at is None and queued.attempts > 0 and queued.subject == "《投诉周报》2026-W47"
