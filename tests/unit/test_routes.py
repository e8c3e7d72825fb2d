"""The web app assembled from its routers (webapp/app.py, webapp/routes/): every URL where it was, and
the app-wide guard's rule for queries. In-process on the fakes (tests/fakes.py)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.fakes import api_client, fake_services
from webapp.app import create_app

# every operation of the API (the OpenAPI document): the URLs and methods clients and tests depend on
OPERATIONS = {
    ("/login", "get"), ("/login", "post"), ("/logout", "post"), ("/api/me", "get"), ("/healthz", "get"),
    ("/api/sample-requests", "post"), ("/api/complaints", "post"), ("/api/returns", "post"),
    ("/api/archive-corrections", "post"), ("/api/customers/{archive_no}", "get"),
    ("/api/new-customer-applications", "post"), ("/api/grievances", "post"), ("/api/grievances/register", "get"),
    ("/api/complaints/register", "get"),
    ("/api/customers", "get"), ("/api/complaints/{case_no}/legal-process", "post"),
    ("/api/complaints/{case_no}/legal-process/updates", "post"),
    ("/api/cases/{case_no}", "get"), ("/api/cases", "get"), ("/t/{token}", "get"), ("/t/{token}", "post"),
    ("/dev/mail.json", "get"), ("/dev/mail", "get"), ("/dev/mail/{msg_id}", "get"),
}


@pytest.fixture
def svc(tmp_path):
    return fake_services(tmp_path)


def test_every_operation_is_served_by_the_assembled_app(svc):
    doc = create_app(svc).openapi()
    assert {(p, m) for p, ops in doc["paths"].items() for m in ops} == OPERATIONS


def test_the_routes_outside_the_document_answer_too(svc):
    client = TestClient(create_app(svc))
    assert client.get("/").text.startswith("客服流程 Kefu Flows")
    assert client.get("/dev/mail/1/html").status_code == 404  # no such message
    assert client.get("/healthz").status_code in (200, 503)


@pytest.mark.parametrize("query", ["level=1&level=3", "procedure=complaint&procedure=return", "limit=5&limit=500"])
def test_a_query_naming_a_parameter_twice_is_refused_never_the_last_wins(svc, query):
    r = api_client(svc, raise_server_exceptions=False).get(f"/api/cases?{query}")
    assert r.status_code == 422, r.text
    [problem] = r.json()["detail"]
    assert problem["field"] == query.split("=")[0]
    assert "字段重复出现" in problem["message"]


def test_one_value_per_parameter_is_answered(svc):
    r = api_client(svc, raise_server_exceptions=False).get("/api/cases?level=1&procedure=complaint")
    assert r.status_code == 200, r.text
    assert r.json() == {"total": 0, "items": []}
