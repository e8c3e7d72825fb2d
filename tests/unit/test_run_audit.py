"""Issue 24 (2): runs and cases agree. A case whose run was deleted, cancelled, crashed or failed in
Prefect gets its run restarted by the watchdog; after three restarts it is flagged to the process owner
(one event, one mail) and shown in /healthz. A closed case's run is never restarted."""


import pytest
from fastapi.testclient import TestClient

from deployments.names import SAMPLE_REQUEST, SLA_WATCHDOG
from tasks.platform.run_audit import MAX_RESTARTS, audit_runs
from tasks.platform.watchdog import sla_check, start_case_run
from tests.fakes import fake_services
from webapp.app import create_app


def open_case(svc, n: int = 1):
    case, _ = svc.store.create_case(procedure="sample_request", prefix="YP", year=2026, state="pending_leader",
                                    title=f"样品 {n}", data={"size_class": "half"}, requested_by=None,
                                    idempotency_key=None, now=svc.clock.now())
    run_id = svc.flows.start(SAMPLE_REQUEST, case.case_no, [], f"sample-request-{case.case_no}")
    svc.store.set_flow_run(case.case_no, run_id)
    return case.case_no, run_id


def test_waiting_runs_are_left_alone(tmp_path):
    svc = fake_services(tmp_path)
    open_case(svc)
    assert audit_runs(svc, svc.clock.now(), start_case_run) == {"runs_restarted": 0, "runs_flagged": 0}


@pytest.mark.parametrize("state", ["CANCELLED", "CRASHED", "FAILED"])
def test_a_lost_run_is_replaced_by_a_new_run(tmp_path, state):
    svc = fake_services(tmp_path)
    case_no, run_id = open_case(svc)
    svc.flows.states[run_id] = state
    assert audit_runs(svc, svc.clock.now(), start_case_run)["runs_restarted"] == 1
    assert svc.flows.restarted == [run_id]
    new_run = svc.store.get_case(case_no).flow_run_id
    assert new_run != run_id and [r.run_name for r in svc.flows.started] == [f"sample-request-{case_no}"] * 2
    assert [e.data["state"] for e in svc.store.events(case_no) if e.kind == "run_restarted"] == [state]


def test_a_deleted_run_is_replaced_by_a_new_one_in_the_same_pass(tmp_path):
    svc = fake_services(tmp_path)
    case_no, run_id = open_case(svc)
    svc.flows.deleted.add(run_id)
    counts = sla_check(svc, svc.clock.now())
    assert counts["runs_restarted"] == 1 and counts["started"] == 0
    new_run = svc.store.get_case(case_no).flow_run_id
    assert new_run and new_run != run_id
    assert len([r for r in svc.flows.started if r.case_no == case_no]) == 2


def test_after_three_restarts_the_case_is_flagged_once_to_the_process_owner(tmp_path):
    svc = fake_services(tmp_path)
    case_no, run_id = open_case(svc)
    for _ in range(MAX_RESTARTS):
        svc.flows.states[svc.store.get_case(case_no).flow_run_id] = "FAILED"
        assert audit_runs(svc, svc.clock.now(), start_case_run)["runs_restarted"] == 1
    run_id = svc.store.get_case(case_no).flow_run_id
    svc.flows.states[run_id] = "FAILED"
    assert audit_runs(svc, svc.clock.now(), start_case_run) == {"runs_restarted": 0, "runs_flagged": 1}
    assert audit_runs(svc, svc.clock.now(), start_case_run) == {"runs_restarted": 0, "runs_flagged": 0}
    owner = svc.org.first_for_role("cs_manager").email
    sla_check(svc, svc.clock.now())
    flagged = [m for m in svc.mailer.sent if case_no in m.subject]
    assert len(flagged) == 1 and flagged[0].to == [owner] and "流程运行异常" in flagged[0].subject
    svc.flows.completed[SLA_WATCHDOG] = svc.clock.now()
    health = TestClient(create_app(svc)).get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "degraded" and health.json()["flagged_cases"] == [case_no]


def test_a_closed_case_is_never_restarted(tmp_path):
    svc = fake_services(tmp_path)
    case_no, run_id = open_case(svc)
    svc.store.update_case(case_no, actor="x", kind="case_cancelled", now=svc.clock.now(), state="cancelled",
                          closed=True)
    svc.flows.states[run_id] = "CANCELLED"
    assert audit_runs(svc, svc.clock.now(), start_case_run) == {"runs_restarted": 0, "runs_flagged": 0}


def test_an_open_task_is_adopted_by_the_run_that_replaced_a_lost_one(tmp_path):
    from tests.fakes import open_task

    svc = fake_services(tmp_path)
    case_no, run_id = open_case(svc)
    task = open_task(svc, case_no, "leader-approval", svc.org.first_for_role("marketing_leader").email)
    svc.store.ensure_task(task.model_copy(update={"flow_run_id": run_id}), lambda t: [], svc.clock.now())
    again = task.model_copy(update={"id": None, "flow_run_id": "new-run"})
    adopted, created = svc.store.ensure_task(again, lambda t: [], svc.clock.now())
    assert (adopted.id, adopted.flow_run_id, created) == (task.id, "new-run", False)
