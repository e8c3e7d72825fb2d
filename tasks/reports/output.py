"""The reports' outputs (S4), rendered from their figures: the tables (one sheet each in the Excel
workbook, HTML tables in the email, Prefect table artifacts), the charts (PNG, inline in the email),
the HTML and `figures.json`. The case lists are streamed from the database, so memory does not grow
with the number of cases.
The charts are drawn by `tasks.reports.charts` (Pillow, Noto Sans SC)."""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

import xlsxwriter

from models.complaint.handling import LEVEL_LABELS, OUTCOME_LABELS
from models.statistics import REPORT_TITLES, percent
from tasks.platform.render import render
from tasks.reports.charts import bars as draw

PREVIEW_ROWS = 20


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    type: str = "text"  # text | int | money | rate | datetime
    width: int = 14


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: Callable[[], Iterable[dict[str, Any]]]  # a fresh iterator each call (streamed lists)
    note: str = ""
    streamed: bool = False


def _cols(*spec: tuple) -> list[Column]:
    return [Column(*s) for s in spec]


_SHARE = (("label", "分类", "text", 22), ("count", "件数", "int", 10), ("share", "比率", "rate", 10))


def _static(rows: list[dict]) -> Callable[[], list[dict]]:
    return lambda: rows


def monthly_tables(f: dict[str, Any], overdue: Callable[[], Iterator[dict]]) -> list[Table]:
    pen_rows = [{"handler": h["handler"], "name": h["name"], **r} for h in f["penalties"]["by_handler"]
                for r in h["rules"]]
    summary = [
        {"item": "结案件数（含不成立、升级）", "value": f["total_closed"]},
        {"item": "升级至下一级别", "value": f["escalations"]["escalated"]},
        {"item": "提交总经理例会", "value": f["escalations"]["gm_meeting"]},
        {"item": "应回访 / 已回访（件）", "value": f"{f['return_visits']['due']} / {f['return_visits']['visited']}"},
        {"item": "回访率（应为100%）", "value": percent(f["return_visits"]["rate"])},
        {"item": "逾期结案（治办单）", "value": f["overdue"]["closed_late"]},
        {"item": "月末仍逾期未结（催办单）", "value": f["overdue"]["open_overdue"]},
        {"item": "负激励（件）", "value": f["penalties"]["count"]},
        {"item": "负激励金额（元）", "value": f["penalties"]["amount"]},
        {"item": "客诉损失金额（元）", "value": f["losses"]["total"]},
        {"item": "新客户认定（家）", "value": sum(r["count"] for r in f["new_customers"])},
        *grievance_summary(f.get("grievances")),
    ]
    returns = [{**r, "approved_quantity": r.get("approved_quantity"), "received_quantity": r.get("received_quantity"),
                "quantity_variance": r.get("quantity_variance")} for r in f["returns"]]
    handling = [{**r, "label": OUTCOME_LABELS.get(r["handling"], r["handling"] or "未填写")}
                for r in f["losses"]["by_handling"]]
    return [
        Table("summary", "概况", _cols(("item", "项目", "text", 30), ("value", "数值", "text", 16)), _static(summary)),
        Table("by_level", "按级别", _cols(*_SHARE), _static(f["by_level"])),
        Table("by_kind", "按类型", _cols(*_SHARE), _static(f["by_kind"])),
        Table("by_category", "按类别", _cols(*_SHARE), _static(f["by_category"])),
        Table("by_channel", "按渠道", _cols(*_SHARE), _static(f["by_channel"])),
        Table("by_department", "按责任部门", _cols(*_SHARE), _static(f["by_department"])),
        Table("by_fault", "责任归属", _cols(*_SHARE), _static(f["by_fault"])),
        Table("by_state", "结案方式", _cols(*_SHARE), _static(f["by_state"])),
        Table("on_time", "及时率", _cols(("label", "时限", "text", 26), ("due", "应办件数", "int", 10),
                                      ("on_time", "按时件数", "int", 10), ("rate", "及时率", "rate", 10)),
              _static(f["on_time"])),
        Table("escalations", "升级", _cols(("label", "原级别", "text", 22), ("count", "升级件数", "int", 10)),
              _static(f["escalations"]["from_level"])),
        Table("satisfaction", "满意度", _cols(*_SHARE), _static(f["satisfaction"])),
        overdue_table(overdue),
        Table("penalties", "负激励", _cols(("name", "受理人", "text", 10), ("handler", "邮箱", "text", 28),
                                        ("label", "违规事项", "text", 34), ("count", "件数", "int", 8),
                                        ("amount", "金额（元）", "money", 12)), _static(pen_rows)),
        Table("losses", "损失金额", _cols(("department", "责任部门", "text", 14), ("cases", "件数", "int", 8),
                                       ("amount", "金额（元）", "money", 14)), _static(f["losses"]["by_department"])),
        Table("losses_by_handling", "损失-处理方式", _cols(("label", "处理方式", "text", 14), ("cases", "件数", "int", 8),
                                                    ("amount", "金额（元）", "money", 14)), _static(handling)),
        Table("returns", "折让与退货", _cols(("label", "类别", "text", 12), ("count", "件数", "int", 8),
                                          ("amount", "金额（元）", "money", 14), ("approved_quantity", "核定量", "int", 10),
                                          ("received_quantity", "实退量", "int", 10),
                                          ("quantity_variance", "差异", "int", 8)), _static(returns)),
        Table("new_customers", "新客户认定", _cols(("name", "业务员", "text", 10), ("salesperson", "邮箱", "text", 28),
                                            ("count", "认定家数", "int", 10)), _static(f["new_customers"])),
        *grievance_tables(f.get("grievances")),
    ]


def grievance_summary(g: dict[str, Any] | None) -> list[dict[str, Any]]:
    """§7: the product complaints' lines of the summary (a report computed before them has none)."""
    if not g:
        return []
    return [{"item": "客户抱怨（产品质量）结案件数", "value": g["total"]},
            {"item": "客户抱怨：我方责任（件）", "value": g["our_fault"]},
            {"item": "客户抱怨损失金额（元）", "value": g["loss_total"]},
            {"item": "客户抱怨罚扣（笔 / 元）", "value": f"{g['fines']} / {g['fines_amount']}"},
            {"item": "供应商索赔追回（元）", "value": g["supplier_recovered"]}]


def grievance_tables(g: dict[str, Any] | None) -> list[Table]:
    if not g:
        return []
    return [
        Table("grievance_causes", "客户抱怨-责任原因", _cols(("label", "责任原因", "text", 22), ("count", "件数", "int", 8)),
              _static(g["by_cause"])),
        Table("grievance_shares", "客户抱怨-责任比率", _cols(
            ("unit", "责任单位", "text", 16), ("cases", "件数", "int", 8), ("share_total", "比率合计（%）", "money", 14),
            ("confirmed", "已确认", "int", 8), ("unconfirmed", "未确认", "int", 8), ("status", "状态", "text", 10)),
              _static(g["shares"])),
        Table("grievance_corrections", "客户抱怨-更正", _cols(
            ("case_no", "编号", "text", 16), ("of_month", "所属月份", "text", 10), ("unit", "责任单位", "text", 16),
            ("share_from", "原比率（%）", "text", 12), ("share_to", "更正为（%）", "text", 12), ("source", "依据", "text", 24)),
              _static(g.get("corrections") or []), note="已发出月份的报表不变，更正列于变更当月（C19，S4）"),
    ]


def weekly_tables(f: dict[str, Any], overdue: Callable[[], Iterator[dict]]) -> list[Table]:
    rows = [{"label": LEVEL_LABELS[lv], **{k: next(x["count"] for x in f[k]["by_level"] if x["level"] == lv)
                                           for k in ("new", "closed", "open", "overdue")}} for lv in LEVEL_LABELS]
    rows.append({"label": "合计", **{k: f[k]["total"] for k in ("new", "closed", "open", "overdue")}})
    return [
        Table("week", "本周概况", _cols(("label", "级别", "text", 22), ("new", "新增", "int", 8),
                                     ("closed", "结案", "int", 8), ("open", "周末未结", "int", 10),
                                     ("overdue", "周末逾期", "int", 10)), _static(rows),
              note=f"本周逾期结案 {f['closed_late']} 件"),
        Table("by_category_new", "新增按类别", _cols(*_SHARE), _static(f["by_category_new"])),
        overdue_table(overdue),
    ]


def overdue_table(overdue: Callable[[], Iterator[dict]]) -> Table:
    """C8: the overdue cases with their 《催办单》 / 《治办单》 (streamed)."""
    return Table("overdue_cases", "逾期案件", _cols(
        ("case_no", "投诉编号", "text", 16), ("status", "状态", "text", 14), ("level", "级别", "int", 6),
        ("category", "类别", "text", 10), ("handler", "受理人", "text", 10), ("department", "责任部门", "text", 12),
        ("close_due", "结案期限", "datetime", 17), ("closed_at", "结案时间", "datetime", 17),
        ("urge_notice_at", "催办单", "datetime", 17), ("inquiry_notice_at", "治办单", "datetime", 17)),
        overdue, streamed=True)


def analysis_tables(f: dict[str, Any], typical: Callable[[], Iterator[dict]]) -> list[Table]:
    trend_cols = _cols(("month", "月份", "text", 10), ("received", "受理", "int", 8), ("closed", "结案", "int", 8),
                       ("on_time_close_rate", "按期结案率", "rate", 12), ("satisfaction_avg", "平均满意度(1优-5差)", "text", 18),
                       ("loss_total", "损失金额（元）", "money", 16), ("level3", "三级投诉", "int", 10),
                       ("our_fault", "我方责任", "int", 10))
    cat_cols = _cols(("month", "月份", "text", 10), *[(c, c, "int", 10) for c in f["categories"]])
    typical_cols = _cols(("case_no", "投诉编号", "text", 16), ("title", "标题", "text", 34), ("level", "级别", "int", 6),
                         ("category", "类别", "text", 10), ("department", "责任部门", "text", 12),
                         ("handling", "处理方式", "text", 12), ("loss_amount", "损失（元）", "money", 12),
                         ("satisfaction", "满意度", "int", 8), ("state", "结果", "text", 12))
    return [Table("trend", "月度趋势", trend_cols, _static(f["trend"])),
            Table("by_category_month", "类别趋势", cat_cols, _static(f["by_category_month"])),
            Table("typical_cases", "典型案例", typical_cols, typical, streamed=True)]


# ---- cell values ---------------------------------------------------------------------------
def cell(value: Any, kind: str) -> Any:
    """A figure as the workbook cell: numbers as numbers, times as (naive, Asia/Shanghai) datetimes."""
    if value is None or value == "":
        return None
    if kind == "int":
        return int(value)
    if kind in ("money", "rate"):
        return float(Decimal(str(value)))
    if kind == "datetime":
        return datetime.fromisoformat(value).replace(tzinfo=None)
    return str(value)


def display(value: Any, kind: str) -> str:
    """A figure as people read it in the email and the artifacts."""
    if value is None or value == "":
        return "—"
    if kind == "rate":
        return percent(value)
    if kind == "money":
        return f"{Decimal(str(value)):,.2f}"
    if kind == "datetime":
        return str(value)[:16].replace("T", " ")
    return str(value)


_FORMATS = {"int": "0", "money": "#,##0.00", "rate": "0.00%", "datetime": "yyyy-mm-dd hh:mm"}


def workbook_bytes(title: str, key: str, columns: Iterable[tuple[str, str, int]], rows: list[dict[str, Any]]) -> bytes:
    """One table (columns: header — also the row key —, type, width) as an Excel workbook, in memory."""

    table = Table(key=key, title=title, columns=[Column(k, k, t, w) for k, t, w in columns], rows=lambda: iter(rows))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{key}.xlsx"
        write_workbook(path, title, [table])
        return path.read_bytes()


def write_workbook(path: Path, title: str, tables: list[Table],
                   tap: Callable[[Table, dict[str, Any]], None] | None = None) -> None:
    """One sheet per table, typed cells, column widths. XlsxWriter in constant-memory mode: each row
    goes to disk as it is written, strings inline, so memory does not grow with the rows.
    `tap` sees every row of the streamed tables as it is written (one pass over each cursor)."""

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"title": title})
    head = wb.add_format({"bold": True, "bg_color": "#DDE5F0", "align": "center", "border": 1})
    fmts = {k: wb.add_format({"num_format": v}) for k, v in _FORMATS.items()}
    try:
        for t in tables:
            ws = wb.add_worksheet(t.title[:31])
            for i, c in enumerate(t.columns):
                ws.set_column(i, i, c.width)
            ws.freeze_panes(1, 0)
            for i, c in enumerate(t.columns):
                ws.write_string(0, i, c.header, head)
            for r, row in enumerate(t.rows(), start=1):
                for i, c in enumerate(t.columns):
                    value = cell(row.get(c.key), c.type)
                    if value is None:
                        continue
                    if c.type == "datetime":
                        ws.write_datetime(r, i, value, fmts["datetime"])
                    elif c.type in fmts:
                        ws.write_number(r, i, value, fmts[c.type])
                    else:
                        ws.write_string(r, i, value)
                if tap and t.streamed:
                    tap(t, row)
    finally:
        wb.close()


def json_row(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, sort_keys=True)


def write_figures(path: Path, figures: dict[str, Any], lists: dict[str, Iterable[str]]) -> None:
    """`figures.json`: every figure, keys sorted, then the case lists, one JSON row a line (streamed
    from `lists`: name → rows already serialised by `json_row`) — the same data gives the same bytes."""
    head = json.dumps(figures, ensure_ascii=False, sort_keys=True, indent=1)
    assert head.endswith("}") and not set(lists) & set(figures)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(head[:-1].rstrip())
        for name in sorted(lists):
            fh.write(f',\n "{name}": [')
            for i, line in enumerate(lists[name]):
                fh.write(("," if i else "") + "\n  " + line.rstrip("\n"))
            fh.write("\n ]")
        fh.write("\n}\n")


# ---- charts ------------------------------------------------------------------------------
def _rates(rows: list[dict], key: str) -> list[float]:
    return [float(Decimal(r[key] or 0) * 100) for r in rows]


def charts(kind: str, f: dict[str, Any], font_file: Path | None = None) -> dict[str, tuple[str, bytes]]:
    """cid → (caption, PNG); `font_file`: the setting KEFU_CJK_FONT (tasks/reports/charts.py)."""
    bars = partial(draw, font_file=font_file)

    if kind == "monthly":
        return {
            "chart-category": ("按类别", bars("投诉类别分布（件）", [r["label"] for r in f["by_category"]],
                                            [[r["count"] for r in f["by_category"]]])),
            "chart-on-time": ("及时率", bars("各时限及时率（%）", [r["label"].split("（")[0] for r in f["on_time"]],
                                          [_rates(f["on_time"], "rate")], fmt="{:.1f}%")),
            "chart-satisfaction": ("满意度", bars("满意度分布（件）", [r["label"] for r in f["satisfaction"]],
                                               [[r["count"] for r in f["satisfaction"]]])),
        }
    if kind == "weekly":
        keys = (("new", "新增"), ("closed", "结案"), ("open", "周末未结"), ("overdue", "周末逾期"))
        return {"chart-week": ("本周概况", bars(f"{f['period']} 投诉情况（件）", [v for _k, v in keys],
                                              [[f[k]["total"] for k, _v in keys]]))}
    months = [t["month"] for t in f["trend"]]
    return {"chart-trend": ("趋势", bars("近六个月受理与结案（件）", months,
                                        [[t["received"] for t in f["trend"]], [t["closed"] for t in f["trend"]]],
                                        names=("受理", "结案"))),
            "chart-on-time": ("按期结案率", bars("按期结案率（%）", months, [_rates(f["trend"], "on_time_close_rate")],
                                            fmt="{:.1f}%"))}


# ---- HTML ----------------------------------------------------------------------------------
@dataclass
class RenderedReport:
    kind: str
    period: str
    title: str
    figures: dict[str, Any]
    charts: dict[str, tuple[str, bytes]]
    previews: list[dict[str, Any]] = field(default_factory=list)


def previews(tables: list[Table], streamed: dict[str, list[dict]] | None = None) -> list[dict[str, Any]]:
    """The tables as people read them; the streamed lists cut to their first rows (`streamed`: the
    rows seen while writing the workbook, at most PREVIEW_ROWS + 1)."""
    out = []
    for t in tables:
        if t.streamed:
            rows = (streamed or {}).get(t.key)
            rows = list(islice(t.rows(), PREVIEW_ROWS + 1)) if rows is None else rows
        else:
            rows = list(t.rows())
        more = t.streamed and len(rows) > PREVIEW_ROWS
        out.append({"key": t.key, "title": t.title, "note": t.note,
                    "headers": [c.header for c in t.columns],
                    "rows": [[display(r.get(c.key), c.type) for c in t.columns] for r in rows[:PREVIEW_ROWS]],
                    "more": more})
    return out


def render_html(report: RenderedReport, *, inline: bool) -> str:
    """The report's HTML: images by `cid:` for the email (inline=True), as data URIs for a file."""
    images = [{"caption": cap, "src": f"cid:{cid}" if inline else
               "data:image/png;base64," + base64.b64encode(png).decode()} for cid, (cap, png) in report.charts.items()]
    return render(f"reports/{report.kind}.html.j2", title=REPORT_TITLES[report.kind], period=report.period,
                  f=report.figures, tables=report.previews, images=images, percent=percent,
                  yuan=lambda v: display(v, "money"))
