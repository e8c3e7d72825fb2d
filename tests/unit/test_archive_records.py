"""The customer archive's pure rules (§2 A1–A3, `models/archive/records.py`): the decision points the mutation
run of session 13 found untested — ID-card and phone checks, a correction's fields, the masking."""

import pytest
from pydantic import ValidationError

from models.archive.records import (CustomerIn, id_card_valid, masked_changes, normalise_phone, phone_valid,
                                    validate_changes)

GOOD_ID = "11010519491231002X"


@pytest.mark.parametrize("value", [GOOD_ID, "11010519491231002x", " 11010519491231002X ", "11010520000229003X",
                                   "320502198503151232", "110105200002290013", "110105200002290021",
                                   "110105200002290048"])
def test_a3_an_id_card_with_a_real_birth_date_and_its_check_character_is_valid(value):
    assert id_card_valid(value)


@pytest.mark.parametrize("value", [
    "110105194912320025",   # 32 December, check character right
    "110105190002290017",   # 29 February of 1900 (not a leap year), check character right
    "11010519491231002",    # 17 characters
    "11010519491231002XX",  # 19 characters
    "1101051949123100AX",   # a letter among the digits
    "110105194912310020", "110105194912310022", "11010520000229003Y",  # wrong check characters
])
def test_a3_an_id_card_without_a_real_birth_date_or_its_check_character_is_invalid(value):
    assert not id_card_valid(value)


def test_a3_phones_are_mobiles_or_landlines_with_or_without_86_spaces_and_brackets():
    assert normalise_phone("+86 (139) 1234 5678") == "13912345678" and normalise_phone("") == normalise_phone(None) == ""
    assert phone_valid("0512-12345678") and phone_valid("(0512) 1234567") and phone_valid("+8613912345678")
    assert not phone_valid("12912345678") and not phone_valid("0512-123") and not phone_valid("")
    assert CustomerIn(name="甲", customer_class="resident").phone == ""


def test_a2_a_correction_validates_only_the_fields_it_changes_and_names_the_others_refused():
    assert validate_changes({"customer_class": "dealer"}) == {"customer_class": "dealer"}
    assert validate_changes({"name": "苏州纺织"}) == {"name": "苏州纺织"}
    with pytest.raises(ValueError) as err:
        validate_changes({"version": 3, "archive_no": "DA-2026-000009", "phone": "13912345678"})
    assert str(err.value).endswith(": archive_no, version")
    with pytest.raises(ValidationError):
        validate_changes({"customer_class": "alien"})
    with pytest.raises(ValueError) as err:
        validate_changes({})
    assert str(err.value) == "没有要更正的字段 / no field changes"


def test_a3_a_correction_shows_phone_and_id_card_masked_before_and_after_and_other_fields_as_they_are():
    changes = {"phone": ["13812345678", "13912345678"], "id_card": [None, GOOD_ID], "name": ["甲", "乙"]}
    assert masked_changes(changes) == {"phone": ["138****5678", "139****5678"], "id_card": ["", "110105********002X"],
                                       "name": ["甲", "乙"]}
    assert masked_changes({}) == {}
