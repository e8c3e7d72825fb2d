"""The served deployments' names (`flow-name/deployment-name`, as Prefect's API knows them), in one place:
`kefu up` and `/healthz` count them, the intake starts runs of them, the tests run them."""

from __future__ import annotations

COMPLAINT = "complaint/complaint"
SAMPLE_REQUEST = "sample-request/sample-request"
ALLOWANCE = "allowance/allowance"
RETURN = "return/return"
ARCHIVE_CORRECTION = "archive-correction/archive-correction"
NEW_CUSTOMER = "new-customer/new-customer"
GRIEVANCE = "grievance/grievance"
GROUP_COMPLAINT = "group-complaint/group-complaint"   # C26 (issue 21)

ARCHIVE_BACKUP = "archive-backup/archive-backup"
SLA_WATCHDOG = "sla-watchdog/sla-watchdog"
SAMPLE_MONTH_TOTALS = "sample-month-totals/sample-month-totals"
MONTHLY_STATISTICS = "monthly-statistics/monthly-statistics"
WEEKLY_REPORT = "weekly-report/weekly-report"
ANALYSIS_REPORT = "analysis-report/analysis-report"
GRIEVANCE_MONTH = "grievance-month/grievance-month"
ARCHIVE_CLEANUP = "archive-cleanup/archive-cleanup"   # A5, quarterly (issue 21)
ARCHIVE_REPORT = "archive-report/archive-report"      # A6, monthly (issue 21)
CASE_LIBRARY_REVIEW = "case-library-review/case-library-review"  # C23, quarterly (issue 21)

# started per case by the intake
PROCEDURES = (COMPLAINT, SAMPLE_REQUEST, ALLOWANCE, RETURN, ARCHIVE_CORRECTION, NEW_CUSTOMER, GRIEVANCE,
              GROUP_COMPLAINT)
# run by their schedules
SCHEDULED = (SLA_WATCHDOG, ARCHIVE_BACKUP, SAMPLE_MONTH_TOTALS, MONTHLY_STATISTICS, WEEKLY_REPORT, ANALYSIS_REPORT,
             GRIEVANCE_MONTH, ARCHIVE_CLEANUP, ARCHIVE_REPORT, CASE_LIBRARY_REVIEW)
DEPLOYMENTS = PROCEDURES + SCHEDULED


def flow_name(full: str) -> str:
    """`complaint/complaint` → `complaint` (the flow's name, `@flow(name=…)`)."""
    return full.split("/", 1)[0]


def deployment_name(full: str) -> str:
    """`sla-watchdog/sla-watchdog` → `sla-watchdog` (the name given to `add_flow`)."""
    return full.split("/", 1)[1]
