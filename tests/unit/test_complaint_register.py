"""C14: the complaint register — every complaint, established or not, one line each, as JSON and Excel;
read with the `read_cases` scope only; the complainant's phone masked; each deadline with whether it was met."""

import io
from datetime import datetime, timedelta, timezone

from openpyxl import load_workbook
from starlette.testclient import TestClient

from tasks.complaint.register import met
from tests.fakes import api_client, fake_services
from webapp.app import create_app

COMPLAINT = {"complainant": {"name": "王先生", "phone": "13800138000"}, "kind": "consumer", "channel": "phone",
             "category": "服务行为", "description": "态度差", "received_by": "li.na@huajin.example"}


def test_every_complaint_has_one_line_with_its_deadlines_and_the_phone_masked(tmp_path):
    svc = fake_services(tmp_path)
    client = api_client(svc, "complaints,read_cases")
    nos = [client.post("/api/complaints", json=COMPLAINT | {"description": f"态度差 {i}"}).json()["case_no"]
           for i in range(2)]
    r = client.get("/api/complaints/register")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["编号"] for i in items] == nos and r.json()["total"] == 2
    row = items[0]
    assert row["投诉人"] == "王先生" and row["电话"] == "138****8000" and "13800138000" not in r.text
    assert row["渠道"] == "电话" and row["类别"] == "服务行为" and row["首次联系"] == "未到期"
    assert row["首次联系期限"] != "—" and row["结案时间"] == "—"
    x = client.get("/api/complaints/register?format=xlsx")
    assert x.status_code == 200 and "spreadsheetml" in x.headers["content-type"]
    ws = load_workbook(io.BytesIO(x.content)).active
    assert ws.title == "客户投诉登记表" and ws["A1"].value == "编号" and ws["A2"].value == nos[0]
    assert "13800138000" not in {str(c.value) for row in ws.iter_rows() for c in row}


def test_the_register_is_refused_without_the_read_scope(tmp_path):
    svc = fake_services(tmp_path)
    assert TestClient(create_app(svc)).get("/api/complaints/register").status_code == 401
    assert api_client(svc, "complaints").get("/api/complaints/register").status_code == 403


def test_a_deadline_is_met_late_or_still_running():
    due = datetime(2026, 11, 30, 9, tzinfo=timezone.utc)
    assert met(due, due, due) == "按时"
    assert met(due, due + timedelta(minutes=1), due) == "超时"
    assert met(due, None, due + timedelta(seconds=1)) == "超时"
    assert met(due, None, due) == "未到期"
    assert met(None, None, due) == "—"
