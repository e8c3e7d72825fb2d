"""Principle 1 for the periodic flows: a run is named after the period it works on, also when a schedule
starts it without a parameter (the period its steps default to, by the services' clock: 25 November 2026),
never `…-None`; a parameter given names it as given."""

from __future__ import annotations


import pytest

from flows.archive.periodic import archive_cleanup, archive_report
from flows.complaint.library_review import case_library_review
from flows.samples.monthly import sample_month_totals_flow
from flows.statistics import analysis_report, monthly_statistics, weekly_report


def run_name(run) -> str:
    return run.flow_run().name


@pytest.mark.parametrize("flow,scheduled,given,name", [
    (archive_report, "archive-report-2026-10", "2026-08", "archive-report-2026-08"),               # A6
    (sample_month_totals_flow, "sample-month-totals-2026-10", "2026-08", "sample-month-totals-2026-08"),  # P3
    (case_library_review, "case-library-review-2026-Q3", "2026-Q1", "case-library-review-2026-Q1"),  # C23
    (archive_cleanup, "archive-cleanup-2026-Q3", "2026-Q1", "archive-cleanup-2026-Q1"),              # A5
    (monthly_statistics, "monthly-statistics-2026-10", "2026-08", "monthly-statistics-2026-08"),     # S1
    (weekly_report, "weekly-report-2026-W47", "2026-W40", "weekly-report-2026-W40"),                 # S2
    (analysis_report, "analysis-report-2026-11", "2026-08", "analysis-report-2026-08"),              # S3
])
def test_a_periodic_run_is_named_after_its_period_scheduled_or_given(office, flow, scheduled, given, name):
    assert run_name(office.run(flow, None, {}, stop_at_unscripted=True)) == scheduled
    assert run_name(office.run(flow, given, {}, stop_at_unscripted=True)) == name
