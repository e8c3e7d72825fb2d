"""Issue 5: the customer archive and the archive-correction chain (A1–A4) end to end on the real
stack: the nine steps answered through emailed links, a GM rejection revised by the drafter, the
departments answering in any order, a late department reminded by the watchdog."""

import json
from datetime import datetime, timedelta

import pytest

from models.org import load_org
from models.privacy import find_unmasked
from models.settings import REPO_ROOT
from models.tokens import make_token, read_token
from tests.e2e.stack import SECRET
from tests.e2e.test_sample_request import no_duplicates, token_of

pytestmark = pytest.mark.e2e

ORG = load_org(REPO_ROOT / "deployments" / "org.yaml")
R = {role: ORG.first_for_role(role).email for role in ORG.roles}
DRAFTER = R["cs_staff"]
HEAD = {d.code: d.head for d in ORG.departments}
OLD_PHONE, NEW_PHONE, ID_CARD = "13812345678", "13987654321", "11010519491231002X"


def customer(stack, archive_no):
    csv = stack.home / f"{archive_no}.csv"
    csv.write_text("archive_no,name,customer_class,contact_name,phone,id_card,address,salesperson\n"
                   f"{archive_no},苏州某纺织有限公司,enterprise,张伟,{OLD_PHONE},{ID_CARD},苏州市人民路 1 号,"
                   f"{R['salesperson']}\n", encoding="utf-8")
    r = stack.kefu("archive", "import", str(csv))
    assert r.returncode == 0, r.stderr


def file(stack, archive_no, **over):
    body = {"archive_no": archive_no, "changes": {"phone": NEW_PHONE, "address": "苏州工业园区星湖街 88 号"},
            "reason": "客户来电：联系电话和地址已变更", "drafted_by": DRAFTER,
            "departments": ["sales", {"department": "accounting", "action": "更新开票联系电话", "due_business_days": 2}]}
    body.update(over)
    r = stack.client.post(f"{stack.web}/api/archive-corrections", json=body)
    assert r.status_code == 201, r.text
    return r.json()["case_no"], stack.flow_run_of(r.json()["case_no"])


def answer(stack, case_no, to, title, choice, comment="", count=1, **fields):
    mail = stack.wait_mail(to=to, subject=f"{case_no} {title}", count=count)[count - 1]
    r = stack.submit(stack.link(mail, choice), comment=comment, **fields)
    assert r.status_code == 200, r.text
    return mail


def task_of(stack, case_no, step_key):
    return next(t for t in stack.case(case_no)["tasks"] if t["step_key"] == step_key)


def wait_task(stack, case_no, step_key, state="decided", timeout=60):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = [t for t in stack.case(case_no)["tasks"] if t["step_key"] == step_key]
        if t and t[0]["state"] == state:
            return t[0]
        time.sleep(0.25)
    raise AssertionError(f"{case_no}/{step_key} not {state}")


def latest_form(stack, case_no, expect, timeout=30):
    """The 《客户信息更正单》 artifact once it shows `expect` (it is published right after the state)."""
    import time

    deadline = time.monotonic() + timeout
    data = ""
    while time.monotonic() < deadline:
        data = stack.prefect("GET", f"/artifacts/archive-correction-form-{case_no.lower()}/latest").json()["data"]
        if expect in data:
            return data
        time.sleep(0.5)
    raise AssertionError(data)


def store(stack):
    return stack.store()


def test_a_correction_passes_all_nine_steps(stack):
    customer(stack, "DA-2026-900001")
    case_no, run_id = file(stack, "DA-2026-900001")
    assert case_no.startswith("GZ-2026-")
    run = stack.prefect_run(run_id)
    assert run["name"] == f"archive-correction-{case_no}" and "procedure:archive-correction" in run["tags"]

    # 2. the CS manager reviews; the mail shows before/after masked
    review = stack.wait_mail(to=R["cs_manager"], subject=f"{case_no} 客服部经理审核")[0]
    assert "138****5678 → 139****4321" in review["text"]
    assert not find_unmasked(review["text"] + review["html"])
    # the drafter can never approve their own correction, even with a link made out to them
    task_id = read_token(SECRET, token_of(stack.link(review, "approve")), datetime.now().astimezone()).task_id
    own = make_token(SECRET, task_id, DRAFTER, datetime.now().astimezone(), 30)
    page = stack.open(f"{stack.web}/t/{own}?choice=approve")
    assert page.status_code == 403 and "不能审批自己" in page.text
    assert stack.submit(stack.link(review, "approve")).status_code == 200
    # 3. the GM approves
    answer(stack, case_no, R["general_manager"], "总经理审批《客户信息更正单》", "approve")

    # 4–5. both departments get their task at once; the second answers first, then the first
    sales = stack.wait_mail(to=HEAD["sales"], subject=f"{case_no} 执行客户信息更正并反馈")[0]
    acct = stack.wait_mail(to=HEAD["accounting"], subject=f"{case_no} 执行客户信息更正并反馈")[0]
    assert "更新开票联系电话" in acct["text"]
    assert stack.submit(stack.link(acct, "done"), feedback="开票系统电话已更新").status_code == 200
    wait_task(stack, case_no, "dept-accounting")
    assert stack.case(case_no)["state"] == "executing"  # still waiting for sales
    assert stack.submit(stack.link(sales, "done"), feedback="客户联系表已更新").status_code == 200

    # 6. CS writes the report, with the departments' feedback in front of them
    ask = answer(stack, case_no, DRAFTER, "撰写客户信息更正报告", "submitted",
                 report="电话与地址已更正，销售中心与会计科已执行")
    assert "开票系统电话已更新" in ask["text"] and "客户联系表已更新" in ask["text"]
    # 7–8. the report is reviewed and approved
    answer(stack, case_no, R["cs_manager"], "客服部经理审核更正报告", "approve")
    answer(stack, case_no, R["general_manager"], "总经理审批更正报告", "approve")

    # 9. archived: a new version, masked in the API, linked to the chain
    case = stack.wait_state(case_no, "archived")
    assert case["closed_at"]
    c = stack.client.get(f"{stack.web}/api/customers/DA-2026-900001").json()
    assert c["phone"] == "139****4321" and c["id_card"] == "110105********002X" and c["version"] == 2
    v = c["versions"][-1]
    assert v["case_no"] == case_no and v["source"] == "correction" and v["changed_by"] == DRAFTER
    assert v["changes"]["phone"] == ["138****5678", "139****4321"]
    assert not find_unmasked(json.dumps(c, ensure_ascii=False))
    form = latest_form(stack, case_no, "第 2 版")
    assert "客户信息更正单" in form and "开票系统电话已更新" in form and "139****4321" in form
    assert not find_unmasked(form)
    assert [t["step_key"] for t in case["tasks"]] == [
        "cs-manager-review", "gm-approval", "dept-sales", "dept-accounting", "cs-report",
        "cs-manager-report-review", "gm-report-approval"]
    no_duplicates(stack, case_no)


def test_rejected_by_the_gm_then_approved_after_revision(stack):
    customer(stack, "DA-2026-900002")
    case_no, _ = file(stack, "DA-2026-900002", departments=["office"])
    answer(stack, case_no, R["cs_manager"], "客服部经理审核", "approve")
    answer(stack, case_no, R["general_manager"], "总经理审批《客户信息更正单》", "reject", comment="新号码核对有误")
    # back to the drafter with the comment; the revision carries the corrected changes
    rev = stack.wait_mail(to=DRAFTER, subject=f"{case_no} 修改补救处理方案")[0]
    assert "新号码核对有误" in rev["text"]
    bad = stack.submit(stack.link(rev, "resubmitted"), changes='{"phone": "123"}')
    assert bad.status_code == 422 and "电话号码无效" in bad.text
    assert stack.submit(stack.link(rev, "resubmitted"), changes='{"phone": "13711112222"}').status_code == 200
    # the chain resumes at the GM (the CS manager is not asked again)
    again = answer(stack, case_no, R["general_manager"], "总经理审批《客户信息更正单》", "approve", count=2)
    assert "137****2222" in again["text"] and "（第 2 轮）" in again["subject"]
    answer(stack, case_no, HEAD["office"], "执行客户信息更正并反馈", "done", feedback="内勤档案已更新")
    answer(stack, case_no, DRAFTER, "撰写客户信息更正报告", "submitted", report="已按修改后的方案更正")
    answer(stack, case_no, R["cs_manager"], "客服部经理审核更正报告", "approve")
    answer(stack, case_no, R["general_manager"], "总经理审批更正报告", "approve")
    case = stack.wait_state(case_no, "archived")
    assert [t["step_key"] for t in case["tasks"]][:4] == [
        "cs-manager-review", "gm-approval", "revise-gm-approval", "gm-approval-2"]
    assert [e["kind"] for e in case["events"]].count("rejected:gm-approval") == 1

    # the archive holds the revised value; a full read needs an authorised role and is logged
    r = stack.kefu("archive", "show", "DA-2026-900002")
    assert r.returncode == 0 and json.loads(r.stdout)["phone"] == "137****2222"
    r = stack.kefu("archive", "show", "DA-2026-900002", "--full", "--reader", DRAFTER, "--purpose", "核对")
    assert r.returncode == 2 and "无权查阅" in r.stderr
    r = stack.kefu("archive", "show", "DA-2026-900002", "--full", "--reader", R["cs_manager"],
                   "--purpose", "核对更正结果")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["phone"] == "13711112222" and json.loads(r.stdout)["version"] == 2
    log = store(stack).archive_accesses("DA-2026-900002")
    assert [(a.reader, a.role, a.purpose) for a in log] == [(R["cs_manager"], "cs_manager", "核对更正结果")]
    no_duplicates(stack, case_no)


def test_a_late_department_gets_its_reminder(stack):
    customer(stack, "DA-2026-900003")
    case_no, _ = file(stack, "DA-2026-900003",
                      departments=[{"department": "warehouse", "due_business_days": 1}, "accounting"])
    answer(stack, case_no, R["cs_manager"], "客服部经理审核", "approve")
    answer(stack, case_no, R["general_manager"], "总经理审批《客户信息更正单》", "approve")
    answer(stack, case_no, HEAD["accounting"], "执行客户信息更正并反馈", "done", feedback="已更新")
    late = wait_task(stack, case_no, "dept-warehouse", state="open")
    assert late["due_at"] != task_of(stack, case_no, "dept-accounting")["due_at"]  # each its own deadline
    remind_at = datetime.fromisoformat(late["remind_at"])
    r = stack.kefu("sla-check", "--now", (remind_at + timedelta(minutes=1)).isoformat())
    assert r.returncode == 0, r.stderr
    reminder = stack.wait_mail(to=HEAD["warehouse"], subject=f"【催办】{case_no}")
    assert len(reminder) == 1
    assert not [m for m in stack.mails(HEAD["accounting"]) if "催办" in m["subject"] and case_no in m["subject"]]
    # the reminder's link answers the step; the chain goes on to the report
    assert stack.submit(stack.link(reminder[0], "done"), feedback="成品仓储资料已更新").status_code == 200
    stack.wait_mail(to=DRAFTER, subject=f"{case_no} 撰写客户信息更正报告")
    no_duplicates(stack, case_no)


def test_bad_corrections_are_refused_and_unknown_customers_are_404(stack):
    customer(stack, "DA-2026-900004")
    total = stack.client.get(f"{stack.web}/api/cases").json()["total"]
    body = {"archive_no": "DA-2026-999999", "changes": {"phone": "123", "id_card": "110105194912310021",
                                                        "version": 9},
            "reason": "r", "drafted_by": R["general_manager"], "departments": ["nowhere"]}
    r = stack.client.post(f"{stack.web}/api/archive-corrections", json=body)
    assert r.status_code == 422
    fields = {d["field"]: d["message"] for d in r.json()["detail"]}
    assert set(fields) == {"archive_no", "changes.phone", "changes.id_card", "changes.version", "drafted_by",
                           "departments.0"}
    assert "电话号码无效" in fields["changes.phone"] and "invalid phone" in fields["changes.phone"]
    assert stack.client.get(f"{stack.web}/api/cases").json()["total"] == total
    h = {"Idempotency-Key": "correction-xyz-1"}
    ok = {"archive_no": "DA-2026-900004", "changes": {"contact_name": "李强"}, "reason": "联系人变更",
          "drafted_by": DRAFTER, "departments": ["sales"]}
    a = stack.client.post(f"{stack.web}/api/archive-corrections", json=ok, headers=h)
    b = stack.client.post(f"{stack.web}/api/archive-corrections", json=ok, headers=h)
    assert a.status_code == 201 and b.status_code == 200 and a.json()["case_no"] == b.json()["case_no"]
    r = stack.client.get(f"{stack.web}/api/customers/DA-2026-999999")
    assert r.status_code == 404 and "不存在" in r.json()["error"] and "not found" in r.json()["error"]


def test_a_rejected_report_goes_back_to_its_author_and_a_withdrawn_plan_changes_nothing(stack):
    customer(stack, "DA-2026-900005")
    case_no, _ = file(stack, "DA-2026-900005", departments=["quality"])
    answer(stack, case_no, R["cs_manager"], "客服部经理审核《客户信息更正单》", "approve")
    answer(stack, case_no, R["general_manager"], "总经理审批《客户信息更正单》", "approve")
    answer(stack, case_no, HEAD["quality"], "执行客户信息更正并反馈", "done", feedback="质量档案已更新")
    answer(stack, case_no, DRAFTER, "撰写客户信息更正报告", "submitted", report="初稿")
    answer(stack, case_no, R["cs_manager"], "客服部经理审核更正报告", "reject", comment="请写明执行日期")
    rev = answer(stack, case_no, DRAFTER, "修改更正报告", "submitted", report="11 月 25 日已更正并执行")
    assert "请写明执行日期" in rev["text"]
    again = answer(stack, case_no, R["cs_manager"], "客服部经理审核更正报告（第 2 轮）", "approve")
    assert "11 月 25 日已更正并执行" in again["text"]
    answer(stack, case_no, R["general_manager"], "总经理审批更正报告", "approve")
    case = stack.wait_state(case_no, "archived")
    assert case["data"]["report"] == "11 月 25 日已更正并执行"
    assert "gm-approval-2" not in [t["step_key"] for t in case["tasks"]]

    customer(stack, "DA-2026-900006")
    case_no, _ = file(stack, "DA-2026-900006")
    answer(stack, case_no, R["cs_manager"], "客服部经理审核《客户信息更正单》", "reject", comment="无需更正")
    answer(stack, case_no, DRAFTER, "修改补救处理方案", "withdrawn")
    case = stack.wait_state(case_no, "withdrawn")
    assert case["closed_at"] and not [t for t in case["tasks"] if t["step_key"] == "gm-approval"]
    c = stack.client.get(f"{stack.web}/api/customers/DA-2026-900006").json()
    assert c["version"] == 1 and c["phone"] == "138****5678"
    no_duplicates(stack, case_no)
