"""tasks/platform/pdf.py: the one PDF helper of the documents issued in copies (C17's grievance form, P4's slip):
fpdf2 with the CJK font embedded, the copy's mark on every page, the font parsed once per process and
its subset cut once for all copies of a document."""

import io
from typing import Any

from pypdf import PdfReader

from tasks.platform import pdf as helper


def text_of(data: bytes) -> list[str]:
    return ["".join(p.extract_text().replace("\x00", "").split()) for p in PdfReader(io.BytesIO(data)).pages]


def test_a_copy_marks_every_page_and_embeds_the_cjk_font():
    doc = helper.CopyDocument(title="测试单 第二联", mark="第二联（生产部）", ref="KS-2026-0001")
    doc.heading("测试单")
    doc.lines([f"第 {i} 行：条干不匀，布面云斑" for i in range(120)])  # several pages
    data = doc.bytes()
    pages = text_of(data)
    assert len(pages) > 1 and all("KS-2026-0001·第二联（生产部）·第" in p for p in pages)
    reader = PdfReader(io.BytesIO(data))
    fonts = {f["/BaseFont"] for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert any("NotoSansSC" in str(f) for f in fonts)
    assert sum(1 for size in embedded_cff(reader).values() if size > 10) > 20  # the glyphs drawn, with outlines


def embedded_charstrings(reader: PdfReader) -> Any:
    """The charstrings of the CFF font a PDF embeds, read back with fontTools."""
    from fontTools.cffLib import CFFFontSet

    (font,) = reader.pages[0]["/Resources"]["/Font"].values()
    descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
    cff = CFFFontSet()
    cff.decompile(io.BytesIO(descriptor["/FontFile3"].get_object().get_data()), None)
    return cff[cff.fontNames[0]].CharStrings


def embedded_cff(reader: PdfReader) -> dict[str, int]:
    """The glyphs (name: outline length) of the CFF font a PDF embeds."""
    charstrings = embedded_charstrings(reader)
    return {name: len(charstrings[name].bytecode or b"") for name in charstrings.keys()}


def drawings(reader: PdfReader) -> dict[str, list]:
    from fontTools.pens.recordingPen import RecordingPen

    charstrings, out = embedded_charstrings(reader), {}
    for name in charstrings.keys():
        pen = RecordingPen()
        charstrings[name].draw(pen)
        out[name] = pen.value
    return out


def test_the_outlines_cut_once_per_glyph_set_are_drawn_as_fpdf2_embeds_them_itself():
    from fpdf import FPDF

    text = "客户抱怨处理表 KS-2026-0001 第一联（质量管理部）条干不匀，布面云斑 2026-11-30 17:48 · 第 1 页"
    ours = helper.CopyDocument(title="t", mark="第一联（质量管理部）", ref="KS-2026-0001")
    ours.lines([text])
    plain = FPDF()  # fpdf2 alone: the whole font added, subset and compiled by fpdf2 itself
    plain.add_font(helper.FONT, fname=str(helper._cjk_font_file()))
    plain.add_page()
    plain.set_font(helper.FONT, size=11)
    plain.multi_cell(0, 6, text)
    mine, theirs = (drawings(PdfReader(io.BytesIO(bytes(d)))) for d in (ours.bytes(), plain.output()))
    assert len(theirs) > 30 and set(theirs) <= set(mine)
    assert {name: mine[name] for name in theirs} == theirs


def test_the_font_is_parsed_once_and_the_copies_of_one_document_share_one_subset():
    from models.grievance import COPIES
    from tasks.grievance.pdf import copy_pdf

    copy_pdf("KS-2026-0009", "第一联", "质量管理部", {"客户": "甲公司"}, None, [])  # the process's first copy
    parsed, subsets, cuts = helper._parsed_font.cache_info(), helper._subset_bytes.cache_info(), helper._cff_cut.cache_info()
    for c in COPIES:
        data = copy_pdf("KS-2026-0010", c.mark, c.unit, {"客户": "乙公司", "异常情况": "色差"}, None, [])
        assert f"{c.mark}（{c.unit}）" in text_of(data)[0]
    assert helper._parsed_font.cache_info().misses == parsed.misses  # never parsed again
    assert helper._subset_bytes.cache_info().misses == subsets.misses + 1  # the font cut once for the five
    after = helper._cff_cut.cache_info()  # and its outlines compiled once
    assert after.misses == cuts.misses + 1 and after.hits == cuts.hits + len(COPIES) - 1


def test_the_sample_slip_copies_are_made_by_the_same_helper_with_their_text():
    from tasks.samples.steps import slip_pdf

    data = slip_pdf("YP-2026-0001", 3, "华锦纺织 取样出门审批单\n第三联 出门证（门卫凭此放行）\n单号：YP-2026-0001\n"
                                       "出门证编码（一次有效）：AB2CD3EF")
    (page,) = text_of(data)
    assert "取样出门审批单" in page and "出门证编码（一次有效）：AB2CD3EF" in page
    assert "YP-2026-0001·第三联出门证·第1页" in page  # the copy mark in the footer


def test_a_tables_cells_wrap_within_their_column_and_its_heading_starts_every_page():
    doc = helper.CopyDocument(title="测试单 第一联", mark="第一联（质量管理部）", ref="KS-2026-0001")
    doc.set_font(helper.FONT, size=9)
    text = "条干不匀，布面云斑，" * 5 + "see the attached photographs of batch 7\n第二段"
    lines = doc.wrap(text, 40)
    assert len(lines) > 3 and all(doc.get_string_width(line) <= 40 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace("\n", "").replace(" ", "")  # nothing lost or added
    assert lines[-1] == "第二段"  # a newline breaks
    assert all(any(word in line.split() for line in lines) for word in "the attached photographs of batch 7".split())
    doc.table_rows([("环节", "处理人"), *[(f"第{i}步 {text}", "xie.ning@huajin.example") for i in range(25)]], (50, 50),
                   heading=True)
    pages = text_of(doc.bytes())
    assert len(pages) > 2 and all(p.count("环节处理人") == 1 for p in pages)
    assert all(f"第{i}步" in "".join(pages) for i in range(25))


def test_the_text_copy_takes_the_same_calls_and_reads_as_the_copy_masked():
    """The flow tests' fake (`pdf_backend="text"`): what the copy says, line by line, personal data masked as
    the PDF masks it; the settings choose it, the PDF by default."""
    from tasks.grievance.pdf import copy_pdf
    from tasks.samples.steps import slip_pdf

    data = copy_pdf("KS-2026-0010", "第二联", "生产部", {"客户": "乙公司", "联系电话": "13812345678"},
                    None, [("质量确认", "feng.tao@huajin.example", "approve", "2026-11-25 10:00")],
                    document=helper.TextCopy)
    assert data.decode().splitlines() == [
        "客户抱怨处理表", "编号 KS-2026-0010    第二联（生产部）", "客户 | 乙公司", "联系电话 | 138****5678", "各环节",
        "环节 | 处理人 | 决定 | 时间", "质量确认 | feng.tao@huajin.example | approve | 2026-11-25 10:00",
        "KS-2026-0010 · 第二联（生产部）"]
    slip = slip_pdf("YP-2026-0001", 3, "取样出门审批单\n第三联 出门证\n\n身份证 110101199003071234\n",
                    document=helper.TextCopy)
    assert slip.decode().splitlines() == ["取样出门审批单", "第三联 出门证", "身份证 110101********1234",
                                          "YP-2026-0001 · 第三联 出门证"]

    class Chosen:
        pdf_backend: str | None = None

    assert helper.build_documents(Chosen()) is helper.CopyDocument
    Chosen.pdf_backend = "fpdf"
    assert helper.build_documents(Chosen()) is helper.CopyDocument
    Chosen.pdf_backend = "text"
    assert helper.build_documents(Chosen()) is helper.TextCopy
