"""The one PDF helper for documents issued in copies — P4's 《取样出门审批单》 (three copies) and C17's
《客户抱怨处理表》 (five): fpdf2 with Noto Sans SC embedded as a subset (so the Chinese shows in any
reader without CJK fonts), and the copy's mark (第n联 …) in the heading and on every page's footer.

    pdf = CopyDocument(title="客户抱怨处理表 KS-2026-0001 第一联", mark="第一联（质量管理部）", ref="KS-2026-0001")
    pdf.heading("客户抱怨处理表")          # the title and, under it, the copy's mark
    pdf.table([("编号", "KS-…"), …], (30, 70))
    pdf.lines(["单号：…", …])
    data = pdf.bytes()

The font is parsed once per process — in the warm process the flow runs fork from, so once in all
(`warm`, deployments/warm_caches.py). fpdf2's `add_font` reads the whole 8 MB OpenType file and builds
its width and glyph maps (≈ 0.3 s of CPU, more on a loaded machine) for every document; here that
parse is kept (`_parsed_font`) and each document gets a light copy of it with its own glyph subset and
its own lazily opened font (fpdf2 subsets that font in place when it writes the file). The bounding
boxes of the subset are not recomputed (the full font's stay: valid for any subset), which halves
the cost of writing the font. The outlines of a glyph set are cut and compiled once (`_cff_cut`), so
the copies of a form after the first cost only their layout (bench/pdf_copies.py, 2026-11-30: 15 copies
2.84 → 1.53 s of CPU). docs/benchmarks.md has the figures."""

from __future__ import annotations

import copy
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from fontTools import subset
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import FontFace, SubsetMap, TTFFont
from fpdf.output import OutputProducer

from models.privacy import mask_text
from tasks.platform.fonts import cjk_font_path

FONT = "NotoSansSC"
PLAIN = FontFace(emphasis="")


@lru_cache(maxsize=2)
def _font_bytes(path: Path) -> bytes:
    return Path(path).read_bytes()


@lru_cache(maxsize=32)
def _subset_bytes(path: Path, glyph_names: frozenset[str]) -> bytes:
    """The font cut down to `glyph_names`, once per process and glyph set (the copies of one document
    share it): fpdf2 then subsets this small font instead of the whole one (fpdf2's options, desubroutinized)."""

    font = TTFont(BytesIO(_font_bytes(path)), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    # desubroutinized: a document's few hundred glyphs carry their own outlines, so fpdf2's subsetting
    # of this font has no subroutines left to trace (a fifth of each copy's time)
    options = subset.Options(notdef_outline=True, recommended_glyphs=True, desubroutinize=True)
    options.drop_tables += ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix", "CBDT", "CBLC",
                            "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR"]
    for tag in options.drop_tables:  # gone before the subsetter opens, which otherwise decompiles the layout
        if tag in font:  # tables (GSUB, GPOS) it is told to drop: a quarter of the cut
            del font[tag]
    subsetter = subset.Subsetter(options)
    subsetter.populate(glyphs=sorted(glyph_names))
    subsetter.subset(font)
    out = BytesIO()
    font.save(out)
    return out.getvalue()


@lru_cache(maxsize=2)
def _parsed_font(path: Path) -> TTFFont:
    """The font as fpdf2 parses it (widths, glyph ids, descriptor), once per process and path."""

    probe = FPDF()
    probe.add_font(FONT, fname=str(path))
    parsed = probe.fonts[FONT.lower()]
    parsed.ttfont.close()  # no file left open: the warm process forks the flow runs after this (fork-safe)
    parsed.ttfont = TTFont(BytesIO(_font_bytes(path)), recalcTimestamp=False, lazy=True)
    return parsed


def warm() -> None:
    """Parse the font before the flow runs are forked (deployments/warm_caches.py): every run inherits it."""
    _parsed_font(_cjk_font_file())


def font_for(pdf: FPDF, path: Path) -> TTFFont:
    """A copy of the parsed font for one document: shared (read-only) maps, its own subset and its own
    font object to subset (fpdf2 prunes it in place on output)."""

    parsed = _parsed_font(path)
    font = copy.copy(parsed)
    font.i = len(pdf.fonts) + 1
    font.ttfont = TTFont(BytesIO(_font_bytes(path)), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    font.subset = SubsetMap(font)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    return font


class TextCopy:
    """The fake of `CopyDocument` (settings `pdf_backend="text"`, the in-process flow tests): the same calls,
    and `bytes()` is the copy's text — heading, mark, each row's cells joined by " | ", every line masked as
    the PDF masks it, and the footer's reference and mark — in UTF-8, not a PDF."""

    def __init__(self, *, title: str, mark: str, ref: str, **_layout: Any) -> None:
        self.title, self.mark, self.ref = title, mark, ref
        self.out: list[str] = []

    def heading(self, title: str, under: str | None = None) -> None:
        self.out += [title, under or self.mark]

    def section(self, title: str) -> None:
        self.out.append(title)

    def table_rows(self, rows: list[tuple[Any, ...]], widths: tuple[int, ...], heading: bool = False,  # noqa: ARG002
                   size: float = 9) -> None:  # noqa: ARG002 - the layout's arguments
        self.out += [" | ".join(mask_text(str(c)) for c in r) for r in rows]

    def lines(self, lines: list[str], size: float = 11) -> None:  # noqa: ARG002 - the layout's argument
        self.out += [mask_text(line) for line in lines]

    def bytes(self) -> bytes:
        return "\n".join([*self.out, f"{self.ref} · {self.mark}"]).encode()


def build_documents(settings: Any) -> type[CopyDocument] | type[TextCopy]:
    """The document class the copies are written with: `CopyDocument` unless settings ask for text."""
    return TextCopy if settings.pdf_backend == "text" else CopyDocument


@lru_cache(maxsize=1)
def _cjk_font_file() -> Path:
    return cjk_font_path()


class CopyDocument(FPDF):
    """A document issued in copies: `mark` (e.g. 第二联（生产部）) under the heading and, with `ref`
    (the case or slip number) and the page number, in every page's footer."""

    def __init__(self, *, title: str, mark: str, ref: str, subject: str = "", page_format: str | tuple = "A4",
                 shared_text: str = "", font_file: Path | None = None) -> None:
        super().__init__(format=page_format)
        self.mark, self.ref, self.shared_text = mark, ref, shared_text
        self.font_path = path = font_file or _cjk_font_file()
        self.fonts[FONT.lower()] = font_for(self, path)
        if self.fonts[FONT.lower()].is_cff and self.fonts[FONT.lower()].is_cid_keyed:
            self._set_min_pdf_version("1.6")
        self.set_title(title)
        self.set_subject(subject or mark)
        self.set_creator("Kefu Flows")
        self.set_auto_page_break(True, margin=16)
        self.add_page()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 6, f"{self.ref} · {self.mark} · 第 {self.page_no()} 页", align="C")

    def heading(self, title: str, under: str | None = None) -> None:
        """The document's title, and under it the copy's mark (or `under`)."""
        self.set_font(FONT, size=16)
        self.cell(0, 10, title, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, size=12)
        self.cell(0, 8, under or self.mark, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def section(self, title: str) -> None:
        self.set_font(FONT, size=11)
        self.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")

    def table_rows(self, rows: list[tuple[Any, ...]], widths: tuple[int, ...], heading: bool = False,
                   size: float = 9) -> None:
        """Rows of text cells in ruled boxes (personal data masked), each wrapped within its column's
        share of the page width (`widths` are proportions); a row never splits across pages, and with
        `heading` the first row is drawn again at the top of each new page.

        Laid out here rather than by fpdf2's `table()`: that lays every cell out twice (a dry run for the
        row's height, then the drawing) with a line breaker that measures the text so far again for each
        character added — for CJK text without spaces, the square of a cell's length. This measures each
        character once (`wrap`) and draws each line with one `cell` (bench/pdf_copies.py, 2026-11-30, two runs:
        a copy of a form after the first 0.08 / 0.12 → 0.04 / 0.03 s of CPU, median)."""

        self.set_font(FONT, size=size)
        line_height, pad = size * 0.61, 0.6
        scale = self.epw / sum(widths)
        cols = [w * scale for w in widths]
        head = None
        for i, r in enumerate(rows):
            cells = [self.wrap(mask_text(str(c)), w - 2 * self.c_margin) for c, w in zip(r, cols, strict=True)]
            height = max(len(lines) for lines in cells) * line_height + 2 * pad
            if self.get_y() + height > self.page_break_trigger and self.get_y() > self.t_margin:
                self.add_page()
                if head is not None:
                    self._row(*head, cols, line_height, pad)
            self._row(cells, height, cols, line_height, pad)
            if heading and i == 0:
                head = (cells, height)
        self.ln(3)

    def _row(self, cells: list[list[str]], height: float, cols: list[float], line_height: float, pad: float) -> None:
        x, y = self.l_margin, self.get_y()
        for lines, width in zip(cells, cols, strict=True):
            self.rect(x, y, width, height)
            for n, line in enumerate(lines):
                self.set_xy(x, y + pad + n * line_height)
                self.cell(width, line_height, line)
            x += width
        self.set_xy(self.l_margin, y + height)

    def wrap(self, text: str, width: float) -> list[str]:
        """`text` in lines no wider than `width` at the current font and size: broken at its newlines, and
        where a line is full, after the last space in it (Latin words stay whole) or else before the
        character that does not fit (Chinese breaks between any two characters)."""

        cw, unit = self.current_font.cw, self.font_size_pt * 0.001 / self.k
        out: list[str] = []
        for para in text.split("\n"):
            line: list[str] = []
            sizes: list[float] = []
            used, space = 0.0, -1
            for ch in para:
                size = cw[ord(ch)] * unit
                if used + size > width and line:
                    if ch == " ":  # the break falls on a space: it goes
                        out.append("".join(line))
                        line, sizes, used, space = [], [], 0.0, -1
                        continue
                    cut = space + 1 if space > 0 else len(line)
                    out.append("".join(line[:cut]).rstrip())
                    line, sizes = line[cut:], sizes[cut:]
                    used, space = sum(sizes), -1
                line.append(ch)
                sizes.append(size)
                used += size
                if ch == " ":
                    space = len(line) - 1
            out.append("".join(line))
        return out

    def lines(self, lines: list[str], size: float = 11) -> None:
        """Plain lines of text, each wrapped to the page width (personal data masked)."""

        self.set_font(FONT, size=size)
        for line in lines:
            self.multi_cell(0, size * 0.6, mask_text(line) or " ", new_x="LMARGIN", new_y="NEXT")

    def bytes(self) -> bytes:
        """The PDF, its font subset cut once per glyph set (`_CachedSubsets`)."""
        return bytes(self.output(output_producer_class=_CachedSubsets))


class _CachedSubsets(OutputProducer):
    """fpdf2's writer, given the font already cut down to the document's glyphs from the per-process
    cache — for the CID-keyed CFF font, with its outlines compiled once too (`_CffCut`). `shared_text`
    (e.g. the marks and units of every copy) joins each copy's glyphs so that all copies of one document
    share one cut: the first copy of a form costs the cut, the other four only their layout."""

    def _add_fonts(self, *args: Any, **kwargs: Any) -> Any:

        doc = self.fpdf
        font = doc.fonts[FONT.lower()]
        for ch in doc.shared_text:
            if ord(ch) in font.cmap:
                font.subset.pick(ord(ch))
        names = frozenset(font.subset.get_all_glyph_names())
        if font.is_cff and font.is_cid_keyed:
            font.ttfont = _CffCut(*_cff_cut(doc.font_path, names))
        else:
            font.ttfont = TTFont(BytesIO(_subset_bytes(doc.font_path, names)), recalcTimestamp=False, recalcBBoxes=False)
        return super()._add_fonts(*args, **kwargs)


@lru_cache(maxsize=32)
def _cff_cut(path: Path, glyph_names: frozenset[str]) -> tuple[bytes, tuple[str, ...], bytes]:
    """The document's font as fpdf2 embeds a CID-keyed CFF font, once per glyph set: (the cut font without
    its outlines, its glyph order, its CFF table compiled)."""

    font = TTFont(BytesIO(_subset_bytes(path, glyph_names)), recalcTimestamp=False, recalcBBoxes=False)
    order = tuple(font.getGlyphOrder())
    cff = font["CFF "].compile(font)
    del font["CFF "]
    rest = BytesIO()
    font.save(rest)
    return rest.getvalue(), order, cff


class _CffCut(TTFont):
    """A cut CID-keyed CFF font for fpdf2 (2.8.9, pinned), which subsets the font it is given, saves it,
    and embeds the saved bytes — or, when the font has a CFF table, that table compiled again
    (`FontFile3`). Here the outlines were cut and compiled once per glyph set (`_cff_cut`: the five copies
    of a form share them): fpdf2 gets the font without its CFF table, so its subsetting trims only the
    metrics, and what it saves and embeds is the compiled table — byte for byte the one fpdf2 compiles
    itself (tests/unit/test_pdf_copies.py draws every embedded glyph against fpdf2's own)."""

    def __init__(self, rest: bytes, order: tuple[str, ...], cff: bytes) -> None:
        super().__init__(BytesIO(rest), recalcTimestamp=False, recalcBBoxes=False)
        self.setGlyphOrder(list(order))
        self._cff = cff

    def save(self, file: Any, reorderTables: bool | None = True) -> None:  # noqa: ARG002, N803 - fontTools' signature
        file.write(self._cff)
