"""Charts for the reports' emails: horizontal bar charts drawn with Pillow in Noto Sans SC (shipped by
the `pylopdf-fonts-zh-cn` package), so Chinese labels render on machines without CJK fonts, and a
chart costs milliseconds (matplotlib took ~100 ms a chart, more than the report's SQL).

A chart without Chinese glyphs would drop every label silently: the font is found (the setting
`KEFU_CJK_FONT`, else the package's) and checked to draw Chinese, or `CJKFontMissing` says so —
at `kefu up` (deployments/cli.py checks it before starting) and when a chart is drawn."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tasks.platform.fonts import CJKFontMissing, cjk_font_path, draws_chinese  # noqa: F401 - the charts' font, re-exported

WIDTH, ROW, LEFT, TOP = 640, 28, 150, 44
COLORS = ((68, 114, 196), (237, 125, 49), (112, 173, 71))
INK, GRID = (31, 35, 40), (140, 140, 140)


@lru_cache(maxsize=8)
def font(size: int, path: Path | None = None) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_file(path)), size)


@lru_cache(maxsize=4)
def _font_file(configured: Path | None) -> Path:
    return cjk_font_path(configured)


def bars(title: str, labels: list[str], series: list[list[float]], names: tuple[str, ...] = (),
         fmt: str = "{:,.0f}", font_file: Path | None = None) -> bytes:
    """One row per label, one bar per series (a legend when several); values at the bar's end. PNG."""
    n = max(1, len(series))
    row = ROW if n == 1 else 12 * n + 10
    legend = 22 if names else 0
    height = TOP + legend + row * max(1, len(labels)) + 16
    im = Image.new("RGB", (WIDTH, height), "white")
    d = ImageDraw.Draw(im)
    d.text((WIDTH // 2, 12), title, font=font(17, font_file), fill=INK, anchor="mt")
    x = LEFT
    for i, name in enumerate(names):
        d.rectangle((x, TOP + 4, x + 12, TOP + 14), fill=COLORS[i % len(COLORS)])
        d.text((x + 16, TOP + 9), name, font=font(12, font_file), fill=INK, anchor="lm")
        x += 26 + int(d.textlength(name, font=font(12, font_file)))
    top = TOP + legend
    vmax = max((v for s in series for v in s), default=0) or 1
    span = WIDTH - LEFT - 80
    bar_h = (row - 10) // n
    for r, label in enumerate(labels):
        y = top + r * row
        d.text((LEFT - 8, y + row // 2), label, font=font(13, font_file), fill=INK, anchor="rm")
        for i, s in enumerate(series):
            v = s[r]
            w = int(span * v / vmax)
            y0 = y + 5 + i * bar_h
            d.rectangle((LEFT, y0, LEFT + max(w, 1), y0 + bar_h - 2), fill=COLORS[i % len(COLORS)])
            d.text((LEFT + w + 6, y0 + bar_h // 2), fmt.format(v), font=font(11, font_file), fill=INK, anchor="lm")
    d.line((LEFT, top - 2, LEFT, top + row * len(labels)), fill=GRID)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()
