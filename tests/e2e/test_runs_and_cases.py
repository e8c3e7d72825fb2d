"""Issue 24 (2): a run deleted or cancelled in Prefect does not strand its case. The watchdog (here one
`kefu sla-check` pass, as its served runs do every interval) starts a new run for a deleted one and
replaces a cancelled one by a new run; both cases go on when answered, and no email goes twice. Cancelling a case
is a case action (`kefu case cancel`) that closes it and cancels its run, which stays cancelled."""

import pytest

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

SAMPLE = {"customer": "苏州锦华服饰有限公司", "product": "32S 精梳棉纱", "spec": "32S/1 精梳",
          "size_class": "half", "quantity": 2, "reason": "客户试织"}


def new_case(stack: Stack, n: int) -> tuple[str, str, dict]:
    r = stack.client.post(f"{stack.web}/api/sample-requests", json={**SAMPLE, "quantity": n})
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    ask = stack.wait_mail(subject=f"{case_no} 部门负责人审批")[0]
    run_id = stack.case(case_no)["flow_run_id"]
    stack.wait_run(run_id, "PAUSED")
    return case_no, run_id, ask


def test_deleted_and_cancelled_runs_are_restarted_and_a_cancelled_case_stays_cancelled(stack):
    deleted_case, deleted_run, deleted_ask = new_case(stack, 1)
    cancelled_case, cancelled_run, cancelled_ask = new_case(stack, 2)
    closed_case, closed_run, _ = new_case(stack, 3)

    assert stack.prefect("DELETE", f"/flow_runs/{deleted_run}").status_code == 204
    r = stack.prefect("POST", f"/flow_runs/{cancelled_run}/set_state",
                      json={"state": {"type": "CANCELLED", "message": "cancelled in the UI"}, "force": True})
    assert r.status_code in (200, 201), r.text
    r = stack.kefu("case", "cancel", closed_case, "--by", "zhou.min@huajin.example", "--reason", "客户撤回")
    assert r.returncode == 0, r.stderr

    r = stack.kefu("sla-check")
    assert r.returncode == 0, r.stderr
    assert '"runs_restarted": 2' in r.stdout, r.stdout

    for case_no, old_run in ((deleted_case, deleted_run), (cancelled_case, cancelled_run)):
        new_run = stack.case(case_no)["flow_run_id"]
        assert new_run and new_run != old_run
        assert stack.wait_run(new_run, "PAUSED")["name"] == f"sample-request-{case_no}"
    for case_no, ask in ((deleted_case, deleted_ask), (cancelled_case, cancelled_ask)):
        assert stack.submit(stack.link(ask, "approve")).status_code == 200
        stack.wait_mail(subject=f"{case_no} 总经理审批")
        assert len(stack.mails_about(case_no, "部门负责人审批")) == 1  # replayed, not mailed again

    assert stack.case(closed_case)["state"] == "cancelled"
    stack.wait_run(closed_run, "CANCELLED")
    assert '"runs_restarted": 0' in stack.kefu("sla-check").stdout
