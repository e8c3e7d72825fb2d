"""POST /api/grievances (C15): filed with its start request, 422 per field in Chinese and English with
nothing stored, Idempotency-Key; the register (C14) as JSON and Excel."""

import io

import pytest
from starlette.testclient import TestClient

from deployments import names
from models.grievance import QUANTITY_PENDING_TEXT
from tests.fakes import api_client, fake_services, table_counts
from webapp.app import create_app

FORM = {"abnormality_no": "YC-2026-031", "order_no": "XS-20261102-07", "item_no": "CY-40S", "customer": "无锡华美服饰有限公司",
        "quantity_shipped": {"value": 2000, "unit": "kg"}, "ship_date": "2026-11-02",
        "defective_quantity": {"value": 300, "unit": "kg"}, "description": "条干不匀", "demand": "退货 300 kg",
        "return_quantity": {"value": 300, "unit": "kg"}, "grievance_class": "quality", "sample_attached": True,
        "opinion": "属实", "salesperson": "lin.tao@huajin.example"}


@pytest.fixture
def env(tmp_path):
    svc = fake_services(tmp_path)
    return svc, api_client(svc, "grievances,read_cases", raise_server_exceptions=False)


def test_a_form_is_filed_with_its_start_request(env):
    svc, client = env
    r = client.post("/api/grievances", json=FORM)
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    assert case_no.startswith("KS-2026-")
    case = svc.store.get_case(case_no)
    assert case.procedure == "grievance" and case.requested_by == "lin.tao@huajin.example"
    assert case.data["deadlines"]["close"].startswith("2026-12-10")  # 15 days from receipt (domestic)
    start = svc.store.flow_start_of(case_no)
    assert start.deployment == names.GRIEVANCE and start.run_name == f"grievance-{case_no}"
    assert {"procedure:grievance", "level:2", "category:产品质量", "class:quality"} <= set(start.tags)


def test_quantity_pending_is_accepted_and_stored(env):
    svc, client = env
    r = client.post("/api/grievances", json=FORM | {"demand": QUANTITY_PENDING_TEXT, "return_quantity": None})
    assert r.status_code == 201, r.text
    assert svc.store.get_case(r.json()["case_no"]).data["quantity_pending"] is True


@pytest.mark.parametrize("over,field,zh", [
    ({"order_no": ""}, "order_no", "不能少于"),
    ({"ship_date": "2026-13-01"}, "ship_date", "无效"),
    ({"grievance_class": "other"}, "grievance_class", "必须是"),
    ({"sample_attached": None}, "sample_attached", "sample_attached："),
    ({"salesperson": "feng.tao@huajin.example"}, "salesperson", "不是业务员"),
    ({"ship_date": "2030-01-01"}, "ship_date", "不能晚于今天"),
    ({"return_quantity": None}, "body", QUANTITY_PENDING_TEXT),
    ({"complaint_case_no": "TS-2026-999999"}, "complaint_case_no", "不存在"),
])
def test_bad_input_is_refused_per_field_in_both_languages_and_nothing_is_stored(env, over, field, zh):
    svc, client = env
    before = table_counts(svc)
    r = client.post("/api/grievances", json=FORM | over)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert any(d["field"] == field or d["field"].startswith(field) for d in detail), detail
    assert any(zh in d["message"] and " / " in d["message"] for d in detail), detail
    assert table_counts(svc) == before


def test_the_same_idempotency_key_makes_one_case(env):
    svc, client = env
    h = {"Idempotency-Key": "grv-1"}
    a = client.post("/api/grievances", json=FORM, headers=h)
    b = client.post("/api/grievances", json=FORM, headers=h)
    assert (a.status_code, b.status_code) == (201, 200) and a.json()["case_no"] == b.json()["case_no"]
    c = client.post("/api/grievances", json=FORM | {"opinion": "另一份"}, headers=h)
    assert c.status_code == 422


def test_the_register_as_json_and_excel(env):
    from openpyxl import load_workbook

    svc, client = env
    case_no = client.post("/api/grievances", json=FORM).json()["case_no"]
    r = client.get("/api/grievances/register")
    assert r.status_code == 200 and r.json()["items"][0]["编号"] == case_no
    x = client.get("/api/grievances/register?format=xlsx")
    assert x.status_code == 200 and "spreadsheetml" in x.headers["content-type"]
    ws = load_workbook(io.BytesIO(x.content)).active
    assert ws.title == "客户抱怨案件登记追踪表" and ws["A1"].value == "编号" and ws["A2"].value == case_no


def test_the_grievance_routes_need_a_key_with_their_scope(tmp_path):
    """Issue 24 on the new doors: no credentials 401, a key without the scope 403, nothing stored;
    the register is read by management only (need-to-know, C24)."""
    svc = fake_services(tmp_path)
    anonymous = TestClient(create_app(svc))
    wrong = api_client(svc, "complaints")
    before = table_counts(svc)
    assert anonymous.post("/api/grievances", json=FORM).status_code == 401
    assert anonymous.get("/api/grievances/register").status_code == 401
    assert wrong.post("/api/grievances", json=FORM).status_code == 403
    assert wrong.get("/api/grievances/register").status_code == 403
    assert table_counts(svc) == before


def test_no_grievance_form_copy_is_ever_queued_to_a_customer_address(env):
    from models.grievance import CustomerAddressRefused
    from tasks.notify import queue_notice
    from tasks.platform.mail import Attachment
    from tasks.platform.runtime import use_services

    svc, _client = env
    before = table_counts(svc)
    pdf = Attachment.from_bytes("客户抱怨处理表-KS-2026-000001-第三联.pdf", b"%PDF-1.4", "application/pdf")
    ctx = {"case_no": "KS-2026-000001", "title": "t", "message": "m", "summary": {}}
    with use_services(svc), pytest.raises(CustomerAddressRefused, match="buyer@customer.example"):
        queue_notice.fn("KS-2026-000001", "copy-3", "notice", ["lin.tao@huajin.example", "buyer@customer.example"],
                        ctx, [pdf])
    assert table_counts(svc) == before
    # the same copy to the salesperson is queued; another attachment to a customer is not this rule's business
    with use_services(svc):
        assert queue_notice.fn("KS-2026-000001", "copy-3", "notice", ["lin.tao@huajin.example"], ctx, [pdf])
        other = Attachment.from_bytes("销货折让证明单.pdf", b"%PDF-1.4", "application/pdf")
        assert queue_notice.fn("KS-2026-000001", "other", "notice", ["buyer@customer.example"], ctx, [other])
