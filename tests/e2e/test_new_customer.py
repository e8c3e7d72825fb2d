"""Issue 6: new-customer certification (N1–N6) end to end on the real stack: the history imported by
`kefu import transactions`, the application by the API, every signature through the emailed links."""

import time
import uuid
from datetime import date, datetime, timedelta

import pytest

from models.business_days import TZ
from models.new_customers import lookback_start, submission_deadline
from models.org import load_org
from models.privacy import find_unmasked
from models.settings import REPO_ROOT
from tasks.platform.store import Store
from tests.e2e.test_complaint import answer
from tests.e2e.test_sample_request import no_duplicates

pytestmark = pytest.mark.e2e

ORG = load_org(REPO_ROOT / "deployments" / "org.yaml")
R = {role: ORG.first_for_role(role).email for role in ORG.roles}
SALES = "lin.tao@huajin.example"
PHONE = "13912345678"


def today() -> date:
    return datetime.now(TZ).date()


def earliest_first_on_time() -> date:
    """The earliest first-transaction date whose application is still on time today (N2): one month
    exactly before today; a day earlier is one day late."""
    d = today() - timedelta(days=27)
    while submission_deadline(d - timedelta(days=1)) >= today():
        d -= timedelta(days=1)
    return d


def store(stack) -> Store:
    return stack.store()


def application(name: str, first: date, reference: str, **over) -> dict:
    body = {
        "customer": {"name": name, "invoicing_name": name, "customer_class": "enterprise", "contact_name": "陈先生",
                     "phone": PHONE, "registration": {"credit_code": "91320500MA1XYZ1234"}, "address": "苏州工业园区"},
        "first_transaction": {"date": first.isoformat(), "amount": "35600.00", "reference": reference},
        "development_history": f"展会结识，三次拜访，联系人电话 {PHONE}，报价后试单",
        "evaluation": {"contribution": "年采购约 200 万", "long_term_impact": "带动华东经销", "credit": "预付款，信用良好"},
        "support_needed": "首批技术支持",
        "salesperson": SALES,
    }
    body.update(over)
    return body


def import_history(stack, tmp_path, rows: list[tuple[str, str, date, str, str]]) -> None:
    csv = tmp_path / f"tx-{uuid.uuid4().hex[:6]}.csv"
    csv.write_text("reference,customer,on,amount,kind\n"
                   + "".join(f"{ref},{cust},{on.isoformat()},{amount},{kind}\n" for ref, cust, on, amount, kind in rows),
                   encoding="utf-8")
    r = stack.kefu("import", "transactions", str(csv))
    assert r.returncode == 0, r.stderr


def apply(stack, body: dict, key: str | None = None) -> tuple[str, str]:
    headers = {"Idempotency-Key": key} if key else {}
    r = stack.client.post(f"{stack.web}/api/new-customer-applications", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["case_no"], stack.flow_run_of(r.json()["case_no"])


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6].upper()}纺织有限公司"


def latest_artifact(stack, case_no: str, containing: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        art = stack.prefect("GET", f"/artifacts/new-customer-form-{case_no.lower()}/latest").json()
        if containing in art.get("data", "") or time.monotonic() > deadline:
            return art
        time.sleep(0.5)


def test_certified_by_manager_and_market_branch_then_archived(stack, tmp_path):
    name, first, ref = unique("苏州新锦"), earliest_first_on_time(), f"XS-{uuid.uuid4().hex[:8]}"
    import_history(stack, tmp_path, [
        (ref, name, first, "35600.00", "sale"),                                        # the first transaction
        (f"OLD-{ref}", name, lookback_start(first) - timedelta(days=1), "900.00", "sale"),  # 3 years + 1 day before
        (f"YP-{ref}", name, first - timedelta(days=200), "0.00", "sample"),             # samples never count
    ])
    body = application(name, first, ref)
    key = f"xk-{uuid.uuid4()}"
    case_no, run_id = apply(stack, body, key)
    again = stack.client.post(f"{stack.web}/api/new-customer-applications", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.json()["case_no"] == case_no
    assert case_no.startswith("XK-")
    run = stack.prefect_run(run_id)
    assert run["name"] == f"new-customer-{case_no}" and "procedure:new-customer" in run["tags"]

    # N4: the sales manager certifies; the comment is the manager's instruction (批示)
    ask = answer(stack, case_no, R["sales_manager"], "业务部经理认定", "certify", comment="同意，重点扶持")
    assert "《新客户开发申请表》" in ask["text"] and "开拓经过" in ask["text"]
    assert "139****5678" in ask["text"] and not find_unmasked(ask["text"] + ask["html"])
    assert "一致" in ask["text"] and first.isoformat() in ask["text"]
    # N1: the market branch gets the three-year check computed for it: nothing (old trade, sample)
    market = answer(stack, case_no, R["market_branch"], "市场分部核查", "certify")
    assert "无交易记录（样品不计）" in market["text"] and "同意，重点扶持" in market["text"]
    # N5: the back office archives it: the customer archive record is created
    answer(stack, case_no, R["back_office"], "内勤分部存档", "done")

    case = stack.wait_state(case_no, "certified")
    archive_no = case["data"]["archive_no"]
    assert archive_no.startswith("DA-") and case["closed_at"]
    assert case["data"]["salesperson"] == SALES and case["procedure"] == "new_customer"
    assert case["data"]["instruction"] == "同意，重点扶持"
    assert case["data"]["history_check"]["trades"] == []
    kinds = [e["kind"] for e in case["events"]]
    assert kinds.count("certified") == 1 and kinds.index("archived") < kinds.index("certified")
    assert PHONE not in str(case)
    record = store(stack).get_customer(archive_no)
    assert (record.name, record.phone, record.salesperson) == (name, PHONE, SALES)
    version = store(stack).customer_versions(archive_no)[0]
    assert (version.source, version.case_no) == ("certification", case_no)
    # N6 / the salesperson: told, with the archive number
    told = stack.wait_mail(to=SALES, subject=f"{case_no} 新客户已认定")[0]
    assert archive_no in told["text"]
    art = latest_artifact(stack, case_no, archive_no)
    assert archive_no in art["data"] and "已认定" in art["data"] and "同意，重点扶持" in art["data"]
    assert not find_unmasked(art["data"])
    no_duplicates(stack, case_no)


def test_one_day_late_is_refused_automatically_with_the_reason(stack):
    late_first = earliest_first_on_time() - timedelta(days=1)
    case_no, _ = apply(stack, application(unique("无锡迟到"), late_first, f"XS-{uuid.uuid4().hex[:8]}"))
    case = stack.wait_state(case_no, "refused")
    refusal = case["data"]["refusal"]
    assert refusal["auto"] and refusal["step"] == "submission-check" and "超过1个月" in refusal["reason"]
    assert case["closed_at"] and case["tasks"] == []  # nobody is asked
    told = stack.wait_mail(to=SALES, subject=f"{case_no} 新客户不予认定")[0]
    assert "超过1个月，不给予认定" in told["text"] and "《新客户开发申请表》" in told["text"]
    listed = stack.client.get(f"{stack.web}/api/cases", params={"procedure": "new_customer", "state": "refused"})
    assert case_no in [c["case_no"] for c in listed.json()["items"]]


def test_a_different_invoicing_name_is_refused_automatically(stack):
    name = unique("常州")
    body = application(name, today() - timedelta(days=3), f"XS-{uuid.uuid4().hex[:8]}")
    body["customer"]["invoicing_name"] = name.replace("有限公司", "有限责任公司")
    case_no, _ = apply(stack, body)
    case = stack.wait_state(case_no, "refused")
    assert "与开票资料名称" in case["data"]["refusal"]["reason"]


def test_market_branch_refuses_naming_a_trade_3_years_minus_1_day_before(stack, tmp_path):
    name, first, ref = unique("南通"), today() - timedelta(days=5), f"XS-{uuid.uuid4().hex[:8]}"
    recent = lookback_start(first) + timedelta(days=1)  # three years minus one day before
    import_history(stack, tmp_path, [(f"P-{ref}", name, recent, "1200.00", "sale")])
    case_no, _ = apply(stack, application(name, first, ref))
    answer(stack, case_no, R["sales_manager"], "业务部经理认定", "certify")
    market = answer(stack, case_no, R["market_branch"], "市场分部核查", "refuse", comment="三年内有交易")
    assert "查到 1 笔交易" in market["text"] and f"P-{ref}" in market["text"] and recent.isoformat() in market["text"]
    case = stack.wait_state(case_no, "refused")
    assert case["data"]["refusal"]["step"] == "market-branch"
    assert case["data"]["refusal"]["reason"].startswith("三年内有交易；") and f"P-{ref}" in case["data"]["refusal"]["reason"]
    assert [t["reference"] for t in case["data"]["history_check"]["trades"]] == [f"P-{ref}"]
    assert "archive_no" not in case["data"]
    told = stack.wait_mail(to=SALES, subject=f"{case_no} 新客户不予认定")[0]
    assert "三年内有交易" in told["text"]


def test_bad_applications_are_refused_per_field_and_nothing_is_stored(stack):
    total = stack.client.get(f"{stack.web}/api/cases").json()["total"]
    body = application("甲", today(), "X")
    body["customer"]["phone"] = "12345"
    body["first_transaction"]["amount"] = 12.5
    del body["evaluation"]["credit"]
    r = stack.client.post(f"{stack.web}/api/new-customer-applications", json=body)
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["detail"]}
    assert {"customer.phone", "first_transaction.amount", "evaluation.credit"} <= fields
    assert all(" / " in d["message"] for d in r.json()["detail"])
    r = stack.client.post(f"{stack.web}/api/new-customer-applications",
                          json=application("甲", today(), "X", salesperson=R["market_branch"]))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "salesperson"
    r = stack.client.post(f"{stack.web}/api/new-customer-applications",
                          json=application("甲", today() + timedelta(days=1), "X"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "first_transaction.date"
    assert stack.client.get(f"{stack.web}/api/cases").json()["total"] == total
