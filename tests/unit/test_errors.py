from pydantic import ValidationError

from models.errors import describe_all
from models.samples import SampleRequestIn


def test_one_message_per_field_in_chinese_with_english_field_name():
    try:
        SampleRequestIn.model_validate({"customer": "", "quantity": -1, "size_class": "x", "bogus": 1})
    except ValidationError as exc:
        out = describe_all(exc.errors())
    by_field = {d["field"]: d["message"] for d in out}
    assert set(by_field) == {"customer", "quantity", "size_class", "bogus", "product", "spec", "reason"}
    assert by_field["quantity"].startswith("quantity：必须大于 0 / quantity:")
    assert "不允许的字段" in by_field["bogus"] and "必填" in by_field["product"]
    assert "必须是以下之一" in by_field["size_class"]
