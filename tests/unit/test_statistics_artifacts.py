"""S4: what the scheduled statistics (flows/statistics.py) leave where process owners look — the report's
tables as Prefect artifacts, cut and masked — and the run's name naming its period (docs/testing.md,
session 15). The artifacts go to the recording fake of the services' `RunArtifacts`."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

import flows.statistics as st
from models.statistics import default_period
from tasks.platform.artifacts import RecordingArtifacts
from tasks.reports.output import RenderedReport


@pytest.fixture
def published() -> RecordingArtifacts:
    return RecordingArtifacts()


def report(kind: str, title: str, period: str, *previews: dict) -> RenderedReport:
    return RenderedReport(kind=kind, period=period, title=title, figures={}, charts={}, previews=list(previews))


BY_CATEGORY = {"key": "by_category", "title": "按投诉类别", "note": "", "headers": ["类别", "件数", "联系电话"],
               "rows": [["货运", "2", "13812345678"], ["服务|行为", "1", ""]], "more": False}
OVERDUE = {"key": "overdue", "title": "逾期案件", "note": "含已结案的逾期案件", "headers": ["单号", "客户"],
           "rows": [["TS-2026-0001", "王芳 021-58881234"]], "more": True}
EMPTY = {"key": "empty", "title": "升级案件", "note": "", "headers": ["单号"], "rows": [], "more": False}


def test_s4_the_report_is_one_markdown_artifact_table_by_table_cut_and_masked(published):
    st.publish_artifacts("monthly", "2026-11", report("monthly", "客诉案件统计表", "2026-11", BY_CATEGORY, EMPTY, OVERDUE),
                         published)
    assert list(published.latest) == ["monthly-report"] and published.writes["monthly-report"] == 1
    assert published.descriptions["monthly-report"] == "《客诉案件统计表》2026-11"
    assert published.latest["monthly-report"] == "\n".join([
        "# 《客诉案件统计表》2026-11", "",
        "## 按投诉类别", "",
        "| 类别 | 件数 | 联系电话 |", "|---|---|---|",
        "| 货运 | 2 | 138****5678 |",
        "| 服务/行为 | 1 |  |",          # a cell's own "|" would split the row
        "", "",
        "## 升级案件", "", "（无）", "",   # an empty table says so, and the tables after it follow
        "## 逾期案件", "", "含已结案的逾期案件", "",
        "| 单号 | 客户 |", "|---|---|",
        "| TS-2026-0001 | 王芳 021-****1234 |",
        "", "（仅列出前若干项，完整清单见邮件附件 Excel）"])


def test_s4_the_first_table_is_also_a_table_artifact_row_by_row_masked(published):
    st.publish_artifacts("weekly", "2026-W47", report("weekly", "投诉周报", "2026-W47", BY_CATEGORY, EMPTY), published)
    assert published.tables == {"weekly-report-summary": [
        {"类别": "货运", "件数": "2", "联系电话": "138****5678"}, {"类别": "服务|行为", "件数": "1", "联系电话": ""}]}
    assert published.descriptions["weekly-report-summary"] == "《投诉周报》2026-W47：按投诉类别"
    assert list(published.latest) == ["weekly-report"]


def test_s4_a_row_not_matching_its_headers_is_refused_not_cut(published):
    short = BY_CATEGORY | {"rows": [["货运", "2"]]}
    with pytest.raises(ValueError):
        st.publish_artifacts("analysis", "2026-11", report("analysis", "客户投诉分析报告表", "2026-11", short), published)
    assert published.tables == {}


def test_a_run_reports_on_the_period_given_or_by_default_on_the_one_before_now():
    now = datetime(2026, 11, 25, 10, tzinfo=timezone.utc)  # a Wednesday
    assert st.period_of_run("monthly", "month", {"month": "2026-09"}, now) == "2026-09"
    for params in ({"month": None}, {}, None, {"week": "2026-W40"}):
        assert st.period_of_run("monthly", "month", params, now) == "2026-10"
    assert st.period_of_run("weekly", "week", {"week": "2026-W40"}, now) == "2026-W40"
    assert st.period_of_run("weekly", "week", {}, now) == "2026-W47"
    assert st.period_of_run("analysis", "month", None, now) == default_period("analysis", now) == "2026-11"
