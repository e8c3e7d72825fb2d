"""Script injection on the real stack (issue 9): a complaint and a sample request whose text fields carry
script appear escaped in the emails the flows send, on the decision pages and in the dev mailbox."""

import pytest

from tests.e2e.test_complaint import R, body
from tests.e2e.test_sample_request import LEADER, SAMPLE, new_request
from tests.unit.test_injection import PAYLOADS, assert_escaped

pytestmark = pytest.mark.e2e


def check_everywhere(stack, mail):
    assert_escaped(mail["html"])
    assert_escaped(stack.open(mail["links"][0]).text)  # the decision page
    assert_escaped(stack.client.get(f"{stack.web}/dev/mail/{mail['id']}").text)
    assert_escaped(stack.client.get(f"{stack.web}/dev/mail/{mail['id']}/html").text)
    assert_escaped(stack.client.get(f"{stack.web}/dev/mail").text, shown=False)  # subjects only


def test_complaint_text_is_escaped_everywhere(stack):
    r = stack.client.post(f"{stack.web}/api/complaints", json=body(
        description=f"空调漏水 {PAYLOADS[0]}", demand=PAYLOADS[1],
        complainant={"name": PAYLOADS[2], "phone": "13812345678"},
        event={"time": "2026-11-20 上午", "place": PAYLOADS[3]}))
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    check_everywhere(stack, stack.wait_mail(to=R["l1_handler"], subject=f"{case_no} 受理确认")[0])


def test_sample_request_text_is_escaped_everywhere(stack):
    case_no, _ = new_request(stack, customer=PAYLOADS[1], reason=f"{PAYLOADS[0]} {PAYLOADS[3]}",
                             spec=SAMPLE["spec"] + PAYLOADS[2])
    check_everywhere(stack, stack.wait_mail(to=LEADER, subject=f"{case_no} 部门负责人审批")[0])


def test_the_api_refuses_callers_without_a_live_key_and_staff_sign_in_with_a_password(stack):
    """Issue 24 on the real stack: keys made, listed and revoked with `kefu apikey`, a staff member's
    password set with `kefu user set-password`, the session cookie carried by the browser."""
    import json
    import subprocess

    import httpx

    from tests.e2e.stack import REPO
    from tests.forms import form_fields

    anonymous = httpx.Client(timeout=30)
    before = stack.case(new_request(stack)[0])  # the stack's own client has its key (Stack.authorize)
    assert anonymous.post(f"{stack.web}/api/sample-requests", json=SAMPLE).status_code == 401
    assert anonymous.get(f"{stack.web}/api/cases/{before['case_no']}").status_code == 401
    made = stack.kefu("apikey", "create", "--name", "crm-e2e", "--scope", "sample_requests")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    crm = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {key}"})
    filed = crm.post(f"{stack.web}/api/sample-requests", json=SAMPLE)
    assert filed.status_code == 201
    shown = stack.case(filed.json()["case_no"])  # who filed it, in its audit trail (access2)
    assert (shown["filed_by"], shown["filed_via"]) == ("crm-e2e", "api_key")
    # a key bound to a person files as that person only (kefu apikey create --person)
    made = stack.kefu("apikey", "create", "--name", "xu-e2e", "--scope", "sample_requests", "--person",
                      "xu.fang@huajin.example")
    assert made.returncode == 0, made.stderr
    xu = httpx.Client(timeout=30, headers={"X-API-Key": json.loads(made.stdout)["key"]})
    assert xu.post(f"{stack.web}/api/sample-requests", json={**SAMPLE, "requested_by": "yang.mei@huajin.example"}
                   ).status_code == 403
    mine = xu.post(f"{stack.web}/api/sample-requests", json={k: v for k, v in SAMPLE.items() if k != "requested_by"})
    assert mine.status_code == 201, mine.text
    assert stack.case(mine.json()["case_no"])["requested_by"] == "xu.fang@huajin.example"
    assert crm.get(f"{stack.web}/api/cases").status_code == 403  # no read scope
    listed = stack.kefu("apikey", "list")
    assert "crm-e2e" in listed.stdout and key not in listed.stdout
    assert stack.kefu("apikey", "revoke", "crm-e2e").returncode == 0
    assert crm.post(f"{stack.web}/api/sample-requests", json=SAMPLE).status_code == 401

    r = subprocess.run([str(REPO / ".venv/bin/kefu"), "user", "set-password", LEADER, "--password-stdin"],
                       env=stack.env, cwd=str(REPO), input="e2e password 2026\n", capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    browser = httpx.Client(timeout=30)
    form = form_fields(browser.get(f"{stack.web}/login").text)
    signed = browser.post(f"{stack.web}/login", data={**form, "email": LEADER, "password": "e2e password 2026"})
    assert signed.status_code == 303 and "httponly" in signed.headers["set-cookie"].lower()
    assert browser.get(f"{stack.web}/api/me").json()["email"] == LEADER
