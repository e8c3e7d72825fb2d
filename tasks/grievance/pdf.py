"""The 《客户抱怨处理表》 copies as PDF documents (C17), marked 第一联…第五联.

fpdf2 lays the document out (tables, line wrapping) with Noto Sans SC embedded as a subset (the font of
the `pylopdf-fonts-zh-cn` package the reports' charts use), so the Chinese text shows on any reader
without CJK fonts installed. Personal data is masked as in every document a person reads."""

from __future__ import annotations

from typing import Any

from models.complaint.handling import OUTCOME_LABELS
from models.privacy import mask_text

FONT = "NotoSansSC"


def copy_pdf(case_no: str, mark: str, unit: str, summary: dict[str, Any], decision: dict[str, Any] | None,
             steps: list[tuple[str, str, str, str]]) -> bytes:
    """One copy: the form's fields, the decision (C16 step 9, C18), each step (title, who, decision,
    when), and the copy's mark (第n联) and unit in the heading and the footer of every page."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace
    from pylopdf_fonts_zh_cn import sans_path

    class Copy(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT, size=8)
            self.cell(0, 6, f"{case_no} · {mark}（{unit}） · 第 {self.page_no()} 页", align="C")

    pdf = Copy(format="A4")
    pdf.set_title(f"客户抱怨处理表 {case_no} {mark}")
    pdf.set_subject(f"{mark}（{unit}）")
    pdf.set_creator("Kefu Flows")
    pdf.add_font(FONT, fname=str(sans_path()))
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()
    pdf.set_font(FONT, size=16)
    pdf.cell(0, 10, "客户抱怨处理表", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=12)
    pdf.cell(0, 8, f"编号 {case_no}    {mark}（{unit}）", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    plain = FontFace(emphasis="")

    def table(rows: list[tuple[str, ...]], widths: tuple[int, ...], heading: bool = False) -> None:
        pdf.set_font(FONT, size=9)
        with pdf.table(col_widths=widths, first_row_as_headings=heading, headings_style=plain,
                       line_height=5.5, text_align="LEFT") as t:
            for r in rows:
                row = t.row()
                for c in r:
                    row.cell(mask_text(str(c)))
        pdf.ln(3)

    table([(k, v) for k, v in summary.items()], (30, 70))
    if decision:
        pdf.set_font(FONT, size=11)
        pdf.cell(0, 7, "核决与责任", new_x="LMARGIN", new_y="NEXT")
        fines = "；".join(f"{f['party']} {f['amount']} 元（{f['penalty_type']}）" for f in decision["fines"]) or "无"
        handling = OUTCOME_LABELS.get(decision["handling"], decision["handling"])
        table([("处理方式 / 单价 / 金额（元）", f"{handling} / {decision['unit_price']} / {decision['amount']}"),
               ("责任原因", decision["cause_label"]),
               ("责任单位 / 人员", f"{decision['responsible_units']} / {decision['responsible_persons'] or '—'}"),
               ("改善措施", decision["improvement_measure"] or "—"),
               ("客诉损失金额（元）", f"{decision['loss_total']}（核算基准 {decision['loss_basis_version']}）"),
               ("罚扣", f"{fines}（判定基准 {decision['penalty_basis_version']}）")], (30, 70))
    pdf.set_font(FONT, size=11)
    pdf.cell(0, 7, "各环节", new_x="LMARGIN", new_y="NEXT")
    table([("环节", "处理人", "决定", "时间"), *steps], (44, 26, 14, 16), heading=True)
    return bytes(pdf.output())
