"""The holes of issue 24 that a hostile probe found in the web app, items 4 and 6–10, each refused:
in-process, the real web app and store on the fakes (tests/fakes.py)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from models.tokens import csrf_for
from tests.fakes import SECRET, fake_services, open_task, table_counts, token_for
from webapp.app import create_app

LEADER = "zhou.min@huajin.example"
SAMPLE = {"customer": "苏州锦华", "product": "涤纶", "spec": "150D", "size_class": "half", "quantity": 2,
          "reason": "客户试样"}
COMPLAINT = {"complainant": {"name": "王先生", "phone": "13800138000"}, "kind": "consumer", "channel": "phone",
             "category": "服务行为", "description": "态度差"}


@pytest.fixture
def web(tmp_path):
    svc = fake_services(tmp_path)
    return svc, TestClient(create_app(svc), raise_server_exceptions=False)


def fields_of(r) -> dict[str, str]:
    return {d["field"]: d["message"] for d in r.json()["detail"]}


# ---- 6: one-line fields refuse control characters; multi-line fields keep line breaks only ----------
@pytest.mark.parametrize("field,value", [
    ("customer", "苏州锦华\r\nBcc: x@evil.example"), ("product", "涤\n纶"), ("spec", "150\tD"),
    ("customer", "a\x1bb"), ("product", "a\x85b"), ("customer", "a\u2028b")])
def test_one_line_fields_refuse_control_characters(web, field, value):
    svc, client = web
    before = table_counts(svc)
    r = client.post("/api/sample-requests", json={**SAMPLE, field: value})
    assert r.status_code == 422, r.text
    msg = fields_of(r)[field]
    assert "只能填一行" in msg and "must be one line" in msg
    assert table_counts(svc) == before


def test_nested_and_listed_one_line_fields_are_checked_too(web):
    svc, client = web
    r = client.post("/api/complaints", json={**COMPLAINT, "complainant": {"name": "王\n先生", "phone": "13800138000"},
                                            "stores": ["ok", "南京\r路店"]})
    assert r.status_code == 422
    assert set(fields_of(r)) == {"complainant.name", "stores"}


def test_multi_line_fields_keep_line_breaks_and_refuse_other_control_characters(web):
    svc, client = web
    r = client.post("/api/sample-requests", json={**SAMPLE, "reason": "第一行\r\n第二行\tA"})
    assert r.status_code == 201, r.text
    assert svc.store.get_case(r.json()["case_no"]).data["reason"] == "第一行\n第二行\tA"
    r = client.post("/api/sample-requests", json={**SAMPLE, "reason": "响铃\x07"})
    assert r.status_code == 422
    assert "除换行和制表符外" in fields_of(r)["reason"]


def test_answers_refuse_control_characters_in_one_line_fields(web):
    svc, client = web
    task = open_task(svc, "YP-2026-000001", "issue", LEADER, role="workshop", answer_model="SampleIssue")
    token = token_for(svc, task, LEADER)
    r = client.post(f"/t/{token}", data={"csrf": csrf_for(SECRET, token), "choice": "issued",
                                         "taker": "张三\r\nX-Header: 1", "quantity": "1"})
    assert r.status_code == 422 and "只能填一行" in r.text
    assert svc.store.get_task(task.id).state == "open"
