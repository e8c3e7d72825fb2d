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
