from models.privacy import find_unmasked, mask_data, mask_id_card, mask_phone, mask_text


def test_mask_phone_keeps_prefix_and_last_four():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "138****5678"
    assert mask_phone("") == ""


def test_mask_id_card():
    assert mask_id_card("110101199003071234") == "110101********1234"
    assert mask_id_card("11010119900307123X") == "110101********123X"


def test_mask_text_finds_numbers_in_free_text():
    out = mask_text("客户电话13812345678，身份证110101199003071234，座机021-58881234")
    assert "13812345678" not in out and "110101199003071234" not in out and "58881234" not in out
    assert "138****5678" in out and "110101********1234" in out
    assert find_unmasked(out) == []


def test_mask_data_masks_by_key_and_by_content():
    data = {"complainant": {"name": "王芳", "phone": "13912345678"}, "id_card": "110101199003071234",
            "notes": ["call 13700001111"], "amount": 12}
    out = mask_data(data)
    assert out["complainant"]["phone"] == "139****5678"
    assert out["id_card"] == "110101********1234"
    assert out["notes"] == ["call 137****1111"]
    assert out["amount"] == 12 and out["complainant"]["name"] == "王芳"


def test_find_unmasked_detects_full_numbers():
    assert find_unmasked("tel 13812345678") == ["13812345678"]
    assert find_unmasked("id 110101199003071234") == ["110101199003071234"]


def test_links_and_csrf_fields_are_never_mangled():
    token = "WzEsImEiXQ.x13812345678y"
    data = {"url": f"http://h/t/{token}?choice=approve", "csrf": "ab13812345678cd", "token": token,
            "choices": [{"label": "批准", "url": f"http://h/t/{token}"}], "note": "tel 13812345678"}
    out = mask_data(data)
    assert out["url"] == data["url"] and out["csrf"] == data["csrf"] and out["token"] == token
    assert out["choices"][0]["url"] == data["choices"][0]["url"]
    assert out["note"] == "tel 138****5678"


# ---- decision points the mutation run of `models/privacy.py` found untested (session 13) ------------------
def test_a_phone_number_always_hides_a_digit_and_keeps_at_most_its_first_3_and_last_4():
    assert mask_phone("0512-12345678") == "051*****5678"  # 12 digits: 5 hidden
    assert mask_phone("+86 0512 1234567") == "051****4567"
    assert mask_phone("86-1234567") == "861**4567"  # 9 digits starting 86: not a country code
    assert mask_phone("58881234") == "588*1234"
    assert mask_phone("5888123") == "*******"  # 7 digits: nothing shown (3 + 4 would show it whole)
    assert mask_phone("123") == "***" and mask_phone(None) == ""


def test_an_id_card_number_always_hides_its_middle_and_a_short_one_whole():
    assert mask_id_card("110101900307123") == "110101*****7123"  # the old 15-digit number
    assert mask_id_card(" 11010119900307123X ") == "110101********123X"
    assert mask_id_card("12345678901") == "123456*8901"
    for short in ("1234", "12345678", "123456789", "1234567890"):  # never shown whole
        assert mask_id_card(short) == "*" * len(short)
    assert mask_id_card("") == "" and mask_id_card(None) == ""


def test_mask_text_masks_old_15_digit_id_numbers_and_landlines_keeping_the_area_code():
    assert mask_text("旧证110101900307123，座机021-58881234、0512 1234567") == \
        "旧证110101*****7123，座机021-****1234、0512-****4567"
    assert mask_text("") == "" and mask_text(None) is None


def test_mask_data_masks_by_key_what_the_text_scan_would_not_recognise():
    data = {"Phone": "12345678901", "mobile": "12345678901", "tel": "12345678901", "fax": "12345678901",
            "home_phone": "12345678901", "id_card": "AB1234567890", "IDCard": "AB1234567890", "id_no": "AB1234567890",
            "id_number": "AB1234567890", "spouse_id_card": "AB1234567890", "name": "12345678901", "phone_count": 2}
    masked_phone, masked_id = "123****8901", "AB1234**7890"
    assert mask_data(data) == {"Phone": masked_phone, "mobile": masked_phone, "tel": masked_phone, "fax": masked_phone,
                               "home_phone": masked_phone, "id_card": masked_id, "IDCard": masked_id,
                               "id_no": masked_id, "id_number": masked_id, "spouse_id_card": masked_id,
                               "name": "12345678901", "phone_count": 2}


def test_an_email_keeps_its_first_letter_and_its_domain():
    from models.privacy import mask_email

    assert mask_email("wang.fang@example.com") == "w***@example.com"
    assert mask_email("a@b@example.com") == "a***@example.com"
    assert mask_email("wangfang") == "********" and mask_email("") == "" and mask_email(None) == ""


def test_a_machine_identifier_is_never_read_as_a_phone_or_id_number():
    """Found by CI (stop 31): a flow run's id `0d2c52c9-c798-41bf-875b-13827188173f` came back from
    GET /api/cases/{no} as `…-138****8173f` — its last group holds a run of 11 digits that looks like
    a mobile number. A UUID is a machine identifier, never personal data: it is left whole, and a
    number beside it is still masked."""
    run_id = "0d2c52c9-c798-41bf-875b-13827188173f"
    assert mask_text(run_id) == run_id
    assert mask_data({"flow_run_id": run_id, "runs": [run_id]}) == {"flow_run_id": run_id, "runs": [run_id]}
    ids = ["00000000-0000-4000-8000-051212345678",  # a landline in the last group
           "a1381234-5678-4abc-8def-0000000000ab",  # a mobile across two groups
           "0d2c52c9-c798-41bf-875b-13912345678a"]  # a mobile in the last group
    for uuid in ids:
        assert mask_text(f"运行 {uuid}。") == f"运行 {uuid}。"
    out = mask_text(f"客户13812345678 运行{run_id} 身份证110101199003071234")
    assert out == f"客户138****5678 运行{run_id} 身份证110101********1234"
    assert find_unmasked(run_id) == []


def test_a_number_right_beside_a_uuid_is_still_masked_and_every_number_of_the_text_is():
    """The UUID's span is its own: a number ending where a UUID begins, or beginning where one ends, is
    personal data as anywhere else; and a text with a UUID keeps all of its other parts."""
    before, after = "a1b2c3d4-0000-4000-8000-000000000000", "00000000-0000-4000-8000-0000000000ab"
    assert mask_text(f"13812345678{before}") == f"138****5678{before}"
    assert mask_text(f"{after}13912345678") == f"{after}139****5678"
    text = f"甲13812345678，乙13912345678，运行 {after}，丙13700001111。"
    assert mask_text(text) == f"甲138****5678，乙139****5678，运行 {after}，丙137****1111。"
