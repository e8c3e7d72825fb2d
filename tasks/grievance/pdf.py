"""The 《客户抱怨处理表》 copies as PDF documents (C17), marked 第一联…第五联, drawn with the shared
copy-document helper (tasks/platform/pdf.py: fpdf2, Noto Sans SC embedded as a subset, parsed once per process,
the copy's mark in the heading and every page's footer). Personal data is masked as in every document
a person reads."""

from __future__ import annotations

from typing import Any

from models.complaint.handling import OUTCOME_LABELS
from models.grievance import COPIES
from tasks.platform.pdf import CopyDocument


def copy_pdf(case_no: str, mark: str, unit: str, summary: dict[str, Any], decision: dict[str, Any] | None,
             steps: list[tuple[str, str, str, str]], document: type = CopyDocument) -> bytes:
    """One copy: the form's fields, the decision (C16 step 9, C18), each step (title, who, decision,
    when), and the copy's mark (第n联) and unit in the heading and the footer of every page; written with
    `document` (the services' `documents`: a PDF, or its text in the flow tests)."""

    pdf = document(title=f"客户抱怨处理表 {case_no} {mark}", mark=f"{mark}（{unit}）", ref=case_no,
                   shared_text="".join(c.mark + c.unit for c in COPIES))  # the five copies: one font subset
    pdf.heading("客户抱怨处理表", f"编号 {case_no}    {mark}（{unit}）")
    pdf.table_rows([(k, v) for k, v in summary.items()], (30, 70))
    if decision:
        pdf.section("核决与责任")
        fines = "；".join(f"{f['party']} {f['amount']} 元（{f['penalty_type']}）" for f in decision["fines"]) or "无"
        handling = OUTCOME_LABELS.get(decision["handling"], decision["handling"])
        pdf.table_rows([("处理方式 / 单价 / 金额（元）", f"{handling} / {decision['unit_price']} / {decision['amount']}"),
                        ("责任原因", decision["cause_label"]),
                        ("责任单位 / 人员", f"{decision['responsible_units']} / {decision['responsible_persons'] or '—'}"),
                        ("改善措施", decision["improvement_measure"] or "—"),
                        ("客诉损失金额（元）", f"{decision['loss_total']}（核算基准 {decision['loss_basis_version']}）"),
                        ("罚扣", f"{fines}（判定基准 {decision['penalty_basis_version']}）")], (30, 70))
    pdf.section("各环节")
    pdf.table_rows([("环节", "处理人", "决定", "时间"), *steps], (44, 26, 14, 16), heading=True)
    return pdf.bytes()
