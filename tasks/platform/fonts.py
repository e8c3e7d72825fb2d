"""The CJK font every drawn document uses (the reports' charts, the PDF copies): the setting `KEFU_CJK_FONT`,
else Noto Sans SC of the `pylopdf-fonts-zh-cn` package — found and checked to draw Chinese, or
`CJKFontMissing` says so (`kefu up` checks it before starting)."""

from __future__ import annotations

from pathlib import Path

from PIL import ImageFont

PROBE = "投诉统计"  # what a CJK font must draw


class CJKFontMissing(RuntimeError):
    """No font that draws Chinese: the charts' labels would be blank."""


def cjk_font_path(configured: Path | None = None) -> Path:
    """The font file for the charts: `configured` (KEFU_CJK_FONT) or Noto Sans SC of the
    pylopdf-fonts-zh-cn package; refused with a clear message unless it exists and draws Chinese."""
    if configured is None:
        try:
            from pylopdf_fonts_zh_cn import sans_path  # lazy: optional; missing → CJKFontMissing
        except ImportError:
            raise CJKFontMissing("图表缺少中文字体：未安装 pylopdf-fonts-zh-cn，且未设置 KEFU_CJK_FONT / "
                                 "no CJK font for the charts: pylopdf-fonts-zh-cn is not installed and "
                                 "KEFU_CJK_FONT is not set") from None
        configured = Path(sans_path())
    try:
        probe = ImageFont.truetype(str(configured), 16)
    except OSError as exc:
        raise CJKFontMissing(f"图表字体无法读取：{configured} / the chart font cannot be read: {configured} "
                             f"({exc})") from None
    if not draws_chinese(probe):
        raise CJKFontMissing(f"图表字体不含中文字形：{configured} / the chart font has no Chinese glyphs: "
                             f"{configured}")
    return configured


def draws_chinese(f: ImageFont.FreeTypeFont) -> bool:
    """A font without the glyphs draws each as the same .notdef box (or nothing)."""
    masks = [f.getmask(ch) for ch in PROBE]
    if any(m.getbbox() is None for m in masks):
        return False
    return len({bytes(m) for m in masks}) == len(PROBE)
