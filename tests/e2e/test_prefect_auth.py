"""Prefect behind its own API auth on a real `kefu up` (issue 24, item 1/5): with
KEFU_PREFECT_API_AUTH_STRING the Prefect server refuses every caller without it — nobody can resume,
cancel or delete a run — while the web app, `kefu serve` and the flow runs hold it: a sample request
runs to its end through the emailed links, its run resumed through the authenticated API."""

import httpx
import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_sample_request import GM, LEADER, PRODUCTION, mail_for, new_request, pass_the_gate

pytestmark = pytest.mark.e2e
AUTH = "kefu:e2e-prefect-auth-0123456789"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    s = Stack.start(tmp_path_factory.mktemp("kefu-prefect-auth"), extra_env={"KEFU_PREFECT_API_AUTH_STRING": AUTH})
    yield s
    s.stop()


def test_prefect_refuses_callers_without_its_auth_and_the_stack_works_with_it(guarded):
    stack = guarded
    assert stack.client.get(f"{stack.web}/healthz").json()["prefect"] == "ok"  # web app → Prefect, with the auth
    case_no, run_id = new_request(stack)  # started by the web app's dispatcher through the guarded API
    outsider = httpx.Client(timeout=30)
    for method, path, body in (("POST", "/flow_runs/filter", {}), ("GET", f"/flow_runs/{run_id}", None),
                               ("POST", f"/flow_runs/{run_id}/resume", {"run_input": {"decision": "approve"}}),
                               ("DELETE", f"/flow_runs/{run_id}", None)):
        r = outsider.request(method, f"{stack.prefect_api}{path}", json=body)
        assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
        wrong = outsider.request(method, f"{stack.prefect_api}{path}", json=body, auth=("kefu", "guess"))
        assert wrong.status_code == 401, (method, path, wrong.status_code)
    assert stack.prefect_run(run_id)["name"] == f"sample-request-{case_no}"  # the test holds the auth string

    stack.submit(stack.link(mail_for(stack, case_no, LEADER, "部门负责人审批"), "approve"), comment="同意")
    stack.submit(stack.link(mail_for(stack, case_no, GM, "总经理审批"), "approve"), comment="同意")
    stack.wait_state(case_no, "approved")
    issue = stack.wait_mail(to=PRODUCTION, subject=f"{case_no} 样品发放登记")[0]
    assert stack.submit(stack.link(issue, "issued"), taker="陈师傅", quantity="2").status_code == 200
    stack.wait_state(case_no, "issued")
    pass_the_gate(stack, case_no)  # P4
    stack.wait_run(run_id, "COMPLETED", timeout=90)  # resumed four times through the guarded API
