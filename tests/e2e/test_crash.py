"""Issue 9: `kefu up` killed hard (SIGKILL, every process of it at once) while cases wait on people
and while a step runs; started again, every case continues and finishes, and no email is sent twice."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_local_stack import alive, descendants
from tests.e2e.test_sample_request import GM, LEADER, PRODUCTION, new_request, no_duplicates

pytestmark = pytest.mark.e2e


def crash(stack: Stack) -> None:
    """SIGKILL `kefu up` and every process under it (server, web app, sink, serve, flow runs)."""
    procs = descendants(stack.proc.pid) | {stack.proc.pid}
    for pid in procs:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 20
    while any(alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    stack.proc.wait(timeout=10)


def answer_and_catch_running(stack: Stack, case_no: str, run_id: str) -> bool:
    """Answer the leader's step, then watch the run: True when it is caught executing."""
    ask = stack.wait_mail(to=LEADER, subject=f"{case_no} 部门负责人审批")[0]
    stack.wait_run(run_id, "PAUSED")
    assert stack.submit(stack.link(ask, "approve"), comment="同意").status_code == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if stack.prefect_run(run_id)["state"]["type"] == "RUNNING":
            return True
        time.sleep(0.05)
    return False


def finish(stack: Stack, case_no: str) -> None:
    """Answer what is still open until the sample is handed out (state `issued`)."""
    for to, subject, choice, fields in ((LEADER, "部门负责人审批", "approve", {}),
                                        (GM, "总经理审批", "approve", {}),
                                        (PRODUCTION, "样品发放登记", "issued", {"taker": "陈师傅", "quantity": "2"})):
        mail = stack.wait_mail(to=to, subject=f"{case_no} {subject}", timeout=120)[0]
        r = stack.submit(stack.link(mail, choice), **fields)
        assert r.status_code == 200, r.text  # a step decided before the crash shows "已处理"
    stack.wait_state(case_no, "issued", timeout=120)


def test_killed_while_waiting_and_while_a_step_runs_every_case_finishes_once(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    own = Stack.start(home)
    try:
        waiting, _ = new_request(own)
        own.wait_mail(to=LEADER, subject=f"{waiting} 部门负责人审批")
        caught = None
        tried = []
        for _ in range(4):
            case_no, run_id = new_request(own)
            tried.append(case_no)
            if answer_and_catch_running(own, case_no, run_id):
                caught = (case_no, run_id)
                crash(own)
                break
        assert caught, "the resumed run was never seen executing"
    finally:
        if own.proc.poll() is None:
            own.stop()

    again = Stack.start(home, extra_env={k: v for k, v in own.env.items() if k.startswith("KEFU_")})
    try:
        recovered = (home / "logs" / "recover.log").read_text()
        # the run killed mid-step was put back to SCHEDULED and runs again from the top
        assert f"sample-request-{caught[0]}" in recovered, recovered
        for case_no in (waiting, *tried):
            finish(again, case_no)
            no_duplicates(again, case_no)
    finally:
        again.stop()
