"""C28 forwarded complaints (转来, 004 第二章2; 000 «2» 一(三)): the channel, its forwarder and reference,
the company's receipt as the start of every deadline; bad input refused in Chinese and English."""

from datetime import datetime

import pytest
from pydantic import ValidationError

from models.business_days import TZ
from models.complaint.handling import CHANNEL_LABELS, ComplaintIn, propose_level
from tests.fakes import api_client, fake_services, table_counts

BODY = {"complainant": {"name": "王芳", "phone": "13812345678"}, "kind": "consumer", "category": "维修服务",
        "description": "空调安装后漏水"}
FORWARDED = {"forwarder": "property_management", "forwarder_name": "园区物业", "reference": "WY-2026-017",
             "company_received_at": "2026-11-24T15:00:00+08:00"}


def test_a_forwarded_complaint_records_forwarder_reference_and_the_companys_receipt():
    c = ComplaintIn.model_validate(BODY | {"channel": "forwarded", "forwarded": FORWARDED})
    assert CHANNEL_LABELS[c.channel] == "转来"
    assert c.forwarded.reference == "WY-2026-017"
    assert c.received_at == datetime(2026, 11, 24, 15, tzinfo=TZ)  # the deadlines count from it
    assert propose_level(c)[0] == 1  # a property company's forward is no level-3 trigger


@pytest.mark.parametrize("forwarder", ["government", "judicial_administration"])
def test_forwarded_by_a_government_or_judicial_body_suggests_level_3(forwarder):
    c = ComplaintIn.model_validate(BODY | {"channel": "forwarded", "forwarded": FORWARDED | {"forwarder": forwarder}})
    level, reasons = propose_level(c)
    assert level == 3 and "转来" in reasons[0]


@pytest.mark.parametrize("over,needle", [
    ({"channel": "forwarded"}, "转来的投诉须填写"),
    ({"channel": "phone", "forwarded": FORWARDED}, "只有渠道为「转来」"),
    ({"channel": "forwarded", "forwarded": FORWARDED, "received_at": "2026-11-24T16:00:00+08:00"}, "received_at 须与"),
    ({"channel": "forwarded", "forwarded": {k: v for k, v in FORWARDED.items() if k != "reference"}}, "reference"),
    ({"channel": "forwarded", "forwarded": FORWARDED | {"company_received_at": "2026-11-24"}}, "time zone"),
])
def test_bad_forwarding_is_refused(over, needle):
    with pytest.raises(ValidationError) as e:
        ComplaintIn.model_validate(BODY | over)
    assert needle in str(e.value)


def test_the_api_refuses_a_forward_without_its_record_and_stores_nothing(tmp_path):
    svc = fake_services(tmp_path)
    client = api_client(svc, "complaints")
    before = table_counts(svc)
    r = client.post("/api/complaints", json=BODY | {"channel": "forwarded"})
    assert r.status_code == 422
    assert "转来的投诉须填写" in r.text and "a forwarded complaint needs forwarded" in r.text
    assert table_counts(svc) == before
    ok = client.post("/api/complaints", json=BODY | {"channel": "forwarded", "forwarded": FORWARDED})
    assert ok.status_code == 201
    case = svc.store.get_case(ok.json()["case_no"])
    assert case.data["deadlines"]["received_at"] == "2026-11-24T15:00:00+08:00"
    assert case.data["form"]["forwarded"]["forwarder_name"] == "园区物业"
