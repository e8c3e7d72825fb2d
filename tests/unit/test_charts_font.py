"""Issue 22: the charts' CJK font is found, or a clear refusal — never blank labels."""

import io

import pytest
import typer
from PIL import Image, ImageFont

from deployments.cli import _check_start
from models.settings import Settings
from tasks.reports.charts import CJKFontMissing, bars, cjk_font_path, draws_chinese


def test_the_shipped_font_draws_chinese():
    path = cjk_font_path()
    assert path.name == "NotoSansSC-Regular.otf"
    assert draws_chinese(ImageFont.truetype(str(path), 16))


def test_a_font_without_chinese_glyphs_is_refused(tmp_path):
    latin = ImageFont.load_default(16)  # Pillow's own font (Aileron): Latin only
    assert not draws_chinese(latin)
    font_file = tmp_path / "latin.ttf"
    font_file.write_bytes(latin.path.getvalue())
    with pytest.raises(CJKFontMissing, match="不含中文字形.*has no Chinese glyphs"):
        cjk_font_path(font_file)


def test_a_missing_or_unreadable_font_is_refused(tmp_path):
    with pytest.raises(CJKFontMissing, match="无法读取.*cannot be read"):
        cjk_font_path(tmp_path / "nowhere.otf")
    (tmp_path / "junk.ttf").write_bytes(b"not a font")
    with pytest.raises(CJKFontMissing, match="cannot be read"):
        cjk_font_path(tmp_path / "junk.ttf")


def test_kefu_up_refuses_to_start_without_a_cjk_font(tmp_path, capsys):
    settings = Settings(home=tmp_path, cjk_font=tmp_path / "nowhere.otf")
    with pytest.raises(typer.Exit):
        _check_start(settings)
    err = capsys.readouterr().err
    assert "启动失败 / cannot start" in err and "the chart font cannot be read" in err


def test_a_chart_draws_its_chinese_labels_with_the_configured_font():
    font_file = cjk_font_path()
    png = bars("投诉类别分布（件）", ["维修服务", "服务行为"], [[3, 5]], font_file=font_file)
    image = Image.open(io.BytesIO(png)).convert("L")
    label_area = image.crop((0, 44, 140, image.height))  # the labels, left of the bars
    assert label_area.getextrema()[0] < 128  # ink: the labels were drawn
