"""S4: what the scheduled statistics (flows/statistics.py) leave where process owners look — the report's
tables as Prefect artifacts, cut and masked — and the run's name naming its period (docs/testing.md,
session 15). Prefect's artifact calls are recorded, not sent."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

import flows.statistics as st
from models.statistics import default_period
from tasks.reports.output import RenderedReport


@pytest.fixture
def published(monkeypatch) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"markdown": [], "table": []}
    monkeypatch.setattr(st, "create_markdown_artifact", lambda **kw: out["markdown"].append(kw))
    monkeypatch.setattr(st, "create_table_artifact", lambda **kw: out["table"].append(kw))
    return out


def report(kind: str, title: str, period: str, *previews: dict) -> RenderedReport:
    return RenderedReport(kind=kind, period=period, title=title, figures={}, charts={}, previews=list(previews))


BY_CATEGORY = {"key": "by_category", "title": "按投诉类别", "note": "", "headers": ["类别", "件数", "联系电话"],
               "rows": [["货运", "2", "13812345678"], ["服务|行为", "1", ""]], "more": False}
OVERDUE = {"key": "overdue", "title": "逾期案件", "note": "含已结案的逾期案件", "headers": ["单号", "客户"],
           "rows": [["TS-2026-0001", "王芳 021-58881234"]], "more": True}
EMPTY = {"key": "empty", "title": "升级案件", "note": "", "headers": ["单号"], "rows": [], "more": False}


def test_s4_the_report_is_one_markdown_artifact_table_by_table_cut_and_masked(published):
    st.publish_artifacts("monthly", "2026-11", report("monthly", "客诉案件统计表", "2026-11", BY_CATEGORY, EMPTY, OVERDUE))
    (md,) = published["markdown"]
    assert md["key"] == "monthly-report" and md["description"] == "《客诉案件统计表》2026-11"
    assert md["markdown"] == "\n".join([
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
    st.publish_artifacts("weekly", "2026-W47", report("weekly", "投诉周报", "2026-W47", BY_CATEGORY, EMPTY))
    (table,) = published["table"]
    assert table == {"key": "weekly-report-summary", "description": "《投诉周报》2026-W47：按投诉类别", "table": [
        {"类别": "货运", "件数": "2", "联系电话": "138****5678"}, {"类别": "服务|行为", "件数": "1", "联系电话": ""}]}
    assert published["markdown"][0]["key"] == "weekly-report"


def test_s4_a_row_not_matching_its_headers_is_refused_not_cut(published):
    short = BY_CATEGORY | {"rows": [["货运", "2"]]}
    with pytest.raises(ValueError):
        st.publish_artifacts("analysis", "2026-11", report("analysis", "客户投诉分析报告表", "2026-11", short))


def test_the_run_is_named_after_the_period_given_or_the_one_it_reports_on_by_default(monkeypatch):
    runtime = SimpleNamespace(flow_name="monthly-statistics", parameters={"month": "2026-09"})
    monkeypatch.setattr(st, "flow_run", runtime)
    assert st.run_name("monthly", "month")() == "monthly-statistics-2026-09"
    now = datetime.now(timezone.utc)
    for params in ({"month": None}, {}, None, {"week": "2026-W40"}):
        runtime.parameters = params
        assert st.run_name("monthly", "month")() == f"monthly-statistics-{default_period('monthly', now)}"
    runtime.flow_name, runtime.parameters = "weekly-report", {"week": "2026-W40"}
    assert st.run_name("weekly", "week")() == "weekly-report-2026-W40"
    runtime.parameters = {}
    assert st.run_name("weekly", "week")() == f"weekly-report-{default_period('weekly', now)}"
    runtime.flow_name = "analysis-report"
    assert st.run_name("analysis", "month")() == f"analysis-report-{default_period('analysis', now)}"
