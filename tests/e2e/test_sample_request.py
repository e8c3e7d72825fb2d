"""Issue 3: the free-sample approval (P1–P3) end to end on the real stack — Prefect server, web app,
SMTP sink — with the emailed links clicked over HTTP."""

import time
from collections import Counter
from datetime import datetime, timedelta
from urllib.parse import urlparse

import pytest

from models.org import load_org
from models.settings import REPO_ROOT
from models.tokens import make_token, read_token
from tests.e2e.stack import SECRET

pytestmark = pytest.mark.e2e

ORG = load_org(REPO_ROOT / "deployments" / "org.yaml")
REQUESTER = ORG.first_for_role("marketing").email
LEADER = ORG.first_for_role("marketing_leader").email
GM = ORG.first_for_role("general_manager").email
PRODUCTION = ORG.first_for_role("production").email

SAMPLE = {"customer": "苏州锦华服饰有限公司", "product": "32S 精梳棉纱", "spec": "32S/1 精梳",
          "size_class": "half", "quantity": 2, "reason": "客户试织，联系人电话 13812345678"}


def new_request(stack, **overrides):
    r = stack.client.post(f"{stack.web}/api/sample-requests", json={**SAMPLE, **overrides})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["case_no"].startswith("YP-")
    return body["case_no"], stack.flow_run_of(body["case_no"])


def mail_for(stack, case_no, to, subject):
    return stack.wait_mail(to=to, subject=f"{case_no} {subject}" if subject else case_no)[0]


def no_duplicates(stack, case_no):
    seen = Counter((tuple(m["to"]), m["subject"]) for m in stack.mails() if case_no in m["subject"])
    dups = {k: v for k, v in seen.items() if v > 1}
    assert not dups, dups


def token_of(url):
    return urlparse(url).path.rsplit("/", 1)[1]


def test_approved_by_both_then_issued(stack):
    case_no, run_id = new_request(stack)
    run = stack.prefect_run(run_id)
    assert run["name"] == f"sample-request-{case_no}"
    assert "procedure:sample-request" in run["tags"]

    ask = mail_for(stack, case_no, LEADER, "部门负责人审批")
    assert "138****5678" in ask["text"] and "13812345678" not in ask["text"] + ask["html"]
    link = stack.link(ask, "approve")
    # a GET (mail scanners) changes nothing
    before = stack.case(case_no)
    page = stack.open(link)
    assert page.status_code == 200 and "确认提交" in page.text and 'value="approve" required checked' in page.text
    after = stack.case(case_no)
    assert after["events"] == before["events"] and after["tasks"] == before["tasks"]

    r = stack.submit(link, comment="同意")
    assert r.status_code == 200 and "已提交" in r.text

    gm_mail = mail_for(stack, case_no, GM, "总经理审批")
    assert stack.submit(stack.link(gm_mail, "approve"), comment="同意发放").status_code == 200

    stack.wait_state(case_no, "approved")
    mail_for(stack, case_no, PRODUCTION, "")
    slips = [m for m in stack.mails(PRODUCTION) if "取样出门审批单" in m["subject"] and case_no in m["subject"]
             and "第二联" not in m["subject"]]  # P4: copy 2 is its own mail (a PDF)
    assert len(slips) == 1 and "0.8" in slips[0]["text"] and "1.600" in slips[0]["text"]

    issue = stack.wait_mail(to=PRODUCTION, subject=f"{case_no} 样品发放登记")[0]
    link = stack.link(issue, "issued")
    bad = stack.submit(link, taker="", quantity="0")
    assert bad.status_code == 422 and "taker" in bad.text and "quantity" in bad.text
    assert stack.case(case_no)["state"] == "approved"
    ok = stack.submit(link, taker="陈师傅", quantity="2")
    assert ok.status_code == 200, ok.text
    case = stack.wait_state(case_no, "issued")

    decided = {t["step_key"]: t for t in case["tasks"]}
    assert decided["leader-approval"]["decided_by"] == LEADER
    assert decided["gm-approval"]["decided_via"] == "email"
    kinds = [e["kind"] for e in case["events"]]
    assert kinds.count("task_decided") == 3 and "sample_approved" in kinds and "sample_issued" in kinds
    # a reused link shows who decided and changes nothing
    again = stack.submit(stack.link(ask, "approve"))
    assert again.status_code == 200 and "已处理" in again.text
    after = [e["kind"] for e in stack.case(case_no)["events"]]  # the run goes on to the gate check meanwhile
    assert after[:len(kinds)] == kinds and after.count("task_decided") == kinds.count("task_decided")
    pass_the_gate(stack, case_no)
    stack.wait_run(run_id, "COMPLETED")
    assert stack.case(case_no)["closed_at"]
    no_duplicates(stack, case_no)


def pass_the_gate(stack, case_no: str, timeout: float = 90) -> None:
    """P4: the gate guard checks the goods against the gate pass (copy 3, with its one-time code)."""
    import re

    gate_pass = stack.wait_mail(subject=f"{case_no} 《取样出门审批单》第三联 出门证", timeout=timeout)[0]  # to the requester
    code = re.search(r"出门证编码（一次有效）：(\w+)", gate_pass["text"]).group(1)
    check = stack.wait_mail(to=ORG.first_for_role("gate_guard").email, subject=f"{case_no} 门卫核验出门证",
                            timeout=timeout)[0]
    r = stack.submit(stack.link(check, "released"), pass_code=code, product_matches="true", spec_matches="true",
                     size_class_matches="true", quantity_matches="true")
    assert r.status_code == 200, r.text


def test_rejected_by_gm(stack):
    case_no, run_id = new_request(stack, size_class="whole", quantity=1)
    stack.submit(stack.link(mail_for(stack, case_no, LEADER, "部门负责人审批"), "approve"))
    gm_mail = mail_for(stack, case_no, GM, "总经理审批")
    r = stack.submit(stack.link(gm_mail, "reject"), comment="本月样品预算已用完")
    assert r.status_code == 200
    case = stack.wait_state(case_no, "rejected")
    notice = stack.wait_mail(to=REQUESTER, subject=case_no)[0]
    assert "本月样品预算已用完" in notice["text"]
    assert not [m for m in stack.mails(PRODUCTION) if case_no in m["subject"]]
    assert case["closed_at"]
    no_duplicates(stack, case_no)


def test_forged_expired_and_own_links_change_nothing(stack):
    case_no, _ = new_request(stack, quantity=1, size_class="small")
    ask = mail_for(stack, case_no, LEADER, "部门负责人审批")
    link = stack.link(ask, "approve")
    token = token_of(link)
    task_id = read_token(SECRET, token, datetime.now().astimezone()).task_id
    before = stack.case(case_no)

    forged = link.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert stack.open(forged).status_code == 404
    assert stack.client.post(forged.split("?")[0], data={"choice": "approve"}).status_code == 404

    old = make_token(SECRET, task_id, LEADER, datetime.now().astimezone() - timedelta(days=40), 30)
    expired = f"{stack.web}/t/{old}?choice=approve"
    assert stack.open(expired).status_code == 404

    own = make_token(SECRET, task_id, REQUESTER, datetime.now().astimezone(), 30)
    own_url = f"{stack.web}/t/{own}?choice=approve"
    page = stack.open(own_url)
    assert page.status_code == 403 and "自己提交" in page.text
    assert stack.client.post(own_url.split("?")[0], data={"choice": "approve"}).status_code == 403

    # a POST without the page's hidden CSRF field is refused
    assert stack.client.post(link.split("?")[0], data={"choice": "approve"}).status_code == 403
    after = stack.case(case_no)
    assert after["events"] == before["events"] and after["state"] == before["state"]


def test_invalid_request_is_refused_and_stores_nothing(stack):
    total = stack.client.get(f"{stack.web}/api/cases").json()["total"]
    r = stack.client.post(f"{stack.web}/api/sample-requests",
                          json={**SAMPLE, "size_class": "huge", "quantity": 0, "colour": "red"})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["detail"]}
    assert fields == {"size_class", "quantity", "colour"}
    assert all("/" in d["message"] for d in r.json()["detail"])
    r = stack.client.post(f"{stack.web}/api/sample-requests", json={**SAMPLE, "requested_by": GM})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "requested_by"
    assert stack.client.get(f"{stack.web}/api/cases").json()["total"] == total


def test_overdue_task_gets_one_reminder_then_escalation(stack):
    case_no, run_id = new_request(stack, quantity=3)
    mail_for(stack, case_no, LEADER, "部门负责人审批")
    task = next(t for t in stack.case(case_no)["tasks"] if t["step_key"] == "leader-approval")
    remind_at = datetime.fromisoformat(task["remind_at"])
    due_at = datetime.fromisoformat(task["due_at"])

    for _ in range(2):
        r = stack.kefu("sla-check", "--now", (remind_at + timedelta(minutes=1)).isoformat())
        assert r.returncode == 0, r.stderr
    reminders = [m for m in stack.mails(LEADER) if m["subject"].startswith("【催办】") and case_no in m["subject"]]
    assert len(reminders) == 1

    boss = ORG.superior_of(LEADER).email
    for _ in range(2):
        assert stack.kefu("sla-check", "--now", (due_at + timedelta(minutes=1)).isoformat()).returncode == 0
    esc = [m for m in stack.mails(boss) if m["subject"].startswith("【逾期上报】") and case_no in m["subject"]]
    assert len(esc) == 1
    case = stack.case(case_no)
    kinds = [e["kind"] for e in case["events"]]
    assert kinds.count("task_reminded") == 1 and kinds.count("task_escalated") == 1
    assert boss in case["assignees"] and LEADER in case["assignees"]

    # the superior's answer resumes the run; the original link is then spent
    assert stack.submit(stack.link(esc[0], "approve"), comment="代为审批").status_code == 200
    stack.wait_mail(to=GM, subject=f"{case_no} 总经理审批")
    late = stack.submit(stack.link(reminders[0], "approve"))
    assert "已处理" in late.text
    t = next(t for t in stack.case(case_no)["tasks"] if t["step_key"] == "leader-approval")
    assert t["decided_by"] == boss


def ui_resume(stack, run_id, run_input):
    """What the Prefect UI's Resume dialog sends (retried on a 503, as Prefect's own client does)."""
    r = stack.prefect("POST", f"/flow_runs/{run_id}/resume", json={"run_input": run_input})
    assert r.status_code in (200, 201), r.text
    return r.json()


def wait_paused_on(stack, run_id, key, timeout=90):
    """Until the run is paused on `key` and its input form can be shown: Prefect sets the PAUSED
    state first and saves the form's schema just after (prefect/flow_runs.py, `suspend_flow_run`);
    the UI's Resume dialog reads that schema before a person can submit, and a resume sent in
    between is rejected ("Run input schema not found" — CI, stop 29, under a load of 9)."""
    deadline = time.monotonic() + timeout
    run: dict = {}
    while time.monotonic() < deadline:
        run = stack.prefect_run(run_id)
        details = run["state"]["state_details"]
        if run["state"]["type"] == "PAUSED" and details["pause_key"] == key:
            schema = (details.get("run_input_keyset") or {}).get("schema")
            if schema and stack.prefect("GET", f"/flow_runs/{run_id}/input/{schema}").status_code == 200:
                return run
        time.sleep(0.25)
    raise AssertionError(f"run {run_id} is {run.get('state')}, not paused on {key} with its input form")


def test_answer_in_the_prefect_ui_resume_form_is_recorded_as_ui(stack):
    """Issue 24: a UI answer is taken only with the one-time code printed in that person's email;
    a forged one (anyone who reaches Prefect's API, naming anyone — here the requester) is refused
    and recorded as refused, and the step keeps waiting; the right code then decides, as that
    person, with the same bookkeeping as a link's answer."""
    import re

    case_no, run_id = new_request(stack, quantity=5)
    ask = mail_for(stack, case_no, LEADER, "部门负责人审批")
    (code,) = re.findall(r"一次性答案码：([0-9A-Z]{8})", ask["text"])
    assert code in ask["html"]
    wait_paused_on(stack, run_id, "leader-approval")
    # without a code, Prefect's own check of the run input (the schema saved at suspension) refuses
    no_code = ui_resume(stack, run_id, {"decision": "approve"})
    assert no_code["status"] == "REJECT" and "code" in str(no_code["details"]), no_code
    # nor may a resume say who answers: `decided_by` is not in the form any more
    named = ui_resume(stack, run_id, {"decision": "approve", "code": "ABCDEFGH", "decided_by": REQUESTER})
    assert named["status"] == "REJECT" and "decided_by" in str(named["details"]), named
    # with a made-up code the resume is accepted by Prefect, and refused by the flow
    forged = ui_resume(stack, run_id, {"decision": "approve", "code": "ABCDEFGH"})
    assert forged["status"] == "ACCEPT", forged
    wait_paused_on(stack, run_id, "leader-approval--retry1")
    case = stack.case(case_no)
    t = next(t for t in case["tasks"] if t["step_key"] == "leader-approval")
    assert t["state"] == "open" and t["decided_by"] is None and case["state"] == "pending_leader"
    refused = [e for e in case["events"] if e["kind"] == "answer_refused"]
    assert len(refused) == 1 and "wrong or missing answer code" in str(refused[0])
    assert "ABCDEFGH" not in str(case)
    # the code from the email: decided in the UI, as the person it was issued to
    ok = ui_resume(stack, run_id, {"decision": "approve", "comment": "在 Prefect 界面批准", "code": code.lower()})
    assert ok["status"] == "ACCEPT", ok
    stack.wait_mail(to=GM, subject=f"{case_no} 总经理审批")
    case = stack.case(case_no)
    t = next(t for t in case["tasks"] if t["step_key"] == "leader-approval")
    assert t["decided_via"] == "ui" and t["decided_by"] == LEADER and t["decision"] == "approve"
    assert code not in str(case)
    # the emailed link is now spent
    assert "已处理" in stack.submit(stack.link(ask, "reject")).text
    # the GM answers in the UI too: then the same bookkeeping as a link's answer (item 3)
    gm = mail_for(stack, case_no, GM, "总经理审批")
    (gm_code,) = re.findall(r"一次性答案码：([0-9A-Z]{8})", gm["text"])
    wait_paused_on(stack, run_id, "gm-approval")
    assert ui_resume(stack, run_id, {"decision": "approve", "code": gm_code})["status"] == "ACCEPT"
    stack.wait_state(case_no, "approved")
    assert any(e["kind"] == "sample_approved" for e in stack.case(case_no)["events"])
    stack.wait_mail(to=PRODUCTION, subject=case_no)
    slips = [m for m in stack.mails(PRODUCTION) if "取样出门审批单" in m["subject"] and case_no in m["subject"]
             and "第二联" not in m["subject"]]  # P4: copy 2 is its own mail (a PDF)
    assert len(slips) == 1
    no_duplicates(stack, case_no)
    # the codes are in the emails only: not in the run's logs nor its artifacts in Prefect
    flt = {"json": {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}}
    logs = stack.prefect("POST", "/logs/filter", **flt).json()
    arts = stack.prefect("POST", "/artifacts/filter",
                         json={"artifacts": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}).json()
    assert logs and "refused" in str(logs)
    for c in (code, gm_code):
        assert c not in str(logs) and c not in str(arts)


def test_monthly_sample_totals_reach_accounting(stack):
    """P3: the monthly deployment totals the month's samples from the workshop ledger for finance."""
    month = datetime.now().astimezone().strftime("%Y-%m")
    dep = stack.prefect("GET", "/deployments/name/sample-month-totals/sample-month-totals").json()
    run = stack.prefect("POST", f"/deployments/{dep['id']}/create_flow_run",
                        json={"parameters": {"month": month}}).json()
    accounting = ORG.first_for_role("accounting").email
    mail = stack.wait_mail(to=accounting, subject=f"{month} 样品出门汇总")[0]
    assert "计入销售费用" in mail["text"] and "已批未发" in mail["text"]
    stack.wait_run(run["id"], "COMPLETED")
    schedules = dep["schedules"]
    assert schedules and schedules[0]["schedule"]["cron"] == "0 8 1 * *"
    assert schedules[0]["schedule"]["timezone"] == "Asia/Shanghai"
