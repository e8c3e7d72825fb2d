"""The Prefect UI shows each case readably (checked against the real Prefect API): the run name
has the case number, the tags level and kind, the form artifact is current, and a waiting run says
who it waits for — its `waiting-{case_no}` artifact and its log name the step, the person and the
due time, and follow the step as it changes (escalation included) until the run ends."""

from datetime import datetime, timedelta

import pytest

from models.org import load_org
from models.settings import REPO_ROOT
from tests.e2e.test_complaint import file
from tests.e2e.test_sample_request import pass_the_gate

pytestmark = pytest.mark.e2e

ORG = load_org(REPO_ROOT / "deployments" / "org.yaml")
LEADER = ORG.first_for_role("marketing_leader")
BOSS = ORG.superior_of(LEADER.email)
GM = ORG.first_for_role("general_manager")
PRODUCTION = ORG.first_for_role("production")
GATE_GUARD = ORG.first_for_role("gate_guard")
SAMPLE = {"customer": "无锡新纺织造", "product": "40S 精梳棉纱", "spec": "40S/1", "size_class": "small",
          "quantity": 4, "reason": "客户打样"}


def waiting(stack, case_no: str, run_id: str, step: str, timeout: float = 90) -> str:
    """Wait until the run is suspended on `step`; the artifact's text then."""
    import time

    deadline = time.monotonic() + timeout
    run: dict = {}
    while time.monotonic() < deadline:
        run = stack.prefect_run(run_id)
        if run["state"]["type"] == "PAUSED" and run["state"]["state_details"]["pause_key"] == step:
            break
        time.sleep(0.25)
    else:
        raise AssertionError(f"run not waiting on {step}: {run.get('state')}")
    return artifact(stack, case_no, run_id)


def artifact(stack, case_no: str, run_id: str) -> str:
    art = stack.prefect("GET", f"/artifacts/waiting-{case_no.lower()}/latest").json()
    assert art["flow_run_id"] == run_id and art["type"] == "markdown"
    return art["data"]


def logged(stack, run_id: str, line: str, timeout: float = 30) -> bool:
    """The line is in the run's log (Prefect ships logs in batches)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = stack.prefect("POST", "/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}},
                                                           "limit": 200, "sort": "TIMESTAMP_ASC"}).json()
        if line in [entry["message"] for entry in logs]:
            return True
        time.sleep(0.5)
    return False


def test_a_waiting_run_says_who_it_waits_for_as_the_step_changes(stack):
    r = stack.client.post(f"{stack.web}/api/sample-requests", json=SAMPLE)
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    run_id = stack.flow_run_of(case_no)
    assert stack.prefect_run(run_id)["name"] == f"sample-request-{case_no}"

    md = waiting(stack, case_no, run_id, "leader-approval")
    task = next(t for t in stack.case(case_no)["tasks"] if t["step_key"] == "leader-approval")
    due = datetime.fromisoformat(task["due_at"]).strftime("%Y-%m-%d %H:%M")
    assert md.startswith(f"# 等待处理 · {case_no}")
    assert f"| 等待 | {LEADER.name}（营销部负责人） |" in md and f"| 截止 | {due} |" in md
    assert "部门负责人审批《取样出门审批单》（leader-approval）" in md
    line = f"等待 {LEADER.name}（营销部负责人） 处理「部门负责人审批《取样出门审批单》」（leader-approval），截止 {due}"
    assert logged(stack, run_id, line)

    # overdue: the watchdog escalates, and the run says so
    assert stack.kefu("sla-check", "--now", (datetime.fromisoformat(task["due_at"]) + timedelta(minutes=1)
                                             ).isoformat()).returncode == 0
    md = artifact(stack, case_no, run_id)
    assert f"| 已上报 | {BOSS.name}" in md and LEADER.name in md

    esc = stack.wait_mail(to=BOSS.email, subject=f"{case_no}")
    assert stack.submit(stack.link(esc[-1], "approve"), comment="代为审批").status_code == 200
    md = waiting(stack, case_no, run_id, "gm-approval")
    assert f"| 等待 | {GM.name}（总经理） |" in md and "已上报" not in md
    assert logged(stack, run_id, f"「部门负责人审批《取样出门审批单》」已由 {BOSS.name} 处理：批准")

    gm = stack.wait_mail(to=GM.email, subject=f"{case_no} 总经理审批")[0]
    assert stack.submit(stack.link(gm, "approve")).status_code == 200
    md = waiting(stack, case_no, run_id, "sample-issue")
    assert "样品发放登记" in md and PRODUCTION.name in md

    issue = stack.wait_mail(to=PRODUCTION.email, subject=f"{case_no} 样品发放登记")[0]
    assert stack.submit(stack.link(issue, "issued"), taker="李师傅", quantity="4").status_code == 200
    md = waiting(stack, case_no, run_id, "gate-check")  # P4: the gate guard is waited for next
    assert "门卫核验出门证" in md and GATE_GUARD.name in md
    pass_the_gate(stack, case_no)
    stack.wait_run(run_id, "COMPLETED")
    md = artifact(stack, case_no, run_id)
    assert md.startswith(f"# 当前无待办 · {case_no}") and "门卫核验出门证" in md and GATE_GUARD.name in md


def test_a_complaint_run_reads_with_case_number_level_kind_form_and_whom_it_waits_for(stack):
    case_no, run_id = file(stack, kind="franchisee", category="产品质量", description="纱线色差，批号 A17",
                           complainant={"name": "加盟商陈先生", "phone": "13900002222"},
                           event={"time": "2026-11-21", "place": "无锡加盟店"})
    receiver = ORG.first_for_role("l1_handler")
    md = waiting(stack, case_no, run_id, "intake")
    run = stack.prefect_run(run_id)
    assert run["name"] == f"complaint-{case_no}"
    assert {"level:1", "kind:franchisee", "category:产品质量"} <= set(run["tags"])
    assert f"| 等待 | {receiver.name}（" in md and "受理确认" in md
    form = stack.prefect("GET", f"/artifacts/complaint-form-{case_no.lower()}/latest").json()
    assert form["flow_run_id"] == run_id and "投诉处理单" in form["data"] and "纱线色差" in form["data"]
    assert "139****2222" in form["data"] and "13900002222" not in form["data"] + md
