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
